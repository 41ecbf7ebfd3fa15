//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy fetched over
//! HTTPS, its parser, MX matching, and what a sending MTA would do.
//!
//! ```text
//! Resolver::txt("_mta-sts.DOMAIN") -> select_record -> StsRecordState (id=...)
//!                                                        |
//! fetch_policy: GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt
//!   (certificate validated, no redirects, 200 + text/plain, size and time
//!    limits) -> parse_policy -> Policy { mode, mx patterns, max_age }
//!                                                        |
//! MX hosts ------------------------------------> evaluate -> MtaStsReport + findings
//! per-MX TLS outcome (round two: the STARTTLS check) -> check_mx_tls -> finding
//! ```
//!
//! Policy file (RFC 8461 §3.2), LF or CRLF separated:
//!
//! ```text
//! version: STSv1
//! mode: enforce
//! mx: mail.example.com
//! mx: *.example.net
//! max_age: 604800
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dns::{Answer, DnssecStatus, IpVersion, Outcome, Resolver};
use super::{Error, Result};
use crate::finding::{Finding, FindingId, Severity, Stage};

/// Largest policy body read, in bytes (RFC 8461 §3.3 suggests limiting it;
/// 64 KiB is what common senders use).
pub const POLICY_MAX_BYTES: usize = 64 * 1024;
/// Default limit for the whole HTTPS fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest `max_age` allowed, in seconds (RFC 8461 §3.2: about one year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Smallest `max_age` the RFC's advice ("weeks or greater") tolerates
/// without a warning: one day, in seconds.
pub const MAX_AGE_ADVISED_MIN: u64 = 86_400;

// ---------------------------------------------------------------------------
// TXT record (RFC 8461 §3.1)
// ---------------------------------------------------------------------------

