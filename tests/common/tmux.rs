//! Drives the real `mailwire` binary in a pseudo-terminal through tmux:
//! start it in a detached 120×40 session, send keys, poll the screen.
//!
//! The command runs as `sh -c '<cmd>; echo EXITED:$?; exec sleep 600'` with
//! `remain-on-exit`, so after the TUI quits the pane still shows the normal
//! screen and the exit marker. The session is killed on drop, panic included.
//!
//! Without tmux the tests print a loud SKIPPED line and pass; with
//! `MAILWIRE_REQUIRE_REALSERVERS=1` (set by `.ci/run`) a skip is a failure.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for expected text before failing.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A detached tmux session running one command.
pub struct Tmux {
    name: String,
}

/// Whether tmux can run here; prints SKIPPED (or panics when required) if not.
pub fn available(what: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("MAILWIRE_REQUIRE_REALSERVERS").is_ok_and(|v| v == "1") {
            panic!("{what}: tmux is required (MAILWIRE_REQUIRE_REALSERVERS=1) but not installed");
        }
        eprintln!("\n*** SKIPPED: {what}: tmux is not installed (apt-get install tmux) ***\n");
    }
    ok
}

/// Quotes `s` for `sh -c`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `mailwire args...` in a new session named after `test`.
    pub fn mailwire(test: &str, args: &[&str]) -> Tmux {
        Tmux::mailwire_env(test, &[], args)
    }

    /// [`Tmux::mailwire`] with extra environment variables for the command.
    pub fn mailwire_env(test: &str, env: &[(&str, &str)], args: &[&str]) -> Tmux {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "mailwire-e2e-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut cmd = sh_quote(env!("CARGO_BIN_EXE_mailwire"));
        for a in args {
            cmd.push(' ');
            cmd.push_str(&sh_quote(a));
        }
        // sh stays (sleep) after the marker: a dead pane may lose its last output.
        let script = format!("{cmd}; echo EXITED:$?; exec sleep 600");
        let tmux = Tmux { name };
        // One tmux invocation, so remain-on-exit is set before the command
        // can possibly finish. Retried: tests start in parallel, and several
        // clients racing to start the tmux server can fail.
        let mut err = String::new();
        for _ in 0..5 {
            let out = Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &tmux.name,
                    "-x",
                    "120",
                    "-y",
                    "40",
                ])
                .args(["-e", "NO_COLOR=1", "-e", "TERM=xterm-256color"])
                .args(
                    env.iter()
                        .flat_map(|(k, v)| ["-e".to_string(), format!("{k}={v}")]),
                )
                .args(["-e", &format!("XDG_CONFIG_HOME={}", super::NO_CONFIG_HOME)])
                .args(["sh", "-c", &script])
                .args([";", "set-option", "-t", &tmux.name, "remain-on-exit", "on"])
                .env("NO_COLOR", "1")
                .output()
                .expect("run tmux");
            if out.status.success() {
                return tmux;
            }
            err = String::from_utf8_lossy(&out.stderr).into_owned();
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &tmux.name])
                .output();
            thread::sleep(Duration::from_millis(200));
        }
        panic!("tmux new-session failed: {err}");
    }

    /// Sends tmux key names (`F8`, `C-t`, `Enter`) or literal words.
    pub fn keys(&self, keys: &[&str]) {
        let out = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .output()
            .expect("run tmux send-keys");
        assert!(out.status.success(), "send-keys {keys:?} failed");
    }

    /// The visible screen as text, one line per row.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("run tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format for the pane, e.g. `#{alternate_on}`.
    pub fn format(&self, f: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, f])
            .output()
            .expect("run tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `pred` holds for the screen; panics with the screen after
    /// [`TIMEOUT`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > TIMEOUT {
                panic!(
                    "session {}: timed out after {TIMEOUT:?} waiting for {what}; screen:\n{screen}",
                    self.name
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen contains `text`.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits until the screen contains `text` at least `n` times.
    pub fn wait_count(&self, text: &str, n: usize) -> String {
        self.wait_for(&format!("{n}× {text:?}"), |s| s.matches(text).count() >= n)
    }

    /// Presses Ctrl-Q twice and checks that the process exited with status 0
    /// and left the terminal as it found it (main screen, cursor shown).
    pub fn quit_and_check_restored(&self) -> String {
        self.keys(&["C-q"]);
        thread::sleep(Duration::from_millis(200));
        // The first press may already have quit (connection closed); the
        // second then reaches the dead pane or sh, which ignores it.
        let _ = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "C-q"])
            .output();
        let screen = self.wait_text("EXITED:");
        assert!(screen.contains("EXITED:0"), "exit status not 0:\n{screen}");
        assert_eq!(
            self.format("#{alternate_on}"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.format("#{cursor_flag}"), "1", "cursor left hidden");
        assert_eq!(
            self.format("#{mouse_any_flag}"),
            "0",
            "mouse capture left on"
        );
        assert!(
            !screen.contains("Transcript"),
            "TUI still drawn after exit:\n{screen}"
        );
        screen
    }
}

