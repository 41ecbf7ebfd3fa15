//! Recording live sessions against the built-in server: the file loads back
//! as exactly the events the engine emitted, passwords never reach it (nor
//! any export) unless `--no-redact`, and the CLI's `--record` and `export`.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::mailwire;
use common::record::{assert_round_trip, record_session};
use mailwire::replay::{Format, export};
use mailwire::server::{DEMO_PASSWORD, SERVER_HOST, ServeOptions, Server};
use mailwire::session::SessionConfig;
use mailwire::target::Target;
use test_case::test_case;

async fn demo_config(server: &Server, listener: &str, ca: &std::path::Path) -> SessionConfig {
    let url = server.listener(listener).unwrap().url();
    let mut config = SessionConfig::new(Target::parse(&url).unwrap());
    config.tls.ca_files.push(ca.to_path_buf());
    config.tls.servername = Some(SERVER_HOST.to_string());
    config.ehlo = Some("client.test".into());
    config
}

/// The demo login of each protocol, sent after STARTTLS.
fn login(protocol: &str) -> Vec<&'static str> {
    match protocol {
        // PLAIN: "\0demo\0demo-password" = AGRlbW8AZGVtby1wYXNzd29yZA==
        "smtp" => vec!["AUTH PLAIN AGRlbW8AZGVtby1wYXNzd29yZA=="],
        "imap" => vec!["LOGIN demo demo-password"],
        "pop3" => vec!["USER demo", "PASS demo-password"],
        _ => unreachable!(),
    }
}

