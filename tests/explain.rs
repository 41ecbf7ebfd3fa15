//! The explain catalogue against real server lines, client lines and TLS
//! items: each lookup must find the right entry with the right source, and
//! everything the Postfix and Dovecot test servers emit must be covered.

use mailwire::explain::{
    Explanation, Match, RegistrySnapshot, catalogue, explain_alert, explain_cipher_suite,
    explain_client, explain_finding, explain_handshake, explain_server, explain_tls,
    explain_verdict, registry_snapshots,
};
use mailwire::finding::FindingId;
use mailwire::target::Protocol;
use mailwire::tls::{HandshakeSummary, Verdict};
use test_case::test_case;

fn keys(explanations: &[Explanation]) -> Vec<&str> {
    explanations.iter().map(|e| e.key.as_str()).collect()
}

/// The explanation with `key`, failing the test if it is missing.
fn find<'a>(explanations: &'a [Explanation], key: &str) -> &'a Explanation {
    explanations
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", keys(explanations)))
}

const EHLO: &str = "250-mail.test.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n\
                    250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 CHUNKING\r\n";

#[test_case(Protocol::Smtp, EHLO,
    &["smtp.reply.250", "smtp.ehlo.PIPELINING", "smtp.ehlo.SIZE", "smtp.ehlo.STARTTLS",
      "smtp.ehlo.ENHANCEDSTATUSCODES", "smtp.ehlo.8BITMIME", "smtp.ehlo.CHUNKING"],
    "smtp.ehlo.STARTTLS", "RFC 3207"; "multi-line EHLO")]
#[test_case(Protocol::Smtp, "535 5.7.8 Error: authentication failed: authentication failure\r\n",
    &["smtp.reply.535", "smtp.enhanced.X.7.8"], "smtp.enhanced.X.7.8", "Enumerated Status Codes"; "535 5.7.8")]
#[test_case(Protocol::Smtp, "454 4.7.0 TLS not available due to local problem\r\n",
    &["smtp.reply.454", "smtp.enhanced.X.7.0"], "smtp.reply.454", "RFC 3207"; "454 4.7.0")]
#[test_case(Protocol::Smtp, "530 5.7.0 Must issue a STARTTLS command first\r\n",
    &["smtp.reply.530", "smtp.enhanced.X.7.0"], "smtp.reply.530", "RFC 3207"; "530 5.7.0")]
#[test_case(Protocol::Imap,
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
    &["imap.response.untagged", "imap.status.OK", "imap.code.CAPABILITY", "imap.capability.IMAP4rev1",
      "imap.capability.SASL-IR", "imap.capability.LOGIN-REFERRALS", "imap.capability.ID", "imap.capability.ENABLE",
      "imap.capability.IDLE", "imap.capability.LITERAL+", "imap.capability.STARTTLS", "imap.capability.AUTH=",
      "sasl.mechanism.PLAIN"],
    "imap.capability.LITERAL+", "RFC 7888"; "IMAP greeting with CAPABILITY code")]
#[test_case(Protocol::Imap, "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
    &["imap.response.tagged", "imap.status.NO", "imap.code.AUTHENTICATIONFAILED"],
    "imap.code.AUTHENTICATIONFAILED", "RFC 5530"; "a1 NO AUTHENTICATIONFAILED")]
#[test_case(Protocol::Imap,
    "a2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n",
    &["imap.response.tagged", "imap.status.NO", "imap.code.PRIVACYREQUIRED"],
    "imap.code.PRIVACYREQUIRED", "RFC 5530"; "a2 NO PRIVACYREQUIRED")]
#[test_case(Protocol::Pop3, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n",
    &["pop3.status.-ERR", "pop3.code.AUTH"], "pop3.code.AUTH", "RFC 3206"; "POP3 -ERR AUTH")]
#[test_case(Protocol::Pop3, "-ERR [IN-USE] Mailbox locked\r\n",
    &["pop3.status.-ERR", "pop3.code.IN-USE"], "pop3.code.IN-USE", "RFC 2449 §8.1.2"; "POP3 -ERR IN-USE")]
#[test_case(Protocol::Pop3, "+OK Dovecot (Debian) ready.\r\n",
    &["pop3.status.+OK"], "pop3.status.+OK", "RFC 1939"; "POP3 greeting")]
#[test_case(Protocol::Imap, "* BYE Logging out",
    &["imap.response.untagged", "imap.status.BYE"], "imap.status.BYE", "RFC 9051 §7.1.5"; "IMAP BYE without CRLF")]
#[test_case(Protocol::Imap, "+ idling", &["imap.response.continuation"],
    "imap.response.continuation", "RFC 9051 §7.6"; "IMAP continuation")]
#[test_case(Protocol::Imap, "* 23 EXISTS\r\n", &["imap.response.untagged", "imap.data.EXISTS"],
    "imap.data.EXISTS", "RFC 9051 §7.4.1"; "IMAP EXISTS")]
#[test_case(Protocol::Imap, "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n",
    &["imap.response.untagged", "imap.status.OK", "imap.code.UIDVALIDITY"], "imap.code.UIDVALIDITY", "RFC 9051"; "IMAP UIDVALIDITY")]
#[test_case(Protocol::Imap, "* 1 FETCH (BODY[] {5}\r\nhello)\r\n", &["imap.response.untagged", "imap.data.FETCH"],
    "imap.data.FETCH", "RFC 9051 §7.5.2"; "IMAP FETCH with literal")]
#[test_case(Protocol::Pop3,
    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n",
    &["pop3.status.+OK", "pop3.capa.CAPA", "pop3.capa.TOP", "pop3.capa.UIDL", "pop3.capa.RESP-CODES",
      "pop3.capa.PIPELINING", "pop3.capa.AUTH-RESP-CODE", "pop3.capa.STLS", "pop3.capa.USER", "pop3.capa.SASL",
      "sasl.mechanism.PLAIN", "sasl.mechanism.LOGIN"],
    "pop3.capa.STLS", "RFC 2595"; "POP3 CAPA body")]
#[test_case(Protocol::Pop3, "+OK 2 320\r\n", &["pop3.status.+OK"], "pop3.status.+OK", "RFC 1939"; "POP3 STAT reply")]
#[test_case(Protocol::Pop3, "+OK message follows\r\nReceived: from x\r\nSubject: hi\r\n\r\nTOP\r\n.\r\n",
    &["pop3.status.+OK"], "pop3.status.+OK", "RFC 1939"; "POP3 RETR body is not CAPA")]
