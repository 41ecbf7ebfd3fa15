//! Stop signals (SIGINT, SIGTERM, SIGHUP) as an orderly shutdown rather
//! than a sudden death, so the terminal is restored, listeners say goodbye
//! and temporary directories are removed on every exit path.
//!
//! ```text
//! kill / closed terminal --> tokio signal streams --> stop().await --> Stop
//!   TUI select! loop: quit, restore the terminal
//!   serve: shutdown (421 / * BYE / -ERR to open connections)
//!   main: waits a short grace for those, then drops the command's future
//!         (its destructors run) and exits 128 + signal number
//! ```
//!
//! A closing terminal emulator or a killed tmux session sends SIGHUP; its
//! default action ends the process at once, skipping every destructor.
//! Each [`Watch`] is its own set of tokio signal streams: they all see every
//! signal that arrives after they were made, so main makes one first and
//! each component makes its own.

use std::io;

/// The signal that asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT (Ctrl-C outside raw mode, `kill -INT`).
    Interrupt,
    /// SIGTERM (`kill`, service managers).
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl Stop {
    /// The signal's name, e.g. `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }

    /// The shell's exit status for a process ended by this signal: 128 + its number.
    pub fn exit_code(self) -> i32 {
        128 + match self {
            Stop::Hangup => 1,
            Stop::Interrupt => 2,
            Stop::Terminate => 15,
        }
    }
}

/// Watches for the stop signals from the moment it is made.
#[cfg(unix)]
pub struct Watch {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Watch {
    /// Starts watching. Must run inside a tokio runtime. From the first
    /// call on, these signals no longer end the process by themselves.
    ///
    /// # Errors
    /// The signal handlers cannot be installed.
    pub fn new() -> io::Result<Watch> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Watch {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next stop signal.
    pub async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
            _ = self.hangup.recv() => Stop::Hangup,
        }
    }
}

/// Watches for the stop signals from the moment it is made (Ctrl-C only
/// where there are no Unix signals).
#[cfg(not(unix))]
pub struct Watch;

#[cfg(not(unix))]
impl Watch {
    /// Starts watching.
    ///
    /// # Errors
    /// Never on this platform.
    pub fn new() -> io::Result<Watch> {
        Ok(Watch)
    }

    /// Waits for Ctrl-C.
    pub async fn next(&mut self) -> Stop {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Stop::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// Waits for a stop signal arriving from now on; never returns when the
/// handlers cannot be installed (the process then keeps the default
/// actions, which main has already replaced).
pub async fn stop() -> Stop {
    match Watch::new() {
        Ok(mut watch) => watch.next().await,
        Err(_) => std::future::pending().await,
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(Stop::Hangup.exit_code(), 129);
        assert_eq!(Stop::Interrupt.exit_code(), 130);
        assert_eq!(Stop::Terminate.exit_code(), 143);
        assert_eq!(Stop::Hangup.name(), "SIGHUP");
    }
}
