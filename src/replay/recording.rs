//! A recording loaded into memory, compactly: every event is a 24-byte
//! slot, and the bytes of all events sit back to back in one arena. There is
//! no allocation per event, and stepping through them copies one event at a
//! time. Memory is the events' bytes plus 24 bytes each.
//! [`Recording::event`] turns a slot back into the engine's [`Event`].
//!
//! ```text
//! file.jsonl --read_until--> LineIn --push--> slots[i] + arena[end(i-1)..end(i)]
//!                                 |                   |
//!                          Dialogue::annotate          |
//!                     (findings re-derived as slots;  |
//!                      a checkpoint every 1024 slots)  |
//! Recording::event(i) <-------------------------------+  (ChainReport rebuilt, cached;
//!                                                         note re-derived from the checkpoint)
//! ```
//!
//! A viewer does not wait for the whole file: [`Recording::load_prefix`]
//! reads the first events for the first frame and [`Loading`] reads the
//! whole file on a thread, handed over when done.
//!
//! The dialogue runs again over every recording as it loads: notes (which
//! command a reply answers, secrets, capabilities) and the dialogue's
//! findings are never read from the file, so a fix in the dialogue reaches
//! old recordings. Findings the engine made (timeouts, handshake failures)
//! are kept as recorded.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::format::{Header, HeaderError, Kind, LineIn, json_reason, pem_to_der};
use super::{ReplayError, Result};
use crate::cert::ChainReport;
use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::protocol::Limits;
use crate::session::{Dialogue, Direction, Entry, Event, Note, Origin, TlsEstablished, TlsFailed};
use crate::tls::{HandshakeSummary, Verdict};

/// Longest line accepted when loading, in bytes (256 MiB): a whole IMAP
/// literal at the engine's 64 MiB limit fits even as base64 or escaped JSON.
pub const MAX_LINE: usize = 256 * 1024 * 1024;

/// Warnings kept word for word; beyond this they are counted.
const MAX_WARNINGS: usize = 20;

/// Slots between two dialogue checkpoints: building event `i`'s note
/// re-runs the dialogue over at most this many events.
const CHECKPOINT_EVERY: usize = 1024;

/// A recording in memory: header, events and load warnings.
pub struct Recording {
    header: Header,
    slots: Vec<Slot>,
    /// Bytes of every event back to back: entry bytes, then for `malformed`
    /// its reason; the text of connected/warning/error/closed.
    arena: Vec<u8>,
    tls: Vec<TlsRecord>,
    /// i9: handshakes that failed after the server sent its chain.
    failed: Vec<FailedRecord>,
    /// Findings, with who made them (dialogue: re-derived at load).
    findings: Vec<(Finding, Origin)>,
    /// The dialogue before slot `k * CHECKPOINT_EVERY`.
    checkpoints: Vec<Dialogue>,
    /// The dialogue before slot `.0`, from the last `event` call, so that
    /// stepping forward costs one event.
    cursor: Mutex<Option<(usize, Dialogue)>>,
    warnings: Vec<String>,
}

/// One event: its bytes are `arena[previous slot's end..end]`.
#[derive(Debug, Clone, Copy)]
struct Slot {
    t_ms: u64,
    end: usize,
    /// Malformed: length of the entry bytes (the reason follows).
    /// TLS: index into `tls`. Finding: index into `findings`.
    aux: u32,
    kind: Kind,
    flags: u8,
}

const FLAG_TLS: u8 = 1;
const FLAG_REDACTED: u8 = 1 << 1;
const FLAG_CLIENT: u8 = 1 << 2;

struct TlsRecord {
    /// Index of the event, for finding the handshake in force at a step.
    event: usize,
    summary: HandshakeSummary,
    verdict: Verdict,
    chain_der: Vec<Vec<u8>>,
    /// Built from `chain_der` on first use, at the time of the handshake.
    report: OnceLock<ChainReport>,
}

