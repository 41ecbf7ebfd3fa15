//! `mailwire check --scan`: which TLS versions, cipher suites and
//! key-exchange groups a server accepts among those mailwire's TLS stack
//! (rustls with aws-lc-rs) implements, in which order it prefers them, and
//! whether it still speaks TLS 1.0/1.1 or only those.
//!
//! ```text
//! phase 1: TLS 1.3 and 1.2 with everything; TLS 1.1 and 1.0 (raw ClientHello)
//! phase 2: per accepted version, each cipher suite alone, each group alone
//! phase 3: preference: all accepted offered forwards and backwards; when the
//!          server keeps its choice, it has an order: peel it one probe at a time
//! ```
//!
//! One connection per probe (with STARTTLS/STLS first where the URL says
//! so), at most `concurrency` at a time, each bounded by the handshake
//! timeout; the report says how many probes ran and how long it took. The
//! same connection code serves [`diagnose`], the extra probe `check` runs
//! after a handshake failure to say what the server would have chosen.

use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::session::{Session, SessionConfig};
use crate::target::TlsMode;
use crate::tls::hello::{self, RawHello, ServerFlight};
use crate::tls::probe::{self, ProbeOutcome, ProbeSpec, TlsVersion};
use crate::tls::{group_name, suite_name, version_name};

/// Probes run at once unless `--scan-concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How a server orders its choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// The server picks by its own preference, whatever the client's order.
    Server,
    /// The server takes the client's first acceptable choice.
    Client,
    /// Only one is accepted: there is no order to speak of.
    Single,
    /// Not determined (a probe failed).
    Unknown,
}

impl Order {
    fn label(self) -> &'static str {
        match self {
            Order::Server => "server's order",
            Order::Client => "follows the client's order",
            Order::Single => "only one",
            Order::Unknown => "order unknown",
        }
    }
}

/// One TLS version rustls implements, as the server treats it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionScan {
    pub version: TlsVersion,
    pub accepted: bool,
    /// Why not, when refused (plain words, e.g. the alert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Accepted suites, in the server's order when it has one.
    pub cipher_suites: Vec<String>,
    pub cipher_suites_refused: Vec<String>,
    pub cipher_suite_order: Order,
    /// Accepted key-exchange groups, in the server's order when it has one.
    pub groups: Vec<String>,
    pub groups_refused: Vec<String>,
    pub group_order: Order,
}

/// TLS 1.0 or 1.1, probed with a raw ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegacyScan {
    /// `TLSv1.1` or `TLSv1.0`.
    pub version: String,
    pub accepted: bool,
    /// The suite the server chose, when it accepted.
    pub cipher_suite: Option<String>,
}

/// The whole scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanReport {
    pub versions: Vec<VersionScan>,
    pub legacy: Vec<LegacyScan>,
    pub findings: Vec<Finding>,
    /// Connections made.
    pub probes: usize,
    /// At most this many at once.
    pub concurrency: usize,
    /// Wall-clock time of the whole scan, ms.
    pub elapsed_ms: u64,
    /// Probes that could not reach the TLS handshake (connect, STARTTLS), in plain words.
    pub failed_probes: Vec<String>,
}

/// Opens a connection ready for a ClientHello: TCP, then for a STARTTLS URL
/// the greeting, capabilities and STARTTLS/STLS through the session engine.
async fn open(config: &SessionConfig) -> Result<TcpStream, String> {
    let authority = config.target.authority();
    let tcp = match tokio::time::timeout(
        config.timeouts.connect,
        TcpStream::connect(authority.as_str()),
    )
    .await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(format!("cannot connect to {authority}: {e}")),
        Err(_) => {
            return Err(format!(
                "no TCP connection to {authority} within the connect timeout"
            ));
        }
    };
    let _ = tcp.set_nodelay(true);
    if config.target.tls == TlsMode::Implicit {
        return Ok(tcp);
    }
    // Nobody listens to a probe's transcript.
    let (events, _) = mpsc::channel(1);
    let mut session = Session::over(tcp, config.clone(), events);
    session.greeting().await.map_err(|e| e.to_string())?;
    session
        .ask_capabilities()
        .await
        .map_err(|e| e.to_string())?;
    session
        .into_starttls_stream()
        .await
        .map_err(|e| e.to_string())
}

/// What one queued probe does.
#[derive(Debug, Clone)]
enum Job {
    Handshake(ProbeSpec),
    Raw(RawHello),
}

#[derive(Debug, Clone)]
enum Answer {
    Handshake(ProbeOutcome),
    Raw(Box<ServerFlight>),
    /// The connection never reached the handshake.
    Unreachable(String),
}

