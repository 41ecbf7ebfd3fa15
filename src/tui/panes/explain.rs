//! The explain pane: what the selected transcript line, the line being
//! typed, or the selected TLS item means, with its RFC or IANA source, from
//! the catalogue in [`crate::explain`]. With the raw toggle (`x`, F6) it
//! shows the selected line's bytes instead ([`super::raw`]).
//!
//! ```text
//! ┌ Explain · S <- 535 5.7.8 Error: authentication failed ────────────────┐
//! │ 535: Authentication credentials invalid                               │
//! │   The user name or password (or token) was wrong. ...                 │
//! │   RFC 4954 §6                                                         │
//! │ 5.7.8: Authentication credentials invalid                             │
//! │   ...                                                                 │
//! └───────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Which line: while typing in the input line, the typed line (shown
//! masked, and `explain_client` never quotes secrets); with the TLS pane
//! selected in pane focus, the TLS item under its cursor; otherwise the
//! transcript row under the cursor (Up/Down in the transcript pane), or the
//! last row when the cursor follows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{pane_block, raw};
use crate::explain::{self, Explanation};
use crate::finding::FindingId;
use crate::session::transcript::{Item, LineEnding, NoteKind};
use crate::session::{Direction, Outcome, Phase};
use crate::target::Protocol;
use crate::tui::app::{App, Focus, Mode, PaneId};
use crate::tui::keymap::{Action, Scope};
use crate::tui::teach::tls_items;
use crate::tui::theme::Theme;

/// Rows the pane takes in the wide layout (border included).
pub const HEIGHT: u16 = 12;

/// What the pane explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The input line, as displayed (secrets masked).
    Typed { shown: String },
    /// A transcript row: its index, bytes with line ending, and how it ended.
    Row {
        index: usize,
        /// `C ->`, `S <-`, `*`.
        mark: &'static str,
        bytes: Vec<u8>,
        ending: LineEnding,
    },
    /// Item `index` of `count` of the TLS pane.
    Tls { index: usize, count: usize },
    /// Nothing to explain yet.
    Nothing,
}

fn typing(app: &App) -> bool {
    // Never the auth prompt: its field may be the password.
    app.focus == Focus::Input
        && app.mode == Mode::Normal
        && app.teach.auth.is_none()
        && !app.input.text().trim().is_empty()
}

/// The subject and its explanations, as the pane shows them.
pub fn content(app: &App) -> (Subject, Vec<Explanation>) {
    let protocol = app.protocol();
    if typing(app) {
        let text = app.input.text();
        // The engine adds the IMAP tag at send time; explain the line as it will go out.
        let line = if protocol == Protocol::Imap && !text.trim().eq_ignore_ascii_case("DONE") {
            format!("a1 {text}")
        } else {
            text.to_string()
        };
        let shown = app.input_display();
        return (
            Subject::Typed { shown },
            explain::explain_client(protocol, &line),
        );
    }
    if app.focus == Focus::Panes && app.pane == PaneId::Tls {
        if let Some(tls) = &app.tls {
            let items = tls_items(tls);
            if !items.is_empty() {
                let index = app.teach.tls_item.min(items.len() - 1);
                let count = items.len();
                let picked = items.into_iter().nth(index).into_iter().collect();
                return (Subject::Tls { index, count }, picked);
            }
        }
    }
    let Some(index) = app.teach.selected_row(app.transcript.len_rows()) else {
        return (Subject::Nothing, Vec::new());
    };
    let Some(row) = app.transcript.rows(index..index + 1).next() else {
        return (Subject::Nothing, Vec::new());
    };
    let mut bytes = row.text.to_vec();
    bytes.extend_from_slice(match row.ending {
        LineEnding::Crlf => b"\r\n",
        LineEnding::BareLf => b"\n",
        LineEnding::None => b"",
    });
    // The raw view of a finding shows its evidence: the bytes it is about.
    if let Item::Finding { finding, .. } = row.item
        && !finding.evidence.is_empty()
    {
        bytes = finding.evidence.clone();
    }
    let (mark, explanations) = match row.item {
        Item::Entry(entry) => {
            // From the dialogue's note: the command this answers, what was
            // advertised; an SMTP multi-line reply explains the selected line.
            let mut found = explain::explain_entry(protocol, entry, Some(row.line));
            let challenge = entry.direction == Direction::Server
                && entry.note.phase == Phase::Sasl
                && matches!(
                    entry.note.outcome,
                    Outcome::Intermediate | Outcome::Continuation
                );
            if challenge && let Some(text) = crate::tui::auth::decode_challenge(protocol, &bytes) {
                found.insert(
                    0,
                    Explanation {
                        key: "sasl.challenge".into(),
                        title: format!("SASL challenge decodes to \"{text}\""),
                        text: "The server asks for the next piece of the exchange; \
                               answer with its base64 on one line (* cancels)."
                            .into(),
                        source: "RFC 4954 §4 (SMTP), RFC 9051 §7.6 (IMAP), RFC 5034 §4 (POP3)"
                            .into(),
                        matched: explain::Match::Exact,
                    },
                );
            }
            let mark = match entry.direction {
                Direction::Server => "S <-",
                Direction::Client => "C ->",
            };
            (mark, found)
        }
        Item::Finding { finding, .. } => ("!", finding_explanations(finding)),
        Item::Note { kind, text, .. } => ("*", note_explanations(*kind, text)),
    };
    (
        Subject::Row {
            index,
            mark,
            bytes,
            ending: row.ending,
        },
        explanations,
    )
}

