//! No litter in the temp directory, whichever way mailwire ends: `demo` in a
//! terminal that is closed (SIGHUP), `serve` and `serve --replay` stopped
//! with SIGTERM, SIGHUP or SIGINT, and `check --demo`.
//!
//! Each child gets a private, empty `TMPDIR` (which `std::env::temp_dir`
//! and tempfile honour), so "nothing new in the temp directory" is checked
//! exactly, whatever else runs on the machine; the system temp directory is
//! also checked for the names the old code used.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::mailwire;
use common::tmux::{self, Tmux};
use test_case::test_case;

/// How long a stopped process may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The predictable file the old `serve` wrote to the system temp directory.
/// (The old random names, `mailwire-demo-root-*`, cannot be told apart from
/// those of other processes; the private TMPDIR covers them.)
fn old_litter(pid: u32) -> Vec<String> {
    let name = format!("mailwire-demo-ca-{pid}.pem");
    entries(&std::env::temp_dir())
        .into_iter()
        .filter(|n| *n == name)
        .collect()
}

fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} {pid}");
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > EXIT_TIMEOUT {
            let _ = child.kill();
            panic!(
                "pid {} still running {EXIT_TIMEOUT:?} after the signal",
                child.id()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn gone(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by its parent) counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// The pid of `parent`'s child process (tmux's `sh -c` runs mailwire as one).
fn child_of(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
fn demo_in_a_closed_terminal_leaves_no_file(protocol: &str) {
    if !tmux::available("demo closed by SIGHUP") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = Tmux::mailwire_env(
        &format!("litter-{protocol}"),
        &[("TMPDIR", tmp.path().to_str().unwrap())],
        &["demo", protocol],
    );
    // Running, connected, greeting on screen: everything it would create exists by now.
    t.wait_text("S <- ");
    let shell = t.pane_pid();
    let demo = child_of(shell).expect("mailwire runs under the pane's shell");
    assert!(
        std::fs::read_to_string(format!("/proc/{demo}/comm"))
            .unwrap()
            .starts_with("mailwire"),
        "pid {demo} is not mailwire"
    );
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "while running");

    // Closing the terminal: tmux hangs up the pane (SIGHUP).
    t.kill();
    let start = Instant::now();
    while !gone(demo) {
        assert!(
            start.elapsed() < EXIT_TIMEOUT,
            "mailwire demo (pid {demo}) still running after SIGHUP"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "after SIGHUP");
    assert_eq!(old_litter(demo), Vec::<String>::new());
}

/// Starts `mailwire serve ARGS` with a private TMPDIR and reads its stdout
/// up to and including the line starting with `last`.
fn spawn_serve(tmp: &Path, args: &[&str], last: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .arg("serve")
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let start = Instant::now();
    loop {
        let mut line = String::new();
        // Bounded: serve prints these lines right after binding.
        assert!(start.elapsed() < EXIT_TIMEOUT, "no {last:?} line: {text}");
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("serve ended early: {text}\n{err}");
        }
        text.push_str(&line);
        if line.starts_with(last) {
            break;
        }
    }
    // Keep draining stdout so a late write never blocks the server.
    thread::spawn(move || {
        let mut sink = String::new();
        let _ = out.read_to_string(&mut sink);
    });
    (child, text)
}

#[test_case("TERM" ; "sigterm")]
#[test_case("HUP" ; "sighup")]
#[test_case("INT" ; "sigint")]
fn serve_prints_the_root_writes_nothing_and_stops_cleanly(sig: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, text) = spawn_serve(tmp.path(), &[], "login:");
    assert!(text.contains("smtp://127.0.0.1:"), "{text}");
    assert!(
        text.contains(
            "root CA (not written to disk; --ca-out FILE writes it):\n-----BEGIN CERTIFICATE-----\n"
        ),
        "{text}"
    );
    assert!(!text.contains(".pem"), "no file named: {text}");
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "while running");

    let pid = child.id();
    signal(pid, sig);
    let status = wait_exit(&mut child);
    // An orderly shutdown: serve's own handler ran and it exited 0.
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "after SIG{sig}");
    assert_eq!(old_litter(pid), Vec::<String>::new());
}

