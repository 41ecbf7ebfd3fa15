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
//! Long lines: a line wider than the pane ends in `»`; Alt-Right / Alt-Left
//! (`>` / `<` in pane focus; the keys are the keymap's) scroll the text
//! while the time and direction columns stay, and `«` marks text scrolled
//! out on the left. The explain pane shows the selected line whole.
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
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// Width of the time column (milliseconds since the session started).
const TIME_WIDTH: usize = 7;

/// Draws the pane; returns how many transcript rows fit.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) -> usize {
    let theme = &app.theme;
    let total = app.transcript.len_rows();
    let end = app
        .keys
        .hint(crate::tui::keymap::Scope::Input, Action::Bottom);
    let mut position = match (app.teach.cursor, app.scroll_back) {
        (None, 0) => format!(" {total} lines · following "),
        (Some(c), _) => format!(" {total} lines · line {} selected ({end} follows) ", c + 1),
        (None, back) => format!(" {total} lines · {back} back ({end} follows) "),
    };
    if app.h_scroll > 0 {
        position = format!(" → {} cols ·{position}", app.h_scroll);
    }
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
            let line = row_line(&row, theme, app.h_scroll + width + 1);
            let line = clip(line, PREFIX, app.h_scroll, width, theme);
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

/// Columns before a row's text: time, mark and direction (`     12 S <- `).
const PREFIX: usize = TIME_WIDTH + 6;

/// The row as it fits `width` columns, its text scrolled by `skip`: the
/// first `prefix` columns stay; `«` marks text hidden on the left, `»` on the right.
pub fn clip<'a>(
    line: Line<'a>,
    prefix: usize,
    skip: usize,
    width: usize,
    theme: &Theme,
) -> Line<'a> {
    // One (char, style) per column, then regrouped into spans.
    let mut cells: Vec<(char, Style)> = Vec::with_capacity(width);
    let mut skipped = 0usize;
    let mut cut = false;
    'spans: for span in &line.spans {
        for c in span.content.chars() {
            if cells.len() < prefix {
                cells.push((c, span.style));
            } else if skipped < skip {
                skipped += 1;
            } else if cells.len() < width {
                cells.push((c, span.style));
            } else {
                // A separator's rule running on is no hidden text.
                cut = c != '─';
                break 'spans;
            }
        }
    }
    if cut && let Some(last) = cells.last_mut().filter(|_| width > prefix + 1) {
        *last = ('»', theme.warning);
    }
    if skipped > 0
        && let Some(first) = cells.get_mut(prefix)
    {
        *first = ('«', theme.warning);
    }
    let mut spans: Vec<Span<'a>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for (c, s) in cells {
        if style.is_some_and(|x| x != s) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
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
