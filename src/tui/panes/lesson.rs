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
        Some(step) => step.after.clone(),
        None => lesson.intro.clone(),
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
                lines.push(Line::from(step.before.clone()));
            }
        }
        _ => lines.push(Line::from(Span::styled(lesson.outro.clone(), theme.good))),
    }
    let title = format!(
        "Lesson · {} · step {}/{total}",
        lesson.title,
        (done + 1).min(total)
    );
    Some((title, lines))
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
