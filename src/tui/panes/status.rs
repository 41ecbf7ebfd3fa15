//! The status bar and the key-hint footer, one row each.
//!
//! ```text
//!  smtp://mx.example.com:25 │ plaintext │ waiting 31.2 s: greeting (Esc stops) │ ↑ 0 B ↓ 0 B │ RTT - │ rec off [│ keys FILE]
//!  Enter send  F8 step  F7 edit step  ^T STARTTLS  Tab complete  Esc panes  F1 help  ^Q quit
//! ```
//!
//! In the replay viewer the status bar starts with the position and the
//! footer shows the viewer's keys (from the same keymap):
//!
//! ```text
//!  replay 8/30 ❚❚ ×1 │ smtp://mail.example.test:25 │ TLS 1.3 │ ...
//!  p/n event  Space play/pause  Up/Down select line  x raw  Tab pane  ? help  q quit
//! ```
//!
//! The waiting time runs live (greeting delays and tarpits of 30 s and more
//! are common); Esc stops waiting without closing the session.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::tui::app::{App, ConnState, Focus, Mode};
use crate::tui::keymap::{Action, Scope};

/// `512 B`, `1.2 KiB`, `3.4 MiB`.
pub fn bytes_label(n: u64) -> String {
    const KIB: f64 = 1024.0;
    // Precision loss is irrelevant for a one-decimal display.
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else {
        format!("{:.1} MiB", f / KIB / KIB)
    }
}