/// A valid `_mta-sts` TXT record: `v=STSv1; id=20240101T000000;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsRecord {
    /// The policy id (1-32 letters and digits); a new id means a new policy.
    pub id: String,
    /// Other `name=value` fields, in order (ignored by senders).
    pub extensions: Vec<(String, String)>,
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`, the field-name
/// grammar shared by RFC 8461 and RFC 8460.
pub(crate) fn is_ext_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// `1*(%x21-3A / %x3C / %x3E-7E)`: visible ASCII without `;` and `=`.
pub(crate) fn is_ext_value(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| matches!(c, 0x21..=0x3A | 0x3C | 0x3E..=0x7E))
}

/// Splits `v=X; a=b; c=d;` into `(name, value)` pairs: fields separated by
/// `;` with optional spaces or tabs around, an optional final `;`.
///
/// # Errors
/// A field that is not `name=value`.
pub(crate) fn kv_fields(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let body = text.trim_end_matches([' ', '\t']);
    let body = body.strip_suffix(';').unwrap_or(body);
    for (i, raw) in body.split(';').enumerate() {
        let field = raw.trim_matches([' ', '\t']);
        let Some((name, value)) = field.split_once('=') else {
            return Err(if field.is_empty() {
                format!("field {} is empty (two `;` in a row?)", i + 1)
            } else {
                format!("field {:?} is not name=value", field)
            });
        };
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Parses one `_mta-sts` TXT record (its strings already joined).
///
/// # Errors
/// A message naming what is wrong: not `v=STSv1` first, no `id`, an id
/// that is not 1-32 letters and digits, a malformed field.
pub fn parse_sts_record(txt: &[u8]) -> std::result::Result<StsRecord, String> {
    let text = std::str::from_utf8(txt).map_err(|_| "the record is not ASCII text".to_string())?;
    if !text.starts_with("v=STSv1") {
        return Err("the record does not start with v=STSv1".into());
    }
    let fields = kv_fields(text)?;
    if fields.first().map(|(n, v)| (n.as_str(), v.as_str())) != Some(("v", "STSv1")) {
        return Err("the record does not start with v=STSv1;".into());
    }
    let mut id: Option<String> = None;
    let mut extensions = Vec::new();
    for (name, value) in fields.into_iter().skip(1) {
        if name == "id" {
            if value.is_empty()
                || value.len() > 32
                || !value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!("id {value:?} is not 1 to 32 letters and digits"));
            }
            // A repeated field: the first counts (RFC 8461 §3.2).
            id.get_or_insert(value);
        } else if is_ext_name(&name) && is_ext_value(&value) {
            extensions.push((name, value));
        } else {
            return Err(format!("field {name}={value} is malformed"));
        }
    }
    let id = id.ok_or_else(|| "the record has no id field".to_string())?;
    Ok(StsRecord { id, extensions })
}

/// What the `_mta-sts` TXT lookup says about the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum StsRecordState {
    /// One valid record.
    Found { record: StsRecord },
    /// No TXT record starting with `v=STSv1`: the domain has no MTA-STS.
    Absent,
    /// Exactly one candidate, but malformed.
    Invalid { reason: String },
    /// More than one record starting with `v=STSv1`.
    Multiple { count: usize },
    /// The lookup failed (SERVFAIL, timeout, bogus).
    LookupFailed { reason: String },
}

/// Picks the record from a TXT answer as a sender does (RFC 8461 §3.1):
/// records not starting with `v=STSv1` are discarded; not exactly one left,
/// or an invalid one, means no MTA-STS.
pub fn select_record(answer: &Answer<Vec<u8>>) -> StsRecordState {
    if let Outcome::Failed(reason) = &answer.outcome {
        return StsRecordState::LookupFailed {
            reason: reason.clone(),
        };
    }
    let candidates: Vec<&Vec<u8>> = answer
        .records
        .iter()
        .filter(|r| r.starts_with(b"v=STSv1"))
        .collect();
    match candidates.as_slice() {
        [] => StsRecordState::Absent,
        [one] => match parse_sts_record(one) {
            Ok(record) => StsRecordState::Found { record },
            Err(reason) => StsRecordState::Invalid { reason },
        },
        many => StsRecordState::Multiple { count: many.len() },
    }
}

// ---------------------------------------------------------------------------
// Policy (RFC 8461 §3.2)
// ---------------------------------------------------------------------------

/// The policy mode (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Senders must not deliver to MX hosts that fail validation.
    Enforce,
    /// Senders deliver anyway and report failures (TLS-RPT).
    Testing,
    /// Senders treat the domain as having no policy.
    None,
}

impl Mode {
    /// `enforce`, `testing` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// One `mx:` pattern: a host name, or `*.` and a domain, where the
/// wildcard stands for exactly one label (RFC 8461 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxPattern {
    /// True for `*.domain`.
    pub wildcard: bool,
    /// The name after any `*.`, lower case, without a trailing dot.
    pub domain: String,
}

impl MxPattern {
    /// Parses `mail.example.com` or `*.example.com`.
    ///
    /// # Errors
    /// Not a domain name (RFC 5321 §4.1.2 `Domain`), or a wildcard
    /// anywhere but as the whole left-most label.
    pub fn parse(s: &str) -> std::result::Result<MxPattern, String> {
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        let valid_label = |l: &str| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        };
        if rest.is_empty() || rest.len() > 253 || !rest.split('.').all(valid_label) {
            return Err(if s.contains('*') && !wildcard {
                format!("mx pattern {s:?}: a wildcard may only be the whole left-most label (*.)")
            } else {
                format!("mx pattern {s:?} is not a domain name")
            });
        }
        Ok(MxPattern {
            wildcard,
            domain: rest.to_ascii_lowercase(),
        })
    }

    /// True when `host` (an MX host name) matches: equal ignoring case and
    /// a trailing dot, or for `*.d` exactly one label before `d`.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.wildcard {
            host.split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == self.domain)
        } else {
            host == self.domain
        }
    }
}

impl std::fmt::Display for MxPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.domain)
        } else {
            f.write_str(&self.domain)
        }
    }
}

impl Serialize for MxPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for MxPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MxPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub mode: Mode,
    /// Allowed MX hosts; at least one unless the mode is `none`.
    pub mx: Vec<MxPattern>,
    /// How long senders cache the policy, in seconds (capped by senders
    /// at [`MAX_AGE_LIMIT`]).
    pub max_age: u64,
    /// Other `key: value` lines, in order (ignored by senders).
    pub extensions: Vec<(String, String)>,
    /// Tolerated deviations: repeated keys, blank lines, a `max_age`
    /// outside the advised range. Each is a warning.
    pub notes: Vec<String>,
}

impl Policy {
    /// The first pattern that `host` matches (RFC 8461 §4.1).
    pub fn matching_pattern(&self, host: &str) -> Option<&MxPattern> {
        self.mx.iter().find(|p| p.matches(host))
    }

    /// True when `host` matches one of the policy's `mx` patterns.
    pub fn matches(&self, host: &str) -> bool {
        self.matching_pattern(host).is_some()
    }
}

/// Parses a policy body (RFC 8461 §3.2).
///
/// # Errors
/// A message naming the line or field: not UTF-8, a line that is not
/// `key: value`, `version` not `STSv1`, an unknown mode, a bad `max_age`
/// or `mx`, or a required field missing.
pub fn parse_policy(body: &[u8]) -> std::result::Result<Policy, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the policy is not UTF-8 text".to_string())?;
    let mut version: Option<String> = None;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<u64> = None;
    let mut mx = Vec::new();
    let mut extensions = Vec::new();
    let mut notes = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len().saturating_sub(1);
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            // The final line terminator leaves one empty piece: fine.
            if i != last {
                notes.push(format!(
                    "line {n} is blank (the grammar has no blank lines)"
                ));
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {n} is not `key: value`: {line:?}"));
        };
        if !is_ext_name(key) {
            return Err(format!("line {n}: {key:?} is not a field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(char::is_control) {
            return Err(format!("line {n}: the value holds control characters"));
        }
        let repeated = |notes: &mut Vec<String>| {
            notes.push(format!(
                "line {n}: {key} is repeated; senders use the first (RFC 8461 §3.2)"
            ));
        };
        match key {
            "version" => {
                if version.is_some() {
                    repeated(&mut notes);
                } else {
                    version = Some(value.to_string());
                }
            }
            "mode" => {
                if mode.is_some() {
                    repeated(&mut notes);
                    continue;
                }
                mode = Some(match value {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    other => {
                        return Err(format!(
                            "line {n}: mode {other:?} is not enforce, testing or none"
                        ));
                    }
                });
            }
            "max_age" => {
                if max_age.is_some() {
                    repeated(&mut notes);
                    continue;
                }
                if value.is_empty()
                    || value.len() > 10
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(format!(
                        "line {n}: max_age {value:?} is not a number of seconds (1 to 10 digits)"
                    ));
                }
                let secs: u64 = value
                    .parse()
                    .map_err(|_| format!("line {n}: max_age {value:?} is not a number"))?;
                max_age = Some(secs);
            }
            "mx" => mx.push(MxPattern::parse(value).map_err(|e| format!("line {n}: {e}"))?),
            _ => extensions.push((key.to_string(), value.to_string())),
        }
    }
    match version.as_deref() {
        Some("STSv1") => {}
        Some(v) => return Err(format!("version {v:?} is not STSv1")),
        None => return Err("the policy has no version field".into()),
    }
    let mode = mode.ok_or_else(|| "the policy has no mode field".to_string())?;
    let max_age = max_age.ok_or_else(|| "the policy has no max_age field".to_string())?;
    if mx.is_empty() && mode != Mode::None {
        return Err(format!(
            "the policy has no mx field (required in mode {})",
            mode.as_str()
        ));
    }
    if max_age > MAX_AGE_LIMIT {
        notes.push(format!(
            "max_age {max_age} is above the maximum {MAX_AGE_LIMIT} (one year); senders cap it"
        ));
    } else if max_age < MAX_AGE_ADVISED_MIN && mode != Mode::None {
        notes.push(format!(
            "max_age {max_age} is under a day: a policy cached that briefly gives little protection against a downgrade at refresh time (RFC 8461 §3.2 advises weeks)"
        ));
    }
    Ok(Policy {
        mode,
        mx,
        max_age,
        extensions,
        notes,
    })
}

// ---------------------------------------------------------------------------
// HTTPS fetch (RFC 8461 §3.3)
// ---------------------------------------------------------------------------

/// How to fetch the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Extra trust anchors (PEM files), added to the OS store, as `--ca-file`.
    pub ca_files: Vec<PathBuf>,
    /// Limit for the whole fetch (connect, TLS, response); default
    /// [`DEFAULT_FETCH_TIMEOUT`].
    pub timeout: Duration,
    /// Largest body read, in bytes; default [`POLICY_MAX_BYTES`].
    pub max_bytes: usize,
    /// TCP port connected to; 443 except in tests. The URL (Host header,
    /// SNI, certificate name) stays `https://mta-sts.DOMAIN/...`.
    pub port: u16,
    /// Which addresses of the policy host to try.
    pub ip: IpVersion,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            ca_files: Vec::new(),
            timeout: DEFAULT_FETCH_TIMEOUT,
            max_bytes: POLICY_MAX_BYTES,
            port: 443,
            ip: IpVersion::Any,
        }
    }
}

