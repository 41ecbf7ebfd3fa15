//! The capabilities pane: what the server advertised before and after the
//! upgrade, side by side, one row per keyword, differences marked.
//!
//! RFC 3207 §4.2: the client must forget the first set and ask again;
//! many servers only offer AUTH inside TLS, and a STARTTLS still offered
//! after the upgrade is worth a look.
//!
//! ```text
//! ┌ Capabilities ──────────────────────────────┐
//! │ before TLS            │ after TLS           │
//! │  PIPELINING           │  PIPELINING         │
//! │  SIZE 10240000        │  SIZE 10240000      │
//! │- STARTTLS             │                     │   gone after TLS
//! │                       │+ AUTH PLAIN LOGIN   │   new after TLS
//! │~ SIZE 1000            │~ SIZE 50000000      │   parameters changed
//! └────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::pane_block;
use crate::protocol::Capability;
use crate::target::{Protocol, TlsMode};
use crate::tui::app::App;

/// How a keyword compares across the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Same,
    /// Advertised before TLS only.
    Removed,
    /// Advertised after TLS only.
    Added,
    /// Advertised on both sides with different parameters.
    Changed,
    /// Only one side is known so far: nothing to compare.
    Unknown,
}

/// One row: the keyword as advertised on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapRow {
    pub before: Option<String>,
    pub after: Option<String>,
    pub change: Change,
}

/// Aligns both lists by keyword, in the order first seen.
pub fn compare(before: Option<&[Capability]>, after: Option<&[Capability]>) -> Vec<CapRow> {
    let both = before.is_some() && after.is_some();
    let b = before.unwrap_or_default();
    let a = after.unwrap_or_default();
    let mut rows = Vec::new();
    for cap in b {
        let other = a.iter().find(|c| c.name == cap.name);
        let change = match other {
            _ if !both => Change::Unknown,
            Some(o) if o.params == cap.params => Change::Same,
            Some(_) => Change::Changed,
            None => Change::Removed,
        };
        rows.push(CapRow {
            before: Some(cap.to_string()),
            after: other.map(ToString::to_string),
            change,
        });
    }
    for cap in a.iter().filter(|c| !b.iter().any(|o| o.name == c.name)) {
        rows.push(CapRow {
            before: None,
            after: Some(cap.to_string()),
            change: if both { Change::Added } else { Change::Unknown },
        });
    }
    rows
}

fn ask_verb(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp => "EHLO",
        Protocol::Lmtp => "LHLO",
        Protocol::Imap => "CAPABILITY",
        Protocol::Pop3 => "CAPA",
    }
}

/// Draws the pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let block = pane_block("Capabilities", focused, theme);
    let inner = block.inner(area);
    block.render(area, buf);
    let [left, bar, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let verb = ask_verb(app.protocol());
    let before_placeholder = match (app.target.tls, &app.caps.before) {
        (TlsMode::Implicit, None) => Some("(implicit TLS: no plaintext phase)".to_string()),
        (_, None) => Some(format!("(not asked yet: {verb})")),
        (_, Some(v)) if v.is_empty() => Some("(none advertised)".to_string()),
        _ => None,
    };
    let after_placeholder = match (&app.tls, &app.caps.after) {
        (None, _) => Some("(no TLS yet)".to_string()),
        (Some(_), None) => Some(format!("(ask again: {verb})")),
        (Some(_), Some(v)) if v.is_empty() => Some("(none advertised)".to_string()),
        _ => None,
    };
    let rows = compare(app.caps.before.as_deref(), app.caps.after.as_deref());
    let mut left_lines = vec![Line::from(Span::styled("before TLS", theme.label))];
    let mut right_lines = vec![Line::from(Span::styled("after TLS", theme.label))];
    // Placeholders take one row on both sides, so the keyword rows stay aligned.
    if before_placeholder.is_some() || after_placeholder.is_some() {
        let dim = |p: Option<String>| Line::from(Span::styled(p.unwrap_or_default(), theme.dim));
        left_lines.push(dim(before_placeholder));
        right_lines.push(dim(after_placeholder));
    }
    let skip = app.caps_scroll.min(rows.len().saturating_sub(1));
    let cell = |text: &Option<String>, mark: &'static str, style: Style| match text {
        Some(t) => Line::from(vec![
            Span::styled(mark, style),
            Span::styled(t.clone(), style),
        ]),
        None => Line::default(),
    };
    for row in rows.iter().skip(skip) {
        let (lm, ls, rm, rs) = match row.change {
            Change::Same | Change::Unknown => ("  ", theme.server, "  ", theme.server),
            Change::Removed => ("- ", theme.removed, "  ", theme.server),
            Change::Added => ("  ", theme.server, "+ ", theme.added),
            Change::Changed => ("~ ", theme.changed, "~ ", theme.changed),
        };
        left_lines.push(cell(&row.before, lm, ls));
        right_lines.push(cell(&row.after, rm, rs));
    }
    Paragraph::new(left_lines).render(left, buf);
    for y in bar.top()..bar.bottom() {
        buf[(bar.x, y)].set_symbol("│").set_style(theme.border);
    }
    Paragraph::new(right_lines).render(right, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<Capability> {
        list.iter()
            .map(|s| {
                let mut w = s.split(' ');
                Capability {
                    name: w.next().unwrap_or_default().into(),
                    params: w.map(str::to_string).collect(),
                }
            })
            .collect()
    }

    #[test]
    fn rows_align_by_keyword_and_mark_differences() {
        let before = caps(&["PIPELINING", "SIZE 1000", "STARTTLS"]);
        let after = caps(&["PIPELINING", "SIZE 5000", "AUTH PLAIN LOGIN"]);
        let rows = compare(Some(&before), Some(&after));
        let changes: Vec<Change> = rows.iter().map(|r| r.change).collect();
        assert_eq!(
            changes,
            [
                Change::Same,
                Change::Changed,
                Change::Removed,
                Change::Added
            ]
        );
        assert_eq!(rows[3].after.as_deref(), Some("AUTH PLAIN LOGIN"));
        assert!(
            compare(Some(&before), None)
                .iter()
                .all(|r| r.change == Change::Unknown)
        );
    }
}
