//! The transcript pane: every line on the wire with its time, direction and
//! TLS mark, plus engine notes; only the visible rows are built per frame.
//!
//! ```text
//! ┌ Transcript ──────────────────────────────────── 42 lines · following ┐
//! │      0 *    connected to 192.0.2.25:25 (plaintext)                    │
//! │     48 S <- 220 mx.example.com ESMTP                                  │
//! │     50 C -> EHLO client.example                                       │
//! │     61 S <- 250-mx.example.com                                        │
//! │        ┆ <- 250 STARTTLS                                              │
//! │    140 * ── TLS 1.3 established, TLS13_AES_256_GCM_SHA384, X25519 ────│
//! │    141 C ~> EHLO client.example                                       │
//! │    160 S <~ 250 AUTH PLAIN\x1b[2J                                     │
//! └───────────────────────────────────────────────────────────────────────┘
//!   time ms, C client / S server / * note / ! finding (i: info),
//!   -> <- plaintext, ~> <~ inside TLS
//! ```
//!
//! Bytes from the server never reach the terminal raw: control characters
//! and escape sequences are shown escaped (`\x1b`), so a hostile banner
//! cannot clear the screen, move the cursor or retitle the window.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::pane_block;
use crate::finding::Severity;
use crate::session::Direction;
use crate::session::transcript::{Item, LineEnding, NoteKind, RowView};
use crate::tui::app::{App, Focus};
use crate::tui::theme::Theme;

/// Width of the time column (milliseconds since the session started).
const TIME_WIDTH: usize = 7;

/// Draws the pane; returns how many transcript rows fit.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) -> usize {
    let theme = &app.theme;
    let total = app.transcript.len_rows();
    let position = if app.scroll_back == 0 {
        format!(" {total} lines · following ")
    } else {
        format!(" {total} lines · {} back (End follows) ", app.scroll_back)
    };
    let block =
        pane_block("Transcript", focused, theme).title(Line::from(position).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let height = usize::from(inner.height);
    let width = usize::from(inner.width);
    let range = app.visible_rows(height);
    // The explain cursor: shown once moved, or while the panes have focus.
    let cursor = if app.teach.cursor.is_some() || app.focus == Focus::Panes {
        app.teach.selected_row(total)
    } else {
        None
    };
    let lines: Vec<Line> = app
        .transcript
        .rows(range.clone())
        .zip(range)
        .map(|(row, i)| {
            let line = row_line(&row, theme, width);
            if cursor == Some(i) {
                line.patch_style(theme.selected)
            } else {
                line
            }
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
    height
}

fn direction_style(direction: Direction, theme: &Theme) -> Style {
    match direction {
        Direction::Client => theme.client,
        Direction::Server => theme.server,
    }
}

/// One display row as styled spans, at most `width` characters of payload.
pub fn row_line<'a>(row: &RowView<'_>, theme: &Theme, width: usize) -> Line<'a> {
    let time = if row.first {
        format!("{:>TIME_WIDTH$}", row.item.at().as_millis())
    } else {
        " ".repeat(TIME_WIDTH)
    };
    let mut spans = vec![Span::styled(time, theme.dim), Span::raw(" ")];
    match row.item {
        Item::Entry(entry) => {
            let style = direction_style(entry.direction, theme);
            let (letter, mark) = match (entry.direction, entry.tls) {
                (Direction::Client, false) => ("C", "->"),
                (Direction::Client, true) => ("C", "~>"),
                (Direction::Server, false) => ("S", "<-"),
                (Direction::Server, true) => ("S", "<~"),
            };
            let letter = if row.first { letter } else { "┆" };
            spans.push(Span::styled(letter, style));
            spans.push(Span::raw(" "));
            let mark_style = if entry.tls { theme.tls } else { theme.dim };
            spans.push(Span::styled(mark, mark_style));
            spans.push(Span::raw(" "));
            push_escaped(&mut spans, row.text, style, theme, width);
            if row.ending == LineEnding::BareLf {
                // Not CRLF: visible here, bytes in the raw view (x, F6).
                spans.push(Span::styled(" ¶LF", theme.warning));
            } else if row.ending == LineEnding::None {
                spans.push(Span::styled(" ¶none", theme.warning));
            }
        }
        Item::Finding { finding, .. } => {
            let style = match finding.severity {
                Severity::Info => theme.note,
                Severity::Warning => theme.warning,
                Severity::Error => theme.error,
            };
            let mark = match finding.severity {
                Severity::Info => "i",
                Severity::Warning | Severity::Error => "!",
            };
            spans.push(Span::styled(mark, style));
            spans.push(Span::raw("    "));
            push_escaped(&mut spans, row.text, style, theme, width);
        }
        Item::Note { kind, .. } => {
            let style = match kind {
                NoteKind::Info => theme.note,
                NoteKind::TlsStarted => theme.tls,
                NoteKind::Warning => theme.warning,
                NoteKind::Error => theme.error,
            };
            spans.push(Span::styled("*", style));
            if *kind == NoteKind::TlsStarted {
                let text = crate::escape::escape_prefix(row.text, width);
                let used = TIME_WIDTH + 1 + 1 + 4 + text.chars().count() + 1;
                let tail = "─".repeat(width.saturating_sub(used).max(2));
                spans.push(Span::styled(format!(" ── {text} {tail}"), style));
            } else {
                spans.push(Span::raw("    "));
                push_escaped(&mut spans, row.text, style, theme, width);
            }
        }
    }
    Line::from(spans)
}

fn push_escaped<'a>(
    spans: &mut Vec<Span<'a>>,
    bytes: &[u8],
    style: Style,
    theme: &Theme,
    width: usize,
) {
    for (text, escaped) in crate::escape::segments(bytes, width) {
        spans.push(Span::styled(
            text,
            if escaped { theme.escaped } else { style },
        ));
    }
}
