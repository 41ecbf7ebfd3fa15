//! `mailwire check`: a non-interactive session (greeting, capabilities,
//! upgrade, capabilities again, polite quit) turned into one report, as
//! text or JSON, with an exit status scripts can test.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use base64::Engine as _;

use crate::cert::CertSummary;
use crate::escape::escape_line;
use crate::finding::{Finding, FindingId};
use crate::protocol::Capability;
use crate::scan::ScanReport;
use crate::session::{
    Direction, Event, Outcome, Response, Session, SessionConfig, SessionError, StartTls,
};
use crate::target::{Target, TlsMode};
use crate::tls::{HandshakeFailure, HandshakeSummary, TlsError, Verdict};

/// Exit status: upgraded (or implicit TLS) and trusted.
pub const EXIT_OK: i32 = 0;
/// Exit status: a TLS problem (not offered, refused, handshake failed, untrusted).
pub const EXIT_TLS: i32 = 1;
/// Exit status: bad usage.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: connection or protocol error.
pub const EXIT_CONNECTION: i32 = 3;

/// One line of the conversation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// Milliseconds since the connection started.
    pub t_ms: u64,
    /// `C` (client) or `S` (server).
    pub dir: Direction,
    /// The bytes as text (invalid UTF-8 replaced, secrets masked), lines
    /// joined by `\n`, no final line ending.
    pub text: String,
    /// The exact bytes, base64, when they are not valid UTF-8 (so `text`
    /// lost some); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b64: Option<String>,
    /// True when the line travelled inside TLS.
    pub tls: bool,
    /// What the line was in the conversation (the dialogue's note).
    pub outcome: Outcome,
}

/// How the upgrade to TLS ended (the JSON `starttls.result`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartTlsResult {
    /// STARTTLS/STLS accepted and the handshake finished.
    Upgraded,
    /// Not advertised, and not forced with `--starttls`.
    NotOffered,
    /// The server answered STARTTLS/STLS negatively.
    Refused,
    /// The handshake failed (or timed out), for STARTTLS or implicit TLS.
    HandshakeFailed,
    /// Implicit TLS (smtps, imaps, pop3s): TLS from the first byte.
    Implicit,
    /// The session ended before the upgrade could be tried (connect failed,
    /// greeting refused, wrong service, timeout).
    NotAttempted,
}

impl StartTlsResult {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StartTlsResult::Upgraded => "upgraded",
            StartTlsResult::NotOffered => "not_offered",
            StartTlsResult::Refused => "refused",
            StartTlsResult::HandshakeFailed => "handshake_failed",
            StartTlsResult::Implicit => "implicit",
            StartTlsResult::NotAttempted => "not_attempted",
        }
    }
}

/// What happened to the upgrade.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartTlsReport {
    /// STARTTLS/STLS was advertised before TLS.
    pub offered: bool,
    pub result: StartTlsResult,
}

/// TLS parameters, as in the JSON `tls` object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlsReport {
    pub version: String,
    pub cipher_suite: String,
    pub kx_group: Option<String>,
    pub alpn: Option<String>,
    pub sni: Option<String>,
    pub ocsp_stapled: bool,
    pub resumed: bool,
    /// i9: the server asked for a client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<crate::tls::ClientCertRequest>,
}

impl From<&HandshakeSummary> for TlsReport {
    fn from(s: &HandshakeSummary) -> Self {
        TlsReport {
            version: s.version.clone(),
            cipher_suite: s.cipher_suite.clone(),
            kx_group: s.kx_group.clone(),
            alpn: s.alpn.clone(),
            sni: s.sni.clone(),
            ocsp_stapled: s.ocsp_stapled,
            resumed: s.resumed,
            client_cert: s.client_cert.clone(),
        }
    }
}

