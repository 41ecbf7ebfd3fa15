//! The built-in server driven into each failure class with `--quirk`, and
//! `mailwire check --json` against it: the finding ids, the exit status and
//! the STARTTLS result each misbehaviour must lead to, with no wait on a
//! server that already answered.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::script;
use mailwire::server::quirk::Quirk;
use mailwire::server::{ServeOptions, Server};
use test_case::test_case;

#[test_case(Quirk::EmptyLines, "smtp", &[], &["empty_line"], 0, "upgraded" ; "empty lines smtp")]
#[test_case(Quirk::EmptyLines, "imap", &[], &["empty_line"], 0, "upgraded" ; "empty lines imap")]
#[test_case(Quirk::EmptyLines, "pop3", &[], &["empty_line"], 0, "upgraded" ; "empty lines pop3")]
#[test_case(Quirk::Greeting421, "smtp", &[], &["service_refused"], 3, "not_attempted" ; "greeting 421 smtp")]
#[test_case(Quirk::Greeting421, "imap", &[], &["service_refused"], 3, "not_attempted" ; "greeting 421 imap")]
#[test_case(Quirk::Greeting421, "pop3", &[], &["service_refused"], 3, "not_attempted" ; "greeting 421 pop3")]
#[test_case(Quirk::Greeting554, "submission", &[], &["service_refused"], 3, "not_attempted" ; "greeting 554 submission")]
#[test_case(Quirk::Greeting421, "imaps", &[], &["service_refused"], 3, "not_attempted" ; "greeting 421 imaps")]
#[test_case(Quirk::ImapBye, "imap", &[], &["service_closing"], 3, "not_attempted" ; "imap bye imap")]
#[test_case(Quirk::ImapBye, "smtp", &[], &["service_closing"], 3, "not_attempted" ; "imap bye smtp 421")]
#[test_case(Quirk::Ehlo502, "smtp", &[], &["no_esmtp"], 1, "not_offered" ; "ehlo 502")]
#[test_case(Quirk::CapaErr, "pop3", &[], &["capa_unsupported"], 0, "upgraded" ; "capa err")]
#[test_case(Quirk::TlsOnPlaintext, "smtp", &[], &["implicit_tls_port"], 3, "not_attempted" ; "tls on plaintext smtp")]
#[test_case(Quirk::TlsOnPlaintext, "imap", &[], &["implicit_tls_port"], 3, "not_attempted" ; "tls on plaintext imap")]
#[test_case(Quirk::TlsOnPlaintext, "pop3", &[], &["implicit_tls_port"], 3, "not_attempted" ; "tls on plaintext pop3")]
#[test_case(Quirk::SshBanner, "smtp", &[], &["wrong_service"], 3, "not_attempted" ; "ssh banner smtp")]
#[test_case(Quirk::SshBanner, "imap", &[], &["wrong_service"], 3, "not_attempted" ; "ssh banner imap")]
#[test_case(Quirk::HttpBanner, "pop3", &[], &["wrong_service"], 3, "not_attempted" ; "http banner pop3")]
#[test_case(Quirk::SmtpReplyToImap, "imap", &[], &["wrong_protocol"], 3, "not_attempted" ; "smtp on imap")]
#[test_case(Quirk::SmtpReplyToImap, "pop3", &[], &["wrong_protocol"], 3, "not_attempted" ; "smtp on pop3")]
#[test_case(Quirk::NoStarttls, "smtp", &[], &["starttls_not_advertised"], 1, "not_offered" ; "no starttls smtp")]
#[test_case(Quirk::NoStarttls, "imap", &[], &["starttls_not_advertised"], 1, "not_offered" ; "no starttls imap")]
#[test_case(Quirk::NoStarttls, "pop3", &[], &["starttls_not_advertised"], 1, "not_offered" ; "no starttls pop3")]
#[test_case(Quirk::NoStarttls, "smtp", &["--starttls"], &["starttls_not_advertised", "starttls_refused"], 1, "refused" ; "no starttls smtp forced")]
#[test_case(Quirk::NoStarttls, "pop3", &["--starttls"], &["starttls_not_advertised", "starttls_refused"], 1, "refused" ; "no starttls pop3 forced")]
#[test_case(Quirk::ControlByteInEhlo, "smtp", &[], &["control_bytes"], 0, "upgraded" ; "control byte smtp")]
#[test_case(Quirk::ControlByteInEhlo, "pop3", &[], &[], 0, "upgraded" ; "control byte pop3 keeps stls")]
#[test_case(Quirk::ControlByteInEhlo, "imap", &[], &[], 0, "upgraded" ; "control byte imap keeps starttls")]
#[test_case(Quirk::StarttlsInjection, "smtp", &[], &["starttls_injection"], 1, "upgraded" ; "injection smtp")]
#[test_case(Quirk::StarttlsInjection, "imap", &[], &["starttls_injection"], 1, "upgraded" ; "injection imap")]
#[test_case(Quirk::StarttlsInjection, "pop3", &[], &["starttls_injection"], 1, "upgraded" ; "injection pop3")]
#[test_case(Quirk::EndlessContinuation, "smtp", &[], &["reply_too_large"], 3, "not_attempted" ; "endless smtp")]
#[test_case(Quirk::EndlessContinuation, "imap", &[], &["reply_too_large"], 3, "not_attempted" ; "endless imap")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirk_leads_to_its_finding(
    quirk: Quirk,
    listener: &str,
    args: &[&str],
    findings: &[&str],
    exit: i32,
    starttls: &str,
) {
    let server = Server::start(ServeOptions {
        quirks: vec![quirk],
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let url = server.listener(listener).unwrap().url();
    let (json, code, elapsed) = script::check_trusting(&url, server.root_pem(), args).await;
    server.shutdown().await;
    assert_eq!(script::finding_ids(&json), findings, "{json:#}");
    assert_eq!(code, exit, "{json:#}");
    assert_eq!(json["starttls"]["result"], starttls, "{json:#}");
    assert!(
        elapsed < Duration::from_secs(3),
        "a server that answered was waited out: {elapsed:?}"
    );
}

/// `mailwire serve --quirk NAME` (repeatable) reaches the listeners.
#[test]
fn serve_cli_takes_quirks() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["serve", "--quirk", "ehlo-502", "--quirk", "empty-lines"])
        .env("XDG_CONFIG_HOME", common::NO_CONFIG_HOME)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().next().unwrap().to_string();
    assert!(url.starts_with("smtp://127.0.0.1:"), "{first}");
    let out = common::mailwire(&[
        "check",
        "--json",
        &url,
        "--ehlo",
        "client.test",
        "--timeout",
        "3s",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let json = common::json(&out);
    assert_eq!(
        script::finding_ids(&json),
        ["empty_line", "no_esmtp"],
        "{json:#}"
    );
    assert_eq!(out.status.code(), Some(1));
    // An unknown name is a usage error that lists the names.
    let out = common::mailwire(&["serve", "--quirk", "no-such-quirk"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("greeting-421"));
}

/// Every quirk has a distinct `--quirk` name.
#[test]
fn quirk_names_are_distinct() {
    use clap::ValueEnum;
    let names: std::collections::BTreeSet<String> =
        Quirk::value_variants().iter().map(|q| q.name()).collect();
    assert_eq!(names.len(), Quirk::value_variants().len());
    assert!(
        names.contains("greeting-421") && names.contains("ehlo-502"),
        "{names:?}"
    );
}
