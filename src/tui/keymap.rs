//! Keys to [`Action`]s, as one table: the help overlay and the footer are
//! drawn from it, so what is documented is what is bound.
//!
//! With input focus every printable key goes into the input line: no letter
//! is a shortcut there, so an operator typing `noop` or `quit` never triggers
//! anything (unlike `openssl s_client`, where a line starting with `Q` quits
//! and `R` renegotiates). Plain letters act only with pane focus (Esc).
//! Function keys and Ctrl chords work everywhere.

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
}

impl Scope {
    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Input => "Input line (default focus)",
            Scope::Panes => "Panes (after Esc)",
            Scope::Help => "Help overlay",
            Scope::CertDetail => "Certificate detail",
            Scope::Confirm => "Confirmation",
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
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else {
            base
        }
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
    bind(S::Global, Key::ctrl('t'), A::StartTls, "STARTTLS/STLS (asks if not advertised)"),
    bind(S::Global, Key::ctrl('d'), A::Done, "IDLE: send DONE; DATA: end the message"),
    bind(S::Global, Key::plain(K::F(6)), A::ToggleRaw, "raw wire view of the selected line on/off"),
    bind(S::Global, Key::plain(K::F(2)), A::NextPane, "next pane (next tab when narrow)"),
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
    bind(S::Confirm, Key::plain(K::Enter), A::Confirm, "yes"),
    bind(S::Confirm, Key::ch('n'), A::Cancel, "no"),
    bind(S::Confirm, Key::plain(K::Esc), A::Cancel, "no"),
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

/// The action for `key` in `scope`: the scope's own bindings, then the
/// global ones, then (input scope only) any printable character as typing.
pub fn lookup(scope: Scope, key: KeyEvent) -> Option<Action> {
    let norm = normalise(key);
    let find = |s: Scope| {
        BINDINGS
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

/// The bindings of one scope, for the help overlay.
pub fn bindings(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.scope == scope)
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
            Some(Action::Confirm)
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
}
