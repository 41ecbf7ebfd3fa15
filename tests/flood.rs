//! A server flooding valid untagged IMAP responses (as a `FETCH 1:*` of a
//! big mailbox does) through the real engine into the TUI's `App`: the
//! transcript's memory stays under its cap whatever the server sends, and
//! the operator sees that older lines were dropped.

use std::time::Duration;

use mailwire::session::transcript::Cap;
use mailwire::session::{Command, Event, Session, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::{self, App, AppConfig, Msg, keymap};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Bytes the server sends after its greeting.
const FLOOD: usize = 500_000_000;

/// 1 MiB of untagged FETCH responses of about 1 KiB each, numbered from `first`.
fn block(first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    let mut n = first;
    let padding = "x".repeat(900);
    while out.len() < 1 << 20 {
        out.extend_from_slice(
            format!("* {n} FETCH (UID {n} FLAGS (\\Seen) X-GM-LABELS (\"{padding}\"))\r\n")
                .as_bytes(),
        );
        n += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_mb_flood_stays_under_the_transcript_cap() {
    let (client, mut server) = tokio::io::duplex(256 * 1024);
    let writer = tokio::spawn(async move {
        server
            .write_all(b"* OK [CAPABILITY IMAP4rev1] flood ready\r\n")
            .await?;
        let mut sent = 0;
        let mut first = 1;
        while sent < FLOOD {
            let block = block(first);
            first += block.len() / 1000;
            server.write_all(&block).await?;
            sent += block.len();
        }
        server.shutdown().await?;
        std::io::Result::Ok(sent)
    });

    let target = Target::parse("imap://flood.test").unwrap();
    let mut config = SessionConfig::new(target.clone());
    config.timeouts.response = Duration::from_secs(120);
    let (event_tx, mut events) = mpsc::channel(1024);
    let (_commands, command_rx) = mpsc::channel::<Command>(4);
    let engine = tokio::spawn(Session::over(client, config, event_tx).run(command_rx));

    let mut app = App::new(AppConfig {
        target,
        ehlo: "client.test".into(),
        plan: None,
    });
    let cap = Cap {
        lines: 20_000,
        bytes: 8 << 20,
    };
    app.transcript.set_cap(Some(cap));
    let (mut received, mut peak_memory, mut peak_rows) = (0usize, 0, 0);
    while let Some(event) = events.recv().await {
        if let Event::Data(entry) = &event {
            received += entry.raw.len();
        }
        app.update(Msg::Session(event));
        peak_memory = peak_memory.max(app.transcript.memory());
        peak_rows = peak_rows.max(app.transcript.len_rows());
    }
    engine.await.unwrap();
    let sent = writer.await.unwrap().unwrap();

    // Everything went through; the transcript never held more than its cap.
    assert!(received >= sent, "received {received} of {sent} bytes");
    assert!(
        peak_memory <= cap.bytes,
        "transcript held {peak_memory} bytes, cap {}",
        cap.bytes
    );
    assert!(
        peak_rows <= cap.lines + 1,
        "transcript held {peak_rows} rows"
    );
    let dropped = app.transcript.dropped();
    assert!(
        dropped.bytes as usize >= FLOOD - 2 * cap.bytes,
        "{dropped:?}"
    );

    // The operator sees it: the first row says what was dropped and where
    // it still is.
    let mut terminal = Terminal::new(TestBackend::new(160, 30)).unwrap();
    tui::draw(&mut terminal, &mut app).unwrap();
    app.update(Msg::Action(keymap::Action::Top));
    tui::draw(&mut terminal, &mut app).unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect();
    let rows: Vec<String> = screen
        .chars()
        .collect::<Vec<_>>()
        .chunks(160)
        .map(|c| c.iter().collect())
        .collect();
    assert!(screen.contains("earlier lines"), "{}", rows.join("\n"));
    assert!(screen.contains("dropped from memory"), "{screen}");
}
