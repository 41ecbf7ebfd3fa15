//! Teaching features: the explain pane, the raw wire view, lessons (a
//! snapshot of a step and an end-to-end run of `smtp-starttls` in tmux
//! against the built-in server) and the `--list-lessons` output.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mailwire::explain::Match;
use mailwire::session::{Direction, Entry, Event};
use mailwire::target::Target;
use mailwire::tui::panes::{explain, lesson};
use mailwire::tui::{App, AppConfig, Msg, keymap};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn new_app(url: &str) -> App {
    App::new(AppConfig {
        target: Target::parse(url).unwrap(),
        ehlo: "client.example".into(),
        plan: None,
    })
}

fn wire(app: &mut App, at: u64, direction: Direction, raw: &[u8]) {
    common::feed::event(
        app,
        Event::Data(Entry {
            at: Duration::from_millis(at),
            direction,
            raw: raw.to_vec(),
            tls: false,
            note: Default::default(),
        }),
    );
}

fn press(app: &mut App, code: KeyCode) {
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    if let Some(action) = keymap::lookup(app.scope(), key) {
        app.update(Msg::Action(action));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// An SMTP session that ended in `535 5.7.8` after AUTH.
fn smtp_auth_failed() -> App {
    let mut app = new_app("smtp://mx.example.com:587");
    common::feed::connect(&mut app, Duration::ZERO, "192.0.2.25:587");
    wire(
        &mut app,
        40,
        Direction::Server,
        b"220 mx.example.com ESMTP\r\n",
    );
    wire(&mut app, 50, Direction::Client, b"AUTH PLAIN ********\r\n");
    wire(
        &mut app,
        90,
        Direction::Server,
        b"535 5.7.8 Error: authentication failed\r\n",
    );
    app
}

fn pane(
    app: &App,
    draw: impl Fn(&App, ratatui::layout::Rect, &mut ratatui::buffer::Buffer),
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(100, 16)).unwrap();
    terminal
        .draw(|f| {
            let area = f.area();
            draw(app, area, f.buffer_mut());
        })
        .unwrap();
    terminal
}

fn text_of(terminal: &Terminal<TestBackend>) -> String {
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

#[test]
fn explain_pane_for_a_535_reply() {
    let app = smtp_auth_failed();
    let (_, found) = explain::content(&app);
    let keys: Vec<&str> = found.iter().map(|e| e.key.as_str()).collect();
    assert!(
        keys.iter()
            .any(|k| k.eq_ignore_ascii_case("smtp.reply.535")),
        "{keys:?}"
    );
    assert!(
        found.iter().all(|e| e.matched != Match::Unknown),
        "{found:?}"
    );
    let terminal = pane(&app, |a, r, b| explain::render(a, r, b, false));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn explain_pane_for_a_typed_mail_from_with_size() {
    let mut app = smtp_auth_failed();
    type_text(&mut app, "MAIL FROM:<a@b> SIZE=100");
    let terminal = pane(&app, |a, r, b| explain::render(a, r, b, false));
    let screen = text_of(&terminal);
    assert!(
        screen.contains("typing: MAIL FROM:<a@b> SIZE=100"),
        "{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn cursor_moves_over_transcript_lines_in_pane_focus() {
    let mut app = smtp_auth_failed();
    press(&mut app, KeyCode::Esc);
    // Rows: connected note, 220, AUTH, the credentials_exposed finding (the
    // AUTH went out in plaintext), 535; the cursor starts on the last, so Up
    // once selects the finding, twice the AUTH line.
    press(&mut app, KeyCode::Up);
    let (subject, found) = explain::content(&app);
    assert!(
        matches!(&subject, explain::Subject::Row { mark: "!", .. }),
        "{subject:?}"
    );
    assert_eq!(found[0].key, "finding.credentials_exposed", "{found:?}");
    assert!(found[0].text.contains("What to do:"), "{found:?}");
    press(&mut app, KeyCode::Up);
    let (subject, found) = explain::content(&app);
    assert!(
        matches!(&subject, explain::Subject::Row { mark: "C ->", .. }),
        "{subject:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.key.to_ascii_lowercase().contains("auth")),
        "{found:?}"
    );
    // Down past the end follows the last line again.
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.teach.cursor, None);
}

#[test]
fn raw_view_shows_bytes_and_bare_lf() {
    let mut app = smtp_auth_failed();
    wire(&mut app, 110, Direction::Client, b"NOOP\r\n");
    wire(&mut app, 120, Direction::Server, b"250 bare LF\n");
    // The last row is the bare_lf finding; the reply is just above it.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::F(6));
    assert!(app.teach.raw);
    let terminal = pane(&app, |a, r, b| explain::render(a, r, b, false));
    let screen = text_of(&terminal);
    assert!(screen.contains("12 bytes"), "{screen}");
    assert!(screen.contains("BARE LF"), "{screen}");
    assert!(screen.contains("250 bare LF\\n"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
    // x in pane focus toggles back.
    press(&mut app, KeyCode::Char('x'));
    assert!(!app.teach.raw);
}

#[test]
fn transcript_marks_lines_not_ending_in_crlf() {
    let mut app = smtp_auth_failed();
    wire(&mut app, 120, Direction::Server, b"250 bare LF\n");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(screen.contains("250 bare LF ¶LF"), "{screen}");
    assert!(!screen.contains("authentication failed ¶"), "{screen}");
}

#[test]
fn explain_is_a_tab_at_80x24() {
    let mut app = smtp_auth_failed();
    press(&mut app, KeyCode::Esc);
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab);
    }
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(screen.contains("Explain · S <- 535 5.7.8"), "{screen}");
}

#[test]
fn a_lesson_step_snapshot() {
    let lesson = mailwire::lessons::find("smtp-starttls").unwrap();
    let mut app = new_app("smtp://localhost:2525").with_lesson(lesson);
    common::feed::connect(&mut app, Duration::ZERO, "127.0.0.1:2525");
    wire(
        &mut app,
        10,
        Direction::Server,
        b"220 localhost ESMTP mailwire\r\n",
    );
    press(&mut app, KeyCode::F(8));
    wire(&mut app, 12, Direction::Client, b"EHLO client.example\r\n");
    let terminal = pane(&app, lesson::render);
    let screen = text_of(&terminal);
    assert!(screen.contains("step 2/4"), "{screen}");
    assert!(screen.contains("next (F8): STARTTLS"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn list_lessons_names_every_lesson() {
    let out = common::mailwire(&["demo", "--list-lessons"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "smtp-starttls",
        "smtp-submission-auth",
        "imap-starttls-login-fetch",
        "pop3-stls-retr",
        "broken-chain",
    ] {
        assert!(text.contains(name), "{text}");
    }
}

fn tmux(args: &[&str]) -> Option<std::process::Output> {
    Process::new("tmux").args(args).output().ok()
}

/// End to end: the real binary in tmux runs `smtp-starttls` against the
/// built-in server, F8 by F8, until the lesson's final narration shows.
#[test]
fn smtp_starttls_lesson_runs_to_its_end_in_tmux() {
    if tmux(&["-V"]).is_none_or(|o| !o.status.success()) {
        if std::env::var("MAILWIRE_REQUIRE_REALSERVERS").is_ok_and(|v| v == "1") {
            panic!("tmux is required (MAILWIRE_REQUIRE_REALSERVERS=1) but missing");
        }
        eprintln!(
            "\n*** SKIPPED: tmux not installed; the lesson end-to-end test did not run ***\n"
        );
        return;
    }
    let session = format!("mailwire-lesson-{}", std::process::id());
    let socket = format!("mailwire-test-{}", std::process::id());
    let command = format!(
        "{} demo --lesson smtp-starttls --ehlo client.example",
        env!("CARGO_BIN_EXE_mailwire")
    );
    let t = |args: &[&str]| {
        let mut all = vec!["-L", socket.as_str()];
        all.extend_from_slice(args);
        tmux(&all)
    };
    let started = t(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    assert!(
        started.is_some_and(|o| o.status.success()),
        "tmux new-session failed"
    );
    let capture = || {
        t(&["capture-pane", "-p", "-t", &session])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = String::new();
    let mut done = false;
    while Instant::now() < deadline {
        screen = capture();
        if screen.contains("Lesson complete") {
            done = true;
            break;
        }
        // One step per second: each reply arrives well within that on loopback.
        if screen.contains("next (F8)") && !screen.contains("waiting") {
            t(&["send-keys", "-t", &session, "F8"]);
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    t(&["kill-server"]);
    assert!(
        done,
        "the lesson did not reach its end; last screen:\n{screen}"
    );
    assert!(screen.contains("TLS"), "{screen}");
}

#[test]
fn auth_prompt_masks_the_password_on_screen_and_in_recordings() {
    use mailwire::session::engine::Command;
    let mut app = new_app("smtp://mx.example.com:587");
    common::feed::connect(&mut app, Duration::ZERO, "192.0.2.25:587");
    wire(
        &mut app,
        40,
        Direction::Server,
        b"220 mx.example.com ESMTP\r\n",
    );
    type_text(&mut app, "AUTH PLAIN");
    // The credentials key (Enter would send the line as typed).
    let ctrl_p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL);
    let action = keymap::lookup(app.scope(), ctrl_p).unwrap();
    app.update(Msg::Action(action));
    type_text(&mut app, "demo");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "hunter2-secret");
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(screen.contains("password, masked"), "{screen}");
    assert!(!screen.contains("hunter2"), "{screen}");
    insta::assert_snapshot!("auth_prompt", terminal.backend());

    // Enter: plaintext, so the app asks first and says why.
    let key = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let action = keymap::lookup(app.scope(), key).unwrap();
    assert!(app.update(Msg::Action(action)).is_empty());
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(screen.contains("NOT encrypted"), "{screen}");
    assert!(!screen.contains("hunter2"), "{screen}");

    // y: sent as AUTH PLAIN base64(\0demo\0hunter2-secret).
    let action = keymap::lookup(
        app.scope(),
        KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE),
    )
    .unwrap();
    let effects = app.update(Msg::Action(action));
    let sent: Vec<Vec<u8>> = effects
        .into_iter()
        .filter_map(|e| match e {
            mailwire::tui::Effect::Command(Command::Send { bytes, .. }) => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        [b"AUTH PLAIN AGRlbW8AaHVudGVyMi1zZWNyZXQ=\r\n".to_vec()]
    );
    wire(&mut app, 60, Direction::Client, &sent[0]);
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(
        !screen.contains("hunter2") && !screen.contains("AGRlbW8AaHVudGVyMi1zZWNyZXQ"),
        "{screen}"
    );

    // The same bytes through the recorder: the recording keeps no secret.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.jsonl");
    record_client_line(&path, &sent[0]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("AGRlbW8AaHVudGVyMi1zZWNyZXQ"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn challenges_are_decoded_in_the_explain_pane() {
    let mut app = smtp_auth_failed();
    wire(&mut app, 110, Direction::Client, b"AUTH LOGIN\r\n");
    wire(&mut app, 120, Direction::Server, b"334 VXNlcm5hbWU6\r\n");
    let (_, found) = explain::content(&app);
    assert!(found[0].title.contains("\"Username:\""), "{found:?}");
}

/// Records one client line as the engine reports it, redaction on (the default).
fn record_client_line(path: &std::path::Path, bytes: &[u8]) {
    use mailwire::replay::{Header, Recorder};
    use mailwire::session::SessionConfig;
    let config = SessionConfig::new(Target::parse("smtp://mx.example.com:587").unwrap());
    let header = Header::new(&config, time::OffsetDateTime::UNIX_EPOCH);
    let mut recorder = Recorder::create(path, &header).unwrap();
    let mut dialogue = mailwire::session::Dialogue::new(config.target.protocol);
    for mut event in [
        Event::Data(Entry {
            at: Duration::from_millis(40),
            direction: Direction::Server,
            raw: b"220 mx.example.com ESMTP\r\n".to_vec(),
            tls: false,
            note: Default::default(),
        }),
        Event::Data(Entry {
            at: Duration::from_millis(60),
            direction: Direction::Client,
            raw: bytes.to_vec(),
            tls: false,
            note: Default::default(),
        }),
    ] {
        dialogue.annotate(&mut event, &mailwire::protocol::Limits::default());
        recorder.record(&event).unwrap();
    }
}

#[test]
fn tls_items_are_explained_with_up_down_in_the_tls_pane() {
    use mailwire::cert::ChainReport;
    use mailwire::session::TlsEstablished;
    use mailwire::tls::{HandshakeSummary, Verdict};
    let mut app = smtp_auth_failed();
    common::feed::event(
        &mut app,
        Event::Tls(Box::new(TlsEstablished {
            at: Duration::from_millis(140),
            summary: HandshakeSummary {
                version: "TLSv1.3".into(),
                cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
                kx_group: Some("X25519".into()),
                alpn: None,
                sni: Some("mx.example.com".into()),
                resumed: false,
                ocsp_stapled: false,
                client_cert: None,
            },
            verdict: Verdict {
                trusted: false,
                hostname_match: true,
                name_checked: "mx.example.com".into(),
                error: Some(mailwire::tls::VerdictCode::Expired),
                detail: Some("a certificate in the chain has expired".into()),
                ..Verdict::default()
            },
            chain_der: Vec::new(),
            chain: ChainReport {
                certs: Vec::new(),
                findings: Vec::new(),
            },
        })),
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Tab); // Transcript -> TLS
    let mut keys = Vec::new();
    let count = match explain::content(&app).0 {
        explain::Subject::Tls { count, .. } => count,
        other => panic!("{other:?}"),
    };
    for _ in 0..count {
        let (_, found) = explain::content(&app);
        assert_eq!(found.len(), 1);
        keys.push(found[0].key.to_ascii_lowercase());
        press(&mut app, KeyCode::Down);
    }
    let has = |part: &str| keys.iter().any(|k| k.contains(part));
    assert!(has("version.tlsv1.3"), "{keys:?}");
    assert!(has("x25519"), "{keys:?}");
    assert!(has("aes_256_gcm") || has("aes-256-gcm"), "{keys:?}");
    assert!(has("error.expired"), "{keys:?}");
    // Up goes back.
    press(&mut app, KeyCode::Up);
    assert_eq!(app.teach.tls_item, count - 2);
}

#[test]
fn auth_login_answers_each_challenge_and_masks_the_answers() {
    use mailwire::session::engine::Command;
    let mut app = new_app("smtps://mx.example.com:465");
    common::feed::connect(&mut app, Duration::ZERO, "192.0.2.25:465");
    wire(
        &mut app,
        40,
        Direction::Server,
        b"220 mx.example.com ESMTP\r\n",
    );
    type_text(&mut app, "AUTH LOGIN");
    // The credentials key (Enter would send the line as typed).
    let ctrl_p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL);
    let action = keymap::lookup(app.scope(), ctrl_p).unwrap();
    app.update(Msg::Action(action));
    type_text(&mut app, "demo");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "hunter2-secret");
    press(&mut app, KeyCode::Enter);
    // Plaintext here (no TLS event): confirm.
    press(&mut app, KeyCode::Char('y'));
    wire(&mut app, 50, Direction::Client, b"AUTH LOGIN\r\n");
    let mut sent = Vec::new();
    for (at, challenge) in [
        (60, &b"334 VXNlcm5hbWU6\r\n"[..]),
        (80, b"334 UGFzc3dvcmQ6\r\n"),
    ] {
        let mut event = Event::Data(Entry {
            at: Duration::from_millis(at),
            direction: Direction::Server,
            raw: challenge.to_vec(),
            tls: false,
            note: Default::default(),
        });
        common::feed::annotate(&mut event);
        let effects = app.update(Msg::Session(event));
        for e in effects {
            if let mailwire::tui::Effect::Command(Command::Send { bytes, .. }) = e {
                wire(&mut app, at + 5, Direction::Client, &bytes);
                sent.push(bytes);
            }
        }
    }
    assert_eq!(
        sent,
        [
            b"ZGVtbw==\r\n".to_vec(),
            b"aHVudGVyMi1zZWNyZXQ=\r\n".to_vec()
        ]
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    mailwire::tui::draw(&mut terminal, &mut app).unwrap();
    let screen = text_of(&terminal);
    assert!(
        !screen.contains("aHVudGVyMi1zZWNyZXQ") && !screen.contains("hunter2"),
        "{screen}"
    );
}
