//! Scripted loopback servers: a conversation written as `S:`/`C:` lines,
//! played by a TCP server on 127.0.0.1 (for `mailwire check`) and fed to a
//! sans-IO `Dialogue` (for its notes), so one script tests both.
//!
//! ```text
//! S: 220 mail.example.com ESMTP        server sends the line (CRLF added
//!                                      unless it ends in \n); escapes
//!                                      \r \n \t \\ \xNN
//! S: 250 ok => answers=EHLO outcome=positive phase=commands
//!                                      ... and the dialogue's note of it
//!                                      must say so (answers, tag,
//!                                      outcome, phase, completes)
//! S:                                   an empty line (CRLF)
//! X: \x16\x03\x03\x00\x02\x02\x28      raw bytes, nothing added (live only)
//! C: EHLO client.test                  the client must send this line
//!                                      (compared without case)
//! T: tls                               server side of a TLS handshake
//! F: 220-more                          the line again and again until the
//!                                      client hangs up (live only)
//! W: silent                            say nothing until the client
//!                                      hangs up (live only)
//! ```
//!
//! After the last step the server reads one more line (the client's
//! QUIT/LOGOUT, if any) and hangs up, or hangs up at once when the last
//! step is a `C:` line; every wait is bounded.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Longest the server waits for one client line or for the hang-up.
const WAIT: Duration = Duration::from_secs(10);
/// Most lines a flood writes before it gives up on the client hanging up.
const MAX_FLOOD_LINES: usize = 2_000_000;

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Bytes the server sends, and what the dialogue's note must say.
    Server {
        raw: Vec<u8>,
        expect: Vec<(String, String)>,
    },
    /// Raw bytes the server sends; not fed to the dialogue.
    Raw(Vec<u8>),
    /// The line the client must send (without its CRLF).
    Client(String),
    /// The server side of a TLS handshake.
    Tls,
    /// The line, repeated until the client hangs up.
    Flood(Vec<u8>),
    /// Silence until the client hangs up.
    Silent,
}

/// Decodes `\r \n \t \\ \xNN` escapes.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 4 <= b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Parses the step lines of a script (blank lines and `#` comments skipped).
pub fn parse(script: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in script.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, rest) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("no step kind in {line:?}"));
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let step = match kind {
            "S" => {
                let (bytes, expect) = match rest.split_once(" => ") {
                    Some((b, e)) => (b, e),
                    None if rest.starts_with("=> ") => ("", &rest[3..]),
                    None => (rest, ""),
                };
                let mut raw = unescape(bytes);
                if !raw.ends_with(b"\n") {
                    raw.extend_from_slice(b"\r\n");
                }
                let expect = expect
                    .split_whitespace()
                    .map(|kv| {
                        let (k, v) = kv
                            .split_once('=')
                            .unwrap_or_else(|| panic!("expectation {kv:?} is not key=value"));
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                Step::Server { raw, expect }
            }
            "X" => Step::Raw(unescape(rest)),
            "C" => Step::Client(rest.to_string()),
            "T" => Step::Tls,
            "F" => {
                let mut raw = unescape(rest);
                raw.extend_from_slice(b"\r\n");
                Step::Flood(raw)
            }
            "W" => Step::Silent,
            other => panic!("unknown step kind {other:?} in {line:?}"),
        };
        steps.push(step);
    }
    steps
}

/// A certificate for 127.0.0.1 made at test time, and its PEM to trust.
pub struct ScriptTls {
    acceptor: tokio_rustls::TlsAcceptor,
    /// The self-signed certificate, PEM: pass it as `--ca-file`.
    pub ca_pem: String,
}

impl ScriptTls {
    pub fn new() -> ScriptTls {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params.self_signed(&key).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        ScriptTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            ca_pem: cert.pem(),
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A scripted server for one connection on 127.0.0.1.
pub struct ScriptServer {
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl ScriptServer {
    /// Binds a free port and plays `steps` to the first connection.
    pub async fn start(steps: Vec<Step>, tls: Arc<ScriptTls>) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let accepted = tokio::time::timeout(WAIT, listener.accept()).await;
            let Ok(Ok((tcp, _))) = accepted else {
                return vec!["no client connected".to_string()];
            };
            play(Box::new(tcp), steps, &tls).await
        });
        ScriptServer { addr, task }
    }

    /// Waits for the script to end; returns what went against it.
    pub async fn finish(self) -> Vec<String> {
        match tokio::time::timeout(WAIT * 3, self.task).await {
            Ok(Ok(problems)) => problems,
            Ok(Err(e)) => vec![format!("script task failed: {e}")],
            Err(_) => vec!["script task did not end".to_string()],
        }
    }
}

