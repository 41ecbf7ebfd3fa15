//! Domain mode against real components: NSD serving signed and unsigned
//! test zones (DNSSEC validated by mailwire with the `test.` key as trust
//! anchor), nginx serving MTA-STS policies over HTTPS with a test PKI, and
//! an in-test rustls server presenting MX certificates for DANE matching.
//!
//! ```text
//! test.            signed (trust anchor)
//!  example.test    signed, DS in test.   MX mx1 (TLSA 3 1 1), mx2 (TLSA 2 0 1 on the intermediate),
//!                                        MTA-STS enforce (mx1, *.example.test), TLS-RPT
//!  broken.test     signed, DS in test.   MX mx + rogue.example.test (not in the policy),
//!                                        TLSA that matches nothing, malformed TLS-RPT
//!  insecure.test   unsigned              MX mx with TLSA (ignored: no DNSSEC)
//!  bogus.test      signed, wrong DS      MX mx (bogus)
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is how a test fails

#[path = "common/domain.rs"]
mod harness;

use std::net::IpAddr;
use std::time::Duration;

use harness::{Answer as Serve, Dns, Https, Leaf, Signing, Site, TestPki, Zone};
use mailwire::domain::dane::{self, MatchingType, RecordVerdict, Selector, Usage};
use mailwire::domain::dns::{DnsOptions, DnssecStatus, IpVersion, Outcome, Resolver};
use mailwire::domain::mta_sts::{self, FetchFailure, FetchOptions, Mode, StsRecordState};
use mailwire::domain::tls_rpt::TlsRptState;
use mailwire::domain::{self, DomainOptions, MxSource, MxTls};
use mailwire::finding::{FindingId, Severity};
use test_case::test_case;

/// Everything the tests need, stopped on drop.
struct World {
    mx1: Leaf,
    mx2: Leaf,
    broken_mx: Leaf,
    insecure_mx: Leaf,
    dns: Dns,
    https: Https,
    ca_file: tempfile::NamedTempFile,
}

const GOOD_POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.example.test\r\nmax_age: 604800\r\n";

