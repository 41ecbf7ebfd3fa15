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
//!
//! Memory is capped ([`Cap`]: display rows and bytes). When a push goes over
//! the cap, the oldest items are dropped from memory, a quarter of the cap
//! at a time (so dropping costs O(1) per item, amortised), and a marker row
//! at the top says how much went and where it still is (a recording keeps
//! every byte). A server flooding untagged responses therefore costs a
//! bounded amount of memory however long it goes on.
//!
//! ```text
//! row 0:  * ... 1,250,000 earlier lines (61.2 MiB) dropped from memory ...
//! row 1:  S <- * 1250001 FETCH (FLAGS (\Seen))      (oldest line still held)
//! ```

use std::ops::Range;
use std::time::Duration;

use super::{Direction, Entry, Note};
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

/// How much of a session the transcript keeps in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// Most display rows held. Default 250,000.
    pub lines: usize,
    /// Most bytes held: the items' bytes plus their bookkeeping (see
    /// [`Transcript::memory`]). Default 64 MiB.
    pub bytes: usize,
}

impl Default for Cap {
    fn default() -> Self {
        Cap {
            lines: 250_000,
            bytes: 64 * 1024 * 1024,
        }
    }
}

/// A position in the transcript, counted from the session's start
/// (dropped items included), for [`Transcript::truncate_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    items: u64,
    rows: u64,
}

/// What the cap has dropped from memory so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dropped {
    /// Items (entries and notes) dropped.
    pub items: u64,
    /// Display rows dropped.
    pub rows: u64,
    /// Bytes of those items (their payload, as counted by [`Transcript::memory`]).
    pub bytes: u64,
}

/// Entries and notes in arrival order, with a row index for windowed access,
/// capped in memory.
#[derive(Debug, Clone)]
pub struct Transcript {
    items: Vec<Item>,
    rows: Vec<Row>,
    cap: Option<Cap>,
    /// Bytes held, as [`Transcript::memory`] counts them.
    held: usize,
    dropped: Dropped,
    /// The marker row's note while something was dropped.
    marker: Option<Item>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::with_cap(Some(Cap::default()))
    }
}

impl Transcript {
    /// An empty transcript with the default [`Cap`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty transcript with `cap` (`None`: keep everything).
    pub fn with_cap(cap: Option<Cap>) -> Self {
        Transcript {
            items: Vec::new(),
            rows: Vec::new(),
            cap,
            held: 0,
            dropped: Dropped::default(),
            marker: None,
        }
    }

    /// The cap in force (`None`: unbounded).
    pub fn cap(&self) -> Option<Cap> {
        self.cap
    }

    /// Changes the cap; applied at once.
    pub fn set_cap(&mut self, cap: Option<Cap>) {
        self.cap = cap;
        self.enforce_cap();
    }

    /// Bytes held in memory, estimated: each item's bytes, the item and its
    /// rows, its note or finding, and the allocator's overhead. Stays within
    /// the cap.
    pub fn memory(&self) -> usize {
        self.held
    }

