//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record that tells
//! senders where to report MTA-STS and DANE failures.
//!
//! ```text
//! Resolver::txt("_smtp._tls.DOMAIN") -> evaluate -> TlsRptReport { state, findings }
//!
//! _smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/tlsrpt"
//! ```
//!
//! Records not starting with `v=TLSRPTv1` are discarded; not exactly one
//! left means no reporting (RFC 8460 §3). `rua` is required: a
//! comma-separated list of `mailto:` or `https:` URIs (commas and
//! semicolons inside a URI percent-encoded).

use serde::{Deserialize, Serialize};

use super::dns::{Answer, DnssecStatus, Outcome};
use super::mta_sts::{is_ext_name, is_ext_value, kv_fields};
use crate::finding::{Finding, FindingId, Severity, Stage};

/// One report destination (RFC 8460 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scheme", content = "uri")]
pub enum ReportUri {
    /// `mailto:` address: reports sent as mail (RFC 8460 §5.3).
    Mailto(String),
    /// `https:` URL: reports POSTed (RFC 8460 §5.4).
    Https(String),
    /// Another scheme: senders ignore it.
    Unknown(String),
}

/// A valid `_smtp._tls` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsRptRecord {
    /// Where reports go, in order.
    pub rua: Vec<ReportUri>,
    /// Other `name=value` fields, in order.
    pub extensions: Vec<(String, String)>,
}

fn parse_uri(s: &str) -> Result<ReportUri, String> {
    let url = url::Url::parse(s).map_err(|_| format!("rua {s:?} is not a URI"))?;
    match url.scheme() {
        "mailto" => {
            let addr = url.path();
            match addr.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                    Ok(ReportUri::Mailto(s.to_string()))
                }
                _ => Err(format!("rua {s:?} is not a mail address")),
            }
        }
        "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                Err(format!("rua {s:?} has no host"))
            } else {
                Ok(ReportUri::Https(s.to_string()))
            }
        }
        _ => Ok(ReportUri::Unknown(s.to_string())),
    }
}

/// Parses one `_smtp._tls` TXT record (its strings already joined).
///
/// # Errors
/// A message naming what is wrong: not `v=TLSRPTv1` first, no `rua`, a
/// URI that does not parse, a malformed field.
pub fn parse_tlsrpt_record(txt: &[u8]) -> Result<TlsRptRecord, String> {
    let text = std::str::from_utf8(txt).map_err(|_| "the record is not ASCII text".to_string())?;
    if !text.starts_with("v=TLSRPTv1") {
        return Err("the record does not start with v=TLSRPTv1".into());
    }
    let fields = kv_fields(text)?;
    if fields.first().map(|(n, v)| (n.as_str(), v.as_str())) != Some(("v", "TLSRPTv1")) {
        return Err("the record does not start with v=TLSRPTv1;".into());
    }
    let mut rua: Option<Vec<ReportUri>> = None;
    let mut extensions = Vec::new();
    for (name, value) in fields.into_iter().skip(1) {
        if name == "rua" {
            if rua.is_some() {
                continue; // a repeated field: the first counts
            }
            let mut list = Vec::new();
            for part in value.split(',') {
                let part = part.trim_matches([' ', '\t']);
                if part.is_empty() {
                    return Err("rua has an empty entry".into());
                }
                list.push(parse_uri(part)?);
            }
            rua = Some(list);
        } else if is_ext_name(&name) && is_ext_value(&value) {
            extensions.push((name, value));
        } else {
            return Err(format!("field {name}={value} is malformed"));
        }
    }
    let rua = rua.ok_or_else(|| "the record has no rua field".to_string())?;
    Ok(TlsRptRecord { rua, extensions })
}

/// What the `_smtp._tls` lookup says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TlsRptState {
    /// One valid record.
    Found { record: TlsRptRecord },
    /// No record starting with `v=TLSRPTv1`.
    Absent,
    /// One candidate, malformed.
    Invalid { reason: String },
    /// More than one `v=TLSRPTv1` record.
    Multiple { count: usize },
    /// The lookup failed.
    LookupFailed { reason: String },
}

/// TLS-RPT for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsRptReport {
    /// `_smtp._tls.DOMAIN`.
    pub name: String,
    pub dnssec: DnssecStatus,
    pub state: TlsRptState,
    pub findings: Vec<Finding>,
}

