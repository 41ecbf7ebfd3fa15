//! TLS and certificate diagnosis against scripted loopback servers, one
//! per class: every certificate parsed and reported (also with --strict),
//! every problem a finding, handshake failures explained, trust stores
//! named, client certificates, SSLKEYLOGFILE.
//!
//! Chains are served by an in-process rustls server (tests/common/tls.rs)
//! that presents them as given; what rustls cannot serve (TLS 1.0, DHE,
//! P-521, SNI alerts) by `openssl s_server`. Every check runs the binary:
//! `mailwire check imaps://127.0.0.1:PORT --json`.

mod common;

use common::tls::{ClientAuth, Key, Pki, SServer, TlsServer};
use common::{json, mailwire};
use serde_json::Value;

const LEAF_EXT: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";

/// Runs `check URL --json ARGS` and returns (exit code, report, text report).
fn check(url: &str, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec![
        "check",
        url,
        "--json",
        "--timeout",
        "5000",
        "--handshake-timeout",
        "5000",
    ];
    all.extend(args);
    let out = mailwire(&all);
    let code = out.status.code().unwrap_or(-1);
    let j = json(&out);
    let mut all = vec![
        "check",
        url,
        "--timeout",
        "5000",
        "--handshake-timeout",
        "5000",
    ];
    all.extend(args);
    let text = String::from_utf8_lossy(&mailwire(&all).stdout).into_owned();
    (code, j, text)
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The finding with this id in `list`, as JSON.
fn finding<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no {id} finding in {list:#}"))
}

/// No library Debug text anywhere in the report.
fn assert_no_debug(text: &str) {
    for needle in [
        "Context {",
        "Other(",
        "OtherError",
        "UnixTime(",
        "Ipv4Addr(",
        "UnsupportedCertVersion",
        "BadSignature",
        "AlertReceived",
        "InvalidCertificate(",
    ] {
        assert!(
            !text.contains(needle),
            "Debug output {needle:?} in:\n{text}"
        );
    }
}

fn good_leaf(pki: &Pki) {
    pki.leaf("good", "localhost", "inter", LEAF_EXT, "sha256");
}

#[test]
fn v1_leaf_is_reported_whole_with_and_without_strict() {
    let pki = Pki::new();
    // X.509 v1: no extensions at all, signed by the test intermediate.
    pki.leaf("v1", "localhost", "inter", "", "sha256");
    let chain = pki.chain("v1chain", &["v1", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("v1.key"), ClientAuth::None);
    for strict in [false, true] {
        let root = pki.p("root.pem");
        let mut args = vec!["--ca-file", root.as_str()];
        if strict {
            args.push("--strict");
        }
        let (code, j, text) = check(&server.url(), &args);
        assert_eq!(code, 1, "strict={strict}: {j:#}");
        assert_eq!(j["verification"]["error"], "unsupported_version", "{j:#}");
        assert_eq!(j["verification"]["trusted"], false);
        let chain = j["chain"].as_array().unwrap();
        assert_eq!(
            chain.len(),
            2,
            "strict={strict}: the whole chain is reported"
        );
        assert_eq!(chain[0]["version"], 1);
        assert!(
            chain[0]["subject"]
                .as_str()
                .unwrap()
                .contains("CN=localhost")
        );
        assert_eq!(chain[1]["version"], 3);
        let found = ids(&j["chain_findings"]);
        assert!(found.contains(&"cert_old_version".to_string()), "{found:?}");
        assert!(found.contains(&"name_mismatch".to_string()), "{found:?}");
        let session = ids(&j["findings"]);
        if strict {
            assert!(
                session.contains(&"handshake_failed".to_string()),
                "{session:?}"
            );
            assert_eq!(j["starttls"]["result"], "handshake_failed");
            assert_eq!(
                j["handshake_failure"]["cause"]["kind"],
                "certificate_rejected"
            );
        } else {
            assert!(
                session.contains(&"certificate_untrusted".to_string()),
                "{session:?}"
            );
            assert!(j.get("handshake_failure").is_none(), "{j:#}");
            assert_eq!(j["tls"]["version"], "TLSv1.3");
        }
        assert!(text.contains("certificate 0 (leaf, X.509 v1)"), "{text}");
        assert!(text.contains("[cert_old_version]"), "{text}");
        assert_no_debug(&text);
        assert_no_debug(&j.to_string());
    }
}

#[test]
fn expired_leaf_under_untrusted_root_reports_both() {
    let pki = Pki::new();
    pki.ca("oroot", "Other Root CA", None, Key::P256);
    pki.ca("oint", "Other Intermediate CA", Some("oroot"), Key::P256);
    pki.dated(
        "expired",
        "localhost",
        "oint",
        &["localhost", "127.0.0.1"],
        (-60, -5),
        false,
    );
    let chain = pki.chain("c", &["expired", "oint", "oroot"]);
    let server = TlsServer::imaps(&chain, &pki.path("expired.key"), ClientAuth::None);
    for strict in [false, true] {
        let root = pki.p("root.pem");
        let mut args = vec!["--ca-file", root.as_str()];
        if strict {
            args.push("--strict");
        }
        let (code, j, text) = check(&server.url(), &args);
        assert_eq!(code, 1);
        assert_eq!(j["verification"]["error"], "expired", "{j:#}");
        assert_eq!(j["chain"].as_array().unwrap().len(), 3, "strict={strict}");
        let f = &j["chain_findings"];
        let found = ids(f);
        assert!(found.contains(&"cert_expired".to_string()), "{found:?}");
        let untrusted = finding(f, "untrusted_root")["summary"].as_str().unwrap();
        assert!(untrusted.contains("Other Root CA"), "{untrusted}");
        assert!(
            untrusted.contains("--ca-file, then the OS store"),
            "{untrusted}"
        );
        assert!(text.contains("[untrusted_root]") && text.contains("[cert_expired]"));
        assert_no_debug(&text);
    }
}

#[test]
fn missing_intermediate_names_issuer_and_aia_url() {
    let pki = Pki::new();
    let ext = format!("{LEAF_EXT}authorityInfoAccess=caIssuers;URI:http://ca.test/inter.der\n");
    pki.leaf("aia", "localhost", "inter", &ext, "sha256");
    let server = TlsServer::imaps(&pki.path("aia.pem"), &pki.path("aia.key"), ClientAuth::None);
    let (code, j, _) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert_eq!(j["verification"]["error"], "missing_intermediate");
    let s = finding(&j["chain_findings"], "missing_intermediate")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("Test Intermediate CA"), "{s}");
    assert!(s.contains("http://ca.test/inter.der"), "{s}");
    let detail = j["verification"]["detail"].as_str().unwrap();
    assert!(detail.contains("http://ca.test/inter.der"), "{detail}");
}

#[test]
fn intermediate_sent_but_root_untrusted_names_root_and_store() {
    let pki = Pki::new();
    good_leaf(&pki);
    pki.ca("oroot", "Other Root CA", None, Key::P256);
    let chain = pki.chain("c", &["good", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("good.key"), ClientAuth::None);
    let other = pki.p("oroot.pem");
    let (code, j, _) = check(&server.url(), &["--ca-file", &other]);
    assert_eq!(code, 1);
    assert_eq!(j["verification"]["error"], "unknown_issuer");
    let s = finding(&j["chain_findings"], "untrusted_root")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        s.contains("Test Root CA") && s.contains("Test Intermediate CA"),
        "{s}"
    );
    assert!(s.contains("--ca-file, then the OS store"), "{s}");
    assert_eq!(
        j["verification"]["trust_store"]["consulted"],
        serde_json::json!(["ca_file", "os"])
    );
    // The intermediate was sent: no advice to add it.
    assert!(!ids(&j["chain_findings"]).contains(&"missing_intermediate".to_string()));
    // Only the given roots: the OS store is not consulted, and the report says so.
    let (code, j, text) = check(&server.url(), &["--ca-file", &other, "--no-system-roots"]);
    assert_eq!(code, 1);
    assert_eq!(
        j["verification"]["trust_store"]["consulted"],
        serde_json::json!(["ca_file"])
    );
    let s = finding(&j["chain_findings"], "untrusted_root")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("(--ca-file)"), "{s}");
    assert!(
        text.contains("trust store:   --ca-file: no anchor for this chain"),
        "{text}"
    );
}

