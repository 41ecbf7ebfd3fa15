//! `mailwire check --targets FILE` over many listeners of the built-in
//! server, in one process: JSON Lines (one object per target, the input
//! line named), the summary table, and the worst exit status. Also the
//! scripted-send steps against the built-in server (LOGIN chosen when
//! asked, `--quit-after`, a refused AUTH).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is how a test fails

mod common;

use mailwire::check::{self, Credentials, Script, ScriptStep};
use mailwire::protocol::sasl::Mechanism;
use mailwire::server::{DEMO_PASSWORD, DEMO_USER, ServeOptions, Server};
use mailwire::session::SessionConfig;
use mailwire::target::Target;

/// A targets file: `n` lines cycling over every listener, a comment and a
/// blank line, and `extra` lines at the end.
fn targets_file(server: &Server, n: usize, extra: &[&str]) -> tempfile::NamedTempFile {
    let urls: Vec<String> = server.listeners().iter().map(|l| l.url()).collect();
    let mut text = String::from("# the built-in server's listeners\n\n");
    for i in 0..n {
        text.push_str(&urls[i % urls.len()]);
        text.push('\n');
    }
    for l in extra {
        text.push_str(l);
        text.push('\n');
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_stream_json_lines_and_summarise_with_the_worst_exit_status() {
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.root_pem()).unwrap();
    let ca_path = ca.path().to_str().unwrap().to_string();

    // 1,000 targets, every one upgraded and trusted, in a few seconds:
    // exit 0, one JSON object per line, each naming its input line.
    let file = targets_file(&server, 1000, &[]);
    let path = file.path().to_str().unwrap().to_string();
    let (p, c) = (path.clone(), ca_path.clone());
    let out = tokio::task::spawn_blocking(move || {
        common::mailwire(&[
            "check",
            "--targets",
            &p,
            "--ca-file",
            &c,
            "--jobs",
            "50",
            "--json",
        ])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1000);
    let expected: Vec<String> = server.listeners().iter().map(|l| l.url()).collect();
    for v in &lines {
        assert_eq!(v["exit_code"], 0, "{v:#}");
        assert!(expected.contains(&v["input"].as_str().unwrap().to_string()));
        assert_eq!(v["verification"]["trusted"], true);
    }

    // Text: the summary table, one row per target in file order, and the
    // worst status: a line that is no target (2) beats a refused port (3)
    // beats an untrusted chain (1).
    let file = targets_file(&server, 20, &["smtp://127.0.0.1:1", "not a target"]);
    let p = file.path().to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        common::mailwire(&["check", "--targets", &p, "--ca-file", &ca_path])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(rows[0].starts_with("EXIT TARGET"), "{stdout}");
    assert_eq!(rows.len(), 1 + 22 + 1, "{stdout}");
    assert!(rows[21].starts_with("3    smtp://127.0.0.1:1"), "{stdout}");
    assert!(rows[22].starts_with("2    not a target"), "{stdout}");
    assert_eq!(
        rows[23],
        "22 targets: 20 ok, 0 TLS problem, 1 connection error, 0 send refused, 1 bad line"
    );

    // Without the built-in root every chain is untrusted: exit 1.
    let file = targets_file(&server, 7, &[]);
    let p = file.path().to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || common::mailwire(&["check", "--targets", &p]))
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.shutdown().await;
}

#[test]
fn worst_exit_orders_usage_send_connection_tls_ok() {
    use mailwire::check::worst_exit;
    assert_eq!(worst_exit(0, 1), 1);
    assert_eq!(worst_exit(3, 1), 3);
    assert_eq!(worst_exit(3, 4), 4);
    assert_eq!(worst_exit(4, 2), 2);
    assert_eq!(worst_exit(2, 0), 2);
}

async fn send(server: &Server, script: &Script) -> check::CheckReport {
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.root_pem()).unwrap();
    let url = server.listener("submission").unwrap().url();
    let mut config = SessionConfig::new(Target::parse(&url).unwrap());
    config.tls.ca_files = vec![ca.path().to_path_buf()];
    config.ehlo = Some("client.test".into());
    check::run_script(config, false, None, script).await
}

fn sent(report: &check::CheckReport) -> Vec<String> {
    report
        .steps
        .iter()
        .filter(|s| s.dir == mailwire::session::Direction::Client)
        .map(|s| s.text.clone())
        .collect()
}

#[tokio::test]
async fn scripted_send_steps_against_the_built_in_server() {
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let creds = |password: &str, mechanism| Credentials {
        mechanism,
        user: DEMO_USER.into(),
        password: password.into(),
    };

    // LOGIN as asked, stopping after RCPT: no DATA goes out.
    let script = Script {
        auth: Some(creds(DEMO_PASSWORD, Some(Mechanism::Login))),
        from: Some("a@client.test".into()),
        to: vec!["b@example.test".into()],
        quit_after: Some(ScriptStep::Rcpt),
        ..Script::default()
    };
    let r = send(&server, &script).await;
    assert_eq!(r.exit_code, check::EXIT_OK, "{}", r.to_text());
    let send_report = r.send.as_ref().unwrap();
    assert_eq!(send_report.completed, Some(ScriptStep::Rcpt));
    assert_eq!(send_report.mechanism.as_deref(), Some("LOGIN"));
    let lines = sent(&r);
    assert!(lines.contains(&"AUTH LOGIN".to_string()), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "DATA"), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("QUIT"));
    // Both SASL responses are masked in the report.
    let json = r.to_json();
    assert!(!json.contains(&base64_of(DEMO_PASSWORD)), "{json}");

    // A wrong password: refused at AUTH, exit 4, no MAIL FROM.
    let script = Script {
        auth: Some(creds("wrong", None)),
        to: vec!["b@example.test".into()],
        ..Script::default()
    };
    let r = send(&server, &script).await;
    assert_eq!(r.exit_code, check::EXIT_SEND, "{}", r.to_text());
    let refused = r.send.as_ref().unwrap().refused.as_ref().unwrap();
    assert_eq!(refused.step, ScriptStep::Auth);
    assert!(refused.reply.starts_with("535 5.7.8 "), "{}", refused.reply);
    assert!(r.findings.iter().any(|f| f.id.as_str() == "send_refused"));
    assert!(!sent(&r).iter().any(|l| l.starts_with("MAIL")));

    // --quit-after ehlo: no STARTTLS, and that is not a failure.
    let script = Script {
        quit_after: Some(ScriptStep::Ehlo),
        ..Script::default()
    };
    let r = send(&server, &script).await;
    assert_eq!(r.exit_code, check::EXIT_OK, "{}", r.to_text());
    assert_eq!(sent(&r), ["EHLO client.test", "QUIT"]);
    server.shutdown().await;
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
