//! Key-to-frame latency of the TUI while a server floods it: a plaintext
//! IMAP server on loopback streams untagged `FETCH` responses at a set rate
//! (default 50 MB/s) into the real engine (`session::spawn`) and the real UI
//! loop (`tui::run_with`); a scripted key stream types `~` and Backspace in
//! turn every 50 ms, and a backend wrapped around ratatui's `TestBackend`
//! notes the time of every frame and whether it shows the `~`. The latency
//! of a key is the time from sending it to the first frame that shows its
//! effect. Prints p50/p99/max, frames per second and what was received.
//!
//! Run with `cargo bench --bench flood` (`MAILWIRE_FLOOD_MBPS`, `MAILWIRE_FLOOD_KEYS`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use mailwire::session::{self, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::{self, App, AppConfig};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The character typed and looked for on screen (nothing else on the
/// screen shows it: the flood's lines and the panes have none).
const MARK: char = '~';

/// Frames as drawn: when, and whether the mark was on screen.
type Frames = Arc<Mutex<Vec<(Instant, bool)>>>;

/// `TestBackend` that notes every frame.
struct Probe {
    inner: TestBackend,
    frames: Frames,
}

impl Backend for Probe {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()?;
        let shown = self
            .inner
            .buffer()
            .content()
            .iter()
            .any(|cell| cell.symbol().starts_with(MARK));
        if let Ok(mut frames) = self.frames.lock() {
            frames.push((Instant::now(), shown));
        }
        Ok(())
    }
}

/// Scripted keys over a channel.
struct Keys(mpsc::UnboundedReceiver<io::Result<TermEvent>>);

impl futures_core::Stream for Keys {
    type Item = io::Result<TermEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 1 MB of untagged FETCH responses (about 100 bytes each).
fn block() -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    let mut n = 1;
    while out.len() < 1_000_000 {
        out.extend_from_slice(
            format!(
                "* {n} FETCH (UID {n} FLAGS (\\Seen \\Answered) RFC822.SIZE 48213 MODSEQ (1))\r\n"
            )
            .as_bytes(),
        );
        n += 1;
    }
    out
}

/// Serves one client: greeting, then `rate` bytes per second until it hangs up.
async fn flood(listener: TcpListener, rate: u64, sent: Arc<Mutex<u64>>) {
    let Ok((mut sock, _)) = listener.accept().await else {
        return;
    };
    let block = block();
    if sock
        .write_all(b"* OK [CAPABILITY IMAP4rev1] flood\r\n")
        .await
        .is_err()
    {
        return;
    }
    let start = Instant::now();
    let mut total = 0u64;
    loop {
        // Pace: never ahead of `rate` bytes per second.
        let due = Duration::from_secs_f64(total as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if sock.write_all(&block).await.is_err() {
            break;
        }
        total += block.len() as u64;
        if let Ok(mut s) = sent.lock() {
            *s = total;
        }
    }
}

/// Peak resident set size of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mbps = env_number("MAILWIRE_FLOOD_MBPS", 50);
    let keys = env_number("MAILWIRE_FLOOD_KEYS", 200) as usize;
    let runtime = tokio::runtime::Runtime::new()?;
    println!(
        "flood: load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    runtime.block_on(async move {
        for rate_mbps in [0, mbps] {
            run(rate_mbps, keys).await?;
        }
        Ok(())
    })
}

async fn run(rate_mbps: u64, keys: usize) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let sent = Arc::new(Mutex::new(0u64));
    // The server runs on its own thread, as a real server would be elsewhere.
    let server = {
        let sent = sent.clone();
        let listener = listener.into_std()?;
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                if rate_mbps == 0 {
                    // Idle server: greeting only.
                    if let Ok((mut sock, _)) = listener.accept().await {
                        let _ = sock.write_all(b"* OK idle\r\n").await;
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                } else {
                    flood(listener, rate_mbps * 1_000_000, sent).await;
                }
            });
        })
    };
    let target = Target::parse(&format!("imap://127.0.0.1:{port}"))?;
    let mut config = SessionConfig::new(target.clone());
    config.timeouts.response = Duration::from_secs(600);
    let handle = session::spawn(config);
    let mut app = App::new(AppConfig {
        target,
        ehlo: "client.test".into(),
        plan: None,
    });
    let frames: Frames = Arc::new(Mutex::new(Vec::new()));
    let mut terminal = Terminal::new(Probe {
        inner: TestBackend::new(120, 40),
        frames: frames.clone(),
    })?;
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let sent_at = Arc::new(Mutex::new(Vec::new()));
    let typist = {
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            // Let the flood get going first.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            for k in 0..keys {
                let code = if k % 2 == 0 {
                    KeyCode::Char(MARK)
                } else {
                    KeyCode::Backspace
                };
                if let Ok(mut s) = sent_at.lock() {
                    s.push(Instant::now());
                }
                let _ = key_tx.send(Ok(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Dropping the sender ends the UI loop.
        })
    };
    let started = Instant::now();
    tui::run_with(&mut terminal, &mut app, handle, Keys(key_rx)).await?;
    let elapsed = started.elapsed();
    typist.await?;
    let sent_bytes = sent.lock().map(|s| *s).unwrap_or(0);
    drop(server); // detached: the process ends after the last run

    let frames = frames.lock().map(|f| f.clone()).unwrap_or_default();
    let sent_at = sent_at.lock().map(|s| s.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut missed = 0;
    for (k, at) in sent_at.iter().enumerate() {
        let want = k % 2 == 0;
        match frames.iter().find(|(t, shown)| t >= at && *shown == want) {
            Some((t, _)) => latencies.push(*t - *at),
            None => missed += 1,
        }
    }
    latencies.sort();
    let label = if rate_mbps == 0 {
        "idle server".to_string()
    } else {
        format!("flood {rate_mbps} MB/s")
    };
    println!(
        "{label:>16}: {} keys, key-to-frame p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{}; {} frames in {:.1} s ({:.0}/s); transcript {} rows held, {} dropped; server sent {:.0} MB ({:.1} MB/s); peak RSS so far {:.0} MiB",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        if missed > 0 {
            format!(" ({missed} never shown)")
        } else {
            String::new()
        },
        frames.len(),
        elapsed.as_secs_f64(),
        frames.len() as f64 / elapsed.as_secs_f64(),
        app.transcript.len_rows(),
        app.transcript.dropped().rows,
        sent_bytes as f64 / 1e6,
        sent_bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        peak_rss_mib(),
    );
    Ok(())
}
