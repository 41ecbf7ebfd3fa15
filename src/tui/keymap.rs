//! Keys to [`Action`]s, as one table: the help overlay and the footer are
//! drawn from it, so what is documented is what is bound.
//!
//! With input focus every printable key goes into the input line: no letter
//! is a shortcut there, so an operator typing `noop` or `quit` never triggers
//! anything (unlike `openssl s_client`, where a line starting with `Q` quits
//! and `R` renegotiates). Plain letters act only with pane focus (Esc).
//! Function keys and Ctrl chords work everywhere.
//!
//! [`BINDINGS`] is the built-in table. A [`Keymap`] is the table in force:
//! the built-in one with the config file's `[keys]` changes applied
//! ([`Keymap::rebind`]), checked for conflicts before the TUI starts.
//!
//! ```text
//! [keys] starttls = "F5"  --Rebind--> Keymap::rebind --> Keymap --> lookup, help, footer, hints
//!                                          |
//!                                          +--> KeyConflict { origin: "config.toml:14:1", .. }
//! ```

use std::fmt;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the [`App`](super::app::App) to do; the app interprets it
/// for the current mode and focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Type a character into the input line.
    Insert(char),
    Backspace,
    DeleteForward,
    CursorLeft,
    CursorRight,
    LineStart,
    LineEnd,
    ClearLine,
    /// Send the input line (CRLF added; IMAP tag added) or add a line to the DATA editor.
    Submit,
    HistoryPrev,
    HistoryNext,
    /// Complete the command word; show the advertised capabilities.
    Complete,
    CompleteBack,
    /// Stop waiting for a reply, else move focus between input and panes.
    Escape,
    FocusInput,
    /// Enter in pane focus: certificate detail on the chain pane, else back to input.
    Activate,
    /// Send the next planned command.
    Step,
    /// Put the next planned command into the input line.
    EditStep,
    /// Send STARTTLS/STLS and upgrade.
    StartTls,
    /// IMAP IDLE: send `DONE`; DATA editor: end the message.
    Done,
    /// Polite quit (QUIT/LOGOUT), then at once on the second press.
    Quit,
    Help,
    /// Close the overlay.
    Close,
    /// Save the chain as PEM.
    SaveChain,
    /// Start or pause recording the session.
    ToggleRecording,
    Confirm,
    Cancel,
    Up,
    Down,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    /// Show the selected line as raw bytes (hex and escaped text), or back to explanations.
    ToggleRaw,
    /// Replay viewer: show one more event.
    ReplayNext,
    /// Replay viewer: show one event less.
    ReplayPrev,
    /// Replay viewer: before the first event.
    ReplayStart,
    /// Replay viewer: after the last event.
    ReplayEnd,
    /// Replay viewer: play at the recorded pace (times `--speed`), or pause.
    ReplayPlay,
    /// Scroll the transcript left / right, to read lines wider than the pane.
    ScrollLeft,
    ScrollRight,
    /// The credentials helper: after a `334` / `+` challenge, a masked
    /// prompt that answers it; otherwise a prompt that builds the login
    /// command (AUTH PLAIN, LOGIN, USER/PASS).
    Credentials,
}

