//! Loading a 1,000,000-event recording (the viewer's worst case): the time
//! from opening it to the viewer's first frame (prefix read, whole file
//! loading on a thread) and until the whole file is in, with the process's
//! peak memory against the file's size; load time with criterion, peak
//! memory as the growth of `VmHWM` (peak resident set, /proc/self/status)
//! across one load, and the cost of one step.
//!
//! `cargo bench --bench recording`; figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mailwire::replay::{Header, Loading, Recorder, Recording};
use mailwire::session::{Direction, Entry, Event, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::viewer::{Viewer, ViewerAction};

const EVENTS: u64 = 1_000_000;

/// An IMAP-like session: commands, one-line replies and longer FETCH
/// responses, with a warning now and then.
fn generate(path: &Path) {
    let target = Target::parse("imap://mail.example.test").expect("target");
    let header = Header::new(
        &SessionConfig::new(target),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    let mut recorder = Recorder::create(path, &header).expect("create recording");
    let body = "Subject: quarterly report\r\nFrom: alice@example.test\r\n\r\nsee attached\r\n";
    for i in 0..EVENTS {
        let at = Duration::from_millis(i * 3);
        let n = i / 3;
        let event = match i % 3 {
            0 => Entry {
                at,
                direction: Direction::Client,
                raw: format!("a{n} FETCH {n} (FLAGS BODY[])\r\n").into_bytes(),
                tls: true,
                note: Default::default(),
            },
            1 => Entry {
                at,
                direction: Direction::Server,
                raw: format!(
                    "* {n} FETCH (FLAGS (\\Seen) BODY[] {{{}}}\r\n{body})\r\n",
                    body.len()
                )
                .into_bytes(),
                tls: true,
                note: Default::default(),
            },
            _ => Entry {
                at,
                direction: Direction::Server,
                raw: format!("a{n} OK FETCH completed\r\n").into_bytes(),
                tls: true,
                note: Default::default(),
            },
        };
        recorder.record(&Event::Data(event)).expect("record");
        if i % 100_000 == 99_999 {
            recorder
                .record(&Event::Finding {
                    at,
                    finding: mailwire::finding::Finding::new(
                        mailwire::finding::FindingId::Timeout,
                        mailwire::finding::Severity::Warning,
                        mailwire::finding::Stage::Command,
                        format!("slow reply at event {i}"),
                        "",
                        "",
                    ),
                    origin: mailwire::session::Origin::Engine,
                })
                .expect("record");
        }
    }
}

/// Peak resident set size so far, in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("million.jsonl");
    let started = Instant::now();
    generate(&path);
    let size = std::fs::metadata(&path).expect("metadata").len();
    println!(
        "recording: wrote {EVENTS} events ({:.1} MiB) in {:.2?}",
        size as f64 / 1048576.0,
        started.elapsed()
    );

    // What `mailwire replay FILE` does before its first frame.
    let before = vm_hwm_kib();
    let started = Instant::now();
    let prefix = Recording::load_prefix(&path, 4096).expect("prefix");
    let loading = Loading::start(&path);
    let mut viewer = Viewer::loading(prefix, loading, 1.0);
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    viewer.draw(&mut terminal).expect("draw");
    let first_frame = started.elapsed();
    while !viewer.poll_loading() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let loaded = started.elapsed();
    let loaded_kib = vm_hwm_kib();
    viewer.act(ViewerAction::End);
    viewer.draw(&mut terminal).expect("draw");
    let at_end = started.elapsed();
    let after = vm_hwm_kib();
    println!(
        "replay start: first frame after {first_frame:.2?}; whole file in after {loaded:.2?} (peak RSS {:.1} MiB); at the last event after {at_end:.2?}; peak RSS {:.1} MiB ({:.2}x the file's {:.1} MiB; {:.1} MiB before)",
        loaded_kib as f64 / 1024.0,
        after as f64 / 1024.0,
        after as f64 * 1024.0 / size as f64,
        size as f64 / 1048576.0,
        before as f64 / 1024.0,
    );
    drop(viewer);

    let before = vm_hwm_kib();
    let started = Instant::now();
    let recording = Recording::load(&path).expect("load");
    let took = started.elapsed();
    let after = vm_hwm_kib();
    println!(
        "recording: first load of {} events in {took:.2?}; peak RSS {before} KiB before, {after} KiB after: +{:.1} MiB for the load",
        recording.len(),
        after.saturating_sub(before) as f64 / 1024.0
    );

    let mut group = c.benchmark_group("recording");
    group.sample_size(10);
    group.bench_function("load 1M events", |b| {
        b.iter(|| black_box(Recording::load(&path).expect("load")))
    });
    let mut i = 0;
    group.bench_function("step to an event", |b| {
        b.iter(|| {
            i = (i + 7919) % recording.len();
            black_box(recording.event(i))
        })
    });
    group.finish();

    // The viewer: play the whole recording into the TUI's App once, then
    // step back and forward at the very end (checkpoints keep a step cheap).
    let before = vm_hwm_kib();
    let started = Instant::now();
    let mut viewer = Viewer::new(recording, 1.0);
    viewer.act(ViewerAction::End);
    let took = started.elapsed();
    let after = vm_hwm_kib();
    println!(
        "viewer: played {} events to the end in {took:.2?}; peak RSS {after} KiB (+{:.1} MiB for the viewer)",
        viewer.shown(),
        after.saturating_sub(before) as f64 / 1024.0
    );
    let mut group = c.benchmark_group("viewer");
    group.sample_size(20);
    group.bench_function("step back and forward at event 1M", |b| {
        b.iter(|| {
            viewer.act(ViewerAction::Prev);
            viewer.act(ViewerAction::Next);
            black_box(viewer.shown())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
