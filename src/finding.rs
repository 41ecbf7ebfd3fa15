//! Typed findings: every peer fault or risk mailwire diagnoses, in one shape,
//! shown the same way everywhere (`check` text and JSON, the TUI, recordings).
//!
//! ```text
//! session::Dialogue (protocol faults) --+
//! session::engine   (timeouts, framing) -+--> Finding --> Event::Finding --> check / TUI / recorder
//! tls, cert         (handshake, chain) --+
//! ```
//!
//! A finding says what happened (`summary`), shows the exact evidence (the
//! bytes as received, escaped when shown), says what it means and what to do
//! (`advice`), and names its source (`RFC 5321 §4.2`). Ids are stable
//! snake_case strings, listed in [`FindingId::ALL`] and documented in README
//! ("Findings"); a recording or a JSON report from a newer mailwire may hold
//! an id this build does not know, which loads as [`FindingId::Unknown`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How much a finding matters for the operator.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    #[default]
    Info,
    /// A risk or a deviation from the RFCs that real clients tolerate.
    Warning,
    /// The step failed, or the session is not safe to use.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the session a finding arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Resolving and opening the TCP connection.
    Connect,
    /// Waiting for or reading the server's greeting (banner).
    Greeting,
    /// EHLO/LHLO, IMAP CAPABILITY, POP3 CAPA.
    Capabilities,
    /// The STARTTLS/STLS command and its reply.
    Starttls,
    /// The TLS handshake.
    Handshake,
    /// The certificate chain the server presented.
    Certificate,
    /// AUTH, LOGIN, AUTHENTICATE, USER/PASS, APOP.
    Authentication,
    /// MAIL, RCPT, DATA/BDAT and the message body (SMTP, LMTP).
    Transaction,
    /// Any other command and its response.
    #[default]
    Command,
    /// QUIT/LOGOUT and the end of the connection.
    Close,
    /// DNS lookups (MX, TXT, TLSA).
    Dns,
    /// Domain policies: MTA-STS, DANE, TLS-RPT.
    Policy,
    /// A stage this build does not know (from a newer recording).
    #[serde(other)]
    Unknown,
}

impl Stage {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Capabilities => "capabilities",
            Stage::Starttls => "starttls",
            Stage::Handshake => "handshake",
            Stage::Certificate => "certificate",
            Stage::Authentication => "authentication",
            Stage::Transaction => "transaction",
            Stage::Command => "command",
            Stage::Close => "close",
            Stage::Dns => "dns",
            Stage::Policy => "policy",
            Stage::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares [`FindingId`]: variant, stable id, and its one-line meaning
/// (README's table and the explain catalogue are checked against this list).
macro_rules! finding_ids {
    ($($variant:ident => $id:literal, $meaning:literal;)+) => {
        /// A stable finding id (snake_case on the wire and in JSON).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum FindingId {
            $(#[doc = $meaning] $variant,)+
            /// An id this build does not know (from a newer recording or report).
            Unknown(String),
        }

        impl FindingId {
            /// Every id this build can produce, in declaration order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)+];

            /// The id as written in JSON, recordings and README.
            pub fn as_str(&self) -> &str {
                match self {
                    $(FindingId::$variant => $id,)+
                    FindingId::Unknown(s) => s,
                }
            }

            /// One line: what the id means (README's table).
            pub fn meaning(&self) -> &'static str {
                match self {
                    $(FindingId::$variant => $meaning,)+
                    FindingId::Unknown(_) => "a finding this version of mailwire does not know",
                }
            }
        }

        impl FromStr for FindingId {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($id => FindingId::$variant,)+
                    other => FindingId::Unknown(other.to_string()),
                })
            }
        }
    };
}

