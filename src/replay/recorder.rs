//! Writes a session to a recording file as it runs: the header at once,
//! then one line per [`Event`], each written and flushed on its own.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::format::{Header, Kind, write_event, write_mark};
use super::{ReplayError, Result};
use crate::session::Event;

/// An open recording. Secrets are masked when the header says `redacted`:
/// the byte ranges the dialogue marked in each entry's note become the
/// placeholder `<redacted N bytes>`.
#[derive(Debug)]
pub struct Recorder {
    file: File,
    path: PathBuf,
    redact: bool,
    /// Reused for every line, so recording does not allocate per event.
    line: Vec<u8>,
    recorded: usize,
    /// Chunks of a streamed response were written since the last server entry.
    chunked: bool,
}

impl Recorder {
    /// Creates (or truncates) `path` with mode 0600 and writes the header.
    /// `header.redacted` decides whether secrets are masked, so the file
    /// never claims a redaction that did not happen.
    ///
    /// # Errors
    /// [`ReplayError::Open`] or [`ReplayError::Write`] naming the path.
    pub fn create(path: impl AsRef<Path>, header: &Header) -> Result<Recorder> {
        Recorder::create_with(path, header, true)
    }

    /// [`Recorder::create`]; without `overwrite` an existing file is an
    /// error (`--record FILE` without `--force`), checked atomically.
    ///
    /// # Errors
    /// [`ReplayError::Open`] (`AlreadyExists` for an existing file without
    /// `overwrite`) or [`ReplayError::Write`] naming the path.
    pub fn create_with(
        path: impl AsRef<Path>,
        header: &Header,
        overwrite: bool,
    ) -> Result<Recorder> {
        let path = path.as_ref().to_path_buf();
        let open_error = |source| ReplayError::Open {
            path: path.clone(),
            source,
        };
        // A recording holds the whole conversation (and, with --no-redact,
        // passwords): only the owner may read it. `mode` applies to a new
        // file; an existing one is narrowed before anything is written.
        let mut options = OpenOptions::new();
        options.write(true).mode(0o600);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let file = options.open(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                ReplayError::Exists { path: path.clone() }
            } else {
                open_error(source)
            }
        })?;
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(open_error)?;
        let mut recorder = Recorder {
            file,
            path,
            redact: header.redacted,
            line: Vec::with_capacity(512),
            recorded: 0,
            chunked: false,
        };
        header
            .write_json(&mut recorder.line)
            .map_err(|e| recorder.write_error(e.into()))?;
        recorder.flush_line()?;
        Ok(recorder)
    }

    /// Appends `event` as one line, masked if it holds a secret, and hands it
    /// to the OS before returning: a crash after this loses nothing of it.
    ///
    /// # Errors
    /// [`ReplayError::Write`] when the line cannot be written.
    pub fn record(&mut self, event: &Event) -> Result<()> {
        let masked = match event {
            Event::Data(entry) | Event::Malformed { entry, .. } if self.redact => {
                entry.note.redact(&entry.raw)
            }
            _ => None,
        };
        // The server entry after chunks ends a streamed response: its bytes
        // are those chunks, written as they came.
        let chunked = match event {
            Event::Chunk { .. } => {
                self.chunked = true;
                false
            }
            Event::Data(entry) | Event::Malformed { entry, .. }
                if entry.direction == crate::session::Direction::Server =>
            {
                std::mem::take(&mut self.chunked)
            }
            _ => false,
        };
        if let Err(e) = write_event(
            &mut self.line,
            event,
            masked.as_deref(),
            masked.is_some(),
            chunked,
        ) {
            self.line.clear();
            return Err(self.write_error(e.into()));
        }
        self.flush_line()?;
        self.recorded += 1;
        Ok(())
    }

    /// Appends a pause or resume mark at `at` (offset from the session
    /// start), so a reader knows events are missing between the two.
    ///
    /// # Errors
    /// [`ReplayError::Write`] when the line cannot be written.
    pub(crate) fn mark(&mut self, at: std::time::Duration, paused: bool) -> Result<()> {
        let kind = if paused {
            Kind::RecordingPaused
        } else {
            Kind::RecordingResumed
        };
        if let Err(e) = write_mark(&mut self.line, at, kind) {
            self.line.clear();
            return Err(self.write_error(e.into()));
        }
        self.flush_line()
    }

    /// Events written so far (the header not counted).
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the buffered line and its newline with one `write_all` on the
    /// unbuffered file, so the line reaches the OS whole or (killed mid-way)
    /// as a cut-off last line, which the loader accepts with a warning.
    fn flush_line(&mut self) -> Result<()> {
        self.line.push(b'\n');
        let written = self.file.write_all(&self.line);
        self.line.clear();
        written.map_err(|e| self.write_error(e))
    }

    fn write_error(&self, source: std::io::Error) -> ReplayError {
        ReplayError::Write {
            path: self.path.clone(),
            source,
        }
    }
}