#[test]
fn name_mismatch_lists_sans_and_explains_ip_and_cn() {
    let pki = Pki::new();
    pki.leaf(
        "dns",
        "mail.test",
        "inter",
        "subjectAltName=DNS:mail.test,DNS:imap.test\nextendedKeyUsage=serverAuth\n",
        "sha256",
    );
    let chain = pki.chain("c1", &["dns", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("dns.key"), ClientAuth::None);
    let (code, j, _) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert_eq!(j["verification"]["error"], "name_mismatch");
    assert_eq!(j["verification"]["hostname_match"], false);
    let s = finding(&j["chain_findings"], "name_mismatch")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("127.0.0.1 is an IP address"), "{s}");
    assert!(
        s.contains("DNS:mail.test") && s.contains("DNS:imap.test"),
        "{s}"
    );
    // The chain itself is fine: the store decided with its anchor.
    assert_eq!(j["verification"]["trust_store"]["chain_verified"], true);
    drop(server);

    pki.leaf(
        "nosan",
        "localhost",
        "inter",
        "extendedKeyUsage=serverAuth\n",
        "sha256",
    );
    let chain = pki.chain("c2", &["nosan", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("nosan.key"), ClientAuth::None);
    let (_, j, _) = check(
        &server.url(),
        &["--ca-file", &pki.p("root.pem"), "--servername", "localhost"],
    );
    let s = finding(&j["chain_findings"], "name_mismatch")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("no DNS or IP subjectAltName"), "{s}");
    assert!(s.contains("Common Name \"localhost\" is not used"), "{s}");
}

