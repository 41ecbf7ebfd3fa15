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

    let steps = replay_against(&rec, config(&url, &ca), &HashMap::new(), true)
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
    let steps = replay_against(&rec, config(&other, &ca), &HashMap::new(), true)
        .await
        .unwrap();
    assert!(steps[0].status_differs, "{:?}", steps[0]);

    // STARTTLS refused: that step differs; the binary exits non-zero.
    let refusing =
        scripted_smtp("220 localhost ESMTP\r\n", "454 4.7.0 TLS not available\r\n").await;
    let steps = replay_against(&rec, config(&refusing, &ca), &HashMap::new(), true)
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
