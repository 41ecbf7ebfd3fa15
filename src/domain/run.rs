//! `mailwire check example.com`: domain mode end to end. The domain is
//! inspected ([`super::inspect_with`]: MX, MTA-STS, TLS-RPT, TLSA), then
//! every MX host address gets the ordinary STARTTLS check
//! ([`crate::check::run`]) on the SMTP port, at most `jobs` at once, and
//! what each saw is fed back ([`DomainReport::apply_tls`]) for DANE
//! matching and the MTA-STS certificate rules.
//!
//! ```text
//! domain --inspect--> DomainReport
//!    for (host, address) in MX order, `jobs` at once:
//!       smtp://ADDRESS:PORT, SNI and name check = host --> CheckReport
//!    per host, the first address's chain --> apply_tls (DANE, MTA-STS)
//! --> DomainCheck { report, mx_checks[], findings, exit_code }
//! ```
//!
//! Exit status: the worst of the MX checks, and [`EXIT_TLS`] when a
//! domain-level finding is an error (a sender would refuse or defer).

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::check::{self, CheckReport, EXIT_OK, EXIT_TLS, StartTlsResult, worst_exit};
use crate::escape::escape_line;
use crate::finding::{Finding, Severity};
use crate::session::SessionConfig;
use crate::target::{Protocol, Target, TlsMode};

use super::mta_sts::{MxTls, StsRecordState};
use super::tls_rpt::{ReportUri, TlsRptState};
use super::{DomainOptions, DomainReport, MxSource, Resolver, Result};

/// What domain mode needs beyond [`DomainOptions`].
#[derive(Debug, Clone)]
pub struct DomainCheckOptions {
    pub domain: DomainOptions,
    /// Port of the MX hosts' SMTP service: 25, except for test setups.
    pub mx_port: u16,
    /// MX checks at once (at least 1).
    pub jobs: usize,
}

/// The STARTTLS check of one MX host address.
#[derive(Debug, Clone, Serialize)]
pub struct MxCheck {
    /// The MX host name (SNI and the name checked).
    pub host: String,
    pub preference: u16,
    pub address: IpAddr,
    pub port: u16,
    /// The ordinary `check` report of `smtp://ADDRESS:PORT`.
    pub check: CheckReport,
}

/// The whole domain-mode result; serialises to the documented JSON.
#[derive(Debug, Clone, Serialize)]
pub struct DomainCheck {
    #[serde(flatten)]
    pub report: DomainReport,
    /// Every MX host address checked, in MX order.
    pub mx_checks: Vec<MxCheck>,
    /// Every domain-level finding (MX, MTA-STS, TLS-RPT, DANE), in order.
    pub findings: Vec<Finding>,
    /// Exit status, see [`crate::check`]'s `EXIT_*` constants.
    pub exit_code: i32,
}

/// `mx:example.com` or a bare domain: the domain name, else `None` (a URL,
/// `@profile`, or text that is no domain name).
pub fn domain_argument(arg: &str) -> Option<&str> {
    if let Some(rest) = arg.strip_prefix("mx:") {
        return Some(rest);
    }
    if arg.contains("://") || arg.starts_with('@') || arg.contains(['/', ':', ' ']) {
        return None;
    }
    arg.contains('.').then_some(arg)
}