#[test_case(Protocol::Pop3, "+ \r\n", &["pop3.status.+"], "pop3.status.+", "RFC 5034"; "POP3 SASL continuation")]
#[test_case(Protocol::Lmtp, "250 2.1.5 OK\r\n", &["smtp.reply.250", "smtp.enhanced.X.1.5"],
    "smtp.enhanced.X.1.5", "RFC 3463"; "LMTP uses the SMTP catalogue")]
#[test_case(Protocol::Smtp, "334 VXNlcm5hbWU6\r\n", &["smtp.reply.334"], "smtp.reply.334", "RFC 4954"; "334 challenge has no enhanced code")]
#[test_case(Protocol::Smtp, "250-mail.example\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=PLAIN LOGIN\r\n",
    &["smtp.reply.250", "smtp.ehlo.AUTH", "sasl.mechanism.PLAIN", "sasl.mechanism.LOGIN", "smtp.ehlo.AUTH=",
      "sasl.mechanism.PLAIN", "sasl.mechanism.LOGIN"],
    "smtp.ehlo.AUTH", "RFC 4954"; "EHLO AUTH and legacy AUTH=")]
fn server_line(protocol: Protocol, raw: &str, want: &[&str], key: &str, source: &str) {
    let got = explain_server(protocol, raw.as_bytes());
    assert_eq!(keys(&got), want);
    let e = find(&got, key);
    assert!(
        e.source.contains(source),
        "{key}: source {:?} lacks {source:?}",
        e.source
    );
    assert!(!e.text.is_empty());
}

#[test_case(Protocol::Imap, "a3 LOGIN alice secret", &["imap.syntax.tag", "imap.command.LOGIN"],
    "imap.command.LOGIN", "RFC 9051 §6.2.3"; "IMAP LOGIN")]
#[test_case(Protocol::Smtp, "MAIL FROM:<a@b> SIZE=100", &["smtp.command.MAIL", "smtp.mail-param.SIZE"],
    "smtp.mail-param.SIZE", "RFC 1870"; "MAIL FROM with SIZE")]
#[test_case(Protocol::Pop3, "RETR 1", &["pop3.command.RETR"], "pop3.command.RETR", "RFC 1939"; "POP3 RETR")]
#[test_case(Protocol::Smtp, "RCPT TO:<b@c> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c\r\n",
    &["smtp.command.RCPT", "smtp.rcpt-param.NOTIFY", "smtp.rcpt-param.ORCPT"], "smtp.rcpt-param.ORCPT", "RFC 3461"; "RCPT TO with DSN")]
#[test_case(Protocol::Smtp, "ehlo client.example", &["smtp.command.EHLO"], "smtp.command.EHLO", "RFC 5321 §4.1.1.1"; "lower-case EHLO")]
#[test_case(Protocol::Lmtp, "LHLO client.example", &["smtp.command.LHLO"], "smtp.command.LHLO", "RFC 2033"; "LMTP LHLO")]
#[test_case(Protocol::Smtp, "STARTTLS", &["smtp.command.STARTTLS"], "smtp.command.STARTTLS", "RFC 3207"; "SMTP STARTTLS")]
#[test_case(Protocol::Smtp, "AUTH PLAIN AGFsaWNlAHNlY3JldA==", &["smtp.command.AUTH", "sasl.mechanism.PLAIN"],
    "sasl.mechanism.PLAIN", "RFC 4616"; "SMTP AUTH PLAIN")]
#[test_case(Protocol::Imap, "a4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM)])",
    &["imap.syntax.tag", "imap.command.UID", "imap.command.FETCH", "imap.fetch-item.FLAGS", "imap.fetch-item.BODY.PEEK"],
    "imap.fetch-item.BODY.PEEK", "RFC 9051 §6.4.5"; "IMAP UID FETCH")]
#[test_case(Protocol::Imap, "a5 STATUS \"Sent Items\" (MESSAGES UNSEEN)",
    &["imap.syntax.tag", "imap.command.STATUS", "imap.status-item.MESSAGES", "imap.status-item.UNSEEN"],
    "imap.status-item.UNSEEN", "RFC 9051"; "IMAP STATUS")]
#[test_case(Protocol::Imap, "a6 AUTHENTICATE PLAIN", &["imap.syntax.tag", "imap.command.AUTHENTICATE", "sasl.mechanism.PLAIN"],
    "imap.command.AUTHENTICATE", "RFC 9051 §6.2.2"; "IMAP AUTHENTICATE")]
#[test_case(Protocol::Imap, "a7 ENABLE CONDSTORE", &["imap.syntax.tag", "imap.command.ENABLE", "imap.capability.CONDSTORE"],
    "imap.capability.CONDSTORE", "RFC 7162"; "IMAP ENABLE")]
#[test_case(Protocol::Imap, "DONE", &["imap.command.DONE"], "imap.command.DONE", "RFC 2177"; "IMAP DONE has no tag")]
#[test_case(Protocol::Imap, "LOGIN alice secret", &["imap.syntax.missing-tag", "imap.command.LOGIN"],
    "imap.syntax.missing-tag", "RFC 9051 §2.2.1"; "IMAP command without tag")]
#[test_case(Protocol::Pop3, "STLS\r\n", &["pop3.command.STLS"], "pop3.command.STLS", "RFC 2595"; "POP3 STLS")]
#[test_case(Protocol::Pop3, "AUTH SCRAM-SHA-256", &["pop3.command.AUTH", "sasl.mechanism.SCRAM-SHA-256"],
    "sasl.mechanism.SCRAM-SHA-256", "RFC 7677"; "POP3 AUTH")]
fn client_line(protocol: Protocol, line: &str, want: &[&str], key: &str, source: &str) {
    let got = explain_client(protocol, line);
    assert_eq!(keys(&got), want);
    let e = find(&got, key);
    assert!(
        e.source.contains(source),
        "{key}: source {:?} lacks {source:?}",
        e.source
    );
    assert!(got.iter().all(|e| e.matched == Match::Exact), "{got:?}");
}

