//! `mailwire check` against the built-in server (`mailwire serve`), every
//! protocol with STARTTLS and implicit TLS, and each broken leaf it can
//! present: the same verdicts the real-server tests expect from Dovecot and
//! Postfix.

use mailwire::check::{self, CheckReport};
use mailwire::server::pki::LeafKind;
use mailwire::server::{ServeOptions, Server};
use mailwire::session::SessionConfig;
use mailwire::target::Target;
use test_case::test_case;

async fn check_listener(leaf: LeafKind, name: &str) -> CheckReport {
    check_listener_with(leaf, name, false).await
}

/// [`check_listener`], with `--strict` when `strict`.
async fn check_listener_with(leaf: LeafKind, name: &str, strict: bool) -> CheckReport {
    let server = Server::start(ServeOptions {
        leaf,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.root_pem()).unwrap();
    let listener = server.listener(name).unwrap();
    let mut config = SessionConfig::new(Target::parse(&listener.url()).unwrap());
    config.tls.ca_files = vec![ca.path().to_path_buf()];
    config.ehlo = Some("client.test".into());
    config.tls.strict = strict;
    let report = check::run(config, false).await;
    server.shutdown().await;
    report
}

#[test_case("smtp", "upgraded" ; "smtp starttls")]
#[test_case("submission", "upgraded" ; "submission starttls")]
#[test_case("smtps", "implicit" ; "smtps implicit")]
#[test_case("imap", "upgraded" ; "imap starttls")]
#[test_case("imaps", "implicit" ; "imaps implicit")]
#[test_case("pop3", "upgraded" ; "pop3 stls")]
#[test_case("pop3s", "implicit" ; "pop3s implicit")]
#[tokio::test]
async fn good_chain_is_trusted(name: &str, starttls: &str) {
    let r = check_listener(LeafKind::Good, name).await;
    assert_eq!(r.exit_code, check::EXIT_OK, "{}", r.to_text());
    assert_eq!(r.starttls.result.as_str(), starttls);
    let tls = r.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(
        tls.sni, None,
        "an IP address is never sent as SNI (RFC 6066 §3)"
    );
    let v = r.verification.as_ref().unwrap();
    assert!(v.trusted && v.hostname_match && v.error.is_none(), "{v:?}");
    assert_eq!(r.chain.len(), 2);
    assert_eq!(r.chain[0].subject_cn.as_deref(), Some("localhost"));
    assert!(r.chain[1].is_ca);
    assert!(r.chain[0].sans.contains(&"IP:127.0.0.1".to_string()));
    assert!(!r.capabilities_after.is_empty());
    // Capabilities before TLS exist only with STARTTLS; AUTH appears only after TLS.
    let auth = |caps: &[String]| {
        caps.iter()
            .any(|c| c.starts_with("AUTH ") || c.starts_with("AUTH=") || c.starts_with("SASL "))
    };
    assert!(!auth(&r.capabilities_before), "{:?}", r.capabilities_before);
    assert!(auth(&r.capabilities_after), "{:?}", r.capabilities_after);
    // Polite goodbye, inside TLS.
    let last_client = r
        .steps
        .iter()
        .rev()
        .find(|s| s.dir == mailwire::session::Direction::Client)
        .unwrap();
    assert!(
        last_client.tls
            && (last_client.text.ends_with("QUIT") || last_client.text.ends_with("LOGOUT"))
    );
}

#[test_case(LeafKind::Expired, "expired", 2, true ; "expired")]
#[test_case(LeafKind::SelfSigned, "self_signed", 1, true ; "self signed")]
#[test_case(LeafKind::WrongHost, "name_mismatch", 2, false ; "wrong host")]
#[test_case(LeafKind::NoIntermediate, "missing_intermediate", 1, true ; "no intermediate")]
#[tokio::test]
async fn broken_leaves_are_untrusted_with_the_reason(
    leaf: LeafKind,
    error: &str,
    certs: usize,
    name_ok: bool,
) {
    for name in ["smtp", "imaps", "pop3"] {
        let r = check_listener(leaf, name).await;
        assert_eq!(r.exit_code, check::EXIT_TLS, "{name}: {}", r.to_text());
        let v = r.verification.as_ref().unwrap();
        assert!(!v.trusted);
        assert_eq!(
            v.error.as_ref().map(|c| c.as_str()),
            Some(error),
            "{name}: {v:?}"
        );
        assert_eq!(v.hostname_match, name_ok);
        assert_eq!(r.chain.len(), certs, "{name}: the chain is still reported");
        assert!(
            r.findings.iter().any(
                |f| f.id == mailwire::finding::FindingId::CertificateUntrusted
                    && f.summary.contains("UNTRUSTED")
            ),
            "{:?}",
            r.findings
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["verification"]["trusted"], false);
        assert_eq!(json["verification"]["error"], error);
    }
}

/// i9: `--strict` aborts the handshake, yet the report keeps every
/// certificate the server sent and the classified verdict, in text and JSON.
#[test_case(LeafKind::Expired, "expired", 2 ; "expired")]
#[test_case(LeafKind::WrongHost, "name_mismatch", 2 ; "wrong host")]
#[test_case(LeafKind::SelfSigned, "self_signed", 1 ; "self signed")]
#[tokio::test]
async fn strict_rejection_keeps_the_chain_and_verdict(leaf: LeafKind, error: &str, certs: usize) {
    for name in ["smtp", "imaps"] {
        let r = check_listener_with(leaf, name, true).await;
        assert_eq!(r.exit_code, check::EXIT_TLS, "{name}: {}", r.to_text());
        assert_eq!(r.starttls.result.as_str(), "handshake_failed", "{name}");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["verification"]["trusted"], false, "{name}: {json:#}");
        assert_eq!(json["verification"]["error"], error, "{name}: {json:#}");
        let chain = json["chain"].as_array().unwrap();
        assert_eq!(chain.len(), certs, "{name}: the whole chain: {json:#}");
        assert_eq!(chain[0]["depth"], 0);
        assert!(
            chain[0]["sans"].as_array().is_some_and(|s| !s.is_empty()),
            "{name}: the leaf is parsed: {json:#}"
        );
        let text = r.to_text();
        assert!(text.contains(error), "{name}: {text}");
        assert!(!text.contains("Context {"), "{name}: no Debug text: {text}");
    }
}

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
#[test_case("pop3" ; "pop3")]
fn check_demo_runs_in_process(protocol: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["check", "--demo", protocol, "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["target"]["protocol"], protocol);
    assert_eq!(j["tls"]["sni"], "localhost");
    assert_eq!(j["verification"]["name_checked"], "localhost");
    assert_eq!(j["starttls"]["result"], "upgraded");
}
