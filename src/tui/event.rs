//! Terminal events (crossterm) to app messages: keys through the keymap,
//! the mouse wheel to scrolling, bracketed paste as text. Resizes need no
//! message: the run loop redraws after every event.

use crossterm::event::{Event as TermEvent, KeyEventKind, MouseEventKind};

use super::app::Msg;
use super::keymap::{Action, Keymap, Scope};

/// The message for one terminal event in `scope` with the bindings `keys`,
/// if it means anything.
pub fn to_msg(keys: &Keymap, scope: Scope, event: &TermEvent) -> Option<Msg> {
    match event {
        // Release events (kitty protocol, Windows) would type every key twice.
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
            keys.lookup(scope, *key).map(Msg::Action)
        }
        TermEvent::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollUp => Some(Msg::Action(Action::ScrollUp)),
            MouseEventKind::ScrollDown => Some(Msg::Action(Action::ScrollDown)),
            _ => None,
        },
        TermEvent::Paste(text) => Some(Msg::Paste(text.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyEventState, KeyModifiers, MouseEvent};

    #[test]
    fn releases_are_ignored_and_the_wheel_scrolls() {
        let mut release = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        release.state = KeyEventState::NONE;
        assert!(to_msg(&Keymap::default(), Scope::Input, &TermEvent::Key(release)).is_none());
        let wheel = TermEvent::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        });
        assert!(matches!(
            to_msg(&Keymap::default(), Scope::Input, &wheel),
            Some(Msg::Action(Action::ScrollUp))
        ));
    }
}
