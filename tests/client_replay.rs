//! `mailwire replay FILE --against URL`: a recording of the built-in server
//! replayed against it shows no differences; against a server with another
//! banner or one refusing STARTTLS the differences are reported and the
//! exit status is non-zero. Against scripted servers that log every line
//! they receive (and whether it came inside TLS): no credential crosses an
//! untrusted chain without `--insecure`, nothing recorded in TLS crosses in
//! plaintext, DATA is not delivered again without `--allow-delivery`, and
//! plain `--secret user=/password=` values are encoded for the mechanism.

mod common;

use std::sync::{Arc, Mutex};

use mailwire::protocol::sasl;
use mailwire::replay::{Auto, Decision, ReplayOptions, SecretField, StepOutcome};
use mailwire::server::pki::{DemoPki, LeafKind};
use mailwire::tls::server::ServerTls;
use tokio::io::{AsyncRead, AsyncWrite};

use common::record::record_session;
use mailwire::replay::{Recording, replay_against};
use mailwire::server::{SERVER_HOST, ServeOptions, Server};
use mailwire::session::SessionConfig;
use mailwire::target::Target;
use test_case::test_case;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn config(url: &str, ca: &std::path::Path) -> SessionConfig {
    let mut config = SessionConfig::new(Target::parse(url).unwrap());
    config.tls.ca_files.push(ca.to_path_buf());
    config.tls.servername = Some(SERVER_HOST.to_string());
    config.ehlo = Some("client.test".into());
    config
}