/// The whole result of a check; serialises to the documented JSON.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub target: Target,
    pub ehlo: Option<String>,
    pub steps: Vec<Step>,
    pub capabilities_before: Vec<String>,
    pub capabilities_after: Vec<String>,
    pub starttls: StartTlsReport,
    pub tls: Option<TlsReport>,
    /// Every certificate the server sent, also when the handshake failed
    /// (`--strict`, a refused handshake signature).
    pub chain: Vec<CertSummary>,
    /// A finding for every problem of every certificate and of the path.
    pub chain_findings: Vec<Finding>,
    pub verification: Option<Verdict>,
    /// i9: the failed handshake: cause, what was offered and chosen, diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_failure: Option<HandshakeFailure>,
    /// i9: `--scan`: versions, cipher suites and groups the server accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// Every finding of the session, in order (README, "Findings").
    pub findings: Vec<Finding>,
    /// The connection or protocol error that ended the check early.
    pub error: Option<String>,
    /// Exit status, see the `EXIT_*` constants.
    pub exit_code: i32,
    #[serde(skip)]
    pub chain_der: Vec<Vec<u8>>,
}

/// Runs the check. `force_starttls` sends STARTTLS even when not advertised.
/// Never fails: every problem ends up in the report and its exit code.
pub async fn run(config: SessionConfig, force_starttls: bool) -> CheckReport {
    run_recorded(config, force_starttls, None).await
}

/// [`run`], writing every engine event through `record` as it arrives
/// (`--record FILE`).
pub async fn run_recorded(
    config: SessionConfig,
    force_starttls: bool,
    record: Option<crate::replay::RecordSwitch>,
) -> CheckReport {
    let target = config.target.clone();
    let (tx, mut rx) = mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            if let Some(switch) = &record {
                switch.observe(&e);
            }
            events.push(e);
        }
        events
    });
    let mut outcome = Drive::default();
    let mut ehlo = None;
    let probe_config = config.clone();
    match Session::connect(config, tx).await {
        Ok(mut session) => {
            if matches!(
                target.protocol,
                crate::target::Protocol::Smtp | crate::target::Protocol::Lmtp
            ) {
                ehlo = Some(session.ehlo_name().to_string());
            }
            outcome = drive(&mut session, &target, force_starttls).await;
            session.quit().await;
        }
        Err(e) => {
            outcome.result = if e.is_tls_failure() {
                StartTlsResult::HandshakeFailed
            } else {
                StartTlsResult::NotAttempted
            };
            outcome.error = Some(e);
        }
    }
    let events = collector.await.unwrap_or_default();
    let mut report = build_report(target, ehlo, events, outcome);
    diagnose_refusal(&mut report, &probe_config).await;
    report
}

/// i9: a refusal before any ServerHello (alerts 40, 70, 71, a close) does
/// not say what the server wanted; one more connection with a wide
/// ClientHello does (legacy_tls_only with the version, no_common_cipher,
/// no_common_group). Its findings go before `handshake_failed`.
async fn diagnose_refusal(report: &mut CheckReport, config: &SessionConfig) {
    use crate::tls::client::FailureCause;
    let Some(f) = report.handshake_failure.as_mut() else {
        return;
    };
    if f.chosen.is_some()
        || f.after_handshake
        || !matches!(
            f.alert().map(|a| a.number),
            Some(40 | 47 | 50 | 70 | 71) | None
        )
        || matches!(
            f.cause,
            FailureCause::CertificateRejected | FailureCause::NotTls
        )
    {
        return;
    }
    let extra = crate::scan::diagnose(config).await;
    if extra.is_empty() {
        return;
    }
    for list in [&mut f.findings, &mut report.findings] {
        list.retain(|old| !extra.iter().any(|new| new.id == old.id));
        let at = list
            .iter()
            .position(|x| x.id == FindingId::HandshakeFailed)
            .unwrap_or(list.len());
        list.splice(at..at, extra.iter().cloned());
    }
}

