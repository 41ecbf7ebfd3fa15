//! Colours and emphasis for every pane, in one place so `NO_COLOR`
//! (<https://no-color.org>) switches them all off: the monochrome theme
//! keeps the meaning with bold, reverse, underline and crossed-out text.
//!
//! Built-in themes: `dark` (the default), `light`, `high-contrast` and
//! `monochrome`. The config file's `[theme]` picks one by `name` and may
//! restyle any field with a style spec ([`parse_style`]):
//!
//! ```text
//! [theme]
//! name = "light"
//! error = "bold white on #c00000"
//! ```
//!
//! `NO_COLOR` wins over the file: the monochrome theme is used whatever it says.

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

/// Names of the built-in themes, for `[theme] name` and `--theme`.
pub const NAMES: &[&str] = &["dark", "light", "high-contrast", "monochrome"];

/// The fields a `[theme]` table may restyle, as named there.
pub const FIELDS: &[&str] = &[
    "client", "server", "note", "warning", "error", "good", "tls", "dim", "label", "focus",
    "border", "selected", "added", "removed", "changed", "escaped",
];

/// Parses a style spec: space-separated words, each a modifier (`bold`,
/// `dim`, `italic`, `underlined`, `reversed`, `crossed-out`), a foreground
/// colour, or `on` followed by a background colour. Colours are names
/// (`red`, `light-blue`, `dark-gray`, `reset`), `#rrggbb`, or a 256-colour
/// index (`208`). Example: `bold white on #c00000`.
///
/// # Errors
/// A message naming the word that is neither a colour nor a modifier.
pub fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::new();
    let mut words = spec.split_whitespace();
    let colour = |w: &str| {
        w.parse::<Color>().map_err(|_| {
            format!(
                "{w:?} in style {spec:?} is neither a colour (a name such as light-red, #rrggbb, or 0-255) nor a modifier (bold, dim, italic, underlined, reversed, crossed-out)"
            )
        })
    };
    while let Some(word) = words.next() {
        let modifier = match word.to_ascii_lowercase().as_str() {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underlined" | "underline" => Some(Modifier::UNDERLINED),
            "reversed" | "reverse" => Some(Modifier::REVERSED),
            "crossed-out" | "crossed_out" | "strikethrough" => Some(Modifier::CROSSED_OUT),
            "on" => {
                let bg = words
                    .next()
                    .ok_or_else(|| format!("style {spec:?}: `on` needs a background colour"))?;
                style = style.bg(colour(bg)?);
                None
            }
            _ => {
                style = style.fg(colour(word)?);
                None
            }
        };
        if let Some(m) = modifier {
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

impl Theme {
    /// The built-in theme called `name` (see [`NAMES`]).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "dark" => Some(Self::colour()),
            "light" => Some(Self::light()),
            "high-contrast" => Some(Self::high_contrast()),
            "monochrome" => Some(Self::monochrome()),
            _ => None,
        }
    }

    /// Replaces the style of `field` (one of [`FIELDS`]).
    ///
    /// # Errors
    /// `field` is not one of [`FIELDS`].
    pub fn set(&mut self, field: &str, style: Style) -> Result<(), String> {
        let slot = match field {
            "client" => &mut self.client,
            "server" => &mut self.server,
            "note" => &mut self.note,
            "warning" => &mut self.warning,
            "error" => &mut self.error,
            "good" => &mut self.good,
            "tls" => &mut self.tls,
            "dim" => &mut self.dim,
            "label" => &mut self.label,
            "focus" => &mut self.focus,
            "border" => &mut self.border,
            "selected" => &mut self.selected,
            "added" => &mut self.added,
            "removed" => &mut self.removed,
            "changed" => &mut self.changed,
            "escaped" => &mut self.escaped,
            other => {
                return Err(format!(
                    "unknown theme field {other:?}; expected name or one of {}",
                    FIELDS.join(", ")
                ));
            }
        };
        *slot = style;
        Ok(())
    }

    /// For terminals with a light background: no yellow or light grey text,
    /// which fade on white.
    pub fn light() -> Self {
        // 256-colour 130 (dark orange) stands in for yellow, unreadable on white.
        let amber = Color::Indexed(130);
        Self {
            client: Style::new().fg(Color::Blue),
            server: Style::new().fg(Color::Reset),
            note: Style::new().fg(Color::Magenta),
            warning: Style::new().fg(amber).add_modifier(Modifier::BOLD),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            good: Style::new().fg(Color::Green),
            tls: Style::new().fg(Color::Green),
            dim: Style::new().fg(Color::DarkGray),
            label: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            focus: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            added: Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            removed: Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::CROSSED_OUT),
            changed: Style::new().fg(amber),
            escaped: Style::new().fg(Color::Magenta),
        }
    }

    /// Bright colours and bold text, no greys; warnings and errors on a
    /// coloured background so they stand out without relying on hue alone.
    pub fn high_contrast() -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Self {
            client: bold.fg(Color::LightCyan),
            server: Style::new().fg(Color::White),
            note: Style::new().fg(Color::LightYellow),
            warning: bold.fg(Color::Black).bg(Color::LightYellow),
            error: bold.fg(Color::White).bg(Color::Red),
            good: bold.fg(Color::LightGreen),
            tls: bold.fg(Color::LightGreen),
            dim: Style::new().fg(Color::White),
            label: bold.fg(Color::LightYellow),
            focus: bold.fg(Color::LightYellow),
            border: Style::new().fg(Color::White),
            selected: bold.add_modifier(Modifier::REVERSED),
            added: bold.fg(Color::LightGreen),
            removed: bold.fg(Color::LightRed).add_modifier(Modifier::CROSSED_OUT),
            changed: bold.fg(Color::LightYellow),
            escaped: bold.fg(Color::Black).bg(Color::LightMagenta),
        }
    }

    /// The colour theme (`dark`, the default).
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
    fn style_specs_parse_names_hex_and_modifiers() {
        assert_eq!(
            parse_style("bold white on #c00000").unwrap(),
            Style::new()
                .fg(Color::White)
                .bg(Color::Rgb(0xc0, 0, 0))
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(
            parse_style("light-blue underlined").unwrap(),
            Style::new()
                .fg(Color::LightBlue)
                .add_modifier(Modifier::UNDERLINED)
        );
        assert_eq!(
            parse_style("208").unwrap(),
            Style::new().fg(Color::Indexed(208))
        );
        let err = parse_style("bold chartreuse").unwrap_err();
        assert!(err.contains("\"chartreuse\""), "{err}");
        assert!(parse_style("red on").is_err());
    }

    #[test]
    fn every_name_and_field_is_known() {
        for name in NAMES {
            assert!(Theme::named(name).is_some(), "{name}");
        }
        assert!(Theme::named("solarized").is_none());
        let mut t = Theme::light();
        for field in FIELDS {
            t.set(field, Style::new().fg(Color::Red)).unwrap();
        }
        assert_eq!(t.client.fg, Some(Color::Red));
        assert_eq!(t.escaped.fg, Some(Color::Red));
        assert!(t.set("background", Style::new()).is_err());
        // Light: nothing yellow or light grey (unreadable on white).
        let light = Theme::light();
        for style in [light.note, light.warning, light.changed, light.dim] {
            assert!(
                !matches!(
                    style.fg,
                    Some(Color::Yellow | Color::LightYellow | Color::Gray)
                ),
                "{style:?}"
            );
        }
    }

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