#[test_case(Protocol::Imap, "a3 LOGIN alice s3cr3t-pw"; "IMAP LOGIN password")]
#[test_case(Protocol::Pop3, "PASS s3cr3t-pw"; "POP3 PASS")]
#[test_case(Protocol::Smtp, "AUTH PLAIN s3cr3t-pw"; "SMTP AUTH initial response")]
#[test_case(Protocol::Imap, "a1 AUTHENTICATE PLAIN s3cr3t-pw"; "IMAP SASL-IR initial response")]
#[test_case(Protocol::Smtp, "s3cr3t-pw"; "SMTP bare SASL response")]
#[test_case(Protocol::Imap, "s3cr3t-pw"; "IMAP bare SASL response")]
#[test_case(Protocol::Pop3, "s3cr3t-pw"; "POP3 bare SASL response")]
fn secrets_are_never_quoted(protocol: Protocol, line: &str) {
    for e in explain_client(protocol, line) {
        for field in [&e.title, &e.text, &e.key] {
            assert!(!field.contains("s3cr3t"), "secret shown in {e:?}");
        }
    }
}

#[test]
fn unknown_client_line_says_so() {
    let got = explain_client(Protocol::Smtp, "XYZZY");
    assert_eq!(keys(&got), ["smtp.unknown.command"]);
    assert_eq!(got[0].matched, Match::Unknown);
    assert!(
        got[0].title.contains("not in the catalogue"),
        "{}",
        got[0].title
    );
}

#[test_case("259 odd\r\n", "smtp.reply-class.2", "259: not in the catalogue; Positive completion, mail system"; "unknown 2yz code")]
#[test_case("437 x\r\n", "smtp.reply-class.4", "437: not in the catalogue; Transient negative completion, unspecified"; "unknown 4yz code")]
fn smtp_reply_falls_back_to_digits(raw: &str, key: &str, title: &str) {
    let got = explain_server(Protocol::Smtp, raw.as_bytes());
    assert_eq!(
        (got[0].key.as_str(), got[0].title.as_str(), got[0].matched),
        (key, title, Match::Fallback)
    );
    assert!(got[0].source.contains("RFC 5321 §4.2.1"));
}

#[test]
fn enhanced_code_falls_back_to_class_and_subject() {
    let got = explain_server(Protocol::Smtp, b"550 5.7.99 policy\r\n");
    let e = &got[1];
    assert_eq!(
        (e.key.as_str(), e.matched),
        ("smtp.enhanced-class.5", Match::Fallback)
    );
    assert!(
        e.title
            .starts_with("5.7.99: not in the catalogue; Permanent failure, security or policy"),
        "{}",
        e.title
    );
    assert!(e.source.contains("RFC 3463"));
}

#[test]
fn class_specific_enhanced_entry_is_not_required() {
    // 4.7.0 and 5.7.0 both resolve through the registry's X.7.0.
    for raw in ["454 4.7.0 x\r\n", "530 5.7.0 x\r\n"] {
        let got = explain_server(Protocol::Smtp, raw.as_bytes());
        assert_eq!(got[1].matched, Match::Exact);
        assert!(got[1].title.starts_with(&raw[4..9]), "{}", got[1].title);
    }
}

#[test_case(Protocol::Smtp, b"250-x\r\n250 XYZZY-PRIVATE\r\n", "smtp.unknown.ehlo"; "EHLO keyword")]
#[test_case(Protocol::Smtp, b"HTTP/1.1 400 Bad Request\r\n", "smtp.unknown.reply"; "not SMTP")]
#[test_case(Protocol::Imap, b"a1 NO [XFOO] x\r\n", "imap.unknown.code"; "IMAP code")]
#[test_case(Protocol::Imap, b"* CAPABILITY IMAP4rev1 XYZZY\r\n", "imap.unknown.capability"; "IMAP capability")]
#[test_case(Protocol::Imap, b"* XYZZY 1 2\r\n", "imap.unknown.data"; "IMAP data")]
#[test_case(Protocol::Imap, b"hello world\r\n", "imap.unknown.line"; "not IMAP")]
#[test_case(Protocol::Pop3, b"-ERR [XFOO] x\r\n", "pop3.unknown.code"; "POP3 code")]
#[test_case(Protocol::Pop3, b"220 smtp ready\r\n", "pop3.unknown.line"; "not POP3")]
#[test_case(Protocol::Pop3, b"+OK\r\nTOP\r\nXYZZY\r\n.\r\n", "pop3.unknown.capa"; "POP3 CAPA tag")]
fn unknown_items_get_a_not_in_catalogue_entry(protocol: Protocol, raw: &[u8], key: &str) {
    let got = explain_server(protocol, raw);
    let e = find(&got, key);
    assert_eq!(e.matched, Match::Unknown);
    assert!(!e.source.is_empty());
}

#[test]
fn hierarchical_pop3_code_falls_back_to_parent() {
    let got = explain_server(Protocol::Pop3, b"-ERR [SYS/OTHER] x\r\n");
    assert_eq!(
        (got[1].key.as_str(), got[1].matched),
        ("pop3.code.SYS", Match::Fallback)
    );
}

#[test]
fn empty_input_explains_nothing() {
    assert!(explain_server(Protocol::Smtp, b"").is_empty());
    assert!(explain_client(Protocol::Imap, "\r\n").is_empty());
}

#[test]
fn malformed_bytes_do_not_panic() {
    for protocol in [
        Protocol::Smtp,
        Protocol::Lmtp,
        Protocol::Imap,
        Protocol::Pop3,
    ] {
        for raw in [
            &b"\xff\xfe\r\n"[..],
            b"2",
            b"25",
            b"250",
            b"250-",
            b"* ",
            b"+",
            b"-ERR [",
            b"a1 OK [",
            b"\n\n",
        ] {
            let _ = explain_server(protocol, raw);
            let _ = explain_client(protocol, &String::from_utf8_lossy(raw));
        }
    }
}

