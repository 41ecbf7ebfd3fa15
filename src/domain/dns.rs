//! DNS for domain mode: one lookup = one [`Answer`] with its records, how
//! the server answered (records, no data, no such domain, failure) and the
//! DNSSEC status mailwire itself validated (RFC 4035 §4.3).
//!
//! ```text
//! Resolver::mx / txt / tlsa / addresses
//!   -> validating hickory resolver (trust anchors: IANA root keys, or the
//!      DNSKEYs given, e.g. a test zone's key)
//!        ok       -> records + proof of each record -> DnssecStatus
//!        no data  -> proof of the denial (NSEC/NSEC3, SOA) -> DnssecStatus
//!        bogus    -> the same query without validation, records kept and
//!                    marked Bogus (what a non-validating sender would use)
//!   -> Answer<T> { name, outcome, dnssec, records }
//! ```
//!
//! The resolver is the system's (`/etc/resolv.conf`) or one server given
//! as `--dns IP[:PORT]` ([`DnsOptions::server`]). Validation happens here,
//! not in the upstream resolver: its AD bit is not trusted.
//! `/etc/hosts` is not consulted: a sending MTA asks DNS.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{Resolver as HickoryResolver, TokioResolver};
use serde::{Deserialize, Serialize};

use super::dane::Tlsa;
use super::{Error, Result};

/// Default time for one DNS query (per attempt), as most stub resolvers.
pub const DEFAULT_DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// Which addresses of an MX host to use (`-4` / `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpVersion {
    /// A and AAAA records (IPv4 and IPv6).
    #[default]
    Any,
    /// A records only (`-4`).
    V4,
    /// AAAA records only (`-6`).
    V6,
}

impl IpVersion {
    /// True when `ip` is of an allowed version.
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            IpVersion::Any => true,
            IpVersion::V4 => ip.is_ipv4(),
            IpVersion::V6 => ip.is_ipv6(),
        }
    }
}

/// How to resolve: which server, which trust anchors, how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsOptions {
    /// `--dns IP[:PORT]` (port 53 when not given); `None`: the system's
    /// resolvers from `/etc/resolv.conf`.
    pub server: Option<SocketAddr>,
    /// DNSKEY records in zone-file form (`test. IN DNSKEY 257 3 13 ...`),
    /// each trusted for its owner name. `None`: the IANA root keys
    /// (KSK-2017 and KSK-2024), as a validating resolver on the Internet.
    pub trust_anchor: Option<String>,
    /// Time for one query attempt (two attempts are made); default
    /// [`DEFAULT_DNS_TIMEOUT`].
    pub timeout: Duration,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            server: None,
            trust_anchor: None,
            timeout: DEFAULT_DNS_TIMEOUT,
        }
    }
}

/// `IP` or `IP:PORT` or `[IPv6]:PORT` for `--dns`; a bare IP means port 53.
///
/// # Errors
/// Neither form parses.
pub fn parse_dns_server(s: &str) -> std::result::Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| {
            format!("{s:?} is not a DNS server address: use IP or IP:PORT, e.g. 127.0.0.1:5353 or [::1]:53")
        })
}

/// The DNSSEC status of one answer, as a validating resolver sees it
/// (RFC 4035 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnssecStatus {
    /// Signed, and the chain of trust from a trust anchor verifies.
    Validated,
    /// Provably unsigned (no DS at the delegation): DNSSEC does not apply.
    Insecure,
    /// Signed (or required to be) but does not verify: a validating
    /// sender treats the answer as a failure.
    Bogus,
    /// The validator could not decide (no trust anchor reachable, or the
    /// lookup itself failed).
    Indeterminate,
}

