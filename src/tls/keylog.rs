//! `SSLKEYLOGFILE`: when the variable names a file, the TLS secrets of every
//! client session are appended to it in the NSS key log format, so Wireshark
//! can decrypt a capture of the session.
//!
//! ```text
//! CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random hex> <secret hex>     (TLS 1.3)
//! SERVER_HANDSHAKE_TRAFFIC_SECRET ...
//! CLIENT_TRAFFIC_SECRET_0 ...   SERVER_TRAFFIC_SECRET_0 ...   EXPORTER_SECRET ...
//! CLIENT_RANDOM <client_random hex> <master secret hex>                (TLS 1.2)
//! ```
//!
//! The file is opened once per process, for appending, created with mode
//! 0600 (the secrets decrypt the whole session); each line is one
//! `write_all`. Anyone who can read the file can read the sessions: the TUI
//! status bar and `check` say that keys are being logged.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The environment variable that turns key logging on.
pub const ENV: &str = "SSLKEYLOGFILE";

/// The file `SSLKEYLOGFILE` names, if set and not empty.
pub fn configured_path() -> Option<PathBuf> {
    std::env::var_os(ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Appends NSS key log lines to one file.
struct KeyLogFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl std::fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLogFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A failed write cannot be reported from inside the handshake; the
        // status line shows the file, and a missing line is visible in it.
        let _ = file.write_all(line.as_bytes());
    }
}

/// The key log of this process: opened on first use, `Ok(None)` when the
/// variable is unset, `Err` with the reason when the file cannot be opened.
fn shared() -> &'static Result<Option<Arc<KeyLogFile>>, String> {
    static LOG: OnceLock<Result<Option<Arc<KeyLogFile>>, String>> = OnceLock::new();
    LOG.get_or_init(|| {
        let Some(path) = configured_path() else {
            return Ok(None);
        };
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => Ok(Some(Arc::new(KeyLogFile {
                path,
                file: Mutex::new(file),
            }))),
            Err(e) => Err(format!(
                "cannot open {} ({ENV}) for TLS secrets: {e}",
                path.display()
            )),
        }
    })
}

/// The rustls key log to install in a client config, if logging is on.
pub(crate) fn key_log() -> Option<Arc<dyn rustls::KeyLog>> {
    match shared() {
        Ok(Some(log)) => Some(log.clone() as Arc<dyn rustls::KeyLog>),
        _ => None,
    }
}

/// Whether secrets are being logged: `Ok(Some(path))` when they are,
/// `Ok(None)` when `SSLKEYLOGFILE` is unset, `Err(reason)` when it is set
/// but the file cannot be opened. Opens the file on first call.
pub fn status() -> Result<Option<PathBuf>, String> {
    match shared() {
        Ok(Some(log)) => Ok(Some(log.path.clone())),
        Ok(None) => Ok(None),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::KeyLog as _;

    #[test]
    fn lines_are_nss_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.log");
        let log = KeyLogFile {
            path: path.clone(),
            file: Mutex::new(File::create(&path).unwrap()),
        };
        log.log("CLIENT_TRAFFIC_SECRET_0", &[0xab, 0x01], &[0xff]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "CLIENT_TRAFFIC_SECRET_0 ab01 ff\n"
        );
    }
}