/// A finding in the explain pane: what happened with its evidence, what
/// to do, and the source; then the catalogue's entry for its id, if any.
fn finding_explanations(f: &crate::finding::Finding) -> Vec<Explanation> {
    // i16: an alert the server sent in a plaintext record gets its own
    // catalogue entry (`tls.alert.N`: number, name, meaning, fix), which
    // is also the finding's advice, so the advice is not repeated.
    let alert = (f.id == FindingId::TlsAlert)
        .then(|| alert_number(&f.evidence))
        .flatten()
        .map(explain::explain_alert);
    let mut text = f.summary.clone();
    if !f.evidence.is_empty() {
        text.push_str(" Evidence: ");
        text.push_str(&f.evidence_escaped(300));
    }
    if !f.advice.is_empty() && alert.is_none() {
        text.push_str(" What to do: ");
        text.push_str(&f.advice);
    }
    // The alert's entry first: it is what the operator needs to read.
    let mut out: Vec<Explanation> = alert.into_iter().collect();
    out.push(Explanation {
        key: format!("finding.{}", f.id),
        title: format!("{} {}: {}", f.severity, f.id, f.id.meaning()),
        text: crate::escape::escape_bytes(text.as_bytes()),
        source: f.source.clone(),
        matched: explain::Match::Exact,
    });
    out
}

/// The alert description of a plaintext alert record (RFC 8446 §5.1,
/// §6: content type 21, version, length 2, level, description).
///
/// ```text
/// 15 03 01 00 02 02 46   fatal alert 70 protocol_version in a TLS 1.0 record
/// ```
fn alert_number(record: &[u8]) -> Option<u8> {
    match record {
        [0x15, 0x03, _, 0x00, 0x02, _, description] => Some(*description),
        _ => None,
    }
}

/// A note from mailwire itself: for a connection that failed or ended,
/// what it means and what to check; nothing for the others (the line
/// itself is shown whole above).
fn note_explanations(kind: NoteKind, text: &str) -> Vec<Explanation> {
    if kind != NoteKind::Error {
        return Vec::new();
    }
    let lower = text.to_ascii_lowercase();
    let (title, advice) = if lower.contains("refused") {
        (
            "Connection refused",
            "The host answered, but nothing listens on that port (or a firewall rejects it). \
             Check the port (25 SMTP, 587 submission, 465 SMTPS, 143 IMAP, 993 IMAPS, 110 POP3, \
             995 POP3S) and that the server runs and listens on this address.",
        )
    } else if lower.contains("resolve") || lower.contains("dns") || lower.contains("lookup") {
        (
            "The host name does not resolve",
            "DNS has no address for this name: check its spelling, or query it with \
             `dig A name` / `dig AAAA name`; for mail to a domain, look up its MX first.",
        )
    } else if lower.contains("timed out")
        || lower.contains("no greeting")
        || lower.contains("within")
    {
        (
            "No answer in time",
            "Nothing answered within the time allowed: a firewall may drop the packets, the \
             host may be down, or the server delays on purpose. Raise --timeout or check the path.",
        )
    } else if lower.contains("unreachable") {
        (
            "No route to the host",
            "The network (or this machine) has no route there: check the address, IPv4/IPv6 \
             (-4/-6), and the local network.",
        )
    } else if lower.contains("tls") || lower.contains("handshake") || lower.contains("certificate")
    {
        (
            "The TLS handshake failed",
            "Client and server did not agree on TLS. The findings before this line say why \
             (an alert, no common version or cipher suite); `mailwire check --scan` lists what \
             the server accepts.",
        )
    } else {
        (
            "The session ended on an error",
            "The connection ended without QUIT/LOGOUT. The lines and findings before this one \
             show the last thing the server said.",
        )
    };
    vec![Explanation {
        key: "note.error".into(),
        title: title.into(),
        text: advice.into(),
        source: "mailwire".into(),
        matched: explain::Match::Exact,
    }]
}

