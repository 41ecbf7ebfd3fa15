//! The terminal UI: a live SMTP, IMAP or POP3 session driven by hand, with
//! TLS and certificate-chain panes beside the transcript.
//!
//! ```text
//!              +--------------------- tui::run (select! loop) ----------------------+
//! keyboard --> | crossterm EventStream -> keymap -> Action -+                        |
//! engine ----> | SessionHandle.events  -> session::Event ---+-> App::update -> Effect |
//! tick ------> | 100 ms interval (live waiting timer) ------+        |                |
//!              |                 Effect::Command -> outbox -> SessionHandle.commands |
//!              |                 Effect::SaveChain -> <host>-chain.pem in the cwd    |
//!              |                 panes::draw(&App) into any ratatui Backend          |
//!              +---------------------------------------------------------------------+
//! ```
//!
//! The loop never awaits the network: the engine runs on its own task and
//! commands wait in a local outbox until the bounded channel has room.
//!
//! Under a flood (a server streaming untagged responses as fast as it can)
//! the loop stays responsive: keys are served first (`biased` select), engine
//! events are applied for at most [`EVENT_BUDGET`] per turn, and frames are
//! coalesced: engine events mark the screen dirty and it is drawn at most
//! once per [`FRAME`], while a key is drawn at once.

pub mod app;
pub mod auth;
pub mod event;
pub mod input;
pub mod keymap;
pub mod panes;
pub mod plan;
pub mod teach;
pub mod theme;
pub mod viewer;

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Once;
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_core::Stream;
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use tokio::time::{Instant, MissedTickBehavior};

pub use app::{App, AppConfig, Effect, Msg};
pub use plan::Plan;
pub use theme::Theme;

use crate::replay::{RecordStatus, RecordSwitch};
use crate::session::Event;
use crate::session::engine::{Command, SessionHandle};

/// Faults that end the UI (never the peer's: those are shown in the transcript).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Drawing to the terminal failed.
    #[error("terminal output failed: {0}")]
    Draw(String),
    /// Reading keys or setting up the terminal failed.
    #[error("terminal input failed: {0}")]
    Io(#[from] io::Error),
}

/// Result of the UI layer.
pub type Result<T> = std::result::Result<T, Error>;

/// How often the live waiting timer is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Engine events applied per turn of the loop at most, so a flood still lets keys through.
const EVENTS_PER_FRAME: usize = 4096;

/// Time spent applying engine events per turn of the loop at most, in ms:
/// a key waits no longer than this before it is handled.
const EVENT_BUDGET: Duration = Duration::from_millis(1);

/// Shortest time between two frames drawn for engine events (about 60 per
/// second, what a terminal shows); a key is drawn at once.
const FRAME: Duration = Duration::from_millis(16);

/// Runs the UI on `terminal` until the operator quits, reading keys from the
/// real terminal (crossterm's `EventStream`). The terminal must already be
/// set up; [`run_terminal`] does that for a real one.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: SessionHandle,
) -> Result<()> {
    run_with(terminal, app, handle, EventStream::new()).await
}

/// [`run`] with any source of terminal events (tests feed scripted keys).
/// The loop ends when the app quits or `input` ends.
pub async fn run_with<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: SessionHandle,
    input: S,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    run_recording(terminal, app, handle, input, None).await
}

