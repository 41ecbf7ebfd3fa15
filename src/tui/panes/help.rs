//! The help overlay (F1, or `?` with pane focus): every key, drawn from the
//! keymap in force (built in or rebound in the config file), so it cannot
//! drift from what is bound.
//!
//! ```text
//! ┌ Help · Esc closes ─────────────────────────────────────────────┐
//! │ Everywhere                                                     │
//! │   F1             help: this list of keys                       │
//! │   F8             send the next command of the plan             │
//! │   ...                                                          │
//! │ Input line (default focus)                                     │
//! │   any key        typed into the line: no letter is a shortcut │
//! │   Enter          send the line as typed, CRLF added            │
//! └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! In the replay viewer it lists the viewer's own keys (the `replay`
//! scope) and only the reading keys of the others.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{centered, pane_block};
use crate::tui::app::App;
use crate::tui::keymap::{Action, Scope};

/// The overlay's lines for some scopes: keys with the same meaning share a row.
pub fn lines(app: &App, scopes: &[Scope]) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut out = Vec::new();
    for &scope in scopes {
        if !out.is_empty() {
            out.push(Line::default());
        }
        out.push(Line::from(Span::styled(scope.title(), theme.label)));
        let mut rows: Vec<(Vec<String>, &'static str)> = Vec::new();
        if scope == Scope::Input {
            rows.push((
                vec!["any key".into()],
                "typed as is: no letter is a shortcut",
            ));
        }
        if scope == Scope::Global {
            rows.push((vec!["mouse wheel".into()], "scroll the transcript"));
        }
        // The replay viewer lists only the keys that work there.
        let viewer = app.replay.is_some();
        for b in app
            .keys
            .bindings(scope)
            .filter(|b| !viewer || b.action.is_reading())
            // A key the viewer takes for itself does not do the rest.
            .filter(|b| {
                !viewer
                    || scope == Scope::Replay
                    || !matches!(scope, Scope::Global | Scope::Panes)
                    || !app.keys.bindings(Scope::Replay).any(|r| r.key == b.key)
            })
        {
            match rows.iter_mut().find(|(_, help)| *help == b.help) {
                Some((keys, _)) => keys.push(b.key.name()),
                None => rows.push((vec![b.key.name()], b.help)),
            }
        }
        for (keys, help) in rows {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<17}", keys.join(", ")), theme.client),
                Span::raw(help),
            ]));
        }
    }
    out
}

const LEFT: &[Scope] = &[Scope::Global, Scope::Input];
const RIGHT: &[Scope] = &[Scope::Panes, Scope::CertDetail, Scope::Help, Scope::Confirm];
/// The replay viewer's columns: its own keys first; no input line there.
const VIEWER_LEFT: &[Scope] = &[Scope::Replay, Scope::Global];
const VIEWER_RIGHT: &[Scope] = &[Scope::Panes, Scope::CertDetail, Scope::Help];

/// Draws the overlay, scrolled by `scroll` rows: two columns when wide.
pub fn render(app: &App, scroll: u16, area: Rect, buf: &mut Buffer) {
    let popup = centered(area, 118, area.height.saturating_sub(2));
    Clear.render(popup, buf);
    let keys = |a| app.keys.hint(Scope::Help, a);
    let title = format!(
        "Help · {} closes · {}/{} scroll",
        keys(Action::Close),
        keys(Action::Up),
        keys(Action::Down)
    );
    let block = pane_block(&title, true, &app.theme);
    let inner = block.inner(popup);
    block.render(popup, buf);
    let (left_scopes, right_scopes) = if app.replay.is_some() {
        (VIEWER_LEFT, VIEWER_RIGHT)
    } else {
        (LEFT, RIGHT)
    };
    let columns: Vec<(Vec<Line>, Rect)> = if inner.width >= 100 {
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        vec![
            (lines(app, left_scopes), left),
            (lines(app, right_scopes), right),
        ]
    } else {
        vec![(lines(app, &[left_scopes, right_scopes].concat()), inner)]
    };
    for (lines, rect) in columns {
        let len = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        let max = len.saturating_sub(rect.height);
        Paragraph::new(lines)
            .scroll((scroll.min(max), 0))
            .render(rect, buf);
    }
}
