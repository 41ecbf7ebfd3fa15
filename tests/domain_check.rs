//! `mailwire check DOMAIN` and scripted sends, end to end through the
//! binary against real components: NSD (signed zones, the `test.` key as
//! trust anchor), nginx serving the MTA-STS policies, and real Postfix as
//! the MX host (its main set presenting an MX certificate of the test PKI),
//! delivering to real Dovecot over LMTP.
//!
//! ```text
//! example.test  signed   MX 10 mx1 -> Postfix (cert mx1.example.test), TLSA 3 1 1 of it,
//!                        MTA-STS enforce (mx1.example.test), TLS-RPT mailto
//! broken.test   signed   MX 10 mx (cert is for mx1.example.test: name mismatch,
//!                        TLSA matches nothing), MX 20 rogue (not in the policy),
//!                        MX 30 mx.insecure.test. (TLSA in an unsigned zone)
//! insecure.test unsigned mx with a TLSA record DANE senders ignore
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is how a test fails

mod common;
#[path = "common/domain.rs"]
mod harness;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::realservers::{RealServers, Set};
use harness::{Answer as Serve, Dns, Https, Signing, Site, TestPki, Zone};

struct World {
    dns: Dns,
    https: Https,
    postfix: RealServers,
    dir: tempfile::TempDir,
}

fn world() -> Option<World> {
    let pki = TestPki::new();
    let mx = pki.leaf(&["mx1.example.test"], false);
    let site_cert = pki.leaf(&["mta-sts.example.test", "mta-sts.broken.test"], false);
    let dir = tempfile::Builder::new()
        .prefix("mailwire-domain-check-")
        .tempdir()
        .unwrap();
    let chain = dir.path().join("mx.chain.pem");
    let key = dir.path().join("mx.key");
    std::fs::write(&chain, &mx.chain_pem).unwrap();
    std::fs::write(&key, &mx.key_pem).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pki.root_pem).unwrap();
    let spki = mx.spki_sha256();
    let zones = [
        Zone {
            name: "example.test".into(),
            signing: Signing::Signed,
            records: format!(
                "@ MX 10 mx1\nmx1 A 127.0.0.1\nmta-sts A 127.0.0.1\n\
                 _mta-sts TXT \"v=STSv1; id=20261201T000000;\"\n\
                 _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.test\"\n\
                 _25._tcp.mx1 TLSA 3 1 1 {spki}\n"
            ),
        },
        Zone {
            name: "broken.test".into(),
            signing: Signing::Signed,
            records: format!(
                "@ MX 10 mx\n@ MX 20 rogue\n@ MX 30 mx.insecure.test.\n\
                 mx A 127.0.0.1\nrogue A 127.0.0.1\nmta-sts A 127.0.0.1\n\
                 _mta-sts TXT \"v=STSv1; id=1;\"\n\
                 _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@broken.test\"\n\
                 _25._tcp.mx TLSA 3 1 1 {}\n",
                "ab".repeat(32)
            ),
        },
        Zone {
            name: "insecure.test".into(),
            signing: Signing::Unsigned,
            records: format!("mx A 127.0.0.1\n_25._tcp.mx TLSA 3 1 1 {spki}\n"),
        },
    ];
    let dns = Dns::start(&zones)?;
    let text = |body: &str| Serve::Body {
        content_type: "text/plain",
        body: body.into(),
    };
    let site = |host: &str, answer: Serve| Site {
        host: host.into(),
        answer,
        cert_pem: site_cert.chain_pem.clone(),
        key_pem: site_cert.key_pem.clone(),
    };
    let https = Https::start(&[
        site(
            "mta-sts.example.test",
            text("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n"),
        ),
        site(
            "mta-sts.broken.test",
            text(
                "version: STSv1\nmode: enforce\nmx: mx.broken.test\nmx: mx.insecure.test\nmax_age: 604800\n",
            ),
        ),
    ])?;
    let postfix = RealServers::start_with_main_cert(&chain, &key)?;
    Some(World {
        dns,
        https,
        postfix,
        dir,
    })
}

