//! The certificate detail overlay (Enter on the chain pane): every field of
//! the chain report for one certificate, then the chain's findings.
//!
//! ```text
//! ┌ Certificate 1 of 3 · leaf · Left/Right other · Esc close ──────────┐
//! │ subject       CN=mx.example.com                                    │
//! │ issuer        CN=Example Intermediate CA,O=Example                 │
//! │ serial        4A:1F:...                                            │
//! │ not before    2025-01-01T00:00:00Z                                 │
//! │ not after     2025-04-01T00:00:00Z   (89 days left)                │
//! │ key           EC P-256                                             │
//! │ signature     ecdsa-with-SHA256                                    │
//! │ SHA-256       3B:0C:...                                            │
//! │ CA            no                                                   │
//! │ self-signed   no                                                   │
//! │ key usage     Digital Signature                                    │
//! │ ext key usage TLS Web Server Authentication                        │
//! │ SANs          DNS:mx.example.com                                   │
//! │               DNS:mail.example.com                                 │
//! │ AIA           OCSP: http://ocsp.example.com                        │
//! │ findings      warning: ...                                         │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::chain::{days_style, finding_style, role};
use super::{centered, pane_block};
use crate::cert::ChainReport;
use crate::tui::app::App;
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;

fn push_field(
    out: &mut Vec<Line<'static>>,
    label: &'static str,
    values: &[String],
    style: Style,
    theme: &Theme,
) {
    if values.is_empty() {
        out.push(Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.label),
            Span::styled("none", theme.dim),
        ]));
    }
    for (i, value) in values.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.label),
            Span::styled(value.clone(), style),
        ]));
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// The lines for certificate `index` of `chain`.
pub fn lines(chain: &ChainReport, index: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let Some(c) = chain.certs.get(index) else {
        out.push(Line::from("no such certificate"));
        return out;
    };
    let plain = theme.server;
    let one = |s: &str| vec![s.to_string()];
    push_field(&mut out, "subject", &one(&c.subject), plain, theme);
    push_field(&mut out, "issuer", &one(&c.issuer), plain, theme);
    push_field(&mut out, "serial", &one(&c.serial), plain, theme);
    push_field(&mut out, "not before", &one(&c.not_before), plain, theme);
    let days = if c.days_left < 0 {
        format!("{}   (expired {} days ago)", c.not_after, -c.days_left)
    } else {
        format!("{}   ({} days left)", c.not_after, c.days_left)
    };
    push_field(
        &mut out,
        "not after",
        &[days],
        days_style(c.days_left, theme),
        theme,
    );
    push_field(&mut out, "key", &one(&c.key), plain, theme);
    push_field(
        &mut out,
        "signature",
        &one(&c.signature_algorithm),
        plain,
        theme,
    );
    push_field(&mut out, "SHA-256", &one(&c.sha256), plain, theme);
    let ca = match (c.is_ca, c.path_len) {
        (true, Some(n)) => format!("yes, path length {n}"),
        (true, None) => "yes".to_string(),
        (false, _) => "no".to_string(),
    };
    push_field(&mut out, "CA", &[ca], plain, theme);
    push_field(
        &mut out,
        "self-signed",
        &[yes_no(c.self_signed)],
        plain,
        theme,
    );
    push_field(&mut out, "key usage", &c.key_usage, plain, theme);
    push_field(
        &mut out,
        "ext key usage",
        &c.extended_key_usage,
        plain,
        theme,
    );
    push_field(&mut out, "SANs", &c.sans, plain, theme);
    push_field(&mut out, "AIA", &c.aia, plain, theme);
    if chain.findings.is_empty() {
        push_field(&mut out, "findings", &[], plain, theme);
    }
    for (i, f) in chain.findings.iter().enumerate() {
        let label = if i == 0 { "findings" } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.label),
            Span::styled(
                format!(
                    "{}: {}",
                    f.id,
                    crate::escape::escape_bytes(f.summary.as_bytes())
                ),
                finding_style(f, theme),
            ),
        ]));
    }
    out
}

/// Draws the overlay for certificate `index`, scrolled by `scroll` rows.
pub fn render(app: &App, index: usize, scroll: u16, area: Rect, buf: &mut Buffer) {
    let Some(chain) = app.chain() else { return };
    let count = chain.certs.len();
    let key = |a| app.keys.hint(Scope::CertDetail, a);
    let title = match chain.certs.get(index) {
        Some(c) => format!(
            "Certificate {} of {count} · {} · {}/{} other · {} close",
            index + 1,
            role(c, count),
            key(Action::PrevPane),
            key(Action::NextPane),
            key(Action::Close),
        ),
        None => "Certificate".to_string(),
    };
    let popup = centered(area, 118, area.height.saturating_sub(2));
    Clear.render(popup, buf);
    Paragraph::new(lines(chain, index, &app.theme))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(pane_block(&title, true, &app.theme))
        .render(popup, buf);
}