finding_ids! {
    // ---- connection and framing (engine) ----
    ConnectFailed => "connect_failed", "The TCP connection could not be opened (refused, unreachable, name not found).";
    Timeout => "timeout", "The server did not answer within the time limit.";
    ConnectionClosed => "connection_closed", "The server closed the connection while an answer was still owed.";
    ReadFailed => "read_failed", "Reading from or writing to the connection failed (reset by the peer).";
    LineTooLong => "line_too_long", "A line exceeded the per-line limit without a line ending; the connection was cut.";
    ReplyTooLarge => "reply_too_large", "One reply or response exceeded the per-reply limit (lines or bytes); the connection was cut.";
    LiteralTooLarge => "literal_too_large", "An IMAP literal announced more bytes than the limit; the connection was cut.";
    // ---- what the server sent (dialogue) ----
    EmptyLine => "empty_line", "An empty line where a reply was expected; skipped, not taken as an answer.";
    JunkLine => "junk_line", "A line that is not a reply in the protocol's syntax; skipped, not taken as an answer.";
    ControlBytes => "control_bytes", "Control bytes inside reply text (outside the RFC grammar); shown escaped.";
    InvalidUtf8 => "invalid_utf8", "Reply text that is not UTF-8 (e.g. Latin-1 or binary); shown escaped.";
    BareLf => "bare_lf", "A line ended in a bare LF instead of CRLF.";
    UnsolicitedReply => "unsolicited_reply", "A reply arrived when no command was waiting for one (pipelined ahead or injected).";
    UnknownTag => "unknown_tag", "An IMAP tagged response carries a tag the client never sent.";
    ServiceRefused => "service_refused", "The server refused service in its greeting (SMTP 554/421, IMAP * BYE, POP3 -ERR).";
    ServiceClosing => "service_closing", "The server announced it is closing the session (SMTP 421, IMAP * BYE).";
    NoCloseAfterQuit => "no_close_after_quit", "The server answered QUIT (LOGOUT) but did not close the connection.";
    NoEsmtp => "no_esmtp", "EHLO was rejected, so the server speaks no ESMTP; HELO was used and STARTTLS is impossible.";
    CapaUnsupported => "capa_unsupported", "POP3 CAPA was answered with -ERR; the server lists no capabilities (STLS is still tried).";
    ImplicitTlsPort => "implicit_tls_port", "The port answered with TLS records in the plaintext phase: it speaks implicit TLS.";
    WrongService => "wrong_service", "The port speaks another service (SSH, HTTP, ...), not the mail protocol asked for.";
    WrongProtocol => "wrong_protocol", "The server answers in another mail protocol's syntax (e.g. SMTP on an IMAP URL).";
    PreauthGreeting => "preauth_greeting", "IMAP PREAUTH greeting: the session is already authenticated, so STARTTLS is impossible.";
    // ---- STARTTLS ----
    StarttlsNotAdvertised => "starttls_not_advertised", "STARTTLS/STLS is not among the capabilities (a middlebox may have stripped it).";
    StarttlsRefused => "starttls_refused", "The server answered STARTTLS/STLS negatively; the session stays in plaintext.";
    StarttlsInjection => "starttls_injection", "Bytes arrived after the STARTTLS reply and before the handshake (response injection).";
    AuthInPlaintext => "auth_in_plaintext", "AUTH/LOGIN is offered before TLS, inviting credentials in cleartext.";
    CredentialsExposed => "credentials_exposed", "Credentials were sent over plaintext or over TLS whose certificate did not verify.";
    CredentialsWithheld => "credentials_withheld", "A scripted send did not send its credentials: plaintext or an unverified certificate, and no --insecure.";
    SendRefused => "send_refused", "The server refused a step of a scripted send (AUTH, MAIL FROM, RCPT TO, DATA or the message); its reply is quoted.";
    // ---- TLS (engine and tls/) ----
    HandshakeFailed => "handshake_failed", "The TLS handshake failed; says what mailwire offered and what the server chose.";
    CertificateUntrusted => "certificate_untrusted", "The certificate chain does not verify (see the verdict and the chain findings).";
    // ---- the handshake (tls/client.rs, tls/probe.rs) ----
    TlsAlert => "tls_alert", "The server sent a TLS alert; its number and IANA name are given (e.g. 70 protocol_version).";
    LegacyTlsOnly => "legacy_tls_only", "The server only speaks TLS 1.0/1.1 or SSL, older than any version mailwire implements.";
    TlsVersionRefused => "tls_version_refused", "The server does not speak the only version offered (--tls-version).";
    NoCommonCipher => "no_common_cipher", "The server accepts no cipher suite mailwire implements (e.g. only DHE, RSA key exchange or CBC).";
    NoCommonGroup => "no_common_group", "The server accepts no key-exchange group mailwire implements (e.g. only P-521 or finite-field groups).";
    ClientCertRequired => "client_cert_required", "The server requires a client certificate and none was sent (--cert/--key).";
    ClientCertRejected => "client_cert_rejected", "The server rejected the client certificate given with --cert.";
    ClientCertRequested => "client_cert_requested", "The server asked for a client certificate (optional here); reported even when the handshake succeeds.";
    SniMissing => "sni_missing", "No SNI was sent (IP address or --no-sni) and the server needs it to choose its certificate.";
    SniUnrecognized => "sni_unrecognized", "The server does not recognise the name sent as SNI (alert 112 unrecognized_name).";
    NotTls => "not_tls", "The server answered the ClientHello with bytes that are not TLS.";
    KeyLog => "key_log", "TLS secrets are written to the SSLKEYLOGFILE file; anyone who can read it can decrypt the session.";
    // ---- the certificate chain (cert.rs) ----
    NoCertificate => "no_certificate", "The server sent no certificate.";
    CertUnparsable => "cert_unparsable", "A certificate the server sent is not valid X.509 DER; it is listed by its fingerprint.";
    CertOldVersion => "cert_old_version", "A certificate on the path is X.509 v1/v2: no extensions (no SAN, no CA flag); refused by current clients.";
    CertExpired => "cert_expired", "A certificate on the path to the trust anchor has expired.";
    CertNotYetValid => "cert_not_yet_valid", "A certificate on the path is not valid yet (its not-before date is in the future).";
    CertExpiresSoon => "cert_expires_soon", "A certificate on the path expires within 30 days.";
    NameMismatch => "name_mismatch", "The leaf is not valid for the name checked; every DNS and IP SAN is listed.";
    WeakKey => "weak_key", "A certificate has a weak key (RSA under 2048 bits, DSA, or an unusual curve), with its size.";
    WeakSignature => "weak_signature", "A certificate is signed with a weak hash (SHA-1, MD5), named.";
    CaAsLeaf => "ca_as_leaf", "The leaf is a CA certificate; clients refuse a CA certificate as the server's own.";
    NotACa => "not_a_ca", "A certificate that issues another on the path is not marked as a CA (basicConstraints).";
    WrongKeyUsage => "wrong_key_usage", "A certificate's (extended) key usage does not allow its role (serverAuth, keyCertSign, digitalSignature).";
    ChainOrder => "chain_order", "The certificates are not sent in issuing order (leaf, then each issuer).";
    NotNeeded => "not_needed", "A certificate was sent that is not on the path to the trust anchor (sent, not needed).";
    RootSent => "root_sent", "The server also sends the root certificate; harmless, clients use their own copy.";
    MissingIntermediate => "missing_intermediate", "The leaf's issuer was not sent and is not a trust anchor; names the issuer and its AIA URL.";
    UntrustedRoot => "untrusted_root", "The chain ends at a root (or issuer) that is not in the trust store used; both are named.";
    SelfSignedLeaf => "self_signed_leaf", "The leaf is self-signed and not in the trust store.";
    // ---- check --scan ----
    LegacyTlsAccepted => "legacy_tls_accepted", "The server still accepts TLS 1.0 or 1.1 (deprecated by RFC 8996) besides TLS 1.2/1.3.";
    LatestTlsRefused => "latest_tls_refused", "The server does not accept TLS 1.3, the latest version.";
    // ---- domain mode: DNS (domain/) ----
    DnsLookupFailed => "dns_lookup_failed", "A DNS lookup failed (SERVFAIL, REFUSED, timeout): the answer is unknown and senders retry later.";
    DnssecBogus => "dnssec_bogus", "A DNSSEC-signed answer fails validation (bogus): validating senders cannot use it and defer the mail.";
    DomainNotFound => "domain_not_found", "The domain does not exist (NXDOMAIN): senders bounce mail for it.";
    NullMx => "null_mx", "The domain publishes a null MX (RFC 7505): it accepts no mail (or mixes it with other MX records).";
    MxImplicit => "mx_implicit", "No MX records: senders deliver to the domain's own address records (implicit MX, RFC 5321 §5.1).";
    MxNoAddress => "mx_no_address", "An MX host has no address records (of the IP version asked): senders skip it.";
    MxCname => "mx_cname", "An MX record names an alias (CNAME) instead of a host (RFC 2181 §10.3).";
    // ---- domain mode: policies (domain/) ----
    MtaStsAbsent => "mta_sts_absent", "The domain publishes no MTA-STS record: senders cannot detect a STARTTLS downgrade.";
    MtaStsRecordInvalid => "mta_sts_record_invalid", "The _mta-sts TXT record is malformed or there are several: senders assume no MTA-STS.";
    MtaStsFetchFailed => "mta_sts_fetch_failed", "The MTA-STS policy could not be fetched over HTTPS (DNS, TLS, status, redirect, type, size, time).";
    MtaStsPolicyInvalid => "mta_sts_policy_invalid", "The MTA-STS policy file is malformed (error: ignored by senders) or deviates from the grammar (warning).";
    MtaStsNotEnforced => "mta_sts_not_enforced", "The MTA-STS policy is in testing or none mode: failures are reported or ignored, not enforced.";
    MtaStsMxMismatch => "mta_sts_mx_mismatch", "An MX host matches no mx pattern of the MTA-STS policy: in enforce mode senders will not deliver to it.";
    MtaStsMxCertificate => "mta_sts_mx_certificate", "An MX host lacks STARTTLS or a trusted certificate valid for its name: in enforce mode senders will not deliver to it.";
    DaneTlsaInsecure => "dane_tlsa_insecure", "TLSA records (or the MX records naming the host) are not DNSSEC-validated: senders ignore DANE for the host.";
    DaneTlsaBogus => "dane_tlsa_bogus", "The TLSA lookup fails DNSSEC validation (bogus): DANE senders defer mail for the host.";
    DaneTlsaUnusable => "dane_tlsa_unusable", "A TLSA record is unusable for SMTP: usage 0/1 (RFC 7672 §3.1.3), unknown parameters or a bad digest length.";
    DaneNoUsableRecord => "dane_no_usable_record", "No TLSA record of the host is usable: DANE senders insist on TLS but cannot authenticate.";
    DaneMismatch => "dane_mismatch", "No TLSA record matches the certificate chain the MX host presented: DANE senders will not deliver.";
    TlsRptAbsent => "tls_rpt_absent", "The domain publishes no TLS-RPT record: senders report no MTA-STS or DANE failures.";
    TlsRptInvalid => "tls_rpt_invalid", "The _smtp._tls TXT record is malformed, duplicated or names a report URI senders cannot use.";
    // ---- recordings (replay/) ----
    RecordingPaused => "recording_paused", "Recording was paused here (Ctrl-R): what happened until the next recording_resumed is not in the file.";
    RecordingResumed => "recording_resumed", "Recording was resumed here (Ctrl-R) after a pause.";
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // Infallible: unknown ids become `Unknown`.
        Ok(FindingId::from_str(&s).unwrap_or(FindingId::Unknown(s)))
    }
}

