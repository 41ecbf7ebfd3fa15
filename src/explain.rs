//! The explain catalogue: what a reply code, response code, capability,
//! command or TLS item means, in plain English, with its RFC or IANA source.
//!
//! It sits beside the data flow, not in it: the TUI's explain pane, the
//! lessons and the check report hand it a transcript line (the raw bytes of
//! an `Entry`, or the line being typed) or a TLS item and show what comes back.
//!
//! The texts are data, one TOML file per protocol under `assets/explain/`
//! (plus `sasl.toml` for the SASL mechanisms all three share and
//! `finding.toml` for mailwire's own finding ids), compiled in with
//! `include_str!` and parsed once on first use. A unit test loads every
//! file, so a broken asset fails the tests rather than a session.
//!
//! Beside them, `assets/explain/registries/` holds snapshots of the IANA
//! registries the catalogue explains (registry title, date, registered
//! keys; see [`REGISTRY_FILES`]). `tests/explain.rs` checks that every
//! registered key has an entry or a family fallback, and that every source
//! naming an IANA registry names a real one and a key it really holds.
//!
//! Keys are `FILE.GROUP.NAME`, compared without regard to case:
//!
//! ```text
//! S: 535 5.7.8 Error: authentication failed
//!    smtp.reply.535          535: Authentication credentials invalid    RFC 4954 §6
//!    smtp.enhanced.X.7.8     5.7.8: Authentication credentials invalid  IANA ... Enumerated Status Codes
//! S: * OK [CAPABILITY IMAP4rev1 IDLE] ready
//!    imap.response.untagged, imap.status.OK, imap.code.CAPABILITY,
//!    imap.capability.IMAP4rev1, imap.capability.IDLE
//! C: a3 LOGIN alice secret
//!    imap.syntax.tag, imap.command.LOGIN   (arguments are never echoed)
//! TLS: version.TLSv1.3, cipher.TLS13_AES_256_GCM_SHA384, group.X25519, error.expired
//! TLS alert 70 (from the handshake):  tls.alert.70   protocol_version   RFC 8446 §6.2
//! Finding timeout:                    finding.id.timeout
//! C: AUTH SCRAM-SHA-512-PLUS          sasl.family.SCRAM-*-PLUS (family fallback)
//! ```
//!
//! It never parses the wire itself: a server response is explained from
//! the parsed `Response` and the dialogue's note (which command it answers,
//! what it advertised), a client line from the command vocabulary
//! (`protocol::command`). So `250 2.0.0 Ok: queued` after DATA is explained
//! as the verdict on the message, not as an EHLO reply. A line that is not a
//! response gets the finding that said so; nothing here can fail on what a
//! peer sends.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::finding::FindingId;
use crate::protocol::command::{self, Verb};
use crate::protocol::{Capability, imap, pop3, smtp};
use crate::session::{Answer, Direction, Entry as SessionEntry, Outcome, Response};
use crate::target::Protocol;
use crate::tls::{HandshakeSummary, Verdict};

/// The catalogue files as (namespace, TOML text); the namespace is the first
/// part of every key.
pub const FILES: &[(&str, &str)] = &[
    ("smtp", include_str!("../assets/explain/smtp.toml")),
    ("imap", include_str!("../assets/explain/imap.toml")),
    ("pop3", include_str!("../assets/explain/pop3.toml")),
    ("sasl", include_str!("../assets/explain/sasl.toml")),
    ("tls", include_str!("../assets/explain/tls.toml")),
    ("finding", include_str!("../assets/explain/finding.toml")),
];

/// Snapshots of the IANA registries the catalogue explains, as (file stem,
/// TOML text); see [`RegistrySnapshot`] for the fields. One file per IANA
/// registry table; the coverage and citation tests read them.
pub const REGISTRY_FILES: &[(&str, &str)] = &[
    (
        "smtp-service-extensions",
        include_str!("../assets/explain/registries/smtp-service-extensions.toml"),
    ),
    (
        "smtp-enhanced-class",
        include_str!("../assets/explain/registries/smtp-enhanced-class.toml"),
    ),
    (
        "smtp-enhanced-subject",
        include_str!("../assets/explain/registries/smtp-enhanced-subject.toml"),
    ),
    (
        "smtp-enhanced-enumerated",
        include_str!("../assets/explain/registries/smtp-enhanced-enumerated.toml"),
    ),
    (
        "imap-capabilities",
        include_str!("../assets/explain/registries/imap-capabilities.toml"),
    ),
    (
        "imap-response-codes",
        include_str!("../assets/explain/registries/imap-response-codes.toml"),
    ),
    (
        "imap-threading-algorithms",
        include_str!("../assets/explain/registries/imap-threading-algorithms.toml"),
    ),
    (
        "pop3-capabilities",
        include_str!("../assets/explain/registries/pop3-capabilities.toml"),
    ),
    (
        "pop3-response-codes",
        include_str!("../assets/explain/registries/pop3-response-codes.toml"),
    ),
    (
        "sasl-mechanisms",
        include_str!("../assets/explain/registries/sasl-mechanisms.toml"),
    ),
    (
        "tls-alerts",
        include_str!("../assets/explain/registries/tls-alerts.toml"),
    ),
];

/// One IANA registry table as mailwire last assembled it (a file under
/// `assets/explain/registries/`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySnapshot {
    /// The registry table's title exactly as IANA writes it, e.g. `TLS Alerts`.
    pub title: String,
    /// The IANA page (registry group) the table is on, e.g.
    /// `Transport Layer Security (TLS) Parameters`.
    pub page: String,
    /// The date (YYYY-MM-DD) this key list was assembled for mailwire.
    pub assembled: String,
    /// IANA's "Last Updated" date of the page, as seen when assembling, if known.
    #[serde(default)]
    pub iana_updated: Option<String>,
    /// How the list was assembled (which copies and RFCs were read).
    pub how: String,
    /// The catalogue group whose entries explain these keys, e.g. `tls.alert`.
    pub catalogue: String,
    /// The registered keys as IANA writes them (`70`, `X.7.8`, `AUTH=`, `GS2-*`).
    pub keys: Vec<String>,
}