impl DnssecStatus {
    /// `validated`, `insecure`, `bogus` or `indeterminate`.
    pub fn as_str(self) -> &'static str {
        match self {
            DnssecStatus::Validated => "validated",
            DnssecStatus::Insecure => "insecure",
            DnssecStatus::Bogus => "bogus",
            DnssecStatus::Indeterminate => "indeterminate",
        }
    }

    fn from_proof(p: Proof) -> DnssecStatus {
        match p {
            Proof::Secure => DnssecStatus::Validated,
            Proof::Insecure => DnssecStatus::Insecure,
            Proof::Bogus => DnssecStatus::Bogus,
            Proof::Indeterminate => DnssecStatus::Indeterminate,
        }
    }

    /// The status of several RRsets together: bogus wins, then
    /// indeterminate, then insecure; validated only when all are.
    pub fn combine(statuses: impl IntoIterator<Item = DnssecStatus>) -> DnssecStatus {
        let mut worst = None;
        for s in statuses {
            let rank = |s: DnssecStatus| match s {
                DnssecStatus::Validated => 0,
                DnssecStatus::Insecure => 1,
                DnssecStatus::Indeterminate => 2,
                DnssecStatus::Bogus => 3,
            };
            worst = match worst {
                Some(w) if rank(w) >= rank(s) => Some(w),
                _ => Some(s),
            };
        }
        worst.unwrap_or(DnssecStatus::Indeterminate)
    }
}

impl std::fmt::Display for DnssecStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the DNS answered one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Outcome {
    /// NOERROR with at least one record of the type asked.
    Records,
    /// NOERROR without records of that type (NODATA, RFC 2308 §2.2).
    NoData,
    /// NXDOMAIN: the name does not exist (RFC 8020).
    NxDomain,
    /// No usable answer: SERVFAIL, REFUSED, timeout, malformed name.
    Failed(String),
}

/// One DNS answer: what was asked, what came back, and its DNSSEC status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer<T> {
    /// The name asked, lower case, without the trailing dot.
    pub name: String,
    /// How the server answered.
    pub outcome: Outcome,
    /// DNSSEC status of the answer (or of the denial, for NoData/NxDomain).
    pub dnssec: DnssecStatus,
    /// The records of the type asked (after any CNAME), in answer order.
    pub records: Vec<T>,
    /// CNAME targets followed to reach the records, in order (RFC 1034 §3.6.2).
    pub cnames: Vec<String>,
}

impl<T> Answer<T> {
    fn failed(name: &str, reason: String) -> Answer<T> {
        Answer {
            name: name.to_string(),
            outcome: Outcome::Failed(reason),
            dnssec: DnssecStatus::Indeterminate,
            records: Vec::new(),
            cnames: Vec::new(),
        }
    }

    /// True for NoData and NxDomain: the name has no such records.
    pub fn is_empty_answer(&self) -> bool {
        matches!(self.outcome, Outcome::NoData | Outcome::NxDomain)
    }
}

/// One MX record (RFC 5321 §5.1): lower preference is tried first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxRecord {
    /// Preference; lower is tried first.
    pub preference: u16,
    /// The exchange host, lower case, without the trailing dot; empty for
    /// the root (`.`), as in a null MX (RFC 7505).
    pub exchange: String,
}