/// A scripted SMTP server: `banner`, then 250 to everything except
/// STARTTLS, which gets `starttls_reply`; 221 to QUIT.
async fn scripted_smtp(banner: &'static str, starttls_reply: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(banner.as_bytes()).await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply = match line.to_ascii_uppercase().as_str() {
                        "STARTTLS" => starttls_reply,
                        "QUIT" => "221 2.0.0 bye\r\n",
                        _ => "250-localhost\r\n250 STARTTLS\r\n",
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("smtp://{addr}")
}

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
#[test_case("pop3" ; "pop3")]
#[tokio::test]
async fn replay_against_the_built_in_server_has_no_differences(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let url = server.listener(protocol).unwrap().url();
    let path = dir.path().join("r.jsonl");
    record_session(config(&url, &ca), &[], &path, true).await;
    let rec = Recording::load(&path).unwrap();

    let steps = replay_against(&rec, config(&url, &ca), &opts(), &mut Auto::default())
        .await
        .unwrap();
    assert!(steps.len() >= 4, "{steps:?}");
    for step in &steps {
        assert_eq!(step.outcome, StepOutcome::Same, "{step:?}");
    }
    // The handshake's verdict was compared too.
    assert!(steps.iter().any(|s| s.label == "TLS verdict"), "{steps:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn changed_banner_and_refused_starttls_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let url = server.listener("smtp").unwrap().url();
    let path = dir.path().join("r.jsonl");
    record_session(config(&url, &ca), &[], &path, true).await;
    let rec = Recording::load(&path).unwrap();

    // Another banner code: the greeting differs.
    let other = scripted_smtp("554 5.3.2 not today\r\n", "220 go ahead\r\n").await;
    let steps = replay_against(&rec, config(&other, &ca), &opts(), &mut Auto::default())
        .await
        .unwrap();
    assert!(steps[0].status_differs, "{:?}", steps[0]);

    // STARTTLS refused: that step differs; the binary exits non-zero.
    let refusing =
        scripted_smtp("220 localhost ESMTP\r\n", "454 4.7.0 TLS not available\r\n").await;
    let steps = replay_against(&rec, config(&refusing, &ca), &opts(), &mut Auto::default())
        .await
        .unwrap();
    let starttls = steps.iter().find(|s| s.label == "STARTTLS").unwrap();
    assert!(starttls.status_differs, "{starttls:?}");
    // What was recorded inside TLS is not sent over the plaintext session.
    let after = steps.iter().skip_while(|s| s.label != "STARTTLS").skip(1);
    for step in after.filter(|s| s.label != "TLS verdict") {
        assert!(
            matches!(
                step.outcome,
                StepOutcome::Refused | StepOutcome::NotSent | StepOutcome::Differs
            ),
            "{step:?}"
        );
        assert!(step.live.is_empty(), "{step:?}");
    }

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "replay",
            path.to_str().unwrap(),
            "--against",
            &refusing,
            "--auto",
        ])
        .args([
            "--ca-file",
            ca.to_str().unwrap(),
            "--servername",
            SERVER_HOST,
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[DIFF] STARTTLS"), "{stdout}");
    assert!(stdout.contains("454 4.7.0"), "{stdout}");
    server.shutdown().await;
}

/// Stands in for the operator at a terminal: answers steps from a budget
/// and types secrets it was given.
struct ScriptedOperator {
    steps_allowed: usize,
    seen: Vec<String>,
    secret: Option<String>,
    asked: Vec<String>,
}

impl mailwire::replay::Operator for ScriptedOperator {
    fn before_step(&mut self, line: &str) -> Decision {
        self.seen.push(line.to_string());
        if self.seen.len() <= self.steps_allowed {
            Decision::Send
        } else {
            Decision::Stop
        }
    }
    fn confirm_delivery(&mut self, _line: &str) -> bool {
        false
    }
    fn secret(&mut self, field: &SecretField, _line: &str) -> Option<String> {
        self.asked.push(field.name());
        self.secret.clone()
    }
}

fn opts() -> ReplayOptions {
    ReplayOptions {
        normalize: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn stepped_replay_sends_only_what_the_operator_confirms_and_asks_for_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let url = server.listener("pop3").unwrap().url();
    let path = dir.path().join("r.jsonl");
    // Redacted: PASS is stored as `PASS <redacted 13 bytes>`.
    record_session(
        config(&url, &ca),
        &["USER demo", "PASS demo-password", "STAT"],
        &path,
        true,
    )
    .await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("demo-password"));
    let rec = Recording::load(&path).unwrap();

    // Everything confirmed; the secret is typed at the prompt, not taken from the file.
    let mut op = ScriptedOperator {
        steps_allowed: usize::MAX,
        seen: vec![],
        secret: Some("demo-password".into()),
        asked: vec![],
    };
    let steps = replay_against(&rec, config(&url, &ca), &opts(), &mut op)
        .await
        .unwrap();
    assert_eq!(op.asked, ["password"]);
    assert!(
        op.seen.iter().any(|l| l.starts_with("PASS <redacted")),
        "{:?}",
        op.seen
    );
    for step in &steps {
        assert!(!step.status_differs, "{step:?}");
    }

    // A wrong secret makes PASS (and what follows) differ in status.
    let mut op = ScriptedOperator {
        steps_allowed: usize::MAX,
        seen: vec![],
        secret: Some("wrong".into()),
        asked: vec![],
    };
    let steps = replay_against(&rec, config(&url, &ca), &opts(), &mut op)
        .await
        .unwrap();
    assert!(steps.iter().any(|s| s.status_differs), "{steps:?}");

    // No secret at all: a clear error naming it.
    let mut op = ScriptedOperator {
        steps_allowed: usize::MAX,
        seen: vec![],
        secret: None,
        asked: vec![],
    };
    let err = replay_against(&rec, config(&url, &ca), &opts(), &mut op)
        .await
        .unwrap_err();
    assert!(err.contains("--secret password=VALUE"), "{err}");

    // The operator stops after two commands: nothing after them is sent.
    let mut op = ScriptedOperator {
        steps_allowed: 2,
        seen: vec![],
        secret: Some("demo-password".into()),
        asked: vec![],
    };
    let steps = replay_against(&rec, config(&url, &ca), &opts(), &mut op)
        .await
        .unwrap();
    assert_eq!(
        op.seen.len(),
        3,
        "asked before the third command, which was refused"
    );
    let live_commands = steps
        .iter()
        .filter(|s| !s.live.is_empty() && s.label != "TLS verdict")
        .count();
    assert!(
        live_commands <= 3,
        "greeting and two commands at most: {steps:?}"
    );
    // Stopped steps are "not sent", not differences.
    assert!(steps.iter().all(|s| !s.fails()), "{steps:?}");
    assert!(
        steps.iter().any(|s| s.outcome == StepOutcome::NotSent),
        "{steps:?}"
    );
    assert!(op.asked.is_empty(), "PASS was never reached");
    server.shutdown().await;
}

/// Every line a scripted server received, with whether it came inside TLS.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(bool, String)>>>);

impl Log {
    fn lines(&self) -> Vec<(bool, String)> {
        self.0.lock().unwrap().clone()
    }
    fn push(&self, tls: bool, line: &str) {
        self.0.lock().unwrap().push((tls, line.to_string()));
    }
    /// True when a received line starts with `prefix` (case-insensitive).
    fn has(&self, prefix: &str) -> bool {
        self.lines().iter().any(|(_, l)| {
            l.to_ascii_uppercase()
                .starts_with(&prefix.to_ascii_uppercase())
        })
    }
}

/// A scripted SMTP server with STARTTLS presenting the demo PKI's `leaf`,
/// AUTH PLAIN and LOGIN (any credentials accepted, decoded ones logged as
/// `user:NAME`/`password:SECRET`), DATA; it logs every line it receives.
/// Returns the URL, the root (PEM) and the log.
async fn scripted_tls_smtp(leaf: LeafKind) -> (String, String, Log) {
    let pki = DemoPki::generate(leaf).unwrap();
    let tls = ServerTls::new(&pki.chain_der(), pki.leaf_key_der()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Log::default();
    let server_log = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tls, log) = (tls.clone(), server_log.clone());
            tokio::spawn(async move {
                let mut plain = BufReader::new(stream);
                plain
                    .get_mut()
                    .write_all(b"220 localhost ESMTP scripted\r\n")
                    .await
                    .unwrap();
                if talk(&mut plain, false, &log).await {
                    let Ok(tls) = tls.accept(plain.into_inner()).await else {
                        return;
                    };
                    talk(&mut BufReader::new(tls), true, &log).await;
                }
            });
        }
    });
    (format!("smtp://{addr}"), pki.root_pem().to_string(), log)
}