/// Runs probes with bounded concurrency; answers come back in job order.
struct Runner {
    config: Arc<SessionConfig>,
    gate: Arc<Semaphore>,
    probes: usize,
    failed: Vec<String>,
}

impl Runner {
    async fn run(&mut self, jobs: Vec<Job>) -> Vec<Answer> {
        let mut set = JoinSet::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let config = self.config.clone();
            let gate = self.gate.clone();
            set.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let limit = config.timeouts.handshake;
                let answer = match open(&config).await {
                    Err(e) => Answer::Unreachable(e),
                    Ok(stream) => match &job {
                        Job::Handshake(spec) => {
                            Answer::Handshake(probe::handshake_probe(stream, spec, limit).await)
                        }
                        Job::Raw(hello) => {
                            Answer::Raw(Box::new(probe::raw_probe(stream, hello, limit).await))
                        }
                    },
                };
                (i, answer)
            });
            self.probes += 1;
        }
        let mut answers: Vec<(usize, Answer)> = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(pair) => answers.push(pair),
                Err(e) => self.failed.push(format!("a probe task failed: {e}")),
            }
        }
        answers.sort_by_key(|(i, _)| *i);
        answers
            .into_iter()
            .map(|(_, a)| {
                if let Answer::Unreachable(e) = &a
                    && !self.failed.contains(e)
                {
                    self.failed.push(e.clone());
                }
                a
            })
            .collect()
    }
}

fn sni_of(config: &SessionConfig) -> Option<String> {
    if config.tls.no_sni {
        return None;
    }
    let name = config
        .tls
        .servername
        .clone()
        .unwrap_or_else(|| config.target.host.clone());
    // No SNI for an IP address (RFC 6066 §3).
    name.parse::<std::net::IpAddr>().is_err().then_some(name)
}

fn spec(version: TlsVersion, suites: Vec<u16>, groups: Vec<u16>, sni: &Option<String>) -> Job {
    Job::Handshake(ProbeSpec {
        version,
        suites,
        groups,
        sni: sni.clone(),
    })
}

fn accepted(answer: &Answer) -> Option<(u16, Option<u16>)> {
    match answer {
        Answer::Handshake(ProbeOutcome::Accepted { suite, group }) => Some((*suite, *group)),
        _ => None,
    }
}

fn refused_text(answer: &Answer) -> String {
    match answer {
        Answer::Handshake(ProbeOutcome::Refused { alert: Some(a), .. }) => format!("alert {a}"),
        Answer::Handshake(ProbeOutcome::Refused { reason, .. }) | Answer::Unreachable(reason) => {
            reason.clone()
        }
        _ => String::new(),
    }
}

/// Finds the server's order among `items` (all accepted): offers them in
/// order and reversed; if the choice stays the same, peels the order one
/// probe at a time. `job` builds a probe offering a list; `pick` reads
/// which item the server chose.
async fn order_of(
    runner: &mut Runner,
    items: &[u16],
    job: &dyn Fn(Vec<u16>) -> Job,
    pick: &dyn Fn(&Answer) -> Option<u16>,
) -> (Vec<u16>, Order) {
    if items.len() < 2 {
        return (items.to_vec(), Order::Single);
    }
    let mut reversed = items.to_vec();
    reversed.reverse();
    let answers = runner.run(vec![job(items.to_vec()), job(reversed)]).await;
    let (Some(first), Some(second)) = (pick(&answers[0]), pick(&answers[1])) else {
        return (items.to_vec(), Order::Unknown);
    };
    if first != second {
        return (items.to_vec(), Order::Client);
    }
    let mut order = vec![first];
    let mut rest: Vec<u16> = items.iter().copied().filter(|i| *i != first).collect();
    while rest.len() > 1 {
        let answer = runner.run(vec![job(rest.clone())]).await;
        let Some(chosen) = pick(&answer[0]).filter(|c| rest.contains(c)) else {
            order.extend(&rest);
            return (order, Order::Unknown);
        };
        order.push(chosen);
        rest.retain(|i| *i != chosen);
    }
    order.extend(rest);
    (order, Order::Server)
}