/// The registry snapshots of [`REGISTRY_FILES`], parsed, as (file stem, snapshot).
///
/// # Errors
/// [`CatalogueError::Parse`] naming the file when one does not parse.
pub fn registry_snapshots() -> Result<Vec<(&'static str, RegistrySnapshot)>, CatalogueError> {
    REGISTRY_FILES
        .iter()
        .map(|(stem, text)| {
            toml::from_str(text)
                .map(|snapshot| (*stem, snapshot))
                .map_err(|e| CatalogueError::Parse {
                    file: format!("registries/{stem}"),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// Longest piece of wire text quoted in a title, in characters.
const MAX_QUOTE: usize = 60;

/// One catalogue entry as written in the TOML files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Short label, e.g. `Authentication credentials invalid`.
    pub name: String,
    /// One to three plain sentences: meaning, and for errors cause and fix.
    pub text: String,
    /// RFC and section, or IANA registry.
    pub source: String,
}

/// How an explanation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Match {
    /// The catalogue has an entry for exactly this item (or for the family
    /// it names, such as IMAP `AUTH=` for `AUTH=PLAIN`).
    Exact,
    /// Explained from its parts or its family: SMTP reply code digits
    /// (RFC 5321 §4.2.1), enhanced status class and subject (RFC 3463 §2),
    /// the parent of a hierarchical POP3 code (RFC 2449 §8), or a SASL
    /// mechanism family such as `SCRAM-*-PLUS` (RFC 5802 §4, RFC 5801).
    Fallback,
    /// Not in the catalogue; the text says so and where to look.
    Unknown,
}

/// What one item on the wire means.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// Catalogue key, e.g. `smtp.reply.535`; for a fallback the entry used first.
    pub key: String,
    /// What was seen and its short name, e.g. `535: Authentication credentials invalid`.
    pub title: String,
    /// Plain-English meaning.
    pub text: String,
    /// RFC and section, or IANA registry.
    pub source: String,
    /// Whether the entry matched exactly, by fallback, or not at all.
    pub matched: Match,
}

/// A fault in the catalogue assets; caught by the unit tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A file is not TOML of the expected shape (or has an unknown field).
    #[error("assets/explain/{file}.toml does not parse: {message}")]
    Parse { file: String, message: String },
    /// An entry's name, text or source is blank.
    #[error("catalogue entry {key} has an empty {field}")]
    Empty { key: String, field: &'static str },
    /// Two keys differ only in case.
    #[error("catalogue key {key} is defined twice (keys are compared without case)")]
    Duplicate { key: String },
}

/// All entries of all catalogue files, by key.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Lower-case key to (key as written, entry).
    entries: BTreeMap<String, (String, Entry)>,
}

/// The built-in catalogue, parsed on first use.
///
/// # Panics
/// If an asset under `assets/explain/` is broken; `tests::every_file_loads`
/// makes sure that never reaches a release.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::from_files(FILES).unwrap_or_else(|e| panic!("explain catalogue: {e}"))
    })
}

/// Explanations for one server response as received: raw bytes including
/// CRLF, possibly several lines (a multi-line SMTP reply, a POP3 body),
/// framed with the protocol parsers, without the context of a session.
pub fn explain_server(protocol: Protocol, raw: &[u8]) -> Vec<Explanation> {
    catalogue().server(protocol, raw)
}

/// Explanations for one transcript entry, from its note: a server response
/// in the context of the command it answers, or a client line. `line`
/// picks one line of a multi-line SMTP reply (an EHLO keyword); `None`
/// explains the whole entry.
pub fn explain_entry(
    protocol: Protocol,
    entry: &SessionEntry,
    line: Option<usize>,
) -> Vec<Explanation> {
    catalogue().entry(protocol, entry, line)
}

/// Explanations for one client line as sent or being typed. Arguments that
/// may be secrets (LOGIN, PASS, AUTH responses) are never quoted.
pub fn explain_client(protocol: Protocol, line: &str) -> Vec<Explanation> {
    catalogue().client(protocol, line)
}

/// One TLS item by key: `version.TLSv1.3`, `cipher.TLS13_AES_256_GCM_SHA384`,
/// `kx.ECDHE`, `auth.RSA`, `bulk.AES_256_GCM`, `hash.SHA384`, `group.X25519`,
/// `feature.sni`, `finding.starttls_injection` or a verdict code such as
/// `error.missing_intermediate`.
pub fn explain_tls(key: &str) -> Option<Explanation> {
    catalogue().tls(key)
}

/// A cipher suite and each part of its name (key exchange, authentication,
/// bulk cipher, hash), as rustls names it, e.g. `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
pub fn explain_cipher_suite(name: &str) -> Vec<Explanation> {
    catalogue().cipher_suite(name)
}

/// Everything the TLS pane shows about a handshake: version, cipher suite
/// and its parts, group, SNI, ALPN, resumption and OCSP stapling.
pub fn explain_handshake(summary: &HandshakeSummary) -> Vec<Explanation> {
    catalogue().handshake(summary)
}

/// A TLS alert by its number (the AlertDescription byte, RFC 8446 §6): its
/// IANA name, what it means when a mail server sends it, and the usual fix.
/// A number not in the IANA TLS Alerts registry gets an explanation that
/// says so ([`Match::Unknown`]); this never fails.
///
/// ```text
/// handshake ends with a fatal alert 70 -> "TLS alert 70: protocol_version (no common TLS version)"
/// ```
pub fn explain_alert(code: u8) -> Explanation {
    catalogue().alert(code)
}

/// A finding id (`src/finding.rs`): what it means and what to do, with its
/// source. An id this build does not know ([`FindingId::Unknown`], from a
/// newer recording) gets an explanation that says so ([`Match::Unknown`]).
pub fn explain_finding(id: &FindingId) -> Explanation {
    catalogue().finding(id)
}

/// The verdict's error code in operator terms with the usual fix; `None`
/// for a trusted chain.
pub fn explain_verdict(verdict: &Verdict) -> Option<Explanation> {
    let code = verdict.error.as_ref()?.as_str();
    let cat = catalogue();
    Some(
        cat.tls(&format!("error.{code}"))
            .unwrap_or_else(|| cat.unknown("tls.unknown.item", code)),
    )
}