#[test_case("version.TLSv1.3", "tls.version.TLSv1.3", "RFC 8446"; "TLS 1.3")]
#[test_case("version.TLSv1.2", "tls.version.TLSv1.2", "RFC 5246"; "TLS 1.2")]
#[test_case("version.TLSv1_0", "tls.version.TLSv1.0", "RFC 8996"; "TLS 1.0 as rustls debug-prints it")]
#[test_case("cipher.TLS13_AES_256_GCM_SHA384", "tls.cipher.TLS13_AES_256_GCM_SHA384", "RFC 8446"; "TLS 1.3 suite")]
#[test_case("group.X25519", "tls.group.X25519", "RFC 7748"; "X25519")]
#[test_case("group.SECP256R1MLKEM768", "tls.group.secp256r1MLKEM768", "IANA TLS Supported Groups"; "case-insensitive group")]
#[test_case("error.expired", "tls.error.expired", "RFC 5280"; "expired")]
#[test_case("error.missing_intermediate", "tls.error.missing_intermediate", "RFC 5280"; "missing intermediate")]
#[test_case("finding.starttls_injection", "tls.finding.starttls_injection", "CVE-2011-0411"; "STARTTLS injection")]
fn tls_keys(key: &str, want: &str, source: &str) {
    let e = explain_tls(key).unwrap_or_else(|| panic!("no entry for {key}"));
    assert_eq!(e.key, want);
    assert!(e.source.contains(source), "{key}: {:?}", e.source);
}

#[test]
fn missing_intermediate_says_serve_the_full_chain() {
    let e = explain_tls("error.missing_intermediate").unwrap_or_else(|| panic!("missing"));
    assert!(
        e.text.contains("full chain") && e.text.contains("leaf first"),
        "{}",
        e.text
    );
}

#[test]
fn unknown_tls_key_is_none() {
    assert_eq!(explain_tls("cipher.TLS_NULL_WITH_NULL_NULL"), None);
    assert_eq!(explain_tls("no-dot"), None);
}

