//! Real Dovecot (IMAP, POP3) and Postfix (SMTP) on loopback, started by
//! `tests/realservers/start.sh` with the test PKI and its broken leaves.
//!
//! Without the packages (or without root) the tests print a loud SKIPPED
//! line and pass; with `MAILWIRE_REQUIRE_REALSERVERS=1` (set by `.ci/run`)
//! a skip is a failure. Servers this process started are stopped on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Ports of the good set; broken sets share the last three digits with
/// another leading pair: 11 expired, 12 self-signed, 13 wrong host, 14 leaf only.
pub const SMTP: u16 = 10025;
pub const SUBMISSION: u16 = 10587;
pub const SMTPS: u16 = 10465;
pub const IMAP: u16 = 10143;
pub const IMAPS: u16 = 10993;
pub const POP3: u16 = 10110;
pub const POP3S: u16 = 10995;

/// Running real servers.
pub struct RealServers {
    pub dir: PathBuf,
    /// Root CA of the test PKI (PEM).
    pub ca: PathBuf,
    started_here: bool,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realservers")
}

fn skip(why: &str) -> Option<RealServers> {
    if std::env::var("MAILWIRE_REQUIRE_REALSERVERS").is_ok_and(|v| v == "1") {
        panic!("real-server tests required (MAILWIRE_REQUIRE_REALSERVERS=1) but cannot run: {why}");
    }
    eprintln!(
        "\n*** SKIPPED: real Dovecot/Postfix tests: {why}. Install with `sudo bash tests/realservers/install.sh` to run them. ***\n"
    );
    None
}

impl RealServers {
    /// Starts the servers (or finds them running). `None` means skipped.
    pub fn start() -> Option<RealServers> {
        let dir = PathBuf::from(
            std::env::var("MAILWIRE_REALSERVERS_DIR")
                .unwrap_or_else(|_| "/tmp/mailwire-realservers".into()),
        );
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !is_root {
            return skip("they need root to start Postfix and Dovecot");
        }
        let running = dir.join("postfix/spool/pid/master.pid").exists();
        let out = Command::new("bash")
            .arg(scripts().join("start.sh"))
            .arg(&dir)
            .env("REALSERVERS_NO_INSTALL", "1")
            .output()
            .expect("run start.sh");
        match out.status.code() {
            Some(0) => {}
            Some(3) => return skip("dovecot/postfix are not installed"),
            _ => panic!(
                "tests/realservers/start.sh failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
        Some(RealServers {
            ca: dir.join("pki/root.pem"),
            dir,
            started_here: !running,
        })
    }

    /// Path of the CA file as a string for command lines.
    pub fn ca(&self) -> &str {
        self.ca.to_str().expect("utf-8 path")
    }
}

impl Drop for RealServers {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new("bash")
                .arg(scripts().join("stop.sh"))
                .arg(&self.dir)
                .output();
        }
    }
}