/// A `tls_failed` line: the reason is in the arena.
struct FailedRecord {
    verdict: Option<Verdict>,
    chain_der: Vec<Vec<u8>>,
    /// Built from `chain_der` on first use, at the time of the handshake.
    report: OnceLock<ChainReport>,
}

impl Recording {
    /// Reads the recording at `path`.
    ///
    /// # Errors
    /// [`ReplayError::Open`] or [`ReplayError::Read`] for I/O,
    /// [`ReplayError::Version`] for a newer format, and
    /// [`ReplayError::Corrupt`] naming the first bad line. A cut-off last
    /// line is not an error: it is dropped with a warning.
    pub fn load(path: impl AsRef<Path>) -> Result<Recording> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| ReplayError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Recording::read(
            BufReader::with_capacity(1 << 16, file),
            &path.display().to_string(),
        )
    }

    /// Reads a recording from `input`; `name` (a path, `-`) appears in errors.
    ///
    /// # Errors
    /// As [`Recording::load`].
    pub fn read(input: impl BufRead, name: &str) -> Result<Recording> {
        Recording::read_up_to(input, name, usize::MAX)
    }

    /// Reads the header and the first `events` lines of events of the
    /// recording at `path` (with the findings the dialogue derives from
    /// them, so [`Recording::len`] may be a little more), so a viewer can show its first frame at once while
    /// [`Loading`] reads the whole file in the background.
    ///
    /// # Errors
    /// As [`Recording::load`], for the part read.
    pub fn load_prefix(path: impl AsRef<Path>, events: usize) -> Result<Recording> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| ReplayError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Recording::read_up_to(
            BufReader::with_capacity(1 << 16, file),
            &path.display().to_string(),
            events,
        )
    }

    /// [`Recording::read`], stopping once it holds `limit` events.
    fn read_up_to(mut input: impl BufRead, name: &str, limit: usize) -> Result<Recording> {
        let corrupt = |line: usize, reason: String| ReplayError::Corrupt {
            name: name.to_string(),
            line,
            reason,
        };
        let mut header: Option<Header> = None;
        let mut events = Loader::default();
        let mut buf = Vec::new();
        let mut line_no = 0;
        while events.slots.len() < limit {
            buf.clear();
            let read = (&mut input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|source| ReplayError::Read {
                    name: name.to_string(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            line_no += 1;
            let complete = buf.last() == Some(&b'\n');
            if !complete && buf.len() > MAX_LINE {
                return Err(corrupt(
                    line_no,
                    format!("line is longer than {MAX_LINE} bytes"),
                ));
            }
            let line = trim_line_end(&buf);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if header.is_none() {
                let parsed = Header::parse(line).map_err(|e| match e {
                    HeaderError::Version(found) => ReplayError::Version {
                        name: name.to_string(),
                        found,
                    },
                    HeaderError::Invalid(_) if !complete => {
                        corrupt(line_no, "the header is cut off".into())
                    }
                    HeaderError::Invalid(reason) => corrupt(line_no, reason),
                })?;
                events.dialogue = Dialogue::new(parsed.target.protocol);
                events.protocol_set = true;
                header = Some(parsed);
                continue;
            }
            match serde_json::from_slice::<LineIn<'_>>(line) {
                Ok(event) => events
                    .push(event, line_no)
                    .map_err(|reason| corrupt(line_no, reason))?,
                // No newline and no valid JSON: the writer was stopped
                // mid-line (crash, SIGKILL, full disk). Everything before
                // it is whole, so load that.
                Err(_) if !complete => {
                    events.warn(format!(
                        "line {line_no} is cut off ({} bytes, no line ending): the recording was interrupted while writing its last event, which is dropped",
                        buf.len()
                    ));
                    break;
                }
                Err(e) => {
                    return Err(corrupt(
                        line_no,
                        format!("not a valid event: {}", json_reason(&e)),
                    ));
                }
            }
        }
        let header = header
            .ok_or_else(|| corrupt(1, "the file is empty, not a mailwire recording".into()))?;
        Ok(events.finish(header))
    }

    /// Line 1: target, start time, options, redaction.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the recording holds no event (only a header).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// What loading noticed without failing: a cut-off last line, skipped
    /// events of unknown kinds.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Event `i` as the engine emitted it, bytes copied for this one event
    /// only; for TLS the chain report is rebuilt (once) from the DER at the
    /// handshake's time, and an entry's note is re-derived by the dialogue.
    /// `None` past the end.
    pub fn event(&self, i: usize) -> Option<Event> {
        let mut event = self.base_event(i)?;
        if matches!(event, Event::Data(_) | Event::Malformed { .. }) {
            let note = self.note(i)?;
            if let Event::Data(entry) | Event::Malformed { entry, .. } = &mut event {
                *entry.note = note;
            }
        }
        Some(event)
    }

    /// The note of entry `i`, running the dialogue from the nearest
    /// checkpoint (or from the last call, when stepping forward).
    fn note(&self, i: usize) -> Option<Note> {
        let limits = Limits::default();
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let checkpoint = i / CHECKPOINT_EVERY;
        let (mut pos, mut dialogue) = match cursor.take() {
            Some((pos, d)) if pos <= i && pos >= checkpoint * CHECKPOINT_EVERY => (pos, d),
            _ => (
                checkpoint * CHECKPOINT_EVERY,
                self.checkpoints.get(checkpoint)?.clone(),
            ),
        };
        let mut note = None;
        while pos <= i {
            if let Some(mut event) = self.base_event(pos) {
                dialogue.annotate(&mut event, &limits);
                if pos == i
                    && let Event::Data(entry) | Event::Malformed { entry, .. } = event
                {
                    note = Some(*entry.note);
                }
            }
            pos += 1;
        }
        *cursor = Some((pos, dialogue));
        note
    }

    /// Event `i` as stored, without the note.
    fn base_event(&self, i: usize) -> Option<Event> {
        let slot = *self.slots.get(i)?;
        let bytes = self.bytes(i)?;
        let at = Duration::from_millis(slot.t_ms);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let entry = |raw: &[u8], direction| Entry {
            at,
            direction,
            raw: raw.to_vec(),
            tls: slot.flags & FLAG_TLS != 0,
            note: Default::default(),
        };
        Some(match slot.kind {
            Kind::Connected => Event::Connected {
                at,
                peer: text(bytes),
            },
            Kind::Sent => Event::Data(entry(bytes, Direction::Client)),
            Kind::Received => Event::Data(entry(bytes, Direction::Server)),
            Kind::Malformed => {
                let (raw, reason) = bytes.split_at_checked(slot.aux as usize)?;
                let direction = if slot.flags & FLAG_CLIENT != 0 {
                    Direction::Client
                } else {
                    Direction::Server
                };
                Event::Malformed {
                    entry: entry(raw, direction),
                    reason: text(reason),
                }
            }
            Kind::Tls => {
                let tls = self.tls.get(slot.aux as usize)?;
                let chain = tls
                    .report
                    .get_or_init(|| {
                        // The recorded verdict (path, trust store) rebuilds
                        // the same findings the live session showed.
                        ChainReport::with_verdict(
                            &tls.chain_der,
                            self.header.unix_at(slot.t_ms),
                            &tls.verdict,
                        )
                    })
                    .clone();
                Event::Tls(Box::new(TlsEstablished {
                    at,
                    summary: tls.summary.clone(),
                    verdict: tls.verdict.clone(),
                    chain_der: tls.chain_der.clone(),
                    chain,
                }))
            }
            Kind::TlsFailed => {
                let failed = self.failed.get(slot.aux as usize)?;
                let chain = failed
                    .report
                    .get_or_init(|| {
                        let now = self.header.unix_at(slot.t_ms);
                        match &failed.verdict {
                            Some(v) => ChainReport::with_verdict(&failed.chain_der, now, v),
                            None => {
                                let name = self.header.options.servername.as_deref();
                                let name = name.unwrap_or(&self.header.target.host);
                                ChainReport::from_der(&failed.chain_der, now, name)
                            }
                        }
                    })
                    .clone();
                Event::TlsFailed(Box::new(TlsFailed {
                    at,
                    reason: text(bytes),
                    verdict: failed.verdict.clone(),
                    chain_der: failed.chain_der.clone(),
                    chain,
                }))
            }
            Kind::Finding
            | Kind::Warning
            | Kind::Error
            | Kind::RecordingPaused
            | Kind::RecordingResumed => {
                let (finding, origin) = self.findings.get(slot.aux as usize)?.clone();
                Event::Finding {
                    at,
                    finding,
                    origin,
                }
            }
            Kind::Closed => Event::Closed {
                at,
                reason: text(bytes),
            },
            Kind::Capabilities | Kind::Chunk | Kind::Unknown => return None,
        })
    }

    /// All events in order, each built on demand.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        (0..self.len()).filter_map(|i| self.event(i))
    }

    /// Offset of event `i` from the session start, without building it (for
    /// pacing playback).
    pub fn at(&self, i: usize) -> Option<Duration> {
        self.slots.get(i).map(|s| Duration::from_millis(s.t_ms))
    }

    /// True when event `i` holds a secret that was masked in the file.
    pub fn is_redacted(&self, i: usize) -> bool {
        self.slots
            .get(i)
            .is_some_and(|s| s.flags & FLAG_REDACTED != 0)
    }

    /// Index of the last TLS event at or before event `i`: the handshake
    /// whose parameters and chain were in force at that step.
    pub fn tls_in_force(&self, i: usize) -> Option<usize> {
        let after = self.tls.partition_point(|t| t.event <= i);
        after.checked_sub(1).map(|k| self.tls[k].event)
    }

    /// The chain of the last handshake, DER, leaf first.
    pub fn last_chain(&self) -> Option<&[Vec<u8>]> {
        self.tls.last().map(|t| t.chain_der.as_slice())
    }

    fn bytes(&self, i: usize) -> Option<&[u8]> {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.slots.get(p))
            .map_or(0, |s| s.end);
        self.arena.get(start..self.slots.get(i)?.end)
    }
}

