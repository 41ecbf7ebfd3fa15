//! The screen: one file per pane, laid out here. Drawing reads `&App` only.
//!
//! Wide (100 columns and 28 rows or more), e.g. 120×40:
//!
//! ```text
//! ┌ Transcript ─────────────────────────────┐┌ TLS ──────────────────────┐
//! │     12 S <- 220 mx.example.com ESMTP    ││ state     TLS 1.3         │
//! │     15 C -> EHLO client.example         ││ verdict   trusted         │
//! │     16 S <- 250-mx.example.com          │└───────────────────────────┘
//! │          ┆ <- 250 STARTTLS              │┌ Chain ────────────────────┐
//! │     40 * ── TLS 1.3 established, ... ───││ # subject   issuer   days │
//! │     52 C ~> EHLO client.example         │└───────────────────────────┘
//! │                                         │┌ Capabilities ─────────────┐
//! │                                         ││ before TLS  │ after TLS   │
//! └─────────────────────────────────────────┘└───────────────────────────┘
//! ┌ Input ──────────────────────────────── plan 3/4: EHLO client.example ┐
//! │> _                                                                   │
//! └ next: AUTH mechanism … ──────────────────────────────────────────────┘
//!  mx.example.com:25 smtp │ TLS 1.3 │ ↑ 64 B ↓ 1.2 KiB │ RTT 12 ms │ rec off
//!  Enter send  F8 step  F7 edit  ^T STARTTLS  Tab complete  Esc panes  F1 help
//! ```
//!
//! The explain pane (and, during a lesson, the lesson pane) sits below the
//! transcript in the wide layout.
//!
//! Narrow or short (80×24): the five panes become tabs above one pane
//! (six during a lesson: its narration, with the transcript's tail, is the
//! first tab and selected);
//! F2 (anywhere) or Tab (pane focus) switches. Overlays (help, certificate
//! detail, confirmation) are drawn last, over everything.

pub mod capabilities;
pub mod chain;
pub mod confirm;
pub mod detail;
pub mod explain;
pub mod help;
pub mod input;
pub mod lesson;
pub mod raw;
pub mod status;
pub mod tls;
pub mod transcript;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Tabs, Widget};

use super::app::{App, Focus, Mode, PaneId};
use super::theme::Theme;

/// Below this width the side panes collapse into tabs.
pub const WIDE_MIN_WIDTH: u16 = 100;

/// Below this height too: the TLS pane alone needs 11 rows.
pub const WIDE_MIN_HEIGHT: u16 = 28;

/// What the run loop needs to know about the frame just drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Rows of transcript visible (the page size for PgUp/PgDn), 0 when hidden.
    pub transcript_rows: usize,
}

/// A pane's border, highlighted when the pane is selected and the panes have focus.
pub(crate) fn pane_block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let style = if focused { theme.focus } else { theme.border };
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(Span::styled(format!(" {title} "), style))
}

/// The centred rectangle of at most `width`×`height` inside `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) -> FrameInfo {
    let area = frame.area();
    let input_height = match app.mode {
        // The replay viewer sends nothing: no input line.
        _ if app.replay.is_some() => 0,
        Mode::DataEditor(_) => (area.height / 2).clamp(3, 14),
        _ => 3,
    };
    let [main, input_area, status_area, footer_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(input_height),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    let panes_focused = app.focus == Focus::Panes;
    let focused = |p: PaneId| panes_focused && app.pane == p;
    let buf = frame.buffer_mut();
    let mut transcript_rows = 0;
    if area.width >= WIDE_MIN_WIDTH && area.height >= WIDE_MIN_HEIGHT {
        let side_width = (area.width * 2 / 5).clamp(40, 64);
        let [left, right] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(side_width)]).areas(main);
        // Transcript above; the lesson narration and the explain pane below it.
        let lesson_rows = if app.teach.lesson.is_some() {
            lesson::HEIGHT
        } else {
            0
        };
        let [left, lesson_area, explain_area] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(lesson_rows),
            Constraint::Length(explain::HEIGHT),
        ])
        .areas(left);
        transcript_rows = transcript::render(app, left, buf, focused(PaneId::Transcript));
        lesson::render(app, lesson_area, buf);
        explain::render(app, explain_area, buf, focused(PaneId::Explain));
        let chain_rows = app
            .chain()
            .map_or(1, |c| c.certs.len() + c.findings.len().min(3));
        let [tls_area, chain_area, caps_area] = Layout::vertical([
            Constraint::Length(tls::HEIGHT),
            Constraint::Length(u16::try_from(chain_rows).unwrap_or(8).clamp(1, 8) + 3),
            Constraint::Min(4),
        ])
        .areas(right);
        tls::render(app, tls_area, buf, focused(PaneId::Tls));
        chain::render(app, chain_area, buf, focused(PaneId::Chain));
        capabilities::render(app, caps_area, buf, focused(PaneId::Capabilities));
    } else {
        let [tabs_area, pane_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(main);
        let shown = PaneId::shown(app.teach.lesson.is_some());
        let titles: Vec<Line> = shown.iter().map(|p| Line::from(p.title())).collect();
        let selected = shown.iter().position(|p| *p == app.pane).unwrap_or(0);
        Tabs::new(titles)
            .select(selected)
            .style(app.theme.dim)
            .highlight_style(app.theme.selected)
            .divider("│")
            .render(tabs_area, buf);
        let f = focused(app.pane);
        match app.pane {
            PaneId::Transcript => transcript_rows = transcript::render(app, pane_area, buf, f),
            PaneId::Lesson => {
                // The narration first, the transcript's tail under it, so a
                // step's effect is seen where the lesson tells of it.
                let [lesson_area, rest] =
                    Layout::vertical([Constraint::Length(lesson::HEIGHT + 1), Constraint::Min(3)])
                        .areas(pane_area);
                lesson::render(app, lesson_area, buf);
                transcript_rows = transcript::render(app, rest, buf, f);
            }
            PaneId::Tls => tls::render(app, pane_area, buf, f),
            PaneId::Chain => chain::render(app, pane_area, buf, f),
            PaneId::Capabilities => capabilities::render(app, pane_area, buf, f),
            PaneId::Explain => {
                let lesson_rows = if app.teach.lesson.is_some() {
                    lesson::HEIGHT
                } else {
                    0
                };
                let [lesson_area, explain_area] =
                    Layout::vertical([Constraint::Length(lesson_rows), Constraint::Min(3)])
                        .areas(pane_area);
                lesson::render(app, lesson_area, buf);
                explain::render(app, explain_area, buf, f);
            }
        }
    }
    let cursor = input::render(app, input_area, buf);
    status::render_status(app, status_area, buf);
    status::render_footer(app, footer_area, buf);

    match &app.mode {
        Mode::Help { scroll } => help::render(app, *scroll, area, buf),
        Mode::CertDetail { index, scroll } => detail::render(app, *index, *scroll, area, buf),
        Mode::Confirm(question) => confirm::render(app, question, area, buf),
        Mode::Normal | Mode::DataEditor(_) => {
            if app.focus == Focus::Input {
                if let Some(pos) = cursor {
                    frame.set_cursor_position(pos);
                }
            }
        }
    }
    FrameInfo { transcript_rows }
}