impl Catalogue {
    /// Parses catalogue files given as (namespace, TOML text).
    ///
    /// # Errors
    /// A file that is not valid TOML or has unknown fields, an entry with an
    /// empty field, or a key defined twice.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalogue, CatalogueError> {
        let mut entries = BTreeMap::new();
        for (file, text) in files {
            let groups: BTreeMap<String, BTreeMap<String, Entry>> =
                toml::from_str(text).map_err(|e| CatalogueError::Parse {
                    file: file.to_string(),
                    message: e.to_string(),
                })?;
            for (group, names) in groups {
                for (name, entry) in names {
                    let key = format!("{file}.{group}.{name}");
                    for (field, value) in [
                        ("name", &entry.name),
                        ("text", &entry.text),
                        ("source", &entry.source),
                    ] {
                        if value.trim().is_empty() {
                            return Err(CatalogueError::Empty { key, field });
                        }
                    }
                    if entries
                        .insert(key.to_ascii_lowercase(), (key.clone(), entry))
                        .is_some()
                    {
                        return Err(CatalogueError::Duplicate { key });
                    }
                }
            }
        }
        Ok(Catalogue { entries })
    }

    /// The entry for a full key such as `smtp.reply.250`, without regard to case.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(&key.to_ascii_lowercase()).map(|(_, e)| e)
    }

    /// Every (key, entry), sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.values().map(|(k, e)| (k.as_str(), e))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// See [`explain_server`].
    pub fn server(&self, protocol: Protocol, raw: &[u8]) -> Vec<Explanation> {
        if raw.is_empty() {
            return Vec::new();
        }
        // A line typed or pasted without its ending is still one response.
        let mut owned;
        let raw = if raw.ends_with(b"\n") {
            raw
        } else {
            owned = raw.to_vec();
            owned.extend_from_slice(b"\r\n");
            &owned[..]
        };
        let response = frame(protocol, raw);
        self.response(protocol, &response, raw, None, None, None)
    }

    /// See [`explain_entry`].
    pub fn entry(
        &self,
        protocol: Protocol,
        entry: &SessionEntry,
        line: Option<usize>,
    ) -> Vec<Explanation> {
        let note = &entry.note;
        if entry.direction == Direction::Client {
            let shown = entry.redacted();
            let lines = wire_lines(&shown);
            let text = match line {
                Some(i) => lines.get(i).cloned().unwrap_or_default(),
                None => lines.first().cloned().unwrap_or_default(),
            };
            if note.outcome == Outcome::ClientData && note.sent.is_none() {
                // A SASL response, literal bytes or the message body: no command.
                return vec![self.client_data(protocol, note, &text)];
            }
            return self.client(protocol, &text);
        }
        match (&note.response, note.outcome) {
            (_, Outcome::Injected) => vec![self.unknown_note(
                "Injected",
                "Received after the positive STARTTLS reply and before the TLS handshake: possibly injected by a man in the middle (CVE-2011-0411). mailwire discarded it and never fed it to TLS; see the starttls_injection finding.",
                "RFC 3207 §4.2",
            )],
            (Some(response), _) => self.response(
                protocol,
                response,
                &entry.raw,
                note.answers.as_ref(),
                note.capabilities.as_deref(),
                line,
            ),
            (None, _) => vec![self.unknown_note(
                "Not a response",
                "This line does not follow the protocol's syntax, so it answers nothing: mailwire skipped it and kept waiting for the real reply. The finding below it says what it looked like.",
                source_of(protocol),
            )],
        }
    }

    /// A parsed response, with the command it answers and what it advertised.
    fn response(
        &self,
        protocol: Protocol,
        response: &Response,
        raw: &[u8],
        answers: Option<&Answer>,
        caps: Option<&[Capability]>,
        line: Option<usize>,
    ) -> Vec<Explanation> {
        // The command answered, once, on the response's first line; a
        // keyword line of an EHLO reply explains that keyword first.
        let mut out: Vec<Explanation> = answers
            .filter(|_| line.unwrap_or(0) == 0)
            .and_then(|a| self.answers(protocol, a))
            .into_iter()
            .collect();
        match response {
            Response::Smtp(reply) => out.extend(self.smtp_reply(reply, answers, line)),
            Response::Imap(r) => out.extend(self.imap_response(r, caps)),
            Response::Pop3(r) => out.extend(self.pop3_response(r, raw, answers, caps)),
            Response::Malformed { .. } => {
                let key = match protocol {
                    Protocol::Smtp | Protocol::Lmtp => "smtp.unknown.reply",
                    Protocol::Imap => "imap.unknown.line",
                    Protocol::Pop3 => "pop3.unknown.line",
                };
                out.push(self.unknown(key, "Server line"))
            }
        }
        out
    }

    /// "Answers EHLO": which command a reply belongs to, from the note.
    fn answers(&self, protocol: Protocol, a: &Answer) -> Option<Explanation> {
        let verb = a.verb.as_str();
        let entry = self.get(&format!("{}.command.{verb}", ns(protocol)))?;
        let what = if a.body {
            format!("the message sent after {verb}")
        } else {
            verb.to_string()
        };
        Some(Explanation {
            key: self.written_key(&format!("{}.command.{verb}", ns(protocol))),
            title: format!("Answers {what}: {}", entry.name),
            text: if a.body {
                "This reply is the server's verdict on the message itself: a 2xx means it took responsibility for delivering it; a 4xx or 5xx that it did not.".to_string()
            } else {
                entry.text.clone()
            },
            source: entry.source.clone(),
            matched: Match::Exact,
        })
    }

    fn unknown_note(&self, title: &str, text: &str, source: &str) -> Explanation {
        Explanation {
            key: "session.note".into(),
            title: title.into(),
            text: text.into(),
            source: source.into(),
            matched: Match::Exact,
        }
    }

    /// Client bytes that are no command line.
    fn client_data(
        &self,
        protocol: Protocol,
        note: &crate::session::Note,
        text: &str,
    ) -> Explanation {
        let _ = protocol;
        if text.eq_ignore_ascii_case("DONE") {
            if let Some(e) = self.exact("imap.command.DONE", "Command DONE") {
                return e;
            }
        }
        let (title, body) = match note.phase {
            _ if !note.secrets.is_empty() => (
                "Credential (masked)",
                "A SASL response or a LOGIN password literal: masked here and in recordings. It answers the server's challenge (334 or +); * would cancel the exchange.",
            ),
            crate::session::Phase::Data => (
                "Message body",
                "Part of the message sent after 354: header lines, a blank line, then the body. Lines starting with a dot are dot-stuffed; a lone dot ends it.",
            ),
            _ => (
                "Continuation data",
                "Bytes that continue the previous command: literal data after a + continuation request, or a SASL response.",
            ),
        };
        self.unknown_note(title, body, "RFC 4954 §4, RFC 5321 §4.1.1.4, RFC 9051 §4.3")
    }
    /// See [`explain_client`].
    pub fn client(&self, protocol: Protocol, line: &str) -> Vec<Explanation> {
        let line = line.trim_end_matches(['\r', '\n']).trim();
        if line.is_empty() {
            return Vec::new();
        }
        match protocol {
            Protocol::Smtp | Protocol::Lmtp => self.smtp_client(line),
            Protocol::Imap => self.imap_client(line),
            Protocol::Pop3 => self.pop3_client(line),
        }
    }

    /// See [`explain_tls`].
    pub fn tls(&self, key: &str) -> Option<Explanation> {
        let (group, name) = key.split_once('.')?;
        let full = format!("tls.{group}.{name}");
        if let Some(e) = self.exact(&full, name) {
            return Some(e);
        }
        // rustls' Debug names for old versions read `TLSv1_0`.
        if group.eq_ignore_ascii_case("version") {
            return self.exact(&format!("tls.version.{}", name.replace('_', ".")), name);
        }
        None
    }

    /// See [`explain_alert`].
    pub fn alert(&self, code: u8) -> Explanation {
        let wire = format!("TLS alert {code}");
        self.exact(&format!("tls.alert.{code}"), &wire)
            .unwrap_or_else(|| self.unknown("tls.unknown.alert", &wire))
    }

    /// See [`explain_finding`].
    pub fn finding(&self, id: &FindingId) -> Explanation {
        let wire = format!("Finding {}", quote(id.as_str()));
        match id {
            FindingId::Unknown(_) => None,
            known => self.exact(&format!("finding.id.{}", known.as_str()), &wire),
        }
        .unwrap_or_else(|| self.unknown("finding.unknown.id", &wire))
    }

    /// See [`explain_cipher_suite`].
    pub fn cipher_suite(&self, name: &str) -> Vec<Explanation> {
        let mut out =
            vec![self.tls(&format!("cipher.{name}")).unwrap_or_else(|| {
                self.unknown("tls.unknown.item", &format!("cipher suite {name}"))
            })];
        let upper = name.to_ascii_uppercase();
        let mut parts: Vec<(&str, &str)> = Vec::new();
        if let Some(rest) = upper.strip_prefix("TLS13_") {
            // TLS 1.3 names carry only the AEAD and the hash (RFC 8446 §B.4).
            if let Some((bulk, hash)) = rest.rsplit_once('_') {
                parts.extend([("bulk", bulk), ("hash", hash)]);
            }
        } else if let Some((kx_auth, bulk_hash)) = upper
            .strip_prefix("TLS_")
            .and_then(|r| r.split_once("_WITH_"))
        {
            // TLS 1.2: TLS_<kx>_<auth>_WITH_<bulk>_<hash>; plain RSA suites name RSA once for both.
            let (kx, auth) = kx_auth.split_once('_').unwrap_or((kx_auth, kx_auth));
            parts.extend([("kx", kx), ("auth", auth)]);
            if let Some((bulk, hash)) = bulk_hash.rsplit_once('_') {
                parts.extend([("bulk", bulk), ("hash", hash)]);
            }
        }
        for (group, part) in parts {
            let key = format!("tls.{group}.{part}");
            out.push(match self.get(&key) {
                Some(entry) => self.make(&key, "", entry, Match::Exact),
                None => self.unknown("tls.unknown.item", &format!("{group} {part}")),
            });
        }
        out
    }

    /// See [`explain_handshake`].
    pub fn handshake(&self, s: &HandshakeSummary) -> Vec<Explanation> {
        let mut out = Vec::new();
        if !s.version.is_empty() {
            out.push(
                self.tls(&format!("version.{}", s.version))
                    .unwrap_or_else(|| self.unknown("tls.unknown.item", &s.version)),
            );
        }
        if !s.cipher_suite.is_empty() {
            out.extend(self.cipher_suite(&s.cipher_suite));
        }
        if let Some(group) = &s.kx_group {
            out.push(
                self.tls(&format!("group.{group}"))
                    .unwrap_or_else(|| self.unknown("tls.unknown.item", &format!("group {group}"))),
            );
        }
        let sni = match &s.sni {
            Some(name) => format!("SNI {}", quote(name)),
            None => "SNI not sent".to_string(),
        };
        out.extend(self.exact("tls.feature.sni", &sni));
        if let Some(alpn) = &s.alpn {
            out.extend(self.exact("tls.feature.alpn", &format!("ALPN {}", quote(alpn))));
        }
        if s.resumed {
            out.extend(self.exact("tls.feature.resumption", "resumed"));
        }
        if s.ocsp_stapled {
            out.extend(self.exact("tls.feature.ocsp_stapling", "OCSP stapled"));
        }
        out
    }

    // --- SMTP ----------------------------------------------------------------

    fn smtp_reply(
        &self,
        reply: &smtp::Reply,
        answers: Option<&Answer>,
        line: Option<usize>,
    ) -> Vec<Explanation> {
        let code = reply.code.0;
        // An EHLO/LHLO reply lists one keyword a line after the greeting
        // name; without a session's context a multi-line 250 is read as one.
        let ehlo = match answers {
            Some(a) => matches!(a.verb, Verb::Ehlo | Verb::Lhlo),
            None => code == 250 && reply.lines.len() > 1,
        } && code == 250;
        let mut out = Vec::new();
        match line {
            Some(i) if i > 0 && ehlo => {
                out.push(self.smtp_reply_code(code));
                if let Some(l) = reply.lines.get(i) {
                    out.extend(self.ehlo_keyword(&l.text));
                }
                return out;
            }
            _ => {}
        }
        out.push(self.smtp_reply_code(code));
        // RFC 2034 §3: the enhanced code leads the text of every line; the first one is enough.
        if let Some(status) = reply.enhanced() {
            out.push(self.smtp_enhanced((status.class, status.subject, status.detail)));
        }
        if ehlo && line.is_none() {
            for l in &reply.lines[1..] {
                out.extend(self.ehlo_keyword(&l.text));
            }
        }
        out
    }

    fn smtp_reply_code(&self, code: u16) -> Explanation {
        let wire = code.to_string();
        if let Some(e) = self.exact(&format!("smtp.reply.{code}"), &wire) {
            return e;
        }
        // RFC 5321 §4.2.1: the first digit tells success or failure, the second the area.
        let class_key = format!("smtp.reply-class.{}", code / 100);
        let subject_key = format!("smtp.reply-subject.{}", code / 10 % 10);
        match (self.get(&class_key), self.get(&subject_key)) {
            (Some(class), subject) => self.composed(&class_key, &wire, class, subject),
            (None, _) => self.unknown("smtp.unknown.reply", &wire),
        }
    }

    fn smtp_enhanced(&self, (class, subject, detail): (u8, u16, u16)) -> Explanation {
        let wire = format!("{class}.{subject}.{detail}");
        // A class-specific entry (2.7.0, 5.7.0) wins over the registry's X.7.0.
        for key in [
            format!("smtp.enhanced.{wire}"),
            format!("smtp.enhanced.X.{subject}.{detail}"),
        ] {
            if let Some(e) = self.exact(&key, &wire) {
                return e;
            }
        }
        let class_key = format!("smtp.enhanced-class.{class}");
        let subject_key = format!("smtp.enhanced-subject.{subject}");
        match (self.get(&class_key), self.get(&subject_key)) {
            (Some(c), s) => self.composed(&class_key, &wire, c, s),
            (None, _) => self.unknown("smtp.unknown.reply", &wire),
        }
    }

    fn ehlo_keyword(&self, text: &str) -> Vec<Explanation> {
        let (word, params) = split_token(text);
        if word.is_empty()
            || !word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'=')
        {
            return Vec::new();
        }
        let wire = format!("EHLO keyword {}", quote(text));
        // `AUTH=PLAIN LOGIN` is the pre-standard form some servers still add.
        let (keyword, legacy_mech) = match word.split_once('=') {
            Some((k, m)) => (format!("{k}="), Some(m)),
            None => (word.to_ascii_uppercase(), None),
        };
        let mut out = vec![
            self.exact(&format!("smtp.ehlo.{keyword}"), &wire)
                .unwrap_or_else(|| self.unknown("smtp.unknown.ehlo", &wire)),
        ];
        if keyword.eq_ignore_ascii_case("AUTH") || keyword.eq_ignore_ascii_case("AUTH=") {
            let mechs = legacy_mech.into_iter().chain(params.split_whitespace());
            out.extend(mechs.filter(|m| !m.is_empty()).map(|m| self.sasl(m)));
        }
        out
    }

    fn smtp_client(&self, line: &str) -> Vec<Explanation> {
        let cmd = command::parse(Protocol::Smtp, line.as_bytes(), false);
        let verb = cmd.verb.as_str().to_string();
        let Some(first) = self.exact(&format!("smtp.command.{verb}"), &format!("Command {verb}"))
        else {
            // Could be a base64 AUTH response: never quote it.
            return vec![self.unknown("smtp.unknown.command", "Client line")];
        };
        let mut out = vec![first];
        let rest = cmd.args_text(line.as_bytes());
        match cmd.verb {
            Verb::Mail | Verb::Rcpt => {
                let (group, label) = if cmd.verb == Verb::Mail {
                    ("mail-param", "MAIL FROM parameter")
                } else {
                    ("rcpt-param", "RCPT TO parameter")
                };
                // Parameters follow the path: MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME.
                let params = rest.split_once('>').map_or("", |(_, p)| p);
                for param in params.split_whitespace() {
                    let name = param
                        .split_once('=')
                        .map_or(param, |(n, _)| n)
                        .to_ascii_uppercase();
                    let wire = format!("{label} {}", quote(param));
                    out.push(
                        self.exact(&format!("smtp.{group}.{name}"), &wire)
                            .unwrap_or_else(|| self.unknown("smtp.unknown.param", &wire)),
                    );
                }
            }
            _ => {
                if let Some(mech) = &cmd.sasl {
                    out.push(self.sasl(mech.name()));
                }
            }
        }
        out
    }

    // --- IMAP ----------------------------------------------------------------

    fn imap_response(&self, r: &imap::Response, caps: Option<&[Capability]>) -> Vec<Explanation> {
        let mut out = Vec::new();
        let status = match r {
            imap::Response::Continuation { .. } => {
                return self
                    .exact("imap.response.continuation", "")
                    .into_iter()
                    .collect();
            }
            imap::Response::Tagged { tag, status, .. } => {
                out.extend(self.exact("imap.response.tagged", &format!("Tag {}", quote(&tag.0))));
                Some(*status)
            }
            imap::Response::Untagged { status, .. } => {
                out.extend(self.exact("imap.response.untagged", ""));
                *status
            }
        };
        let listed = |out: &mut Vec<Explanation>, atoms: &mut dyn Iterator<Item = String>| {
            for c in atoms {
                out.extend(self.imap_capability(&c));
            }
        };
        if let Some(status) = status {
            let word = status.to_string();
            out.extend(self.exact(&format!("imap.status.{word}"), &word));
            if let Some(code) = r.code() {
                let wire = if code.args.is_empty() {
                    format!("[{}]", code.name)
                } else {
                    format!("[{} {}]", code.name, quote(&code.args))
                };
                out.push(
                    self.exact(&format!("imap.code.{}", code.name), &wire)
                        .unwrap_or_else(|| self.unknown("imap.unknown.code", &wire)),
                );
                if code.name == "CAPABILITY" {
                    match caps {
                        Some(caps) => listed(&mut out, &mut caps.iter().map(|c| c.name.clone())),
                        None => listed(
                            &mut out,
                            &mut code.args.split_whitespace().map(str::to_string),
                        ),
                    }
                }
            }
            return out;
        }
        // Untagged data: `* CAPABILITY ...`, `* FLAGS (...)` or `* 23 EXISTS`.
        let text = match r {
            imap::Response::Untagged { text, .. } => text.as_str(),
            _ => "",
        };
        let mut words = text.split(' ');
        let first = words.next().unwrap_or_default();
        let kind = if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
            words.next().unwrap_or_default()
        } else {
            first
        };
        let kind = kind.to_ascii_uppercase();
        let wire = format!("Untagged {kind}");
        out.push(
            self.exact(&format!("imap.data.{kind}"), &wire)
                .unwrap_or_else(|| self.unknown("imap.unknown.data", &wire)),
        );
        if kind == "CAPABILITY" || kind == "ENABLED" {
            match (kind.as_str(), caps) {
                ("CAPABILITY", Some(caps)) => {
                    listed(&mut out, &mut caps.iter().map(|c| c.name.clone()))
                }
                _ => listed(&mut out, &mut words.map(str::to_string)),
            }
        }
        out
    }

    fn imap_capability(&self, cap: &str) -> Vec<Explanation> {
        let wire = format!("Capability {}", quote(cap));
        if let Some(e) = self.exact(&format!("imap.capability.{cap}"), &wire) {
            return vec![e];
        }
        // A family entry such as AUTH= or THREAD= explains every member.
        if let Some((family, member)) = cap.split_once('=')
            && let Some(e) = self.exact(&format!("imap.capability.{family}="), &wire)
        {
            let mut out = vec![e];
            if family.eq_ignore_ascii_case("AUTH") {
                out.push(self.sasl(member));
            }
            return out;
        }
        vec![self.unknown("imap.unknown.capability", &wire)]
    }

    fn imap_client(&self, line: &str) -> Vec<Explanation> {
        if line.eq_ignore_ascii_case("DONE") {
            // Ends IDLE; the one client line without a tag (RFC 9051 §6.3.13).
            return self
                .exact("imap.command.DONE", "Command DONE")
                .into_iter()
                .collect();
        }
        let cmd = command::parse(Protocol::Imap, line.as_bytes(), true);
        let tag = cmd.tag.as_ref().map(|t| t.0.clone()).unwrap_or_default();
        let args_text = cmd.args_text(line.as_bytes()).into_owned();
        let mut out = Vec::new();
        out.extend(self.exact("imap.syntax.tag", &format!("Tag {}", quote(&tag))));
        let mut command = cmd.verb.as_str().to_string();
        let mut args = args_text.as_str();
        let Some(first) = self.exact(
            &format!("imap.command.{command}"),
            &format!("Command {command}"),
        ) else {
            // `LOGIN alice secret` typed without a tag: say so rather than call LOGIN a tag.
            let untagged = command::parse(Protocol::Imap, line.as_bytes(), false).verb;
            if let Some(command) = self.exact(
                &format!("imap.command.{untagged}"),
                &format!("Command {untagged}"),
            ) {
                return self
                    .exact("imap.syntax.missing-tag", "")
                    .into_iter()
                    .chain([command])
                    .collect();
            }
            // A SASL response or literal data may be secret: never quote it.
            return vec![self.unknown("imap.unknown.command", "Client line")];
        };
        out.push(first);
        if command == "UID" {
            let (inner, inner_args) = split_token(args);
            command = inner.to_ascii_uppercase();
            args = inner_args;
            if !command.is_empty() {
                let wire = format!("Command UID {command}");
                out.push(
                    self.exact(&format!("imap.command.{command}"), &wire)
                        .unwrap_or_else(|| self.unknown("imap.unknown.command", &wire)),
                );
            }
        }
        if let Some(mech) = &cmd.sasl {
            out.push(self.sasl(mech.name()));
        }
        match command.as_str() {
            "ENABLE" => out.extend(
                args.split_whitespace()
                    .flat_map(|c| self.imap_capability(c)),
            ),
            "FETCH" => {
                let (_sequence_set, items) = split_token(args);
                for item in imap_items(items) {
                    let name = item
                        .split(['[', '<'])
                        .next()
                        .unwrap_or(item)
                        .to_ascii_uppercase();
                    let wire = format!("FETCH item {}", quote(item));
                    out.push(
                        self.exact(&format!("imap.fetch-item.{name}"), &wire)
                            .unwrap_or_else(|| self.unknown("imap.unknown.item", &wire)),
                    );
                }
            }
            "STATUS" => {
                // The mailbox name may be quoted and contain spaces; the items are the last (...).
                let items = args.rsplit_once('(').map_or("", |(_, i)| i);
                for item in items.trim_end_matches(')').split_whitespace() {
                    let item = item.to_ascii_uppercase();
                    let wire = format!("STATUS item {item}");
                    out.push(
                        self.exact(&format!("imap.status-item.{item}"), &wire)
                            .unwrap_or_else(|| self.unknown("imap.unknown.item", &wire)),
                    );
                }
            }
            _ => {}
        }
        out
    }

    // --- POP3 ----------------------------------------------------------------

    fn pop3_response(
        &self,
        r: &pop3::Response,
        raw: &[u8],
        answers: Option<&Answer>,
        caps: Option<&[Capability]>,
    ) -> Vec<Explanation> {
        let (status, code) = match r {
            pop3::Response::Continuation { .. } => {
                return self.exact("pop3.status.+", "+").into_iter().collect();
            }
            pop3::Response::Status { status, code, .. } => (status.to_string(), code),
        };
        let mut out: Vec<Explanation> = self
            .exact(&format!("pop3.status.{status}"), &status)
            .into_iter()
            .collect();
        if let Some(code) = code {
            out.push(self.pop3_code(&code.to_ascii_uppercase()));
        }
        match (answers, caps) {
            // The dialogue read the CAPA body (RFC 2449 §5).
            (Some(a), Some(caps)) if a.verb == Verb::Capa => {
                for c in caps {
                    out.extend(self.capa_tag(&c.to_string()));
                }
            }
            (Some(_), _) => {}
            // No session context: a body that reads as a list of CAPA tags is one.
            (None, _) if status == "+OK" => {
                let lines = wire_lines(raw);
                let body: Vec<&str> = lines
                    .iter()
                    .skip(1)
                    .map(String::as_str)
                    .take_while(|l| *l != ".")
                    .collect();
                if self.looks_like_capa(&body) {
                    for line in body {
                        out.extend(self.capa_tag(line));
                    }
                }
            }
            (None, _) => {}
        }
        out
    }

    fn pop3_code(&self, code: &str) -> Explanation {
        let wire = format!("[{code}]");
        if let Some(e) = self.exact(&format!("pop3.code.{code}"), &wire) {
            return e;
        }
        // Codes are hierarchical (RFC 2449 §8): SYS/FOO is still a SYS problem.
        if let Some((parent, _)) = code.split_once('/')
            && let Some(entry) = self.get(&format!("pop3.code.{parent}"))
        {
            return self.make(
                &format!("pop3.code.{parent}"),
                &wire,
                entry,
                Match::Fallback,
            );
        }
        self.unknown("pop3.unknown.code", &wire)
    }

    /// A CAPA body is a list of tags, one a line; message bodies (RETR, TOP)
    /// start with `Name:` headers and LIST/UIDL bodies with numbers.
    fn looks_like_capa(&self, body: &[&str]) -> bool {
        let tag_like = |line: &&str| {
            let (tag, _) = split_token(line);
            tag.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        !body.is_empty()
            && body.iter().all(tag_like)
            && body.iter().any(|l| {
                self.get(&format!("pop3.capa.{}", split_token(l).0))
                    .is_some()
            })
    }

    fn capa_tag(&self, line: &str) -> Vec<Explanation> {
        let (tag, args) = split_token(line);
        let tag = tag.to_ascii_uppercase();
        let wire = format!("CAPA {}", quote(line));
        let mut out = vec![
            self.exact(&format!("pop3.capa.{tag}"), &wire)
                .unwrap_or_else(|| self.unknown("pop3.unknown.capa", &wire)),
        ];
        if tag == "SASL" {
            out.extend(args.split_whitespace().map(|m| self.sasl(m)));
        }
        out
    }

    fn pop3_client(&self, line: &str) -> Vec<Explanation> {
        let cmd = command::parse(Protocol::Pop3, line.as_bytes(), false);
        let verb = cmd.verb.as_str();
        let Some(first) = self.exact(&format!("pop3.command.{verb}"), &format!("Command {verb}"))
        else {
            // Could be a base64 SASL response: never quote it.
            return vec![self.unknown("pop3.unknown.command", "Client line")];
        };
        let mut out = vec![first];
        if let Some(mech) = &cmd.sasl {
            out.push(self.sasl(mech.name()));
        }
        out
    }

    // --- Shared --------------------------------------------------------------

    fn sasl(&self, mechanism: &str) -> Explanation {
        let wire = format!("SASL mechanism {}", quote(mechanism));
        if let Some(e) = self.exact(&format!("sasl.mechanism.{mechanism}"), &wire) {
            return e;
        }
        // Families such as SCRAM-* (RFC 5802 §4) and GS2-* (RFC 5801) name
        // many mechanisms by one pattern; the most specific pattern wins, so
        // SCRAM-SHA-512-PLUS is explained by SCRAM-*-PLUS, not SCRAM-*.
        let upper = mechanism.to_ascii_uppercase();
        let family = self
            .entries
            .range("sasl.family.".to_string()..)
            .take_while(|(k, _)| k.starts_with("sasl.family."))
            .filter_map(|(k, (written, entry))| {
                let pattern = k.strip_prefix("sasl.family.")?.to_ascii_uppercase();
                let (prefix, suffix) = pattern.split_once('*')?;
                (upper.len() > prefix.len() + suffix.len()
                    && upper.starts_with(prefix)
                    && upper.ends_with(suffix))
                .then_some((prefix.len() + suffix.len(), written, entry))
            })
            .max_by_key(|(specificity, _, _)| *specificity);
        match family {
            Some((_, key, entry)) => self.make(key, &wire, entry, Match::Fallback),
            None => self.unknown("sasl.unknown.mechanism", &wire),
        }
    }

    fn exact(&self, key: &str, wire: &str) -> Option<Explanation> {
        let (key, entry) = self.entries.get(&key.to_ascii_lowercase())?;
        Some(self.make(key, wire, entry, Match::Exact))
    }

    fn make(&self, key: &str, wire: &str, entry: &Entry, matched: Match) -> Explanation {
        Explanation {
            key: self.written_key(key),
            title: title(wire, &entry.name),
            text: entry.text.clone(),
            source: entry.source.clone(),
            matched,
        }
    }

    /// A fallback built from a class entry and, if known, a subject entry.
    fn composed(
        &self,
        key: &str,
        wire: &str,
        class: &Entry,
        subject: Option<&Entry>,
    ) -> Explanation {
        let (name, text) = match subject {
            Some(s) => (
                format!(
                    "not in the catalogue; {}, {}",
                    class.name,
                    s.name.to_lowercase()
                ),
                format!("{} {}", class.text, s.text),
            ),
            None => (
                format!("not in the catalogue; {}", class.name),
                class.text.clone(),
            ),
        };
        Explanation {
            key: self.written_key(key),
            title: format!("{wire}: {name}"),
            text,
            source: class.source.clone(),
            matched: Match::Fallback,
        }
    }

    /// The "not in the catalogue" entry `key`, titled with what was seen.
    fn unknown(&self, key: &str, wire: &str) -> Explanation {
        match self.get(key) {
            Some(entry) => self.make(key, wire, entry, Match::Unknown),
            // Only reachable with a hand-built catalogue lacking its unknown.* entries.
            None => Explanation {
                key: key.to_string(),
                title: format!("{wire}: not in the catalogue"),
                text: "mailwire has no explanation for this.".to_string(),
                source: String::new(),
                matched: Match::Unknown,
            },
        }
    }

    fn written_key(&self, key: &str) -> String {
        self.entries
            .get(&key.to_ascii_lowercase())
            .map_or_else(|| key.to_string(), |(k, _)| k.clone())
    }
}