/// A recording being read on a background thread, with its progress.
///
/// ```text
/// Loading::start(path) --thread: Recording::load--> channel --try_take--> viewer
///                     \--bytes read so far (atomic)--> progress()
/// ```
pub struct Loading {
    rx: std::sync::mpsc::Receiver<Result<Recording>>,
    read: Arc<AtomicU64>,
    size: u64,
}

impl Loading {
    /// Starts reading the recording at `path` on a new thread.
    pub fn start(path: impl AsRef<Path>) -> Loading {
        let path = path.as_ref().to_path_buf();
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let counter = read.clone();
        std::thread::spawn(move || {
            let result = File::open(&path)
                .map_err(|source| ReplayError::Open {
                    path: path.clone(),
                    source,
                })
                .and_then(|file| {
                    Recording::read(
                        BufReader::with_capacity(1 << 16, Counted { file, counter }),
                        &path.display().to_string(),
                    )
                });
            // The viewer may be gone already; nothing to do then.
            let _ = tx.send(result);
        });
        Loading { rx, read, size }
    }

    /// The whole recording once it is read (or why it could not be); `None`
    /// while reading. Answers `Some` once.
    pub fn try_take(&self) -> Option<Result<Recording>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Err(ReplayError::Corrupt {
                name: String::new(),
                line: 0,
                reason: "the loading thread stopped".into(),
            })),
        }
    }

    /// Bytes read so far and the file's size, in bytes.
    pub fn progress(&self) -> (u64, u64) {
        (self.read.load(Ordering::Relaxed), self.size)
    }
}

