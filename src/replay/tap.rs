//! Recording a running session: a task between the engine's event channel
//! and its consumer writes every [`Event`] through a [`Recorder`] and
//! forwards it unchanged. The [`RecordSwitch`] turns recording on and off
//! while the session runs (Ctrl-R in the TUI).
//!
//! ```text
//! engine --Event--> tap task --Event--> TUI / check
//!                      |
//!                      +--> RecordSwitch: Recorder (on) or nothing (off)
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

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

    /// Like [`RecordSwitch::new`], recording to `path` from the first event.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn recording_to(config: &SessionConfig, redact: bool, path: &Path) -> Result<RecordSwitch> {
        let switch = RecordSwitch::new(config, redact);
        switch.start(Some(path))?;
        Ok(switch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SwitchState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts (or resumes) recording: into the open file, else `path`, else
    /// [`RecordSwitch::default_file_name`] in the current directory.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn start(&self, path: Option<&Path>) -> Result<PathBuf> {
        let mut state = self.lock();
        if state.recorder.is_none() {
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
            state.recorder = Some(Recorder::create(&path, &header)?);
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
            self.lock().on = false;
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
        if let (Some(recorder), true) = (&mut state.recorder, state.on)
            && let Err(e) = recorder.record(event)
        {
            state.failed = Some(e.to_string());
            state.on = false;
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