fn world() -> Option<World> {
    let pki = TestPki::new();
    let mx1 = pki.leaf(&["mx1.example.test"], false);
    let mx2 = pki.leaf(&["mx2.example.test"], false);
    let broken_mx = pki.leaf(&["mx.broken.test"], false);
    let insecure_mx = pki.leaf(&["mx.insecure.test"], false);
    let int_sha = TestPki::cert_sha256(&pki.intermediate_der);
    let zones = [
        Zone {
            name: "example.test".into(),
            signing: Signing::Signed,
            records: format!(
                "@ MX 10 mx1\n@ MX 20 mx2\n\
                 mx1 A 127.0.0.1\nmx1 AAAA ::1\nmx2 A 127.0.0.1\n\
                 mta-sts A 127.0.0.1\n\
                 _mta-sts TXT \"v=STSv1; id=20240101T000000;\"\n\
                 _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.test\"\n\
                 _25._tcp.mx1 TLSA 3 1 1 {mx1}\n\
                 _25._tcp.mx2 TLSA 2 0 1 {int_sha}\n\
                 nomx A 127.0.0.2\n\
                 nullmx MX 0 .\n\
                 alias MX 10 cname\ncname CNAME mx1\n\
                 v6only MX 10 mx6\nmx6 AAAA ::1\n\
                 redir MX 10 mx1\n_mta-sts.redir TXT \"v=STSv1; id=1;\"\nmta-sts.redir A 127.0.0.1\n\
                 html MX 10 mx1\n_mta-sts.html TXT \"v=STSv1; id=1;\"\nmta-sts.html A 127.0.0.1\n\
                 big MX 10 mx1\n_mta-sts.big TXT \"v=STSv1; id=1;\"\nmta-sts.big A 127.0.0.1\n\
                 gone MX 10 mx1\n_mta-sts.gone TXT \"v=STSv1; id=1;\"\nmta-sts.gone A 127.0.0.1\n\
                 badcert MX 10 mx1\n_mta-sts.badcert TXT \"v=STSv1; id=1;\"\nmta-sts.badcert A 127.0.0.1\n\
                 nohost MX 10 mx1\n_mta-sts.nohost TXT \"v=STSv1; id=1;\"\n\
                 twice MX 10 mx1\n_mta-sts.twice TXT \"v=STSv1; id=1;\"\n_mta-sts.twice TXT \"v=STSv1; id=2;\"\n",
                mx1 = mx1.spki_sha256(),
            ),
        },
        Zone {
            name: "broken.test".into(),
            signing: Signing::Signed,
            records: format!(
                "@ MX 10 mx\n@ MX 20 rogue.example.test.\n\
                 mx A 127.0.0.1\n\
                 mta-sts A 127.0.0.1\n\
                 _mta-sts TXT \"v=STSv1; id=1;\"\n\
                 _smtp._tls TXT \"v=TLSRPTv1; rua=tlsrpt-at-broken.test\"\n\
                 _25._tcp.mx TLSA 3 1 1 {}\n",
                "ab".repeat(32)
            ),
        },
        Zone {
            name: "insecure.test".into(),
            signing: Signing::Unsigned,
            records: format!(
                "@ MX 10 mx\nmx A 127.0.0.1\n_25._tcp.mx TLSA 3 1 1 {}\n",
                insecure_mx.spki_sha256()
            ),
        },
        Zone {
            name: "bogus.test".into(),
            signing: Signing::WrongDs,
            records: "@ MX 10 mx\nmx A 127.0.0.1\n".into(),
        },
    ];
    let dns = Dns::start(&zones)?;

    let site_cert = pki.leaf(
        &[
            "mta-sts.example.test",
            "mta-sts.broken.test",
            "mta-sts.redir.example.test",
            "mta-sts.html.example.test",
            "mta-sts.big.example.test",
            "mta-sts.gone.example.test",
        ],
        false,
    );
    let wrong_cert = pki.leaf(&["somewhere-else.example.test"], false);
    let site = |host: &str, answer: Serve| Site {
        host: host.into(),
        answer,
        cert_pem: site_cert.chain_pem.clone(),
        key_pem: site_cert.key_pem.clone(),
    };
    let text = |body: &str| Serve::Body {
        content_type: "text/plain",
        body: body.into(),
    };
    let https = Https::start(&[
        site("mta-sts.example.test", text(GOOD_POLICY)),
        site(
            "mta-sts.broken.test",
            text("version: STSv1\nmode: enforce\nmx: mx.broken.test\nmax_age: 86400\n"),
        ),
        site(
            "mta-sts.redir.example.test",
            Serve::Redirect(
                301,
                "https://mta-sts.example.test/.well-known/mta-sts.txt".into(),
            ),
        ),
        site(
            "mta-sts.html.example.test",
            Serve::Body {
                content_type: "text/html",
                body: GOOD_POLICY.into(),
            },
        ),
        site(
            "mta-sts.big.example.test",
            text(&format!(
                "{GOOD_POLICY}{}",
                "x-padding: 0123456789\n".repeat(4000)
            )),
        ),
        site("mta-sts.gone.example.test", Serve::Status(404)),
        Site {
            host: "mta-sts.badcert.example.test".into(),
            answer: text(GOOD_POLICY),
            cert_pem: wrong_cert.chain_pem.clone(),
            key_pem: wrong_cert.key_pem.clone(),
        },
    ])?;
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), &pki.root_pem).unwrap();
    Some(World {
        mx1,
        mx2,
        broken_mx,
        insecure_mx,
        dns,
        https,
        ca_file,
    })
}

impl World {
    fn dns_options(&self) -> DnsOptions {
        DnsOptions {
            server: Some(self.dns.addr),
            trust_anchor: Some(self.dns.trust_anchor.clone()),
            timeout: Duration::from_secs(3),
        }
    }

    fn resolver(&self) -> Resolver {
        Resolver::new(&self.dns_options()).unwrap()
    }

    fn fetch_options(&self) -> FetchOptions {
        FetchOptions {
            ca_files: vec![self.ca_file.path().to_path_buf()],
            timeout: Duration::from_secs(5),
            port: self.https.port,
            ..FetchOptions::default()
        }
    }