/// A file that counts the bytes read from it.
struct Counted {
    file: File,
    counter: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording")
            .field("header", &self.header)
            .field("events", &self.slots.len())
            .field("bytes", &self.arena.len())
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Events being collected, before the header is attached. The dialogue
/// follows them as they come (protocol from the header).
struct Loader {
    slots: Vec<Slot>,
    arena: Vec<u8>,
    tls: Vec<TlsRecord>,
    failed: Vec<FailedRecord>,
    findings: Vec<(Finding, Origin)>,
    dialogue: Dialogue,
    protocol_set: bool,
    checkpoints: Vec<Dialogue>,
    warnings: Vec<String>,
    warnings_dropped: usize,
    /// Bytes of a streamed response read so far (chunk lines).
    chunks: Vec<u8>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader {
            slots: Vec::new(),
            arena: Vec::new(),
            tls: Vec::new(),
            failed: Vec::new(),
            findings: Vec::new(),
            dialogue: Dialogue::new(crate::target::Protocol::Smtp),
            protocol_set: false,
            checkpoints: Vec::new(),
            warnings: Vec::new(),
            warnings_dropped: 0,
            chunks: Vec::new(),
        }
    }
}

impl Loader {
    fn push(&mut self, line: LineIn<'_>, line_no: usize) -> std::result::Result<(), String> {
        let start = self.arena.len();
        let mut flags = 0;
        if line.tls {
            flags |= FLAG_TLS;
        }
        if line.redacted {
            flags |= FLAG_REDACTED;
        }
        let aux = match line.kind {
            Kind::Chunk => {
                // Held until the entry that ends the streamed response.
                line.bytes_into(&mut self.chunks)?;
                return Ok(());
            }
            Kind::Sent | Kind::Received => {
                self.entry_bytes_into(&line, line_no)?;
                0
            }
            Kind::Malformed => {
                let reason = line.field(&line.reason, "reason")?;
                self.entry_bytes_into(&line, line_no)?;
                let raw_len = self.arena.len() - start;
                self.arena.extend_from_slice(reason.as_bytes());
                if line.direction == Some(Direction::Client) {
                    flags |= FLAG_CLIENT;
                }
                u32::try_from(raw_len)
                    .map_err(|_| format!("malformed entry of {raw_len} bytes is too large"))?
            }
            Kind::Connected => {
                self.arena
                    .extend_from_slice(line.field(&line.peer, "peer")?.as_bytes());
                0
            }
            Kind::Closed => {
                self.arena
                    .extend_from_slice(line.field(&line.message, "message")?.as_bytes());
                0
            }
            Kind::Warning | Kind::Error => {
                // Before findings existed: the text becomes a finding.
                let message = line.field(&line.message, "message")?;
                let (id, severity) = if line.kind == Kind::Warning {
                    ("legacy_warning", Severity::Warning)
                } else {
                    ("legacy_error", Severity::Error)
                };
                let finding = Finding::new(
                    FindingId::Unknown(id.into()),
                    severity,
                    Stage::Unknown,
                    message,
                    "",
                    "",
                );
                self.findings.push((finding, Origin::Engine));
                index(self.findings.len() - 1)?
            }
            Kind::RecordingPaused | Kind::RecordingResumed => {
                let (id, summary) = if line.kind == Kind::RecordingPaused {
                    (
                        FindingId::RecordingPaused,
                        "recording paused: events until it resumes are not in the file",
                    )
                } else {
                    (FindingId::RecordingResumed, "recording resumed")
                };
                let finding = Finding::new(id, Severity::Info, Stage::Unknown, summary, "", "");
                self.findings.push((finding, Origin::Engine));
                index(self.findings.len() - 1)?
            }
            Kind::Finding => {
                let finding = line
                    .finding
                    .ok_or("a \"finding\" event needs \"finding\"")?;
                match line.origin.unwrap_or(Origin::Engine) {
                    // Re-derived below from the entries, as a fixed dialogue sees them.
                    Origin::Dialogue => return Ok(()),
                    Origin::Engine => {
                        self.findings.push((finding, Origin::Engine));
                        index(self.findings.len() - 1)?
                    }
                }
            }
            Kind::Capabilities => {
                // Capabilities are read from the replies again.
                return Ok(());
            }
            Kind::Tls => {
                let (Some(summary), Some(verdict), Some(chain_pem)) =
                    (line.summary, line.verdict, line.chain_pem)
                else {
                    return Err(
                        "a \"tls\" event needs \"summary\", \"verdict\" and \"chain_pem\"".into(),
                    );
                };
                let chain_der = chain_pem
                    .iter()
                    .map(|pem| pem_to_der(pem))
                    .collect::<std::result::Result<_, _>>()?;
                self.tls.push(TlsRecord {
                    event: self.slots.len(),
                    summary,
                    verdict,
                    chain_der,
                    report: OnceLock::new(),
                });
                index(self.tls.len() - 1)?
            }
            Kind::TlsFailed => {
                let chain_pem = line
                    .chain_pem
                    .as_ref()
                    .ok_or("a \"tls_failed\" event needs \"chain_pem\"")?;
                let chain_der = chain_pem
                    .iter()
                    .map(|pem| pem_to_der(pem))
                    .collect::<std::result::Result<_, _>>()?;
                self.arena
                    .extend_from_slice(line.field(&line.message, "message")?.as_bytes());
                self.failed.push(FailedRecord {
                    verdict: line.verdict.clone(),
                    chain_der,
                    report: OnceLock::new(),
                });
                index(self.failed.len() - 1)?
            }
            Kind::Unknown => {
                self.warn(format!("line {line_no}: event of an unknown kind skipped (written by a newer mailwire?)"));
                return Ok(());
            }
        };
        let slot = Slot {
            t_ms: line.t_ms,
            end: self.arena.len(),
            aux,
            kind: line.kind,
            flags,
        };
        self.push_slot(slot, start)
    }

