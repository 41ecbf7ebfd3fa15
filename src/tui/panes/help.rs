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
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{centered, pane_block};
use crate::tui::app::App;
use crate::tui::keymap::{Action, Scope};

/// Columns of the key column.
const KEY_WIDTH: usize = 17;

/// `text` broken into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let last = out.last_mut().map_or(0, |l| l.chars().count());
        if last > 0 && last + 1 + word.chars().count() > width {
            out.push(String::new());
        }
        if let Some(line) = out.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out
}

/// The overlay's lines for some scopes, `width` columns wide: keys with
/// the same meaning share a row; a long meaning wraps under itself.
pub fn lines(app: &App, scopes: &[Scope], width: usize) -> Vec<Line<'static>> {
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
            let keys = keys.join(", ");
            let mut first = true;
            if keys.chars().count() > KEY_WIDTH - 1 {
                out.push(Line::from(Span::styled(format!("  {keys}"), theme.client)));
                first = false;
            }
            for part in wrap(help, width.saturating_sub(KEY_WIDTH + 2)) {
                let key = if first { keys.as_str() } else { "" };
                first = false;
                out.push(Line::from(vec![
                    Span::styled(format!("  {key:<KEY_WIDTH$}"), theme.client),
                    Span::raw(part),
                ]));
            }
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
    let inner = Block::bordered().inner(popup);
    let (left_scopes, right_scopes) = if app.replay.is_some() {
        (VIEWER_LEFT, VIEWER_RIGHT)
    } else {
        (LEFT, RIGHT)
    };
    let columns: Vec<(Vec<Line>, Rect)> = if inner.width >= 100 {
        let [left, gap, right] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        let _ = gap;
        vec![
            (lines(app, left_scopes, usize::from(left.width)), left),
            (lines(app, right_scopes, usize::from(right.width)), right),
        ]
    } else {
        let all = [left_scopes, right_scopes].concat();
        vec![(lines(app, &all, usize::from(inner.width)), inner)]
    };
    // How far the longest column scrolls; the title says what is below.
    let max = columns
        .iter()
        .map(|(l, r)| {
            u16::try_from(l.len())
                .unwrap_or(u16::MAX)
                .saturating_sub(r.height)
        })
        .max()
        .unwrap_or(0);
    let scroll = scroll.min(max);
    let more = if scroll < max {
        format!(" · more below: {}", keys(Action::Down))
    } else if max > 0 {
        " · end".to_string()
    } else {
        String::new()
    };
    let title = format!(
        "Help · {} closes · {}/{} scroll{more}",
        keys(Action::Close),
        keys(Action::Up),
        keys(Action::Down)
    );
    let block = pane_block(&title, true, &app.theme);
    block.render(popup, buf);
    for (lines, rect) in columns {
        Paragraph::new(lines).scroll((scroll, 0)).render(rect, buf);
    }
}
