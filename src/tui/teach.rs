//! Teaching state of the [`App`](super::app::App): the transcript cursor the
//! explain pane follows, the raw wire toggle, the selected TLS item and the
//! running lesson. Plain data, changed only through `App::update`.
//!
//! ```text
//! Up/Down (transcript pane) --> cursor --> panes::explain (explain_server/client)
//! Up/Down (TLS pane) ---------> tls_item -> panes::explain (explain_tls/verdict)
//! x / F6 ---------------------> raw -----> panes::raw (hex + escaped bytes)
//! ```

use super::auth::{AuthPrompt, SaslQueue};
use crate::explain::{self, Explanation};
use crate::lessons::Lesson;
use crate::session::TlsEstablished;

/// What the explain pane shows and where the cursor is.
#[derive(Debug, Clone, Default)]
pub struct Teach {
    /// Selected transcript row; `None` follows the last row.
    pub cursor: Option<usize>,
    /// The raw wire view replaces the explanations.
    pub raw: bool,
    /// Selected item of the TLS pane (see [`tls_items`]).
    pub tls_item: usize,
    /// The lesson being run, if `--lesson` was given.
    pub lesson: Option<Lesson>,
    /// The credential prompt (AUTH PLAIN, LOGIN, USER typed bare), if running.
    pub auth: Option<AuthPrompt>,
    /// AUTH LOGIN responses, each sent when its challenge arrives.
    pub sasl_queue: SaslQueue,
}

impl Teach {
    /// The selected row, clamped to a transcript of `rows` rows.
    pub fn selected_row(&self, rows: usize) -> Option<usize> {
        if rows == 0 {
            return None;
        }
        Some(self.cursor.map_or(rows - 1, |c| c.min(rows - 1)))
    }

    /// Moves the cursor one row up or down; past the last row it follows again.
    pub fn move_cursor(&mut self, rows: usize, up: bool) {
        let Some(current) = self.selected_row(rows) else {
            return;
        };
        self.cursor = if up {
            Some(current.saturating_sub(1))
        } else if current + 1 >= rows {
            None
        } else {
            Some(current + 1)
        };
    }
}

/// The TLS items the explain pane can explain, in the TLS pane's order:
/// version, cipher suite and each part of it, key-exchange group, other
/// handshake facts, then the verdict's error with its usual fix.
pub fn tls_items(tls: &TlsEstablished) -> Vec<Explanation> {
    let mut items = explain::explain_handshake(&tls.summary);
    items.extend(explain::explain_verdict(&tls.verdict));
    items
}