    /// Appends an entry's bytes to the arena: its own, or for a `chunked`
    /// entry those of the chunks before it.
    fn entry_bytes_into(
        &mut self,
        line: &LineIn<'_>,
        line_no: usize,
    ) -> std::result::Result<(), String> {
        if line.chunked {
            self.arena.append(&mut self.chunks);
            return Ok(());
        }
        let client = line.kind == Kind::Sent || line.direction == Some(Direction::Client);
        if !self.chunks.is_empty() && !client {
            self.warn(format!(
                "line {line_no}: {} bytes of chunks are not followed by their entry; dropped",
                self.chunks.len()
            ));
            self.chunks.clear();
        }
        line.bytes_into(&mut self.arena)
    }

    /// Appends a slot, running the dialogue over it: its findings follow
    /// it as slots of their own.
    fn push_slot(&mut self, slot: Slot, start: usize) -> std::result::Result<(), String> {
        if self.slots.len() % CHECKPOINT_EVERY == 0 {
            self.checkpoints.push(self.dialogue.clone());
        }
        self.slots.push(slot);
        if !self.protocol_set {
            return Ok(());
        }
        let Some(mut event) = self.event_of(slot, start) else {
            return Ok(());
        };
        let at = Duration::from_millis(slot.t_ms);
        for finding in self.dialogue.annotate(&mut event, &Limits::default()) {
            self.findings.push((finding, Origin::Dialogue));
            let f_slot = Slot {
                t_ms: slot.t_ms,
                end: self.arena.len(),
                aux: index(self.findings.len() - 1)?,
                kind: Kind::Finding,
                flags: 0,
            };
            let _ = at;
            if self.slots.len() % CHECKPOINT_EVERY == 0 {
                self.checkpoints.push(self.dialogue.clone());
            }
            self.slots.push(f_slot);
        }
        Ok(())
    }