/// One diagnosis: what happened, the evidence, what it means, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub stage: Stage,
    /// What happened, one sentence in plain words. Never holds raw peer
    /// bytes: quote them through [`Finding::evidence`] or `escape`.
    pub summary: String,
    /// The exact bytes that show it, as received (may be empty). Escaped
    /// whenever shown; kept exact in JSON (`evidence` or `evidence_b64`).
    pub evidence: Vec<u8>,
    /// What it means and what to do about it.
    pub advice: String,
    /// The rule broken or relied on: `RFC 5321 §4.2`, `RFC 8446 §6.2`, ...
    pub source: String,
}

impl Finding {
    /// A finding without evidence; add it with [`Finding::with_evidence`].
    pub fn new(
        id: FindingId,
        severity: Severity,
        stage: Stage,
        summary: impl Into<String>,
        advice: impl Into<String>,
        source: impl Into<String>,
    ) -> Finding {
        Finding {
            id,
            severity,
            stage,
            summary: summary.into(),
            evidence: Vec::new(),
            advice: advice.into(),
            source: source.into(),
        }
    }

    /// The same finding with `bytes` as its evidence.
    pub fn with_evidence(mut self, bytes: impl Into<Vec<u8>>) -> Finding {
        self.evidence = bytes.into();
        self
    }

