//! The lesson pane: narration of a `--lesson` run, above the explain pane.
//! The lesson's steps are the plan, so the plan's position is the lesson's.
//!
//! ```text
//! ┌ Lesson · SMTP: upgrading to TLS with STARTTLS · step 2/4 ────────────┐
//! │ The 250 reply lists one extension per line. Look for STARTTLS: ...   │
//! │ next (F8): STARTTLS                                                  │
//! │ Now upgrade: STARTTLS asks the server to start a TLS handshake ...   │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::pane_block;
use crate::tui::app::App;
use crate::tui::keymap::{Action, Scope};

/// Rows the pane takes in the wide layout (border included).
pub const HEIGHT: u16 = 7;

/// The pane's title and lines; `None` without a lesson.
pub fn content(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    let lesson = app.teach.lesson.as_ref()?;
    let theme = &app.theme;
    let done = app.plan.done();
    let total = lesson.steps.len();
    let mut lines = Vec::new();
    let said = match done.checked_sub(1).and_then(|i| lesson.steps.get(i)) {
        Some(step) => narrate(app, &step.after),
        None => narrate(app, &lesson.intro),
    };
    if !said.trim().is_empty() {
        lines.push(Line::from(Span::styled(said, theme.note)));
    }
    match (lesson.steps.get(done), app.plan.next()) {
        (Some(step), Some(command)) => {
            // An auth step's line holds the demo password: masked like the transcript.
            let shown = crate::protocol::command::redact_typed(app.protocol(), command);
            lines.push(Line::from(vec![
                Span::styled(
                    format!("next ({}): ", app.keys.hint(Scope::Input, Action::Step)),
                    theme.label,
                ),
                Span::styled(shown, theme.client),
            ]));
            if !step.before.trim().is_empty() {
                lines.push(Line::from(narrate(app, &step.before)));
            }
        }
        _ => lines.push(Line::from(Span::styled(
            narrate(app, &lesson.outro),
            theme.good,
        ))),
    }
    let title = format!(
        "Lesson · {} · step {}/{total}",
        lesson.title,
        (done + 1).min(total)
    );
    Some((title, lines))
}

/// A lesson's text with each `{key:ACTION}` (an action's config name, as in
/// the `[keys]` table) replaced by its key as bound (i15: a rebound key
/// reads right): the input line's binding, else the panes' one. Unknown
/// names stay as written.
pub fn narrate(app: &App, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{key:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match Action::from_name(&after[..end]) {
            Some(action) => {
                let mut key = app.keys.hint(Scope::Input, action);
                if app.keys.keys(Scope::Input, action).is_empty() {
                    key = app.keys.hint(Scope::Panes, action);
                }
                out.push_str(&key);
            }
            None => out.push_str(&rest[start..start + 5 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Draws the pane; nothing without a lesson.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if let Some((title, lines)) = content(app) {
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(&title, false, &app.theme))
            .render(area, buf);
    }
}