/// Why a policy could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum FetchFailure {
    /// The policy host has no address (or the lookup failed).
    Dns(String),
    /// TCP connect failed.
    Connect(String),
    /// The TLS handshake failed or the certificate is not trusted / not
    /// valid for `mta-sts.DOMAIN`.
    Tls(String),
    /// A status other than 200.
    Status(u16),
    /// A 3xx answer: senders must not follow it (RFC 8461 §3.3).
    Redirect { status: u16, location: String },
    /// Not `text/plain` (RFC 8461 §3.3).
    ContentType(String),
    /// The body exceeds the size limit (bytes).
    TooLarge(usize),
    /// No complete answer within the time limit (ms).
    Timeout(u64),
    /// Anything else the HTTP layer reported.
    Http(String),
}

impl FetchFailure {
    /// The reason in one sentence.
    pub fn text(&self) -> String {
        match self {
            FetchFailure::Dns(r) => format!("the policy host has no address: {r}"),
            FetchFailure::Connect(r) => format!("cannot connect to the policy host: {r}"),
            FetchFailure::Tls(r) => format!("TLS with the policy host failed: {r}"),
            FetchFailure::Status(s) => format!("the server answered HTTP {s}, not 200"),
            FetchFailure::Redirect { status, location } => format!(
                "the server answered HTTP {status} redirecting to {location:?}; senders do not follow redirects"
            ),
            FetchFailure::ContentType(t) => {
                format!("the media type is {t:?}, not text/plain")
            }
            FetchFailure::TooLarge(limit) => format!("the policy is larger than {limit} bytes"),
            FetchFailure::Timeout(ms) => format!("no complete answer within {ms} ms"),
            FetchFailure::Http(r) => format!("HTTP failed: {r}"),
        }
    }
}

/// The result of one policy fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    /// `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`.
    pub url: String,
    /// The body (at most `max_bytes`), or why there is none.
    pub result: std::result::Result<Vec<u8>, FetchFailure>,
}

/// The policy URL for `domain` (RFC 8461 §3.3).
pub fn policy_url(domain: &str) -> String {
    format!("https://mta-sts.{domain}/.well-known/mta-sts.txt")
}