/// Scans the server `config` points at (its STARTTLS mode, SNI and
/// timeouts), at most `concurrency` connections at a time.
pub async fn scan(config: &SessionConfig, concurrency: usize) -> ScanReport {
    let started = Instant::now();
    let concurrency = concurrency.max(1);
    let mut runner = Runner {
        config: Arc::new(config.clone()),
        gate: Arc::new(Semaphore::new(concurrency)),
        probes: 0,
        failed: Vec::new(),
    };
    let sni = sni_of(config);
    let versions = [TlsVersion::Tls13, TlsVersion::Tls12];
    let legacy_versions = [0x0302u16, 0x0301];
    // Phase 1: which versions.
    let mut jobs: Vec<Job> = versions
        .iter()
        .map(|v| spec(*v, probe::suites_for(*v), probe::groups_for(*v), &sni))
        .collect();
    for v in legacy_versions {
        jobs.push(Job::Raw(RawHello {
            versions: vec![v],
            cipher_suites: hello::WIDE_SUITES
                .iter()
                .copied()
                .filter(|c| *c >> 8 != 0x13)
                .collect(),
            groups: hello::WIDE_GROUPS.to_vec(),
            sni: sni.clone(),
        }));
    }
    let phase1 = runner.run(jobs).await;
    let legacy: Vec<LegacyScan> = legacy_versions
        .iter()
        .zip(&phase1[versions.len()..])
        .map(|(v, answer)| {
            let chosen = match answer {
                Answer::Raw(flight) => flight.hello.as_ref().filter(|h| h.version == *v),
                _ => None,
            };
            LegacyScan {
                version: version_name(*v),
                accepted: chosen.is_some(),
                cipher_suite: chosen.map(|h| suite_name(h.cipher_suite)),
            }
        })
        .collect();
    let mut scans = Vec::new();
    for (version, answer) in versions.iter().zip(&phase1) {
        let mut scan = VersionScan {
            version: *version,
            accepted: accepted(answer).is_some(),
            refused: None,
            cipher_suites: Vec::new(),
            cipher_suites_refused: Vec::new(),
            cipher_suite_order: Order::Unknown,
            groups: Vec::new(),
            groups_refused: Vec::new(),
            group_order: Order::Unknown,
        };
        if !scan.accepted {
            scan.refused = Some(refused_text(answer));
            scan.cipher_suites_refused = probe::suites_for(*version)
                .into_iter()
                .map(suite_name)
                .collect();
            scan.groups_refused = probe::groups_for(*version)
                .into_iter()
                .map(group_name)
                .collect();
            scans.push(scan);
            continue;
        }
        // Phase 2: each suite alone (all groups), each group alone (all suites).
        let suites = probe::suites_for(*version);
        let groups = probe::groups_for(*version);
        let mut jobs: Vec<Job> = suites
            .iter()
            .map(|s| spec(*version, vec![*s], groups.clone(), &sni))
            .collect();
        jobs.extend(
            groups
                .iter()
                .map(|g| spec(*version, suites.clone(), vec![*g], &sni)),
        );
        let answers = runner.run(jobs).await;
        let (suite_answers, group_answers) = answers.split_at(suites.len());
        let ok_suites: Vec<u16> = suites
            .iter()
            .zip(suite_answers)
            .filter(|(_, a)| accepted(a).is_some())
            .map(|(s, _)| *s)
            .collect();
        let ok_groups: Vec<u16> = groups
            .iter()
            .zip(group_answers)
            .filter(|(_, a)| accepted(a).is_some())
            .map(|(g, _)| *g)
            .collect();
        scan.cipher_suites_refused = suites
            .iter()
            .filter(|s| !ok_suites.contains(s))
            .map(|s| suite_name(*s))
            .collect();
        scan.groups_refused = groups
            .iter()
            .filter(|g| !ok_groups.contains(g))
            .map(|g| group_name(*g))
            .collect();
        // Phase 3: preference order.
        let v = *version;
        let all_groups = groups.clone();
        let all_suites = suites.clone();
        let sni_s = sni.clone();
        let (suite_order, kind) = order_of(
            &mut runner,
            &ok_suites,
            &|list| spec(v, list, all_groups.clone(), &sni_s),
            &|a| accepted(a).map(|(s, _)| s),
        )
        .await;
        scan.cipher_suites = suite_order.into_iter().map(suite_name).collect();
        scan.cipher_suite_order = kind;
        let (group_order, kind) = order_of(
            &mut runner,
            &ok_groups,
            &|list| spec(v, all_suites.clone(), list, &sni_s),
            &|a| accepted(a).and_then(|(_, g)| g),
        )
        .await;
        scan.groups = group_order.into_iter().map(group_name).collect();
        scan.group_order = kind;
        scans.push(scan);
    }
    let findings = scan_findings(&scans, &legacy);
    ScanReport {
        versions: scans,
        legacy,
        findings,
        probes: runner.probes,
        concurrency,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        failed_probes: runner.failed,
    }
}