#[test]
fn expired_cross_signed_root_is_sent_not_needed() {
    let pki = Pki::new();
    good_leaf(&pki);
    pki.ca("oroot", "Old Root CA", None, Key::P256);
    // An expired cross-certificate for the test root, issued by an old root.
    pki.dated("cross", "Test Root CA", "oroot", &[], (-400, -10), true);
    let chain = pki.chain("c", &["good", "inter", "cross"]);
    let server = TlsServer::imaps(&chain, &pki.path("good.key"), ClientAuth::None);
    let (code, j, _) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(j["verification"]["trusted"], true);
    assert_eq!(j["verification"]["path"], serde_json::json!([0, 1]));
    let f = &j["chain_findings"];
    let n = finding(f, "not_needed");
    assert_eq!(n["severity"], "warning");
    assert!(
        n["summary"].as_str().unwrap().contains("certificate 2"),
        "{n}"
    );
    assert!(n["summary"].as_str().unwrap().contains("expired on"), "{n}");
    assert!(!ids(f).contains(&"cert_expired".to_string()), "{f:#}");
}

#[test]
fn weak_signature_and_weak_key_are_named() {
    let pki = Pki::new();
    pki.leaf("sha1", "localhost", "inter", LEAF_EXT, "sha1");
    let chain = pki.chain("c1", &["sha1", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("sha1.key"), ClientAuth::None);
    let (code, j, _) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert_eq!(j["verification"]["error"], "weak_signature", "{j:#}");
    let s = finding(&j["chain_findings"], "weak_signature")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("ecdsa-with-SHA1"), "{s}");
    drop(server);

    pki.ca(
        "weakint",
        "Weak Intermediate CA",
        Some("root"),
        Key::Rsa1024,
    );
    pki.leaf("wk", "localhost", "weakint", LEAF_EXT, "sha256");
    let chain = pki.chain("c2", &["wk", "weakint"]);
    let server = TlsServer::imaps(&chain, &pki.path("wk.key"), ClientAuth::None);
    let (code, j, _) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert_eq!(j["verification"]["error"], "weak_key", "{j:#}");
    let s = finding(&j["chain_findings"], "weak_key")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        s.contains("RSA 1024-bit key") && s.contains("Weak Intermediate CA"),
        "{s}"
    );
}