/// `wire: name`, or one phrase when the name starts with the last word of
/// `wire` (`Command LOGIN` + `LOGIN user password` = `Command LOGIN user password`).
fn title(wire: &str, name: &str) -> String {
    if wire.is_empty() {
        return name.to_string();
    }
    let last = wire.rsplit(' ').next().unwrap_or(wire);
    let first = name.split(' ').next().unwrap_or(name);
    if last.eq_ignore_ascii_case(first) {
        format!("{}{name}", &wire[..wire.len() - last.len()])
    } else {
        format!("{wire}: {name}")
    }
}

/// Frames `raw` as one response with the protocol parsers (POP3: multi-line
/// when more than one line was given).
fn frame(protocol: Protocol, raw: &[u8]) -> Response {
    use crate::protocol::{Frame, Limits};
    let limits = Limits::default();
    let lines = raw.iter().filter(|&&b| b == b'\n').count();
    let expect = if lines > 1 {
        pop3::Expect::MultiLine
    } else {
        pop3::Expect::Single
    };
    let frame = crate::session::dialogue::frame_response(protocol, raw, expect, &limits);
    match frame {
        Ok(Frame::Complete { value, .. }) => value,
        Ok(Frame::Malformed { reason, .. }) => Response::Malformed { reason },
        Ok(Frame::Incomplete) => Response::Malformed {
            reason: "unfinished response".into(),
        },
        Err(e) => Response::Malformed {
            reason: e.to_string(),
        },
    }
}