/// Applies RFC 8460 §3 to the TXT answer at `_smtp._tls.DOMAIN`.
pub fn evaluate(domain: &str, txt: &Answer<Vec<u8>>) -> TlsRptReport {
    let state = if let Outcome::Failed(reason) = &txt.outcome {
        TlsRptState::LookupFailed {
            reason: reason.clone(),
        }
    } else {
        let candidates: Vec<&Vec<u8>> = txt
            .records
            .iter()
            .filter(|r| r.starts_with(b"v=TLSRPTv1"))
            .collect();
        match candidates.as_slice() {
            [] => TlsRptState::Absent,
            [one] => match parse_tlsrpt_record(one) {
                Ok(record) => TlsRptState::Found { record },
                Err(reason) => TlsRptState::Invalid { reason },
            },
            many => TlsRptState::Multiple { count: many.len() },
        }
    };
    let evidence = txt
        .records
        .iter()
        .map(|r| format!("{}. TXT \"{}\"", txt.name, String::from_utf8_lossy(r)))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    let mut findings = Vec::new();
    let invalid = |summary: String| {
        Finding::new(
            FindingId::TlsRptInvalid,
            Severity::Warning,
            Stage::Policy,
            summary,
            "Senders send no TLS reports to this domain, so MTA-STS and DANE failures go unseen; publish exactly one `v=TLSRPTv1; rua=mailto:...` record.",
            "RFC 8460 §3",
        )
        .with_evidence(evidence.clone())
    };
    match &state {
        TlsRptState::Found { record } => {
            for uri in &record.rua {
                if let ReportUri::Unknown(u) = uri {
                    findings.push(invalid(format!(
                        "the TLS-RPT record of {domain} names {u:?}, neither mailto: nor https:; senders skip it"
                    )));
                }
            }
        }
        TlsRptState::Absent => findings.push(Finding::new(
            FindingId::TlsRptAbsent,
            Severity::Info,
            Stage::Policy,
            format!("{domain} publishes no TLS-RPT record at {}", txt.name),
            "Without TLS reporting the domain never learns that senders failed MTA-STS or DANE checks against it; publish `v=TLSRPTv1; rua=mailto:...`.",
            "RFC 8460 §3",
        )),
        TlsRptState::Invalid { reason } => findings.push(invalid(format!(
            "the TLS-RPT record of {domain} is malformed: {reason}"
        ))),
        TlsRptState::Multiple { count } => findings.push(invalid(format!(
            "{domain} publishes {count} TLS-RPT records at {}",
            txt.name
        ))),
        TlsRptState::LookupFailed { reason } => findings.push(Finding::new(
            FindingId::DnsLookupFailed,
            Severity::Warning,
            Stage::Dns,
            format!("the TLS-RPT lookup at {} failed: {reason}", txt.name),
            "Senders that cannot read the record send no reports this time.",
            "RFC 8460 §3",
        )),
    }
    TlsRptReport {
        name: txt.name.clone(),
        dnssec: txt.dnssec,
        state,
        findings,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test]
    fn a_record_with_both_schemes() {
        let r = parse_tlsrpt_record(
            b"v=TLSRPTv1; rua=mailto:tlsrpt@example.test, https://reports.example.test/tlsrpt;",
        )
        .unwrap();
        assert_eq!(
            r.rua,
            [
                ReportUri::Mailto("mailto:tlsrpt@example.test".into()),
                ReportUri::Https("https://reports.example.test/tlsrpt".into())
            ]
        );
        let r = parse_tlsrpt_record(b"v=TLSRPTv1;rua=mailto:a@b.test;x-ext=1").unwrap();
        assert_eq!(r.extensions, [("x-ext".to_string(), "1".to_string())]);
        let r = parse_tlsrpt_record(b"v=TLSRPTv1; rua=ftp://x.test/").unwrap();
        assert_eq!(r.rua, [ReportUri::Unknown("ftp://x.test/".into())]);
    }

    #[test_case("v=TLSRPTv2; rua=mailto:a@b.test", "v=TLSRPTv1"; "wrong version")]
    #[test_case("rua=mailto:a@b.test; v=TLSRPTv1", "v=TLSRPTv1"; "version not first")]
    #[test_case("v=TLSRPTv1", "no rua"; "no rua")]
    #[test_case("v=TLSRPTv1;", "no rua"; "no rua with delimiter")]
    #[test_case("v=TLSRPTv1; rua=", "empty entry"; "empty rua")]
    #[test_case("v=TLSRPTv1; rua=mailto:a@b.test,", "empty entry"; "trailing comma")]
    #[test_case("v=TLSRPTv1; rua=tlsrpt@example.test", "not a URI"; "bare address")]
    #[test_case("v=TLSRPTv1; rua=mailto:nobody", "not a mail address"; "mailto without domain")]
    #[test_case("v=TLSRPTv1; rua=https://", "not a URI"; "https without host")]
    #[test_case("v=TLSRPTv1 rua=mailto:a@b.test", "v=TLSRPTv1;"; "missing delimiter")]
    #[test_case("v=TLSRPTv1; rua=mailto:a@b.test; bad field", "not name=value"; "junk field")]
    fn malformed_records(txt: &str, reason: &str) {
        let err = parse_tlsrpt_record(txt.as_bytes()).unwrap_err();
        assert!(err.contains(reason), "{txt:?}: {err}");
    }

    fn answer(records: &[&str]) -> Answer<Vec<u8>> {
        Answer {
            name: "_smtp._tls.example.test".into(),
            outcome: if records.is_empty() {
                Outcome::NoData
            } else {
                Outcome::Records
            },
            dnssec: DnssecStatus::Insecure,
            records: records.iter().map(|r| r.as_bytes().to_vec()).collect(),
            cnames: vec![],
        }
    }

    #[test]
    fn evaluation() {
        let r = evaluate(
            "example.test",
            &answer(&["v=TLSRPTv1; rua=mailto:a@example.test"]),
        );
        assert!(matches!(r.state, TlsRptState::Found { .. }));
        assert!(r.findings.is_empty());
        let r = evaluate("example.test", &answer(&["v=spf1 -all"]));
        assert_eq!(r.state, TlsRptState::Absent);
        assert_eq!(r.findings[0].id, FindingId::TlsRptAbsent);
        let r = evaluate(
            "example.test",
            &answer(&[
                "v=TLSRPTv1; rua=mailto:a@example.test",
                "v=TLSRPTv1; rua=mailto:b@example.test",
            ]),
        );
        assert_eq!(r.state, TlsRptState::Multiple { count: 2 });
        assert_eq!(r.findings[0].id, FindingId::TlsRptInvalid);
        let r = evaluate("example.test", &answer(&["v=TLSRPTv1; rua=nowhere"]));
        assert!(matches!(r.state, TlsRptState::Invalid { .. }));
        assert_eq!(r.findings[0].id, FindingId::TlsRptInvalid);
        assert!(!r.findings[0].evidence.is_empty());
    }
}