impl Action {
    /// True for the actions that only read what is on screen (scroll,
    /// select, explain, raw view, panes, certificate detail, help) or steer
    /// the replay viewer: the viewer's keys. Sending, typing and recording
    /// are not among them.
    pub fn is_reading(self) -> bool {
        matches!(
            self,
            Action::Escape
                | Action::Activate
                | Action::Quit
                | Action::Help
                | Action::Close
                | Action::Up
                | Action::Down
                | Action::ScrollUp
                | Action::ScrollDown
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom
                | Action::NextPane
                | Action::PrevPane
                | Action::ToggleRaw
                | Action::ScrollLeft
                | Action::ScrollRight
                | Action::ReplayNext
                | Action::ReplayPrev
                | Action::ReplayStart
                | Action::ReplayEnd
                | Action::ReplayPlay
        )
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In every focus and mode.
    Global,
    /// The input line (or the DATA editor) has focus.
    Input,
    /// The panes have focus.
    Panes,
    /// The help overlay is open.
    Help,
    /// The certificate detail is open.
    CertDetail,
    /// A yes/no question is open.
    Confirm,
    /// The replay viewer (`mailwire replay FILE`) with pane focus: its keys
    /// come before the panes' own.
    Replay,
}

impl Action {
    /// Every action a key can be bound to, with its name in the config
    /// file's `[keys]` table (typing a character is not rebindable).
    pub const NAMED: &'static [(Action, &'static str)] = &[
        (Action::Help, "help"),
        (Action::Step, "step"),
        (Action::EditStep, "edit_step"),
        (Action::StartTls, "starttls"),
        (Action::Done, "done"),
        (Action::ToggleRaw, "toggle_raw"),
        (Action::ToggleRecording, "toggle_recording"),
        (Action::Quit, "quit"),
        (Action::Submit, "submit"),
        (Action::Escape, "escape"),
        (Action::Complete, "complete"),
        (Action::CompleteBack, "complete_back"),
        (Action::HistoryPrev, "history_prev"),
        (Action::HistoryNext, "history_next"),
        (Action::CursorLeft, "cursor_left"),
        (Action::CursorRight, "cursor_right"),
        (Action::LineStart, "line_start"),
        (Action::LineEnd, "line_end"),
        (Action::ClearLine, "clear_line"),
        (Action::Backspace, "backspace"),
        (Action::DeleteForward, "delete_forward"),
        (Action::FocusInput, "focus_input"),
        (Action::Activate, "activate"),
        (Action::SaveChain, "save_chain"),
        (Action::NextPane, "next_pane"),
        (Action::PrevPane, "prev_pane"),
        (Action::Up, "up"),
        (Action::Down, "down"),
        (Action::ScrollUp, "scroll_up"),
        (Action::ScrollDown, "scroll_down"),
        (Action::PageUp, "page_up"),
        (Action::PageDown, "page_down"),
        (Action::Top, "top"),
        (Action::Bottom, "bottom"),
        (Action::Close, "close"),
        (Action::Confirm, "confirm"),
        (Action::Cancel, "cancel"),
        (Action::ReplayNext, "replay_next"),
        (Action::ReplayPrev, "replay_prev"),
        (Action::ReplayStart, "replay_start"),
        (Action::ReplayEnd, "replay_end"),
        (Action::ReplayPlay, "replay_play"),
        (Action::ScrollLeft, "scroll_left"),
        (Action::ScrollRight, "scroll_right"),
        (Action::Credentials, "credentials"),
    ];

    /// The action called `name` in the config file (`starttls`, `help`).
    pub fn from_name(name: &str) -> Option<Action> {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(a, _)| *a)
    }

    /// The config file's name for this action; `None` for typing.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMED
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, n)| *n)
    }
}

impl Scope {
    /// Every scope, in the order the help overlay lists them.
    pub const ALL: [Scope; 7] = [
        Scope::Global,
        Scope::Input,
        Scope::Panes,
        Scope::Help,
        Scope::CertDetail,
        Scope::Confirm,
        Scope::Replay,
    ];

    /// The scope's table name in the config file: `[keys.panes]`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Input => "input",
            Scope::Panes => "panes",
            Scope::Help => "help",
            Scope::CertDetail => "cert_detail",
            Scope::Confirm => "confirm",
            Scope::Replay => "replay",
        }
    }

    /// The scope called `name` in the config file.
    pub fn from_name(name: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether a plain character typed here goes into the input line, so
    /// it cannot be a shortcut (global bindings apply in the input line too).
    fn types_characters(self) -> bool {
        matches!(self, Scope::Global | Scope::Input)
    }

    /// Where the scope applies, for messages: `everywhere`, `in pane focus`.
    pub fn phrase(self) -> &'static str {
        match self {
            Scope::Global => "everywhere",
            Scope::Input => "in the input line",
            Scope::Panes => "in pane focus",
            Scope::Help => "in the help overlay",
            Scope::CertDetail => "in the certificate detail",
            Scope::Confirm => "in a confirmation",
            Scope::Replay => "in the replay viewer",
        }
    }

    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Input => "Input line (default focus)",
            Scope::Panes => "Panes (after Esc)",
            Scope::Help => "Help overlay",
            Scope::CertDetail => "Certificate detail",
            Scope::Confirm => "Confirmation",
            Scope::Replay => "Replay viewer (mailwire replay FILE)",
        }
    }
}