fn scan_findings(scans: &[VersionScan], legacy: &[LegacyScan]) -> Vec<Finding> {
    let mut out = Vec::new();
    let modern = scans.iter().any(|s| s.accepted);
    let old: Vec<&str> = legacy
        .iter()
        .filter(|l| l.accepted)
        .map(|l| l.version.as_str())
        .collect();
    if !modern && !old.is_empty() {
        out.push(Finding::new(
            FindingId::LegacyTlsOnly,
            Severity::Error,
            Stage::Handshake,
            format!(
                "the server accepts only legacy TLS ({}), none of TLS 1.2 and 1.3",
                old.join(", ")
            ),
            "Enable TLS 1.2 and 1.3 on the server (Postfix: smtpd_tls_protocols = >=TLSv1.2; Dovecot: ssl_min_protocol = TLSv1.2).",
            "RFC 8996",
        ));
    } else if !old.is_empty() {
        out.push(Finding::new(
            FindingId::LegacyTlsAccepted,
            Severity::Warning,
            Stage::Handshake,
            format!("the server still accepts {}", old.join(" and ")),
            "Disable TLS 1.0 and 1.1 (Postfix: smtpd_tls_protocols = >=TLSv1.2; Dovecot: ssl_min_protocol = TLSv1.2); every current client speaks TLS 1.2.",
            "RFC 8996",
        ));
    }
    if modern
        && scans
            .iter()
            .any(|s| s.version == TlsVersion::Tls13 && !s.accepted)
    {
        out.push(Finding::new(
            FindingId::LatestTlsRefused,
            Severity::Info,
            Stage::Handshake,
            "the server does not accept TLS 1.3",
            "Enable TLS 1.3 (OpenSSL 1.1.1 or later): a faster handshake and only strong cipher suites.",
            "RFC 8446",
        ));
    }
    out
}

/// After a failed handshake: one more connection with a wide ClientHello
/// (TLS 1.0 to 1.3, DHE, RSA key exchange, CBC, P-521, FFDHE) to learn
/// what the server would have chosen, as findings (legacy_tls_only,
/// no_common_cipher, no_common_group). Empty when that shows nothing new.
pub async fn diagnose(config: &SessionConfig) -> Vec<Finding> {
    let stream = match open(config).await {
        Ok(s) => s,
        Err(_) => return Vec::new(),
    };
    let flight = probe::raw_probe(
        stream,
        &probe::wide_hello(sni_of(config)),
        config.timeouts.handshake,
    )
    .await;
    probe::diagnose_wide(&flight)
}

impl ScanReport {
    /// The scan as text lines for `check`'s report.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "TLS scan: {} probes, at most {} at a time, {} ms{}\n",
            self.probes,
            self.concurrency,
            self.elapsed_ms,
            if self.failed_probes.is_empty() {
                String::new()
            } else {
                format!(", {} could not connect", self.failed_probes.len())
            }
        );
        for v in &self.versions {
            if !v.accepted {
                s.push_str(&format!(
                    "  {:<8} refused ({})\n",
                    v.version.name(),
                    crate::escape::escape_bytes(v.refused.as_deref().unwrap_or("").as_bytes())
                ));
                continue;
            }
            s.push_str(&format!("  {:<8} accepted\n", v.version.name()));
            s.push_str(&format!(
                "    cipher suites ({}): {}\n",
                v.cipher_suite_order.label(),
                v.cipher_suites.join(", ")
            ));
            if !v.cipher_suites_refused.is_empty() {
                s.push_str(&format!(
                    "    refused:        {}\n",
                    v.cipher_suites_refused.join(", ")
                ));
            }
            s.push_str(&format!(
                "    groups ({}): {}\n",
                v.group_order.label(),
                v.groups.join(", ")
            ));
            if !v.groups_refused.is_empty() {
                s.push_str(&format!(
                    "    refused:        {}\n",
                    v.groups_refused.join(", ")
                ));
            }
        }
        for l in &self.legacy {
            match (&l.accepted, &l.cipher_suite) {
                (true, Some(suite)) => {
                    s.push_str(&format!("  {:<8} ACCEPTED (chose {suite})\n", l.version));
                }
                _ => s.push_str(&format!("  {:<8} refused\n", l.version)),
            }
        }
        for e in &self.failed_probes {
            s.push_str(&format!(
                "  probe failed: {}\n",
                crate::escape::escape_bytes(e.as_bytes())
            ));
        }
        s
    }
}