/// Resolves the policy host through the domain-mode resolver, so `--dns`
/// applies to it too.
struct HostResolver {
    resolver: Resolver,
    port: u16,
    ip: IpVersion,
}

impl reqwest::dns::Resolve for HostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let (port, ip) = (self.port, self.ip);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let answer = resolver.addresses(&host, ip).await;
            if answer.records.is_empty() {
                let why = match answer.outcome {
                    Outcome::Failed(r) => r,
                    Outcome::NxDomain => "no such domain".into(),
                    _ => "no address records".into(),
                };
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(std::io::Error::new(std::io::ErrorKind::NotFound, why));
                return Err(err);
            }
            let addrs: Vec<SocketAddr> = answer
                .records
                .into_iter()
                .map(|a| SocketAddr::new(a, port))
                .collect();
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// Fetches the policy of `domain` the way RFC 8461 §3.3 asks: HTTPS with
/// a validated certificate for `mta-sts.DOMAIN`, no redirects, no cache,
/// status 200, `text/plain`, at most `max_bytes`, within `timeout`.
///
/// # Errors
/// [`Error::Tls`] when the trust anchors cannot be loaded (a local
/// problem); everything the server does wrong is a [`FetchFailure`].
pub async fn fetch_policy(
    domain: &str,
    resolver: &Resolver,
    opts: &FetchOptions,
) -> Result<Fetched> {
    let url = policy_url(domain);
    let roots = crate::tls::client::root_store(&crate::tls::ClientOptions {
        ca_files: opts.ca_files.clone(),
        ..crate::tls::ClientOptions::default()
    })
    .map_err(|e| Error::Tls(e.to_string()))?;
    let tls = crate::tls::pkix::https_client_config(roots).map_err(Error::Tls)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(opts.timeout)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("mailwire/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(HostResolver {
            resolver: resolver.clone(),
            port: opts.port,
            ip: opts.ip,
        }))
        .build()
        .map_err(|e| Error::Tls(format!("cannot build the HTTPS client: {e}")))?;
    let host = format!("mta-sts.{domain}");
    let result = tokio::time::timeout(opts.timeout, get(&client, &url, &host, opts)).await;
    let result = match result {
        Ok(r) => r,
        Err(_) => Err(FetchFailure::Timeout(opts.timeout.as_millis() as u64)),
    };
    Ok(Fetched { url, result })
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    host: &str,
    opts: &FetchOptions,
) -> std::result::Result<Vec<u8>, FetchFailure> {
    let mut resp = client
        .get(url)
        .header(reqwest::header::CACHE_CONTROL, "no-cache")
        .send()
        .await
        .map_err(|e| classify(&e, host, opts))?;
    let status = resp.status().as_u16();
    if resp.status().is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        return Err(FetchFailure::Redirect { status, location });
    }
    if status != 200 {
        return Err(FetchFailure::Status(status));
    }
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "text/plain" {
        return Err(FetchFailure::ContentType(ctype));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > opts.max_bytes as u64)
    {
        return Err(FetchFailure::TooLarge(opts.max_bytes));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e, host, opts))? {
        if body.len() + chunk.len() > opts.max_bytes {
            return Err(FetchFailure::TooLarge(opts.max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sorts a reqwest error into a [`FetchFailure`] with a plain reason.
fn classify(e: &reqwest::Error, host: &str, opts: &FetchOptions) -> FetchFailure {
    if e.is_timeout() {
        return FetchFailure::Timeout(opts.timeout.as_millis() as u64);
    }
    if let Some(reason) = crate::tls::pkix::tls_reason(e, host) {
        return FetchFailure::Tls(reason);
    }
    // Walk the sources for the innermost message (hyper and io errors).
    let mut chain: Vec<String> = Vec::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        src = s.source();
    }
    let innermost = chain
        .last()
        .cloned()
        .unwrap_or_else(|| "unknown error".into());
    let dns_failed = {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut found = false;
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                found |= io.kind() == std::io::ErrorKind::NotFound;
            }
            src = s.source();
        }
        found
    };
    if dns_failed {
        FetchFailure::Dns(innermost)
    } else if e.is_connect() {
        FetchFailure::Connect(innermost)
    } else {
        FetchFailure::Http(innermost)
    }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// One MX host against the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxMatch {
    pub host: String,
    /// The pattern it matched; `None`: it matches none.
    pub pattern: Option<MxPattern>,
}

/// MTA-STS for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtaStsReport {
    /// `_mta-sts.DOMAIN`.
    pub record_name: String,
    /// DNSSEC status of the TXT answer (MTA-STS does not need DNSSEC).
    pub record_dnssec: DnssecStatus,
    pub record: StsRecordState,
    /// The fetch, when a record was found.
    pub fetch: Option<Fetched>,
    /// The parsed policy, when fetched and valid.
    pub policy: Option<Policy>,
    /// Every MX host against the policy (empty without a policy).
    pub mx: Vec<MxMatch>,
    pub findings: Vec<Finding>,
}

impl MtaStsReport {
    /// The mode senders apply: the policy's, or `None` without a usable policy.
    pub fn mode(&self) -> Option<Mode> {
        self.policy.as_ref().map(|p| p.mode)
    }
}