/// One key with its modifiers (Shift is implied by the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    const fn alt(code: KeyCode) -> Self {
        Self {
            code,
            mods: KeyModifiers::ALT,
        }
    }

    /// Parses a key as the config file writes it: `F5`, `Ctrl-T` (also
    /// `C-t`, `ctrl+t`), `Alt-x`, `Shift-Tab`, `Esc`, `Enter`, `PgUp`,
    /// `Space`, or one character (`n`, `?`, `N` is Shift-n).
    ///
    /// # Errors
    /// A message naming the text and the accepted forms.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text.trim();
        let mut shift = false;
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "ctrl+", "c-", "control-"]
                .iter()
                .map(|p| (p, KeyModifiers::CONTROL))
                .chain(
                    ["alt-", "alt+", "m-", "meta-"]
                        .iter()
                        .map(|p| (p, KeyModifiers::ALT)),
                )
                .chain(
                    ["shift-", "shift+", "s-"]
                        .iter()
                        .map(|p| (p, KeyModifiers::SHIFT)),
                )
                .find(|(p, _)| lower.starts_with(**p) && rest.len() > p.len());
            let Some((p, m)) = prefix else { break };
            if m == KeyModifiers::SHIFT {
                shift = true;
            } else {
                mods |= m;
            }
            rest = &rest[p.len()..];
        }
        let bad = || {
            format!(
                "{text:?} is not a key: use e.g. \"F5\", \"Ctrl-T\", \"Alt-x\", \"Shift-Tab\", \"Esc\", \"PgUp\" or one character"
            )
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" | "bs" => KeyCode::Backspace,
                "del" | "delete" => KeyCode::Delete,
                "ins" | "insert" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "space" => KeyCode::Char(' '),
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=24) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        if mods.contains(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return Err(format!(
                "{text:?}: Ctrl+Alt is AltGr on many keyboards and is read as typing"
            ));
        }
        let code = match (code, shift) {
            (c, false) => c,
            (KeyCode::Tab, true) => KeyCode::BackTab,
            (KeyCode::Char(c), true) if c.is_alphabetic() && mods.is_empty() => {
                KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
            }
            _ => {
                return Err(format!(
                    "{text:?}: Shift reaches the program only with Tab or a letter (write the shifted character itself, e.g. \"?\")"
                ));
            }
        };
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                if !c.is_ascii_alphanumeric() {
                    return Err(format!(
                        "{text:?}: terminals send Ctrl only with a letter or digit"
                    ));
                }
                KeyCode::Char(c.to_ascii_lowercase())
            }
            c => c,
        };
        Ok(Key { code, mods })
    }

    /// The key as the footer prints it: `^T` for `Ctrl-T`, else [`Key::name`].
    pub fn short_name(&self) -> String {
        match self.code {
            KeyCode::Char(c) if self.mods == KeyModifiers::CONTROL => {
                format!("^{}", c.to_ascii_uppercase())
            }
            _ => self.name(),
        }
    }

    /// A plain printable character, which typing in the input line needs.
    fn is_typing(&self) -> bool {
        matches!(self.code, KeyCode::Char(c) if !c.is_control()) && self.mods.is_empty()
    }

    /// The key as printed in the help and footer, e.g. `Ctrl-T`, `F8`, `PgUp`.
    pub fn name(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                c.to_ascii_uppercase().to_string()
            }
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Insert => "Ins".into(),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        out.push_str(&base);
        out
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One row of the keymap table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub scope: Scope,
    pub key: Key,
    pub action: Action,
    /// What the key does, for the help overlay.
    pub help: &'static str,
}

const fn bind(scope: Scope, key: Key, action: Action, help: &'static str) -> Binding {
    Binding {
        scope,
        key,
        action,
        help,
    }
}

use Action as A;
use KeyCode as K;
use Scope as S;