    fn options(&self) -> DomainOptions {
        DomainOptions {
            dns: self.dns_options(),
            ip: IpVersion::Any,
            fetch: self.fetch_options(),
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ids(findings: &[&mailwire::finding::Finding]) -> Vec<String> {
    findings.iter().map(|f| f.id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_reports_mx_and_dnssec_status_from_nsd() {
    let Some(w) = world() else { return };
    let r = w.resolver();

    let mx = r.mx("example.test").await;
    assert_eq!(mx.outcome, Outcome::Records);
    assert_eq!(
        mx.dnssec,
        DnssecStatus::Validated,
        "signed zone, DS in test."
    );
    let hosts: Vec<(u16, &str)> = mx
        .records
        .iter()
        .map(|m| (m.preference, m.exchange.as_str()))
        .collect();
    assert_eq!(hosts, [(10, "mx1.example.test"), (20, "mx2.example.test")]);

    let insecure = r.mx("insecure.test").await;
    assert_eq!(insecure.outcome, Outcome::Records);
    assert_eq!(
        insecure.dnssec,
        DnssecStatus::Insecure,
        "unsigned child, no DS"
    );

    let bogus = r.mx("bogus.test").await;
    assert_eq!(bogus.dnssec, DnssecStatus::Bogus, "DS of another key");
    assert_eq!(
        bogus.records.len(),
        1,
        "the records a non-validating sender sees are kept"
    );

    // Addresses, restricted by IP version.
    let any = r.addresses("mx1.example.test", IpVersion::Any).await;
    assert_eq!(any.dnssec, DnssecStatus::Validated);
    let mut got = any.records.clone();
    got.sort();
    assert_eq!(
        got,
        [
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    let v4 = r.addresses("mx1.example.test", IpVersion::V4).await;
    assert_eq!(v4.records, ["127.0.0.1".parse::<IpAddr>().unwrap()]);
    let v6 = r.addresses("mx1.example.test", IpVersion::V6).await;
    assert_eq!(v6.records, ["::1".parse::<IpAddr>().unwrap()]);
    let none = r.addresses("mx2.example.test", IpVersion::V6).await;
    assert_eq!(none.outcome, Outcome::NoData);
    assert_eq!(
        none.dnssec,
        DnssecStatus::Validated,
        "the denial (NSEC) is validated"
    );

    let nx = r.mx("nonexistent.example.test").await;
    assert_eq!(nx.outcome, Outcome::NxDomain);
    assert_eq!(nx.dnssec, DnssecStatus::Validated);

    // TLSA: validated in the signed zone, insecure in the unsigned one.
    let tlsa = r.tlsa("mx1.example.test", 25).await;
    assert_eq!(tlsa.name, "_25._tcp.mx1.example.test");
    assert_eq!(tlsa.dnssec, DnssecStatus::Validated);
    assert_eq!(
        tlsa.records[0].to_text(),
        format!("3 1 1 {}", w.mx1.spki_sha256())
    );
    let tlsa = r.tlsa("mx.insecure.test", 25).await;
    assert_eq!(tlsa.outcome, Outcome::Records);
    assert_eq!(tlsa.dnssec, DnssecStatus::Insecure);

    // TXT joins character-strings.
    let txt = r.txt("_mta-sts.example.test").await;
    assert_eq!(txt.records, [b"v=STSv1; id=20240101T000000;".to_vec()]);
    assert_eq!(txt.dnssec, DnssecStatus::Validated);

    // A server that does not answer is a failure, not a panic or a hang.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = Resolver::new(&DnsOptions {
        server: Some(silent.local_addr().unwrap()),
        trust_anchor: Some(w.dns.trust_anchor.clone()),
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    let a = dead.mx("example.test").await;
    assert!(matches!(a.outcome, Outcome::Failed(_)), "{a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_resolution_fallbacks_and_findings() {
    let Some(w) = world() else { return };
    let r = w.resolver();

    let rep = domain::mx::resolve(&r, "example.test", IpVersion::Any).await;
    assert_eq!(rep.source, MxSource::Mx);
    assert_eq!(
        rep.targets().len(),
        3,
        "mx1 v4+v6, mx2 v4: {:?}",
        rep.targets()
    );
    assert!(rep.findings.is_empty(), "{:?}", rep.findings);

    let rep = domain::mx::resolve(&r, "example.test", IpVersion::V6).await;
    assert_eq!(
        rep.targets(),
        [("mx1.example.test", "::1".parse().unwrap())]
    );
    let f = &rep.findings[0];
    assert_eq!(
        (f.id.as_str(), f.severity),
        ("mx_no_address", Severity::Warning)
    );
    assert!(
        f.summary.contains("mx2.example.test has no IPv6 address"),
        "{}",
        f.summary
    );

    // No MX: the domain's own address (RFC 5321 §5.1).
    let rep = domain::mx::resolve(&r, "nomx.example.test", IpVersion::Any).await;
    assert_eq!(rep.source, MxSource::Implicit);
    assert_eq!(
        rep.targets(),
        [("nomx.example.test", "127.0.0.2".parse().unwrap())]
    );
    assert_eq!(rep.findings[0].id, FindingId::MxImplicit);
    assert_eq!(rep.host_list_dnssec(), DnssecStatus::Validated);

    // Null MX (RFC 7505).
    let rep = domain::mx::resolve(&r, "nullmx.example.test", IpVersion::Any).await;
    assert_eq!(rep.source, MxSource::NullMx);
    assert!(rep.hosts.is_empty());
    assert_eq!(rep.findings[0].id, FindingId::NullMx);

    let rep = domain::mx::resolve(&r, "alias.example.test", IpVersion::V4).await;
    assert_eq!(rep.findings[0].id, FindingId::MxCname);

    let rep = domain::mx::resolve(&r, "missing.example.test", IpVersion::Any).await;
    assert_eq!(rep.source, MxSource::NoDomain);
    assert_eq!(rep.findings[0].id, FindingId::DomainNotFound);

    let rep = domain::mx::resolve(&r, "bogus.test", IpVersion::Any).await;
    assert!(rep.findings.iter().any(|f| f.id == FindingId::DnssecBogus));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_domain_policy_fetched_parsed_and_every_mx_matched() {
    let Some(w) = world() else { return };
    let rep = domain::inspect("Example.TEST.", &w.options())
        .await
        .unwrap();
    assert_eq!(rep.domain, "example.test");
    assert_eq!(rep.mx.hosts.len(), 2);

    let sts = &rep.mta_sts;
    assert!(
        matches!(&sts.record, StsRecordState::Found { record } if record.id == "20240101T000000"),
        "{:?}",
        sts.record
    );
    let fetched = sts.fetch.as_ref().unwrap();
    assert_eq!(
        fetched.url,
        "https://mta-sts.example.test/.well-known/mta-sts.txt"
    );
    assert_eq!(fetched.result.as_ref().unwrap(), GOOD_POLICY.as_bytes());
    let policy = sts.policy.as_ref().unwrap();
    assert_eq!((policy.mode, policy.max_age), (Mode::Enforce, 604_800));
    let matched: Vec<(String, String)> = sts
        .mx
        .iter()
        .map(|m| (m.host.clone(), m.pattern.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        matched,
        [
            (
                "mx1.example.test".to_string(),
                "mx1.example.test".to_string()
            ),
            ("mx2.example.test".to_string(), "*.example.test".to_string())
        ]
    );

    assert!(
        matches!(rep.tls_rpt.state, TlsRptState::Found { .. }),
        "{:?}",
        rep.tls_rpt.state
    );
    assert_eq!(rep.dane.len(), 2);
    assert!(
        rep.dane.iter().all(|d| d.applies),
        "TLSA validated, MX validated"
    );
    assert!(rep.findings().is_empty(), "{:?}", ids(&rep.findings()));

    // Round two feeds the STARTTLS results back: the chains the MX hosts
    // present (here, from the PKI) match their TLSA records.
    let mut rep = rep;
    let ok = MxTls {
        tls: true,
        trusted: true,
        name_matches: true,
        detail: None,
    };
    rep.apply_tls("mx1.example.test", Some(&w.mx1.chain), &ok, now());
    rep.apply_tls("mx2.example.test", Some(&w.mx2.chain), &ok, now());
    for d in &rep.dane {
        let m = d.matching.as_ref().unwrap();
        assert!(m.matched.is_some(), "{}: {:?}", d.host, m);
    }
    assert_eq!(
        rep.dane[1]
            .matching
            .as_ref()
            .unwrap()
            .matched_record()
            .unwrap()
            .usage,
        Usage::DaneTa
    );
    assert!(rep.findings().is_empty(), "{:?}", ids(&rep.findings()));
    // A certificate not valid for the MX name breaks MTA-STS enforce.
    let wrong = MxTls {
        name_matches: false,
        ..ok
    };
    rep.apply_tls("mx2.example.test", Some(&w.mx1.chain), &wrong, now());
    let all = rep.findings();
    let f = all
        .iter()
        .find(|f| f.id == FindingId::MtaStsMxCertificate)
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.advice.contains("will not deliver to mx2.example.test"),
        "{}",
        f.advice
    );
    assert!(all.iter().any(|f| f.id == FindingId::DaneMismatch));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_domain_every_problem_is_a_finding() {
    let Some(w) = world() else { return };
    let mut rep = domain::inspect("broken.test", &w.options()).await.unwrap();
    let hosts: Vec<&str> = rep.mx.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hosts, ["mx.broken.test", "rogue.example.test"]);

    let mismatch = rep
        .mta_sts
        .findings
        .iter()
        .find(|f| f.id == FindingId::MtaStsMxMismatch)
        .expect("policy MX mismatch");
    assert_eq!(mismatch.severity, Severity::Error, "mode enforce");
    assert!(mismatch.summary.contains("rogue.example.test"));
    assert!(
        mismatch
            .advice
            .contains("will not deliver to rogue.example.test")
    );
    assert_eq!(mismatch.evidence, b"mx: mx.broken.test");

    assert!(matches!(rep.tls_rpt.state, TlsRptState::Invalid { .. }));
    assert!(
        rep.tls_rpt
            .findings
            .iter()
            .any(|f| f.id == FindingId::TlsRptInvalid)
    );

    let ok = MxTls {
        tls: true,
        trusted: true,
        name_matches: true,
        detail: None,
    };
    rep.apply_tls("mx.broken.test", Some(&w.broken_mx.chain), &ok, now());
    let dane = &rep.dane[0];
    assert!(dane.applies);
    let f = dane
        .findings
        .iter()
        .find(|f| f.id == FindingId::DaneMismatch)
        .expect("TLSA mismatch");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.contains("does not match"), "{}", f.summary);
    assert!(
        String::from_utf8_lossy(&f.evidence)
            .starts_with("_25._tcp.mx.broken.test. TLSA 3 1 1 abab"),
        "{}",
        String::from_utf8_lossy(&f.evidence)
    );
    assert_eq!(rep.worst(), Some(Severity::Error));

    // Unsigned zone: TLSA present but ignored.
    let mut rep = domain::inspect("insecure.test", &w.options())
        .await
        .unwrap();
    assert_eq!(rep.mx.mx.dnssec, DnssecStatus::Insecure);
    assert!(!rep.dane[0].applies);
    let f = rep.dane[0]
        .findings
        .iter()
        .find(|f| f.id == FindingId::DaneTlsaInsecure)
        .expect("TLSA without DNSSEC");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.advice.contains("Senders ignore"), "{}", f.advice);
    // Matching still shows what would happen (here: it matches).
    rep.apply_tls("mx.insecure.test", Some(&w.insecure_mx.chain), &ok, now());
    assert!(rep.dane[0].matching.as_ref().unwrap().matched.is_some());
    assert!(
        !rep.dane[0]
            .findings
            .iter()
            .any(|f| f.id == FindingId::DaneMismatch)
    );
}

#[test_case("twice.example.test", "mta_sts_record_invalid"; "two records")]
#[test_case("redir.example.test", "redirect"; "redirect not followed")]
#[test_case("html.example.test", "media type"; "content type")]
#[test_case("big.example.test", "larger than"; "size limit")]
#[test_case("gone.example.test", "HTTP 404"; "status")]
#[test_case("badcert.example.test", "not valid for mta-sts.badcert.example.test"; "certificate name")]
#[test_case("nohost.example.test", "no address"; "no policy host")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mta_sts_failures_are_findings(domain_name: &str, expected: &str) {
    let Some(w) = world() else { return };
    let r = w.resolver();
    let rep = mta_sts::inspect(
        domain_name,
        &r,
        &["mx1.example.test".into()],
        &w.fetch_options(),
    )
    .await
    .unwrap();
    assert!(rep.policy.is_none(), "{:?}", rep.policy);
    let text: Vec<String> = rep
        .findings
        .iter()
        .map(|f| format!("{} {}", f.id, f.summary))
        .collect();
    assert!(
        text.iter().any(|t| t.contains(expected)),
        "{domain_name}: {text:?}"
    );
    if expected != "mta_sts_record_invalid" {
        assert_eq!(rep.findings[0].id, FindingId::MtaStsFetchFailed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mta_sts_fetch_times_out() {
    let Some(w) = world() else { return };
    // Accepts TCP and never answers: the TLS handshake hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let opts = FetchOptions {
        port,
        timeout: Duration::from_millis(500),
        ..w.fetch_options()
    };
    let started = std::time::Instant::now();
    let f = mta_sts::fetch_policy("example.test", &w.resolver(), &opts)
        .await
        .unwrap();
    assert_eq!(f.result, Err(FetchFailure::Timeout(500)));
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

// ---------------------------------------------------------------------------
// DANE matching against a chain from a TLS handshake
// ---------------------------------------------------------------------------

/// Runs a rustls server presenting `leaf` once and returns the chain the
/// mailwire TLS client saw.
async fn presented_chain(leaf: &Leaf, pki: &TestPki, name: &str) -> Vec<Vec<u8>> {
    let server = mailwire::tls::server::ServerTls::new(&leaf.chain, &leaf.key_der).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = server.accept(tcp).await;
    });
    // Only the test root is trusted (the chain is wanted, not the OS store).
    let root = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        root.path(),
        mailwire::cert::to_pem(std::slice::from_ref(&pki.root_der)),
    )
    .unwrap();
    let opts = mailwire::tls::ClientOptions {
        ca_files: vec![root.path().to_path_buf()],
        no_system_roots: true,
        ..mailwire::tls::ClientOptions::default()
    };
    let client = mailwire::tls::client::Client::new(&opts, name).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let chain = match client.handshake(tcp).await {
        Ok(est) => est.chain_der,
        Err(mailwire::tls::client::TlsError::Handshake(f)) => f.chain_der,
        Err(e) => panic!("{e}"),
    };
    accept.abort();
    chain
}

fn record(
    usage: u8,
    selector: u8,
    matching: u8,
    leaf: &Leaf,
    pki: &TestPki,
    on_issuer: bool,
) -> dane::Tlsa {
    use sha2::Digest;
    let der = if on_issuer {
        pki.intermediate_der.clone()
    } else {
        leaf.chain[0].clone()
    };
    let selected = if selector == 1 {
        let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
        c.tbs_certificate.subject_pki.raw.to_vec()
    } else {
        der
    };
    let data = match matching {
        0 => selected,
        1 => sha2::Sha256::digest(&selected).to_vec(),
        _ => sha2::Sha512::digest(&selected).to_vec(),
    };
    dane::Tlsa {
        usage: usage.into(),
        selector: selector.into(),
        matching: matching.into(),
        data,
    }
}

#[test_case(3, 0, 0; "DANE-EE Cert Full")]
#[test_case(3, 0, 1; "DANE-EE Cert SHA2-256")]
#[test_case(3, 0, 2; "DANE-EE Cert SHA2-512")]
#[test_case(3, 1, 0; "DANE-EE SPKI Full")]
#[test_case(3, 1, 1; "DANE-EE SPKI SHA2-256")]
#[test_case(3, 1, 2; "DANE-EE SPKI SHA2-512")]
#[test_case(2, 0, 0; "DANE-TA Cert Full")]
#[test_case(2, 0, 1; "DANE-TA Cert SHA2-256")]
#[test_case(2, 0, 2; "DANE-TA Cert SHA2-512")]
#[test_case(2, 1, 0; "DANE-TA SPKI Full")]
#[test_case(2, 1, 1; "DANE-TA SPKI SHA2-256")]
#[test_case(2, 1, 2; "DANE-TA SPKI SHA2-512")]
#[tokio::test]
async fn each_usage_selector_and_matching_type_matches(usage: u8, selector: u8, matching: u8) {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["mx1.example.test"], false);
    let chain = presented_chain(&leaf, &pki, "mx1.example.test").await;
    assert_eq!(chain.len(), 2, "leaf and intermediate sent");
    let ta = usage == 2;
    let good = record(usage, selector, matching, &leaf, &pki, ta);
    let m = dane::match_chain(
        std::slice::from_ref(&good),
        &chain,
        "mx1.example.test",
        now(),
    );
    assert_eq!(
        m.records[0].verdict,
        RecordVerdict::Matched {
            depth: Some(usize::from(ta))
        },
        "{}",
        good.describe()
    );
    assert_eq!(m.matched_record(), Some(&good));
    assert_eq!(good.usage, Usage::from(usage));
    assert_eq!(good.selector, Selector::from(selector));
    assert_eq!(good.matching, MatchingType::from(matching));

    // One bit off (a full certificate cut short): no match.
    let mut bad = good.clone();
    let last = bad.data.len() - 1;
    if matching == 0 && selector == 0 {
        // An anchor's signature is never checked, so a flipped bit there
        // would still name the same key: cut the DER instead.
        bad.data.truncate(last);
    } else {
        bad.data[last] ^= 1;
    }
    let other_pki = TestPki::new();
    let m = dane::match_chain(&[bad], &chain, "mx1.example.test", now());
    assert_eq!(m.matched, None);
    assert!(
        matches!(
            m.records[0].verdict,
            RecordVerdict::NoMatch { .. } | RecordVerdict::ChainInvalid { .. }
        ),
        "{:?}",
        m.records[0]
    );
    // Another CA's record matches nothing either.
    let foreign = record(
        usage,
        selector,
        matching,
        &other_pki.leaf(&["x.test"], false),
        &other_pki,
        ta,
    );
    assert_eq!(
        dane::match_chain(&[foreign], &chain, "mx1.example.test", now()).matched,
        None
    );
}

#[tokio::test]
async fn dane_rules_beyond_matching() {
    let pki = TestPki::new();
    let now = now();

    // DANE-EE ignores names and dates (RFC 7672 §3.1.1).
    let expired = pki.leaf(&["old.example.test"], true);
    let chain = presented_chain(&expired, &pki, "mx1.example.test").await;
    let ee = record(3, 1, 1, &expired, &pki, false);
    assert!(
        dane::match_chain(&[ee], &chain, "mx1.example.test", now)
            .matched
            .is_some()
    );

    // DANE-TA checks the name and the dates below the anchor.
    let ta = record(2, 0, 1, &expired, &pki, true);
    let m = dane::match_chain(std::slice::from_ref(&ta), &chain, "mx1.example.test", now);
    match &m.records[0].verdict {
        RecordVerdict::ChainInvalid {
            depth: Some(1),
            reason,
        } => {
            assert!(
                reason.contains("expired") || reason.contains("not valid for"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    let leaf = pki.leaf(&["mx1.example.test"], false);
    let chain = presented_chain(&leaf, &pki, "mx1.example.test").await;
    let ta = record(2, 0, 1, &leaf, &pki, true);
    let m = dane::match_chain(std::slice::from_ref(&ta), &chain, "mx9.example.test", now);
    assert!(
        matches!(&m.records[0].verdict, RecordVerdict::ChainInvalid { reason, .. } if reason.contains("not valid for mx9.example.test")),
        "{:?}",
        m.records[0]
    );

    // A DANE-TA record on the leaf, a DANE-EE record on the issuer: wrong usage, said so.
    let on_leaf = record(2, 1, 1, &leaf, &pki, false);
    let on_issuer = record(3, 1, 1, &leaf, &pki, true);
    let m = dane::match_chain(&[on_leaf, on_issuer], &chain, "mx1.example.test", now);
    assert_eq!(m.matched, None);
    let reasons: Vec<String> = m
        .records
        .iter()
        .map(|r| match &r.verdict {
            RecordVerdict::NoMatch { reason } => reason.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert!(
        reasons[0].contains("publish it as DANE-EE(3)"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("publish it as DANE-TA(2)"),
        "{reasons:?}"
    );

    // Usage 0/1 are unusable for SMTP; one usable record is enough.
    let pkix = record(1, 1, 1, &leaf, &pki, false);
    let good = record(3, 1, 1, &leaf, &pki, false);
    let m = dane::match_chain(&[pkix, good], &chain, "mx1.example.test", now);
    assert!(matches!(
        m.records[0].verdict,
        RecordVerdict::Unusable { .. }
    ));
    assert_eq!(m.matched, Some(1));

    // DANE-TA with the issuer published in full but not sent by the server.
    let leaf_only = vec![chain[0].clone()];
    let full = dane::Tlsa {
        usage: Usage::DaneTa,
        selector: Selector::Cert,
        matching: MatchingType::Full,
        data: pki.intermediate_der.clone(),
    };
    let m = dane::match_chain(&[full], &leaf_only, "mx1.example.test", now);
    assert_eq!(m.records[0].verdict, RecordVerdict::Matched { depth: None });
    let hashed = record(2, 0, 1, &leaf, &pki, true);
    let m = dane::match_chain(&[hashed], &leaf_only, "mx1.example.test", now);
    assert!(
        matches!(&m.records[0].verdict, RecordVerdict::NoMatch { reason } if reason.contains("only its leaf")),
        "{:?}",
        m.records[0]
    );
}