fn secrets() -> Vec<String> {
    vec![
        DEMO_PASSWORD.to_string(),
        STANDARD.encode(format!("\0demo\0{DEMO_PASSWORD}")),
        STANDARD.encode(DEMO_PASSWORD),
    ]
}

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
#[test_case("pop3" ; "pop3")]
#[tokio::test]
async fn live_session_round_trips_and_masks_the_login(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let commands = login(protocol);

    // Redacted (default).
    let path = dir.path().join("redacted.jsonl");
    let config = demo_config(&server, protocol, &ca).await;
    let events = record_session(config, &commands, &path, true).await;
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.contains("<redacted "), "{file}");
    for secret in secrets() {
        assert!(!file.contains(&secret), "{secret:?} in the file:\n{file}");
    }
    // The file masks, so it differs from the engine's events only in the
    // masked bytes: compare the rest and check those lines kept their shape.
    let rec = mailwire::replay::Recording::load(&path).unwrap();
    assert_eq!(rec.len(), events.len());
    for (i, want) in events.iter().enumerate() {
        if !rec.is_redacted(i) {
            assert_eq!(
                common::record::recorded_form(&rec.event(i).unwrap()),
                common::record::recorded_form(want),
                "event {i}"
            );
        }
    }
    for format in [Format::Text, Format::Json, Format::Pem] {
        for redact in [true, false] {
            let out = export(&rec, format, redact);
            for secret in secrets() {
                assert!(!out.contains(&secret), "{secret:?} in {format:?}:\n{out}");
            }
        }
    }

    // --no-redact: byte for byte, secrets included.
    let path = dir.path().join("clear.jsonl");
    let config = demo_config(&server, protocol, &ca).await;
    let events = record_session(config, &commands, &path, false).await;
    let rec = assert_round_trip(&path, &events);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file.contains(DEMO_PASSWORD) || file.contains(&secrets()[1]),
        "{file}"
    );
    let clear = export(&rec, Format::Text, false);
    assert!(
        clear.contains(DEMO_PASSWORD) || clear.contains(&secrets()[1]),
        "{clear}"
    );
    server.shutdown().await;
}

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
#[test_case("pop3" ; "pop3")]
fn check_demo_record_writes_a_loadable_recording(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("check.jsonl");
    let out = mailwire(&[
        "check",
        "--demo",
        protocol,
        "--json",
        "--record",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rec = mailwire::replay::Recording::load(&path).unwrap();
    assert!(rec.warnings().is_empty());
    assert_eq!(rec.header().target.protocol.name(), protocol);
    assert!(rec.header().redacted);
    assert!(rec.last_chain().is_some(), "STARTTLS recorded");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    for format in ["text", "json", "pem"] {
        let out = mailwire(&["export", path.to_str().unwrap(), "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}: {out:?}");
        assert!(!out.stdout.is_empty(), "{format}");
    }
    let text = mailwire(&["export", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("*** TLS"), "{text}");
}

#[test]
fn export_pem_without_tls_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"mailwire_recording":1,"mailwire_version":"0.1.0","protocol":"smtp","target":{"scheme":"smtp","host":"mail.example.test","port":25},"started_at":"2026-11-29T07:42:51Z","options":{},"redacted":true}"#,
            "\n",
            r#"{"t_ms":1,"kind":"received","text":"220 hi\r\n"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = mailwire(&["export", path.to_str().unwrap(), "--format", "pem"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no TLS handshake"), "{err}");
}

/// Ctrl-R's switch: events while paused are not written (their notes still
/// come from the engine's dialogue), resuming appends to the same file.
#[test]
fn record_switch_pauses_and_resumes_into_the_same_file() {
    use mailwire::replay::{RecordStatus, RecordSwitch};
    use mailwire::session::{Direction, Entry, Event};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toggle.jsonl");
    let config = SessionConfig::new(Target::parse("smtp://mail.example.test").unwrap());
    // The engine's dialogue annotates every event, recorded or not, so the
    // note of a line answering a challenge seen while paused still says secret.
    let mut dialogue = mailwire::session::Dialogue::new(config.target.protocol);
    let mut line = |t: u64, dir, raw: &str| {
        let mut e = Event::Data(Entry {
            at: Duration::from_millis(t),
            direction: dir,
            raw: raw.as_bytes().to_vec(),
            tls: false,
            note: Default::default(),
        });
        dialogue.annotate(&mut e, &mailwire::protocol::Limits::default());
        e
    };
    let switch = RecordSwitch::recording_to(&config, true, &path).unwrap();
    assert_eq!(switch.status(), RecordStatus::On(path.clone()));
    switch.observe(&line(1, Direction::Server, "220 hi\r\n"));
    assert_eq!(switch.toggle().unwrap(), RecordStatus::Off);
    switch.observe(&line(2, Direction::Client, "AUTH LOGIN\r\n"));
    switch.observe(&line(3, Direction::Server, "334 VXNlcm5hbWU6\r\n"));
    assert_eq!(switch.toggle().unwrap(), RecordStatus::On(path.clone()));
    // The answer to the 334 seen while paused is still masked.
    switch.observe(&line(4, Direction::Client, "ZGVtbw==\r\n"));
    let rec = mailwire::replay::Recording::load(&path).unwrap();
    // 220, the pause mark, the resume mark, the masked answer.
    assert_eq!(rec.len(), 4);
    let ids: Vec<String> = rec
        .events()
        .filter_map(|e| match e {
            Event::Finding { finding, .. } => Some(finding.id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["recording_paused", "recording_resumed"]);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.contains(r#""kind":"recording_paused""#), "{file}");
    assert!(!file.contains("ZGVtbw=="), "{file}");
    assert!(!file.contains("AUTH LOGIN"), "{file}");
}

/// Ctrl-R pressed after STARTTLS: the file starts with the session so far
/// (connection, greeting, capabilities, STARTTLS, the handshake and its
/// chain), so `export --format pem` prints the chain; a pause and a resume
/// show in `export --format text`; the line sent while paused is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_r_after_starttls_writes_the_session_so_far() {
    use mailwire::replay::{RecordStatus, RecordSwitch};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, server.root_pem()).unwrap();
    let config = demo_config(&server, "smtp", &ca).await;
    let switch = RecordSwitch::new(&config, true).in_dir(dir.path().join("records"));
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let observer = switch.clone();
    let collector = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            observer.observe(&e);
        }
    });
    let mut session = mailwire::session::Session::connect(config, tx)
        .await
        .unwrap();
    session.greeting().await.unwrap();
    session.ask_capabilities().await.unwrap();
    session.starttls().await.unwrap();
    session.ask_capabilities().await.unwrap();
    // The events reach the switch through the collector task: wait for them.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let RecordStatus::On(path) = switch.toggle().unwrap() else {
        panic!("recording did not start");
    };
    assert_eq!(switch.toggle().unwrap(), RecordStatus::Off);
    session.command("NOOP paused").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(switch.toggle().unwrap(), RecordStatus::On(path.clone()));
    session.command("NOOP resumed").await.unwrap();
    session.quit().await;
    drop(session);
    collector.await.unwrap();
    assert_eq!(switch.path(), Some(path.clone()));

    let file = std::fs::read_to_string(&path).unwrap();
    for kind in ["connected", "tls"] {
        assert!(
            file.contains(&format!(r#""kind":"{kind}""#)),
            "{kind}: {file}"
        );
    }
    assert!(file.contains("STARTTLS"), "{file}");
    assert!(!file.contains("NOOP paused"), "{file}");
    let pem = mailwire(&["export", path.to_str().unwrap(), "--format", "pem"]);
    assert_eq!(pem.status.code(), Some(0), "{pem:?}");
    let pem = String::from_utf8_lossy(&pem.stdout);
    assert_eq!(
        pem.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{pem}"
    );
    let text = mailwire(&["export", path.to_str().unwrap(), "--format", "text"]);
    let text = String::from_utf8_lossy(&text.stdout);
    let paused = text.find("recording paused").expect(&text);
    let resumed = text.find("recording resumed").expect(&text);
    let greeting = text.find("220 ").expect(&text);
    assert!(greeting < paused && paused < resumed, "{text}");
    assert!(text.contains("NOOP resumed"), "{text}");
    server.shutdown().await;
}

/// `--record FILE` does not overwrite an existing file without `--force`.
#[test]
fn record_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.jsonl");
    std::fs::write(&path, "precious\n").unwrap();
    let config = SessionConfig::new(Target::parse("smtp://mail.example.test").unwrap());
    let err = mailwire::replay::RecordSwitch::recording_to_with(&config, true, &path, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    let out = mailwire(&[
        "check",
        "smtp://127.0.0.1:1",
        "--record",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    mailwire::replay::RecordSwitch::recording_to_with(&config, true, &path, true).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("{"));
}

/// Without --record, the first Ctrl-R names the file after protocol, host and time.
#[test]
fn default_recording_name() {
    let config = SessionConfig::new(Target::parse("imap://[::1]:10143").unwrap());
    let header = mailwire::replay::Header::new(&config, time::OffsetDateTime::now_utc());
    let name = mailwire::replay::default_file_name(&header);
    assert!(name.starts_with("mailwire-imap-"), "{name}");
    assert!(name.ends_with("Z.jsonl") && !name.contains(':'), "{name}");
}
