//! A yes/no question over the screen, e.g. STARTTLS when it was not
//! advertised, or credentials over plaintext. The answer keys come from
//! the keymap; by default only `y` says yes and Enter says no, so the Enter
//! that ended the password field cannot send it by a second press.
//!
//! ```text
//! ┌ STARTTLS not advertised ────────────────────────────┐
//! │ the server did not advertise STARTTLS               │
//! │ Send it anyway? (testing servers means breaking     │
//! │ rules on purpose)                                   │
//! │                      y: yes    Enter / n / Esc: no  │
//! └─────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::{centered, pane_block};
use crate::protocol::command::starttls_verb;
use crate::tui::app::{App, Confirm};
use crate::tui::keymap::{Action, Key, Scope};

/// Draws the question.
pub fn render(app: &App, question: &Confirm, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let verb = starttls_verb(app.protocol());
    let names = |a| {
        app.keys
            .keys(Scope::Confirm, a)
            .iter()
            .map(Key::name)
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let answers = format!(
        "{}: yes    {}: no",
        names(Action::Confirm),
        names(Action::Cancel)
    );
    let (title, lines) = match question {
        Confirm::StartTlsNotAdvertised { reason } => (
            format!("{verb} not advertised"),
            vec![
                Line::from(Span::styled(reason.clone(), theme.warning)),
                Line::from(format!(
                    "Send {verb} anyway? (testing servers means breaking rules on purpose)"
                )),
                Line::default(),
                Line::from(Span::styled(answers.clone(), theme.label)).right_aligned(),
            ],
        ),
        Confirm::StartTlsRefused { reason } => (
            format!("{verb} refused"),
            vec![
                Line::from(Span::styled(reason.clone(), theme.warning)),
                Line::from(format!(
                    "Send {verb} again? (4xx is temporary; otherwise the session stays in plaintext)"
                )),
                Line::default(),
                Line::from(Span::styled(answers.clone(), theme.label)).right_aligned(),
            ],
        ),
        Confirm::InsecureCredentials { reason } => (
            "Send credentials?".to_string(),
            vec![
                Line::from(Span::styled(reason.clone(), theme.warning)),
                Line::from("Send them anyway? (the default is no)"),
                Line::default(),
                Line::from(Span::styled(answers, theme.label)).right_aligned(),
            ],
        ),
    };
    let popup = centered(area, 64, 9);
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(pane_block(&title, true, theme))
        .render(popup, buf);
}
