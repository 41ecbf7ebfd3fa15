//! The session transcript as the UI keeps it: every [`Entry`] the engine
//! reported plus engine and UI notes, split once into display rows.
//!
//! ```text
//! Event::Data(Entry) --push_entry--> items[] --split on LF--> rows[]
//! renderer: rows(top..top+height)  (never walks the whole transcript)
//! ```
//!
//! Appending costs O(lines in the new item); reading a window of rows costs
//! O(window), so a frame over 100,000 lines costs the same as over 100.

use std::ops::Range;
use std::time::Duration;

use super::{Direction, Entry};
use crate::finding::Finding;

/// What kind of `*` line a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// Plain engine or UI information (connected, saved chain, ...).
    Info,
    /// The TLS separator: the handshake finished, later lines travel inside TLS.
    TlsStarted,
    /// Something the operator should notice (STARTTLS refused, untrusted chain, ...).
    Warning,
    /// A failure that ended a step (timeout, handshake failure, connection lost).
    Error,
}

/// One transcript item: a wire entry or a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A command as sent or a whole response as received.
    Entry(Entry),
    /// A `*` line from the engine or the UI.
    Note {
        at: Duration,
        kind: NoteKind,
        text: String,
    },
    /// A finding: shown as its headline, explained in full in the explain pane.
    Finding {
        at: Duration,
        finding: Box<Finding>,
        /// The headline, escaped: what the row shows.
        text: String,
    },
}

impl Item {
    /// Offset from the start of the session.
    pub fn at(&self) -> Duration {
        match self {
            Item::Entry(e) => e.at,
            Item::Note { at, .. } | Item::Finding { at, .. } => *at,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Item::Entry(e) => &e.raw,
            Item::Note { text, .. } | Item::Finding { text, .. } => text.as_bytes(),
        }
    }
}

/// How a display row ended on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// CRLF, as the protocols require.
    Crlf,
    /// A bare LF (accepted, but flagged: RFC 5321 §2.3.8).
    BareLf,
    /// No line ending (a note, or the last bytes of an entry).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    item: usize,
    start: usize,
    end: usize,
    /// Line number within the item, from 0.
    line: u32,
    first: bool,
    ending: LineEnding,
}

/// One display row: a line of an item, without its line ending.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    pub item: &'a Item,
    /// The line's bytes, line ending excluded; may hold any byte the peer sent.
    pub text: &'a [u8],
    /// True for the first line of its item (time and direction are shown there).
    pub first: bool,
    /// Line number within its item, from 0 (an EHLO keyword's line).
    pub line: usize,
    pub ending: LineEnding,
}

impl RowView<'_> {
    /// Who produced the row; `None` for notes.
    pub fn direction(&self) -> Option<Direction> {
        match self.item {
            Item::Entry(e) => Some(e.direction),
            Item::Note { .. } | Item::Finding { .. } => None,
        }
    }
}

/// Entries and notes in arrival order, with a row index for windowed access.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    items: Vec<Item>,
    rows: Vec<Row>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a wire entry; returns how many display rows it added.
    pub fn push_entry(&mut self, entry: Entry) -> usize {
        self.push(Item::Entry(entry))
    }

    /// Appends a note; returns how many display rows it added.
    pub fn push_note(&mut self, at: Duration, kind: NoteKind, text: impl Into<String>) -> usize {
        self.push(Item::Note {
            at,
            kind,
            text: text.into(),
        })
    }

    /// Appends a finding; returns how many display rows it added.
    pub fn push_finding(&mut self, at: Duration, finding: Finding) -> usize {
        let text = crate::escape::escape_bytes(finding.headline().as_bytes());
        self.push(Item::Finding {
            at,
            finding: Box::new(finding),
            text,
        })
    }

    fn push(&mut self, item: Item) -> usize {
        let index = self.items.len();
        let before = self.rows.len();
        let bytes = item.bytes();
        let mut start = 0;
        while start < bytes.len() {
            let (end, next, ending) = match bytes[start..].iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    let lf = start + lf;
                    if lf > start && bytes[lf - 1] == b'\r' {
                        (lf - 1, lf + 1, LineEnding::Crlf)
                    } else {
                        (lf, lf + 1, LineEnding::BareLf)
                    }
                }
                None => (bytes.len(), bytes.len(), LineEnding::None),
            };
            let line = u32::try_from(self.rows.len() - before).unwrap_or(u32::MAX);
            self.rows.push(Row {
                item: index,
                start,
                end,
                line,
                first: start == 0,
                ending,
            });
            start = next;
        }
        if self.rows.len() == before {
            // An empty entry still gets a row, so it is visible that it happened.
            self.rows.push(Row {
                item: index,
                start: 0,
                end: 0,
                line: 0,
                first: true,
                ending: LineEnding::None,
            });
        }
        self.items.push(item);
        self.rows.len() - before
    }

    /// Drops everything after the first `items` items, which made `rows`
    /// display rows (both as reported by [`Transcript::len_items`] and
    /// [`Transcript::len_rows`] at that time). Used by the replay viewer to
    /// step back without rebuilding the whole transcript.
    pub fn truncate(&mut self, items: usize, rows: usize) {
        self.items.truncate(items);
        self.rows.truncate(rows);
    }

    /// Number of display rows.
    pub fn len_rows(&self) -> usize {
        self.rows.len()
    }

    /// Number of items (entries and notes).
    pub fn len_items(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All items in order (for export; the renderer uses [`Transcript::rows`]).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The display rows in `range`, clamped to what exists.
    pub fn rows(&self, range: Range<usize>) -> impl Iterator<Item = RowView<'_>> {
        let end = range.end.min(self.rows.len());
        let start = range.start.min(end);
        self.rows[start..end].iter().map(|row| {
            let item = &self.items[row.item];
            RowView {
                item,
                text: &item.bytes()[row.start..row.end],
                first: row.first,
                line: row.line as usize,
                ending: row.ending,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(raw: &[u8]) -> Entry {
        Entry {
            at: Duration::from_millis(5),
            direction: Direction::Server,
            raw: raw.to_vec(),
            tls: false,
            note: Default::default(),
        }
    }

    #[test]
    fn multi_line_reply_is_one_item_with_grouped_rows() {
        let mut t = Transcript::new();
        let added = t.push_entry(server(
            b"250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
        ));
        assert_eq!((added, t.len_rows(), t.len_items()), (3, 3, 1));
        let rows: Vec<_> = t.rows(0..10).collect();
        assert_eq!(rows[1].text, b"250-PIPELINING");
        assert!(rows[0].first && !rows[1].first && !rows[2].first);
        assert!(rows.iter().all(|r| r.ending == LineEnding::Crlf));
    }

    #[test]
    fn bare_lf_and_missing_ending_are_flagged() {
        let mut t = Transcript::new();
        t.push_entry(server(b"+OK hi\nrest"));
        let rows: Vec<_> = t.rows(0..2).collect();
        assert_eq!(rows[0].ending, LineEnding::BareLf);
        assert_eq!(
            (rows[1].text, rows[1].ending),
            (&b"rest"[..], LineEnding::None)
        );
    }

    #[test]
    fn window_is_clamped() {
        let mut t = Transcript::new();
        t.push_note(Duration::ZERO, NoteKind::Info, "connected");
        t.push_entry(server(b""));
        assert_eq!(t.rows(1..99).count(), 1);
        assert_eq!(t.rows(5..9).count(), 0);
    }
}