/// Checks `domain`: inspect, then every MX address concurrently with
/// `base` as the template of each session (timeouts, trust, EHLO name).
///
/// # Errors
/// Local problems only ([`super::Error`]): a bad name or trust anchor.
pub async fn run(
    resolver: &Resolver,
    domain: &str,
    opts: &DomainCheckOptions,
    base: &SessionConfig,
) -> Result<DomainCheck> {
    let mut report = super::inspect_with(resolver, domain, &opts.domain).await?;
    let targets: Vec<(String, u16, IpAddr)> = report
        .mx
        .hosts
        .iter()
        .flat_map(|h| {
            h.addresses
                .records
                .iter()
                .map(move |a| (h.name.clone(), h.preference, *a))
        })
        .collect();
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, (host, preference, address)) in targets.into_iter().enumerate() {
        let mut config = base.clone();
        config.target = Target {
            protocol: Protocol::Smtp,
            host: address.to_string(),
            port: opts.mx_port,
            tls: TlsMode::Starttls,
            scheme: "smtp",
        };
        // SNI and the name checked are the MX host name, as a sending MTA
        // does (RFC 7672 §3.2.2, RFC 8461 §4.1).
        config.tls.servername = Some(host.clone());
        config.ip = crate::target::IpVersion::Any;
        let limit = limit.clone();
        let port = opts.mx_port;
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let check = check::run(config, false).await;
            (
                i,
                MxCheck {
                    host,
                    preference,
                    address,
                    port,
                    check,
                },
            )
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(v) = joined {
            done.push(v);
        }
    }
    done.sort_by_key(|(i, _)| *i);
    let mx_checks: Vec<MxCheck> = done.into_iter().map(|(_, c)| c).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hosts: Vec<String> = report.mx.hosts.iter().map(|h| h.name.clone()).collect();
    for host in hosts {
        // The first address that completed TLS speaks for the host (or the
        // first one, when none did).
        let checks: Vec<&MxCheck> = mx_checks.iter().filter(|c| c.host == host).collect();
        let Some(pick) = checks
            .iter()
            .find(|c| c.check.tls.is_some())
            .or(checks.first())
        else {
            continue;
        };
        let c = &pick.check;
        let upgraded = c.tls.is_some()
            && matches!(
                c.starttls.result,
                StartTlsResult::Upgraded | StartTlsResult::Implicit
            );
        let tls = MxTls {
            tls: upgraded,
            trusted: c.verification.as_ref().is_some_and(|v| v.trusted),
            name_matches: c.verification.as_ref().is_some_and(|v| v.hostname_match),
            detail: c.verification.as_ref().and_then(|v| v.detail.clone()),
        };
        let chain = (!c.chain_der.is_empty()).then_some(c.chain_der.as_slice());
        report.apply_tls(&host, chain, &tls, now);
    }
    let findings: Vec<Finding> = report.findings().into_iter().cloned().collect();
    let mut exit_code = if findings.iter().any(|f| f.severity == Severity::Error) {
        EXIT_TLS
    } else {
        EXIT_OK
    };
    for c in &mx_checks {
        exit_code = worst_exit(exit_code, c.check.exit_code);
    }
    Ok(DomainCheck {
        report,
        mx_checks,
        findings,
        exit_code,
    })
}

