//! `mailwire replay FILE`: the TUI in read-only mode. A [`Viewer`] feeds the
//! recorded events into an ordinary [`App`], so the panes show exactly what
//! they showed live, and the TLS and chain panes what was known at the
//! current event.
//!
//! ```text
//! Recording::event(i) --Msg::Session--> App --panes::draw--> screen
//!      ^                                 ^       (status bar: replay 5/16 ▶ ×2)
//!      |                                 +-- reading keys (scroll, select,
//!      |                                     explain, raw, panes, chain detail, help)
//!      +-- replay keys: n/Right +1, p/Left -1, Home, End, Space play/pause
//! ```
//!
//! Keys come from the keymap in force (the config file's `[keys.replay]`
//! and the others): the `replay` scope's bindings first, then the live
//! TUI's reading keys ([`Action::is_reading`]); keys that would send,
//! type or record do nothing here. The footer and the help overlay are
//! drawn from the same table. Esc closes an overlay or returns to the
//! transcript pane; only `q` and Ctrl-Q/Ctrl-C quit.
//!
//! The first frame does not wait for the file: the viewer starts on the
//! first events ([`Recording::load_prefix`]) while [`Loading`] reads the rest
//! on a thread; the whole recording replaces the prefix when it is read (the
//! prefix's events are the same, so the position and checkpoints stay), and
//! the top row says how far loading got.
//!
//! Stepping forward applies one event (copied out of the recording's arena,
//! never the whole file). Stepping back restores the nearest checkpoint
//! (every [`CHECKPOINT_EVERY`] events, or farther apart in a recording of
//! more than [`MAX_CHECKPOINTS`] times that, so they stay few: the app's state without its
//! transcript, plus the transcript's length, which is truncated back) and
//! replays at most that many events, so a step costs the same at event 10
//! as at event 1,000,000.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEvent, KeyEventKind};
use futures_core::Stream;
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};

use super::app::{App, AppConfig, Focus, Mode, Msg, PaneId};
use super::keymap::{Action, Keymap};
use super::{Error, Result};
use crate::replay::{Loading, Recording};
use crate::session::transcript::{Cap, Mark, Transcript};

/// What a key does in the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerAction {
    /// Show one more event.
    Next,
    /// Show one event less.
    Prev,
    /// Before the first event.
    Start,
    /// After the last event.
    End,
    /// Play at the recorded speed (times `--speed`), or pause.
    PlayPause,
    Quit,
}

impl ViewerAction {
    /// The viewer action of a keymap action, if it is one.
    pub fn from_action(action: Action) -> Option<ViewerAction> {
        Some(match action {
            Action::ReplayNext => ViewerAction::Next,
            Action::ReplayPrev => ViewerAction::Prev,
            Action::ReplayStart => ViewerAction::Start,
            Action::ReplayEnd => ViewerAction::End,
            Action::ReplayPlay => ViewerAction::PlayPause,
            Action::Quit => ViewerAction::Quit,
            _ => return None,
        })
    }
}

/// Where the viewer stands, for the status bar: `replay 8/30 ▶ ×2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// Events shown.
    pub shown: usize,
    /// Events in the recording (read so far, while loading).
    pub total: usize,
    pub playing: bool,
    /// `--speed`.
    pub speed: f64,
    /// Percent of the file read while it loads in the background.
    pub loading: Option<u64>,
    /// The whole file could not be read (the first events stay).
    pub load_failed: bool,
}

impl Position {
    /// The label drawn first in the status bar.
    pub fn label(&self) -> String {
        let loading = match (self.loading, self.load_failed) {
            (Some(p), _) => format!(" + loading {p}%"),
            (None, true) => " (load failed)".to_string(),
            (None, false) => String::new(),
        };
        format!(
            "replay {}/{}{loading} {} ×{}",
            self.shown,
            self.total,
            if self.playing { "▶" } else { "❚❚" },
            self.speed
        )
    }
}

/// The viewer's transcript cap: 50,000 lines, 8 MiB (the file keeps the
/// rest; seeking back rebuilds from a checkpoint).
pub const VIEWER_CAP: Cap = Cap {
    lines: 50_000,
    bytes: 8 * 1024 * 1024,
};

/// Events between two checkpoints of the viewer's app state.
pub const CHECKPOINT_EVERY: usize = 1024;

/// About the most checkpoints kept: in a longer recording they are spaced
/// wider (a power of two times [`CHECKPOINT_EVERY`]), so their memory stays
/// bounded and a step back replays at most the spacing.
pub const MAX_CHECKPOINTS: usize = 256;

/// The app after `shown` events, with its transcript taken out (it only
/// grows, so its length is enough to restore it).
#[derive(Clone)]
struct Checkpoint {
    shown: usize,
    app: App,
    mark: Mark,
}

/// A recording shown step by step in an ordinary [`App`].
pub struct Viewer {
    recording: Recording,
    /// The whole recording being read while `recording` holds its first events.
    loading: Option<Loading>,
    /// Why the whole recording could not be read (the prefix stays).
    load_error: Option<String>,
    /// Ascending by `shown`; the first is the empty app.
    checkpoints: Vec<Checkpoint>,
    /// The app after events `0..shown`.
    pub app: App,
    shown: usize,
    playing: bool,
    speed: f64,
    quit: bool,
}