/// Every key binding. Order matters only for display.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(S::Global, Key::plain(K::F(1)), A::Help, "help: this list of keys"),
    bind(S::Global, Key::plain(K::F(8)), A::Step, "send the next command of the plan"),
    bind(S::Global, Key::plain(K::F(7)), A::EditStep, "edit the next planned command"),
    bind(S::Global, Key::ctrl('t'), A::StartTls, "STARTTLS/STLS (capabilities first)"),
    bind(S::Global, Key::ctrl('d'), A::Done, "IDLE: send DONE; DATA: end the message"),
    bind(S::Global, Key::plain(K::F(6)), A::ToggleRaw, "raw wire view of the selected line on/off"),
    bind(S::Global, Key::plain(K::F(2)), A::NextPane, "next pane (next tab when narrow)"),
    bind(S::Global, Key::ctrl('p'), A::Credentials, "credentials: answer a 334/+ challenge, or build the login (masked)"),
    bind(S::Global, Key::alt(K::Left), A::ScrollLeft, "transcript: scroll left / right (long lines)"),
    bind(S::Global, Key::alt(K::Right), A::ScrollRight, "transcript: scroll left / right (long lines)"),
    bind(S::Global, Key::ctrl('r'), A::ToggleRecording, "record the session / pause recording"),
    bind(S::Global, Key::ctrl('q'), A::Quit, "quit: QUIT/LOGOUT first, again: at once"),
    bind(S::Global, Key::ctrl('c'), A::Quit, "quit: QUIT/LOGOUT first, again: at once"),
    bind(S::Global, Key::plain(K::PageUp), A::PageUp, "transcript: page up"),
    bind(S::Global, Key::plain(K::PageDown), A::PageDown, "transcript: page down"),
    bind(S::Global, Key::plain(K::Home), A::Top, "transcript: first line"),
    bind(S::Global, Key::plain(K::End), A::Bottom, "transcript: last line, follow"),
    bind(S::Input, Key::plain(K::Enter), A::Submit, "send as typed + CRLF (IMAP: tag added)"),
    bind(S::Input, Key::plain(K::Esc), A::Escape, "stop waiting; else focus the panes"),
    bind(S::Input, Key::plain(K::Tab), A::Complete, "complete; show advertised capabilities"),
    bind(S::Input, Key::plain(K::BackTab), A::CompleteBack, "previous completion"),
    bind(S::Input, Key::plain(K::Up), A::HistoryPrev, "history: previous line"),
    bind(S::Input, Key::plain(K::Down), A::HistoryNext, "history: next line"),
    bind(S::Input, Key::plain(K::Left), A::CursorLeft, "cursor left / right"),
    bind(S::Input, Key::plain(K::Right), A::CursorRight, "cursor left / right"),
    bind(S::Input, Key::ctrl('a'), A::LineStart, "cursor to start / end of line"),
    bind(S::Input, Key::ctrl('e'), A::LineEnd, "cursor to start / end of line"),
    bind(S::Input, Key::ctrl('u'), A::ClearLine, "clear the line"),
    bind(S::Input, Key::plain(K::Backspace), A::Backspace, "delete before / at the cursor"),
    bind(S::Input, Key::plain(K::Delete), A::DeleteForward, "delete before / at the cursor"),
    bind(S::Panes, Key::ch('n'), A::Step, "send the next command of the plan"),
    bind(S::Panes, Key::ch('e'), A::EditStep, "edit the next planned command"),
    bind(S::Panes, Key::ch('s'), A::SaveChain, "save the chain as ./HOST-chain.pem"),
    bind(S::Panes, Key::ch('?'), A::Help, "help"),
    bind(S::Panes, Key::ch('i'), A::FocusInput, "back to the input line"),
    bind(S::Panes, Key::plain(K::Enter), A::Activate, "chain: certificate detail; else: input"),
    bind(S::Panes, Key::plain(K::Esc), A::Escape, "stop waiting; else back to input"),
    bind(S::Panes, Key::plain(K::Tab), A::NextPane, "next pane"),
    bind(S::Panes, Key::plain(K::Right), A::NextPane, "next pane"),
    bind(S::Panes, Key::plain(K::BackTab), A::PrevPane, "previous pane"),
    bind(S::Panes, Key::plain(K::Left), A::PrevPane, "previous pane"),
    bind(S::Panes, Key::ch('<'), A::ScrollLeft, "transcript: scroll left / right (long lines)"),
    bind(S::Panes, Key::ch('>'), A::ScrollRight, "transcript: scroll left / right (long lines)"),
    bind(S::Panes, Key::ch('x'), A::ToggleRaw, "raw wire view of the selected line on/off"),
    bind(S::Panes, Key::plain(K::Up), A::Up, "transcript/TLS: select a line to explain; chain: certificate"),
    bind(S::Panes, Key::plain(K::Down), A::Down, "transcript/TLS: select a line to explain; chain: certificate"),
    bind(S::Help, Key::plain(K::Esc), A::Close, "close"),
    bind(S::Help, Key::ch('q'), A::Close, "close"),
    bind(S::Help, Key::ch('?'), A::Close, "close"),
    bind(S::Help, Key::plain(K::Up), A::Up, "scroll"),
    bind(S::Help, Key::plain(K::Down), A::Down, "scroll"),
    bind(S::CertDetail, Key::plain(K::Esc), A::Close, "close"),
    bind(S::CertDetail, Key::plain(K::Enter), A::Close, "close"),
    bind(S::CertDetail, Key::ch('q'), A::Close, "close"),
    bind(S::CertDetail, Key::plain(K::Left), A::PrevPane, "certificate towards the leaf / root"),
    bind(S::CertDetail, Key::plain(K::Right), A::NextPane, "certificate towards the leaf / root"),
    bind(S::CertDetail, Key::plain(K::Up), A::Up, "scroll"),
    bind(S::CertDetail, Key::plain(K::Down), A::Down, "scroll"),
    bind(S::CertDetail, Key::ch('s'), A::SaveChain, "save the chain as PEM"),
    bind(S::Confirm, Key::ch('y'), A::Confirm, "yes"),
    bind(S::Confirm, Key::plain(K::Enter), A::Cancel, "no: Enter never sends credentials"),
    bind(S::Confirm, Key::ch('n'), A::Cancel, "no: Enter never sends credentials"),
    bind(S::Confirm, Key::plain(K::Esc), A::Cancel, "no: Enter never sends credentials"),
    bind(S::Replay, Key::ch('n'), A::ReplayNext, "next event"),
    bind(S::Replay, Key::plain(K::Right), A::ReplayNext, "next event"),
    bind(S::Replay, Key::ch('p'), A::ReplayPrev, "previous event"),
    bind(S::Replay, Key::plain(K::Left), A::ReplayPrev, "previous event"),
    bind(S::Replay, Key::plain(K::Home), A::ReplayStart, "before the first event"),
    bind(S::Replay, Key::plain(K::End), A::ReplayEnd, "after the last event"),
    bind(S::Replay, Key::ch(' '), A::ReplayPlay, "play at the recorded pace / pause"),
    bind(S::Replay, Key::plain(K::Esc), A::Escape, "back to the transcript pane (does not quit)"),
    bind(S::Replay, Key::ch('q'), A::Quit, "quit the viewer"),
];