/// The pane's title for a subject.
fn title(app: &App, subject: &Subject, raw: bool, width: usize) -> String {
    let what = if raw { "Raw" } else { "Explain" };
    match subject {
        Subject::Typed { shown } => {
            format!(
                "{what} · typing: {}",
                crate::escape::escape_prefix(shown.as_bytes(), width)
            )
        }
        Subject::Row { mark, bytes, .. } => {
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            let first = String::from_utf8_lossy(&bytes[..end]);
            let first = first.trim_end_matches('\r');
            format!(
                "{what} · {mark} {}",
                crate::escape::escape_prefix(first.as_bytes(), width)
            )
        }
        Subject::Tls { index, count } => {
            format!(
                "{what} · TLS item {}/{count} ({}/{})",
                index + 1,
                app.keys.hint(Scope::Panes, Action::Up),
                app.keys.hint(Scope::Panes, Action::Down),
            )
        }
        Subject::Nothing => what.to_string(),
    }
}

/// The explanations as lines: title, text, source.
pub fn explanation_lines(explanations: &[Explanation], theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for e in explanations {
        out.push(Line::from(Span::styled(
            e.title.clone(),
            theme.label.add_modifier(Modifier::BOLD),
        )));
        out.push(Line::from(vec![Span::raw("  "), Span::raw(e.text.clone())]));
        out.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("source: {}", e.source), theme.dim),
        ]));
    }
    out
}

/// The pane's lines for the current state, `width` columns wide (the
/// raw view fits its hex rows to it; the rest wraps).
pub fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let (subject, explanations) = content(app);
    if app.teach.raw {
        return match &subject {
            Subject::Row { bytes, ending, .. } => raw::lines(bytes, *ending, theme, width),
            Subject::Typed { .. } => vec![Line::from(Span::styled(
                format!(
                    "the raw view shows transcript lines: {}, then {}/{} to pick one",
                    app.keys.hint(Scope::Input, Action::Escape),
                    app.keys.hint(Scope::Panes, Action::Up),
                    app.keys.hint(Scope::Panes, Action::Down),
                ),
                theme.dim,
            ))],
            _ => vec![Line::from(Span::styled("no line selected", theme.dim))],
        };
    }
    let mut out = Vec::new();
    // The selected line whole, however long: the transcript shows one
    // screen row of it, the title a prefix.
    // (A finding's explanation quotes its summary and evidence itself.)
    if let Subject::Row { mark, bytes, .. } = &subject
        && *mark != "!"
    {
        let text = bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(bytes);
        let long = text.len() + mark.len() + 1 > width.saturating_sub(20) || *mark == "*";
        if long {
            out.push(Line::from(vec![
                Span::styled(format!("{mark} "), theme.dim),
                Span::styled(crate::escape::escape_bytes(text), theme.server),
            ]));
        }
    }
    if explanations.is_empty() {
        let hint = match subject {
            Subject::Row { mark: "*", .. } => "a note from mailwire itself: it was not on the wire",
            Subject::Nothing => "nothing yet: the explanations of each line appear here",
            _ => "no explanation for this line",
        };
        out.push(Line::from(Span::styled(hint, theme.dim)));
        return out;
    }
    out.extend(explanation_lines(&explanations, theme));
    out
}

/// Draws the pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let (subject, _) = content(app);
    let width = usize::from(area.width.saturating_sub(20));
    let title = title(app, &subject, app.teach.raw, width);
    let block = pane_block(&title, focused, &app.theme);
    let inner = usize::from(area.width.saturating_sub(2));
    Paragraph::new(lines(app, inner))
        .wrap(Wrap { trim: false })
        .block(block)
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::alert_number;

    #[test]
    fn alert_number_reads_a_plaintext_alert_record_only() {
        assert_eq!(alert_number(&[0x15, 3, 1, 0, 2, 2, 0x46]), Some(70));
        assert_eq!(alert_number(&[0x15, 3, 3, 0, 2, 2, 40]), Some(40));
        // A handshake record, a cut record, a longer one: not an alert.
        assert_eq!(alert_number(&[0x16, 3, 1, 0, 2, 2, 0x46]), None);
        assert_eq!(alert_number(&[0x15, 3, 1, 0, 2, 2]), None);
        assert_eq!(alert_number(&[0x15, 3, 1, 0, 3, 2, 0x46, 0]), None);
    }
}
