//! End to end: the real `mailwire` binary in a pseudo-terminal (tmux at
//! 120×40, `NO_COLOR=1`), driven by keys and read back from the screen.
//!
//! - `mailwire demo smtp|imap|pop3`: the default plan with F8, Ctrl-T at the
//!   STARTTLS step, TLS 1.3 and the leaf `CN=localhost` on screen, Ctrl-Q
//!   twice, and the terminal restored.
//! - A hostile server: `ESC[2J`, BEL, OSC and other control bytes in its
//!   lines are shown escaped and never reach the terminal.
//!
//! The same flow against real Postfix and Dovecot is in `tests/realservers.rs`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use common::tmux::{self, Plan, Tmux};
use test_case::test_case;

#[test_case("smtp", &tmux::SMTP ; "smtp")]
#[test_case("imap", &tmux::IMAP ; "imap")]
#[test_case("pop3", &tmux::POP3 ; "pop3")]
fn demo_plan_then_ctrl_t_shows_tls13_and_leaf(proto: &str, plan: &Plan) {
    if !tmux::available("e2e TUI tests") {
        return;
    }
    let t = Tmux::mailwire(&format!("demo-{proto}"), &["demo", proto]);
    tmux::starttls_flow(&t, plan, "localhost");
}

/// A scripted SMTP server whose lines carry terminal control sequences:
/// clear screen, bell, window title (OSC), colours, backspace, NUL.
fn hostile_smtp_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = sock.write_all(b"220 hi \x1b[2J\x07 there\r\n");
        let Ok(read) = sock.try_clone() else {
            return;
        };
        for line in BufReader::new(read).lines() {
            let Ok(line) = line else { return };
            let reply: &[u8] = if line.to_ascii_uppercase().starts_with("QUIT") {
                b"221 bye\x1b[H\r\n"
            } else {
                b"250-x\x1b]0;pwned\x07\r\n250-\x1b[31mred\x1b[0m\x08\r\n250 ok\x1bc\r\n"
            };
            if sock.write_all(reply).is_err() || reply.starts_with(b"221") {
                return;
            }
        }
    });
    port
}

#[test]
fn control_bytes_from_the_server_are_shown_escaped() {
    if !tmux::available("e2e TUI tests") {
        return;
    }
    let port = hostile_smtp_server();
    let url = format!("smtp://127.0.0.1:{port}");
    let t = Tmux::mailwire("escapes", &[url.as_str()]);

    // A whole frame, every row drawn: had `ESC[2J` reached the terminal,
    // the cleared rows would stay blank (ratatui redraws only what changed)
    // and this would time out.
    let whole = |s: &str, text: &str| {
        s.contains(text)
            && s.contains("connected to 127.0.0.1")
            && s.lines().count() == 40
            && s.lines().all(|r| !r.trim().is_empty())
    };
    let screen = t.wait_for("the escaped greeting in a whole frame", |s| {
        whole(s, r"220 hi \x1b[2J\x07 there")
    });
    let title = t.format("#{pane_title}");

    t.keys(&["F8"]);
    let screen2 = t.wait_for("the escaped EHLO reply in a whole frame", |s| {
        whole(s, r"250 ok\x1bc")
    });
    for s in [&screen, &screen2] {
        // Not cleared: the whole frame is still drawn, the connect note
        // above the greeting included.
        assert!(s.contains("connected to 127.0.0.1"), "{s}");
        assert!(
            s.contains("┌ Transcript") || s.contains("┏ Transcript"),
            "{s}"
        );
        let rows: Vec<&str> = s.lines().collect();
        assert_eq!(rows.len(), 40, "{s}");
        assert!(
            rows.iter().all(|r| !r.trim().is_empty()),
            "blank rows:\n{s}"
        );
    }
    assert!(screen2.contains(r"250-x\x1b]0;pwned\x07"), "{screen2}");
    assert!(screen2.contains(r"250-\x1b[31mred\x1b[0m\x08"), "{screen2}");
    assert!(!screen2.contains('\u{7}') && !screen2.contains('\u{1b}'));
    // The OSC title sequence never reached the terminal.
    assert!(!t.format("#{pane_title}").contains("pwned"));
    assert!(!title.contains("pwned"));
    assert_eq!(
        t.format("#{alternate_on}"),
        "1",
        "the TUI's screen is intact"
    );

    t.quit_and_check_restored();
}

/// Issue 12: Enter on the credentials question does not send them: the
/// password field ends with Enter, so a second Enter must not send it in
/// cleartext. The demo server's SMTP is plaintext until STARTTLS.
#[test]
fn enter_on_a_credentials_question_does_not_send() {
    if !tmux::available("e2e TUI tests") {
        return;
    }
    let t = Tmux::mailwire("enter-is-no", &["demo", "smtp"]);
    t.wait_text("S <- 220 ");
    t.keys(&["F8"]);
    t.wait_text("<- 250 ");
    // The credentials key builds AUTH PLAIN from a masked prompt.
    t.keys(&["C-p"]);
    t.wait_text("user name (Enter)");
    t.keys(&["demo", "Enter"]);
    t.wait_text("password, masked");
    t.keys(&["demo-password", "Enter"]);
    t.wait_text("Send credentials?");
    t.keys(&["Enter"]);
    let screen = t.wait_text("credentials not sent");
    assert!(!screen.contains("AUTH PLAIN"), "{screen}");
    assert!(!screen.contains("C -> AUTH"), "{screen}");
    t.quit_and_check_restored();
}

/// Issue 12: a connection that never happened exits 3 (as `check`), and
/// the error is printed on the main screen after the terminal is restored.
#[test]
fn a_failed_connect_exits_3_and_prints_the_error_after_restoring() {
    if !tmux::available("e2e TUI tests") {
        return;
    }
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("smtp://127.0.0.1:{port}");
    let t = Tmux::mailwire("refused", &[url.as_str()]);
    let screen = t.wait_for("the error on screen", |s| s.contains("connection refused"));
    assert!(screen.contains("Transcript"), "{screen}");
    t.keys(&["C-q"]);
    let screen = t.wait_text("EXITED:");
    assert!(screen.contains("EXITED:3"), "{screen}");
    assert!(!screen.contains("Transcript"), "TUI still drawn:\n{screen}");
    let line = screen
        .lines()
        .find(|l| l.starts_with("mailwire: "))
        .unwrap_or_else(|| panic!("no error printed:\n{screen}"));
    assert!(
        line.contains(&format!("127.0.0.1:{port}")) && line.contains("connection refused"),
        "{line}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}

/// Without a terminal the TUI says it needs one and names `mailwire check`.
#[test]
fn without_a_terminal_the_tui_names_check() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["--no-config", "smtp://127.0.0.1:9"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mailwire");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("mailwire check smtp://127.0.0.1:9"), "{err}");
}
