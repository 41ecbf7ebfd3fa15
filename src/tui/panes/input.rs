//! The input line (or, after `354`, the DATA message editor), with the
//! plan position on top and the suggested next step below.
//!
//! ```text
//! ┌ Input · sent as typed + CRLF ──────── plan 1/4: EHLO client.example [F8] ┐
//! │> EHLO client.example_                                                     │
//! └ next: STARTTLS (Ctrl-T) ──────────────────────────────────────────────────┘
//!
//! ┌ Message (DATA) · a lone . or Ctrl-D ends · dot-stuffing applied ─────────┐
//! │  Subject: test                                                            │
//! │  .leading dot                                                             │
//! │> _                                                                        │
//! └───────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Credentials are masked while typed (PASS, LOGIN, AUTH initial responses,
//! SASL responses), as they are in the transcript.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::pane_block;
use crate::target::Protocol;
use crate::tui::app::{App, Focus, Mode};
use crate::tui::keymap::{Action, Scope};

/// Draws the input area; returns where the terminal cursor belongs.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let theme = &app.theme;
    let focused = app.focus == Focus::Input;
    let editor = match &app.mode {
        Mode::DataEditor(e) => Some(e),
        _ => None,
    };
    let key = |a| app.keys.hint(Scope::Input, a);
    let title = match (editor, app.protocol()) {
        (Some(_), _) => format!(
            "Message (DATA) · a lone . or {} ends · dot-stuffing applied",
            key(Action::Done)
        ),
        (None, Protocol::Imap) => "Input · sent as typed + CRLF, tag added".to_string(),
        (None, _) => "Input · sent as typed + CRLF".to_string(),
    };
    let mut block = pane_block(&title, focused, theme);
    if editor.is_none() {
        let (done, total) = (app.plan.done(), app.plan.steps().len());
        let plan = match app.plan.next() {
            // A planned credential is masked like a typed one.
            Some(step) => format!(
                " plan {}/{total}: {} [{}] ",
                done + 1,
                crate::protocol::command::redact_typed(app.protocol(), step),
                key(Action::Step)
            ),
            None if total == 0 => " no plan ".to_string(),
            None => format!(" plan {total}/{total} done "),
        };
        block = block.title(Line::from(Span::styled(plan, theme.note)).right_aligned());
        let hint = match (&app.completion_hint, app.suggestion()) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(s)) => Some(format!("next: {s}")),
            (None, None) => None,
        };
        if let Some(hint) = hint {
            block = block.title_bottom(Span::styled(format!(" {hint} "), theme.dim));
        }
    }
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width < 3 || inner.height == 0 {
        return None;
    }

    let shown = app.input_display();
    let width = usize::from(inner.width) - 2;
    // Scroll horizontally so the cursor stays visible.
    let cursor = app.input.cursor();
    let skip = cursor.saturating_sub(width.saturating_sub(1));
    let visible: String = shown.chars().skip(skip).take(width).collect();
    let prompt = Line::from(vec![
        Span::styled("> ", theme.label),
        Span::styled(visible, theme.client),
    ]);

    let mut lines = Vec::new();
    if let Some(editor) = editor {
        let room = usize::from(inner.height).saturating_sub(1);
        let start = editor.lines.len().saturating_sub(room);
        lines.extend(
            editor.lines[start..]
                .iter()
                .map(|l| Line::from(Span::styled(format!("  {l}"), theme.client))),
        );
    }
    let cursor_row = u16::try_from(lines.len()).unwrap_or(0);
    lines.push(prompt);
    Paragraph::new(lines).render(inner, buf);
    let x = inner.x + 2 + u16::try_from(cursor - skip).unwrap_or(0);
    Some(Position::new(
        x.min(inner.right().saturating_sub(1)),
        inner.y + cursor_row,
    ))
}