/// One side of the scripted conversation; true when STARTTLS was accepted.
async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    tls: bool,
    log: &Log,
) -> bool {
    let mut login_step = 0;
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let text = line.trim_end().to_string();
        log.push(tls, &text);
        let upper = text.to_ascii_uppercase();
        let reply: String = if in_data {
            if text == "." {
                in_data = false;
                "250 2.0.0 queued\r\n".into()
            } else {
                continue;
            }
        } else if login_step > 0 {
            let decoded = sasl::decode_response(&text).unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            if login_step == 1 {
                log.push(tls, &format!("user:{decoded}"));
                login_step = 2;
                format!("334 {}\r\n", sasl::LOGIN_PASSWORD_CHALLENGE)
            } else {
                log.push(tls, &format!("password:{decoded}"));
                login_step = 0;
                "235 2.7.0 ok\r\n".into()
            }
        } else if upper.starts_with("EHLO") {
            if tls {
                "250-localhost\r\n250 AUTH PLAIN LOGIN\r\n".into()
            } else {
                "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n".into()
            }
        } else if upper == "STARTTLS" && !tls {
            stream
                .get_mut()
                .write_all(b"220 2.0.0 go ahead\r\n")
                .await
                .unwrap();
            return true;
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded = sasl::decode_response(&text[11..]).unwrap_or_default();
            if let Ok(creds) = sasl::decode_plain(&decoded) {
                log.push(
                    tls,
                    &format!("user:{}", String::from_utf8_lossy(&creds.authcid)),
                );
                log.push(
                    tls,
                    &format!("password:{}", String::from_utf8_lossy(&creds.passwd)),
                );
            }
            "235 2.7.0 ok\r\n".into()
        } else if upper == "AUTH LOGIN" {
            login_step = 1;
            format!("334 {}\r\n", sasl::LOGIN_USERNAME_CHALLENGE)
        } else if upper == "DATA" {
            in_data = true;
            "354 go on\r\n".into()
        } else if upper == "QUIT" {
            let _ = stream.get_mut().write_all(b"221 2.0.0 bye\r\n").await;
            return false;
        } else {
            "250 2.0.0 ok\r\n".into()
        };
        if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return false;
        }
    }
}

/// Writes `root` beside the recordings and returns the session config
/// trusting it.
fn trusting(url: &str, dir: &std::path::Path, name: &str, root: &str) -> SessionConfig {
    let ca = dir.join(name);
    std::fs::write(&ca, root).unwrap();
    config(url, &ca)
}