async fn play(stream: Box<dyn Stream>, steps: Vec<Step>, tls: &ScriptTls) -> Vec<String> {
    let mut problems = Vec::new();
    let mut io: BufReader<Box<dyn Stream>> = BufReader::new(stream);
    let ends_on_client = matches!(steps.last(), Some(Step::Client(_)));
    // A script that plays the goodbye and its answer ends as a real server
    // does: it closes at once (RFC 5321 §4.1.1.10), without waiting.
    let plays_goodbye = steps.iter().rev().find_map(|s| match s {
        Step::Client(line) => Some(
            line.to_ascii_uppercase()
                .split_whitespace()
                .any(|w| w == "QUIT" || w == "LOGOUT"),
        ),
        _ => None,
    }) == Some(true);
    for step in steps {
        match step {
            Step::Server { raw, .. } | Step::Raw(raw) => {
                if io.get_mut().write_all(&raw).await.is_err() {
                    problems.push(format!(
                        "client gone before {:?}",
                        String::from_utf8_lossy(&raw)
                    ));
                    return problems;
                }
                let _ = io.get_mut().flush().await;
            }
            Step::Client(want) => match read_line(&mut io).await {
                Some(got) if got.eq_ignore_ascii_case(&want) => {}
                Some(got) => {
                    problems.push(format!("client sent {got:?}, the script wants {want:?}"));
                    return problems;
                }
                None => {
                    problems.push(format!("client hung up, the script wants {want:?}"));
                    return problems;
                }
            },
            Step::Tls => {
                if !io.buffer().is_empty() {
                    problems.push("client bytes pending before the handshake".into());
                }
                let plain = io.into_inner();
                match tokio::time::timeout(WAIT, tls.acceptor.accept(plain)).await {
                    Ok(Ok(s)) => io = BufReader::new(Box::new(s)),
                    _ => {
                        problems.push("TLS handshake failed".into());
                        return problems;
                    }
                }
            }
            Step::Flood(line) => {
                for _ in 0..MAX_FLOOD_LINES {
                    if io.get_mut().write_all(&line).await.is_err() {
                        return problems;
                    }
                }
                problems.push("the client never hung up on the flood".into());
                return problems;
            }
            Step::Silent => {
                let _ = tokio::time::timeout(WAIT, hang_up(&mut io)).await;
                return problems;
            }
        }
    }
    // The client's goodbye (QUIT/LOGOUT), unless the script ended on what
    // the client sent (a server that refused service hangs up at once).
    if !ends_on_client && !plays_goodbye {
        let _ = read_line(&mut io).await;
    }
    problems
}

async fn read_line(io: &mut BufReader<Box<dyn Stream>>) -> Option<String> {
    let mut line = Vec::new();
    match tokio::time::timeout(WAIT, io.read_until(b'\n', &mut line)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        _ => None,
    }
}

/// Reads and drops everything until EOF or an error.
async fn hang_up(io: &mut BufReader<Box<dyn Stream>>) {
    let mut sink = Vec::new();
    while let Ok(n) = io.read_until(b'\n', &mut sink).await {
        if n == 0 {
            return;
        }
        sink.clear();
    }
}

/// Runs `mailwire check --json` with `args` (no config file, no colour);
/// returns the parsed JSON, the exit status and stdout as received.
pub async fn check_json(args: &[&str]) -> (serde_json::Value, i32, Vec<u8>) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .arg("check")
        .arg("--json")
        .args(args)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", super::NO_CONFIG_HOME)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run mailwire check");
    let json = super::json(&out);
    (json, out.status.code().unwrap_or(-1), out.stdout)
}

/// `check --json URL` against a loopback server trusting only `ca_pem`,
/// with `--ehlo client.test`, `--timeout 3s` and `extra`; returns the JSON,
/// the exit status and how long the check took.
pub async fn check_trusting(
    url: &str,
    ca_pem: &str,
    extra: &[&str],
) -> (serde_json::Value, i32, std::time::Duration) {
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), ca_pem).unwrap();
    let mut argv = vec![url, "--ehlo", "client.test", "--timeout", "3s", "--ca-file"];
    argv.push(ca.path().to_str().unwrap());
    argv.push("--no-system-roots");
    argv.extend_from_slice(extra);
    let started = std::time::Instant::now();
    let (json, code, _) = check_json(&argv).await;
    (json, code, started.elapsed())
}

/// The ids of a `check --json` report's `findings`, without repeats, sorted.
pub fn finding_ids(json: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = json["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}
