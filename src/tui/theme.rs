//! Colours and emphasis for every pane, in one place so `NO_COLOR`
//! (<https://no-color.org>) switches them all off: the monochrome theme
//! keeps the meaning with bold, reverse, underline and crossed-out text.

use ratatui::style::{Color, Modifier, Style};

/// Styles used by the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Lines sent by the client (`C`).
    pub client: Style,
    /// Lines received from the server (`S`).
    pub server: Style,
    /// Engine and UI notes (`*`).
    pub note: Style,
    /// Warnings: untrusted chain, STARTTLS refused, bare LF.
    pub warning: Style,
    /// Errors and "untrusted" verdicts.
    pub error: Style,
    /// Positive facts: trusted chain, hostname match.
    pub good: Style,
    /// The TLS separator line and the `~>`/`<~` marks.
    pub tls: Style,
    /// Relative time column and other secondary text.
    pub dim: Style,
    /// Field names in the TLS pane and certificate detail.
    pub label: Style,
    /// Border of the pane that has focus.
    pub focus: Style,
    /// Border of the other panes.
    pub border: Style,
    /// Selected row (chain) and active tab.
    pub selected: Style,
    /// Capabilities only present after the upgrade.
    pub added: Style,
    /// Capabilities gone after the upgrade.
    pub removed: Style,
    /// Capabilities whose parameters changed.
    pub changed: Style,
    /// Escapes standing for bytes the peer sent (`\x1b`).
    pub escaped: Style,
}

impl Theme {
    /// The colour theme.
    pub fn colour() -> Self {
        Self {
            client: Style::new().fg(Color::Cyan),
            server: Style::new().fg(Color::Reset),
            note: Style::new().fg(Color::Yellow),
            warning: Style::new()
                .fg(Color::LightYellow)
                .add_modifier(Modifier::BOLD),
            error: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            good: Style::new().fg(Color::LightGreen),
            tls: Style::new().fg(Color::LightGreen),
            dim: Style::new().fg(Color::DarkGray),
            label: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            focus: Style::new()
                .fg(Color::LightCyan)
                .add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::Gray),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            added: Style::new()
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD),
            removed: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::CROSSED_OUT),
            changed: Style::new().fg(Color::LightYellow),
            escaped: Style::new().fg(Color::Magenta),
        }
    }

    /// The monochrome theme for `NO_COLOR`: emphasis only, no colour.
    pub fn monochrome() -> Self {
        let plain = Style::new();
        Self {
            client: plain.add_modifier(Modifier::BOLD),
            server: plain,
            note: plain.add_modifier(Modifier::ITALIC),
            warning: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            error: plain.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            good: plain,
            tls: plain.add_modifier(Modifier::BOLD),
            dim: plain,
            label: plain.add_modifier(Modifier::BOLD),
            focus: plain.add_modifier(Modifier::BOLD),
            border: plain,
            selected: plain.add_modifier(Modifier::REVERSED),
            added: plain.add_modifier(Modifier::BOLD),
            removed: plain.add_modifier(Modifier::CROSSED_OUT),
            changed: plain.add_modifier(Modifier::UNDERLINED),
            escaped: plain.add_modifier(Modifier::UNDERLINED),
        }
    }

    /// Monochrome when `no_color` holds a non-empty value, as no-color.org asks.
    pub fn for_no_color(no_color: Option<&str>) -> Self {
        match no_color {
            Some(v) if !v.is_empty() => Self::monochrome(),
            _ => Self::colour(),
        }
    }

    /// Reads `NO_COLOR` from the environment.
    pub fn from_env() -> Self {
        Self::for_no_color(std::env::var("NO_COLOR").ok().as_deref())
    }
}

impl Default for Theme {
    fn default() -> Self {
        Self::colour()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_only_when_set_and_non_empty() {
        assert_eq!(Theme::for_no_color(None), Theme::colour());
        assert_eq!(Theme::for_no_color(Some("")), Theme::colour());
        let mono = Theme::for_no_color(Some("1"));
        assert_eq!(mono, Theme::monochrome());
        for style in [mono.client, mono.error, mono.added, mono.tls] {
            assert_eq!((style.fg, style.bg), (None, None));
        }
    }
}