/// What a sender does when `host` fails validation under `mode`, as a
/// finding's severity and advice (RFC 8461 §5, §5.1).
pub fn consequence(mode: Mode, host: &str) -> (Severity, String) {
    match mode {
        Mode::Enforce => (
            Severity::Error,
            format!(
                "A sender that applies this enforce policy will not deliver to {host}: it skips this MX host, and if no MX host qualifies it defers the mail (a temporary failure, retried after re-checking the policy), never falling back to plaintext or an unchecked certificate."
            ),
        ),
        Mode::Testing => (
            Severity::Warning,
            format!(
                "In testing mode senders still deliver to {host} and report the failure through TLS-RPT; in enforce mode they would not deliver to it."
            ),
        ),
        Mode::None => (
            Severity::Info,
            format!(
                "The policy mode is none, so senders ignore the policy; in enforce mode they would not deliver to {host}."
            ),
        ),
    }
}

/// The rules of RFC 8461 applied to what was found: the TXT answer, the
/// fetch (when made) and the domain's MX hosts. Pure: no I/O.
pub fn evaluate(
    domain: &str,
    txt: &Answer<Vec<u8>>,
    fetch: Option<Fetched>,
    mx_hosts: &[String],
) -> MtaStsReport {
    let record = select_record(txt);
    let mut findings = Vec::new();
    let evidence_txt = txt
        .records
        .iter()
        .map(|r| format!("{}. TXT \"{}\"", txt.name, String::from_utf8_lossy(r)))
        .collect::<Vec<_>>()
        .join("\n");
    match &record {
        StsRecordState::Found { .. } => {}
        StsRecordState::Absent => findings.push(Finding::new(
            FindingId::MtaStsAbsent,
            Severity::Info,
            Stage::Policy,
            format!("{domain} publishes no MTA-STS record at {}", txt.name),
            "Without MTA-STS (or DANE) a sender cannot tell a stripped STARTTLS or a forged MX certificate from a server without TLS; publish a policy in testing mode, then enforce.",
            "RFC 8461 §3.1",
        )),
        StsRecordState::Invalid { reason } => findings.push(
            Finding::new(
                FindingId::MtaStsRecordInvalid,
                Severity::Error,
                Stage::Policy,
                format!("the MTA-STS record of {domain} is malformed: {reason}"),
                "Senders treat the domain as having no MTA-STS policy (a cached policy still applies until it expires); fix the record to `v=STSv1; id=...;`.",
                "RFC 8461 §3.1",
            )
            .with_evidence(evidence_txt.clone().into_bytes()),
        ),
        StsRecordState::Multiple { count } => findings.push(
            Finding::new(
                FindingId::MtaStsRecordInvalid,
                Severity::Error,
                Stage::Policy,
                format!("{domain} publishes {count} MTA-STS records at {}", txt.name),
                "With more than one v=STSv1 record senders treat the domain as having no MTA-STS policy; keep exactly one.",
                "RFC 8461 §3.1",
            )
            .with_evidence(evidence_txt.clone().into_bytes()),
        ),
        StsRecordState::LookupFailed { reason } => findings.push(Finding::new(
            FindingId::DnsLookupFailed,
            Severity::Warning,
            Stage::Dns,
            format!("the MTA-STS lookup at {} failed: {reason}", txt.name),
            "A sender with a cached policy keeps applying it; one without treats the domain as having no MTA-STS this time.",
            "RFC 8461 §5",
        )),
    }
    let mut policy = None;
    if let Some(f) = &fetch {
        match &f.result {
            Err(why) => findings.push(Finding::new(
                FindingId::MtaStsFetchFailed,
                Severity::Error,
                Stage::Policy,
                format!("the MTA-STS policy {} could not be fetched: {}", f.url, why.text()),
                "Senders without a cached policy deliver as if the domain had no MTA-STS (so a downgrade goes unnoticed); senders with one keep it until max_age runs out. Serve the policy with a valid certificate for mta-sts.DOMAIN, status 200, text/plain, no redirect.",
                "RFC 8461 §3.3",
            )),
            Ok(body) => match parse_policy(body) {
                Err(reason) => findings.push(
                    Finding::new(
                        FindingId::MtaStsPolicyInvalid,
                        Severity::Error,
                        Stage::Policy,
                        format!("the MTA-STS policy {} is invalid: {reason}", f.url),
                        "Senders ignore an invalid policy, as if the domain had no MTA-STS; fix the file (version, mode, mx, max_age).",
                        "RFC 8461 §3.2",
                    )
                    .with_evidence(body.clone()),
                ),
                Ok(p) => {
                    for note in &p.notes {
                        findings.push(Finding::new(
                            FindingId::MtaStsPolicyInvalid,
                            Severity::Warning,
                            Stage::Policy,
                            format!("the MTA-STS policy {}: {note}", f.url),
                            "Senders accept it; clean it up so stricter parsers do too.",
                            "RFC 8461 §3.2",
                        ));
                    }
                    if p.mode == Mode::Testing {
                        findings.push(Finding::new(
                            FindingId::MtaStsNotEnforced,
                            Severity::Info,
                            Stage::Policy,
                            format!("the MTA-STS policy of {domain} is in testing mode"),
                            "Senders report failures (TLS-RPT) but still deliver; switch to enforce once reports are clean.",
                            "RFC 8461 §5",
                        ));
                    } else if p.mode == Mode::None {
                        findings.push(Finding::new(
                            FindingId::MtaStsNotEnforced,
                            Severity::Info,
                            Stage::Policy,
                            format!("the MTA-STS policy of {domain} has mode none"),
                            "Senders treat the domain as having no policy (this is how a policy is withdrawn).",
                            "RFC 8461 §5, §8.3",
                        ));
                    }
                    policy = Some(p);
                }
            },
        }
    }
    let mut mx = Vec::new();
    if let Some(p) = &policy {
        for host in mx_hosts {
            let pattern = p.matching_pattern(host).cloned();
            if pattern.is_none() {
                let (severity, advice) = consequence(p.mode, host);
                let patterns =
                    p.mx.iter()
                        .map(|m| format!("mx: {m}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                findings.push(
                    Finding::new(
                        FindingId::MtaStsMxMismatch,
                        severity,
                        Stage::Policy,
                        format!("MX host {host} matches no mx pattern of the MTA-STS policy of {domain}"),
                        format!("{advice} Add `mx: {host}` (or a wildcard for its parent) to the policy, change its id in the TXT record, or remove the MX record."),
                        "RFC 8461 §4.1",
                    )
                    .with_evidence(patterns.into_bytes()),
                );
            }
            mx.push(MxMatch {
                host: host.clone(),
                pattern,
            });
        }
    }
    MtaStsReport {
        record_name: txt.name.clone(),
        record_dnssec: txt.dnssec,
        record,
        fetch,
        policy,
        mx,
        findings,
    }
}

/// Looks up the record, fetches the policy when there is one, and
/// evaluates it against `mx_hosts`.
///
/// # Errors
/// Only local problems (trust anchors), see [`fetch_policy`].
pub async fn inspect(
    domain: &str,
    resolver: &Resolver,
    mx_hosts: &[String],
    opts: &FetchOptions,
) -> Result<MtaStsReport> {
    let txt = resolver.txt(&format!("_mta-sts.{domain}")).await;
    // RFC 8461 §3.3: fetch only when a valid record exists.
    let fetch = match select_record(&txt) {
        StsRecordState::Found { .. } => Some(fetch_policy(domain, resolver, opts).await?),
        _ => None,
    };
    Ok(evaluate(domain, &txt, fetch, mx_hosts))
}

/// What the STARTTLS check saw on one MX host, as MTA-STS needs it
/// (RFC 8461 §4.2): filled in from the `check` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxTls {
    /// The host offered STARTTLS and the handshake completed.
    pub tls: bool,
    /// The chain leads to a trusted root (webpki).
    pub trusted: bool,
    /// The leaf is valid for the MX host name.
    pub name_matches: bool,
    /// The verifier's reason when not trusted, if any.
    pub detail: Option<String>,
}