#[test]
fn report_names_the_trust_store_that_decided() {
    let pki = Pki::new();
    good_leaf(&pki);
    let chain = pki.chain("c", &["good", "inter"]);
    let server = TlsServer::imaps(&chain, &pki.path("good.key"), ClientAuth::None);
    let (code, j, text) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 0, "{j:#}");
    let store = &j["verification"]["trust_store"];
    assert_eq!(store["anchor"]["source"], "ca_file");
    assert!(
        store["anchor"]["subject"]
            .as_str()
            .unwrap()
            .contains("Test Root CA")
    );
    // The given root verified the chain: the OS store was not consulted.
    assert_eq!(store["consulted"], serde_json::json!(["ca_file"]));
    assert!(text.contains("trust store:   --ca-file (anchor"), "{text}");
    // --ca-path: a directory of PEM files (other files are skipped).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki.path("root.pem"), dir.path().join("root.pem")).unwrap();
    std::fs::write(dir.path().join("README"), "not a certificate\n").unwrap();
    let (code, j, _) = check(&server.url(), &["--ca-path", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(
        j["verification"]["trust_store"]["anchor"]["source"],
        "ca_path"
    );
    // Bad trust options are usage errors, before connecting.
    let out = mailwire(&["check", &server.url(), "--no-system-roots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--no-system-roots needs --ca-file or --ca-path")
    );
}

#[test]
fn client_certificate_request_is_reported_when_the_handshake_succeeds() {
    let pki = Pki::new();
    good_leaf(&pki);
    let chain = pki.chain("c", &["good", "inter"]);
    let server = TlsServer::imaps(
        &chain,
        &pki.path("good.key"),
        ClientAuth::Optional(pki.path("root.pem")),
    );
    let (code, j, text) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(j["tls"]["client_cert"]["sent"], false);
    let cas = j["tls"]["client_cert"]["acceptable_cas"].to_string();
    assert!(cas.contains("Test Root CA"), "{cas}");
    let f = finding(&j["findings"], "client_cert_requested");
    assert_eq!(f["severity"], "info");
    assert!(text.contains("[client_cert_requested]"), "{text}");
}

#[test]
fn client_certificate_required_without_and_with_cert() {
    let pki = Pki::new();
    good_leaf(&pki);
    pki.leaf(
        "client",
        "client.test",
        "inter",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        "sha256",
    );
    let client_chain = pki.chain("clientchain", &["client", "inter"]);
    let chain = pki.chain("c", &["good", "inter"]);
    let server = TlsServer::imaps(
        &chain,
        &pki.path("good.key"),
        ClientAuth::Required(pki.path("root.pem")),
    );
    let (code, j, text) = check(&server.url(), &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1, "{j:#}");
    let found = ids(&j["findings"]);
    assert!(
        found.contains(&"client_cert_required".to_string()),
        "{found:?}"
    );
    assert_eq!(j["handshake_failure"]["cause"]["number"], 116);
    assert_eq!(j["handshake_failure"]["after_handshake"], true);
    assert!(text.contains("116 certificate_required"), "{text}");
    assert!(!*server.client_cert_seen.lock().unwrap());
    let (code, j, _) = check(
        &server.url(),
        &[
            "--ca-file",
            &pki.p("root.pem"),
            "--cert",
            client_chain.to_str().unwrap(),
            "--key",
            &pki.p("client.key"),
        ],
    );
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(j["tls"]["client_cert"]["sent"], true);
    assert!(*server.client_cert_seen.lock().unwrap());
}

// ---- handshake failures against openssl s_server ----------------------------

#[test]
fn tls10_only_server_is_named_legacy_with_alert_70() {
    let pki = Pki::new();
    good_leaf(&pki);
    let chain = pki.chain("c", &["good", "inter"]);
    // Debian's OpenSSL needs security level 0 to speak TLS 1.0 at all.
    let server = SServer::start(
        pki.dir.path(),
        &[
            "-cert",
            "good.pem",
            "-key",
            "good.key",
            "-cert_chain",
            chain.to_str().unwrap(),
            "-tls1",
            "-cipher",
            "ALL:@SECLEVEL=0",
        ],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let (code, j, text) = check(&url, &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    let cause = &j["handshake_failure"]["cause"];
    assert_eq!(cause["kind"], "alert");
    assert_eq!(cause["number"], 70);
    assert_eq!(cause["name"], "protocol_version");
    let f = &j["findings"];
    let alert = finding(f, "tls_alert");
    // The exact alert record as received: type 21, level fatal, 70.
    let evidence = alert["evidence"].as_str().unwrap().as_bytes();
    assert_eq!(evidence[0], 0x15);
    assert_eq!(&evidence[evidence.len() - 2..], &[2, 70]);
    let legacy = finding(f, "legacy_tls_only")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        legacy.contains("TLSv1.0"),
        "the wide probe names the version: {legacy}"
    );
    assert!(text.contains("70 protocol_version"), "{text}");
    assert!(text.contains("only speaks legacy TLS"), "{text}");
    assert_eq!(
        j["handshake_failure"]["offered"]["versions"],
        serde_json::json!(["TLSv1.3", "TLSv1.2"])
    );
    assert_no_debug(&text);
}

#[test]
fn dhe_only_server_has_no_common_cipher() {
    let pki = Pki::new();
    pki.key("rsa", Key::Rsa2048);
    pki.leaf("rsa", "localhost", "inter", LEAF_EXT, "sha256");
    let server = SServer::start(
        pki.dir.path(),
        &[
            "-cert",
            "rsa.pem",
            "-key",
            "rsa.key",
            "-tls1_2",
            "-cipher",
            "DHE-RSA-AES256-GCM-SHA384",
        ],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let (code, j, _) = check(&url, &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert_eq!(j["handshake_failure"]["cause"]["number"], 40);
    let s = finding(&j["findings"], "no_common_cipher")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"), "{s}");
}

#[test]
fn p521_only_server_has_no_common_group() {
    let pki = Pki::new();
    good_leaf(&pki);
    let server = SServer::start(
        pki.dir.path(),
        &["-cert", "good.pem", "-key", "good.key", "-groups", "P-521"],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let (code, j, _) = check(&url, &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    let s = finding(&j["findings"], "no_common_group")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("secp521r1") && s.contains("X25519"), "{s}");
}

#[test]
fn unrecognised_sni_is_named() {
    let pki = Pki::new();
    good_leaf(&pki);
    let server = SServer::start(
        pki.dir.path(),
        &[
            "-cert",
            "good.pem",
            "-key",
            "good.key",
            "-cert2",
            "good.pem",
            "-key2",
            "good.key",
            "-servername",
            "mail.test",
            "-servername_fatal",
        ],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let (code, j, _) = check(
        &url,
        &[
            "--ca-file",
            &pki.p("root.pem"),
            "--servername",
            "other.test",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(j["handshake_failure"]["cause"]["number"], 112);
    let s = finding(&j["findings"], "sni_unrecognized")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains("other.test"), "{s}");
}

#[test]
fn openssl_server_requiring_a_client_certificate() {
    let pki = Pki::new();
    good_leaf(&pki);
    let server = SServer::start(
        pki.dir.path(),
        &["-cert", "good.pem", "-key", "good.key", "-Verify", "1"],
    );
    let url = format!("imaps://127.0.0.1:{}", server.port);
    let (code, j, _) = check(&url, &["--ca-file", &pki.p("root.pem")]);
    assert_eq!(code, 1);
    assert!(
        ids(&j["findings"]).contains(&"client_cert_required".to_string()),
        "{j:#}"
    );
}

// ---- SSLKEYLOGFILE -------------------------------------------------------------

#[test]
fn key_log_gets_one_client_traffic_secret_per_tls13_session() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keys.log");
    for (i, protocol) in ["smtp", "imap"].iter().enumerate() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
            .args(["check", "--demo", protocol])
            .env("SSLKEYLOGFILE", &log)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("[key_log]"), "{text}");
        let lines = std::fs::read_to_string(&log).unwrap();
        let traffic: Vec<&str> = lines
            .lines()
            .filter(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 "))
            .collect();
        assert_eq!(
            traffic.len(),
            i + 1,
            "one per TLS 1.3 session, appended:\n{lines}"
        );
        for l in lines.lines() {
            let fields: Vec<&str> = l.split(' ').collect();
            assert_eq!(fields.len(), 3, "{l}");
            assert_eq!(fields[1].len(), 64, "client random, hex: {l}");
            assert!(fields[2].bytes().all(|b| b.is_ascii_hexdigit()), "{l}");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

// ---- README ------------------------------------------------------------------

#[test]
fn readme_reading_the_verdict_lists_every_tls_id_and_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("### Reading the verdict").expect("section");
    let section = &readme[start..];
    let end = section[4..].find("\n## ").map_or(section.len(), |e| e + 4);
    let section = &section[..end];
    for code in mailwire::tls::VerdictCode::ALL {
        assert!(
            section.contains(&format!("| `{code}` |")),
            "verdict code {code} missing"
        );
    }
    // The ids of the TLS layer, the chain report and the scan (finding.rs,
    // handshake_failed to latest_tls_refused).
    let all = mailwire::finding::FindingId::ALL;
    let first = all
        .iter()
        .position(|id| *id == mailwire::finding::FindingId::HandshakeFailed)
        .unwrap();
    let last = all
        .iter()
        .position(|id| *id == mailwire::finding::FindingId::LatestTlsRefused)
        .unwrap();
    for id in &all[first..=last] {
        assert!(
            section.contains(&format!("| `{id}` |")),
            "finding id {id} missing"
        );
    }
}
