//! `mailwire check --scan` against `openssl s_server` configured like the
//! real-server harness's Postfix (TLS 1.2 and 1.3, Postfix's "medium"
//! cipher list, an EC P-256 leaf): every suite and group the scan lists
//! must be accepted or refused exactly as `openssl s_client` probes find.
//! tests/realservers.rs runs the same comparison against real Postfix and
//! Dovecot.

mod common;

use common::scan_compare::scan_matches_openssl;
use common::tls::{Pki, SServer};
use common::{json, mailwire};

const LEAF_EXT: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";

#[test]
fn scan_matches_openssl_probes_against_a_postfix_like_server() {
    let pki = Pki::new();
    pki.leaf("good", "localhost", "inter", LEAF_EXT, "sha256");
    let chain = pki.chain("c", &["good", "inter"]);
    let server = SServer::start(
        pki.dir.path(),
        &[
            "-cert",
            "good.pem",
            "-key",
            "good.key",
            "-cert_chain",
            chain.to_str().unwrap(),
            // Postfix's tls_medium_cipherlist; protocols as Debian's OpenSSL allows (>= TLS 1.2).
            "-cipher",
            "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH",
        ],
    );
    let url = format!("smtps://127.0.0.1:{}", server.port);
    let scan = scan_matches_openssl(&url, server.port, &pki.p("root.pem"), None);
    let versions = scan["versions"].as_array().unwrap();
    let v13 = &versions[0];
    assert_eq!(v13["version"], "TLSv1.3");
    assert_eq!(v13["accepted"], true);
    assert_eq!(v13["cipher_suites"].as_array().unwrap().len(), 3, "{v13:#}");
    let groups13 = v13["groups"].to_string();
    assert!(
        groups13.contains("X25519") && groups13.contains("secp256r1"),
        "{groups13}"
    );
    assert!(v13["groups_refused"].to_string().contains("X25519MLKEM768"));
    let v12 = &versions[1];
    assert_eq!(v12["accepted"], true);
    // An EC leaf: only the ECDSA suites.
    let suites12 = v12["cipher_suites"].as_array().unwrap();
    assert_eq!(suites12.len(), 3, "{v12:#}");
    assert!(
        suites12
            .iter()
            .all(|s| s.as_str().unwrap().contains("ECDSA"))
    );
    // TLS 1.0 and 1.1 are off in Debian's OpenSSL.
    for l in scan["legacy"].as_array().unwrap() {
        assert_eq!(l["accepted"], false, "{l}");
    }
    assert!(scan["probes"].as_u64().unwrap() >= 20);
    assert_eq!(scan["concurrency"], 4);
    assert!(scan["elapsed_ms"].as_u64().is_some());
}

#[test]
fn scan_of_a_legacy_only_server_says_so_and_counts_probes() {
    let pki = Pki::new();
    pki.leaf("good", "localhost", "inter", LEAF_EXT, "sha256");
    let server = SServer::start(
        pki.dir.path(),
        &[
            "-cert",
            "good.pem",
            "-key",
            "good.key",
            "-tls1",
            "-cipher",
            "ALL:@SECLEVEL=0",
        ],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let out = mailwire(&[
        "check",
        &url,
        "--scan",
        "--scan-concurrency",
        "2",
        "--json",
        "--ca-file",
        &pki.p("root.pem"),
    ]);
    let j = json(&out);
    let scan = &j["scan"];
    assert_eq!(scan["concurrency"], 2);
    for v in scan["versions"].as_array().unwrap() {
        assert_eq!(v["accepted"], false, "{v}");
    }
    let legacy = scan["legacy"].as_array().unwrap();
    assert_eq!(legacy[1]["version"], "TLSv1.0");
    assert_eq!(legacy[1]["accepted"], true);
    assert!(legacy[1]["cipher_suite"].as_str().is_some());
    let ids: Vec<&str> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["legacy_tls_only"]);
    let text = String::from_utf8_lossy(
        &mailwire(&["check", &url, "--scan", "--ca-file", &pki.p("root.pem")]).stdout,
    )
    .into_owned();
    assert!(text.contains("TLS scan: "), "{text}");
    assert!(text.contains("TLSv1.0  ACCEPTED"), "{text}");
    assert!(text.contains("[legacy_tls_only]"), "{text}");
}