impl DomainCheck {
    /// The report as one JSON object (README, "Checking a domain").
    /// Terminal-safe, as [`CheckReport::to_json`].
    pub fn to_json(&self, pretty: bool) -> String {
        crate::escape::to_safe_json(self, pretty)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise: {e}\"}}"))
    }

    /// One line per MX address for `--targets` and the summary.
    pub fn summary(&self) -> String {
        let ok = self
            .mx_checks
            .iter()
            .filter(|c| c.check.exit_code == EXIT_OK)
            .count();
        format!(
            "{} MX address(es), {ok} ok, {} finding(s)",
            self.mx_checks.len(),
            self.findings.len()
        )
    }

    /// The human report. DNS and server text is escaped.
    pub fn to_text(&self) -> String {
        let r = &self.report;
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!(
            "mailwire check {}",
            escape_line(r.domain.as_bytes())
        ));
        line(String::new());
        let source = match r.mx.source {
            MxSource::Mx => "MX records",
            MxSource::Implicit => "no MX records: the domain itself (implicit MX)",
            MxSource::NullMx => "null MX: the domain accepts no mail",
            MxSource::NoDomain => "the domain does not exist",
            MxSource::LookupFailed => "the MX lookup failed",
        };
        line(format!(
            "MX:            {source} (DNSSEC {})",
            r.mx.mx.dnssec
        ));
        for h in &r.mx.hosts {
            let addrs: Vec<String> = h
                .addresses
                .records
                .iter()
                .map(ToString::to_string)
                .collect();
            line(format!(
                "  {:>5} {}  {}",
                h.preference,
                escape_line(h.name.as_bytes()),
                if addrs.is_empty() {
                    "(no address)".to_string()
                } else {
                    addrs.join(", ")
                }
            ));
        }
        line(String::new());
        for c in &self.mx_checks {
            let v = c.check.verification.as_ref();
            line(format!(
                "MX {} [{}]:{}  STARTTLS {}, {}, {}{}",
                escape_line(c.host.as_bytes()),
                c.address,
                c.port,
                c.check.starttls.result.as_str(),
                c.check
                    .tls
                    .as_ref()
                    .map_or("no TLS".to_string(), |t| t.version.clone()),
                match v {
                    Some(v) if v.trusted => "certificate trusted".to_string(),
                    Some(v) => format!(
                        "certificate NOT trusted: {}",
                        escape_line(v.headline().as_bytes())
                    ),
                    None => "no certificate".to_string(),
                },
                match &c.check.error {
                    Some(e) => format!("; error: {}", escape_line(e.as_bytes())),
                    None => String::new(),
                }
            ));
        }
        line(String::new());
        let sts = &r.mta_sts;
        match &sts.record {
            StsRecordState::Found { record } => {
                line(format!(
                    "MTA-STS:       record id={} (DNSSEC {})",
                    escape_line(record.id.as_bytes()),
                    sts.record_dnssec
                ));
                match &sts.policy {
                    Some(p) => {
                        let mx: Vec<String> = p.mx.iter().map(ToString::to_string).collect();
                        line(format!(
                            "  policy:      mode {}, max_age {} s, mx {}",
                            p.mode.as_str(),
                            p.max_age,
                            escape_line(mx.join(", ").as_bytes())
                        ));
                        for m in &sts.mx {
                            line(format!(
                                "  MX {}:{}",
                                escape_line(m.host.as_bytes()),
                                match &m.pattern {
                                    Some(p) => format!(
                                        " matched by {}",
                                        escape_line(p.to_string().as_bytes())
                                    ),
                                    None => " matches NO pattern".to_string(),
                                }
                            ));
                        }
                    }
                    None => line("  policy:      not usable (see the findings)".into()),
                }
            }
            StsRecordState::Absent => line("MTA-STS:       no record".into()),
            StsRecordState::Invalid { reason } => line(format!(
                "MTA-STS:       invalid record: {}",
                escape_line(reason.as_bytes())
            )),
            StsRecordState::Multiple { count } => {
                line(format!("MTA-STS:       {count} records (senders use none)"));
            }
            StsRecordState::LookupFailed { reason } => line(format!(
                "MTA-STS:       lookup failed: {}",
                escape_line(reason.as_bytes())
            )),
        }
        for d in &r.dane {
            let head = format!(
                "DANE {}:  {} TLSA record(s), DNSSEC {}{}",
                escape_line(d.host.as_bytes()),
                d.tlsa.records.len(),
                d.tlsa.dnssec,
                if d.applies {
                    ""
                } else {
                    " (DANE does not apply)"
                }
            );
            line(head);
            if let Some(m) = &d.matching {
                match m.matched_record() {
                    Some(t) => line(format!(
                        "  matched:     {}",
                        escape_line(t.to_text().as_bytes())
                    )),
                    None => line("  matched:     no record matched".into()),
                }
            }
        }
        match &r.tls_rpt.state {
            TlsRptState::Found { record } => {
                let rua: Vec<String> = record
                    .rua
                    .iter()
                    .map(|u| match u {
                        ReportUri::Mailto(u) | ReportUri::Https(u) | ReportUri::Unknown(u) => {
                            u.clone()
                        }
                    })
                    .collect();
                line(format!(
                    "TLS-RPT:       found, rua {}",
                    escape_line(rua.join(", ").as_bytes())
                ));
            }
            TlsRptState::Absent => line("TLS-RPT:       no record".into()),
            TlsRptState::Invalid { reason } => line(format!(
                "TLS-RPT:       invalid: {}",
                escape_line(reason.as_bytes())
            )),
            TlsRptState::Multiple { count } => line(format!("TLS-RPT:       {count} records")),
            TlsRptState::LookupFailed { reason } => line(format!(
                "TLS-RPT:       lookup failed: {}",
                escape_line(reason.as_bytes())
            )),
        }
        if !self.findings.is_empty() {
            line(String::new());
            line("Domain findings:".into());
            for f in &self.findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        let mx_findings: Vec<(&MxCheck, &Finding)> = self
            .mx_checks
            .iter()
            .flat_map(|c| {
                c.check
                    .findings
                    .iter()
                    .chain(&c.check.chain_findings)
                    .map(move |f| (c, f))
            })
            .collect();
        if !mx_findings.is_empty() {
            line(String::new());
            line("MX findings:".into());
            for (c, f) in mx_findings {
                line(format!(
                    "  MX {} [{}]:",
                    escape_line(c.host.as_bytes()),
                    c.address
                ));
                for l in f.to_text().lines() {
                    line(format!("    {l}"));
                }
            }
        }
        line(format!("exit status {}", self.exit_code));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_arguments_are_told_from_urls_and_profiles() {
        assert_eq!(domain_argument("example.com"), Some("example.com"));
        assert_eq!(domain_argument("mx:example.com"), Some("example.com"));
        assert_eq!(domain_argument("mx:localhost"), Some("localhost"));
        assert_eq!(domain_argument("smtp://example.com"), None);
        assert_eq!(domain_argument("@work"), None);
        assert_eq!(domain_argument("localhost"), None);
        assert_eq!(domain_argument("example.com:25"), None);
    }
}