/// Shift is carried by the character itself (`A`, `?`), and Ctrl+Alt is
/// AltGr on many keyboards (`@`, `{`): both are plain typing.
fn normalise(key: KeyEvent) -> Key {
    let mut mods = key.modifiers - KeyModifiers::SHIFT;
    if mods.contains(KeyModifiers::CONTROL | KeyModifiers::ALT) {
        mods = KeyModifiers::NONE;
    }
    let code = match key.code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
            KeyCode::Char(c.to_ascii_lowercase())
        }
        other => other,
    };
    Key { code, mods }
}

/// The action for `key` in `scope` with the built-in bindings (see
/// [`Keymap::lookup`]).
pub fn lookup(scope: Scope, key: KeyEvent) -> Option<Action> {
    lookup_in(BINDINGS, scope, key)
}

/// The scope's own bindings, then the global ones, then (input scope only)
/// any printable character as typing.
fn lookup_in(table: &[Binding], scope: Scope, key: KeyEvent) -> Option<Action> {
    let norm = normalise(key);
    let find = |s: Scope| {
        table
            .iter()
            .find(|b| b.scope == s && b.key == norm)
            .map(|b| b.action)
    };
    find(scope)
        .or_else(|| find(Scope::Global))
        .or(match (scope, norm.code) {
            (Scope::Input, KeyCode::Char(c)) if norm.mods.is_empty() && !c.is_control() => {
                Some(Action::Insert(c))
            }
            _ => None,
        })
}

/// The built-in bindings of one scope.
pub fn bindings(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.scope == scope)
}

/// One change from the config file's `[keys]` table: `action` gets exactly
/// `keys` (none unbinds it), in `scope` or, without one, in every scope
/// where the built-in table binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebind {
    /// `None` for `[keys]`, `Some` for `[keys.panes]` and the like.
    pub scope: Option<Scope>,
    pub action: Action,
    pub keys: Vec<Key>,
    /// Where it was written, `FILE:LINE:COL`, for error messages.
    pub origin: String,
}

/// A key table that cannot work: two actions on one key, or a character
/// that the input line needs for typing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct KeyConflict {
    /// `FILE:LINE:COL` of the binding that caused it.
    pub origin: String,
    pub message: String,
}

/// Where a binding came from, for conflict messages.
#[derive(Debug, Clone)]
enum Source {
    BuiltIn,
    Config(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built in"),
            Source::Config(origin) => write!(f, "set at {origin}"),
        }
    }
}

/// The key bindings in force: [`BINDINGS`] with the config file's changes.
/// Cheap to clone (the app is cloned for the replay viewer's checkpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    table: Arc<[Binding]>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            table: BINDINGS.into(),
        }
    }
}

impl Keymap {
    /// The built-in table with `changes` applied in order, `[keys]` entries
    /// before scoped ones so `[keys.panes]` refines `[keys]`.
    ///
    /// # Errors
    /// Every conflict found, each naming the config line that caused it:
    /// one key for two actions in a scope, a scope's key hiding a global
    /// one, a plain character in the input line or among the global keys
    /// (it would stop being typed), or no key left to quit.
    pub fn rebind(changes: &[Rebind]) -> Result<Keymap, Vec<KeyConflict>> {
        let mut table: Vec<(Binding, Source)> =
            BINDINGS.iter().map(|b| (*b, Source::BuiltIn)).collect();
        let ordered = changes
            .iter()
            .filter(|c| c.scope.is_none())
            .chain(changes.iter().filter(|c| c.scope.is_some()));
        for change in ordered {
            let scopes: Vec<Scope> = match change.scope {
                Some(s) => vec![s],
                None => {
                    let mut scopes: Vec<Scope> = Vec::new();
                    for b in BINDINGS.iter().filter(|b| b.action == change.action) {
                        if !scopes.contains(&b.scope) {
                            scopes.push(b.scope);
                        }
                    }
                    if scopes.is_empty() {
                        scopes.push(Scope::Global);
                    }
                    scopes
                }
            };
            for scope in scopes {
                let help = help_for(&table, scope, change.action);
                let at = table
                    .iter()
                    .position(|(b, _)| b.scope == scope && b.action == change.action)
                    .unwrap_or(table.len());
                table.retain(|(b, _)| !(b.scope == scope && b.action == change.action));
                let at = at.min(table.len());
                for (i, key) in change.keys.iter().enumerate() {
                    table.insert(
                        at + i,
                        (
                            bind(scope, *key, change.action, help),
                            Source::Config(change.origin.clone()),
                        ),
                    );
                }
            }
        }
        let mut conflicts = check(&table);
        if !table.iter().any(|(b, _)| b.action == Action::Quit) {
            let origin = changes
                .iter()
                .rfind(|c| c.action == Action::Quit)
                .map(|c| c.origin.clone())
                .unwrap_or_default();
            conflicts.push(KeyConflict {
                origin,
                message: "quit has no key left: keep at least one".into(),
            });
        }
        if conflicts.is_empty() {
            Ok(Keymap {
                table: table.into_iter().map(|(b, _)| b).collect(),
            })
        } else {
            Err(conflicts)
        }
    }

