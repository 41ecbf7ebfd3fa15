//! Domain mode: a mail domain as the receiving world sees it. Where mail
//! goes (MX, RFC 5321 §5.1), whether a sender must use authenticated TLS
//! (MTA-STS, RFC 8461; DANE, RFC 7672), and where failures are reported
//! (TLS-RPT, RFC 8460). Library only: `check` drives the STARTTLS check of
//! each MX host and feeds its chain back here.
//!
//! ```text
//!                 DnsOptions (--dns, trust anchor)   FetchOptions (--ca-file)
//!                          |                                 |
//! inspect(domain) --> dns::Resolver ----------------------+  |
//!   mx::resolve ........ MX / implicit MX / null MX, addresses (-4/-6)
//!   mta_sts::inspect ... _mta-sts TXT -> HTTPS policy -> parse -> MX match
//!   tls_rpt::evaluate .. _smtp._tls TXT
//!   dane (per MX host) . _25._tcp.HOST TLSA with DNSSEC status
//!          |
//!          v
//!   DomainReport { mx, mta_sts, tls_rpt, dane[], findings }
//!
//! then, per MX host and address (check, round two):
//!   STARTTLS on port 25 -> chain + verdict
//!     -> DomainReport::apply_tls(host, chain, MxTls, now)
//!          dane::assess(.., Some(chain)) : which TLSA record matched, or why none
//!          mta_sts::check_mx_tls         : certificate trusted and valid for the MX name
//! ```
//!
//! Every peer fault (a broken record, a failed lookup, a bad policy) is a
//! [`Finding`]; [`Error`] is only for local problems such as an
//! unreadable trust anchor.

pub mod dane;
pub mod dns;
pub mod mta_sts;
pub mod mx;
pub mod run;
pub mod tls_rpt;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

pub use dane::{DaneMatch, DaneReport, RecordVerdict, Tlsa};
pub use dns::{Answer, DnsOptions, DnssecStatus, IpVersion, Outcome, Resolver};
pub use mta_sts::{FetchOptions, MtaStsReport, MxTls, Policy};
pub use mx::{MxHost, MxReport, MxSource};
pub use run::{DomainCheck, DomainCheckOptions, MxCheck};
pub use tls_rpt::TlsRptReport;

/// The SMTP port DANE TLSA records are looked up for (RFC 7672 §2.2).
pub const SMTP_PORT: u16 = 25;

/// Errors of the domain layer: local problems only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The domain or host name given is not a domain name.
    #[error("{0:?} is not a domain name")]
    BadName(String),
    /// The trust anchor text does not parse as DNSKEY records.
    #[error("bad DNSSEC trust anchor: {0}")]
    TrustAnchor(String),
    /// The resolver could not be set up (system configuration unreadable).
    #[error("{0}")]
    Resolver(String),
    /// The HTTPS client for MTA-STS could not be set up (CA files).
    #[error("HTTPS client for MTA-STS: {0}")]
    Tls(String),
}

/// Result alias for the domain layer.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything domain mode needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainOptions {
    /// Resolver and trust anchors.
    pub dns: DnsOptions,
    /// Which MX host addresses to use (`-4` / `-6`).
    pub ip: IpVersion,
    /// MTA-STS policy fetch.
    pub fetch: FetchOptions,
}

/// One domain, before any MX host was contacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainReport {
    /// The domain, normalized (lower-case A-labels, no trailing dot).
    pub domain: String,
    pub mx: MxReport,
    pub mta_sts: MtaStsReport,
    pub tls_rpt: TlsRptReport,
    /// DANE per MX host, in MX order; without chains until
    /// [`DomainReport::apply_tls`] adds them.
    pub dane: Vec<DaneReport>,
    /// Findings from [`DomainReport::apply_tls`] (MTA-STS certificate checks).
    pub tls_findings: Vec<Finding>,
}

