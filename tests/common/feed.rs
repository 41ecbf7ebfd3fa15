//! Feeding the TUI's `App` events as the engine does: every entry is
//! annotated by a `Dialogue` (its note) and the dialogue's findings follow
//! it, so screens built in tests read the same notes as live ones.

use std::cell::RefCell;
use std::time::Duration;

use mailwire::protocol::Limits;
use mailwire::session::{Dialogue, Event, Origin};
use mailwire::tui::{App, Msg};

thread_local! {
    /// One dialogue per test thread; `connect` starts a fresh one.
    static DIALOGUE: RefCell<Option<Dialogue>> = const { RefCell::new(None) };
}

/// `Connected` for `app`, starting a new dialogue for its protocol.
pub fn connect(app: &mut App, at: Duration, peer: &str) {
    let protocol = app.protocol();
    DIALOGUE.with(|d| *d.borrow_mut() = Some(Dialogue::new(protocol)));
    app.update(Msg::Session(Event::Connected {
        at,
        peer: peer.into(),
    }));
}

/// Annotates `event` as the engine's dialogue would; returns its findings
/// as events to follow it.
pub fn annotate(event: &mut Event) -> Vec<Event> {
    let at = match event {
        Event::Data(e) | Event::Malformed { entry: e, .. } => e.at,
        Event::Tls(t) => t.at,
        _ => Duration::ZERO,
    };
    DIALOGUE
        .with(|d| {
            d.borrow_mut()
                .as_mut()
                .map(|d| d.annotate(event, &Limits::default()))
                .unwrap_or_default()
        })
        .into_iter()
        .map(|finding| Event::Finding {
            at,
            finding,
            origin: Origin::Dialogue,
        })
        .collect()
}

/// Annotates `event`, hands it to `app`, then its findings.
pub fn event(app: &mut App, mut event: Event) {
    let findings = annotate(&mut event);
    app.update(Msg::Session(event));
    for f in findings {
        app.update(Msg::Session(f));
    }
}