/// The domain-mode resolver: a validating and a plain hickory resolver
/// over the same servers.
#[derive(Clone)]
pub struct Resolver {
    validating: TokioResolver,
    plain: TokioResolver,
    timeout: Duration,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

/// `name` as lower-case text without the trailing dot (root: empty).
pub(crate) fn name_text(name: &Name) -> String {
    let ascii = name.to_lowercase().to_ascii();
    ascii.trim_end_matches('.').to_string()
}

/// A host or domain name as given (`Example.COM.`, `bücher.example`) in
/// the form used in reports: lower-case ASCII (A-labels), no trailing dot.
///
/// # Errors
/// [`Error::BadName`] when it is not a domain name.
pub fn normalize_name(s: &str) -> Result<String> {
    let name = Name::from_utf8(s.trim()).map_err(|_| Error::BadName(s.to_string()))?;
    if name.is_root() {
        return Err(Error::BadName(s.to_string()));
    }
    Ok(name_text(&name))
}

impl Resolver {
    /// Builds the resolvers from `opts`.
    ///
    /// # Errors
    /// [`Error::TrustAnchor`] when the DNSKEY text does not parse,
    /// [`Error::Resolver`] when the system configuration cannot be read.
    pub fn new(opts: &DnsOptions) -> Result<Resolver> {
        let anchors = match &opts.trust_anchor {
            None => TrustAnchors::default(),
            Some(text) => {
                let anchors =
                    TrustAnchors::from_str(text).map_err(|e| Error::TrustAnchor(e.to_string()))?;
                if !text.contains("DNSKEY") {
                    return Err(Error::TrustAnchor("no DNSKEY record in the text".into()));
                }
                anchors
            }
        };
        let build = |validate: bool| -> Result<TokioResolver> {
            let mut builder = match opts.server {
                None => TokioResolver::builder_tokio()
                    .map_err(|e| Error::Resolver(format!("system resolver configuration: {e}")))?,
                Some(addr) => {
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut ns.connections {
                        c.port = addr.port();
                    }
                    HickoryResolver::builder_with_config(
                        ResolverConfig::from_name_servers(vec![ns]),
                        TokioRuntimeProvider::default(),
                    )
                }
            };
            let o: &mut ResolverOpts = builder.options_mut();
            o.timeout = opts.timeout;
            o.attempts = 2;
            o.use_hosts_file = ResolveHosts::Never;
            o.edns0 = true;
            // Validation needs TCP for large DNSKEY/RRSIG answers.
            o.try_tcp_on_error = true;
            if validate {
                builder = builder.with_trust_anchor(Arc::new(anchors.clone()));
            } else {
                builder.options_mut().validate = false;
            }
            builder
                .build()
                .map_err(|e| Error::Resolver(format!("cannot build the resolver: {e}")))
        };
        Ok(Resolver {
            validating: build(true)?,
            plain: build(false)?,
            timeout: opts.timeout,
        })
    }

    /// MX records of `domain` (RFC 5321 §5.1), sorted by preference then
    /// name. See [`super::mx::resolve`] for the fallback and null MX.
    pub async fn mx(&self, domain: &str) -> Answer<MxRecord> {
        let mut a = self
            .lookup(domain, RecordType::MX, |d| match d {
                RData::MX(mx) => Some(MxRecord {
                    preference: mx.preference,
                    exchange: name_text(&mx.exchange),
                }),
                _ => None,
            })
            .await;
        a.records
            .sort_by(|x, y| (x.preference, &x.exchange).cmp(&(y.preference, &y.exchange)));
        a
    }

    /// TXT records at `name`, each with its character-strings joined
    /// (RFC 7208 §3.3 style, as RFC 8461 §3.1 and RFC 8460 §3 read them).
    pub async fn txt(&self, name: &str) -> Answer<Vec<u8>> {
        self.lookup(name, RecordType::TXT, |d| match d {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .flat_map(|s| s.iter().copied())
                    .collect(),
            ),
            _ => None,
        })
        .await
    }