/// The finding for an MX host whose TLS does not satisfy the policy: no
/// STARTTLS, an untrusted chain, or a certificate not valid for the MX
/// host name (RFC 8461 §4.2). `None` when it does.
pub fn check_mx_tls(domain: &str, policy: &Policy, host: &str, tls: &MxTls) -> Option<Finding> {
    let problem = if !tls.tls {
        format!("MX host {host} did not complete STARTTLS")
    } else if !tls.name_matches {
        format!("the certificate of MX host {host} is not valid for the name {host}")
    } else if !tls.trusted {
        format!(
            "the certificate chain of MX host {host} is not trusted{}",
            tls.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )
    } else {
        return None;
    };
    let (severity, advice) = consequence(policy.mode, host);
    Some(Finding::new(
        FindingId::MtaStsMxCertificate,
        severity,
        Stage::Policy,
        format!("{problem} (MTA-STS policy of {domain})"),
        advice,
        "RFC 8461 §4.2",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn txt_answer(records: &[&str]) -> Answer<Vec<u8>> {
        Answer {
            name: "_mta-sts.example.test".into(),
            outcome: if records.is_empty() {
                Outcome::NoData
            } else {
                Outcome::Records
            },
            dnssec: DnssecStatus::Validated,
            records: records.iter().map(|r| r.as_bytes().to_vec()).collect(),
            cnames: vec![],
        }
    }

    #[test_case("v=STSv1; id=20240101T000000;", "20240101T000000"; "plain")]
    #[test_case("v=STSv1;id=abc", "abc"; "no spaces no final semicolon")]
    #[test_case("v=STSv1;\tid=abc ; ", "abc"; "tabs and trailing space")]
    #[test_case("v=STSv1; id=a; id=b", "a"; "repeated id first wins")]
    #[test_case("v=STSv1; ext_1=x.y; id=Z9", "Z9"; "extension before id")]
    fn records_parse(txt: &str, id: &str) {
        assert_eq!(parse_sts_record(txt.as_bytes()).unwrap().id, id);
    }

    #[test_case("v=STSv2; id=1", "v=STSv1"; "wrong version")]
    #[test_case("id=1; v=STSv1", "v=STSv1"; "version not first")]
    #[test_case("v=STSv1;", "no id"; "no id")]
    #[test_case("v=STSv1; id=", "not 1 to 32"; "empty id")]
    #[test_case("v=STSv1; id=abc-def", "not 1 to 32"; "dash in id")]
    #[test_case("v=STSv1; id=012345678901234567890123456789012", "not 1 to 32"; "id too long")]
    #[test_case("v=STSv1; id=1;; x=y", "empty"; "empty field")]
    #[test_case("v=STSv1; id=1; junk", "not name=value"; "junk field")]
    #[test_case("v=STSv1; id=1; x=a b", "malformed"; "space in value")]
    #[test_case("v=STSv1 id=1", "v=STSv1"; "missing delimiter")]
    fn malformed_records(txt: &str, reason: &str) {
        let err = parse_sts_record(txt.as_bytes()).unwrap_err();
        assert!(err.contains(reason), "{txt:?}: {err}");
    }

    #[test]
    fn record_selection_follows_rfc_8461_3_1() {
        assert!(matches!(
            select_record(&txt_answer(&["v=spf1 -all", "v=STSv1; id=1;"])),
            StsRecordState::Found { .. }
        ));
        assert_eq!(
            select_record(&txt_answer(&["v=spf1 -all"])),
            StsRecordState::Absent
        );
        assert_eq!(select_record(&txt_answer(&[])), StsRecordState::Absent);
        assert_eq!(
            select_record(&txt_answer(&["v=STSv1; id=1;", "v=STSv1; id=2;"])),
            StsRecordState::Multiple { count: 2 }
        );
        assert!(matches!(
            select_record(&txt_answer(&["v=STSv1; idd=1;"])),
            StsRecordState::Invalid { .. }
        ));
    }

    const GOOD: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.mx.example.test\r\nmax_age: 604800\r\n";

    #[test]
    fn a_good_policy() {
        let p = parse_policy(GOOD.as_bytes()).unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604_800);
        assert_eq!(
            p.mx.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            ["mx1.example.test", "*.mx.example.test"]
        );
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        // LF alone, any order, extensions, trailing spaces.
        let p = parse_policy(
            b"max_age: 86400\nmx: a.test  \nmode: testing\nversion: STSv1\nx-ext: hi there",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Testing);
        assert_eq!(
            p.extensions,
            [("x-ext".to_string(), "hi there".to_string())]
        );
        // mode none needs no mx.
        let p = parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert!(p.mx.is_empty());
    }

    #[test_case("mode: enforce\nmx: a.test\nmax_age: 1\n", "no version"; "no version")]
    #[test_case("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", "not STSv1"; "bad version")]
    #[test_case("version: STSv1\nmx: a.test\nmax_age: 1\n", "no mode"; "no mode")]
    #[test_case("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", "not enforce"; "bad mode")]
    #[test_case("version: STSv1\nmode: enforce\nmx: a.test\n", "no max_age"; "no max_age")]
    #[test_case("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", "max_age"; "negative max_age")]
    #[test_case("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n", "max_age"; "eleven digits")]
    #[test_case("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no mx"; "no mx")]
    #[test_case("version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 86400\n", "wildcard"; "inner wildcard")]
    #[test_case("version: STSv1\nmode: enforce\nmx: *mail.test\nmax_age: 86400\n", "wildcard"; "partial wildcard")]
    #[test_case("version: STSv1\nmode: enforce\nmx: *\nmax_age: 86400\n", "wildcard"; "bare wildcard")]
    #[test_case("version: STSv1\nmode: enforce\nmx: bad_host.test\nmax_age: 86400\n", "not a domain"; "underscore")]
    #[test_case("version: STSv1\nmode enforce\n", "key: value"; "no colon")]
    #[test_case("version: STSv1\n mode: enforce\n", "field name"; "leading space")]
    #[test_case("version: STSv1\nmode: enforce\x07\n", "control"; "control byte")]
    fn malformed_policies(body: &str, reason: &str) {
        let err = parse_policy(body.as_bytes()).unwrap_err();
        assert!(err.contains(reason), "{body:?}: {err}");
    }

    #[test]
    fn not_utf8_is_invalid() {
        assert!(parse_policy(b"version: STSv1\nmode: \xff\n").is_err());
    }

    #[test]
    fn tolerated_deviations_are_noted() {
        let p = parse_policy(
            b"version: STSv1\nmode: enforce\nmode: none\n\nmx: a.test\nmax_age: 99999999\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Enforce, "the first mode counts");
        assert_eq!(p.max_age, 99_999_999);
        let notes = p.notes.join("\n");
        assert!(notes.contains("mode is repeated"), "{notes}");
        assert!(notes.contains("line 4 is blank"), "{notes}");
        assert!(notes.contains("above the maximum"), "{notes}");
        let p = parse_policy(b"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 300\n").unwrap();
        assert!(p.notes[0].contains("under a day"), "{:?}", p.notes);
    }

    #[test_case("mail.example.com", "mail.example.com", true; "exact")]
    #[test_case("mail.example.com", "MAIL.Example.COM.", true; "case and dot")]
    #[test_case("mail.example.com", "mx.mail.example.com", false; "exact is not a suffix")]
    #[test_case("*.example.com", "mail.example.com", true; "wildcard one label")]
    #[test_case("*.example.com", "example.com", false; "wildcard needs a label")]
    #[test_case("*.example.com", "a.b.example.com", false; "wildcard is one label only")]
    #[test_case("*.example.com", "mailexample.com", false; "label boundary")]
    #[test_case("*.example.com.", "x.example.com", true; "pattern trailing dot")]
    fn mx_patterns(pattern: &str, host: &str, expected: bool) {
        assert_eq!(MxPattern::parse(pattern).unwrap().matches(host), expected);
    }

    fn fetched(body: &str) -> Option<Fetched> {
        Some(Fetched {
            url: policy_url("example.test"),
            result: Ok(body.as_bytes().to_vec()),
        })
    }

    #[test]
    fn evaluation_finds_the_mx_mismatch_and_says_what_enforce_does() {
        let r = evaluate(
            "example.test",
            &txt_answer(&["v=STSv1; id=1;"]),
            fetched(GOOD),
            &[
                "mx1.example.test".into(),
                "a.mx.example.test".into(),
                "rogue.example.test".into(),
            ],
        );
        assert_eq!(r.mode(), Some(Mode::Enforce));
        assert_eq!(r.mx.len(), 3);
        assert_eq!(
            r.mx[1].pattern.as_ref().unwrap().to_string(),
            "*.mx.example.test"
        );
        assert!(r.mx[2].pattern.is_none());
        let ids: Vec<&FindingId> = r.findings.iter().map(|f| &f.id).collect();
        assert_eq!(ids, [&FindingId::MtaStsMxMismatch]);
        let f = &r.findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.contains("rogue.example.test"));
        assert!(
            f.advice.contains("will not deliver to rogue.example.test"),
            "{}",
            f.advice
        );
        assert_eq!(
            String::from_utf8_lossy(&f.evidence),
            "mx: mx1.example.test\nmx: *.mx.example.test"
        );
    }

    #[test]
    fn testing_mode_mismatch_is_a_warning() {
        let body = GOOD.replace("enforce", "testing");
        let r = evaluate(
            "example.test",
            &txt_answer(&["v=STSv1; id=1;"]),
            fetched(&body),
            &["x.test".into()],
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::MtaStsMxMismatch)
            .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            r.findings
                .iter()
                .any(|f| f.id == FindingId::MtaStsNotEnforced)
        );
    }

    #[test]
    fn fetch_failures_and_bad_policies_are_findings() {
        let failed = Some(Fetched {
            url: policy_url("example.test"),
            result: Err(FetchFailure::Redirect {
                status: 301,
                location: "https://elsewhere.test/".into(),
            }),
        });
        let r = evaluate(
            "example.test",
            &txt_answer(&["v=STSv1; id=1;"]),
            failed,
            &[],
        );
        assert_eq!(r.findings[0].id, FindingId::MtaStsFetchFailed);
        assert!(
            r.findings[0].summary.contains("301"),
            "{}",
            r.findings[0].summary
        );
        assert!(r.policy.is_none());
        let r = evaluate(
            "example.test",
            &txt_answer(&["v=STSv1; id=1;"]),
            fetched("version: STSv1\n"),
            &[],
        );
        assert_eq!(r.findings[0].id, FindingId::MtaStsPolicyInvalid);
        assert_eq!(r.findings[0].severity, Severity::Error);
        assert_eq!(r.findings[0].evidence, b"version: STSv1\n");
    }

    #[test]
    fn record_problems_are_findings() {
        let r = evaluate("example.test", &txt_answer(&[]), None, &[]);
        assert_eq!(r.findings[0].id, FindingId::MtaStsAbsent);
        let r = evaluate(
            "example.test",
            &txt_answer(&["v=STSv1; id=1;", "v=STSv1; id=2;"]),
            None,
            &[],
        );
        assert_eq!(r.findings[0].id, FindingId::MtaStsRecordInvalid);
        assert!(r.findings[0].summary.contains("2 MTA-STS records"));
    }

    #[test]
    fn mx_tls_under_the_policy() {
        let p = parse_policy(GOOD.as_bytes()).unwrap();
        let ok = MxTls {
            tls: true,
            trusted: true,
            name_matches: true,
            detail: None,
        };
        assert!(check_mx_tls("example.test", &p, "mx1.example.test", &ok).is_none());
        let wrong_name = MxTls {
            name_matches: false,
            trusted: false,
            ..ok.clone()
        };
        let f = check_mx_tls("example.test", &p, "mx1.example.test", &wrong_name).unwrap();
        assert_eq!(f.id, FindingId::MtaStsMxCertificate);
        assert!(
            f.summary
                .contains("not valid for the name mx1.example.test"),
            "{}",
            f.summary
        );
        assert_eq!(f.severity, Severity::Error);
        let no_tls = MxTls { tls: false, ..ok };
        assert!(
            check_mx_tls("example.test", &p, "mx1.example.test", &no_tls)
                .unwrap()
                .summary
                .contains("STARTTLS")
        );
    }
}
