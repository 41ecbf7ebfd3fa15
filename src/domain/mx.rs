//! Where mail for a domain goes (RFC 5321 §5.1): the MX records, the
//! implicit MX (the domain's own A/AAAA) when there are none, the null MX
//! of a domain that takes no mail (RFC 7505), and the addresses of every
//! MX host, restricted to IPv4 or IPv6 on request.
//!
//! ```text
//! Resolver::mx(domain)
//!   records, "0 ." only   -> NullMx (no mail)
//!   records               -> each exchange: Resolver::addresses(host, ip)
//!   no data               -> implicit MX: Resolver::addresses(domain, ip)
//!   NXDOMAIN / failure    -> no MX hosts, a finding
//! -> MxReport { source, hosts (preference order), findings }
//! ```
//!
//! Hosts of equal preference are listed by name; senders pick among them
//! at random (RFC 5321 §5.1), the order here is only for stable output.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::dns::{Answer, DnssecStatus, IpVersion, MxRecord, Outcome, Resolver};
use crate::finding::{Finding, FindingId, Severity, Stage};

/// Where the MX host list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MxSource {
    /// MX records.
    Mx,
    /// No MX records: the domain itself, preference 0 (RFC 5321 §5.1).
    Implicit,
    /// A null MX (`0 .`): the domain accepts no mail (RFC 7505).
    NullMx,
    /// The domain does not exist (NXDOMAIN).
    NoDomain,
    /// The MX lookup failed: senders defer and retry.
    LookupFailed,
}

/// One MX host with its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxHost {
    pub preference: u16,
    /// Host name, lower case, no trailing dot.
    pub name: String,
    /// Its A/AAAA answer (as `IpVersion` allows), with DNSSEC status.
    pub addresses: Answer<IpAddr>,
}

/// The MX resolution of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxReport {
    pub domain: String,
    /// The MX lookup itself.
    pub mx: Answer<MxRecord>,
    pub source: MxSource,
    /// The hosts a sender tries, in preference order.
    pub hosts: Vec<MxHost>,
    pub findings: Vec<Finding>,
}

impl MxReport {
    /// DNSSEC status of the answer that named the hosts: the MX answer,
    /// or for an implicit MX the domain's address answer. DANE needs it
    /// validated (RFC 7672 §2.2.1).
    pub fn host_list_dnssec(&self) -> DnssecStatus {
        match self.source {
            MxSource::Implicit => self
                .hosts
                .first()
                .map(|h| h.addresses.dnssec)
                .unwrap_or(DnssecStatus::Indeterminate),
            _ => self.mx.dnssec,
        }
    }

    /// Every (host, address) pair a sender may connect to, in order.
    pub fn targets(&self) -> Vec<(&str, IpAddr)> {
        self.hosts
            .iter()
            .flat_map(|h| {
                h.addresses
                    .records
                    .iter()
                    .map(move |a| (h.name.as_str(), *a))
            })
            .collect()
    }
}

