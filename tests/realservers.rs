//! `mailwire check` against real Dovecot and Postfix: the good chain on
//! every protocol and port, then each broken leaf; then the TUI end to end
//! (tmux) against real Postfix SMTP and Dovecot IMAP. One test function so
//! the servers are started once and stopped at the end.

mod common;

use common::realservers::{self as rs, RealServers};
use common::record::{assert_round_trip, record_session};
use common::scan_compare::scan_matches_openssl;
use common::tmux::{self, Tmux};
use common::{json, mailwire};
use mailwire::session::SessionConfig;
use mailwire::target::Target;

fn check(url: &str, ca: &str) -> (i32, serde_json::Value) {
    let out = mailwire(&[
        "check",
        url,
        "--json",
        "--ca-file",
        ca,
        "--timeout",
        "10000",
    ]);
    (out.status.code().unwrap_or(-1), json(&out))
}

/// Records a STARTTLS session against real Dovecot (IMAP and POP3) and
/// loads it back: the same events as the engine emitted, byte for byte.
fn record_round_trip_against_dovecot(ca: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (scheme, port) in [("imap", rs::IMAP), ("pop3", rs::POP3)] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let mut config = SessionConfig::new(Target::parse(&url).unwrap());
        config.tls.ca_files.push(ca.into());
        let path = dir.path().join(format!("{scheme}.jsonl"));
        let events = runtime.block_on(record_session(config, &[], &path, false));
        assert!(events.len() > 5, "{url}: {events:?}");
        let rec = assert_round_trip(&path, &events);
        assert!(rec.last_chain().is_some(), "{url}: STARTTLS recorded");
    }
}

#[test]
fn check_against_real_dovecot_and_postfix() {
    let Some(servers) = RealServers::start() else {
        return;
    };
    let ca = servers.ca();
    record_round_trip_against_dovecot(ca);

    // Good chain: leaf + intermediate, trusted with the test root, TLS 1.3.
    let good = [
        ("smtp", rs::SMTP, "upgraded"),
        ("submission", rs::SUBMISSION, "upgraded"),
        ("smtps", rs::SMTPS, "implicit"),
        ("imap", rs::IMAP, "upgraded"),
        ("imaps", rs::IMAPS, "implicit"),
        ("pop3", rs::POP3, "upgraded"),
        ("pop3s", rs::POP3S, "implicit"),
    ];
    for (scheme, port, starttls) in good {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let (code, j) = check(&url, ca);
        assert_eq!(code, 0, "{url}: {j:#}");
        assert_eq!(j["tls"]["version"], "TLSv1.3", "{url}");
        assert_eq!(j["starttls"]["result"], starttls, "{url}");
        assert_eq!(j["verification"]["trusted"], true, "{url}");
        assert_eq!(j["verification"]["hostname_match"], true, "{url}");
        let chain = j["chain"].as_array().expect("chain");
        assert_eq!(chain.len(), 2, "{url}: leaf and intermediate");
        assert!(
            chain[0]["subject"]
                .as_str()
                .unwrap()
                .contains("CN=mail.test.example"),
            "{url}"
        );
        assert!(
            chain[1]["subject"]
                .as_str()
                .unwrap()
                .contains("Realservers Test Intermediate CA"),
            "{url}"
        );
        assert_eq!(chain[1]["is_ca"], true);
        assert!(
            !j["capabilities_after"].as_array().unwrap().is_empty(),
            "{url}: capabilities asked again"
        );
        if starttls == "upgraded" {
            assert_eq!(j["starttls"]["offered"], true, "{url}");
        }
    }

    // Postfix offers AUTH only after STARTTLS (smtpd_tls_auth_only).
    let (_, j) = check(&format!("smtp://127.0.0.1:{}", rs::SMTP), ca);
    let has_auth = |k: &str| {
        j[k].as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("AUTH"))
    };
    assert!(
        !has_auth("capabilities_before") && has_auth("capabilities_after"),
        "{j:#}"
    );

    // Broken leaves: exit 1, the right reason, and the chain still reported.
    let broken = [
        (11, "expired", 2),
        (12, "self_signed", 1),
        (13, "name_mismatch", 2),
        (14, "missing_intermediate", 1),
    ];
    for (prefix, error, certs) in broken {
        for (scheme, last) in [
            ("smtp", 25),
            ("smtps", 465),
            ("imap", 143),
            ("imaps", 993),
            ("pop3", 110),
            ("pop3s", 995),
        ] {
            let port = prefix * 1000 + last;
            let url = format!("{scheme}://127.0.0.1:{port}");
            let (code, j) = check(&url, ca);
            assert_eq!(code, 1, "{url}: {j:#}");
            assert_eq!(j["verification"]["trusted"], false, "{url}");
            assert_eq!(j["verification"]["error"], error, "{url}: {j:#}");
            assert_eq!(j["chain"].as_array().unwrap().len(), certs, "{url}");
            assert_eq!(
                j["verification"]["hostname_match"],
                error != "name_mismatch",
                "{url}"
            );
        }
    }

    // check --scan: TLS 1.2 and 1.3 with suites and groups, as openssl s_client probes find.
    for (scheme, port, proto) in [("smtp", rs::SMTP, "smtp"), ("imap", rs::IMAP, "imap")] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let scan = scan_matches_openssl(&url, port, ca, Some(proto));
        for v in scan["versions"].as_array().unwrap() {
            assert_eq!(v["accepted"], true, "{url}: {v:#}");
            assert!(!v["cipher_suites"].as_array().unwrap().is_empty(), "{url}");
            assert!(!v["groups"].as_array().unwrap().is_empty(), "{url}");
        }
    }

    tui_starttls_against_real_postfix(ca);
    tui_starttls_against_real_dovecot(ca);
}

/// The TUI on real Postfix: EHLO, Ctrl-T, EHLO, QUIT; TLS 1.3 and the leaf
/// `CN=mail.test.example` on screen; the terminal restored after Ctrl-Q.
fn tui_starttls_against_real_postfix(ca: &str) {
    if !tmux::available("TUI against real Postfix") {
        return;
    }
    let url = format!("smtp://127.0.0.1:{}", rs::SMTP);
    let t = Tmux::mailwire("postfix", &[url.as_str(), "--ca-file", ca]);
    tmux::starttls_flow(&t, &tmux::SMTP, "mail.test.example");
}

/// The TUI on real Dovecot: CAPABILITY, Ctrl-T, CAPABILITY, LOGOUT.
fn tui_starttls_against_real_dovecot(ca: &str) {
    if !tmux::available("TUI against real Dovecot") {
        return;
    }
    let url = format!("imap://127.0.0.1:{}", rs::IMAP);
    let t = Tmux::mailwire("dovecot", &[url.as_str(), "--ca-file", ca]);
    tmux::starttls_flow(&t, &tmux::IMAP, "mail.test.example");
}