/// i9: `check --scan`: adds the scan of the same server to `report`.
pub async fn add_scan(report: &mut CheckReport, config: &SessionConfig, concurrency: usize) {
    report.scan = Some(crate::scan::scan(config, concurrency).await);
}

struct Drive {
    offered: bool,
    result: StartTlsResult,
    error: Option<SessionError>,
}

impl Default for Drive {
    fn default() -> Self {
        Drive {
            offered: false,
            result: StartTlsResult::NotAttempted,
            error: None,
        }
    }
}

async fn drive<S>(session: &mut Session<S>, target: &Target, force: bool) -> Drive
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut out = Drive::default();
    if let Err(e) = session.greeting().await {
        out.error = Some(e);
        return out;
    }
    if let Err(e) = capabilities(session).await {
        out.error = Some(e);
        return out;
    }
    if target.tls == TlsMode::Implicit {
        out.result = StartTlsResult::Implicit;
        return out;
    }
    out.offered = session.starttls_offered();
    // POP3 servers without CAPA (RFC 2449) may still do STLS: try it
    // (RFC 2595 §4 does not require CAPA).
    let capa_failed =
        session.protocol() == crate::target::Protocol::Pop3 && session.capabilities().is_empty();
    if !out.offered && !force && !capa_failed {
        out.result = StartTlsResult::NotOffered;
        return out;
    }
    match session.starttls().await {
        Ok(StartTls::Upgraded(_)) => {
            out.result = StartTlsResult::Upgraded;
            if let Err(e) = capabilities(session).await {
                out.error = Some(e);
            }
        }
        Ok(StartTls::Refused(_)) => {
            out.result = if out.offered || force {
                StartTlsResult::Refused
            } else {
                StartTlsResult::NotOffered
            }
        }
        Ok(StartTls::HandshakeFailed(e)) => {
            out.result = StartTlsResult::HandshakeFailed;
            out.error = Some(e);
        }
        Err(e) if e.is_tls_failure() => {
            out.result = StartTlsResult::HandshakeFailed;
            out.error = Some(e);
        }
        Err(e) => out.error = Some(e),
    }
    out
}

/// EHLO (or CAPABILITY, CAPA); SMTP falls back to HELO when EHLO is
/// refused (RFC 5321 §3.2), which means no ESMTP and so no STARTTLS.
async fn capabilities<S>(session: &mut Session<S>) -> Result<(), SessionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let responses = session.ask_capabilities().await?;
    let smtp = matches!(
        session.protocol(),
        crate::target::Protocol::Smtp | crate::target::Protocol::Lmtp
    );
    let refused = matches!(responses.last(), Some(Response::Smtp(r)) if r.code.class() == 5);
    if smtp && refused && session.protocol() == crate::target::Protocol::Smtp {
        session.helo().await?;
    }
    Ok(())
}