    /// The action for `key` in `scope`: the scope's own bindings, then the
    /// global ones, then (input scope only) any printable character as typing.
    pub fn lookup(&self, scope: Scope, key: KeyEvent) -> Option<Action> {
        lookup_in(&self.table, scope, key)
    }

    /// The replay viewer's action for `key` in `scope`: with pane focus the
    /// [`Scope::Replay`] bindings come first, then the panes' and the global
    /// ones; overlays (help, certificate detail) keep their own.
    pub fn lookup_viewer(&self, scope: Scope, key: KeyEvent) -> Option<Action> {
        if scope == Scope::Panes {
            let norm = normalise(key);
            if let Some(b) = self
                .table
                .iter()
                .find(|b| b.scope == Scope::Replay && b.key == norm)
            {
                return Some(b.action);
            }
        }
        self.lookup(scope, key)
    }

    /// Keys for `action` in the replay viewer: its own scope, else the panes'.
    pub fn viewer_keys(&self, action: Action) -> Vec<Key> {
        let own: Vec<Key> = self
            .table
            .iter()
            .filter(|b| b.scope == Scope::Replay && b.action == action)
            .map(|b| b.key)
            .collect();
        if own.is_empty() {
            self.keys(Scope::Panes, action)
        } else {
            own
        }
    }

    /// The bindings of one scope, for the help overlay.
    pub fn bindings(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.table.iter().filter(move |b| b.scope == scope)
    }

    /// Keys that do `action` in `scope`: its own bindings, else the global ones.
    pub fn keys(&self, scope: Scope, action: Action) -> Vec<Key> {
        let of = |s: Scope| -> Vec<Key> {
            self.table
                .iter()
                .filter(|b| b.scope == s && b.action == action)
                .map(|b| b.key)
                // A global key hidden by the scope's own binding does not work here.
                .filter(|k| {
                    s == scope
                        || !self
                            .table
                            .iter()
                            .any(|b| b.scope == scope && b.key == *k && b.action != action)
                })
                .collect()
        };
        let own = of(scope);
        if own.is_empty() && scope != Scope::Global {
            of(Scope::Global)
        } else {
            own
        }
    }

    /// The first key for `action` in `scope` as hints print it (`Ctrl-T`),
    /// or `unbound`.
    pub fn hint(&self, scope: Scope, action: Action) -> String {
        self.keys(scope, action)
            .first()
            .map_or_else(|| "unbound".to_string(), Key::name)
    }
}

/// The help text for a binding of `action` in `scope`: the replaced
/// binding's, else that of the action anywhere, else its config name.
fn help_for(table: &[(Binding, Source)], scope: Scope, action: Action) -> &'static str {
    let find = |pred: &dyn Fn(&Binding) -> bool| {
        table
            .iter()
            .map(|(b, _)| b)
            .chain(BINDINGS.iter())
            .find(|b| pred(b))
            .map(|b| b.help)
    };
    find(&|b| b.scope == scope && b.action == action)
        .or_else(|| find(&|b| b.action == action))
        .or_else(|| action.name())
        .unwrap_or("")
}