fn run_replay(args: &[&str]) -> std::process::Output {
    common::mailwire(&[&["replay"], args].concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_crosses_an_untrusted_chain_without_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let (good, good_root, _) = scripted_tls_smtp(LeafKind::Good).await;
    let path = dir.path().join("r.jsonl");
    record_session(
        trusting(&good, dir.path(), "good.pem", &good_root),
        &["AUTH PLAIN AGFsaWNlAHMzY3JldA=="],
        &path,
        true,
    )
    .await;
    assert!(!std::fs::read_to_string(&path).unwrap().contains("AGFsaWNl"));

    // Against a server whose leaf has expired: the verdict changes, the
    // AUTH line is refused, exit 1, and the server never saw AUTH.
    let (expired, expired_root, log) = scripted_tls_smtp(LeafKind::Expired).await;
    let ca = dir.path().join("expired.pem");
    std::fs::write(&ca, &expired_root).unwrap();
    let base = [
        path.to_str().unwrap(),
        "--against",
        &expired,
        "--auto",
        "--ca-file",
        ca.to_str().unwrap(),
        "--servername",
        SERVER_HOST,
        "--ehlo",
        "client.test",
        "--secret",
        "user=alice",
        "--secret",
        "password=s3cret",
    ];
    let out = run_replay(&base);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("TLS verdict: UNTRUSTED (expired)"),
        "{stdout}"
    );
    assert!(stdout.contains("[DIFF] TLS verdict"), "{stdout}");
    assert!(
        stdout.contains("[REFUSED] AUTH PLAIN <redacted"),
        "{stdout}"
    );
    assert!(stdout.contains("--insecure"), "{stdout}");
    assert!(stdout.contains("not sent"), "{stdout}");
    assert!(log.has("STARTTLS"), "{:?}", log.lines());
    assert!(!log.has("AUTH"), "no AUTH may arrive: {:?}", log.lines());

    // With --insecure the credentials are sent (and encoded from the plain values).
    let out = run_replay(&[&base[..], &["--insecure"]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(log.has("AUTH PLAIN"), "{stdout}\n{:?}", log.lines());
    assert!(
        log.lines().contains(&(true, "user:alice".into())),
        "{:?}",
        log.lines()
    );
    assert!(
        log.lines().contains(&(true, "password:s3cret".into())),
        "{:?}",
        log.lines()
    );
    // The verdict still differs from the recording's.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_begun_inside_tls_is_replayed_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (url, root, log) = scripted_tls_smtp(LeafKind::Good).await;
    let path = dir.path().join("r.jsonl");
    record_session(
        trusting(&url, dir.path(), "root.pem", &root),
        &["AUTH PLAIN AGFsaWNlAHMzY3JldA==", "NOOP"],
        &path,
        true,
    )
    .await;
    // As an older Ctrl-R after STARTTLS wrote it: the header, then only
    // what came inside TLS (no greeting, no STARTTLS, no handshake).
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let inside: Vec<&str> = lines
        .skip_while(|l| !(l.contains("\"kind\":\"sent\"") && l.contains("\"tls\":true")))
        .collect();
    assert!(inside[0].contains("EHLO"), "{inside:?}");
    let mid = dir.path().join("mid.jsonl");
    std::fs::write(&mid, format!("{header}\n{}\n", inside.join("\n"))).unwrap();
    let before = log.lines().len();

    let ca = dir.path().join("root.pem");
    let out = run_replay(&[
        mid.to_str().unwrap(),
        "--against",
        &url,
        "--auto",
        "--ca-file",
        ca.to_str().unwrap(),
        "--servername",
        SERVER_HOST,
        "--ehlo",
        "client.test",
        "--secret",
        "user=alice",
        "--secret",
        "password=s3cret",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("begins inside TLS"), "{stdout}");
    assert!(stdout.contains("TLS verdict: trusted"), "{stdout}");
    let replayed = &log.lines()[before..];
    // Plaintext: only the upgrade itself.
    let plain: Vec<&String> = replayed
        .iter()
        .filter(|(t, _)| !t)
        .map(|(_, l)| l)
        .collect();
    assert_eq!(plain, ["EHLO client.test", "STARTTLS"], "{replayed:?}");
    assert!(
        replayed.contains(&(true, "password:s3cret".into())),
        "{replayed:?}"
    );
    assert!(replayed.contains(&(true, "NOOP".into())), "{replayed:?}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_refuses_data_without_allow_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (url, root, log) = scripted_tls_smtp(LeafKind::Good).await;
    let path = dir.path().join("r.jsonl");
    record_session(
        trusting(&url, dir.path(), "root.pem", &root),
        &[
            "MAIL FROM:<a@example.com>",
            "RCPT TO:<b@example.com>",
            "DATA",
            "Subject: hi\r\n\r\nhello\r\n.",
        ],
        &path,
        true,
    )
    .await;
    let ca = dir.path().join("root.pem");
    let args = [
        path.to_str().unwrap(),
        "--against",
        &url,
        "--auto",
        "--ca-file",
        ca.to_str().unwrap(),
        "--servername",
        SERVER_HOST,
        "--ehlo",
        "client.test",
    ];
    let before = log.lines().len();
    let out = run_replay(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[REFUSED] DATA"), "{stdout}");
    assert!(stdout.contains("--allow-delivery"), "{stdout}");
    let replayed = &log.lines()[before..];
    assert!(
        replayed.iter().any(|(_, l)| l.starts_with("RCPT")),
        "{replayed:?}"
    );
    assert!(!replayed.iter().any(|(_, l)| l == "DATA"), "{replayed:?}");

    let before = log.lines().len();
    let out = run_replay(&[&args[..], &["--allow-delivery"]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let replayed = &log.lines()[before..];
    assert!(replayed.iter().any(|(_, l)| l == "DATA"), "{replayed:?}");
    assert!(replayed.iter().any(|(_, l)| l == "hello"), "{replayed:?}");
}

#[tokio::test]
async fn auth_login_secrets_are_given_in_plain_form_and_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let (url, root, log) = scripted_tls_smtp(LeafKind::Good).await;
    let path = dir.path().join("r.jsonl");
    record_session(
        trusting(&url, dir.path(), "root.pem", &root),
        &["AUTH LOGIN", "YWxpY2U=", "czNjcmV0"],
        &path,
        true,
    )
    .await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("YWxpY2U=") && !text.contains("czNjcmV0"),
        "{text}"
    );
    let rec = Recording::load(&path).unwrap();
    let before = log.lines().len();
    let options = ReplayOptions {
        normalize: true,
        secrets: [("user", "bob"), ("password", "pa ss")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        insecure: false,
    };
    let steps = replay_against(
        &rec,
        trusting(&url, dir.path(), "root.pem", &root),
        &options,
        &mut Auto::default(),
    )
    .await
    .unwrap();
    for step in &steps {
        assert!(!step.fails(), "{step:?}");
    }
    let replayed = &log.lines()[before..];
    assert!(
        replayed.contains(&(true, "user:bob".into())),
        "{replayed:?}"
    );
    assert!(
        replayed.contains(&(true, "password:pa ss".into())),
        "{replayed:?}"
    );
}

/// Stepped replay at a terminal: each result shows before the next key;
/// keys act without Enter; skipped and stopped steps are "not sent", not
/// differences (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepped_replay_in_tmux_shows_each_result_before_the_next_key() {
    use common::tmux::{Tmux, available};
    if !available("stepped client replay") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let url = server.listener("smtp").unwrap().url();
    let path = dir.path().join("r.jsonl");
    record_session(config(&url, &ca), &["NOOP"], &path, true).await;
    let t = Tmux::mailwire(
        "stepped-replay",
        &[
            "replay",
            path.to_str().unwrap(),
            "--against",
            &url,
            "--ca-file",
            ca.to_str().unwrap(),
            "--servername",
            SERVER_HOST,
            "--ehlo",
            "client.test",
        ],
    );
    let first = t.wait_text("next: EHLO client.test");
    assert!(first.contains("[same] greeting"), "{first}");
    assert!(!first.contains("[same] EHLO"), "{first}");
    t.keys(&["Enter"]);
    let s = t.wait_text("next: STARTTLS");
    assert!(s.contains("[same] EHLO client.test"), "{s}");
    assert!(s.contains("reply: 250 "), "the live reply is shown: {s}");
    t.keys(&["Space"]);
    let s = t.wait_count("next: EHLO client.test", 2);
    assert!(s.contains("[same] STARTTLS"), "{s}");
    assert!(s.contains("TLS verdict: trusted"), "{s}");
    t.keys(&["s"]);
    let s = t.wait_text("next: NOOP");
    assert!(s.contains("[not sent] EHLO client.test"), "{s}");
    t.keys(&["q"]);
    let s = t.wait_text("EXITED:");
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(s.contains("3 not sent"), "{s}");
    assert!(!s.contains("DIFF"), "{s}");
    server.shutdown().await;
}
