//! Themes and rebound keys on rendered screens (ratatui `TestBackend`): the
//! light theme from a config file, snapshotted with its colours, and keys
//! from `[keys]` in the footer, the hints and the help overlay.

use std::path::Path;

use mailwire::config::Config;
use mailwire::session::Event;
use mailwire::target::Target;
use mailwire::tui::keymap::Action;
use mailwire::tui::{self, App, AppConfig, Msg, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

fn app_with(config: &str) -> App {
    let config = Config::parse(config, Path::new("/home/op/.config/mailwire/config.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = App::new(AppConfig {
        target: Target::parse("smtp://mail.example.org").unwrap(),
        ehlo: "client.example".into(),
        plan: None,
    });
    app.theme = config.file.theme.theme(None);
    app.keys = config.keymap.clone();
    app.update(Msg::Session(Event::Connected {
        at: std::time::Duration::ZERO,
        peer: "192.0.2.25:25".into(),
    }));
    app
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    tui::draw(&mut terminal, app).unwrap();
    terminal
}

fn colour(c: Option<Color>) -> String {
    match c {
        None | Some(Color::Reset) => "-".into(),
        Some(c) => c.to_string(),
    }
}

fn style_name(s: Style) -> String {
    let mut out = format!("fg={} bg={}", colour(s.fg), colour(s.bg));
    let mods = s.add_modifier - s.sub_modifier;
    if mods != Modifier::empty() {
        out.push_str(&format!(" {mods:?}"));
    }
    out
}

/// The screen as runs of one style: `row col: style "text"`, skipping
/// unstyled blanks, so a snapshot shows which colour each part gets.
fn styled_runs(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut x = 0;
        while x < buffer.area.width {
            let style = buffer[(x, y)].style();
            let start = x;
            let mut text = String::new();
            while x < buffer.area.width && buffer[(x, y)].style() == style {
                text.push_str(buffer[(x, y)].symbol());
                x += 1;
            }
            let plain = style_name(style) == "fg=- bg=-";
            // Blank cells and the panes' side borders say nothing new.
            if (plain && text.trim().is_empty()) || text.chars().all(|c| c == '│' || c == ' ') {
                continue;
            }
            out.push_str(&format!(
                "{y:>2} {start:>3}: {:<40} {:?}\n",
                style_name(style),
                text.trim_end()
            ));
        }
    }
    out
}

#[test]
fn light_theme_snapshot() {
    let mut app = app_with("[theme]\nname = \"light\"\nerror = \"bold white on #c00000\"\n");
    assert_eq!(app.theme.client, Theme::light().client);
    // Closed: the status bar shows the state in the (restyled) error style.
    app.update(Msg::Session(Event::Closed {
        at: std::time::Duration::from_millis(40),
        reason: "the server closed the connection".into(),
    }));
    let terminal = render(&mut app, 80, 24);
    let runs = styled_runs(terminal.backend().buffer());
    // Nothing yellow or light grey on a light background.
    for bad in ["fg=Yellow", "fg=LightYellow", "fg=Gray "] {
        assert!(!runs.contains(bad), "{bad} in the light theme:\n{runs}");
    }
    insta::assert_snapshot!(runs);
}

#[test]
fn the_dark_default_differs_from_light_and_high_contrast() {
    let dark = styled_runs(render(&mut app_with(""), 80, 24).backend().buffer());
    let light = styled_runs(
        render(&mut app_with("[theme]\nname = \"light\"\n"), 80, 24)
            .backend()
            .buffer(),
    );
    let high = styled_runs(
        render(&mut app_with("[theme]\nname = \"high-contrast\"\n"), 80, 24)
            .backend()
            .buffer(),
    );
    assert_ne!(dark, light);
    assert_ne!(dark, high);
    assert_ne!(light, high);
}

#[test]
fn rebound_keys_show_in_footer_hints_and_help() {
    let mut app = app_with(
        "[keys]\nstarttls = \"F5\"\nhelp = \"F10\"\nstep = \"Ctrl-N\"\n[keys.panes]\nstep = \"n\"\n",
    );
    let screen = render(&mut app, 120, 30).backend().to_string();
    assert!(screen.contains("F5 STARTTLS"), "{screen}");
    assert!(screen.contains("F10 help"), "{screen}");
    assert!(screen.contains("^N step"), "{screen}");
    assert!(
        !screen.contains("^T") && !screen.contains("F1 help"),
        "{screen}"
    );
    assert!(screen.contains("[Ctrl-N]"), "the plan's step key: {screen}");
    assert_eq!(
        app.keys
            .hint(mailwire::tui::keymap::Scope::Input, Action::StartTls),
        "F5"
    );
    app.update(Msg::Action(Action::Help));
    let help = render(&mut app, 120, 40).backend().to_string();
    let row = help
        .lines()
        .find(|l| l.contains("STARTTLS/STLS"))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(row.contains("F5") && !row.contains("Ctrl-T"), "{row}");
}