impl Viewer {
    /// A viewer before the first event; `speed` multiplies the recorded pace.
    pub fn new(recording: Recording, speed: f64) -> Viewer {
        let header = recording.header();
        let config = AppConfig {
            target: header.target.clone(),
            ehlo: header.options.ehlo.clone().unwrap_or_default(),
            plan: None,
        };
        let mut app = App::new(config);
        // Read-only: no input line, the panes have focus from the start.
        app.focus = Focus::Panes;
        app.replay = Some(Position {
            shown: 0,
            total: recording.len(),
            playing: false,
            speed,
            loading: None,
            load_failed: false,
        });
        // The file keeps every event: the viewer holds less scrollback than
        // a live session, so replaying a recording costs less memory than
        // the file is big.
        app.transcript.set_cap(Some(VIEWER_CAP));
        let checkpoints = vec![Checkpoint {
            shown: 0,
            app: app.clone(),
            mark: Mark::default(),
        }];
        Viewer {
            recording,
            loading: None,
            load_error: None,
            checkpoints,
            app,
            shown: 0,
            playing: false,
            speed: if speed > 0.0 { speed } else { 1.0 },
            quit: false,
        }
    }

    /// Draws with `theme` (the config file's; monochrome under `NO_COLOR`).
    #[must_use]
    pub fn with_theme(mut self, theme: super::Theme) -> Viewer {
        self.app.theme = theme;
        for c in &mut self.checkpoints {
            c.app.theme = theme;
        }
        self
    }

    /// Uses `keys` (the config file's keymap, `[keys.replay]` included).
    #[must_use]
    pub fn with_keys(mut self, keys: Keymap) -> Viewer {
        self.app.keys = keys.clone();
        for c in &mut self.checkpoints {
            c.app.keys = keys.clone();
        }
        self
    }

    /// A viewer on the first events of a recording (`prefix`) while
    /// `loading` reads all of it; see [`Viewer::poll_loading`].
    pub fn loading(prefix: Recording, loading: Loading, speed: f64) -> Viewer {
        let mut viewer = Viewer::new(prefix, speed);
        viewer.loading = Some(loading);
        viewer
    }

    /// True while the whole recording is still being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Why the whole recording could not be read, if it could not.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// Takes the whole recording once read; true when something changed.
    pub fn poll_loading(&mut self) -> bool {
        let Some(result) = self.loading.as_ref().and_then(Loading::try_take) else {
            return false;
        };
        self.loading = None;
        match result {
            // Its first events are the prefix's: position and checkpoints hold.
            Ok(full) if full.len() >= self.recording.len() => self.recording = full,
            Ok(full) => {
                self.load_error = Some(format!(
                    "the file now holds {} events, fewer than the {} read first",
                    full.len(),
                    self.recording.len()
                ));
            }
            Err(e) => self.load_error = Some(e.to_string()),
        }
        true
    }

    /// Events shown so far.
    pub fn shown(&self) -> usize {
        self.shown
    }

    /// The recording being shown.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Shows events up to `n` (clamped): forward one at a time, backward
    /// from the nearest checkpoint at or before `n`.
    pub fn seek(&mut self, n: usize) {
        let n = n.min(self.recording.len());
        if n < self.shown {
            let at = self
                .checkpoints
                .partition_point(|c| c.shown <= n)
                .saturating_sub(1);
            let mut transcript = std::mem::take(&mut self.app.transcript);
            // A checkpoint whose lines the transcript's cap already dropped
            // cannot be returned to by truncating: start over from event 0.
            let cp = match self.checkpoints.get(at) {
                Some(cp) if transcript.truncate_to(cp.mark) => Some(cp),
                _ => {
                    transcript = Transcript::with_cap(transcript.cap());
                    self.checkpoints.first()
                }
            };
            if let Some(cp) = cp {
                // What the reader chose (pane, overlay, raw view, keys,
                // theme) stays; the session's state goes back.
                let mut app = cp.app.clone();
                app.focus = self.app.focus;
                app.pane = self.app.pane;
                app.mode = self.app.mode.clone();
                app.teach.raw = self.app.teach.raw;
                app.keys = self.app.keys.clone();
                app.theme = self.app.theme;
                self.app = app;
                self.shown = cp.shown;
            }
            self.app.transcript = transcript;
        }
        while self.shown < n {
            if let Some(event) = self.recording.event(self.shown) {
                self.app.update(Msg::Session(event));
            }
            self.shown += 1;
            let due = self.shown % self.checkpoint_spacing() == 0;
            if due
                && self
                    .checkpoints
                    .last()
                    .is_some_and(|c| c.shown < self.shown)
            {
                self.checkpoint();
            }
        }
    }

    /// Events between checkpoints for this recording's length.
    fn checkpoint_spacing(&self) -> usize {
        (self.recording.len() / MAX_CHECKPOINTS)
            .next_power_of_two()
            .max(CHECKPOINT_EVERY)
    }

