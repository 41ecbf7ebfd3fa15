//! Real Dovecot (IMAP, POP3) and Postfix (SMTP) on loopback, started by
//! `tests/realservers/start.sh` with the test PKI and its broken leaves.
//!
//! Every [`RealServers::start`] gets its own private directory under the
//! temp directory and its own block of 40 free ports, picked by start.sh
//! (see there for the layout), so `cargo test` runs beside other mail
//! servers and beside another copy of this harness. The ports are read back
//! from the directory's `realservers.env`; tests ask [`RealServers::port`].
//! On drop the servers are stopped and the directory removed.
//!
//! A server found running: with the default private directory there never is
//! one. `MAILWIRE_REALSERVERS_DIR=DIR` uses servers a developer started by
//! hand (`bash tests/realservers/start.sh DIR`): they are reused and left
//! running; if the harness had to start them there, it stops them again
//! (and keeps DIR). `MAILWIRE_REALSERVERS_PORT_BASE=N` fixes the block at
//! N..N+39 instead of a random free one. A run killed before its drop (e.g.
//! SIGKILL) leaves its servers behind; the next start stops them, as their
//! directory names an owner process that is gone.
//!
//! Without the packages (or without root) the tests print a loud SKIPPED
//! line and pass; with `MAILWIRE_REQUIRE_REALSERVERS=1` (set by `.ci/run`)
//! a skip is a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The certificate sets; each listens on its own ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// Leaf + intermediate, valid, for `mail.test.example` and 127.0.0.1/2.
    Good,
    /// The leaf expired in 2020.
    Expired,
    /// A self-signed leaf.
    SelfSigned,
    /// A leaf for `wrong.test.example` only.
    WrongHost,
    /// The good leaf without its intermediate.
    LeafOnly,
}

impl Set {
    fn key(self) -> &'static str {
        match self {
            Set::Good => "main",
            Set::Expired => "expired",
            Set::SelfSigned => "selfsigned",
            Set::WrongHost => "wronghost",
            Set::LeafOnly => "leafonly",
        }
    }
}

/// Prefix of the private directories; the stale-run sweep looks only at these.
pub const DIR_PREFIX: &str = "mailwire-realservers-";
/// Tries when another process takes a port between start.sh's pick and bind.
const START_ATTEMPTS: usize = 3;

/// Running real servers.
pub struct RealServers {
    pub dir: PathBuf,
    /// Root CA of the test PKI (PEM).
    pub ca: PathBuf,
    /// `REALSERVERS_*` lines of `realservers.env`.
    env: HashMap<String, String>,
    started_here: bool,
    /// True for the private directory this run created (removed on drop).
    private: bool,
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

/// True when the tests can start the servers: root and the packages.
/// Prints the SKIPPED line (or panics under MAILWIRE_REQUIRE_REALSERVERS=1)
/// when not.
pub fn available() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        skip("they need root to start Postfix and Dovecot");
        return false;
    }
    let installed = ["dovecot", "postfix"].iter().all(|bin| {
        ["/usr/sbin", "/usr/bin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(bin).exists())
    });
    if !installed {
        skip("dovecot/postfix are not installed");
        return false;
    }
    true
}

/// Process start time (clock ticks since boot, field 22 of /proc/PID/stat),
/// so a reused pid is not taken for the owner.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces or ")": the fields follow the last ")".
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19).map(str::to_string)
}

fn owner_line() -> String {
    let pid = std::process::id();
    format!("{pid} {}", start_time(pid).unwrap_or_default())
}

/// Stops the servers of private directories whose owning test process is
/// gone (killed before its drop ran) and removes those directories.
pub fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        // No owner file: being created right now, or not ours.
        let Ok(owner) = std::fs::read_to_string(dir.join("owner")) else {
            continue;
        };
        let mut words = owner.split_whitespace();
        let pid = words.next().and_then(|p| p.parse::<u32>().ok());
        let started = words.next().map(str::to_string);
        let alive = pid.is_some_and(|pid| start_time(pid).is_some() && start_time(pid) == started);
        if !alive {
            eprintln!(
                "realservers: stopping servers left by a test run that is gone: {}",
                dir.display()
            );
            let _ = Command::new("bash")
                .arg(scripts().join("stop.sh"))
                .arg(&dir)
                .arg("--purge")
                .output();
        }
    }
}