    /// The event a just-pushed slot holds, enough for the dialogue (no
    /// chain report, no note).
    fn event_of(&self, slot: Slot, start: usize) -> Option<Event> {
        let bytes = self.arena.get(start..slot.end)?;
        let at = Duration::from_millis(slot.t_ms);
        let entry = |raw: &[u8], direction| Entry {
            at,
            direction,
            raw: raw.to_vec(),
            tls: slot.flags & FLAG_TLS != 0,
            note: Default::default(),
        };
        Some(match slot.kind {
            Kind::Sent => Event::Data(entry(bytes, Direction::Client)),
            Kind::Received => Event::Data(entry(bytes, Direction::Server)),
            Kind::Malformed => {
                let (raw, reason) = bytes.split_at_checked(slot.aux as usize)?;
                let direction = if slot.flags & FLAG_CLIENT != 0 {
                    Direction::Client
                } else {
                    Direction::Server
                };
                Event::Malformed {
                    entry: entry(raw, direction),
                    reason: String::from_utf8_lossy(reason).into_owned(),
                }
            }
            Kind::Tls => {
                let tls = self.tls.get(slot.aux as usize)?;
                Event::Tls(Box::new(TlsEstablished {
                    at,
                    summary: tls.summary.clone(),
                    verdict: tls.verdict.clone(),
                    chain_der: Vec::new(),
                    chain: ChainReport::default(),
                }))
            }
            Kind::Closed => Event::Closed {
                at,
                reason: String::new(),
            },
            _ => return None,
        })
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.warnings_dropped += 1;
        }
    }

    fn finish(mut self, header: Header) -> Recording {
        if !self.chunks.is_empty() {
            self.warn(format!(
                "the recording ends inside a streamed response: its last {} bytes are not shown",
                self.chunks.len()
            ));
        }
        if self.warnings_dropped > 0 {
            self.warnings
                .push(format!("... and {} more warnings", self.warnings_dropped));
        }
        self.slots.shrink_to_fit();
        self.arena.shrink_to_fit();
        Recording {
            header,
            slots: self.slots,
            arena: self.arena,
            tls: self.tls,
            failed: self.failed,
            findings: self.findings,
            checkpoints: self.checkpoints,
            cursor: Mutex::new(None),
            warnings: self.warnings,
        }
    }
}