impl DomainReport {
    /// Every finding, domain-level first: MX, MTA-STS, TLS-RPT, DANE, then
    /// the per-MX TLS findings.
    pub fn findings(&self) -> Vec<&Finding> {
        self.mx
            .findings
            .iter()
            .chain(&self.mta_sts.findings)
            .chain(&self.tls_rpt.findings)
            .chain(self.dane.iter().flat_map(|d| d.findings.iter()))
            .chain(&self.tls_findings)
            .collect()
    }

    /// The worst severity among the findings (`None`: no findings).
    pub fn worst(&self) -> Option<Severity> {
        self.findings().iter().map(|f| f.severity).max()
    }

    /// Feeds what the STARTTLS check of `host` saw back in: the chain it
    /// presented (DER, leaf first; `None` when TLS failed) is matched
    /// against the host's TLSA records, and its trust against the MTA-STS
    /// policy. Call once per host (for several addresses, with the first
    /// chain, or with the one that failed). `now` in Unix seconds.
    pub fn apply_tls(&mut self, host: &str, chain: Option<&[Vec<u8>]>, tls: &MxTls, now: u64) {
        let mx_dnssec = self.mx.host_list_dnssec();
        if let Some(slot) = self.dane.iter_mut().find(|d| d.host == host) {
            let tlsa = slot.tlsa.clone();
            *slot = dane::assess(host, tlsa, mx_dnssec, chain, now);
        }
        if let Some(policy) = &self.mta_sts.policy {
            if policy.matches(host) {
                if let Some(f) = mta_sts::check_mx_tls(&self.domain, policy, host, tls) {
                    self.tls_findings.push(f);
                }
            }
        }
    }
}

/// Looks at `domain` from outside: MX hosts and their addresses, MTA-STS
/// (record, policy, MX match), TLS-RPT, and the TLSA records of every MX
/// host, all with DNSSEC status. Contacts no MX host.
///
/// # Errors
/// [`Error::BadName`], [`Error::TrustAnchor`], [`Error::Resolver`],
/// [`Error::Tls`]: local problems; what the domain does wrong is in the
/// report's findings.
pub async fn inspect(domain: &str, opts: &DomainOptions) -> Result<DomainReport> {
    let resolver = Resolver::new(&opts.dns)?;
    inspect_with(&resolver, domain, opts).await
}

/// [`inspect`] with a resolver the caller keeps (many domains, one cache).
///
/// # Errors
/// As [`inspect`].
pub async fn inspect_with(
    resolver: &Resolver,
    domain: &str,
    opts: &DomainOptions,
) -> Result<DomainReport> {
    let domain = dns::normalize_name(domain)?;
    let mx_fut = mx::resolve(resolver, &domain, opts.ip);
    let rpt_name = format!("_smtp._tls.{domain}");
    let rpt_fut = resolver.txt(&rpt_name);
    let (mx, rpt_txt) = tokio::join!(mx_fut, rpt_fut);
    let hosts: Vec<String> = mx.hosts.iter().map(|h| h.name.clone()).collect();
    let mx_dnssec = mx.host_list_dnssec();

    let sts_fut = mta_sts::inspect(&domain, resolver, &hosts, &opts.fetch);
    let dane_fut = async {
        let mut set = tokio::task::JoinSet::new();
        for (i, host) in hosts.iter().enumerate() {
            let resolver = resolver.clone();
            let host = host.clone();
            set.spawn(async move { (i, host.clone(), resolver.tlsa(&host, SMTP_PORT).await) });
        }
        let mut out = Vec::new();
        while let Some(done) = set.join_next().await {
            if let Ok(v) = done {
                out.push(v);
            }
        }
        out.sort_by_key(|(i, _, _)| *i);
        out
    };
    let (mta_sts, tlsa) = tokio::join!(sts_fut, dane_fut);
    let mta_sts = mta_sts?;
    let dane = tlsa
        .into_iter()
        .map(|(_, host, answer)| dane::assess(&host, answer, mx_dnssec, None, 0))
        .collect();
    Ok(DomainReport {
        tls_rpt: tls_rpt::evaluate(&domain, &rpt_txt),
        domain,
        mx,
        mta_sts,
        dane,
        tls_findings: Vec::new(),
    })
}
