//! `mailwire replay FILE --against URL`: a recording of the built-in server
//! replayed against it shows no differences; against a server with another
//! banner or one refusing STARTTLS the differences are reported and the
//! exit status is non-zero.

mod common;

use std::collections::HashMap;

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

    let steps = replay_against(
        &rec,
        config(&url, &ca),
        &HashMap::new(),
        true,
        &mut mailwire::replay::Auto,
    )
    .await
    .unwrap();
    assert!(steps.len() >= 4, "{steps:?}");
    for step in &steps {
        assert!(!step.status_differs && !step.text_differs, "{step:?}");
    }
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
    let steps = replay_against(
        &rec,
        config(&other, &ca),
        &HashMap::new(),
        true,
        &mut mailwire::replay::Auto,
    )
    .await
    .unwrap();
    assert!(steps[0].status_differs, "{:?}", steps[0]);

    // STARTTLS refused: that step differs; the binary exits non-zero.
    let refusing =
        scripted_smtp("220 localhost ESMTP\r\n", "454 4.7.0 TLS not available\r\n").await;
    let steps = replay_against(
        &rec,
        config(&refusing, &ca),
        &HashMap::new(),
        true,
        &mut mailwire::replay::Auto,
    )
    .await
    .unwrap();
    let starttls = steps.iter().find(|s| s.label == "STARTTLS").unwrap();
    assert!(starttls.status_differs, "{starttls:?}");

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
    fn before_step(&mut self, line: &str) -> bool {
        self.seen.push(line.to_string());
        self.seen.len() <= self.steps_allowed
    }
    fn secret(&mut self, name: &str, _line: &str) -> Option<String> {
        self.asked.push(name.to_string());
        self.secret.clone()
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
    let steps = replay_against(&rec, config(&url, &ca), &HashMap::new(), true, &mut op)
        .await
        .unwrap();
    assert_eq!(op.asked, ["REDACTED1"]);
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
    let steps = replay_against(&rec, config(&url, &ca), &HashMap::new(), true, &mut op)
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
    let err = replay_against(&rec, config(&url, &ca), &HashMap::new(), true, &mut op)
        .await
        .unwrap_err();
    assert!(err.contains("--secret REDACTED1=VALUE"), "{err}");

    // The operator stops after two commands: nothing after them is sent.
    let mut op = ScriptedOperator {
        steps_allowed: 2,
        seen: vec![],
        secret: Some("demo-password".into()),
        asked: vec![],
    };
    let steps = replay_against(&rec, config(&url, &ca), &HashMap::new(), true, &mut op)
        .await
        .unwrap();
    assert_eq!(
        op.seen.len(),
        3,
        "asked before the third command, which was refused"
    );
    let live_commands = steps.iter().filter(|s| !s.live.is_empty()).count();
    assert!(
        live_commands <= 3,
        "greeting and two commands at most: {steps:?}"
    );
    assert!(op.asked.is_empty(), "PASS was never reached");
    server.shutdown().await;
}