impl Tmux {
    /// Pid of the pane's first process (the `sh -c` around mailwire).
    pub fn pane_pid(&self) -> u32 {
        self.format("#{pane_pid}")
            .parse()
            .unwrap_or_else(|e| panic!("pane pid of {}: {e}", self.name))
    }

    /// Kills the session as closing a terminal window does: tmux sends
    /// SIGHUP to the processes in the pane.
    pub fn kill(&self) {
        let out = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output()
            .expect("run tmux kill-session");
        assert!(out.status.success(), "kill-session {} failed", self.name);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output();
    }
}

/// What to wait for in one protocol's default plan, as shown in the
/// transcript pane (`<-` plaintext, `<~` inside TLS).
pub struct Plan {
    /// The greeting's first line.
    pub greeting: &'static str,
    /// The end of the reply to the first capabilities request.
    pub caps_before: (&'static str, usize),
    /// The end of the reply to the capabilities request inside TLS.
    pub caps_after: (&'static str, usize),
    /// The end of the reply to QUIT/LOGOUT.
    pub quit: (&'static str, usize),
}

/// SMTP: EHLO, STARTTLS, EHLO, QUIT (the last line of a 250 reply has a space).
pub const SMTP: Plan = Plan {
    greeting: "S <- 220 ",
    caps_before: ("<- 250 ", 1),
    caps_after: ("<~ 250 ", 1),
    quit: ("S <~ 221", 1),
};

/// IMAP: CAPABILITY, STARTTLS, CAPABILITY, LOGOUT (tags added by mailwire).
pub const IMAP: Plan = Plan {
    greeting: "S <- * OK",
    caps_before: ("S <- a1 OK", 1),
    caps_after: ("S <~ a3 OK", 1),
    quit: ("S <~ a4 OK", 1),
};

/// POP3: CAPA, STLS, CAPA, QUIT (a CAPA reply ends with a lone dot).
pub const POP3: Plan = Plan {
    greeting: "S <- +OK",
    caps_before: ("┆ <- .", 1),
    caps_after: ("┆ <~ .", 1),
    quit: ("S <~ +OK", 2),
};

/// Steps through the default plan with F8, upgrades with Ctrl-T at the
/// STARTTLS step, checks the TLS pane (`TLS 1.3`, trusted), opens the leaf's
/// detail from the chain pane and checks its subject (`CN=<leaf_cn>`), then
/// finishes the plan and quits with Ctrl-Q twice.
pub fn starttls_flow(t: &Tmux, plan: &Plan, leaf_cn: &str) {
    t.wait_text(plan.greeting);
    t.wait_text("plan 1/4");

    t.keys(&["F8"]);
    t.wait_count(plan.caps_before.0, plan.caps_before.1);
    t.wait_text("plan 2/4");

    t.keys(&["C-t"]);
    // The chain pane may cut a long CN (with …); the detail shows it whole.
    let leaf_row = format!(">0 {}", &leaf_cn[..leaf_cn.len().min(13)]);
    // Wait for the whole frame: tmux may be caught between two writes of one.
    let screen = t.wait_for("TLS, chain and status filled", |s| {
        s.contains("TLS 1.3 established")
            && s.contains("plan 3/4")
            && s.contains("│ TLS 1.3 │")
            && s.contains(&leaf_row)
            && s.contains("cipher  ")
    });
    let pane = |label: &str| {
        screen
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} row in the TLS pane:\n{screen}"))
            .to_string()
    };
    assert!(pane("state  ").contains("TLS 1.3"), "{screen}");
    assert!(pane("verdict  ").contains("trusted"), "{screen}");
    assert!(!pane("verdict  ").contains("untrusted"), "{screen}");
    assert!(pane("cipher  ").contains("TLS13_"), "{screen}");

    t.keys(&["F8"]);
    t.wait_count(plan.caps_after.0, plan.caps_after.1);
    t.wait_text("plan 4/4");

    // Pane focus: Tab twice reaches the chain pane, Enter opens the leaf.
    t.keys(&["Escape"]);
    t.wait_text("i input");
    t.keys(&["Tab"]);
    t.wait_for("TLS pane focused", |s| s.contains("┏ TLS "));
    t.keys(&["Tab"]);
    t.wait_for("chain pane focused", |s| s.contains("┏ Chain"));
    t.keys(&["Enter"]);
    let subject_cn = format!("CN={leaf_cn}");
    let detail = t.wait_for("the leaf's detail", |s| {
        s.contains("Certificate 1 of 2 · leaf") && s.contains(&subject_cn)
    });
    let subject = detail
        .lines()
        .find(|l| l.contains("subject  "))
        .unwrap_or_else(|| panic!("no subject row:\n{detail}"));
    assert!(
        subject.contains(&subject_cn),
        "leaf subject: {subject}\n{detail}"
    );
    t.keys(&["Escape"]);
    t.wait_for("detail closed", |s| !s.contains("Certificate 1 of 2"));
    t.keys(&["i"]);
    t.wait_text("Enter send");

    t.keys(&["F8"]);
    t.wait_count(plan.quit.0, plan.quit.1);
    t.wait_text("plan 4/4 done");
    t.quit_and_check_restored();
}
