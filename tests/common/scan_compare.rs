//! Compares `mailwire check --scan` with what `openssl s_client` probes
//! accept: for every cipher suite and group the scan lists (accepted or
//! refused), one `s_client` connection offering only that suite (or group)
//! must succeed exactly when the scan says accepted.

use std::process::{Command, Stdio};

use serde_json::Value;

/// OpenSSL's name for a rustls cipher suite name.
fn openssl_suite(rustls: &str) -> (&'static str, String) {
    if let Some(rest) = rustls.strip_prefix("TLS13_") {
        return ("-tls1_3", format!("TLS_{rest}"));
    }
    let name = match rustls {
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-RSA-CHACHA20-POLY1305",
        other => panic!("no OpenSSL name known for {other}"),
    };
    ("-tls1_2", name.to_string())
}

/// OpenSSL's name for a group, `None` when this OpenSSL does not implement it.
fn openssl_group(rustls: &str) -> Option<&'static str> {
    match rustls {
        "X25519" => Some("X25519"),
        "secp256r1" => Some("P-256"),
        "secp384r1" => Some("P-384"),
        _ => None,
    }
}

/// One `openssl s_client` handshake; true when it completed.
fn s_client(port: u16, starttls: Option<&str>, args: &[&str]) -> bool {
    let mut cmd = Command::new("timeout");
    cmd.args(["10", "openssl", "s_client", "-brief"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"));
    if let Some(proto) = starttls {
        cmd.args(["-starttls", proto]);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client");
    let err = String::from_utf8_lossy(&out.stderr);
    // -brief prints the negotiated parameters on stderr once the handshake is done.
    err.contains("CONNECTION ESTABLISHED")
}

/// Runs the scan of `url` and checks it against `openssl s_client` probes;
/// returns the scan (JSON). `starttls` is s_client's `-starttls` protocol.
pub fn scan_matches_openssl(url: &str, port: u16, ca: &str, starttls: Option<&str>) -> Value {
    let out = super::mailwire(&[
        "check",
        url,
        "--scan",
        "--json",
        "--ca-file",
        ca,
        "--timeout",
        "2000",
    ]);
    let report = super::json(&out);
    let scan = report["scan"].clone();
    assert!(scan.is_object(), "no scan in {report:#}");
    assert_eq!(scan["failed_probes"], serde_json::json!([]), "{scan:#}");
    for v in scan["versions"].as_array().expect("versions") {
        let version = v["version"].as_str().unwrap();
        let flag = if version == "TLSv1.3" {
            "-tls1_3"
        } else {
            "-tls1_2"
        };
        assert_eq!(
            s_client(port, starttls, &[flag]),
            v["accepted"] == true,
            "{url}: {version} accepted? scan: {v:#}"
        );
        let lists = [("cipher_suites", true), ("cipher_suites_refused", false)];
        for (key, accepted) in lists {
            for suite in v[key].as_array().unwrap() {
                let suite = suite.as_str().unwrap();
                let (flag, name) = openssl_suite(suite);
                let select = if flag == "-tls1_3" {
                    "-ciphersuites"
                } else {
                    "-cipher"
                };
                assert_eq!(
                    s_client(port, starttls, &[flag, select, &name]),
                    accepted,
                    "{url}: {suite} ({name}): scan says accepted={accepted}"
                );
            }
        }
        for (key, accepted) in [("groups", true), ("groups_refused", false)] {
            for group in v[key].as_array().unwrap() {
                let group = group.as_str().unwrap();
                match openssl_group(group) {
                    Some(name) => assert_eq!(
                        s_client(port, starttls, &[flag, "-groups", name]),
                        accepted,
                        "{url}: {version} group {group}: scan says accepted={accepted}"
                    ),
                    // This OpenSSL (the servers' library too) lacks the group.
                    None => assert!(
                        !accepted,
                        "{url}: {group} cannot be accepted by OpenSSL 3.0"
                    ),
                }
            }
        }
    }
    scan
}