    fn checkpoint(&mut self) {
        let transcript = std::mem::take(&mut self.app.transcript);
        self.checkpoints.push(Checkpoint {
            shown: self.shown,
            app: self.app.clone(),
            mark: transcript.mark(),
        });
        self.app.transcript = transcript;
    }

    /// Applies a viewer key.
    pub fn act(&mut self, action: ViewerAction) {
        match action {
            ViewerAction::Next => self.seek(self.shown + 1),
            ViewerAction::Prev => self.seek(self.shown.saturating_sub(1)),
            ViewerAction::Start => self.seek(0),
            ViewerAction::End => self.seek(self.recording.len()),
            ViewerAction::PlayPause => {
                self.playing = !self.playing && self.shown < self.recording.len()
            }
            ViewerAction::Quit => self.quit = true,
        }
        if !matches!(action, ViewerAction::PlayPause) && self.shown >= self.recording.len() {
            self.playing = false;
        }
    }

    /// How long until the next event at the recorded pace.
    fn next_delay(&self) -> Option<Duration> {
        let next = self.recording.at(self.shown)?;
        let now = self
            .shown
            .checked_sub(1)
            .and_then(|i| self.recording.at(i))
            .unwrap_or_default();
        Some(next.saturating_sub(now).div_f64(self.speed))
    }

    /// Applies a key as the viewer's keymap says: a replay action, a
    /// reading key passed to the app, or nothing.
    pub fn key(&mut self, key: KeyEvent) {
        let scope = self.app.scope();
        let Some(action) = self.app.keys.lookup_viewer(scope, key) else {
            return;
        };
        let overlay = !matches!(self.app.mode, Mode::Normal | Mode::DataEditor(_));
        match action {
            // Ctrl-Q/Ctrl-C (global) quit from anywhere; `q` closes an
            // overlay first, as in the live TUI (its scope says Close).
            Action::Quit => self.quit = true,
            Action::Escape if !overlay => {
                self.app.focus = Focus::Panes;
                self.app.pane = PaneId::Transcript;
            }
            Action::Activate if !overlay => {
                let has_chain = self
                    .app
                    .tls
                    .as_ref()
                    .is_some_and(|t| !t.chain.certs.is_empty());
                if self.app.pane == PaneId::Chain && has_chain {
                    self.app.update(Msg::Action(action));
                }
            }
            a => match ViewerAction::from_action(a) {
                Some(v) => self.act(v),
                None if a.is_reading() => {
                    self.app.update(Msg::Action(a));
                    // Nothing in the viewer takes the input line.
                    self.app.focus = Focus::Panes;
                }
                None => {}
            },
        }
    }

    /// True once `q` or Ctrl-Q was pressed.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The position as the status bar shows it.
    pub fn position(&self) -> Position {
        Position {
            shown: self.shown,
            total: self.recording.len(),
            playing: self.playing,
            speed: self.speed,
            loading: self.loading.as_ref().map(|l| {
                let (read, size) = l.progress();
                (read * 100).checked_div(size).unwrap_or(0)
            }),
            load_failed: self.load_error.is_some(),
        }
    }

    /// Draws the app, the position in its status bar.
    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> Result<()> {
        self.app.replay = Some(self.position());
        let app = &mut self.app;
        let mut rows = 0;
        terminal
            .draw(|frame| {
                rows = super::panes::draw(frame, app).transcript_rows;
            })
            .map_err(|e| Error::Draw(e.to_string()))?;
        if rows > 0 {
            // PgUp/PgDn scroll by what the pane shows.
            self.app.viewport_rows = rows;
        }
        Ok(())
    }

    /// Runs the viewer on `terminal` with keys from `input` until `q`.
    pub async fn run_with<B, S>(&mut self, terminal: &mut Terminal<B>, mut input: S) -> Result<()>
    where
        B: Backend,
        S: Stream<Item = io::Result<TermEvent>> + Unpin,
    {
        self.draw(terminal)?;
        let mut progress = tokio::time::interval(Duration::from_millis(100));
        while !self.quit {
            let delay = self.playing.then(|| self.next_delay()).flatten();
            tokio::select! {
                _ = progress.tick(), if self.loading.is_some() => {
                    self.poll_loading();
                }
                ev = std::future::poll_fn(|cx| std::pin::Pin::new(&mut input).poll_next(cx)) => match ev {
                    Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                        self.key(key);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(Error::Io(e)),
                    None => break,
                },
                _ = tokio::time::sleep(delay.unwrap_or_default()), if delay.is_some() => {
                    self.act(ViewerAction::Next);
                }
            }
            self.draw(terminal)?;
        }
        Ok(())
    }
}

/// Runs the viewer on the real terminal, restoring it on every exit,
/// SIGINT, SIGTERM and SIGHUP included; returns the viewer (to report what
/// loading found).
pub async fn run_terminal(mut viewer: Viewer) -> Result<Viewer> {
    super::install_panic_hook();
    let guard = super::TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let result = tokio::select! {
        r = viewer.run_with(&mut terminal, EventStream::new()) => r,
        _ = crate::signal::stop() => Ok(()),
    };
    drop(terminal);
    drop(guard);
    result.map(|()| viewer)
}