impl World {
    /// `mailwire check DOMAIN --json` with the test DNS, trust anchor,
    /// policy port and Postfix's SMTP port.
    fn check(&self, domain: &str, json: bool) -> std::process::Output {
        let anchor = self.dir.path().join("anchor.key");
        std::fs::write(&anchor, &self.dns.trust_anchor).unwrap();
        let ca = self.dir.path().join("ca.pem");
        let dns = self.dns.addr.to_string();
        let mx_port = self.postfix.port(Set::Good, "smtp").to_string();
        let sts_port = self.https.port.to_string();
        let mut args = vec![
            "check",
            domain,
            "--dns",
            &dns,
            "--trust-anchor",
            anchor.to_str().unwrap(),
            "--ca-file",
            ca.to_str().unwrap(),
            "--no-system-roots",
            "--mx-port",
            &mx_port,
            "--mta-sts-port",
            &sts_port,
            "--timeout",
            "10s",
        ];
        if json {
            args.push("--json");
        }
        common::mailwire(&args)
    }
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn domain_mode_checks_every_mx_and_reports_each_policy_problem() {
    let Some(w) = world() else { return };

    // The good zone: exit 0, MX listed and checked, policy matched, TLSA
    // matched (the record named), TLS-RPT found.
    let out = w.check("example.test", true);
    let v = common::json(&out);
    assert_eq!(v["exit_code"], 0, "{v:#}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["domain"], "example.test");
    assert_eq!(v["mx"]["hosts"][0]["name"], "mx1.example.test");
    assert_eq!(v["mx"]["mx"]["dnssec"], "validated", "{:#}", v["mx"]);
    let checks = v["mx_checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["host"], "mx1.example.test");
    assert_eq!(checks[0]["address"], "127.0.0.1");
    assert_eq!(checks[0]["check"]["starttls"]["result"], "upgraded");
    assert_eq!(checks[0]["check"]["verification"]["trusted"], true);
    assert_eq!(v["mta_sts"]["policy"]["mode"], "enforce");
    assert_eq!(v["mta_sts"]["mx"][0]["host"], "mx1.example.test");
    assert_eq!(
        v["mta_sts"]["mx"][0]["pattern"], "mx1.example.test",
        "{:#}",
        v["mta_sts"]
    );
    let dane = &v["dane"][0];
    assert_eq!(dane["applies"], true);
    let matched = dane["matching"]["matched"]
        .as_u64()
        .expect("a TLSA record matched");
    let record = dane["matching"]["records"][matched as usize]["record"]
        .as_str()
        .unwrap();
    assert!(record.starts_with("3 1 1 "), "{record}");
    assert_eq!(
        v["tls_rpt"]["state"]["state"], "found",
        "{:#}",
        v["tls_rpt"]
    );
    assert!(
        !ids(&v)
            .iter()
            .any(|id| id.starts_with("dane_") || id.starts_with("mta_sts_")),
        "{:?}",
        ids(&v)
    );

    // The text report names what matched.
    let out = w.check("mx:example.test", false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("matched by mx1.example.test"), "{text}");
    assert!(text.contains("matched:     3 1 1 "), "{text}");
    assert!(
        text.contains("TLS-RPT:       found, rua mailto:tlsrpt@example.test"),
        "{text}"
    );

    // The broken zone: each problem a finding, exit 1.
    let out = w.check("broken.test", true);
    let v = common::json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let found = ids(&v);
    for id in [
        "mta_sts_mx_mismatch",
        "mta_sts_mx_certificate",
        "dane_mismatch",
        "dane_tlsa_insecure",
    ] {
        assert!(found.iter().any(|f| f == id), "{id} missing from {found:?}");
    }
    let mismatch = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "mta_sts_mx_mismatch")
        .unwrap();
    assert!(
        mismatch["summary"]
            .as_str()
            .unwrap()
            .contains("rogue.broken.test"),
        "{mismatch:#}"
    );
    let cert = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "mta_sts_mx_certificate")
        .unwrap();
    assert!(
        cert["summary"].as_str().unwrap().contains("mx.broken.test"),
        "{cert:#}"
    );
    // Every MX address was checked: three hosts on 127.0.0.1.
    assert_eq!(v["mx_checks"].as_array().unwrap().len(), 3);
}

/// Bob's INBOX over plaintext IMAP on 127.0.0.1 (Dovecot counts loopback
/// as secured): the message whose Subject holds `token`, polled until
/// Postfix has delivered it over LMTP (at most 15 s).
fn fetch_by_subject(port: u16, token: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let mut run = |cmd: &str| -> String {
            write!(w, "{cmd}\r\n").unwrap();
            let tag = cmd.split(' ').next().unwrap().to_string();
            let mut all = String::new();
            for _ in 0..10_000 {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 {
                    break;
                }
                all.push_str(&l);
                if l.starts_with(&format!("{tag} ")) {
                    break;
                }
            }
            all
        };
        assert!(run("a LOGIN bob secret").contains("a OK"));
        run("b SELECT INBOX");
        let search = run(&format!("c SEARCH SUBJECT \"{token}\""));
        let n = search
            .lines()
            .find_map(|l| l.strip_prefix("* SEARCH "))
            .and_then(|rest| rest.split_whitespace().next().map(str::to_string));
        if let Some(n) = n {
            let body = run(&format!("d FETCH {n} BODY.PEEK[]"));
            run("e LOGOUT");
            return Some(body);
        }
        run("e LOGOUT");
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn scripted_send_delivers_through_postfix_to_dovecot_and_withholds_credentials_on_bad_tls() {
    let Some(servers) = RealServers::start() else {
        return;
    };
    let token = format!("mailwire-send-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg.eml");
    std::fs::write(
        &msg,
        format!(
            "From: Alice <alice@test.example>\nTo: Bob <bob@test.example>\nSubject: {token}\n\nfirst line\n.a line that starts with a dot\n.\nlast line\n"
        ),
    )
    .unwrap();
    let url = format!(
        "submission://127.0.0.1:{}",
        servers.port(Set::Good, "submission")
    );
    let out = common::mailwire_env(
        &[
            "check",
            &url,
            "--servername",
            "mail.test.example",
            "--ca-file",
            servers.ca(),
            "--auth",
            "PLAIN",
            "--user",
            "alice",
            "--from",
            "alice@test.example",
            "--to",
            "bob@test.example",
            "--data",
            msg.to_str().unwrap(),
            "--header",
            "X-Mailwire-Test: yes",
            "--json",
        ],
        &[("MAILWIRE_PASSWORD", "secret")],
    );
    let v = common::json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["send"]["completed"], "data", "{:#}", v["send"]);
    assert_eq!(v["send"]["mechanism"], "PLAIN");
    assert!(
        v["send"]["queued"].as_str().unwrap().starts_with("250"),
        "{:#}",
        v["send"]
    );
    // The password never reaches the report.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("c2VjcmV0"));
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s["text"]
            .as_str()
            .unwrap()
            .contains("..a line that starts with a dot")
    }));

    let body = fetch_by_subject(servers.port(Set::Good, "imap"), &token)
        .expect("the message reached bob's INBOX");
    assert!(body.contains("X-Mailwire-Test: yes"), "{body}");
    // Dot-stuffing undone by the server: the lines arrive as written.
    assert!(
        body.contains("\r\n.a line that starts with a dot\r\n.\r\nlast line"),
        "{body}"
    );

    // A self-signed certificate: the credentials are withheld, exit 1, and
    // no AUTH command goes out.
    let url = format!("smtp://127.0.0.1:{}", servers.port(Set::SelfSigned, "smtp"));
    let out = common::mailwire_env(
        &[
            "check",
            &url,
            "--servername",
            "mail.test.example",
            "--ca-file",
            servers.ca(),
            "--auth",
            "PLAIN",
            "--user",
            "alice",
            "--to",
            "bob@test.example",
            "--json",
        ],
        &[("MAILWIRE_PASSWORD", "secret")],
    );
    let v = common::json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["send"]["credentials_withheld"], true);
    assert!(
        ids(&v).contains(&"credentials_withheld".to_string()),
        "{:?}",
        ids(&v)
    );
    assert!(
        !v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["text"].as_str().unwrap().starts_with("AUTH")),
        "AUTH was sent"
    );
}
