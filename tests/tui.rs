//! Screens of the TUI rendered into ratatui's `TestBackend` and checked
//! with insta snapshots, plus the run loop driven by scripted keys and a
//! fake engine over channels. No network, no real terminal.

// Helpers outside #[test] fns unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

mod common;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use mailwire::cert::{CertSummary, ChainReport};
use mailwire::finding::{Finding, FindingId, Severity, Stage};
use mailwire::session::engine::{Command, SessionHandle};
use mailwire::session::{Direction, Entry, Event, TlsEstablished};
use mailwire::target::Target;
use mailwire::tls::{HandshakeSummary, Verdict};
use mailwire::tui::keymap;
use mailwire::tui::{self, App, AppConfig, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use test_case::test_case;
use tokio::sync::mpsc;

// ---- building sessions by hand ------------------------------------------

fn new_app(url: &str) -> App {
    App::new(AppConfig {
        target: Target::parse(url).unwrap(),
        ehlo: "client.example".into(),
        plan: None,
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn connected(app: &mut App, peer: &str) {
    common::feed::connect(app, ms(0), peer);
}

fn wire(app: &mut App, at: u64, direction: Direction, raw: &[u8]) {
    let tls = app.tls.is_some();
    common::feed::event(
        app,
        Event::Data(Entry {
            at: ms(at),
            direction,
            raw: raw.to_vec(),
            tls,
            note: Default::default(),
        }),
    );
}

/// A server response, annotated as the engine does (capabilities included).
fn server(app: &mut App, at: u64, raw: &str) {
    wire(app, at, Direction::Server, raw.as_bytes());
}

/// Presses keys as the operator would; returns the commands for the engine.
fn keys(app: &mut App, keys: &[KeyEvent]) -> Vec<Command> {
    let mut out = Vec::new();
    for key in keys {
        if let Some(action) = keymap::lookup(app.scope(), *key) {
            for effect in app.update(Msg::Action(action)) {
                if let tui::Effect::Command(c) = effect {
                    out.push(c);
                }
            }
        }
    }
    out
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn text(s: &str) -> Vec<KeyEvent> {
    s.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// Types a line and presses Enter, then echoes what the engine would report as sent.
fn send_line(app: &mut App, at: u64, line: &str) {
    let mut pressed = text(line);
    pressed.push(key(KeyCode::Enter));
    for command in keys(app, &pressed) {
        echo(app, at, &command);
    }
}

/// What the engine reports for a command: the bytes as sent (IMAP with a tag).
fn echo(app: &mut App, at: u64, command: &Command) {
    match command {
        Command::Send {
            bytes,
            tagged: true,
        } => {
            let mut raw = b"a1 ".to_vec();
            raw.extend_from_slice(bytes);
            wire(app, at, Direction::Client, &raw);
        }
        Command::Send { bytes, .. } => wire(app, at, Direction::Client, bytes),
        Command::StartTls => wire(app, at, Direction::Client, b"STARTTLS\r\n"),
        Command::Close => {}
    }
}

fn leaf() -> CertSummary {
    CertSummary {
        depth: 0,
        subject: "CN=mx.example.com".into(),
        subject_cn: Some("mx.example.com".into()),
        issuer: "CN=Example Issuing CA R2,O=Example Trust,C=US".into(),
        issuer_cn: Some("Example Issuing CA R2".into()),
        serial: "04:A3:7F:19:2C:55:E0:1B:9D:42:6A:0C:77:13:8E:F1:02:BB".into(),
        not_before: "2025-05-01T08:12:44Z".into(),
        not_after: "2025-07-30T08:12:43Z".into(),
        days_left: 61,
        sans: vec!["DNS:mx.example.com".into(), "DNS:mail.example.com".into()],
        key: "EC P-256".into(),
        signature_algorithm: "sha256WithRSAEncryption".into(),
        sha256: "3B:0C:9E:41:D2:7A:88:15:C6:0F:3E:92:B7:44:1D:A0:5C:E3:72:19:8B:F6:0D:24:E9:51:A7:3C:66:B0:12:DF"
            .into(),
        is_ca: false,
        path_len: None,
        key_usage: vec!["Digital Signature".into()],
        extended_key_usage: vec!["serverAuth".into(), "clientAuth".into()],
        aia: vec![
            "OCSP: http://ocsp.example-trust.test".into(),
            "CA Issuers: http://r2.example-trust.test/r2.der".into(),
        ],
        self_signed: false,
        not_yet_valid: false,
        version: 3,
    }
}

fn intermediate() -> CertSummary {
    CertSummary {
        depth: 1,
        subject: "CN=Example Issuing CA R2,O=Example Trust,C=US".into(),
        subject_cn: Some("Example Issuing CA R2".into()),
        issuer: "CN=Example Root X1,O=Example Trust,C=US".into(),
        issuer_cn: Some("Example Root X1".into()),
        serial: "91:2B:08:0A:3C".into(),
        not_before: "2024-03-13T00:00:00Z".into(),
        not_after: "2027-03-12T23:59:59Z".into(),
        days_left: 653,
        sans: vec![],
        key: "RSA 2048".into(),
        signature_algorithm: "sha256WithRSAEncryption".into(),
        sha256: "A1:7C:55:0E:93:2F:4B:D8:61:C0:7A:E4:19:B3:5D:28:F0:6E:83:CA:47:12:9B:D5:3E:70:AC:04:E8:5B:21:9F"
            .into(),
        is_ca: true,
        path_len: Some(0),
        key_usage: vec!["Digital Signature".into(), "Certificate Sign".into(), "CRL Sign".into()],
        extended_key_usage: vec!["serverAuth".into(), "clientAuth".into()],
        aia: vec!["CA Issuers: http://x1.example-trust.test/x1.der".into()],
        self_signed: false,
        not_yet_valid: false,
        version: 3,
    }
}

fn established(at: u64, trusted: bool) -> Box<TlsEstablished> {
    let mut leaf = leaf();
    if !trusted {
        leaf.days_left = -3;
        leaf.not_after = "2025-04-26T08:12:43Z".into();
    }
    Box::new(TlsEstablished {
        at: ms(at),
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
            trusted,
            hostname_match: true,
            name_checked: "mx.example.com".into(),
            error: (!trusted).then_some(mailwire::tls::VerdictCode::Expired),
            detail: (!trusted).then(|| {
                "a certificate in the chain has expired: renew it and reload the server".into()
            }),
            ..Verdict::default()
        },
        chain_der: vec![vec![0x30, 0x82, 0x01, 0x0a], vec![0x30, 0x82, 0x02, 0x0b]],
        chain: ChainReport {
            certs: vec![leaf, intermediate()],
            findings: vec![Finding::new(
                FindingId::RootSent,
                Severity::Info,
                Stage::Certificate,
                "root not sent (normal: the client has it)",
                "",
                "",
            )],
        },
    })
}

/// SMTP up to the greeting, with the time 48 ms into the session.
fn smtp_greeted() -> App {
    let mut app = new_app("smtp://mx.example.com");
    connected(&mut app, "192.0.2.25:25");
    server(
        &mut app,
        48,
        "220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
    );
    app.update(Msg::Tick(ms(60)));
    app
}

/// SMTP through the default plan's first three steps: EHLO, STARTTLS, EHLO.
fn smtp_after_starttls(trusted: bool) -> App {
    let mut app = smtp_greeted();
    for c in keys(&mut app, &[key(KeyCode::F(8))]) {
        echo(&mut app, 50, &c);
    }
    server(
        &mut app,
        61,
        "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n\
         250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
    );
    for c in keys(&mut app, &[key(KeyCode::F(8))]) {
        assert_eq!(c, Command::StartTls);
        echo(&mut app, 70, &c);
    }
    server(&mut app, 82, "220 2.0.0 Ready to start TLS\r\n");
    common::feed::event(&mut app, Event::Tls(established(140, trusted)));
    for c in keys(&mut app, &[key(KeyCode::F(8))]) {
        echo(&mut app, 141, &c);
    }
    server(
        &mut app,
        160,
        "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n\
         250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
    );
    app.update(Msg::Tick(ms(200)));
    app
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

// ---- snapshots -------------------------------------------------------------

#[test]
fn first_screen_after_smtp_greeting() {
    let mut app = smtp_greeted();
    let terminal = render(&mut app, 120, 40);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn screen_after_starttls_fills_tls_chain_and_capabilities() {
    let mut app = smtp_after_starttls(true);
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("TLS 1.3 established, TLS13_AES_256_GCM_SHA384, X25519"));
    assert!(screen.contains("+ AUTH PLAIN LOGIN"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn certificate_detail_shows_every_field() {
    let mut app = smtp_after_starttls(true);
    // Esc to the panes, Tab to the chain pane, Enter opens the leaf.
    keys(
        &mut app,
        &[
            key(KeyCode::Esc),
            key(KeyCode::Tab),
            key(KeyCode::Tab),
            key(KeyCode::Enter),
        ],
    );
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    for field in [
        "DNS:mail.example.com",
        "3B:0C:9E:41",
        "OCSP: http://ocsp.example-trust.test",
        "61 days left",
    ] {
        assert!(screen.contains(field), "{field} missing:\n{screen}");
    }
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = smtp_greeted();
    keys(&mut app, &[key(KeyCode::F(1))]);
    let terminal = render(&mut app, 120, 40);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn data_editor_after_354() {
    let mut app = smtp_after_starttls(true);
    send_line(&mut app, 300, "MAIL FROM:<alice@client.example>");
    server(&mut app, 310, "250 2.1.0 Ok\r\n");
    send_line(&mut app, 320, "RCPT TO:<bob@mx.example.com>");
    server(&mut app, 330, "250 2.1.5 Ok\r\n");
    send_line(&mut app, 340, "DATA");
    server(&mut app, 350, "354 End data with <CR><LF>.<CR><LF>\r\n");
    for line in ["Subject: mailwire test", "", ".this line starts with a dot"] {
        assert!(keys(&mut app, &[text(line), vec![key(KeyCode::Enter)]].concat()).is_empty());
    }
    keys(&mut app, &text("Bye"));
    app.update(Msg::Tick(ms(400)));
    let terminal = render(&mut app, 120, 40);
    insta::assert_snapshot!(terminal.backend());

    let sent = keys(&mut app, &[ctrl('d')]);
    assert_eq!(
        sent,
        [Command::Send {
            bytes: b"Subject: mailwire test\r\n\r\n..this line starts with a dot\r\nBye\r\n.\r\n"
                .to_vec(),
            tagged: false,
        }]
    );
}

#[test]
fn layout_80x24_uses_tabs() {
    let mut app = smtp_after_starttls(true);
    let terminal = render(&mut app, 80, 24);
    insta::assert_snapshot!("layout_80x24_transcript_tab", terminal.backend());
    keys(&mut app, &[key(KeyCode::F(2))]);
    let terminal = render(&mut app, 80, 24);
    insta::assert_snapshot!("layout_80x24_tls_tab", terminal.backend());
}

#[test]
fn untrusted_chain_is_shown_with_the_reason() {
    let mut app = smtp_after_starttls(false);
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("UNTRUSTED: expired"), "{screen}");
    // The verdict is a finding in the transcript (explained in full when selected).
    assert!(
        screen.contains("error [certificate_untrusted] certificate"),
        "{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn imap_tags_and_capabilities_on_screen() {
    let mut app = new_app("imap://imap.example.com");
    connected(&mut app, "192.0.2.143:143");
    server(
        &mut app,
        20,
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot ready.\r\n",
    );
    send_line(&mut app, 30, "CAPABILITY");
    // One entry per response, as the engine frames them.
    server(
        &mut app,
        41,
        "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED\r\n",
    );
    server(
        &mut app,
        42,
        "a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n",
    );
    let terminal = render(&mut app, 120, 30);
    let screen = screen_text(&terminal);
    assert!(screen.contains("C -> a1 CAPABILITY"), "{screen}");
    assert!(screen.contains("SASL-IR"), "{screen}");
    assert!(
        app.waiting().is_none(),
        "the tagged OK completes CAPABILITY"
    );
    assert!(screen.contains("next: STARTTLS (Ctrl-T)"), "{screen}");
}

// ---- hostile bytes ------------------------------------------------------------

#[test_case(b"220 \x1b[2J\x1b[H\x07 evil banner\r\n", &["\\x1b[2J", "\\x1b[H", "\\x07", "evil banner"]; "clear screen and bell")]
#[test_case(b"220 \x1b]0;pwned\x07 title\r\n", &["\\x1b]0;pwned\\x07"]; "window title OSC")]
#[test_case(b"220 \xc2\x9b2J c1 csi \xe2\x80\xae rlo\r\n", &["\\u{9b}2J", "\\u{202e}"]; "C1 CSI and bidi override")]
#[test_case(b"220 nul\x00 del\x7f bad\xff\r\n", &["nul\\x00", "del\\x7f", "bad\\xff"]; "nul del invalid utf8")]
fn control_bytes_from_the_server_are_shown_escaped(raw: &[u8], expected: &[&str]) {
    let mut app = new_app("smtp://mx.example.com");
    connected(&mut app, "192.0.2.25:25");
    wire(&mut app, 10, Direction::Server, raw);
    let terminal = render(&mut app, 100, 20);
    let screen = screen_text(&terminal);
    for e in expected {
        assert!(screen.contains(e), "{e} not shown:\n{screen}");
    }
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control character {:?} reached the terminal buffer",
            cell.symbol()
        );
    }
}

#[test]
fn escape_sequence_snapshot() {
    let mut app = new_app("smtp://mx.example.com");
    connected(&mut app, "192.0.2.25:25");
    wire(
        &mut app,
        10,
        Direction::Server,
        b"220-mx.example.com \x1b[2J\x1b[31mred\x1b[0m\x07\r\n220 bare LF follows\n",
    );
    let terminal = render(&mut app, 100, 12);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn credentials_never_reach_the_screen() {
    let mut app = smtp_after_starttls(true);
    send_line(&mut app, 300, "AUTH PLAIN AGFsaWNlAGh1bnRlcjI=");
    server(&mut app, 320, "235 2.7.0 Authentication successful\r\n");
    keys(&mut app, &text("AUTH PLAIN c2VjcmV0"));
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(!screen.contains("AGFsaWNlAGh1bnRlcjI="), "{screen}");
    assert!(!screen.contains("c2VjcmV0"), "{screen}");
    assert!(screen.contains("AUTH PLAIN ********"), "{screen}");
}

#[test]
fn a_100k_line_transcript_renders_only_the_window() {
    let mut app = smtp_greeted();
    for i in 0..100_000u64 {
        wire(
            &mut app,
            100 + i,
            Direction::Client,
            format!("NOOP {i}\r\n").as_bytes(),
        );
    }
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("NOOP 99999"));
    assert!(screen.contains("100002 lines · following"), "{screen}");
    keys(&mut app, &[key(KeyCode::Home)]);
    let terminal = render(&mut app, 120, 40);
    assert!(screen_text(&terminal).contains("connected to 192.0.2.25:25"));
}

// ---- the run loop ----------------------------------------------------------

/// Scripted terminal input over a channel.
struct KeyStream(mpsc::UnboundedReceiver<io::Result<TermEvent>>);

impl futures_core::Stream for KeyStream {
    type Item = io::Result<TermEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test(start_paused = true)]
async fn run_loop_sends_typed_lines_and_quits_politely() {
    let (command_tx, mut command_rx) = mpsc::channel(4);
    let (event_tx, event_rx) = mpsc::channel(16);
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let handle = SessionHandle {
        commands: command_tx,
        events: event_rx,
    };
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let mut app = new_app("pop3://pop.example.com");
        tui::run_with(&mut terminal, &mut app, handle, KeyStream(key_rx))
            .await
            .unwrap();
        (terminal, app)
    });
    event_tx
        .send(Event::Connected {
            at: ms(0),
            peer: "192.0.2.110:110".into(),
        })
        .await
        .unwrap();
    event_tx
        .send(Event::Data(Entry {
            at: ms(5),
            direction: Direction::Server,
            raw: b"+OK Dovecot ready.\r\n".to_vec(),
            tls: false,
            note: Default::default(),
        }))
        .await
        .unwrap();
    tokio::time::sleep(ms(50)).await;

    // "quit" typed in the input line is text, not the quit shortcut.
    for k in text("quit").into_iter().chain([key(KeyCode::Enter)]) {
        key_tx.send(Ok(TermEvent::Key(k))).unwrap();
    }
    assert_eq!(
        command_rx.recv().await,
        Some(Command::Send {
            bytes: b"quit\r\n".to_vec(),
            tagged: false,
        })
    );

    // Ctrl-Q sends QUIT; the UI leaves once the server closes.
    key_tx.send(Ok(TermEvent::Key(ctrl('q')))).unwrap();
    assert_eq!(
        command_rx.recv().await,
        Some(Command::Send {
            bytes: b"QUIT\r\n".to_vec(),
            tagged: false,
        })
    );
    event_tx
        .send(Event::Closed {
            at: ms(90),
            reason: "server closed the connection".into(),
        })
        .await
        .unwrap();
    let (terminal, app) = ui.await.unwrap();
    assert!(app.should_quit());
    let _ = terminal;
}

#[tokio::test(start_paused = true)]
async fn waiting_timer_runs_live_and_esc_gives_up() {
    let (command_tx, _command_rx) = mpsc::channel(4);
    let (event_tx, event_rx) = mpsc::channel(16);
    let (key_tx, key_rx) = mpsc::unbounded_channel();
    let handle = SessionHandle {
        commands: command_tx,
        events: event_rx,
    };
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 20)).unwrap();
        let mut app = new_app("smtp://tarpit.example.com");
        tui::run_with(&mut terminal, &mut app, handle, KeyStream(key_rx))
            .await
            .unwrap();
        (terminal, app)
    });
    event_tx
        .send(Event::Connected {
            at: ms(0),
            peer: "192.0.2.25:25".into(),
        })
        .await
        .unwrap();
    // A tarpit: no greeting for 31 seconds.
    tokio::time::sleep(Duration::from_millis(31_050)).await;
    key_tx.send(Ok(TermEvent::Key(key(KeyCode::Esc)))).unwrap();
    tokio::time::sleep(ms(10)).await;
    drop(key_tx);
    let (terminal, app) = ui.await.unwrap();
    assert!(app.waiting().is_none());
    let screen = screen_text(&terminal);
    assert!(screen.contains("stopped waiting for greeting"), "{screen}");
    assert_eq!(
        app.scope(),
        keymap::Scope::Input,
        "Esc while waiting must not move the focus"
    );
}

#[test]
fn ctrl_r_asks_to_record_and_the_status_bar_shows_the_file() {
    let mut app = new_app("smtp://mx.example.com");
    let effects = app.update(Msg::Action(mailwire::tui::keymap::Action::ToggleRecording));
    assert!(matches!(effects.as_slice(), [tui::Effect::ToggleRecording]));
    assert!(screen_text(&render(&mut app, 160, 40)).contains("rec off"));
    app.update(Msg::Recording(Ok(Some("s.jsonl".into()))));
    let screen = screen_text(&render(&mut app, 160, 40));
    assert!(screen.contains("rec s.jsonl"), "{screen}");
    assert!(screen.contains("recording to s.jsonl"), "{screen}");
    app.update(Msg::Recording(Ok(None)));
    assert!(screen_text(&render(&mut app, 160, 40)).contains("rec off"));
}

#[test]
fn status_bar_says_when_tls_keys_are_logged() {
    let mut app = new_app("smtp://mx.example.com");
    assert!(!screen_text(&render(&mut app, 160, 40)).contains("keys "));
    app.key_log = Some("/tmp/keys.log".into());
    let screen = screen_text(&render(&mut app, 160, 40));
    assert!(screen.contains("keys /tmp/keys.log"), "{screen}");
}

// ---- issue 12: long lines, raw rows, help, lessons and the verdict in words ----

/// A 200-character reply: Postfix's unknown-recipient text, made longer.
fn long_reply() -> String {
    let mut text = "550 5.1.1 <nobody@test.example>: Recipient address rejected: User unknown in \
                    virtual mailbox table"
        .to_string();
    let mut n = 0;
    while text.len() < 196 {
        text.push_str(&format!(" part{n}"));
        n += 1;
    }
    text.truncate(196);
    text.push_str(" END");
    assert_eq!(text.len(), 200);
    text
}

/// The screen's text with the rows joined and the pane borders and
/// wrapping spaces removed, to look for a line that wrapped.
fn joined(terminal: &Terminal<TestBackend>) -> String {
    screen_text(terminal)
        .chars()
        .filter(|c| !matches!(c, '│' | '┃' | '\n' | ' '))
        .collect()
}

#[test_case(120, 40 ; "wide")]
#[test_case(80, 24 ; "narrow")]
fn a_200_character_reply_is_read_in_full(width: u16, height: u16) {
    let mut app = smtp_greeted();
    let reply = long_reply();
    send_line(&mut app, 85, "RCPT TO:<nobody@test.example>");
    server(&mut app, 90, &format!("{reply}\r\n"));
    if width < 100 {
        // The explain tab at 80×24.
        while app.pane != tui::app::PaneId::Explain {
            keys(&mut app, &[key(KeyCode::F(2))]);
        }
    }
    let terminal = render(&mut app, width, height);
    let squeezed: String = reply.chars().filter(|c| *c != ' ').collect();
    assert!(
        joined(&terminal).contains(&squeezed),
        "{}",
        screen_text(&terminal)
    );
    insta::assert_snapshot!(format!("long_reply_{width}x{height}"), terminal.backend());
}

#[test]
fn long_lines_end_in_a_mark_and_scroll_sideways() {
    let mut app = smtp_greeted();
    let reply = long_reply();
    server(&mut app, 90, &format!("{reply}\r\n"));
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    let row = screen
        .lines()
        .find(|l| l.contains("550 5.1.1"))
        .unwrap()
        .to_string();
    assert!(row.contains('»') && !row.contains("END"), "{row}");
    let alt_right = KeyEvent::new(KeyCode::Right, KeyModifiers::ALT);
    keys(&mut app, &[alt_right; 8]);
    let terminal = render(&mut app, 120, 40);
    let screen = screen_text(&terminal);
    let row = screen.lines().find(|l| l.contains(" S <- «")).unwrap();
    assert!(row.contains("END"), "{row}");
}

#[test_case(120, 40 ; "wide")]
#[test_case(80, 24 ; "narrow")]
fn raw_view_of_a_100_byte_line_keeps_hex_rows_whole(width: u16, height: u16) {
    let mut app = smtp_greeted();
    let mut line = "250 ".to_string();
    while line.len() < 98 {
        line.push(char::from(b'a' + u8::try_from(line.len() % 26).unwrap()));
    }
    line.push_str("\r\n");
    assert_eq!(line.len(), 100);
    server(&mut app, 90, &line);
    keys(&mut app, &[key(KeyCode::F(6))]);
    if width < 100 {
        while app.pane != tui::app::PaneId::Explain {
            keys(&mut app, &[key(KeyCode::F(2))]);
        }
    }
    let terminal = render(&mut app, width, height);
    let screen = screen_text(&terminal);
    // Every hex row starts with its offset and ends with its ASCII column
    // on the same screen row: no row is wrapped onto the next.
    let rows: Vec<&str> = screen
        .lines()
        .filter(|l| {
            let t: Vec<char> = l.trim_start_matches(['│', '┃']).chars().collect();
            t.len() > 6 && t[..4].iter().all(char::is_ascii_hexdigit) && t[4..6] == [' ', ' ']
        })
        .collect();
    let per_row = mailwire::tui::panes::raw::per_row(if width < 100 { 78 } else { 68 });
    assert_eq!(rows.len(), 100usize.div_ceil(per_row), "{screen}");
    // The escaped text follows the hex rows, in sight.
    assert!(screen.contains("text  250"), "{screen}");
    assert!(rows.last().unwrap().contains("0d 0a"), "{screen}");
    insta::assert_snapshot!(
        format!("raw_100_bytes_{width}x{height}"),
        terminal.backend()
    );
}

#[test]
fn help_overlay_is_complete_at_80x24_by_scrolling() {
    let mut app = smtp_greeted();
    keys(&mut app, &[key(KeyCode::F(1))]);
    let terminal = render(&mut app, 80, 24);
    let top = screen_text(&terminal);
    assert!(top.contains("more below"), "{top}");
    insta::assert_snapshot!("help_80x24_top", terminal.backend());
    keys(&mut app, &[key(KeyCode::Down); 200]);
    let terminal = render(&mut app, 80, 24);
    let end = screen_text(&terminal);
    assert!(
        end.contains("Confirmation") && end.contains("· end"),
        "{end}"
    );
    insta::assert_snapshot!("help_80x24_end", terminal.backend());
    // Every binding's meaning is on one of the screens, whole (wrapped, never cut).
    let seen = format!("{top}{end}");
    for b in app.keys.bindings(keymap::Scope::Confirm) {
        assert!(seen.contains(b.help), "{}", b.help);
    }
}

#[test]
fn a_lesson_at_80x24_shows_its_narration_first() {
    let lesson = mailwire::lessons::find("broken-chain").unwrap();
    let mut app = new_app("smtp://localhost:2525").with_lesson(lesson);
    connected(&mut app, "127.0.0.1:2525");
    server(&mut app, 12, "220 localhost ESMTP mailwire demo\r\n");
    let terminal = render(&mut app, 80, 24);
    let screen = screen_text(&terminal);
    assert!(screen.contains("Lesson ·"), "{screen}");
    assert!(screen.contains("next (F8)"), "{screen}");
    assert!(screen.contains("S <- 220"), "{screen}");
    insta::assert_snapshot!("lesson_80x24", terminal.backend());
}

#[test_case(120, 40 ; "wide")]
#[test_case(80, 24 ; "narrow")]
fn untrusted_is_said_in_words_without_colour(width: u16, height: u16) {
    let mut app = smtp_after_starttls(false);
    app.theme = mailwire::tui::Theme::monochrome();
    let terminal = render(&mut app, width, height);
    let status = screen_text(&terminal)
        .lines()
        .nth(usize::from(height) - 2)
        .unwrap()
        .to_string();
    assert!(status.contains("UNTRUSTED: expired"), "{status}");
    insta::assert_snapshot!(
        format!("untrusted_no_color_{width}x{height}"),
        terminal.backend()
    );
}

#[test_case(120, 40 ; "wide")]
#[test_case(80, 24 ; "small")]
fn a_planned_credential_is_masked_in_the_input_title(width: u16, height: u16) {
    // Base64 of "\0demo\0demo-password" (RFC 4616), as a lesson's plan carries it.
    let secret = "AGRlbW8AZGVtby1wYXNzd29yZA==";
    let mut app = App::new(AppConfig {
        target: Target::parse("smtp://mail.example").unwrap(),
        ehlo: "client.example".into(),
        plan: Some(tui::Plan::parse(
            &format!("AUTH PLAIN {secret}\nQUIT\n"),
            "client.example",
        )),
    });
    connected(&mut app, "192.0.2.1:25");
    let text = screen_text(&render(&mut app, width, height));
    assert!(text.contains("plan 1/2: AUTH PLAIN"), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains("AGRlbW8"), "{text}");
}