/// [`run_with`] where Ctrl-R flips `switch`, which the caller put between
/// the engine and `handle` with [`crate::replay::tap`].
pub async fn run_recording<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: SessionHandle,
    mut input: S,
    switch: Option<RecordSwitch>,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    if let Some(RecordStatus::On(path)) = switch.as_ref().map(RecordSwitch::status) {
        app.recording = Some(path);
    }
    let SessionHandle {
        commands,
        mut events,
    } = handle;
    let start = Instant::now();
    let mut outbox: VecDeque<Command> = VecDeque::new();
    let mut engine_open = true;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    draw(terminal, app)?;
    let mut last_draw = Instant::now();
    // Something changed that is not on the screen yet.
    let mut dirty = false;
    loop {
        let mut effects = Vec::new();
        // Draw at once (a key), or when the frame is due (engine events).
        let mut now_please = false;
        let due = last_draw + FRAME;
        tokio::select! {
            biased;
            ev = next_event(&mut input) => match ev {
                Some(Ok(ev)) => {
                    if let Some(msg) = event::to_msg(&app.keys, app.scope(), &ev) {
                        effects = app.update(msg);
                    }
                    now_please = true;
                }
                Some(Err(e)) => return Err(Error::Io(e)),
                None => break,
            },
            permit = commands.reserve(), if !outbox.is_empty() => {
                match permit {
                    Ok(permit) => {
                        if let Some(command) = outbox.pop_front() {
                            permit.send(command);
                        }
                    }
                    // The engine is gone; Closed arrives (or arrived) on the events channel.
                    Err(_) => outbox.clear(),
                }
            },
            _ = tokio::time::sleep_until(due), if dirty => {},
            ev = events.recv(), if engine_open => match ev {
                Some(ev) => {
                    effects = app.update(Msg::Session(ev));
                    let budget = std::time::Instant::now();
                    for _ in 0..EVENTS_PER_FRAME {
                        if budget.elapsed() >= EVENT_BUDGET {
                            break;
                        }
                        match events.try_recv() {
                            Ok(ev) => effects.extend(app.update(Msg::Session(ev))),
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                None => {
                    engine_open = false;
                    if app.conn != app::ConnState::Closed {
                        let at = start.elapsed();
                        app.update(Msg::Session(Event::Closed { at, reason: "the session engine stopped".into() }));
                    }
                    now_please = true;
                }
            },
            _ = tick.tick() => {
                app.update(Msg::Tick(start.elapsed()));
                dirty |= app.waiting().is_some();
            },
        }
        for effect in effects {
            match effect {
                Effect::Command(command) => outbox.push_back(command),
                Effect::SaveChain { file_name, pem } => {
                    let saved = save_chain(&file_name, &pem);
                    app.update(Msg::ChainSaved(saved));
                }
                Effect::ToggleRecording => {
                    let status = match &switch {
                        Some(s) => s.toggle().map_err(|e| e.to_string()),
                        None => Err("this session cannot be recorded".to_string()),
                    };
                    app.update(Msg::Recording(status.map(|s| match s {
                        RecordStatus::On(path) => Some(path),
                        RecordStatus::Off => None,
                    })));
                }
            }
        }
        if app.should_quit() {
            // Best effort: a Close or LOGOUT still queued goes out if there is room.
            while let Some(command) = outbox.pop_front() {
                if commands.try_send(command).is_err() {
                    break;
                }
            }
            break;
        }
        if now_please || (dirty && Instant::now() >= last_draw + FRAME) {
            draw(terminal, app)?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
    if dirty {
        draw(terminal, app)?;
    }
    Ok(())
}

async fn next_event<S>(input: &mut S) -> Option<io::Result<TermEvent>>
where
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    std::future::poll_fn(|cx| Pin::new(&mut *input).poll_next(cx)).await
}

/// Draws one frame and records the transcript's page size.
pub fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &mut App) -> Result<()> {
    let mut info = None;
    terminal
        .draw(|frame| info = Some(panes::draw(frame, app)))
        .map_err(|e| Error::Draw(e.to_string()))?;
    if let Some(info) = info.filter(|i| i.transcript_rows > 0) {
        app.viewport_rows = info.transcript_rows;
    }
    Ok(())
}

/// Writes the chain to `file_name` in the current directory; returns the full path.
pub fn save_chain(file_name: &str, pem: &str) -> std::result::Result<PathBuf, String> {
    let dir = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let path = dir.join(file_name);
    std::fs::write(&path, pem).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Puts the terminal back: raw mode off, main screen, no mouse capture.
/// Safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped: on normal exit, on `?` and while unwinding.
pub(crate) struct TerminalGuard;

impl TerminalGuard {
    pub(crate) fn enter() -> Result<Self> {
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic prints its message on the main screen in cooked mode, not into
/// the alternate screen where it would vanish.
pub(crate) fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// Runs the UI on the real terminal: alternate screen, raw mode, mouse
/// capture and bracketed paste, restored on exit, error, panic, and the stop
/// signals SIGINT, SIGTERM and SIGHUP (a closed terminal window). `NO_COLOR` switches to the monochrome theme. Returns the app
/// (e.g. for a transcript export after the session).
pub async fn run_terminal(app: App, handle: SessionHandle) -> Result<App> {
    run_terminal_recording(app, handle, None).await
}

/// [`run_terminal`] with Ctrl-R flipping `switch` (see [`run_recording`]).
pub async fn run_terminal_recording(
    mut app: App,
    handle: SessionHandle,
    switch: Option<RecordSwitch>,
) -> Result<App> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        app.theme = Theme::monochrome();
    }
    install_panic_hook();
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let result = tokio::select! {
        r = run_recording(&mut terminal, &mut app, handle, EventStream::new(), switch) => r,
        // In raw mode Ctrl-C is a key (handled as quit); these are signals
        // sent from outside, e.g. `kill` or a closing terminal emulator.
        _ = crate::signal::stop() => Ok(()),
    };
    drop(terminal);
    drop(guard);
    result.map(|()| app)
}