/// Every conflict in `table`, named after the config line that made it.
fn check(table: &[(Binding, Source)]) -> Vec<KeyConflict> {
    let mut out = Vec::new();
    let name = |a: Action| a.name().unwrap_or("typing");
    for (i, (b, src)) in table.iter().enumerate() {
        let Source::Config(origin) = src else {
            continue;
        };
        if b.scope.types_characters() && b.key.is_typing() {
            out.push(KeyConflict {
                origin: origin.clone(),
                message: format!(
                    "{} for {} in [keys{}]: a plain character is typed into the input line; use a function key or a Ctrl chord",
                    b.key.name(),
                    name(b.action),
                    scope_suffix(b.scope),
                ),
            });
        }
        for (j, (o, osrc)) in table.iter().enumerate() {
            if i == j || o.key != b.key || o.action == b.action {
                continue;
            }
            // Report each pair once: from the later entry, or from the
            // config entry when the other is built in.
            let same_scope = o.scope == b.scope;
            // The replay viewer's keys come first on purpose (Home/End
            // seek there instead of scrolling): not a conflict.
            let hides = (o.scope == Scope::Global) != (b.scope == Scope::Global)
                && o.scope != Scope::Replay
                && b.scope != Scope::Replay;
            if !(same_scope || hides) {
                continue;
            }
            // A scoped binding that repeats a global one of the same action
            // (from a `[keys]` entry) is covered by the global conflict.
            let scoped = if b.scope == Scope::Global { o } else { b };
            if hides
                && table.iter().any(|(g, _)| {
                    g.scope == Scope::Global && g.key == scoped.key && g.action == scoped.action
                })
            {
                continue;
            }
            if matches!(osrc, Source::Config(_)) && j > i {
                continue;
            }
            let message = if same_scope {
                format!(
                    "{} is bound to both {} ({src}) and {} ({osrc}) {}; rebind one of them",
                    b.key.name(),
                    name(b.action),
                    name(o.action),
                    b.scope.phrase(),
                )
            } else {
                let (global, scoped) = if b.scope == Scope::Global {
                    ((b, src), (o, osrc))
                } else {
                    ((o, osrc), (b, src))
                };
                format!(
                    "{} does {} everywhere ({}) but {} {} ({}): the second hides the first; rebind one of them",
                    b.key.name(),
                    name(global.0.action),
                    global.1,
                    name(scoped.0.action),
                    scoped.0.scope.phrase(),
                    scoped.1,
                )
            };
            out.push(KeyConflict {
                origin: origin.clone(),
                message,
            });
        }
    }
    out
}