fn build_report(
    target: Target,
    ehlo: Option<String>,
    events: Vec<Event>,
    outcome: Drive,
) -> CheckReport {
    let mut steps = Vec::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut tls = None;
    let mut findings = Vec::new();
    for event in events {
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. } => {
                if let Some(list) = &entry.note.capabilities {
                    let names: Vec<String> = list.iter().map(Capability::to_string).collect();
                    if entry.tls {
                        after = names;
                    } else {
                        before = names;
                    }
                }
                let shown = entry.redacted();
                let b64 = std::str::from_utf8(&shown)
                    .is_err()
                    .then(|| base64::engine::general_purpose::STANDARD.encode(&shown));
                steps.push(Step {
                    t_ms: ms(entry.at),
                    dir: entry.direction,
                    text: step_text(&shown),
                    b64,
                    tls: entry.tls,
                    outcome: entry.note.outcome,
                });
            }
            Event::Tls(t) => tls = Some(t),
            // The same chain and verdict travel with the error, read below.
            Event::TlsFailed(_) => {}
            Event::Finding { finding, .. } => findings.push(finding),
            // The bytes of a streamed response; its Data entry (a preview) follows.
            Event::Connected { .. } | Event::Closed { .. } | Event::Chunk { .. } => {}
        }
    }
    // i9: a failed handshake keeps its verdict and chain (also --strict).
    let failure: Option<HandshakeFailure> = outcome.error.as_ref().and_then(|e| match e {
        SessionError::Tls(TlsError::Handshake(f)) => Some((**f).clone()),
        _ => None,
    });
    let verification = tls
        .as_ref()
        .map(|t| t.verdict.clone())
        .or_else(|| failure.as_ref().and_then(|f| f.verification.clone()));
    // A server that ends the session with an alert right after the
    // handshake (a refused client certificate) failed the handshake.
    let result = if failure.as_ref().is_some_and(|f| f.after_handshake) {
        StartTlsResult::HandshakeFailed
    } else {
        outcome.result
    };
    let injected = findings
        .iter()
        .any(|f| f.id == FindingId::StarttlsInjection);
    let error = outcome.error.as_ref().map(ToString::to_string);
    let exit_code = if matches!(
        result,
        StartTlsResult::NotOffered | StartTlsResult::Refused | StartTlsResult::HandshakeFailed
    ) || injected
        // Untrusted is the more important answer even if the session broke later.
        || verification.as_ref().is_some_and(|v| !v.trusted)
    {
        EXIT_TLS
    } else if outcome.error.is_some() || tls.is_none() {
        EXIT_CONNECTION
    } else {
        EXIT_OK
    };
    let (chain, chain_findings, chain_der) = match (&tls, &failure) {
        (Some(t), _) => (
            t.chain.certs.clone(),
            t.chain.findings.clone(),
            t.chain_der.clone(),
        ),
        (None, Some(f)) => (
            f.chain
                .as_ref()
                .map(|c| c.certs.clone())
                .unwrap_or_default(),
            f.chain
                .as_ref()
                .map(|c| c.findings.clone())
                .unwrap_or_default(),
            f.chain_der.clone(),
        ),
        (None, None) => (Vec::new(), Vec::new(), Vec::new()),
    };
    CheckReport {
        target,
        ehlo,
        steps,
        capabilities_before: before,
        capabilities_after: after,
        starttls: StartTlsReport {
            offered: outcome.offered,
            result,
        },
        tls: tls.as_ref().map(|t| TlsReport::from(&t.summary)),
        chain,
        chain_findings,
        verification,
        handshake_failure: failure,
        scan: None,
        findings,
        error,
        exit_code,
        chain_der,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn step_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.trim_end_matches(['\r', '\n']).replace("\r\n", "\n")
}

