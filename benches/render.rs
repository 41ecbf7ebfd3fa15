//! Rendering one frame must not depend on the transcript's length: the
//! transcript pane builds only the visible rows. Compares 100 lines with
//! 100,000 and 1,000,000 lines at 120×40 (figures in BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mailwire::session::{Direction, Entry, Event};
use mailwire::target::Target;
use mailwire::tui::{App, AppConfig, Msg, panes};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app_with_lines(lines: usize) -> App {
    let target = Target::parse("smtp://mx.example.com").unwrap_or_else(|e| panic!("{e}"));
    let mut app = App::new(AppConfig {
        target,
        ehlo: "client.example".into(),
        plan: None,
    });
    // Hold every line: this measures a frame over a transcript that long.
    app.transcript.set_cap(None);
    app.update(Msg::Session(Event::Connected {
        at: Duration::ZERO,
        peer: "192.0.2.25:25".into(),
    }));
    for i in 0..lines {
        let (direction, raw) = if i % 2 == 0 {
            (Direction::Client, format!("NOOP {i}\r\n"))
        } else {
            (Direction::Server, format!("250 2.0.0 Ok, line {i}\r\n"))
        };
        app.update(Msg::Session(Event::Data(Entry {
            at: Duration::from_millis(i as u64),
            direction,
            raw: raw.into_bytes(),
            tls: false,
            note: Default::default(),
        })));
    }
    app
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_frame_120x40");
    for lines in [100usize, 100_000, 1_000_000] {
        let app = app_with_lines(lines);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap_or_else(|e| match e {});
        group.bench_with_input(BenchmarkId::from_parameter(lines), &app, |b, app| {
            b.iter(|| {
                terminal
                    .draw(|frame| {
                        black_box(panes::draw(frame, app));
                    })
                    .unwrap_or_else(|e| match e {});
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = render
}
criterion_main!(benches);
