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