    /// What the cap has dropped so far.
    pub fn dropped(&self) -> Dropped {
        self.dropped
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
            let (end, next, ending) = match memchr::memchr(b'\n', &bytes[start..]) {
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
        let added = self.rows.len() - before;
        self.held += footprint(&item, added);
        self.items.push(item);
        self.enforce_cap();
        added
    }

    /// Drops the oldest items while over the cap, down to three quarters of
    /// it, so the next drop is a quarter of the cap away. The newest item
    /// always stays.
    fn enforce_cap(&mut self) {
        let Some(cap) = self.cap else {
            return;
        };
        if self.rows.len() <= cap.lines && self.held <= cap.bytes {
            return;
        }
        let (lines, bytes) = (cap.lines / 4 * 3, cap.bytes / 4 * 3);
        let (mut drop_items, mut drop_rows, mut drop_bytes) = (0, 0, 0);
        let mut row = 0;
        while drop_items + 1 < self.items.len()
            && (self.rows.len() - drop_rows > lines || self.held - drop_bytes > bytes)
        {
            let mut item_rows = 0;
            while self.rows.get(row).is_some_and(|r| r.item == drop_items) {
                row += 1;
                item_rows += 1;
            }
            drop_bytes += footprint(&self.items[drop_items], item_rows);
            drop_rows += item_rows;
            drop_items += 1;
        }
        if drop_items == 0 {
            return;
        }
        self.items.drain(..drop_items);
        self.rows.drain(..drop_rows);
        for r in &mut self.rows {
            r.item -= drop_items;
        }
        self.held -= drop_bytes;
        self.dropped.items += drop_items as u64;
        self.dropped.rows += drop_rows as u64;
        self.dropped.bytes += drop_bytes as u64;
        let at = self.items.first().map(Item::at).unwrap_or_default();
        self.marker = Some(Item::Note {
            at,
            kind: NoteKind::Warning,
            text: format!(
                "... {} earlier lines ({}) dropped from memory: the transcript keeps {} lines or {}; a recording keeps every byte (Ctrl-R, --record)",
                thousands(self.dropped.rows),
                size(self.dropped.bytes),
                thousands(cap.lines as u64),
                size(cap.bytes as u64),
            ),
        });
    }

    /// The position after everything pushed so far.
    pub fn mark(&self) -> Mark {
        Mark {
            items: self.dropped.items + self.items.len() as u64,
            rows: self.dropped.rows + self.rows.len() as u64,
        }
    }

    /// Drops everything pushed after `mark` (taken with [`Transcript::mark`]).
    /// Used by the replay viewer to step back without rebuilding the whole
    /// transcript. Returns false, changing nothing, when part of what came
    /// before `mark` was already dropped by the cap or `mark` lies ahead:
    /// the caller rebuilds instead.
    pub fn truncate_to(&mut self, mark: Mark) -> bool {
        let (Some(items), Some(rows)) = (
            mark.items.checked_sub(self.dropped.items),
            mark.rows.checked_sub(self.dropped.rows),
        ) else {
            return false;
        };
        let (Ok(items), Ok(rows)) = (usize::try_from(items), usize::try_from(rows)) else {
            return false;
        };
        if items > self.items.len() || rows > self.rows.len() {
            return false;
        }
        if self.dropped.items > 0 && items == 0 {
            // The marker needs an item after it; rebuild instead.
            return false;
        }
        let freed: usize = self.items[items..]
            .iter()
            .map(|item| footprint(item, 0))
            .sum::<usize>()
            + (self.rows.len() - rows) * std::mem::size_of::<Row>();
        self.held -= freed;
        self.items.truncate(items);
        self.rows.truncate(rows);
        true
    }

    /// Number of display rows, the marker row of dropped lines included.
    pub fn len_rows(&self) -> usize {
        self.rows.len() + usize::from(self.marker.is_some())
    }

    /// Number of items (entries and notes) held.
    pub fn len_items(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items held, in order (for export; the renderer uses
    /// [`Transcript::rows`]). Items dropped by the cap are not among them.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The display rows in `range`, clamped to what exists. Row 0 is the
    /// marker of dropped lines when the cap dropped some.
    pub fn rows(&self, range: Range<usize>) -> impl Iterator<Item = RowView<'_>> {
        let end = range.end.min(self.len_rows());
        let start = range.start.min(end);
        let marker = self
            .marker
            .as_ref()
            .filter(|_| start == 0 && end > 0)
            .map(|item| RowView {
                item,
                text: item.bytes(),
                first: true,
                line: 0,
                ending: LineEnding::None,
            });
        let shift = usize::from(self.marker.is_some());
        let held = start.saturating_sub(shift)..end.saturating_sub(shift);
        marker.into_iter().chain(self.rows[held].iter().map(|row| {
            let item = &self.items[row.item];
            RowView {
                item,
                text: &item.bytes()[row.start..row.end],
                first: row.first,
                line: row.line as usize,
                ending: row.ending,
            }
        }))
    }
}

/// Bytes an item with `rows` display rows costs, estimated: its bytes, the
/// item, its rows and its boxed parts. An entry's note holds the parsed
/// response (text as long as the bytes, at most), a finding its texts;
/// [`ALLOCATION`] covers the allocator's own overhead per heap block.
fn footprint(item: &Item, rows: usize) -> usize {
    let boxed = match item {
        Item::Entry(e) => std::mem::size_of::<Note>() + e.raw.len() + 2 * ALLOCATION,
        Item::Finding { text, .. } => {
            std::mem::size_of::<Finding>() + 2 * text.len() + 4 * ALLOCATION
        }
        Item::Note { .. } => ALLOCATION,
    };
    item.bytes().len() + std::mem::size_of::<Item>() + rows * std::mem::size_of::<Row>() + boxed
}

/// Bytes the allocator adds to a heap block, about (glibc: 16).
const ALLOCATION: usize = 16;

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as "12.3 MiB" (or KiB, or bytes).
fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / KIB / KIB)
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} bytes")
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

    fn flood(t: &mut Transcript, from: usize, n: usize) {
        for i in from..from + n {
            t.push_entry(server(
                format!("* {i} FETCH (FLAGS (\\Seen))\r\n").as_bytes(),
            ));
        }
    }

    #[test]
    fn cap_drops_the_oldest_lines_behind_a_marker() {
        let cap = Cap {
            lines: 1000,
            bytes: 1 << 20,
        };
        let mut t = Transcript::with_cap(Some(cap));
        flood(&mut t, 0, 10_000);
        assert!(
            t.len_rows() <= 1001 && t.len_rows() > 700,
            "{}",
            t.len_rows()
        );
        assert!(t.memory() <= cap.bytes);
        let dropped = t.dropped();
        assert_eq!(dropped.rows as usize + t.len_rows() - 1, 10_000);
        let rows: Vec<_> = t.rows(0..2).collect();
        assert_eq!(rows[0].direction(), None);
        let marker = String::from_utf8_lossy(rows[0].text).into_owned();
        assert!(
            marker.contains(&format!("{} earlier lines", thousands(dropped.rows)))
                && marker.contains("dropped from memory")
                && marker.contains("1,000 lines"),
            "{marker}"
        );
        // The oldest line held follows the marker; the newest is last.
        let first = format!("* {} FETCH (FLAGS (\\Seen))", dropped.rows);
        assert_eq!(rows[1].text, first.as_bytes());
        let last = t.rows(t.len_rows() - 1..t.len_rows()).next().expect("row");
        assert_eq!(last.text, b"* 9999 FETCH (FLAGS (\\Seen))");
    }

    #[test]
    fn byte_cap_holds_for_big_entries() {
        let cap = Cap {
            lines: 1_000_000,
            bytes: 100_000,
        };
        let mut t = Transcript::with_cap(Some(cap));
        for _ in 0..100 {
            t.push_entry(server(&[b'x'; 9000]));
            assert!(t.memory() <= cap.bytes, "{}", t.memory());
        }
        // An item bigger than the cap stays (the newest always does), alone.
        t.push_entry(server(&[b'y'; 200_000]));
        assert_eq!(t.len_items(), 1);
        assert_eq!(t.rows(1..2).next().map(|r| r.text.len()), Some(200_000));
    }

    #[test]
    fn uncapped_keeps_everything() {
        let mut t = Transcript::with_cap(None);
        flood(&mut t, 0, 300_000);
        assert_eq!((t.len_rows(), t.dropped()), (300_000, Dropped::default()));
    }

    #[test]
    fn truncate_to_a_mark() {
        let cap = Cap {
            lines: 100,
            bytes: 1 << 20,
        };
        let mut t = Transcript::with_cap(Some(cap));
        flood(&mut t, 0, 50);
        let early = t.mark();
        flood(&mut t, 50, 20);
        let late = t.mark();
        let memory = t.memory();
        flood(&mut t, 70, 10);
        assert!(t.truncate_to(late));
        assert_eq!((t.len_rows(), t.memory()), (70, memory));
        assert!(t.truncate_to(early));
        assert_eq!(t.len_rows(), 50);
        flood(&mut t, 50, 200);
        // What `early` needs is gone: the caller must rebuild.
        let rows = t.len_rows();
        assert!(!t.truncate_to(early));
        assert_eq!(t.len_rows(), rows);
        assert!(!t.truncate_to(Mark::default()));
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(64 * 1024 * 1024), "64.0 MiB");
    }
}