#[test]
fn serve_ca_out_is_the_only_file_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let ca = out_dir.path().join("root.pem");
    let (mut child, text) = spawn_serve(tmp.path(), &["--ca-out", ca.to_str().unwrap()], "login:");
    assert!(
        text.contains(&format!("root CA: {}\n", ca.display())),
        "{text}"
    );
    assert!(!text.contains("BEGIN CERTIFICATE"), "{text}");
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child).code(), Some(0));
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
    assert_eq!(entries(out_dir.path()), vec!["root.pem".to_string()]);
}

#[test_case("TERM" ; "sigterm")]
#[test_case("HUP" ; "sighup")]
fn serve_replay_leaves_no_root_after_a_signal(sig: &str) {
    let work = tempfile::tempdir().unwrap();
    let rec = work.path().join("r.jsonl");
    let recorded = mailwire(&["check", "--demo", "smtp", "--record", rec.to_str().unwrap()]);
    assert_eq!(recorded.status.code(), Some(0), "{recorded:?}");

    let tmp = tempfile::tempdir().unwrap();
    let (mut child, text) = spawn_serve(
        tmp.path(),
        &["--replay", rec.to_str().unwrap()],
        "-----END CERTIFICATE-----",
    );
    let url = text.lines().next().unwrap();
    assert!(url.starts_with("smtp://127.0.0.1:"), "{text}");
    assert!(text.contains("not written to disk"), "{text}");
    // The replayed server answers, with the root that was printed.
    let pem_start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let ca = work.path().join("printed-root.pem");
    std::fs::write(&ca, &text[pem_start..]).unwrap();
    let out = mailwire(&[
        "check",
        url,
        "--json",
        "--ca-file",
        ca.to_str().unwrap(),
        "--servername",
        "localhost",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "while running");

    let pid = child.id();
    signal(pid, sig);
    assert_eq!(wait_exit(&mut child).code(), Some(0));
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "after SIG{sig}");
    assert_eq!(old_litter(pid), Vec::<String>::new());
}

#[test]
fn check_demo_writes_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["check", "--demo", "pop3", "--json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = common::json(&out);
    assert_eq!(
        j["verification"]["trusted"], true,
        "the in-memory root is trusted"
    );
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// A command that does not watch the signals itself (here `check` waiting
/// on a silent server) is dropped at once and exits 128 + the signal number.
#[test_case("TERM", 143 ; "sigterm")]
#[test_case("HUP", 129 ; "sighup")]
fn check_stopped_by_a_signal_exits_at_once(sig: &str, code: i32) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", silent.local_addr().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["check", &url, "--timeout", "60000"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Connected and waiting for a greeting that never comes.
    let (_conn, _) = silent.accept().unwrap();
    let start = Instant::now();
    signal(child.id(), sig);
    let status = wait_exit(&mut child);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status.code(), Some(code), "{status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains(&format!("stopped by SIG{sig}")), "{err}");
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Client replay stepped at a terminal waits in a blocking read for Enter;
/// a SIGTERM still ends it within the backstop's second, exit 143.
#[test]
fn stepped_client_replay_blocked_at_its_prompt_stops_on_sigterm() {
    if !tmux::available("client replay stopped by SIGTERM") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rec = work.path().join("r.jsonl");
    let recorded = mailwire(&["check", "--demo", "smtp", "--record", rec.to_str().unwrap()]);
    assert_eq!(recorded.status.code(), Some(0), "{recorded:?}");
    let (mut server, text) = spawn_serve(work.path(), &[], "login:");
    let smtp = text
        .lines()
        .find_map(|l| l.strip_prefix("smtp://"))
        .and_then(|l| l.split_whitespace().next())
        .expect("smtp listener line");
    let url = format!("smtp://{smtp}");

    let t = Tmux::mailwire(
        "replay-term",
        &["replay", rec.to_str().unwrap(), "--against", &url],
    );
    t.wait_text("[Enter/Space send, s skip, q stop]");
    let replay = child_of(t.pane_pid()).expect("mailwire runs under the pane's shell");
    signal(replay, "TERM");
    let screen = t.wait_text("EXITED:");
    assert!(screen.contains("EXITED:143"), "{screen}");
    assert!(screen.contains("stopped by SIGTERM"), "{screen}");

    signal(server.id(), "TERM");
    assert_eq!(wait_exit(&mut server).code(), Some(0));
}
