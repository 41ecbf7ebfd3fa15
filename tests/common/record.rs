//! Recording a live session in-process: the engine's events are collected
//! by the test and written through the same `RecordSwitch` the CLI uses, so
//! the file can be compared with what the engine really emitted.

use std::path::Path;
use std::time::Duration;

use mailwire::replay::{RecordSwitch, Recording};
use mailwire::session::{Event, Session, SessionConfig};
use tokio::sync::mpsc;

/// Connects with `config`, reads the greeting, asks for capabilities,
/// upgrades with STARTTLS/STLS, asks again, sends `commands` in order and
/// quits; every event is recorded to `path` (redacted unless `!redact`) and
/// returned as the engine emitted it.
pub async fn record_session(
    config: SessionConfig,
    commands: &[&str],
    path: &Path,
    redact: bool,
) -> Vec<Event> {
    let switch = RecordSwitch::recording_to(&config, redact, path).expect("create recording");
    let (tx, mut rx) = mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            switch.observe(&e);
            events.push(e);
        }
        events
    });
    let mut session = Session::connect(config, tx).await.expect("connect");
    session.greeting().await.expect("greeting");
    session.ask_capabilities().await.expect("capabilities");
    session.starttls().await.expect("starttls");
    session
        .ask_capabilities()
        .await
        .expect("capabilities after tls");
    for command in commands {
        session.command(command).await.expect(command);
    }
    session.quit().await;
    drop(session);
    collector.await.expect("collector")
}

/// `event` with its time truncated to whole milliseconds, as the format
/// stores it (`t_ms`); everything else is kept exactly.
pub fn at_ms(event: &Event) -> Event {
    let ms = |d: &mut Duration| *d = Duration::from_millis(d.as_millis() as u64);
    let mut e = event.clone();
    match &mut e {
        Event::Connected { at, .. }
        | Event::Finding { at, .. }
        | Event::Closed { at, .. }
        | Event::Chunk { at, .. } => ms(at),
        Event::Data(entry) | Event::Malformed { entry, .. } => {
            ms(&mut entry.at);
            // The note's times come from the entries' times, as stored.
            if let Some(a) = &mut entry.note.awaiting {
                ms(&mut a.since);
            }
            if let Some(a) = &mut entry.note.answers {
                ms(&mut a.sent_at);
            }
        }
        Event::Tls(tls) => ms(&mut tls.at),
        Event::TlsFailed(failed) => ms(&mut failed.at),
    }
    e
}

/// Everything recorded of `event`, as text: Debug of the event with its
/// time in whole milliseconds; for TLS the chain report is left out, since
/// it is derived (rebuilt on load at the handshake's second, so `days_left`
/// may differ by one across midnight of the certificate's clock).
pub fn recorded_form(event: &Event) -> String {
    match at_ms(event) {
        Event::Tls(t) => format!(
            "Tls {{ at: {:?}, summary: {:?}, verdict: {:?}, chain_der: {:?} }}",
            t.at, t.summary, t.verdict, t.chain_der
        ),
        Event::TlsFailed(f) => format!(
            "TlsFailed {{ at: {:?}, reason: {:?}, verdict: {:?}, chain_der: {:?} }}",
            f.at, f.reason, f.verdict, f.chain_der
        ),
        e => format!("{e:?}"),
    }
}

/// Loads `path` and asserts it holds `events`, every field and byte equal,
/// times to the millisecond (Debug shows every field; Event has no
/// PartialEq because of ChainReport).
pub fn assert_round_trip(path: &Path, events: &[Event]) -> Recording {
    let rec = Recording::load(path).expect("load recording");
    assert!(rec.warnings().is_empty(), "{:?}", rec.warnings());
    assert_eq!(rec.len(), events.len(), "{}", path.display());
    for (i, want) in events.iter().enumerate() {
        let got = rec.event(i).expect("event");
        assert_eq!(
            recorded_form(&got),
            recorded_form(want),
            "event {i} of {}",
            path.display()
        );
    }
    rec
}
