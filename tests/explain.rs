//! The explain catalogue against real server lines, client lines and TLS
//! items: each lookup must find the right entry with the right source, and
//! everything the Postfix and Dovecot test servers emit must be covered.

use mailwire::explain::{
    Explanation, Match, explain_cipher_suite, explain_client, explain_handshake, explain_server,
    explain_tls, explain_verdict,
};
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
    &["pop3.status.-ERR", "pop3.code.IN-USE"], "pop3.code.IN-USE", "RFC 2449 §8.2"; "POP3 -ERR IN-USE")]
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
        error: Some("self_signed".into()),
        detail: None,
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
        let got = explain_server(Protocol::Smtp, format!("250 {enhanced} x\r\n").as_bytes());
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
}