    /// TLSA records at `_PORT._tcp.HOST` (RFC 6698 §3, RFC 7672 §2.2).
    pub async fn tlsa(&self, host: &str, port: u16) -> Answer<Tlsa> {
        let name = format!("_{port}._tcp.{host}");
        self.lookup(&name, RecordType::TLSA, |d| match d {
            RData::TLSA(t) => Some(Tlsa {
                usage: u8::from(t.cert_usage).into(),
                selector: u8::from(t.selector).into(),
                matching: u8::from(t.matching).into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .await
    }

    /// A and/or AAAA records of `host` as `ip` allows; the outcome is
    /// Records when either lookup found some, and the DNSSEC status is the
    /// combination of the lookups made.
    pub async fn addresses(&self, host: &str, ip: IpVersion) -> Answer<IpAddr> {
        let v4 = async {
            match ip {
                IpVersion::V6 => None,
                _ => Some(
                    self.lookup(host, RecordType::A, |d| match d {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        _ => None,
                    })
                    .await,
                ),
            }
        };
        let v6 = async {
            match ip {
                IpVersion::V4 => None,
                _ => Some(
                    self.lookup(host, RecordType::AAAA, |d| match d {
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .await,
                ),
            }
        };
        let (v4, v6) = tokio::join!(v4, v6);
        let parts: Vec<Answer<IpAddr>> = v4.into_iter().chain(v6).collect();
        merge_answers(host, parts)
    }

    /// One query of `rtype` at `name`, validated; `pick` keeps the records
    /// of the type asked.
    async fn lookup<T>(
        &self,
        name: &str,
        rtype: RecordType,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> Answer<T> {
        let shown = name.trim_end_matches('.').to_ascii_lowercase();
        let mut qname = match Name::from_utf8(name) {
            Ok(n) => n,
            Err(_) => return Answer::failed(&shown, format!("{shown:?} is not a domain name")),
        };
        // Fully qualified: no search-list expansion (RFC 1535).
        qname.set_fqdn(true);
        match self.validating.lookup(qname.clone(), rtype).await {
            Ok(lookup) => from_records(&shown, lookup.answers(), &pick, None),
            Err(NetError::Dns(DnsError::DnssecBogus)) => {
                // What a non-validating sender would get, marked bogus.
                match self.plain.lookup(qname, rtype).await {
                    Ok(lookup) => {
                        from_records(&shown, lookup.answers(), &pick, Some(DnssecStatus::Bogus))
                    }
                    Err(e) => {
                        let mut a = self.answer_for_error(&shown, &e);
                        a.dnssec = DnssecStatus::Bogus;
                        a
                    }
                }
            }
            Err(e) => self.answer_for_error(&shown, &e),
        }
    }

    fn answer_for_error<T>(&self, shown: &str, e: &NetError) -> Answer<T> {
        let (outcome, dnssec) = match e {
            NetError::Dns(DnsError::NoRecordsFound(nr)) => {
                let proofs: Vec<DnssecStatus> = nr
                    .authorities
                    .iter()
                    .flat_map(|a| a.iter())
                    .filter(|r| r.record_type() != RecordType::RRSIG)
                    .map(|r| DnssecStatus::from_proof(r.proof))
                    .collect();
                (
                    empty_outcome(nr.response_code),
                    DnssecStatus::combine(proofs),
                )
            }
            NetError::Dns(DnsError::Nsec {
                response, proof, ..
            }) => (
                empty_outcome(response.response_code),
                DnssecStatus::from_proof(*proof),
            ),
            NetError::Dns(DnsError::ResponseCode(code)) => (
                Outcome::Failed(format!("the server answered {}", rcode_text(*code))),
                DnssecStatus::Indeterminate,
            ),
            NetError::Timeout => (
                Outcome::Failed(format!(
                    "no answer within {} ms (twice)",
                    self.timeout.as_millis()
                )),
                DnssecStatus::Indeterminate,
            ),
            other => (
                Outcome::Failed(other.to_string()),
                DnssecStatus::Indeterminate,
            ),
        };
        Answer {
            name: shown.to_string(),
            outcome,
            dnssec,
            records: Vec::new(),
            cnames: Vec::new(),
        }
    }
}

fn empty_outcome(code: ResponseCode) -> Outcome {
    if code == ResponseCode::NXDomain {
        Outcome::NxDomain
    } else {
        Outcome::NoData
    }
}

/// The mnemonic of a response code (RFC 1035 §4.1.1, RFC 6895 §2.3).
fn rcode_text(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        other => format!("response code {}", u16::from(other)),
    }
}

fn from_records<T>(
    shown: &str,
    answers: &[Record],
    pick: &impl Fn(&RData) -> Option<T>,
    status: Option<DnssecStatus>,
) -> Answer<T> {
    let data: Vec<&Record> = answers
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .collect();
    let records: Vec<T> = data.iter().filter_map(|r| pick(&r.data)).collect();
    let cnames = data
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(name_text(&c.0)),
            _ => None,
        })
        .collect();
    let dnssec = status.unwrap_or_else(|| {
        DnssecStatus::combine(data.iter().map(|r| DnssecStatus::from_proof(r.proof)))
    });
    Answer {
        name: shown.to_string(),
        outcome: if records.is_empty() {
            Outcome::NoData
        } else {
            Outcome::Records
        },
        dnssec,
        records,
        cnames,
    }
}

/// Joins the A and AAAA answers of one host.
fn merge_answers(host: &str, parts: Vec<Answer<IpAddr>>) -> Answer<IpAddr> {
    let dnssec = DnssecStatus::combine(parts.iter().map(|a| a.dnssec));
    let outcome = if parts.iter().any(|a| a.outcome == Outcome::Records) {
        Outcome::Records
    } else if let Some(f) = parts
        .iter()
        .find(|a| matches!(a.outcome, Outcome::Failed(_)))
    {
        f.outcome.clone()
    } else if !parts.is_empty() && parts.iter().all(|a| a.outcome == Outcome::NxDomain) {
        Outcome::NxDomain
    } else {
        Outcome::NoData
    };
    let mut cnames: Vec<String> = Vec::new();
    let mut records = Vec::new();
    for a in parts {
        for c in a.cnames {
            if !cnames.contains(&c) {
                cnames.push(c);
            }
        }
        records.extend(a.records);
    }
    Answer {
        name: host.trim_end_matches('.').to_ascii_lowercase(),
        outcome,
        dnssec,
        records,
        cnames,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dns_server_forms() {
        assert_eq!(
            parse_dns_server("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert!(parse_dns_server("dns.example").is_err());
    }

    #[test]
    fn combine_takes_the_worst() {
        use DnssecStatus::*;
        assert_eq!(DnssecStatus::combine([Validated, Validated]), Validated);
        assert_eq!(DnssecStatus::combine([Validated, Insecure]), Insecure);
        assert_eq!(DnssecStatus::combine([Insecure, Bogus, Validated]), Bogus);
        assert_eq!(
            DnssecStatus::combine([Insecure, Indeterminate]),
            Indeterminate
        );
        assert_eq!(DnssecStatus::combine([]), Indeterminate);
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_name("Example.TEST.").unwrap(), "example.test");
        assert_eq!(
            normalize_name(" mx.example.test ").unwrap(),
            "mx.example.test"
        );
        assert_eq!(
            normalize_name("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(normalize_name(".").is_err());
        assert!(normalize_name("a..b").is_err());
    }

    #[test]
    fn a_bad_trust_anchor_is_an_error() {
        let opts = DnsOptions {
            server: Some("127.0.0.1:53".parse().unwrap()),
            trust_anchor: Some("test. IN DNSKEY 257 3 13 !!!notbase64".into()),
            ..DnsOptions::default()
        };
        assert!(matches!(Resolver::new(&opts), Err(Error::TrustAnchor(_))));
        let opts = DnsOptions {
            trust_anchor: Some("just words".into()),
            ..opts
        };
        assert!(matches!(Resolver::new(&opts), Err(Error::TrustAnchor(_))));
    }

    #[test]
    fn ip_version_filters() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(IpVersion::Any.allows(v4) && IpVersion::Any.allows(v6));
        assert!(IpVersion::V4.allows(v4) && !IpVersion::V4.allows(v6));
        assert!(!IpVersion::V6.allows(v4) && IpVersion::V6.allows(v6));
    }
}
