//! The chain pane: one row per certificate as the server sent it, leaf
//! first, and the chain-level findings; Enter opens the detail.
//!
//! ```text
//! ┌ Chain: 3 certificates · Enter detail · s save ┐
//! │ #  subject CN        issuer CN        days key │
//! │>0  mx.example.com    Example Int CA     89 EC… │
//! │ 1  Example Int CA    Example Root CA  1820 RSA…│
//! │ 2  Example Root CA   Example Root CA  3600 RSA…│
//! │ ! warning: root certificate sent by the server │
//! └────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::pane_block;
use crate::cert::CertSummary;
use crate::finding::{Finding, Severity};
use crate::tui::app::{App, PaneId};
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;

/// The role of a certificate in the chain as sent.
pub fn role(cert: &CertSummary, count: usize) -> &'static str {
    if cert.depth == 0 {
        "leaf"
    } else if cert.self_signed
        || cert.depth + 1 == count && cert.is_ca && cert.subject == cert.issuer
    {
        "root"
    } else {
        "intermediate"
    }
}

/// Style for the days-left column: red once expired, yellow under 14 days.
pub fn days_style(days: i64, theme: &Theme) -> Style {
    if days < 0 {
        theme.error
    } else if days < 14 {
        theme.warning
    } else {
        theme.good
    }
}

/// Style for a finding by severity (`error`, `warning`, `info`).
pub fn finding_style(finding: &Finding, theme: &Theme) -> Style {
    match finding.severity {
        Severity::Error => theme.error,
        Severity::Warning => theme.warning,
        Severity::Info => theme.note,
    }
}

fn or_dash(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

/// Cuts `s` to `width` columns, ending in `…` when cut: a CN clipped
/// silently (`mail.test.exam`) reads like a different, wrong name.
fn fit(s: &str, width: u16) -> String {
    let width = usize::from(width);
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

/// Draws the pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let certs = app.chain();
    let title = match certs {
        Some(c) => format!(
            "Chain: {} certificate{} · {} detail · {} save",
            c.certs.len(),
            if c.certs.len() == 1 { "" } else { "s" },
            app.keys.hint(Scope::Panes, Action::Activate),
            app.keys.hint(Scope::Panes, Action::SaveChain),
        ),
        None => "Chain".to_string(),
    };
    let block = pane_block(&title, focused, theme);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(chain) = certs else {
        Paragraph::new(Span::styled("no certificates yet (plaintext)", theme.dim))
            .render(inner, buf);
        return;
    };
    let findings: Vec<Line> = chain
        .findings
        .iter()
        .map(|f| {
            Line::from(Span::styled(
                format!(
                    "! {}: {}",
                    f.id,
                    crate::escape::escape_bytes(f.summary.as_bytes())
                ),
                finding_style(f, theme),
            ))
        })
        .collect();
    let table_rows = u16::try_from(chain.certs.len() + 1).unwrap_or(u16::MAX);
    let [table_area, findings_area] =
        Layout::vertical([Constraint::Length(table_rows), Constraint::Min(0)]).areas(inner);
    let selected_style = if app.focus == crate::tui::app::Focus::Panes && app.pane == PaneId::Chain
    {
        theme.selected
    } else {
        Style::new()
    };
    let widths = [
        Constraint::Length(2),
        Constraint::Fill(3),
        Constraint::Fill(3),
        Constraint::Length(5),
        Constraint::Length(8),
    ];
    // The same split the table makes, to know where the names get cut.
    let columns = Layout::horizontal(widths).spacing(1).split(table_area);
    let (subject_width, issuer_width) = (columns[1].width, columns[2].width);
    let rows = chain.certs.iter().enumerate().map(|(i, c)| {
        let marker = if i == app.chain_selected { ">" } else { " " };
        let row = Row::new(vec![
            Cell::from(format!("{marker}{}", c.depth)),
            Cell::from(fit(&or_dash(&c.subject_cn), subject_width)),
            Cell::from(fit(&or_dash(&c.issuer_cn), issuer_width)),
            Cell::from(Span::styled(
                format!("{:>5}", c.days_left),
                days_style(c.days_left, theme),
            )),
            Cell::from(c.key.clone()),
        ]);
        if i == app.chain_selected {
            row.style(selected_style)
        } else {
            row
        }
    });
    Table::new(rows, widths)
        .header(Row::new(vec!["#", "subject CN", "issuer CN", " days", "key"]).style(theme.label))
        .column_spacing(1)
        .render(table_area, buf);
    Paragraph::new(findings)
        .wrap(ratatui::widgets::Wrap { trim: true })
        .render(findings_area, buf);
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_marks_a_cut_name() {
        assert_eq!(fit("localhost", 14), "localhost");
        assert_eq!(fit("mail.test.exam", 14), "mail.test.exam");
        assert_eq!(fit("mail.test.example", 14), "mail.test.exa…");
        assert_eq!(fit("abc", 1), "…");
        assert_eq!(fit("abc", 0), "");
    }
}