fn index(i: usize) -> std::result::Result<u32, String> {
    u32::try_from(i).map_err(|_| format!("more than {} events of one kind", u32::MAX))
}

/// The line without its `\n` or `\r\n`.
fn trim_line_end(buf: &[u8]) -> &[u8] {
    let line = buf.strip_suffix(b"\n").unwrap_or(buf);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"mailwire_recording":1,"mailwire_version":"0.1.0","protocol":"pop3","target":{"scheme":"pop3","host":"h","port":110},"started_at":"2026-01-01T00:00:00Z","options":{},"redacted":true}"#;

    fn read(text: &str) -> Result<Recording> {
        Recording::read(text.as_bytes(), "mem")
    }

    #[test]
    fn prefix_then_the_whole_file_in_the_background() {
        let mut text = format!("{HEADER}\n");
        for i in 0..5000 {
            text.push_str(&format!(
                "{{\"t_ms\":{i},\"kind\":\"received\",\"text\":\"+OK {i}\\r\\n\"}}\n"
            ));
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &text).unwrap();
        let prefix = Recording::load_prefix(file.path(), 100).unwrap();
        // The dialogue's findings are events too: a few more may come along.
        assert!((100..200).contains(&prefix.len()), "{}", prefix.len());
        let loading = Loading::start(file.path());
        let full = loop {
            if let Some(result) = loading.try_take() {
                break result.unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(full.len() >= 5000 && full.len() > prefix.len());
        assert_eq!(loading.progress(), (text.len() as u64, text.len() as u64));
        // The prefix's events are the whole recording's first events.
        for i in [0, 42, 99] {
            assert_eq!(
                format!("{:?}", prefix.event(i)),
                format!("{:?}", full.event(i))
            );
        }
        let gone = Loading::start(file.path().with_extension("missing"));
        let err = loop {
            if let Some(result) = gone.try_take() {
                break result.unwrap_err();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(matches!(err, ReplayError::Open { .. }));
    }

    #[test]
    fn slot_stays_small() {
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn blank_lines_and_crlf_line_ends_are_accepted() {
        let text = format!(
            "{HEADER}\r\n\n{{\"t_ms\":1,\"kind\":\"received\",\"text\":\"+OK\\r\\n\"}}\r\n\n"
        );
        let rec = read(&text).unwrap();
        assert_eq!(rec.len(), 1);
        assert!(rec.warnings().is_empty());
    }

    #[test]
    fn missing_fields_name_the_line_and_field() {
        let text = format!("{HEADER}\n{{\"t_ms\":1,\"kind\":\"warning\"}}\n");
        let err = read(&text).unwrap_err().to_string();
        assert_eq!(err, "mem: line 2: a \"warning\" event needs \"message\"");
        let text =
            format!("{HEADER}\n{{\"t_ms\":1,\"kind\":\"sent\",\"text\":\"a\",\"b64\":\"YQ==\"}}\n");
        assert!(
            read(&text)
                .unwrap_err()
                .to_string()
                .contains("line 2: both")
        );
        let text = format!("{HEADER}\n{{\"t_ms\":-1,\"kind\":\"sent\",\"text\":\"a\"}}\n");
        let err = read(&text).unwrap_err().to_string();
        assert!(
            err.starts_with("mem: line 2: not a valid event: invalid value"),
            "{err}"
        );
        assert!(err.ends_with("(column 10)"), "{err}");
    }

    #[test]
    fn unknown_kinds_are_skipped_with_a_warning() {
        let text = format!(
            "{HEADER}\n{{\"t_ms\":1,\"kind\":\"hologram\"}}\n{{\"t_ms\":2,\"kind\":\"closed\",\"message\":\"bye\"}}\n"
        );
        let rec = read(&text).unwrap();
        assert_eq!(rec.len(), 1);
        assert!(rec.warnings()[0].contains("line 2: event of an unknown kind"));
    }

    #[test]
    fn empty_input_and_cut_header_are_errors() {
        assert_eq!(
            read("").unwrap_err().to_string(),
            "mem: line 1: the file is empty, not a mailwire recording"
        );
        assert_eq!(
            read(&HEADER[..40]).unwrap_err().to_string(),
            "mem: line 1: the header is cut off"
        );
        assert!(matches!(
            read(r#"{"mailwire_recording":7}"#),
            Err(ReplayError::Version { found: 7, .. })
        ));
    }

    #[test]
    fn tls_in_force_finds_the_last_handshake() {
        let rec = Recording {
            header: read(HEADER).unwrap().header,
            slots: Vec::new(),
            arena: Vec::new(),
            tls: [3, 7]
                .into_iter()
                .map(|event| TlsRecord {
                    event,
                    summary: HandshakeSummary::default(),
                    verdict: Verdict::default(),
                    chain_der: Vec::new(),
                    report: OnceLock::new(),
                })
                .collect(),
            failed: Vec::new(),
            findings: Vec::new(),
            checkpoints: Vec::new(),
            cursor: Mutex::new(None),
            warnings: Vec::new(),
        };
        assert_eq!(
            [0, 3, 5, 7, 9].map(|i| rec.tls_in_force(i)),
            [None, Some(3), Some(3), Some(7), Some(7)]
        );
    }
}