/// Parses `KEY=VALUE` lines.
fn read_env(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs start.sh on `dir`; exit code and combined output. `main_cert`:
/// chain and key files (PEM) the main set serves instead of the test PKI's
/// (start.sh's REALSERVERS_MAIN_CHAIN / REALSERVERS_MAIN_KEY).
fn run_start(dir: &Path, main_cert: Option<(&Path, &Path)>) -> (Option<i32>, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(scripts().join("start.sh"))
        .arg(dir)
        .env("REALSERVERS_NO_INSTALL", "1")
        .env_remove("REALSERVERS_PORT_BASE")
        .env_remove("REALSERVERS_MAIN_CHAIN")
        .env_remove("REALSERVERS_MAIN_KEY");
    if let Some((chain, key)) = main_cert {
        cmd.env("REALSERVERS_MAIN_CHAIN", chain)
            .env("REALSERVERS_MAIN_KEY", key);
    }
    if let Ok(base) = std::env::var("MAILWIRE_REALSERVERS_PORT_BASE") {
        cmd.env("REALSERVERS_PORT_BASE", base);
    }
    let out = cmd.output().expect("run start.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

impl RealServers {
    /// Starts the servers (or finds them running in `MAILWIRE_REALSERVERS_DIR`).
    /// `None` means skipped.
    pub fn start() -> Option<RealServers> {
        Self::start_with(None)
    }

    /// [`RealServers::start`] with the main set (SMTP, submission, IMAP,
    /// POP3 and their implicit-TLS ports) presenting `chain` (PEM, leaf
    /// first) with `key` instead of the test PKI's `mail.test.example`
    /// leaf: e.g. an MX certificate for domain mode. Always a private
    /// directory (MAILWIRE_REALSERVERS_DIR is not reused for this).
    pub fn start_with_main_cert(chain: &Path, key: &Path) -> Option<RealServers> {
        Self::start_with(Some((chain, key)))
    }

    fn start_with(main_cert: Option<(&Path, &Path)>) -> Option<RealServers> {
        if !available() {
            return None;
        }
        sweep_stale();
        let shared = std::env::var("MAILWIRE_REALSERVERS_DIR")
            .ok()
            .filter(|_| main_cert.is_none());
        let (dir, private) = match shared {
            Some(d) => (PathBuf::from(d), false),
            None => {
                // tempfile's name is unpredictable and the directory is
                // created 0700; the daemons drop privileges, so open it up.
                let dir = tempfile::Builder::new()
                    .prefix(DIR_PREFIX)
                    .tempdir()
                    .expect("create a private directory")
                    .keep();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod 755");
                std::fs::write(dir.join("owner"), owner_line()).expect("write owner");
                (dir, true)
            }
        };
        let running = dir.join("postfix/spool/pid/master.pid").exists();
        let mut servers = RealServers {
            ca: dir.join("pki/root.pem"),
            dir,
            env: HashMap::new(),
            started_here: !running,
            private,
        };
        for attempt in 1..=START_ATTEMPTS {
            let (code, text) = run_start(&servers.dir, main_cert);
            match code {
                Some(0) => {
                    eprintln!("{}", text.trim_end());
                    servers.env = read_env(&servers.dir.join("realservers.env"));
                    return Some(servers);
                }
                Some(3) => return skip("dovecot/postfix are not installed"),
                // Someone took a port between the pick and the bind: a new
                // random block next time (unless the base was fixed).
                Some(4)
                    if attempt < START_ATTEMPTS
                        && std::env::var("MAILWIRE_REALSERVERS_PORT_BASE").is_err() =>
                {
                    eprintln!("realservers: attempt {attempt}: {text}; trying another block");
                }
                _ => {
                    // Drop stops whatever did start and removes the directory.
                    drop(servers);
                    panic!("tests/realservers/start.sh failed:\n{text}");
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Path of the CA file as a string for command lines.
    pub fn ca(&self) -> &str {
        self.ca.to_str().expect("utf-8 path")
    }

    /// The port of `service` (`smtp`, `submission`, `smtps`, `imap`,
    /// `imaps`, `pop3`, `pop3s`) in certificate set `set`.
    pub fn port(&self, set: Set, service: &str) -> u16 {
        let key = format!("REALSERVERS_PORT_{}_{service}", set.key());
        self.env
            .get(&key)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{key} missing from realservers.env"))
    }

    /// First port of this run's block.
    pub fn base(&self) -> u16 {
        self.env["REALSERVERS_PORT_BASE"].parse().expect("base")
    }

    /// `scheme://127.0.0.1:PORT` for `service` in the good set.
    pub fn url(&self, service: &str) -> String {
        format!("{service}://127.0.0.1:{}", self.port(Set::Good, service))
    }
}

impl Drop for RealServers {
    fn drop(&mut self) {
        if !self.started_here {
            return;
        }
        let mut cmd = Command::new("bash");
        cmd.arg(scripts().join("stop.sh")).arg(&self.dir);
        if self.private {
            cmd.arg("--purge");
        }
        let _ = cmd.output();
    }
}