    /// The evidence escaped for a terminal (control, C1 and bidi characters
    /// shown as escapes), cut to `max_chars` characters with `…`.
    pub fn evidence_escaped(&self, max_chars: usize) -> String {
        let mut s = crate::escape::escape_prefix(&self.evidence, max_chars);
        if s.chars().count() >= max_chars
            && crate::escape::escape_bytes(&self.evidence).chars().count() > max_chars
        {
            s.push('…');
        }
        s
    }

    /// One line: `error [service_refused] greeting: the server refused service`.
    pub fn headline(&self) -> String {
        // Warnings and errors of recordings made before findings existed.
        if matches!(&self.id, FindingId::Unknown(id) if id.starts_with("legacy_")) {
            return format!("{}: {}", self.severity, self.summary);
        }
        format!(
            "{} [{}] {}: {}",
            self.severity, self.id, self.stage, self.summary
        )
    }

    /// The finding as indented text lines (headline, evidence, advice,
    /// source), for `check`, `export` and stderr. Terminal-safe.
    pub fn to_text(&self) -> String {
        let mut out = crate::escape::escape_bytes(self.headline().as_bytes());
        if !self.evidence.is_empty() {
            out.push_str("\n    evidence: ");
            out.push_str(&self.evidence_escaped(200));
        }
        if !self.advice.is_empty() {
            out.push_str("\n    advice:   ");
            out.push_str(&crate::escape::escape_bytes(self.advice.as_bytes()));
        }
        if !self.source.is_empty() {
            out.push_str("\n    source:   ");
            out.push_str(&crate::escape::escape_bytes(self.source.as_bytes()));
        }
        out
    }
}

