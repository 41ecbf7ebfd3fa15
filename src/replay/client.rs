//! Client replay: the client lines of a recording sent again to a live
//! server, each live reply set beside the recorded one. A difference in
//! reply code (SMTP, RFC 5321 §4.2), tagged status (IMAP, RFC 9051 §7.1) or
//! `+OK`/`-ERR` (POP3, RFC 1939 §3) is a failure; other text differences are
//! shown after normalising volatile parts.
//!
//! ```text
//! Recording --exchanges--> [greeting, (command, replies)..] --Session--> live replies
//!                                                   compare status, normalised text
//! ```

use std::collections::HashMap;

use tokio::sync::mpsc;

use super::recording::Recording;
use crate::session::{Direction, Event, Session, SessionConfig};
use crate::target::Protocol;

/// One exchange: the client line (none for the greeting) and the server's
/// responses up to the next client line, raw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    pub command: Option<Vec<u8>>,
    pub replies: Vec<Vec<u8>>,
}

/// One compared step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The command as shown (`greeting` for the banner).
    pub label: String,
    pub recorded: String,
    pub live: String,
    /// Code or status differ: the replay fails.
    pub status_differs: bool,
    /// Normalised text differs (shown, not a failure by itself).
    pub text_differs: bool,
}

/// Splits events into exchanges: the greeting, then one per client line.
/// TLS and other events are skipped; their effect shows in the lines.
pub fn exchanges(events: impl Iterator<Item = Event>) -> Vec<Exchange> {
    let mut out = vec![Exchange::default()];
    for event in events {
        if let Event::Data(entry) | Event::Malformed { entry, .. } = event {
            match entry.direction {
                Direction::Client => out.push(Exchange {
                    command: Some(entry.raw),
                    replies: Vec::new(),
                }),
                Direction::Server => {
                    if let Some(last) = out.last_mut() {
                        last.replies.push(entry.raw);
                    }
                }
            }
        }
    }
    out
}

/// The status word of the last reply: SMTP code, IMAP status after the tag
/// (or `*`), POP3 `+OK`/`-ERR`; empty when there was no reply.
pub fn status(protocol: Protocol, replies: &[Vec<u8>]) -> String {
    let Some(last) = replies.last() else {
        return String::new();
    };
    let text = String::from_utf8_lossy(last);
    let mut words = text.split_whitespace();
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => text.chars().take(3).collect(),
        Protocol::Imap => {
            let first = words.next().unwrap_or_default();
            if first == "+" {
                "+".into()
            } else {
                words.next().unwrap_or_default().to_ascii_uppercase()
            }
        }
        Protocol::Pop3 => words.next().unwrap_or_default().to_ascii_uppercase(),
    }
}

/// Replaces volatile parts: digits (times, sizes, queue and session ids)
/// become `#`, words mixing letters and digits `<id>`, and the greeting's
/// host name `<host>`.
pub fn normalise(text: &str, banner_host: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let has_digit = word.chars().any(|c| c.is_ascii_digit());
        let has_alpha = word.chars().any(|c| c.is_ascii_alphabetic());
        if banner_host.is_some_and(|h| !h.is_empty() && word.trim_end_matches(['\r', '\n']) == h) {
            out.push_str("<host>");
            if word.ends_with("\r\n") {
                out.push_str("\r\n");
            }
        } else if i > 0 && has_digit && has_alpha && word.len() >= 6 {
            out.push_str("<id>");
        } else if i > 0 && has_digit {
            let mut last_hash = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !last_hash {
                        out.push('#');
                    }
                    last_hash = true;
                } else {
                    out.push(c);
                    last_hash = false;
                }
            }
        } else {
            out.push_str(word);
        }
    }
    out
}

/// How an operator steers a client replay: stepped (one confirmation per
/// command) or `--auto`, and secrets typed at a masked prompt.
pub trait Operator {
    /// Called before each recorded command is sent (secrets still masked);
    /// `false` stops the replay there.
    fn before_step(&mut self, line: &str) -> bool;
    /// A secret that neither `--secret` nor the environment gave; `None`
    /// ends the replay with an error naming it.
    fn secret(&mut self, name: &str, line: &str) -> Option<String>;
}

/// `--auto`, or no terminal: never waits, never asks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Auto;

impl Operator for Auto {
    fn before_step(&mut self, _line: &str) -> bool {
        true
    }
    fn secret(&mut self, _name: &str, _line: &str) -> Option<String> {
        None
    }
}

