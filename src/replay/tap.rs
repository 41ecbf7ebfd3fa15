//! Recording a running session: a task between the engine's event channel
//! and its consumer writes every [`Event`] through a [`Recorder`] and
//! forwards it unchanged. The [`RecordSwitch`] turns recording on and off
//! while the session runs (Ctrl-R in the TUI).
//!
//! ```text
//! engine --Event--> tap task --Event--> TUI / check
//!                      |
//!                      +--> RecordSwitch: Recorder (on), pause (off after on),
//!                                         backlog (never started yet)
//! ```
//!
//! Until recording first starts, the switch keeps the session's events in
//! a backlog (up to [`BACKLOG_MAX_BYTES`]); Ctrl-R writes them first, so a
//! recording started mid-session still holds the connection, greeting,
//! capabilities, STARTTLS, the handshake and its chain. Turning recording
//! off and on again writes `recording_paused` / `recording_resumed` marks.
//! Secrets are masked from each event's note, as for live events.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::Result;
use super::format::Header;
use super::recorder::Recorder;
use crate::session::{Event, SessionConfig, SessionHandle};

/// Shared on/off state of one session's recording.
#[derive(Debug, Clone)]
pub struct RecordSwitch {
    inner: Arc<Mutex<SwitchState>>,
}

#[derive(Debug)]
struct SwitchState {
    header: Header,
    /// The open file; kept while paused so Ctrl-R resumes into the same file.
    recorder: Option<Recorder>,
    on: bool,
    /// First write error; recording stops after it.
    failed: Option<String>,
    /// Where a recording without a path goes (`record-dir`); `None`: the
    /// current directory.
    dir: Option<PathBuf>,
    /// Events before recording first started, for Ctrl-R.
    backlog: Vec<Backlogged>,
    /// Bytes of entries in `backlog`.
    backlog_bytes: usize,
    /// Offset of the last event seen, for pause and resume marks.
    last_at: Duration,
    /// An explicit path may replace an existing file (`--force`).
    overwrite: bool,
}

/// Most entry bytes kept in the backlog (64 MiB); past it entries are
/// dropped (connection, TLS, findings and close are still kept) and the
/// gap is marked as a pause in the file.
pub const BACKLOG_MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug)]
enum Backlogged {
    Event(Event),
    /// Entries were dropped here (the backlog was full).
    Gap(Duration),
}

/// The offset of `event` from the session start.
fn event_at(event: &Event) -> Duration {
    match event {
        Event::Connected { at, .. }
        | Event::Finding { at, .. }
        | Event::Closed { at, .. }
        | Event::Chunk { at, .. } => *at,
        Event::Data(entry) | Event::Malformed { entry, .. } => entry.at,
        Event::Tls(tls) => tls.at,
        Event::TlsFailed(failed) => failed.at,
    }
}

/// Where recording stands, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    /// Writing to this file.
    On(PathBuf),
    /// Not writing (never started, or paused).
    Off,
}

impl RecordSwitch {
    /// A switch for a session opened with `config` now, recording nothing yet.
    /// `redact` is false for `--no-redact`.
    pub fn new(config: &SessionConfig, redact: bool) -> RecordSwitch {
        let mut header = Header::new(config, OffsetDateTime::now_utc());
        header.redacted = redact;
        RecordSwitch {
            inner: Arc::new(Mutex::new(SwitchState {
                header,
                recorder: None,
                on: false,
                failed: None,
                dir: None,
                backlog: Vec::new(),
                backlog_bytes: 0,
                last_at: Duration::ZERO,
                overwrite: false,
            })),
        }
    }

    /// Puts a recording started without a path (Ctrl-R) into `dir`, the
    /// config file's `record-dir`, created when needed.
    #[must_use]
    pub fn in_dir(self, dir: PathBuf) -> RecordSwitch {
        self.lock().dir = Some(dir);
        self
    }

