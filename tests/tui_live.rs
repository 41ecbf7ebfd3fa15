//! TUI screens after live sessions: the engine runs against a loopback
//! server (the built-in server, or a scripted one), its events go into
//! `App` as the run loop hands them over, and the screen is rendered into
//! `TestBackend`. Volatile text (ports, dates, times) is redacted. Also:
//! every hint, note, dialog and lesson text names the keys as bound.

// Helpers outside #[test] fns unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mailwire::server::pki::LeafKind;
use mailwire::server::{ServeOptions, Server};
use mailwire::session::Direction;
use mailwire::session::engine::Command;
use mailwire::session::{Event, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::keymap::Action;
use mailwire::tui::{self, App, AppConfig, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Runs a session with `config` until the engine reports `Closed` (at most
/// 20 s) and returns its events in order; `steps` are sent first.
async fn run_session(config: SessionConfig) -> Vec<Event> {
    let mut handle = mailwire::session::spawn(config);
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, handle.events.recv()).await {
        let closed = matches!(event, Event::Closed { .. });
        events.push(event);
        if closed {
            break;
        }
    }
    assert!(
        matches!(events.last(), Some(Event::Closed { .. })),
        "the session did not close: {events:#?}"
    );
    events
}

fn app_for(url: &str) -> App {
    App::new(AppConfig {
        target: Target::parse(url).unwrap(),
        ehlo: "client.test".into(),
        plan: None,
    })
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    tui::draw(&mut terminal, app).unwrap();
    terminal
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Snapshot settings for live sessions: the ephemeral port, dates and
/// session times change on every run.
fn live_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d{2,5}", "127.0.0.1:[port]");
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?Z?( UTC)?)?",
        "[date]",
    );
    // The transcript's time column (ms since connect).
    s.add_filter(r"│ {0,7}\d{1,8} ([*!<>~]) ", "│ [ms] $1 ");
    s
}

// ---- issue 9: a rejected chain is still shown ------------------------------

/// `--strict` against the built-in server presenting an expired leaf: the
/// handshake is aborted, and the chain pane still lists both certificates
/// the server sent, the TLS pane the verdict in words.
#[tokio::test]
async fn strict_rejection_still_shows_the_chain_and_the_verdict() {
    let server = Server::start(ServeOptions {
        leaf: LeafKind::Expired,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.root_pem()).unwrap();
    let url = server.listener("imaps").unwrap().url();
    let mut config = SessionConfig::new(Target::parse(&url).unwrap());
    config.tls.ca_files = vec![ca.path().to_path_buf()];
    config.tls.strict = true;
    let events = run_session(config).await;
    server.shutdown().await;

    let failed = events
        .iter()
        .find_map(|e| match e {
            Event::TlsFailed(f) => Some(f),
            _ => None,
        })
        .expect("the engine reports the rejected chain");
    assert_eq!(failed.chain.certs.len(), 2, "{:?}", failed.chain);
    assert_eq!(failed.chain_der.len(), 2);
    let verdict = failed.verdict.as_ref().unwrap();
    assert!(!verdict.trusted);
    assert_eq!(verdict.error.as_ref().map(|c| c.as_str()), Some("expired"));

    let mut app = app_for(&url);
    for event in events {
        app.update(Msg::Session(event));
    }
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("Chain: 2 certificates"), "{screen}");
    assert!(screen.contains("localhost"), "{screen}");
    assert!(screen.contains("mailwire demo…"), "{screen}");
    assert!(
        screen.contains("handshake FAILED (implicit TLS)"),
        "{screen}"
    );
    assert!(screen.contains("UNTRUSTED: expired"), "{screen}");
    assert!(!screen.contains("no certificates yet"), "{screen}");
    live_settings().bind(|| insta::assert_snapshot!(terminal.backend()));
}

// ---- issue 16: an alert explained in the explain pane ----------------------

/// A TLS server that only speaks TLS 1.0, as `openssl s_server -tls1`
/// answers a ClientHello offering 1.2 and 1.3: a fatal alert 70
/// protocol_version in a TLS 1.0 record (RFC 8446 §6, RFC 5246 §7.2).
async fn legacy_only_server() -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        // The ClientHello's record header (content type 22, handshake), then the rest.
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 5 && buf[0] == 22,
            "a ClientHello record: {:?}",
            &buf[..n]
        );
        tcp.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])
            .await
            .unwrap();
        tcp.shutdown().await.unwrap();
    });
    (port, task)
}

/// After a handshake ended by alert 70, the finding row of the alert,
/// selected, has the explain pane show the alert's catalogue entry
/// (`tls.alert.70`): number, name, meaning and fix.
#[tokio::test]
async fn alert_70_is_explained_in_the_explain_pane() {
    use mailwire::session::transcript::Item;
    let (port, server) = legacy_only_server().await;
    let url = format!("imaps://127.0.0.1:{port}");
    let events = run_session(SessionConfig::new(Target::parse(&url).unwrap())).await;
    server.await.unwrap();

    let mut app = app_for(&url);
    for event in events {
        app.update(Msg::Session(event));
    }
    let rows = app.transcript.len_rows();
    let alert_row = app
        .transcript
        .rows(0..rows)
        .position(|r| {
            matches!(r.item, Item::Finding { finding, .. }
                if finding.id == mailwire::finding::FindingId::TlsAlert)
        })
        .expect("a tls_alert finding in the transcript");
    app.teach.cursor = Some(alert_row);
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    let alert = mailwire::explain::explain_alert(70);
    assert!(alert.title.starts_with("TLS alert 70: protocol_version ("));
    assert!(
        screen.contains("TLS alert 70: protocol_version"),
        "{screen}"
    );
    assert!(screen.contains("no common TLS version"), "{screen}");
    // The catalogue's meaning, as wrapped on screen.
    let squashed: String = screen
        .lines()
        .map(|l| l.split('│').nth(1).unwrap_or("").trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        squashed.contains("mailwire (rustls) speaks TLS 1.2 and 1.3 only"),
        "{squashed}"
    );
    live_settings().bind(|| insta::assert_snapshot!(terminal.backend()));
}

