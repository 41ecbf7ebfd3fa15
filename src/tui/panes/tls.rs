//! The TLS pane: what the handshake negotiated and the verifier's verdict,
//! in the terms `openssl s_client` prints.
//!
//! ```text
//! ┌ TLS ─────────────────────────────────────┐
//! │ state      TLS 1.3 (STARTTLS)            │
//! │ verdict    untrusted: certificate expired│   red when untrusted
//! │ hostname   matches mx.example.com        │
//! │ cipher     TLS13_AES_256_GCM_SHA384      │
//! │ kx group   X25519                        │
//! │ ALPN       none                          │
//! │ SNI        mx.example.com                │
//! │ handshake  full                          │
//! │ OCSP       not stapled                   │
//! └──────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::pane_block;
use crate::protocol::command::starttls_verb;
use crate::session::TlsFailed;
use crate::target::TlsMode;
use crate::tls::Verdict;
use crate::tui::app::{App, ConnState, tls_version_label};
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;

/// Rows the pane needs in the wide layout (nine fields and the border).
pub const HEIGHT: u16 = 11;

/// The key that sends STARTTLS/STLS, as bound.
fn starttls_key(app: &App) -> String {
    app.keys.hint(Scope::Input, Action::StartTls)
}

fn field<'a>(
    label: impl Into<std::borrow::Cow<'a, str>>,
    value: String,
    style: Style,
    theme: &Theme,
) -> Line<'a> {
    let label = label.into();
    // Values can carry server text (certificate names in a verdict's
    // detail, SNI/ALPN echoes): escaped here, once, for every field.
    Line::from(vec![
        Span::styled(format!("{label:<10} "), theme.label),
        Span::styled(crate::escape::escape_bytes(value.as_bytes()), style),
    ])
}

/// The pane's lines, also used by tests.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let theme = &app.theme;
    if let (None, Some(failed)) = (&app.tls, &app.tls_failed) {
        return failed_lines(app, failed);
    }
    let Some(tls) = &app.tls else {
        let verb = starttls_verb(app.protocol()).to_string();
        let verb = verb.as_str();
        let state = match app.conn {
            ConnState::Connecting => "connecting".to_string(),
            ConnState::Closed => "closed, never upgraded".to_string(),
            ConnState::Connected => "plaintext".to_string(),
        };
        let offer = match app.current_caps() {
            // Implicit TLS (smtps, imaps, pop3s) has no STARTTLS: the
            // handshake comes first, so a plaintext state means it never ran.
            _ if app.target.tls == TlsMode::Implicit => {
                "not used: implicit TLS, the handshake comes first".to_string()
            }
            // The replay viewer sends nothing: no key to offer.
            None if app.replay.is_some() => "not known yet: not asked so far".to_string(),
            None => format!(
                "not known yet: {} asks the capabilities, then upgrades",
                starttls_key(app)
            ),
            Some(caps) if caps.iter().any(|c| c.name == verb) => {
                format!("advertised: {} upgrades", starttls_key(app))
            }
            Some(_) => format!("NOT advertised ({} asks first)", starttls_key(app)),
        };
        return vec![
            field("state", state, theme.warning, theme),
            field(verb.to_string(), offer, theme.server, theme),
            Line::from(Span::styled(
                "Everything sent now can be read and altered on the way.",
                theme.dim,
            )),
        ];
    };
    let s = &tls.summary;
    let v = &tls.verdict;
    let how = match app.target.tls {
        TlsMode::Implicit => "implicit TLS".to_string(),
        TlsMode::Starttls => starttls_verb(app.protocol()).to_string(),
    };
    let (verdict, verdict_style) = verdict_text(v, theme);
    let (hostname, hostname_style) = hostname_text(v, theme);
    let plain = theme.server;
    vec![
        field(
            "state",
            format!("{} ({how})", tls_version_label(&s.version)),
            if v.trusted { theme.tls } else { theme.error },
            theme,
        ),
        field("verdict", verdict, verdict_style, theme),
        field(
            "why",
            v.detail
                .clone()
                .unwrap_or_else(|| "chain leads to a trusted root".into()),
            verdict_style,
            theme,
        ),
        field("hostname", hostname, hostname_style, theme),
        field("cipher", s.cipher_suite.clone(), plain, theme),
        field(
            "kx group",
            s.kx_group.clone().unwrap_or_else(|| "unknown".into()),
            plain,
            theme,
        ),
        field(
            "ALPN",
            s.alpn.clone().unwrap_or_else(|| "none".into()),
            plain,
            theme,
        ),
        field(
            "SNI",
            s.sni.clone().unwrap_or_else(|| "none sent".into()),
            plain,
            theme,
        ),
        field(
            "handshake",
            if s.resumed { "resumed" } else { "full" }.into(),
            plain,
            theme,
        ),
        field(
            "OCSP",
            if s.ocsp_stapled {
                "stapled"
            } else {
                "not stapled"
            }
            .into(),
            plain,
            theme,
        ),
    ]
}

/// i9: the handshake failed after the server sent its chain (`--strict`
/// aborted it, or the server sent an alert): the verdict on that chain in
/// words, and why the handshake ended; never an empty pane.
fn failed_lines(app: &App, failed: &TlsFailed) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let how = match app.target.tls {
        TlsMode::Implicit => "implicit TLS".to_string(),
        TlsMode::Starttls => starttls_verb(app.protocol()).to_string(),
    };
    let mut out = vec![field(
        "state",
        format!("handshake FAILED ({how})"),
        theme.error,
        theme,
    )];
    let ended = field("ended", failed.reason.clone(), theme.error, theme);
    match &failed.verdict {
        Some(v) => {
            let (verdict, style) = verdict_text(v, theme);
            out.push(field("verdict", verdict, style, theme));
            out.push(ended);
            let (hostname, hostname_style) = hostname_text(v, theme);
            out.push(field("hostname", hostname, hostname_style, theme));
            out.push(field(
                "why",
                v.detail
                    .clone()
                    .unwrap_or_else(|| "chain leads to a trusted root".into()),
                style,
                theme,
            ));
        }
        None => {
            out.push(field(
                "verdict",
                "none: the handshake ended before the chain was checked".into(),
                theme.warning,
                theme,
            ));
            out.push(ended);
        }
    }
    out
}

fn verdict_text(v: &Verdict, theme: &Theme) -> (String, Style) {
    if v.trusted {
        ("trusted".to_string(), theme.good)
    } else {
        (
            format!(
                "UNTRUSTED: {}",
                v.error.as_ref().map_or("no reason given", |c| c.as_str())
            ),
            theme.error,
        )
    }
}

fn hostname_text(v: &Verdict, theme: &Theme) -> (String, Style) {
    if v.hostname_match {
        (format!("matches {}", v.name_checked), theme.good)
    } else {
        (format!("does NOT match {}", v.name_checked), theme.error)
    }
}

/// Draws the pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let block = pane_block("TLS", focused, &app.theme);
    Paragraph::new(lines(app))
        .wrap(Wrap { trim: false })
        .block(block)
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_are_escaped() {
        let theme = Theme::colour();
        let line = field(
            "why",
            "name \u{1b}[31mevil\u{202e} not matched".into(),
            theme.error,
            &theme,
        );
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.contains("\\x1b[31mevil"), "{text}");
    }
}