impl CheckReport {
    /// The report as one JSON object (see README, "check --json").
    /// Terminal-safe: C0, C1 and bidi controls are written as `\uXXXX`
    /// escapes, so the decoded strings stay exact.
    pub fn to_json(&self) -> String {
        crate::escape::to_safe_json(self, true)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise: {e}\"}}"))
    }

    /// The human report. Server text is escaped: it may hold control bytes.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!("mailwire check {}", self.target));
        line(String::new());
        for step in &self.steps {
            let arrow = match (step.dir, step.tls) {
                (Direction::Client, false) => " ->",
                (Direction::Client, true) => "~>",
                (Direction::Server, false) => "<- ",
                (Direction::Server, true) => "<~",
            };
            for (i, l) in step.text.split('\n').enumerate() {
                let t = if i == 0 {
                    format!("{:>6} ms", step.t_ms)
                } else {
                    " ".repeat(9)
                };
                line(format!("{t} {arrow:<3} {}", escape_line(l.as_bytes())));
            }
        }
        line(String::new());
        line(format!(
            "STARTTLS:      {} (offered: {})",
            self.starttls.result.as_str(),
            yes_no(self.starttls.offered)
        ));
        if !self.capabilities_before.is_empty() {
            line(format!(
                "capabilities before TLS: {}",
                self.capabilities_before.join(", ")
            ));
        }
        if !self.capabilities_after.is_empty() {
            line(format!(
                "capabilities after TLS:  {}",
                self.capabilities_after.join(", ")
            ));
        }
        if let Some(t) = &self.tls {
            line(format!("TLS version:   {}", t.version));
            line(format!("cipher suite:  {}", t.cipher_suite));
            line(format!(
                "key exchange:  {}",
                t.kx_group.as_deref().unwrap_or("unknown")
            ));
            line(format!(
                "SNI sent:      {}",
                t.sni.as_deref().unwrap_or("(none)")
            ));
            line(format!(
                "ALPN:          {}",
                t.alpn.as_deref().unwrap_or("(none)")
            ));
            line(format!("OCSP stapled:  {}", yes_no(t.ocsp_stapled)));
        }
        if let Some(f) = &self.handshake_failure {
            line(format!(
                "handshake:     failed: {}",
                escape_line(f.sentence().as_bytes())
            ));
            line(format!(
                "offered:       {}",
                crate::tls::client::offer_text(&f.offered)
            ));
            match &f.chosen {
                Some(c) => line(format!(
                    "server chose:  {} {}{}",
                    c.version,
                    c.cipher_suite,
                    c.group
                        .as_deref()
                        .map(|g| format!(", group {g}"))
                        .unwrap_or_default()
                )),
                None => line("server chose:  (no ServerHello)".into()),
            }
        }
        if let Some(v) = &self.verification {
            line(format!(
                "verification:  {}",
                escape_line(v.headline().as_bytes())
            ));
            line(format!("trust store:   {}", v.trust_store.describe()));
            line(format!(
                "hostname:      {} {}",
                escape_line(v.name_checked.as_bytes()),
                if v.hostname_match {
                    "matches"
                } else {
                    "DOES NOT MATCH"
                }
            ));
        }
        for c in &self.chain {
            let role = if c.depth == 0 {
                "leaf"
            } else if c.self_signed {
                "root"
            } else {
                "intermediate"
            };
            line(String::new());
            let version = if c.version < 3 {
                format!(", X.509 v{}", c.version)
            } else {
                String::new()
            };
            line(format!("certificate {} ({role}{version})", c.depth));
            line(format!(
                "  subject:     {}",
                escape_line(c.subject.as_bytes())
            ));
            line(format!(
                "  issuer:      {}",
                escape_line(c.issuer.as_bytes())
            ));
            line(format!(
                "  valid:       {} .. {} ({} days left)",
                c.not_before, c.not_after, c.days_left
            ));
            if !c.sans.is_empty() {
                line(format!(
                    "  SANs:        {}",
                    escape_line(c.sans.join(", ").as_bytes())
                ));
            }
            if !c.aia.is_empty() {
                line(format!(
                    "  AIA:         {}",
                    escape_line(c.aia.join(", ").as_bytes())
                ));
            }
            line(format!(
                "  key:         {}, signed with {}",
                c.key, c.signature_algorithm
            ));
            line(format!("  SHA-256:     {}", c.sha256));
        }
        if !self.chain_findings.is_empty() {
            line(String::new());
            line("Certificate findings:".into());
            for f in &self.chain_findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if !self.findings.is_empty() {
            line(String::new());
            line("Findings:".into());
            for f in &self.findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if let Some(scan) = &self.scan {
            line(String::new());
            for l in scan.to_text().lines() {
                line(l.to_string());
            }
            for f in &scan.findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if let Some(e) = &self.error {
            line(String::new());
            line(format!("error: {}", escape_line(e.as_bytes())));
        }
        line(format!("exit status {}", self.exit_code));
        s
    }

    /// The chain as PEM, for `--save-chain`.
    pub fn chain_pem(&self) -> String {
        crate::cert::to_pem(&self.chain_der)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