/// The line to send for a recorded client line: `<redacted N bytes>` is
/// filled, in order, with the secrets `REDACTED1`, `REDACTED2`, .. from
/// `secrets`, else from the operator (never from the file).
///
/// # Errors
/// A secret is missing; the message names it.
pub fn fill_secrets(
    line: &[u8],
    next: &mut usize,
    secrets: &HashMap<String, String>,
    operator: &mut dyn Operator,
) -> Result<Vec<u8>, String> {
    let text = String::from_utf8_lossy(line);
    let Some(start) = text.find("<redacted ") else {
        return Ok(line.to_vec());
    };
    let Some(len) = text[start..].find('>') else {
        return Ok(line.to_vec());
    };
    *next += 1;
    let name = format!("REDACTED{next}");
    let value = match secrets.get(&name) {
        Some(v) => v.clone(),
        None => operator.secret(&name, text.trim_end()).ok_or_else(|| {
            format!(
                "the recording masks a secret in {:?}: give it with --secret {name}=VALUE or MAILWIRE_SECRET_{name}",
                text.trim_end()
            )
        })?,
    };
    let mut filled = String::new();
    filled.push_str(&text[..start]);
    filled.push_str(&value);
    filled.push_str(&text[start + len + 1..]);
    Ok(filled.into_bytes())
}

/// Sends the recording's client lines to the server of `config` and compares
/// every exchange. STARTTLS/STLS upgrades for real.
///
/// # Errors
/// The connection cannot be opened or a secret is missing.
pub async fn run(
    recording: &Recording,
    config: SessionConfig,
    secrets: &HashMap<String, String>,
    normalize: bool,
    operator: &mut dyn Operator,
) -> Result<Vec<StepReport>, String> {
    let protocol = config.target.protocol;
    let recorded = exchanges((0..recording.len()).filter_map(|i| recording.event(i)));
    let (tx, mut rx) = mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let mut session = Session::connect(config, tx)
        .await
        .map_err(|e| e.to_string())?;
    let _ = session.greeting().await;
    let mut filled = 0;
    for exchange in recorded.iter().skip(1) {
        if session.is_closed() {
            break;
        }
        let Some(command) = &exchange.command else {
            continue;
        };
        if !operator.before_step(String::from_utf8_lossy(command).trim_end()) {
            break;
        }
        let line = fill_secrets(command, &mut filled, secrets, operator)?;
        let text = String::from_utf8_lossy(&line);
        let word = text
            .split_whitespace()
            .nth(usize::from(protocol == Protocol::Imap))
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !session.is_tls() && (word == "STARTTLS" || word == "STLS") {
            let _ = session.starttls().await;
        } else if protocol == Protocol::Imap
            && text.split_whitespace().count() > 1
            && !word.is_empty()
        {
            // The engine tags IMAP commands itself; drop the recorded tag.
            let rest = text.trim_end_matches(['\r', '\n']);
            let rest = rest.split_once(' ').map_or(rest, |(_, r)| r);
            let _ = session.command(rest).await;
        } else if word == "QUIT" || word == "LOGOUT" {
            session.quit().await;
        } else {
            let _ = session.send_raw(&line).await;
            let _ = session.read_response("reply").await;
        }
    }
    session.close().await;
    drop(session);
    let live = exchanges(collector.await.unwrap_or_default().into_iter());
    let banner_host = |x: &[Exchange]| {
        x.first().and_then(|g| g.replies.first()).map(|r| {
            String::from_utf8_lossy(r)
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
    };
    let (rec_host, live_host) = (banner_host(&recorded), banner_host(&live));
    let empty = Exchange::default();
    let mut steps = Vec::new();
    for (i, want) in recorded.iter().enumerate() {
        let got = live.get(i).unwrap_or(&empty);
        let join = |x: &Exchange| {
            x.replies
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect::<String>()
        };
        let (r, l) = (join(want), join(got));
        let text_differs = if normalize {
            normalise(&r, rec_host.as_deref()) != normalise(&l, live_host.as_deref())
        } else {
            r != l
        };
        steps.push(StepReport {
            label: want.command.as_ref().map_or_else(
                || "greeting".to_string(),
                |c| String::from_utf8_lossy(c).trim_end().to_string(),
            ),
            status_differs: status(protocol, &want.replies) != status(protocol, &got.replies),
            text_differs,
            recorded: r,
            live: l,
        });
    }
    Ok(steps)
}