fn mx_text(domain: &str, records: &[MxRecord]) -> Vec<u8> {
    records
        .iter()
        .map(|r| {
            let ex = if r.exchange.is_empty() {
                "."
            } else {
                &r.exchange
            };
            format!("{domain}. MX {} {ex}", r.preference)
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// Resolves where mail for `domain` goes (see the module docs).
pub async fn resolve(resolver: &Resolver, domain: &str, ip: IpVersion) -> MxReport {
    let mx = resolver.mx(domain).await;
    let mut findings = Vec::new();
    if mx.dnssec == DnssecStatus::Bogus {
        findings.push(
            Finding::new(
                FindingId::DnssecBogus,
                Severity::Error,
                Stage::Dns,
                format!("the MX answer of {domain} fails DNSSEC validation (bogus)"),
                "Validating resolvers answer SERVFAIL for it, so many senders cannot deliver at all and defer the mail; fix the zone's signatures or its DS record in the parent.",
                "RFC 4035 §5.5",
            )
            .with_evidence(mx_text(domain, &mx.records)),
        );
    }
    let (source, wanted): (MxSource, Vec<(u16, String)>) = match &mx.outcome {
        Outcome::Records => {
            let null: Vec<&MxRecord> = mx
                .records
                .iter()
                .filter(|r| r.exchange.is_empty())
                .collect();
            if !null.is_empty() {
                let only = mx.records.len() == 1 && mx.records[0].preference == 0;
                findings.push(
                    Finding::new(
                        FindingId::NullMx,
                        if only { Severity::Info } else { Severity::Warning },
                        Stage::Dns,
                        if only {
                            format!("{domain} publishes a null MX: it accepts no mail")
                        } else {
                            format!("{domain} mixes a null MX (.) with other MX records")
                        },
                        if only {
                            "Senders fail mail to this domain at once (reply code 556) instead of queueing it."
                        } else {
                            "A domain with a null MX must publish no other MX record; senders may treat it as taking no mail. Remove the null MX or the others."
                        },
                        "RFC 7505 §3, §4.1",
                    )
                    .with_evidence(mx_text(domain, &mx.records)),
                );
            }
            if null.len() == mx.records.len() {
                (MxSource::NullMx, Vec::new())
            } else {
                let mut seen = Vec::new();
                let mut hosts = Vec::new();
                for r in mx.records.iter().filter(|r| !r.exchange.is_empty()) {
                    if !seen.contains(&r.exchange) {
                        seen.push(r.exchange.clone());
                        hosts.push((r.preference, r.exchange.clone()));
                    }
                }
                (MxSource::Mx, hosts)
            }
        }
        Outcome::NoData => {
            findings.push(Finding::new(
                FindingId::MxImplicit,
                Severity::Info,
                Stage::Dns,
                format!("{domain} has no MX record; senders use its own address records (implicit MX)"),
                "This works, but an explicit MX record states the intent and lets MTA-STS and DANE name the host.",
                "RFC 5321 §5.1",
            ));
            (MxSource::Implicit, vec![(0, domain.to_string())])
        }
        Outcome::NxDomain => {
            findings.push(Finding::new(
                FindingId::DomainNotFound,
                Severity::Error,
                Stage::Dns,
                format!("{domain} does not exist (NXDOMAIN)"),
                "Senders bounce mail for it at once.",
                "RFC 5321 §5.1",
            ));
            (MxSource::NoDomain, Vec::new())
        }
        Outcome::Failed(reason) => {
            findings.push(Finding::new(
                FindingId::DnsLookupFailed,
                Severity::Error,
                Stage::Dns,
                format!("the MX lookup of {domain} failed: {reason}"),
                "Senders cannot tell where to deliver; they defer the mail and retry.",
                "RFC 5321 §5.1",
            ));
            (MxSource::LookupFailed, Vec::new())
        }
    };

    // All hosts at once: a handful of lookups, bounded by the MX count.
    let mut set = tokio::task::JoinSet::new();
    for (i, (pref, name)) in wanted.iter().enumerate() {
        let resolver = resolver.clone();
        let name = name.clone();
        let pref = *pref;
        set.spawn(async move {
            let addresses = resolver.addresses(&name, ip).await;
            (
                i,
                MxHost {
                    preference: pref,
                    name,
                    addresses,
                },
            )
        });
    }
    let mut hosts: Vec<(usize, MxHost)> = Vec::with_capacity(wanted.len());
    while let Some(done) = set.join_next().await {
        if let Ok(pair) = done {
            hosts.push(pair);
        }
    }
    hosts.sort_by_key(|(i, _)| *i);
    let hosts: Vec<MxHost> = hosts.into_iter().map(|(_, h)| h).collect();

    let family = match ip {
        IpVersion::Any => "",
        IpVersion::V4 => " IPv4",
        IpVersion::V6 => " IPv6",
    };
    let without: Vec<&MxHost> = hosts
        .iter()
        .filter(|h| h.addresses.records.is_empty())
        .collect();
    for h in &without {
        let why = match &h.addresses.outcome {
            Outcome::Failed(r) => format!("the lookup failed: {r}"),
            Outcome::NxDomain => "the name does not exist".into(),
            _ => match ip {
                IpVersion::Any => "the name has no A or AAAA records".into(),
                IpVersion::V4 => "the name has no A records".into(),
                IpVersion::V6 => "the name has no AAAA records".into(),
            },
        };
        let all = without.len() == hosts.len();
        findings.push(Finding::new(
            FindingId::MxNoAddress,
            if all { Severity::Error } else { Severity::Warning },
            Stage::Dns,
            format!("MX host {} has no{family} address: {why}", h.name),
            if all {
                "No MX host can be reached, so senders defer the mail and eventually bounce it."
            } else {
                "Senders skip this host and try the others; remove the MX record or give the host an address."
            },
            "RFC 5321 §5.1",
        ));
    }
    for h in &hosts {
        if source == MxSource::Mx && !h.addresses.cnames.is_empty() {
            findings.push(
                Finding::new(
                    FindingId::MxCname,
                    Severity::Warning,
                    Stage::Dns,
                    format!("MX host {} of {domain} is an alias (CNAME)", h.name),
                    "An MX must name a host with address records, not an alias; most senders follow it, but MTA-STS and DANE then judge names that may surprise you. Point the MX at the canonical name.",
                    "RFC 2181 §10.3; RFC 5321 §5.1",
                )
                .with_evidence(
                    format!("{} CNAME {}", h.name, h.addresses.cnames.join(" -> ")).into_bytes(),
                ),
            );
        }
        if h.addresses.dnssec == DnssecStatus::Bogus {
            findings.push(Finding::new(
                FindingId::DnssecBogus,
                Severity::Error,
                Stage::Dns,
                format!("the address records of MX host {} fail DNSSEC validation (bogus)", h.name),
                "Validating senders cannot reach this host and skip it; fix the signatures of its zone.",
                "RFC 4035 §5.5",
            ));
        }
    }
    MxReport {
        domain: domain.to_string(),
        mx,
        source,
        hosts,
        findings,
    }
}