    /// Like [`RecordSwitch::new`], recording to `path` from the first event;
    /// an existing file is replaced.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn recording_to(config: &SessionConfig, redact: bool, path: &Path) -> Result<RecordSwitch> {
        RecordSwitch::recording_to_with(config, redact, path, true)
    }

    /// [`RecordSwitch::recording_to`]; without `overwrite` (`--force`) an
    /// existing file is [`super::ReplayError::Exists`].
    ///
    /// # Errors
    /// The file exists or cannot be created.
    pub fn recording_to_with(
        config: &SessionConfig,
        redact: bool,
        path: &Path,
        overwrite: bool,
    ) -> Result<RecordSwitch> {
        let switch = RecordSwitch::new(config, redact);
        switch.lock().overwrite = overwrite;
        switch.start(Some(path))?;
        Ok(switch)
    }

    /// The file this switch wrote to, if recording ever started.
    pub fn path(&self) -> Option<PathBuf> {
        self.lock()
            .recorder
            .as_ref()
            .map(|r| r.path().to_path_buf())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SwitchState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts (or resumes) recording: into the open file (after a
    /// `recording_resumed` mark), else `path`, else
    /// [`RecordSwitch::default_file_name`] in the current directory. A new
    /// file gets the session so far first (the backlog).
    ///
    /// # Errors
    /// The file cannot be created, or exists (a default name, or `path`
    /// without `--force`).
    pub fn start(&self, path: Option<&Path>) -> Result<PathBuf> {
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(recorder) = &mut state.recorder {
            if !state.on {
                recorder.mark(state.last_at, false)?;
            }
        } else {
            let overwrite = path.is_some() && state.overwrite;
            let path = match path {
                Some(p) => p.to_path_buf(),
                None => {
                    let name = default_file_name(&state.header);
                    match &state.dir {
                        Some(dir) => {
                            // A failure shows as the file's creation error below.
                            let _ = std::fs::create_dir_all(dir);
                            dir.join(name)
                        }
                        None => PathBuf::from(name),
                    }
                }
            };
            let header = state.header.clone();
            let mut recorder = Recorder::create_with(&path, &header, overwrite)?;
            state.backlog_bytes = 0;
            for item in std::mem::take(&mut state.backlog) {
                match item {
                    Backlogged::Event(event) => recorder.record(&event)?,
                    Backlogged::Gap(at) => {
                        recorder.mark(at, true)?;
                        recorder.mark(at, false)?;
                    }
                }
            }
            state.recorder = Some(recorder);
        }
        state.on = true;
        state.failed = None;
        Ok(state
            .recorder
            .as_ref()
            .map(|r| r.path().to_path_buf())
            .unwrap_or_default())
    }

    /// Flips recording; returns the new status.
    ///
    /// # Errors
    /// Starting failed (the file cannot be created).
    pub fn toggle(&self) -> Result<RecordStatus> {
        if self.status() == RecordStatus::Off {
            let path = self.start(None)?;
            Ok(RecordStatus::On(path))
        } else {
            let mut state = self.lock();
            let state = &mut *state;
            state.on = false;
            if let Some(recorder) = &mut state.recorder {
                recorder.mark(state.last_at, true)?;
            }
            Ok(RecordStatus::Off)
        }
    }

    /// Where recording stands.
    pub fn status(&self) -> RecordStatus {
        let state = self.lock();
        match (&state.recorder, state.on) {
            (Some(r), true) => RecordStatus::On(r.path().to_path_buf()),
            _ => RecordStatus::Off,
        }
    }

    /// The first write error since recording last started, if any.
    pub fn failure(&self) -> Option<String> {
        self.lock().failed.clone()
    }

    /// Writes `event` if recording is on. Secrets are masked from the
    /// event's note, so a recording started mid-session (Ctrl-R) still masks
    /// the answer to a challenge sent before it started. A write error turns
    /// recording off and is kept for [`RecordSwitch::failure`].
    pub fn observe(&self, event: &Event) {
        let mut state = self.lock();
        let state = &mut *state;
        state.last_at = event_at(event);
        match (&mut state.recorder, state.on) {
            (Some(recorder), true) => {
                if let Err(e) = recorder.record(event) {
                    state.failed = Some(e.to_string());
                    state.on = false;
                }
            }
            (Some(_), false) => {}
            (None, _) => {
                // Not recording yet: kept so Ctrl-R writes the whole session.
                let size = match event {
                    Event::Data(entry) | Event::Malformed { entry, .. } => entry.raw.len(),
                    Event::Chunk { bytes, .. } => bytes.len(),
                    _ => 0,
                };
                if size > 0 && state.backlog_bytes.saturating_add(size) > BACKLOG_MAX_BYTES {
                    if !matches!(state.backlog.last(), Some(Backlogged::Gap(_))) {
                        state.backlog.push(Backlogged::Gap(state.last_at));
                    }
                } else {
                    state.backlog_bytes += size;
                    state.backlog.push(Backlogged::Event(event.clone()));
                }
            }
        }
    }
}

/// `mailwire-<protocol>-<host>-<UTC time>.jsonl`, e.g.
/// `mailwire-smtp-mail.example.com-20261129T074251Z.jsonl`; characters that
/// do not belong in a file name (an IPv6 host's colons) become `_`.
pub fn default_file_name(header: &Header) -> String {
    let now = OffsetDateTime::now_utc();
    let host: String = header
        .target
        .host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "mailwire-{}-{}-{:04}{:02}{:02}T{:02}{:02}{:02}Z.jsonl",
        header.target.protocol.name(),
        host,
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Puts a task between the engine and the consumer of `handle`: each event
/// goes through `switch` as it arrives, then on, unchanged and in order.
pub fn tap(handle: SessionHandle, switch: RecordSwitch) -> SessionHandle {
    let SessionHandle {
        commands,
        mut events,
    } = handle;
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            switch.observe(&event);
            if tx.send(event).await.is_err() {
                // The UI is gone; keep recording what the engine still says.
                while let Some(event) = events.recv().await {
                    switch.observe(&event);
                }
                break;
            }
        }
    });
    SessionHandle {
        commands,
        events: rx,
    }
}