#[test]
fn cipher_suite_is_split_into_its_parts() {
    let got = explain_cipher_suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    assert_eq!(
        keys(&got),
        [
            "tls.cipher.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "tls.kx.ECDHE",
            "tls.auth.RSA",
            "tls.bulk.AES_256_GCM",
            "tls.hash.SHA384"
        ]
    );
    let got = explain_cipher_suite("TLS13_CHACHA20_POLY1305_SHA256");
    assert_eq!(
        keys(&got),
        [
            "tls.cipher.TLS13_CHACHA20_POLY1305_SHA256",
            "tls.bulk.CHACHA20_POLY1305",
            "tls.hash.SHA256"
        ]
    );
    let got = explain_cipher_suite("TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(got[0].matched, Match::Unknown);
    assert_eq!(find(&got, "tls.kx.RSA").matched, Match::Exact);
}

#[test]
fn handshake_summary_is_explained_item_by_item() {
    let summary = HandshakeSummary {
        version: "TLSv1.3".into(),
        cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
        kx_group: Some("X25519MLKEM768".into()),
        alpn: None,
        sni: Some("mail.test.example".into()),
        resumed: true,
        ocsp_stapled: false,
        client_cert: None,
    };
    let got = explain_handshake(&summary);
    assert_eq!(
        keys(&got),
        [
            "tls.version.TLSv1.3",
            "tls.cipher.TLS13_AES_128_GCM_SHA256",
            "tls.bulk.AES_128_GCM",
            "tls.hash.SHA256",
            "tls.group.X25519MLKEM768",
            "tls.feature.sni",
            "tls.feature.resumption"
        ]
    );
    assert!(got.iter().all(|e| e.matched == Match::Exact));
    assert!(
        find(&got, "tls.feature.sni")
            .title
            .contains("mail.test.example")
    );
}

#[test]
fn verdict_error_is_explained() {
    let verdict = Verdict {
        trusted: false,
        hostname_match: true,
        name_checked: "mail.test.example".into(),
        error: Some(mailwire::tls::VerdictCode::SelfSigned),
        detail: None,
        ..Verdict::default()
    };
    assert_eq!(
        explain_verdict(&verdict).map(|e| e.key),
        Some("tls.error.self_signed".into())
    );
    let trusted = Verdict {
        trusted: true,
        error: None,
        ..verdict
    };
    assert_eq!(explain_verdict(&trusted), None);
}

// --- Everything the real Postfix and Dovecot test servers emit ---------------

const SMTP_CODES: &[u16] = &[
    220, 221, 235, 250, 334, 354, 454, 500, 501, 502, 503, 530, 535, 550, 554,
];
const ENHANCED: &[&str] = &[
    "2.0.0", "2.1.0", "2.1.5", "2.7.0", "5.5.1", "5.5.2", "5.5.4", "5.7.0", "5.7.1", "5.7.8",
    "5.1.1", "4.7.0", "5.5.0",
];
const EHLO_KEYWORDS: &[&str] = &[
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "STARTTLS",
    "AUTH PLAIN LOGIN",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
];
const IMAP_CAPABILITIES: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED \
    AUTH=PLAIN AUTH=LOGIN SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND \
    URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH \
    ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE \
    SAVEDATE SPECIAL-USE";
const IMAP_CODES: &[&str] = &[
    "CAPABILITY IMAP4rev1",
    "AUTHENTICATIONFAILED",
    "PRIVACYREQUIRED",
    "READ-WRITE",
    "READ-ONLY",
    "UIDVALIDITY 1",
    "UIDNEXT 2",
    "PERMANENTFLAGS (\\Seen \\*)",
    "UNSEEN 1",
    "ALERT",
];
const POP3_CAPA: &[&str] = &[
    "CAPA",
    "TOP",
    "UIDL",
    "RESP-CODES",
    "PIPELINING",
    "AUTH-RESP-CODE",
    "STLS",
    "USER",
    "SASL PLAIN",
];
const POP3_CODES: &[&str] = &["AUTH", "IN-USE", "SYS/TEMP"];
const RUSTLS_DEFAULT_SUITES: &[&str] = &[
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];
/// The stable verdict codes of `tls::verifier::Verdict::error`.
const VERDICT_CODES: &[&str] = &[
    "expired",
    "not_yet_valid",
    "self_signed",
    "missing_intermediate",
    "unknown_issuer",
    "name_mismatch",
    "bad_signature",
    "invalid_purpose",
    "revoked",
    "no_certificate",
    "other",
];

fn assert_all_exact(what: &str, got: &[Explanation]) {
    for e in got {
        assert_eq!(
            e.matched,
            Match::Exact,
            "{what}: {} ({}) is not in the catalogue",
            e.title,
            e.key
        );
    }
}

#[test]
fn real_server_smtp_codes_are_covered() {
    for code in SMTP_CODES {
        assert_all_exact(
            &code.to_string(),
            &explain_server(Protocol::Smtp, format!("{code} x\r\n").as_bytes()),
        );
    }
    for enhanced in ENHANCED {
        // The enhanced code's class must agree with the reply code's
        // (RFC 3463 §2); the parser only reads it then.
        let class = &enhanced[..1];
        let got = explain_server(
            Protocol::Smtp,
            format!("{class}50 {enhanced} x\r\n").as_bytes(),
        );
        assert_eq!(got.len(), 2, "{enhanced}: {got:?}");
        assert_all_exact(enhanced, &got);
    }
    let mut ehlo = String::from("250-mail.test.example\r\n");
    for keyword in EHLO_KEYWORDS {
        ehlo.push_str(&format!("250-{keyword}\r\n"));
    }
    ehlo.push_str("250 HELP\r\n");
    let got = explain_server(Protocol::Smtp, ehlo.as_bytes());
    assert_eq!(
        got.iter()
            .filter(|e| e.key.starts_with("smtp.ehlo."))
            .count(),
        EHLO_KEYWORDS.len() + 1
    );
    assert_all_exact("EHLO", &got);
}

#[test]
fn real_server_imap_items_are_covered() {
    let got = explain_server(
        Protocol::Imap,
        format!("* CAPABILITY {IMAP_CAPABILITIES}\r\n").as_bytes(),
    );
    let capabilities = got
        .iter()
        .filter(|e| e.key.starts_with("imap.capability."))
        .count();
    assert_eq!(capabilities, IMAP_CAPABILITIES.split_whitespace().count());
    assert_all_exact("IMAP CAPABILITY", &got);
    for code in IMAP_CODES {
        let got = explain_server(Protocol::Imap, format!("a1 OK [{code}] x\r\n").as_bytes());
        assert!(
            got.iter().any(|e| e.key.starts_with("imap.code.")),
            "{code}: {got:?}"
        );
        assert_all_exact(code, &got);
    }
}

#[test]
fn real_server_pop3_items_are_covered() {
    let body: String = POP3_CAPA.iter().map(|t| format!("{t}\r\n")).collect();
    let got = explain_server(Protocol::Pop3, format!("+OK\r\n{body}.\r\n").as_bytes());
    assert_eq!(
        got.iter()
            .filter(|e| e.key.starts_with("pop3.capa."))
            .count(),
        POP3_CAPA.len()
    );
    assert_all_exact("POP3 CAPA", &got);
    for code in POP3_CODES {
        let got = explain_server(Protocol::Pop3, format!("-ERR [{code}] x\r\n").as_bytes());
        assert_eq!(got.len(), 2, "{code}: {got:?}");
        assert_all_exact(code, &got);
    }
}

#[test]
fn real_server_tls_items_are_covered() {
    for version in ["TLSv1.2", "TLSv1.3"] {
        assert!(
            explain_tls(&format!("version.{version}")).is_some(),
            "{version}"
        );
    }
    for suite in RUSTLS_DEFAULT_SUITES {
        assert_all_exact(suite, &explain_cipher_suite(suite));
    }
    for group in ["X25519", "secp256r1", "secp384r1", "X25519MLKEM768"] {
        assert!(explain_tls(&format!("group.{group}")).is_some(), "{group}");
    }
    for code in VERDICT_CODES {
        assert!(explain_tls(&format!("error.{code}")).is_some(), "{code}");
    }
    // Every code the verifier can produce is explained, not only the old ones.
    for code in mailwire::tls::VerdictCode::ALL {
        assert!(
            explain_tls(&format!("error.{}", code.as_str())).is_some(),
            "{code}"
        );
    }
}

// --- Corrected texts and citations (issue 16) ---------------------------------

#[test]
fn password_transition_432_4_7_12_means_log_in_once_with_plain() {
    let got = explain_server(
        Protocol::Smtp,
        b"432 4.7.12 A password transition is needed\r\n",
    );
    assert_eq!(keys(&got), ["smtp.reply.432", "smtp.enhanced.X.7.12"]);
    for e in &got {
        // RFC 4954 §6: authenticate once with PLAIN so the server can convert
        // the stored credential; the password is not changed.
        assert!(
            e.text.contains("PLAIN") && e.text.contains("convert"),
            "{}: {}",
            e.key,
            e.text
        );
        assert!(!e.text.contains("must change"), "{}: {}", e.key, e.text);
        assert!(e.source.contains("RFC 4954 §6"), "{}", e.source);
    }
}

#[test]
fn trust_relationship_x_7_14_is_the_burl_case() {
    let got = explain_server(
        Protocol::Smtp,
        b"554 5.7.14 No IMAP URLAUTH access available\r\n",
    );
    let e = find(&got, "smtp.enhanced.X.7.14");
    assert!(
        e.text.contains("BURL")
            && e.text.contains("submission server")
            && e.text.contains("IMAP server named in the URL"),
        "{}",
        e.text
    );
    assert!(
        e.source.contains("RFC 5248 §2.4") && e.source.contains("RFC 4468"),
        "{}",
        e.source
    );
}

#[test]
fn notsaved_means_the_result_was_not_saved_not_that_search_failed() {
    let got = explain_server(
        Protocol::Imap,
        b"a1 OK [NOTSAVED] SEARCH completed, result not saved\r\n",
    );
    let e = find(&got, "imap.code.NOTSAVED");
    assert!(
        e.text.contains("refused to save")
            && e.text.contains("search itself may well have succeeded"),
        "{}",
        e.text
    );
    assert!(!e.text.contains("because the last SEARCH failed"));
    assert!(e.source.contains("RFC 5182 §2.5"), "{}", e.source);
}

#[test_case("smtp.enhanced.X.7.10", "authentication mechanism"; "X.7.10 is about the AUTH mechanism")]
#[test_case("imap.code.CLIENTBUG", "usually still carried out"; "CLIENTBUG")]
#[test_case("imap.code.METADATA", "LONGENTRIES n"; "METADATA arguments")]
#[test_case("smtp.ehlo.SUBMITTER", "Deprecated"; "SUBMITTER deprecated")]
#[test_case("smtp.reply.211", "most servers answer HELP with 214"; "211 is rare")]
#[test_case("sasl.mechanism.XOAUTH2", "IANA lists it as obsolete"; "XOAUTH2 obsolete")]
fn imprecise_texts_are_precise(key: &str, phrase: &str) {
    let e = catalogue()
        .get(key)
        .unwrap_or_else(|| panic!("no entry {key}"));
    assert!(e.text.contains(phrase), "{key}: {}", e.text);
}

#[test_case("smtp.enhanced-class.5", "RFC 3463 §2")]
#[test_case("smtp.enhanced-subject.7", "RFC 3463 §2")]
#[test_case("smtp.enhanced.X.1.10", "RFC 7505 §4.1")]
#[test_case("smtp.enhanced.X.7.27", "RFC 7505 §4.1")]
#[test_case("imap.capability.LITERAL-", "RFC 7888 §5")]
#[test_case("imap.data.QUOTA", "RFC 9208 §4.2.1")]
#[test_case("imap.data.QUOTAROOT", "RFC 9208 §4.2.2")]
#[test_case("imap.command.GETQUOTA", "RFC 9208 §4.1.1")]
#[test_case("imap.command.GETQUOTAROOT", "RFC 9208 §4.1.2")]
#[test_case("imap.data.MYRIGHTS", "RFC 4314 §3.8")]
#[test_case("imap.code.METADATA", "RFC 5464 §4.2.1, §4.3")]
#[test_case("imap.code.TOOBIG", "RFC 4469 §4.2")]
#[test_case("imap.code.BADURL", "RFC 4469 §4.1")]
#[test_case("imap.code.NOUPDATE", "RFC 5267 §4.3.1")]
#[test_case("imap.code.NOTSAVED", "RFC 5182 §2.5")]
#[test_case("pop3.code.IN-USE", "RFC 2449 §8.1.2")]
#[test_case("pop3.code.UTF8", "RFC 6856 §5")]
#[test_case("imap.capability.UTF8=ACCEPT", "RFC 9755")]
#[test_case("imap.capability.UTF8=ONLY", "RFC 9755")]
#[test_case("tls.group.X25519MLKEM768", "RFC 10024")]
#[test_case("tls.group.secp256r1MLKEM768", "RFC 10024")]
#[test_case("tls.group.secp384r1MLKEM1024", "RFC 10024")]
fn corrected_citations(key: &str, want: &str) {
    let e = catalogue()
        .get(key)
        .unwrap_or_else(|| panic!("no entry {key}"));
    assert!(e.source.contains(want), "{key}: {}", e.source);
}

/// The (RFC, section) pairs a source cites: `RFC 5321 §4.2.3, §3.1` gives
/// (5321, 4.2.3) and (5321, 3.1).
fn cited_sections(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for segment in source.split("; ") {
        let Some(rest) = segment.strip_prefix("RFC ") else {
            continue;
        };
        let (number, sections) = rest.split_once(' ').unwrap_or((rest, ""));
        for section in sections.split(", ") {
            if let Some(section) = section.strip_prefix('§') {
                let section = section.split(' ').next().unwrap_or_default();
                out.push((number.to_string(), section.to_string()));
            }
        }
    }
    out
}

#[test]
fn sections_the_issue_names_as_wrong_are_gone() {
    // Sections that do not exist, or hold something else (issue 16).
    let wrong = [
        ("7505", "4.2"),
        ("7888", "4"),
        ("4314", "3.9"),
        ("5464", "4.2.3"),
        ("4469", "5"),
        ("5267", "4.2"),
        ("5182", "2.1"),
        ("2449", "8.2"),
    ];
    for (key, e) in catalogue().iter() {
        for (rfc, section) in cited_sections(&e.source) {
            assert!(
                !wrong.contains(&(rfc.as_str(), section.as_str())),
                "{key} still cites RFC {rfc} §{section}: {}",
                e.source
            );
        }
        // Enhanced class and subject entries cite the structure section, §2.
        if key.starts_with("smtp.enhanced-") {
            assert!(e.source.contains("RFC 3463 §2"), "{key}: {}", e.source);
        }
        assert!(
            !e.source.contains("draft-ietf-tls-ecdhe-mlkem"),
            "{key}: the hybrid groups are RFC 10024 now"
        );
    }
    assert_eq!(
        cited_sections("RFC 5321 §4.2.3, §3.1; RFC 3207 §4; IANA X"),
        [
            ("5321".to_string(), "4.2.3".to_string()),
            ("5321".to_string(), "3.1".to_string()),
            ("3207".to_string(), "4".to_string())
        ]
    );
}

// --- Gaps the issue lists -------------------------------------------------------

#[test_case("253 2.0.0 OK, 3 pending messages for node example.org started\r\n", "smtp.reply.253"; "253")]
#[test_case("458 Unable to queue messages for node example.org\r\n", "smtp.reply.458"; "458")]
#[test_case("459 Node example.org not allowed: not a client\r\n", "smtp.reply.459"; "459")]
#[test_case("430 4.2.0 busy\r\n", "smtp.reply.430"; "430")]
#[test_case("523 5.7.10 Encryption Needed\r\n", "smtp.reply.523"; "523")]
#[test_case("525 5.7.13 User Account Disabled\r\n", "smtp.reply.525"; "525")]
fn missing_reply_codes_have_entries(raw: &str, key: &str) {
    let got = explain_server(Protocol::Smtp, raw.as_bytes());
    assert_eq!((got[0].key.as_str(), got[0].matched), (key, Match::Exact));
}

#[test]
fn historic_ehlo_keywords_have_entries() {
    let ehlo = "250-mail.example\r\n250-VERB\r\n250-ONEX\r\n250-CHECKPOINT\r\n250-CONNEG\r\n\
                250-CONPERM\r\n250-SEND\r\n250-SOML\r\n250 SAML\r\n";
    let got = explain_server(Protocol::Smtp, ehlo.as_bytes());
    assert_eq!(
        keys(&got)[1..],
        [
            "smtp.ehlo.VERB",
            "smtp.ehlo.ONEX",
            "smtp.ehlo.CHECKPOINT",
            "smtp.ehlo.CONNEG",
            "smtp.ehlo.CONPERM",
            "smtp.ehlo.SEND",
            "smtp.ehlo.SOML",
            "smtp.ehlo.SAML"
        ]
    );
    assert_all_exact("historic EHLO", &got);
}

#[test_case("UIDREQUIRED")]
#[test_case("TOOMANY")]
#[test_case("TOOFEW")]
#[test_case("DOWNGRADED")]
#[test_case("BADCOMPARATOR")]
#[test_case("NOTIFICATIONOVERFLOW")]
#[test_case("BADEVENT")]
#[test_case("UNDEFINED-FILTER")]
#[test_case("URLMECH")]
#[test_case("TEMPFAIL")]
#[test_case("MAXCONVERTMESSAGES")]
#[test_case("MAXCONVERTPARTS")]
fn extension_response_codes_have_entries(code: &str) {
    let got = explain_server(Protocol::Imap, format!("a1 NO [{code}] x\r\n").as_bytes());
    let e = find(&got, &format!("imap.code.{code}"));
    assert_eq!(e.matched, Match::Exact);
}

#[test_case("SCRAM-SHA-512", "sasl.family.SCRAM-*"; "SCRAM family")]
#[test_case("SCRAM-SHA3-512-PLUS", "sasl.family.SCRAM-*-PLUS"; "SCRAM PLUS family")]
#[test_case("GS2-IAKERB", "sasl.family.GS2-*"; "GS2 family")]
#[test_case("GS2-KRB5-PLUS", "sasl.family.GS2-*-PLUS"; "GS2 PLUS family")]
#[test_case("9798-U-RSA-SHA1-ENC", "sasl.family.9798-*"; "ISO 9798 family")]
fn sasl_families_explain_unlisted_variants(mechanism: &str, key: &str) {
    let got = explain_client(Protocol::Smtp, &format!("AUTH {mechanism}"));
    assert_eq!(
        (got[1].key.as_str(), got[1].matched),
        (key, Match::Fallback)
    );
    assert!(got[1].title.contains(mechanism), "{}", got[1].title);
}

// --- TLS alerts -------------------------------------------------------------------

#[test]
fn alert_70_says_no_common_version_and_how_to_fix_it() {
    let e = explain_alert(70);
    assert_eq!((e.key.as_str(), e.matched), ("tls.alert.70", Match::Exact));
    assert!(
        e.title
            .starts_with("TLS alert 70: protocol_version (no common TLS version)"),
        "{}",
        e.title
    );
    assert!(
        e.text.contains("TLS 1.2 and 1.3") && e.text.contains("Enable"),
        "{}",
        e.text
    );
    assert!(e.source.contains("IANA TLS Alerts") && e.source.contains("RFC 8446 §6.2"));
}

#[test_case(0, "close_notify")]
#[test_case(40, "handshake_failure")]
#[test_case(48, "unknown_ca")]
#[test_case(112, "unrecognized_name")]
#[test_case(116, "certificate_required")]
#[test_case(117, "general_error")]
#[test_case(121, "ech_required")]
fn alerts_carry_their_iana_names(code: u8, name: &str) {
    let e = explain_alert(code);
    assert_eq!(e.matched, Match::Exact);
    assert!(
        e.title.starts_with(&format!("TLS alert {code}: {name} (")),
        "{}",
        e.title
    );
}

#[test]
fn unregistered_alert_still_reads_as_a_sentence() {
    for code in [1u8, 99, 200, 255] {
        let e = explain_alert(code);
        assert_eq!(e.matched, Match::Unknown);
        assert_eq!(e.key, "tls.unknown.alert");
        assert_eq!(
            e.title,
            format!("TLS alert {code}: not a registered TLS alert")
        );
        assert!(e.text.ends_with('.'));
    }
}

// --- Findings ------------------------------------------------------------------------

#[test]
fn every_finding_id_has_an_explanation() {
    for id in FindingId::ALL {
        let e = explain_finding(id);
        assert_eq!(
            (e.key.as_str(), e.matched),
            (format!("finding.id.{id}").as_str(), Match::Exact),
            "finding id {id} has no entry in assets/explain/finding.toml"
        );
        assert!(e.title.to_lowercase().contains(id.as_str()), "{}", e.title);
    }
    // And no entry for an id that no longer exists.
    for (key, _) in catalogue().iter() {
        if let Some(id) = key.strip_prefix("finding.id.") {
            assert!(
                FindingId::ALL.iter().any(|known| known.as_str() == id),
                "{key} explains an id FindingId::ALL does not have"
            );
        }
    }
    let unknown = explain_finding(&FindingId::Unknown("from_the_future".into()));
    assert_eq!(unknown.matched, Match::Unknown);
}

// --- IANA registry snapshots ------------------------------------------------------------

fn snapshots() -> Vec<(&'static str, RegistrySnapshot)> {
    registry_snapshots().unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `key` of registry file `stem` is explained, by an entry or a
/// family fallback, through the same lookups the explain pane uses.
fn covered(stem: &str, key: &str) -> Result<(), String> {
    let fail = |got: &[Explanation]| Err(format!("{:?}", keys(got)));
    match stem {
        "smtp-service-extensions" => {
            let got = explain_server(Protocol::Smtp, format!("250-x\r\n250 {key}\r\n").as_bytes());
            match got.get(1) {
                Some(e) if e.key.starts_with("smtp.ehlo.") && e.matched == Match::Exact => Ok(()),
                _ => fail(&got),
            }
        }
        "smtp-enhanced-class" => {
            let class = key.split('.').next().unwrap_or_default();
            let got = explain_server(
                Protocol::Smtp,
                format!("{class}50 {class}.9.999 x\r\n").as_bytes(),
            );
            match got.get(1) {
                Some(e) if e.key == format!("smtp.enhanced-class.{class}") => Ok(()),
                _ => fail(&got),
            }
        }
        "smtp-enhanced-subject" => {
            let subject = key.split('.').nth(1).unwrap_or_default();
            let entry = catalogue().get(&format!("smtp.enhanced-subject.{subject}"));
            let got = explain_server(
                Protocol::Smtp,
                format!("550 5.{subject}.999 x\r\n").as_bytes(),
            );
            match (entry, got.get(1)) {
                (Some(entry), Some(e))
                    if e.matched == Match::Fallback
                        && e.title.contains(&entry.name.to_lowercase()) =>
                {
                    Ok(())
                }
                _ => fail(&got),
            }
        }
        "smtp-enhanced-enumerated" => {
            let code = key.replacen('X', "5", 1);
            let got = explain_server(Protocol::Smtp, format!("550 {code} x\r\n").as_bytes());
            match got.get(1) {
                Some(e) if e.key == format!("smtp.enhanced.{key}") && e.matched == Match::Exact => {
                    Ok(())
                }
                _ => fail(&got),
            }
        }
        "imap-capabilities" | "imap-threading-algorithms" => {
            let cap = if stem == "imap-threading-algorithms" {
                format!("THREAD={key}")
            } else {
                key.to_string()
            };
            let got = explain_server(Protocol::Imap, format!("* CAPABILITY {cap}\r\n").as_bytes());
            match got.get(2) {
                Some(e)
                    if e.matched == Match::Exact
                        && (stem == "imap-capabilities"
                            || e.key
                                .eq_ignore_ascii_case(&format!("imap.capability.{cap}"))) =>
                {
                    Ok(())
                }
                _ => fail(&got),
            }
        }
        "imap-response-codes" => {
            let got = explain_server(Protocol::Imap, format!("a1 NO [{key}] x\r\n").as_bytes());
            match got.get(2) {
                Some(e) if e.key.starts_with("imap.code.") && e.matched == Match::Exact => Ok(()),
                _ => fail(&got),
            }
        }
        "pop3-capabilities" => {
            let got = explain_server(Protocol::Pop3, format!("+OK\r\n{key}\r\n.\r\n").as_bytes());
            match got.get(1) {
                Some(e) if e.key.starts_with("pop3.capa.") && e.matched == Match::Exact => Ok(()),
                _ => fail(&got),
            }
        }
        "pop3-response-codes" => {
            let got = explain_server(Protocol::Pop3, format!("-ERR [{key}] x\r\n").as_bytes());
            match got.get(1) {
                Some(e) if e.key.starts_with("pop3.code.") && e.matched == Match::Exact => Ok(()),
                _ => fail(&got),
            }
        }
        "sasl-mechanisms" => {
            let got = explain_client(Protocol::Smtp, &format!("AUTH {key}"));
            match got.get(1) {
                Some(e) if e.matched != Match::Unknown => Ok(()),
                _ => fail(&got),
            }
        }
        "tls-alerts" => {
            let code: u8 = key.parse().map_err(|e| format!("{e}"))?;
            let e = explain_alert(code);
            if e.matched == Match::Exact && e.key == format!("tls.alert.{code}") {
                Ok(())
            } else {
                Err(e.key)
            }
        }
        other => Err(format!("no coverage probe for registry file {other}")),
    }
}

#[test]
fn every_registered_key_has_an_entry_or_a_family_fallback() {
    let mut missing = Vec::new();
    for (stem, snapshot) in snapshots() {
        for key in &snapshot.keys {
            if let Err(got) = covered(stem, key) {
                missing.push(format!("{} {key}: {got}", snapshot.title));
            }
        }
    }
    assert!(missing.is_empty(), "not covered:\n{}", missing.join("\n"));
}

#[test]
fn snapshots_hold_the_registries_the_issue_names() {
    let titles: Vec<String> = snapshots().into_iter().map(|(_, s)| s.title).collect();
    for want in [
        "SMTP Service Extensions",
        "Class Sub-Codes",
        "Subject Sub-Codes",
        "Enumerated Status Codes",
        "IMAP Capabilities",
        "IMAP Response Codes",
        "IMAP Threading Algorithms",
        "POP3 Capabilities",
        "POP3 Response Codes",
        "SASL Mechanisms",
        "TLS Alerts",
    ] {
        assert!(titles.iter().any(|t| t == want), "no snapshot of {want}");
    }
    let alerts = snapshots()
        .into_iter()
        .find(|(stem, _)| *stem == "tls-alerts")
        .map(|(_, s)| s.keys.len());
    assert_eq!(alerts, Some(37), "IANA lists 37 TLS alerts");
}

/// IANA registries the catalogue cites without a snapshot (no key check).
const CITED_WITHOUT_SNAPSHOT: &[&str] = &[
    "TLS Cipher Suites",
    "TLS Supported Groups",
    "Service Name and Transport Protocol Port Number Registry",
];

/// A registry key as the catalogue names it: `2.XXX.YYY` -> `2`, `X.7.XXX` -> `7`.
fn short_key(key: &str) -> String {
    if let Some(class) = key.strip_suffix(".XXX.YYY") {
        return class.to_ascii_uppercase();
    }
    if let Some(subject) = key.strip_suffix(".XXX").and_then(|k| k.strip_prefix("X.")) {
        return subject.to_string();
    }
    key.to_ascii_uppercase()
}

#[test]
fn every_iana_citation_names_a_real_registry_and_a_key_it_holds() {
    let snapshots = snapshots();
    let mut bad = Vec::new();
    for (key, entry) in catalogue().iter() {
        let mut parts = key.splitn(3, '.');
        let (group, name) = (
            parts.nth(1).unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        for segment in entry.source.split("; ") {
            let Some(cited) = segment.strip_prefix("IANA ") else {
                assert!(
                    !segment.contains("IANA"),
                    "{key}: write IANA citations as \"IANA <title>\": {segment}"
                );
                continue;
            };
            // A trailing "(KEY, note)" names the key; titles may hold "(SMTP)".
            let (title, listed) = match cited.strip_suffix(')').and_then(|c| c.rsplit_once(" (")) {
                Some((title, inner)) => (
                    title,
                    Some(
                        inner
                            .split(',')
                            .next()
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    ),
                ),
                None => (cited, None),
            };
            let snapshot = snapshots
                .iter()
                .map(|(_, s)| s)
                .find(|s| title == s.title || title == format!("{}, {}", s.page, s.title));
            let Some(snapshot) = snapshot else {
                if !CITED_WITHOUT_SNAPSHOT.contains(&title) {
                    bad.push(format!("{key}: no IANA registry is titled {title:?}"));
                }
                continue;
            };
            // The key it lists: named in parentheses, else the entry's own name;
            // the "not in the catalogue" entries cite a registry as a pointer only.
            let wanted = match listed {
                Some(k) => k,
                None if group == "unknown" => continue,
                None => name.to_string(),
            };
            if !snapshot
                .keys
                .iter()
                .any(|k| short_key(k) == wanted.to_ascii_uppercase())
            {
                bad.push(format!("{key}: {title} has no key {wanted}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn readme_states_the_coverage_of_every_snapshot() {
    let readme = include_str!("../README.md");
    for (stem, snapshot) in snapshots() {
        let row = format!("{} | {} |", snapshot.title, snapshot.keys.len());
        assert!(readme.contains(&row), "README lacks \"{row}\" ({stem})");
        let date = snapshot.iana_updated.as_deref().unwrap_or("none");
        assert!(
            readme.lines().any(|l| l.contains(&row) && l.contains(date)),
            "README's row for {stem} lacks {date}"
        );
        assert!(readme.contains(&format!("assembled {}", snapshot.assembled)));
    }
}