// ---- issue 15: key names come from the bound keys --------------------------

/// Events of an SMTP session against the built-in server up to the reply
/// to EHLO (STARTTLS advertised), then closed by the operator.
async fn smtp_until_ehlo_reply() -> (String, Vec<Event>) {
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let url = server.listener("smtp").unwrap().url();
    let mut handle = mailwire::session::spawn(SessionConfig::new(Target::parse(&url).unwrap()));
    let mut events = Vec::new();
    let mut replies = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while replies < 2 {
        let event = tokio::time::timeout_at(deadline, handle.events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Event::Data(e) = &event
            && e.direction == Direction::Server
        {
            replies += 1;
            if replies == 1 {
                let ehlo = b"EHLO client.test\r\n".to_vec();
                handle
                    .commands
                    .send(Command::Send {
                        bytes: ehlo,
                        tagged: false,
                    })
                    .await
                    .unwrap();
            }
        }
        events.push(event);
    }
    handle.commands.send(Command::Close).await.unwrap();
    drop(handle);
    server.shutdown().await;
    (url, events)
}

/// `[keys]` of a config file: STARTTLS on F5 and other keys moved too.
fn rebound_keys() -> mailwire::tui::keymap::Keymap {
    let text = "[keys]\nstarttls = \"F5\"\ndone = \"F9\"\ntoggle_recording = \"F11\"\n\
                quit = \"F12\"\nescape = \"F4\"\ncomplete = \"F3\"\nstep = \"F10\"\n";
    mailwire::config::Config::parse(text, std::path::Path::new("config.toml"))
        .unwrap()
        .keymap
}

/// Not one built-in name of a rebound key is left on `screen`.
fn assert_no_builtin_names(screen: &str) {
    for old in [
        "Ctrl-T", "^T", "Ctrl-D", "^D", "Ctrl-R", "^R", "Ctrl-Q", "^Q", "[F8]", " F8 ", "Esc ",
        "(Esc", "Tab ",
    ] {
        assert!(!screen.contains(old), "{old:?} is still shown:\n{screen}");
    }
}

#[tokio::test]
async fn rebound_keys_are_named_in_hints_notes_dialogs_and_help() {
    let (url, events) = smtp_until_ehlo_reply().await;
    let mut app = app_for(&url);
    app.keys = rebound_keys();
    for event in events {
        app.update(Msg::Session(event));
    }
    // The hint line, the TLS pane and the footer name F5.
    assert_eq!(app.suggestion().as_deref(), Some("STARTTLS (F5)"));
    let screen = screen_text(&render(&mut app, 120, 40));
    assert!(screen.contains("next: STARTTLS (F5)"), "{screen}");
    assert!(screen.contains("advertised: F5 upgrades"), "{screen}");
    assert!(screen.contains("F5 STARTTLS"), "{screen}");
    assert!(screen.contains("F10 step"), "{screen}");
    assert_no_builtin_names(&screen);

    // Notes that name keys: DONE with nothing running, recording paused,
    // no chain to save yet.
    app.update(Msg::Action(Action::Done));
    app.update(Msg::Recording(Ok(None)));
    app.update(Msg::Action(Action::SaveChain));
    let screen = screen_text(&render(&mut app, 120, 40));
    assert!(
        screen.contains("F9 ends an IMAP IDLE or the DATA editor"),
        "{screen}"
    );
    assert!(
        screen.contains("recording paused (F11 resumes)"),
        "{screen}"
    );
    assert!(screen.contains("STARTTLS first (F5)"), "{screen}");
    assert_no_builtin_names(&screen);

    // The help overlay lists F5 beside STARTTLS.
    app.update(Msg::Action(Action::Help));
    let help = screen_text(&render(&mut app, 120, 40));
    let row = help
        .lines()
        .find(|l| l.contains("STARTTLS/STLS (capabilities first)"))
        .unwrap_or_else(|| panic!("no STARTTLS row:\n{help}"));
    assert!(row.contains("F5 "), "{row}");
    assert!(!row.contains("Ctrl-T"), "{row}");
}

/// A lesson's narration names the keys as bound (`{key:step}` etc.).
#[test]
fn lesson_narration_names_the_bound_keys() {
    let lesson = mailwire::lessons::find("smtp-starttls").unwrap();
    let mut app = app_for("smtp://127.0.0.1:2525").with_lesson(lesson);
    app.keys = rebound_keys();
    let screen = screen_text(&render(&mut app, 120, 40));
    let squashed: String = screen
        .lines()
        .map(|l| l.split('│').nth(1).unwrap_or("").trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(squashed.contains("Press F10 to run each step"), "{screen}");
    assert!(squashed.contains("F4 then Up/Down selects"), "{screen}");
    assert!(!squashed.contains("{key:"), "{screen}");
    assert_no_builtin_names(&screen);
}
