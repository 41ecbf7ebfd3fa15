//! The config file as a user meets it, through the real binary: the
//! precedence chain (file < profile < environment < flag), a profile used
//! by `check` and by the TUI (tmux), a rebound STARTTLS key in the TUI's
//! help overlay and footer, and a broken file's FILE:LINE:COL and exit 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread;
use std::time::Duration;

use common::tmux::{self, Tmux};
use common::{mailwire, mailwire_env};
use mailwire::server::{ServeOptions, Server};

/// A config file in a fresh temporary directory (removed on drop).
struct ConfigDir {
    dir: tempfile::TempDir,
}

impl ConfigDir {
    fn new(text: &str) -> ConfigDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        ConfigDir { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn arg(&self) -> String {
        self.path().to_str().unwrap().to_string()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `key = value  # source` lines of `config show`, by key.
fn shown(out: &Output) -> Vec<(String, String, String)> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    stdout(out)
        .lines()
        .filter_map(|l| {
            let (kv, source) = l.split_once("  # ")?;
            let (k, v) = kv.split_once(" = ")?;
            Some((k.to_string(), v.to_string(), source.to_string()))
        })
        .collect()
}

fn value_of(rows: &[(String, String, String)], key: &str) -> (String, String) {
    rows.iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, s)| (v.clone(), s.clone()))
        .unwrap_or_else(|| panic!("no {key} in {rows:?}"))
}

const CHAIN_FILE: &str = r#"
[defaults]
ehlo = "file.example"
timeout = "40s"
tls-version = "1.2"
max-line = 4096

[profiles.mx]
url = "smtp://127.0.0.1:9"
ehlo = "profile.example"
timeout = "50s"
tls-version = "1.3"
max-line = 8192
"#;

#[test]
fn precedence_file_then_profile_then_env_then_flag() {
    let cfg = ConfigDir::new(CHAIN_FILE);
    let file = format!("{} [defaults]", cfg.path().display());
    let cfg_arg = cfg.arg();
    let show = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["config", "show", "--config", &cfg_arg];
        args.extend_from_slice(extra);
        shown(&mailwire_env(&args, env))
    };
    // (key, file, profile, env var and value, flag and value)
    let chain = [
        (
            "ehlo",
            "\"file.example\"",
            "\"profile.example\"",
            ("MAILWIRE_EHLO", "env.example"),
            ("--ehlo", "flag.example"),
        ),
        (
            "timeout",
            "\"40s\"",
            "\"50s\"",
            ("MAILWIRE_TIMEOUT", "1m"),
            ("--timeout", "1500"),
        ),
        (
            "tls-version",
            "\"1.2\"",
            "\"1.3\"",
            ("MAILWIRE_TLS_VERSION", "1.2"),
            ("--tls-version", "1.3"),
        ),
        (
            "max-line",
            "4096",
            "8192",
            ("MAILWIRE_MAX_LINE", "2048"),
            ("--max-line", "1024"),
        ),
    ];
    let env: Vec<(&str, &str)> = chain.iter().map(|c| c.3).collect();
    let mut flags: Vec<&str> = vec!["--profile", "mx"];
    for c in &chain {
        flags.extend([c.4.0, c.4.1]);
    }
    let no_profile = show(&[], &[]);
    let profile = show(&["--profile", "mx"], &[]);
    let with_env = show(&["--profile", "mx"], &env);
    let with_flags = show(&flags, &env);
    for (key, in_file, in_profile, (var, env_value), (flag, flag_value)) in chain {
        assert_eq!(
            value_of(&no_profile, key),
            (in_file.to_string(), file.clone()),
            "{key}"
        );
        assert_eq!(
            value_of(&profile, key),
            (in_profile.to_string(), "profile mx".to_string()),
            "{key}"
        );
        let (v, source) = value_of(&with_env, key);
        assert_eq!(source, format!("environment {var}"), "{key}");
        let (fv, fsource) = value_of(&with_flags, key);
        assert_eq!(fsource, format!("command line {flag}"), "{key}");
        match key {
            "timeout" => {
                assert_eq!(v, "\"1m\"");
                // 1500 on the command line is milliseconds.
                assert_eq!(fv, "\"1s 500ms\"");
            }
            "max-line" => {
                assert_eq!(v, env_value);
                assert_eq!(fv, flag_value);
            }
            _ => {
                assert_eq!(v, format!("\"{env_value}\""), "{key}");
                assert_eq!(fv, format!("\"{flag_value}\""), "{key}");
            }
        }
    }
    // Left untouched everywhere: the built-in default.
    assert_eq!(
        value_of(&with_flags, "connect-timeout"),
        ("\"10s\"".to_string(), "built in".to_string())
    );
    // --no-config: the file says nothing.
    let out = mailwire(&["config", "show", "--config", &cfg.arg(), "--no-config"]);
    let rows = shown(&out);
    assert_eq!(value_of(&rows, "max-line").1, "built in");
    assert!(stdout(&out).contains("# ehlo: not set"));
}

