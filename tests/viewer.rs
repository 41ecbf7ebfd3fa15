//! `mailwire replay FILE`: the read-only viewer rendered at the start, after
//! STARTTLS and at the end of a committed recording, and the real binary
//! stepped through a recording in tmux.

mod common;

use std::process::Command;
use std::time::Duration;

use mailwire::replay::Recording;
use mailwire::tui::viewer::{Viewer, ViewerAction};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RECORDING: &str = "assets/recordings/smtp-starttls.jsonl";

fn viewer() -> Viewer {
    let rec = Recording::load(RECORDING).unwrap();
    let mut v = Viewer::new(rec, 1.0);
    v.app.theme = mailwire::tui::Theme::monochrome();
    v
}

fn screen(v: &mut Viewer) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    v.draw(&mut terminal).unwrap();
    terminal
}

#[test]
fn viewer_at_start_middle_and_end() {
    let mut v = viewer();
    insta::assert_snapshot!("viewer_start", screen(&mut v).backend());

    // Middle: just after the TLS handshake.
    let tls = (0..v.recording().len())
        .find(|&i| v.recording().tls_in_force(i) == Some(i))
        .expect("recording has a handshake");
    v.seek(tls + 1);
    assert!(v.app.tls.is_some(), "TLS pane knows the handshake");
    insta::assert_snapshot!("viewer_after_starttls", screen(&mut v).backend());

    v.act(ViewerAction::End);
    insta::assert_snapshot!("viewer_end", screen(&mut v).backend());

    // Back before the handshake: the TLS pane forgets it again.
    v.seek(tls);
    assert!(v.app.tls.is_none());
    v.act(ViewerAction::Next);
    assert!(v.app.tls.is_some());
    v.act(ViewerAction::Prev);
    assert!(v.app.tls.is_none());
    v.act(ViewerAction::Start);
    assert_eq!(v.shown(), 0);
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn replay_binary_steps_through_a_recording_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var("MAILWIRE_REQUIRE_REALSERVERS").as_deref() != Ok("1"),
            "tmux is required (MAILWIRE_REQUIRE_REALSERVERS=1)"
        );
        eprintln!("SKIPPED: tmux is not installed; the end-to-end replay test did not run");
        return;
    }
    let session = format!("mailwire-replay-{}", std::process::id());
    let cmd = format!(
        "NO_COLOR=1 {} replay {}",
        env!("CARGO_BIN_EXE_mailwire"),
        RECORDING
    );
    tmux(&["new", "-d", "-x", "120", "-y", "40", "-s", &session, &cmd]);
    let capture = || {
        std::thread::sleep(Duration::from_millis(400));
        tmux(&["capture-pane", "-p", "-t", &session])
    };
    let total = Recording::load(RECORDING).unwrap().len();
    let start = capture();
    assert!(start.contains(&format!("replay 0/{total}")), "{start}");
    tmux(&["send-keys", "-t", &session, "n", "n", "Right"]);
    let three = capture();
    assert!(three.contains(&format!("replay 3/{total}")), "{three}");
    assert!(three.contains("220 mail.example.test"), "{three}");
    tmux(&["send-keys", "-t", &session, "End"]);
    let end = capture();
    assert!(end.contains(&format!("replay {total}/{total}")), "{end}");
    tmux(&["send-keys", "-t", &session, "p", "Home"]);
    let home = capture();
    assert!(home.contains(&format!("replay 0/{total}")), "{home}");
    tmux(&["send-keys", "-t", &session, "q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
}