/// The catalogue namespace of a protocol (LMTP shares SMTP's).
fn ns(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => "smtp",
        Protocol::Imap => "imap",
        Protocol::Pop3 => "pop3",
    }
}

fn source_of(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => "RFC 5321 §4.2",
        Protocol::Imap => "RFC 9051 §7",
        Protocol::Pop3 => "RFC 1939 §3",
    }
}

/// Lines without their CR LF (or bare LF); invalid UTF-8 is replaced.
fn wire_lines(raw: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(raw)
        .split_terminator('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// First space-separated token and the rest, trimmed.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.split_once(' ') {
        Some((a, b)) => (a, b.trim_start()),
        None => (s, ""),
    }
}

/// FETCH items: `(FLAGS BODY.PEEK[HEADER.FIELDS (FROM)] UID)` or one atom,
/// splitting on spaces and parentheses outside `[...]`.
fn imap_items(items: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    for (i, c) in items.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ' ' | '(' | ')' if depth == 0 => {
                if let Some(s) = start.take() {
                    out.push(&items[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        out.push(&items[s..]);
    }
    out
}

/// Wire text for a title, cut to [`MAX_QUOTE`] characters.
fn quote(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_loads() {
        let cat = Catalogue::from_files(FILES).unwrap_or_else(|e| panic!("{e}"));
        for (file, _) in FILES {
            assert!(
                cat.iter().any(|(k, _)| k.starts_with(&format!("{file}."))),
                "{file} has no entries"
            );
        }
    }

    #[test]
    fn every_entry_has_name_text_and_source() {
        for (key, entry) in catalogue().iter() {
            assert!(!entry.name.trim().is_empty(), "{key}: empty name");
            assert!(!entry.text.trim().is_empty(), "{key}: empty text");
            assert!(!entry.source.trim().is_empty(), "{key}: empty source");
            assert!(
                entry.text.len() <= 500,
                "{key}: text longer than a short paragraph"
            );
        }
    }

    #[test]
    fn registry_snapshots_parse_and_point_at_catalogue_groups() {
        let snapshots = registry_snapshots().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(snapshots.len(), REGISTRY_FILES.len());
        for (stem, snapshot) in snapshots {
            assert!(!snapshot.keys.is_empty(), "{stem}: no keys");
            let date = |d: &str| {
                d.len() == 10
                    && d.bytes()
                        .enumerate()
                        .all(|(i, b)| matches!((i, b), (4 | 7, b'-')) || b.is_ascii_digit())
            };
            assert!(date(&snapshot.assembled), "{stem}: {}", snapshot.assembled);
            assert!(snapshot.iana_updated.as_deref().is_none_or(date), "{stem}");
            let group = format!("{}.", snapshot.catalogue.to_ascii_lowercase());
            assert!(
                catalogue()
                    .iter()
                    .any(|(k, _)| k.to_ascii_lowercase().starts_with(&group)),
                "{stem}: no catalogue group {}",
                snapshot.catalogue
            );
        }
    }

    #[test]
    fn sasl_family_picks_the_most_specific_pattern() {
        let cat = catalogue();
        let plus = cat.sasl("SCRAM-SHA-512-PLUS");
        assert_eq!(
            (plus.key.as_str(), plus.matched),
            ("sasl.family.SCRAM-*-PLUS", Match::Fallback)
        );
        assert!(
            plus.title
                .starts_with("SASL mechanism SCRAM-SHA-512-PLUS: ")
        );
        let plain = cat.sasl("scram-sha3-512");
        assert_eq!(plain.key, "sasl.family.SCRAM-*");
        // The family needs something where the * stands.
        assert_eq!(cat.sasl("SCRAM-").matched, Match::Unknown);
        assert_eq!(cat.sasl("XYZZY").matched, Match::Unknown);
    }

    #[test]
    fn alert_and_finding_fallbacks_read_as_sentences() {
        let e = catalogue().alert(200);
        assert_eq!(e.matched, Match::Unknown);
        assert_eq!(e.title, "TLS alert 200: not a registered TLS alert");
        let f = catalogue().finding(&FindingId::Unknown("from_the_future".into()));
        assert_eq!(f.matched, Match::Unknown);
        assert_eq!(
            f.title,
            "Finding from_the_future: finding not in the catalogue"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let dup = "[a.X]\nname = \"n\"\ntext = \"t\"\nsource = \"s\"\n[a.x]\nname = \"n\"\ntext = \"t\"\nsource = \"s\"\n";
        assert_eq!(
            Catalogue::from_files(&[("f", dup)]).err(),
            Some(CatalogueError::Duplicate {
                key: "f.a.x".into()
            })
        );
    }

    #[test]
    fn empty_fields_and_unknown_fields_are_refused() {
        let empty = "[a.b]\nname = \"n\"\ntext = \" \"\nsource = \"s\"\n";
        assert_eq!(
            Catalogue::from_files(&[("f", empty)]).err(),
            Some(CatalogueError::Empty {
                key: "f.a.b".into(),
                field: "text"
            })
        );
        let extra = "[a.b]\nname = \"n\"\ntext = \"t\"\nsource = \"s\"\nsee = \"x\"\n";
        assert!(matches!(
            Catalogue::from_files(&[("f", extra)]),
            Err(CatalogueError::Parse { .. })
        ));
    }

    #[test]
    fn title_merges_repeated_word() {
        assert_eq!(
            title("Command LOGIN", "LOGIN user password"),
            "Command LOGIN user password"
        );
        assert_eq!(
            title("535", "Authentication credentials invalid"),
            "535: Authentication credentials invalid"
        );
        assert_eq!(title("", "Tagged response"), "Tagged response");
    }

    #[test]
    fn fetch_items_split_outside_sections() {
        assert_eq!(
            imap_items("(FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] UID)"),
            ["FLAGS", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "UID"]
        );
        assert_eq!(imap_items("ALL"), ["ALL"]);
    }

    #[test]
    fn quote_cuts_long_text_on_a_char_boundary() {
        let long = "é".repeat(100);
        assert_eq!(quote(&long).chars().count(), MAX_QUOTE + 1);
    }
}