fn scope_suffix(scope: Scope) -> String {
    if scope == Scope::Global {
        String::new()
    } else {
        format!(".{}", scope.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(scope: Scope, text: &str) -> Vec<Option<Action>> {
        text.chars()
            .map(|c| lookup(scope, press(KeyCode::Char(c))))
            .collect()
    }

    #[test]
    fn typing_in_input_focus_never_triggers_a_shortcut() {
        for word in [
            "noop",
            "quit",
            "QUIT",
            "n",
            "e",
            "s",
            "i",
            "q",
            "?",
            "y",
            "RSET",
            "a1 LOGOUT",
        ] {
            let actions = typed(Scope::Input, word);
            let expected: Vec<_> = word.chars().map(|c| Some(Action::Insert(c))).collect();
            assert_eq!(actions, expected, "{word}");
        }
        let shifted = KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT);
        assert_eq!(lookup(Scope::Input, shifted), Some(Action::Insert('Q')));
        let altgr = KeyEvent::new(
            KeyCode::Char('@'),
            KeyModifiers::CONTROL | KeyModifiers::ALT,
        );
        assert_eq!(lookup(Scope::Input, altgr), Some(Action::Insert('@')));
    }

    #[test]
    fn letters_are_shortcuts_only_in_pane_focus() {
        assert_eq!(
            typed(Scope::Panes, "nes?i"),
            [
                Some(Action::Step),
                Some(Action::EditStep),
                Some(Action::SaveChain),
                Some(Action::Help),
                Some(Action::FocusInput),
            ]
        );
        assert_eq!(typed(Scope::Panes, "xq"), [Some(Action::ToggleRaw), None]);
    }

    #[test]
    fn function_keys_and_ctrl_chords_work_everywhere() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        for scope in [Scope::Input, Scope::Panes, Scope::Help, Scope::CertDetail] {
            assert_eq!(lookup(scope, press(KeyCode::F(8))), Some(Action::Step));
            assert_eq!(lookup(scope, press(KeyCode::F(7))), Some(Action::EditStep));
            assert_eq!(lookup(scope, ctrl('t')), Some(Action::StartTls));
            assert_eq!(lookup(scope, ctrl('q')), Some(Action::Quit));
            assert_eq!(lookup(scope, ctrl('c')), Some(Action::Quit));
            assert_eq!(lookup(scope, ctrl('T')), Some(Action::StartTls));
        }
    }

    #[test]
    fn enter_and_esc_depend_on_focus() {
        assert_eq!(
            lookup(Scope::Input, press(KeyCode::Enter)),
            Some(Action::Submit)
        );
        assert_eq!(
            lookup(Scope::Panes, press(KeyCode::Enter)),
            Some(Action::Activate)
        );
        assert_eq!(
            lookup(Scope::Confirm, press(KeyCode::Enter)),
            Some(Action::Cancel),
            "Enter on a question that may send credentials is no"
        );
        assert_eq!(
            lookup(Scope::Help, press(KeyCode::Esc)),
            Some(Action::Close)
        );
        assert_eq!(
            lookup(Scope::Input, press(KeyCode::Tab)),
            Some(Action::Complete)
        );
        assert_eq!(
            lookup(Scope::Panes, press(KeyCode::Tab)),
            Some(Action::NextPane)
        );
    }

    #[test]
    fn every_binding_is_reachable_and_unique() {
        for (i, b) in BINDINGS.iter().enumerate() {
            assert!(
                !BINDINGS[..i]
                    .iter()
                    .any(|o| o.scope == b.scope && o.key == b.key),
                "{:?} bound twice in {:?}",
                b.key,
                b.scope
            );
            assert!(!b.help.is_empty());
        }
    }

    #[test]
    fn keys_parse_as_written_in_the_config_file() {
        let k = |t| Key::parse(t).unwrap();
        assert_eq!(k("F5"), Key::plain(KeyCode::F(5)));
        for t in ["Ctrl-T", "ctrl-t", "C-t", "ctrl+T", "Control-t"] {
            assert_eq!(k(t), Key::ctrl('t'), "{t}");
        }
        assert_eq!(k("Shift-Tab"), Key::plain(KeyCode::BackTab));
        assert_eq!(k("esc"), Key::plain(KeyCode::Esc));
        assert_eq!(k("PgUp"), Key::plain(KeyCode::PageUp));
        assert_eq!(k("Space"), Key::ch(' '));
        assert_eq!(k("?"), Key::ch('?'));
        assert_eq!(k("Shift-n"), Key::ch('N'));
        assert_eq!(
            k("Alt-x"),
            Key {
                code: KeyCode::Char('x'),
                mods: KeyModifiers::ALT
            }
        );
        for bad in [
            "F25",
            "Hyper-x",
            "Ctrl-Alt-x",
            "Shift-F5",
            "Ctrl-?",
            "",
            "Enterr",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        // The printed name parses back to the same key.
        for b in BINDINGS {
            assert_eq!(Key::parse(&b.key.name()), Ok(b.key), "{:?}", b.key);
        }
        assert_eq!(Key::ctrl('t').short_name(), "^T");
        assert_eq!(Key::plain(KeyCode::F(8)).short_name(), "F8");
    }

    #[test]
    fn every_action_has_a_unique_name() {
        for (i, (a, n)) in Action::NAMED.iter().enumerate() {
            assert_eq!(Action::from_name(n), Some(*a));
            assert!(!Action::NAMED[..i].iter().any(|(o, m)| o == a || m == n));
        }
        for b in BINDINGS {
            assert!(b.action.name().is_some(), "{:?}", b.action);
        }
        for s in Scope::ALL {
            assert_eq!(Scope::from_name(s.name()), Some(s));
        }
    }

    #[test]
    fn the_built_in_table_has_no_conflicts() {
        assert_eq!(Keymap::rebind(&[]), Ok(Keymap::default()));
        let all: Vec<(Binding, Source)> = BINDINGS
            .iter()
            .map(|b| (*b, Source::Config("built-in".into())))
            .collect();
        assert_eq!(check(&all), Vec::new());
    }

    #[test]
    fn rebinding_replaces_the_action_where_it_is_bound() {
        let rebind = |scope, action, keys: &[&str]| Rebind {
            scope,
            action,
            keys: keys.iter().map(|k| Key::parse(k).unwrap()).collect(),
            origin: "test".into(),
        };
        let map = Keymap::rebind(&[
            rebind(None, Action::Help, &["F10"]),
            rebind(Some(Scope::Panes), Action::Help, &["h", "?"]),
            rebind(None, Action::StartTls, &["F5"]),
        ])
        .unwrap();
        let f = |n| KeyEvent::new(KeyCode::F(n), KeyModifiers::NONE);
        assert_eq!(map.lookup(Scope::Input, f(10)), Some(Action::Help));
        assert_eq!(map.lookup(Scope::Input, f(1)), None);
        assert_eq!(map.lookup(Scope::Panes, f(5)), Some(Action::StartTls));
        assert_eq!(
            map.lookup(
                Scope::Panes,
                KeyEvent::new(KeyCode::Char('h'), KeyModifiers::NONE)
            ),
            Some(Action::Help)
        );
        // Typing is untouched.
        assert_eq!(
            map.lookup(
                Scope::Input,
                KeyEvent::new(KeyCode::Char('h'), KeyModifiers::NONE)
            ),
            Some(Action::Insert('h'))
        );
        assert_eq!(map.hint(Scope::Input, Action::StartTls), "F5");
        assert_eq!(map.hint(Scope::Panes, Action::Help), "h");
        // The help text follows the action.
        let row = map
            .bindings(Scope::Global)
            .find(|b| b.action == Action::StartTls)
            .unwrap();
        assert_eq!(
            (row.key.name().as_str(), row.help),
            ("F5", "STARTTLS/STLS (capabilities first)")
        );
        // Unbinding leaves the hint honest.
        let map = Keymap::rebind(&[rebind(None, Action::StartTls, &[])]).unwrap();
        assert_eq!(map.hint(Scope::Input, Action::StartTls), "unbound");
    }
}