/// `850 ms` under ten seconds, `31.2 s` above.
pub fn duration_label(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Draws the status bar.
pub fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let sep = || Span::styled(" │ ", theme.dim);
    let state_style = match (app.conn, &app.tls) {
        (ConnState::Closed, _) => theme.error,
        (_, Some(t)) if !t.verdict.trusted => theme.error,
        (_, Some(_)) => theme.tls,
        _ => theme.warning,
    };
    let mut spans = vec![Span::raw(" ")];
    // The replay viewer's position comes first, so it is never cut off.
    if let Some(position) = &app.replay {
        spans.push(Span::styled(position.label(), theme.warning));
        spans.push(sep());
    }
    spans.extend([
        Span::styled(app.target.to_string(), theme.label),
        sep(),
        Span::styled(app.state_label(), state_style),
        sep(),
    ]);
    if let Some((elapsed, what)) = app.waiting() {
        spans.push(Span::styled(
            format!(
                "waiting {}: {what} ({} stops)",
                duration_label(elapsed),
                app.keys.hint(Scope::Input, Action::Escape)
            ),
            theme.warning,
        ));
        spans.push(sep());
    }
    spans.extend([
        Span::raw(format!(
            "↑ {} ↓ {}",
            bytes_label(app.bytes_sent),
            bytes_label(app.bytes_received)
        )),
        sep(),
        Span::raw(format!(
            "RTT {}",
            app.last_rtt.map_or_else(|| "-".to_string(), duration_label)
        )),
        sep(),
    ]);
    spans.push(match &app.recording {
        Some(path) => Span::styled(format!("rec {}", path.display()), theme.warning),
        None => Span::styled("rec off", theme.dim),
    });
    // SSLKEYLOGFILE: whoever reads that file can decrypt the session.
    if let Some(path) = &app.key_log {
        spans.push(sep());
        spans.push(Span::styled(
            format!("keys {}", path.display()),
            theme.warning,
        ));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// One footer entry's key: an action's first bound key, two actions'
/// keys as `Up/Down`, or fixed text for what is not a key binding.
#[derive(Debug, Clone, Copy)]
enum Hint {
    Key(Action),
    Pair(Action, Action),
    Text(&'static str),
}

/// Key hints for the current focus and mode: (key, what, priority); when
/// the row is too narrow the lowest priorities go first. Keys are read from
/// the keymap in force, so a rebound key shows as bound; an unbound action
/// is left out.
pub fn footer_keys(app: &App) -> Vec<(String, &'static str, u8)> {
    use Action as A;
    use Hint::{Key, Pair, Text};
    let spec: &[(Hint, &'static str, u8)] = match (&app.mode, app.focus) {
        (Mode::Normal | Mode::DataEditor(_), _) if app.replay.is_some() => &[
            (Pair(A::ReplayPrev, A::ReplayNext), "event", 9),
            (Key(A::ReplayPlay), "play/pause", 8),
            (Pair(A::ReplayStart, A::ReplayEnd), "start/end", 4),
            (Pair(A::Up, A::Down), "select line", 7),
            (Key(A::ToggleRaw), "raw", 5),
            (Key(A::NextPane), "pane", 6),
            (Key(A::Activate), "cert detail", 3),
            (Key(A::Help), "help", 8),
            (Key(A::Quit), "quit", 9),
        ],
        (Mode::Help { .. }, _) => &[
            (Key(A::Close), "close", 9),
            (Pair(A::Up, A::Down), "scroll", 5),
            (Key(A::Quit), "quit", 8),
        ],
        (Mode::CertDetail { .. }, _) => &[
            (Key(A::Close), "close", 9),
            (Pair(A::PrevPane, A::NextPane), "other certificate", 7),
            (Pair(A::Up, A::Down), "scroll", 5),
            (Key(A::SaveChain), "save chain", 6),
        ],
        (Mode::Confirm(_), _) => &[(Key(A::Confirm), "yes", 9), (Key(A::Cancel), "no", 9)],
        (Mode::DataEditor(_), Focus::Input) => &[
            (Key(A::Submit), "new line", 6),
            (Text("."), "alone ends", 8),
            (Key(A::Done), "end message", 9),
            (Key(A::Escape), "panes", 4),
            (Key(A::Help), "help", 7),
        ],
        (_, Focus::Input) => &[
            (Key(A::Submit), "send", 9),
            (Key(A::Step), "step", 8),
            (Key(A::EditStep), "edit step", 5),
            (Key(A::StartTls), "STARTTLS", 8),
            (Key(A::Complete), "complete", 3),
            (Key(A::Escape), "panes", 4),
            (Key(A::Help), "help", 7),
            (Key(A::Quit), "quit", 6),
        ],
        (_, Focus::Panes) => &[
            (Key(A::Step), "step", 8),
            (Key(A::EditStep), "edit step", 5),
            (Key(A::NextPane), "pane", 6),
            (Key(A::Activate), "detail", 4),
            (Key(A::SaveChain), "save chain", 5),
            (Key(A::FocusInput), "input", 7),
            (Key(A::Help), "help", 7),
            (Key(A::Quit), "quit", 6),
        ],
    };
    let scope = app.scope();
    let viewer = app.replay.is_some() && scope == Scope::Panes;
    let first = |a: Action| {
        let keys = if viewer {
            app.keys.viewer_keys(a)
        } else {
            app.keys.keys(scope, a)
        };
        keys.first().map(|k| k.short_name())
    };
    spec.iter()
        .filter_map(|&(hint, what, priority)| {
            // The replay viewer shows only the keys that work there.
            let works = |a: Action| app.replay.is_none() || a.is_reading();
            let key = match hint {
                Hint::Key(a) | Hint::Pair(a, _) if !works(a) => return None,
                Hint::Key(a) => first(a)?,
                Hint::Pair(a, b) => format!("{}/{}", first(a)?, first(b)?),
                Hint::Text(t) => t.to_string(),
            };
            Some((key, what, priority))
        })
        .collect()
}

/// Draws the footer.
pub fn render_footer(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut keys = footer_keys(app);
    let width = |keys: &[(String, &str, u8)]| {
        1 + keys
            .iter()
            .map(|(k, w, _)| k.chars().count() + w.chars().count() + 3)
            .sum::<usize>()
    };
    while width(&keys) > usize::from(area.width) && !keys.is_empty() {
        let lowest = keys.iter().map(|k| k.2).min().unwrap_or(0);
        if let Some(i) = keys.iter().rposition(|k| k.2 == lowest) {
            keys.remove(i);
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (key, what, _) in keys {
        spans.push(Span::styled(key, theme.label));
        spans.push(Span::styled(format!(" {what}  "), theme.dim));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(bytes_label(512), "512 B");
        assert_eq!(bytes_label(1536), "1.5 KiB");
        assert_eq!(bytes_label(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(duration_label(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration_label(Duration::from_millis(31_240)), "31.2 s");
    }
}