/// The JSON shape of a finding (README, "check --json"): `evidence` holds
/// the bytes as text when they are UTF-8, else `evidence_b64` holds them
/// base64-encoded, so the exact bytes are always recoverable.
#[derive(Serialize, Deserialize)]
struct FindingJson {
    id: FindingId,
    severity: Severity,
    stage: Stage,
    summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence_b64: Option<String>,
    #[serde(default)]
    advice: String,
    #[serde(default)]
    source: String,
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        let (evidence, evidence_b64) = if self.evidence.is_empty() {
            (None, None)
        } else {
            match std::str::from_utf8(&self.evidence) {
                Ok(text) => (Some(text.to_string()), None),
                Err(_) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(&self.evidence)),
                ),
            }
        };
        FindingJson {
            id: self.id.clone(),
            severity: self.severity,
            stage: self.stage,
            summary: self.summary.clone(),
            evidence,
            evidence_b64,
            advice: self.advice.clone(),
            source: self.source.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let j = FindingJson::deserialize(d)?;
        let evidence = match (j.evidence, j.evidence_b64) {
            (_, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(serde::de::Error::custom)?,
            (Some(text), None) => text.into_bytes(),
            (None, None) => Vec::new(),
        };
        Ok(Finding {
            id: j.id,
            severity: j.severity,
            stage: j.stage,
            summary: j.summary,
            evidence,
            advice: j.advice,
            source: j.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for id in FindingId::ALL {
            let s = id.as_str();
            assert!(seen.insert(s), "duplicate id {s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    && s.starts_with(|c: char| c.is_ascii_lowercase()),
                "{s} is not snake_case"
            );
            assert_eq!(&FindingId::from_str(s).unwrap(), id);
            assert!(!id.meaning().is_empty());
        }
        assert_eq!(
            FindingId::from_str("from_the_future").unwrap(),
            FindingId::Unknown("from_the_future".into())
        );
    }

    #[test]
    fn json_keeps_exact_evidence() {
        let f = Finding::new(
            FindingId::JunkLine,
            Severity::Warning,
            Stage::Greeting,
            "junk",
            "ignore it",
            "RFC 5321 §4.2",
        );
        for bytes in [
            &b"\x9b\xe2\x80\xae ok\r\n"[..],
            "caf\u{e9}\u{202e}".as_bytes(),
            b"",
        ] {
            let f = f.clone().with_evidence(bytes);
            let json = serde_json::to_string(&f).unwrap();
            let back: Finding = serde_json::from_str(&json).unwrap();
            assert_eq!(back, f, "{json}");
        }
        let json = serde_json::to_value(f.with_evidence(&b"\xff"[..])).unwrap();
        assert_eq!(json["evidence_b64"], "/w==");
        assert_eq!(json["severity"], "warning");
        assert_eq!(json["stage"], "greeting");
        assert_eq!(json["id"], "junk_line");
    }

    #[test]
    fn text_escapes_evidence() {
        let f = Finding::new(
            FindingId::ControlBytes,
            Severity::Warning,
            Stage::Capabilities,
            "control bytes",
            "",
            "RFC 5321 §4.2",
        )
        .with_evidence(&b"250-SIZE\x1b[2J\xc2\x9b\r\n"[..]);
        let text = f.to_text();
        assert!(text.contains(r"250-SIZE\x1b[2J\u{9b}\r\n"), "{text}");
        assert!(!text.contains('\x1b'));
    }
}