/// The built-in server on loopback with its root in a file, kept running
/// on a runtime of its own while the test drives the binary.
struct Lab {
    runtime: tokio::runtime::Runtime,
    server: Option<Server>,
    _root: tempfile::NamedTempFile,
    root_path: PathBuf,
}

impl Lab {
    fn start() -> Lab {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime
            .block_on(Server::start(ServeOptions::default()))
            .unwrap();
        let root = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(root.path(), server.root_pem()).unwrap();
        let root_path = root.path().to_path_buf();
        Lab {
            runtime,
            server: Some(server),
            _root: root,
            root_path,
        }
    }

    fn url(&self, name: &str) -> String {
        self.server.as_ref().unwrap().listener(name).unwrap().url()
    }

    /// A config whose profile `lab` is this server's `name` listener,
    /// trusting its root, with EHLO `profile.example`.
    fn config(&self, name: &str, extra: &str) -> ConfigDir {
        ConfigDir::new(&format!(
            "[profiles.lab]\nurl = \"{}\"\nca-file = \"{}\"\nservername = \"localhost\"\nehlo = \"profile.example\"\n{extra}",
            self.url(name),
            self.root_path.display()
        ))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

#[test]
fn check_uses_a_profile_and_the_chain_still_applies() {
    let lab = Lab::start();
    let cfg = lab.config("smtp", "[defaults]\nehlo = \"file.example\"\n");
    // The profile's URL, trust anchor and server name: a trusted upgrade
    // (exit 0); its EHLO name beats the file's.
    let out = mailwire(&["check", "@lab", "--config", &cfg.arg()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("EHLO profile.example"),
        "{}",
        stdout(&out)
    );
    let out = mailwire(&["--config", &cfg.arg(), "check", "--profile", "lab"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The environment beats the profile, a flag beats the environment.
    let env = [("MAILWIRE_EHLO", "env.example")];
    let out = mailwire_env(&["check", "@lab", "--config", &cfg.arg()], &env);
    assert!(
        stdout(&out).contains("EHLO env.example"),
        "{}",
        stdout(&out)
    );
    let out = mailwire_env(
        &[
            "check",
            "@lab",
            "--config",
            &cfg.arg(),
            "--ehlo",
            "flag.example",
        ],
        &env,
    );
    assert!(
        stdout(&out).contains("EHLO flag.example"),
        "{}",
        stdout(&out)
    );
    // Without the profile's trust anchor the same server is untrusted (exit 1).
    let out = mailwire(&["check", &lab.url("smtp"), "--config", &cfg.arg()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("EHLO file.example"),
        "{}",
        stdout(&out)
    );
    // An unknown profile names the known ones.
    let out = mailwire(&["check", "@nope", "--config", &cfg.arg()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no profile \"nope\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("profiles: lab"), "{}", stderr(&out));
}

#[test]
fn a_syntax_error_names_file_line_and_column_and_exits_2() {
    let cfg = ConfigDir::new("[defaults]\nehlo = \"a\"\ntimeout = = 3\n");
    let expected = format!("{}:3:11: ", cfg.path().display());
    for args in [
        vec!["check", "smtp://127.0.0.1:9"],
        vec!["smtp://127.0.0.1:9"],
        vec!["demo"],
        vec!["config", "show"],
    ] {
        let mut args = args.clone();
        let cfg_arg = cfg.arg();
        args.extend(["--config", cfg_arg.as_str()]);
        let out = mailwire(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("mailwire: {expected}")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // The same with --json: one JSON object on stdout.
    let out = mailwire(&[
        "check",
        "--json",
        "smtp://127.0.0.1:9",
        "--config",
        &cfg.arg(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = common::json(&out);
    assert!(v["error"].as_str().unwrap().starts_with(&expected), "{v}");
    assert_eq!(v["exit_code"], 2);
    // --no-config ignores the broken file.
    let out = mailwire(&["check", "--demo", "--config", &cfg.arg(), "--no-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn config_path_and_init_use_the_xdg_location() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().to_str().unwrap();
    let env = [("XDG_CONFIG_HOME", xdg)];
    let expected = home.path().join("mailwire").join("config.toml");
    let out = mailwire_env(&["config", "path"], &env);
    assert_eq!(stdout(&out).trim(), expected.to_str().unwrap());
    assert!(stderr(&out).contains("config init"));
    let out = mailwire_env(&["config", "init"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(&expected).unwrap();
    assert!(written.contains("# [profiles.work-mx]"), "{written}");
    // The template parses and changes nothing.
    let out = mailwire_env(&["config", "show"], &env);
    let rows = shown(&out);
    assert!(
        rows.iter()
            .all(|(k, _, s)| s == "built in" || k == "name" || k == "url"),
        "{rows:?}"
    );
    // A second init refuses to overwrite.
    let out = mailwire_env(&["config", "init"], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
}

/// The default plan up to STARTTLS in the TUI, with `key` as the STARTTLS key.
fn upgrade_with(t: &Tmux, key: &str) {
    t.wait_text("S <- 220 ");
    t.keys(&["F8"]);
    t.wait_text("plan 2/4");
    t.keys(&[key]);
    t.wait_for("TLS up and trusted", tls_trusted);
}

/// TLS is up and the TLS pane's verdict says trusted.
fn tls_trusted(screen: &str) -> bool {
    screen.contains("TLS 1.3 established")
        && screen
            .lines()
            .any(|l| l.contains("verdict  ") && l.contains("trusted") && !l.contains("untrusted"))
}

#[test]
fn a_profile_opens_the_tui_with_its_url_trust_and_ehlo() {
    if !tmux::available("config e2e TUI tests") {
        return;
    }
    let lab = Lab::start();
    let cfg = lab.config("smtp", "");
    let t = Tmux::mailwire("profile", &["--config", &cfg.arg(), "@lab"]);
    upgrade_with(&t, "C-t");
    let screen = t.screen();
    assert!(screen.contains("C -> EHLO profile.example"), "{screen}");
    assert!(screen.contains(&lab.url("smtp")), "{screen}");
    t.quit_and_check_restored();
}

#[test]
fn a_rebound_starttls_key_works_and_shows_in_help_and_footer() {
    if !tmux::available("config e2e TUI tests") {
        return;
    }
    let cfg = ConfigDir::new("[keys]\nstarttls = \"F5\"\nhelp = \"F10\"\n");
    let t = Tmux::mailwire("rebound", &["demo", "smtp", "--config", &cfg.arg()]);
    t.wait_text("S <- 220 ");
    let footer = t.wait_for("footer with the bound keys", |s| {
        s.contains("F5 STARTTLS") && s.contains("F10 help")
    });
    assert!(!footer.contains("^T STARTTLS"), "{footer}");
    assert!(!footer.contains("F1 help"), "{footer}");
    t.keys(&["F8"]);
    t.wait_text("next: STARTTLS (F5)");
    // Ctrl-T no longer upgrades: nothing happens.
    t.keys(&["C-t"]);
    thread::sleep(Duration::from_millis(300));
    assert!(!t.screen().contains("TLS 1.3 established"));
    // The help overlay lists the bound key beside the action.
    t.keys(&["F10"]);
    // Wait for the row itself: the capture can catch a half-drawn overlay.
    let help = t.wait_for("help with its STARTTLS row", |s| {
        s.contains("Help · Esc closes") && s.contains("STARTTLS/STLS (capabilities first)")
    });
    let row = help
        .lines()
        .find(|l| l.contains("STARTTLS/STLS (capabilities first)"))
        .unwrap_or_else(|| panic!("no STARTTLS row:\n{help}"));
    assert!(row.contains("F5 "), "{row}");
    assert!(!row.contains("Ctrl-T"), "{row}");
    assert!(
        help.lines()
            .any(|l| l.contains("F10") && l.contains("help: this list of keys")),
        "{help}"
    );
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("Help · Esc closes"));
    t.keys(&["F5"]);
    t.wait_for("TLS up and trusted", tls_trusted);
    t.quit_and_check_restored();
}

#[test]
fn conflicting_keys_are_reported_at_start_with_the_line() {
    let cfg = ConfigDir::new("# keys\n[keys]\nstarttls = \"Ctrl-R\"\n");
    let out = mailwire(&["demo", "--config", &cfg.arg()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "mailwire: {}:3:12: Ctrl-R is bound to both starttls",
            cfg.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("toggle_recording"), "{err}");
}

#[test]
fn readme_example_is_the_shipped_example() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("<!-- config-example -->\n```toml\n")
        .expect("README has the config example");
    let rest = &readme[start + "<!-- config-example -->\n```toml\n".len()..];
    let block = &rest[..rest.find("```").unwrap()];
    assert_eq!(
        block,
        mailwire::config::EXAMPLE,
        "README's example and assets/config-example.toml differ"
    );
}

#[test]
fn the_tui_still_starts_with_no_config_when_the_file_is_broken() {
    if !tmux::available("config e2e TUI tests") {
        return;
    }
    let cfg = ConfigDir::new("[theme]\nname = \"solarized\"\n");
    let t = Tmux::mailwire(
        "noconfig",
        &["demo", "smtp", "--config", &cfg.arg(), "--no-config"],
    );
    t.wait_text("S <- 220 ");
    // Built-in keys, since the file was not read.
    t.wait_text("^T STARTTLS");
    t.quit_and_check_restored();
}
