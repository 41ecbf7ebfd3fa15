//! `mailwire check`: a non-interactive session (greeting, capabilities,
//! upgrade, capabilities again, polite quit) turned into one report, as
//! text or JSON, with an exit status scripts can test.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::cert::{CertSummary, Finding};
use crate::escape::escape_line;
use crate::protocol::Capability;
use crate::session::{Direction, Event, Session, SessionConfig, SessionError, StartTls};
use crate::target::{Target, TlsMode};
use crate::tls::{HandshakeSummary, Verdict};

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
    /// The bytes as text (invalid UTF-8 replaced), lines joined by `\n`, no final line ending.
    pub text: String,
    /// True when the line travelled inside TLS.
    pub tls: bool,
}

/// What happened to the upgrade.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartTlsReport {
    /// STARTTLS/STLS was advertised before TLS.
    pub offered: bool,
    /// `upgraded`, `not_offered`, `refused`, `handshake_failed` or `not_requested` (implicit TLS).
    pub result: &'static str,
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
    pub chain: Vec<CertSummary>,
    pub chain_findings: Vec<Finding>,
    pub verification: Option<Verdict>,
    pub warnings: Vec<String>,
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
    let mut outcome = Outcome::default();
    let mut ehlo = None;
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
        Err(e) => outcome.error = Some(e),
    }
    let events = collector.await.unwrap_or_default();
    build_report(target, ehlo, events, outcome)
}

#[derive(Default)]
struct Outcome {
    offered: bool,
    result: &'static str,
    error: Option<SessionError>,
}

async fn drive<S>(session: &mut Session<S>, target: &Target, force: bool) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut out = Outcome {
        result: "not_requested",
        ..Outcome::default()
    };
    if let Err(e) = session.greeting().await {
        out.error = Some(e);
        return out;
    }
    if let Err(e) = session.ask_capabilities().await {
        out.error = Some(e);
        return out;
    }
    if target.tls == TlsMode::Implicit {
        return out;
    }
    out.offered = session.starttls_offered();
    if !out.offered && !force {
        out.result = "not_offered";
        return out;
    }
    match session.starttls().await {
        Ok(StartTls::Upgraded(_)) => {
            out.result = "upgraded";
            if let Err(e) = session.ask_capabilities().await {
                out.error = Some(e);
            }
        }
        Ok(StartTls::Refused(_)) => out.result = "refused",
        Ok(StartTls::HandshakeFailed(e)) => {
            out.result = "handshake_failed";
            out.error = Some(e);
        }
        Err(e) => {
            out.result = "handshake_failed";
            out.error = Some(e);
        }
    }
    out
}

fn build_report(
    target: Target,
    ehlo: Option<String>,
    events: Vec<Event>,
    outcome: Outcome,
) -> CheckReport {
    let mut steps = Vec::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut tls = None;
    let mut warnings = Vec::new();
    for event in events {
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. } => steps.push(Step {
                t_ms: ms(entry.at),
                dir: entry.direction,
                text: step_text(&entry.raw),
                tls: entry.tls,
            }),
            Event::Capabilities {
                after_tls, list, ..
            } => {
                let names: Vec<String> = list.iter().map(Capability::to_string).collect();
                if after_tls {
                    after = names
                } else {
                    before = names
                }
            }
            Event::Tls(t) => tls = Some(t),
            Event::Warning { message, .. } => warnings.push(message),
            Event::Error { message, .. } => warnings.push(message),
            Event::Connected { .. } | Event::Closed { .. } => {}
        }
    }
    let implicit = target.tls == TlsMode::Implicit;
    let tls_error = outcome
        .error
        .as_ref()
        .filter(|e| e.is_tls_failure())
        .map(ToString::to_string);
    let result = if implicit && tls_error.is_some() {
        "handshake_failed"
    } else {
        outcome.result
    };
    let verification = tls.as_ref().map(|t| t.verdict.clone());
    let connection_error = outcome
        .error
        .as_ref()
        .filter(|e| !e.is_tls_failure())
        .map(ToString::to_string);
    let exit_code = if matches!(result, "not_offered" | "refused" | "handshake_failed")
        || tls_error.is_some()
    {
        EXIT_TLS
    } else if verification.as_ref().is_some_and(|v| !v.trusted) {
        // Untrusted is the more important answer even if the session broke later.
        EXIT_TLS
    } else if connection_error.is_some() || tls.is_none() {
        EXIT_CONNECTION
    } else {
        EXIT_OK
    };
    let (chain, chain_findings, chain_der) = match &tls {
        Some(t) => (
            t.chain.certs.clone(),
            t.chain.findings.clone(),
            t.chain_der.clone(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
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
        warnings,
        error: tls_error.or(connection_error),
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
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
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
            self.starttls.result,
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
        if let Some(v) = &self.verification {
            line(format!("verification:  {}", v.headline()));
            line(format!(
                "hostname:      {} {}",
                v.name_checked,
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
            line(format!("certificate {} ({role})", c.depth));
            line(format!("  subject:     {}", c.subject));
            line(format!("  issuer:      {}", c.issuer));
            line(format!(
                "  valid:       {} .. {} ({} days left)",
                c.not_before, c.not_after, c.days_left
            ));
            if !c.sans.is_empty() {
                line(format!("  SANs:        {}", c.sans.join(", ")));
            }
            line(format!(
                "  key:         {}, signed with {}",
                c.key, c.signature_algorithm
            ));
            line(format!("  SHA-256:     {}", c.sha256));
        }
        for f in &self.chain_findings {
            line(format!("chain {}: {}", f.severity, f.message));
        }
        for w in &self.warnings {
            line(format!("warning: {}", escape_line(w.as_bytes())));
        }
        if let Some(e) = &self.error {
            line(format!("error: {e}"));
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
