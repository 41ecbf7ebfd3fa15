//! `mailwire` binary: parse the command line, load the config file, and
//! dispatch.
//!
//! ```text
//! argv --clap (flags > MAILWIRE_*)--> Cli --+
//! config.toml --config::Config::load--------+--> Settings / Theme / Keymap --> command
//! ```
//!
//! With `--json` every outcome is one JSON object on standard output, usage
//! errors included: `{"error": "...", "exit_code": 2}`.

use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use mailwire::check::{self, EXIT_USAGE};
use mailwire::cli::{
    CheckArgs, Cli, Command, ConfigAction, ConfigOpts, ConnectOpts, DemoArgs, DemoProtocol,
    ExportArgs, OPTION_ARGS, RecordOpts, ReplayArgs, ServeArgs, ShowArgs, TuiOpts, parse_target,
};
use mailwire::config::{self, Config, Location, Settings, Source};
use mailwire::domain::run::domain_argument;
use mailwire::replay::{self, RecordSwitch};
use mailwire::server::pki::LeafKind;
use mailwire::server::{self, ServeOptions, Server};
use mailwire::session::{self, SessionConfig};
use mailwire::target::{IpVersion, Target};
use mailwire::tui::{self, App, AppConfig, Plan};

/// How long a command that watches the stop signals itself (the TUI,
/// `serve`) may take to finish after one, before it is dropped anyway.
const STOP_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let args = hoist_config_args(std::env::args_os().collect());
    // Known before parsing, so a usage error can be answered in JSON too.
    let json = wants_json(&args);
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return exit(clap_error(&e, json)),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return exit(clap_error(&e, json)),
    };
    // `check` is one session driven step by step: a current-thread runtime
    // starts no worker threads (a one-shot check is over in a few ms, the
    // pool would cost as much to start as the session). The TUI, the server
    // and replay keep the multi-threaded runtime: the engine task and the UI
    // loop run side by side there.
    let runtime = match &cli.command {
        Some(Command::Check(_)) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            return exit(report_error(
                &format!("cannot start the async runtime: {e}"),
                3,
                json,
            ));
        }
    };
    let code = runtime.block_on(until_stopped(cli, matches));
    // Tasks still running (e.g. a server's connections) end with the runtime.
    drop(runtime);
    exit(code)
}

/// Runs the command until it ends or a stop signal (SIGINT, SIGTERM,
/// SIGHUP) arrives. Commands that watch the signals themselves get
/// [`STOP_GRACE`] to finish (the TUI restores the terminal, `serve` says
/// goodbye); any other command is dropped at once. Dropping runs every
/// destructor on the way, so temporary files and terminal modes are cleaned
/// up on this path too. A command stopped this way exits 128 + the signal number.
async fn until_stopped(cli: Cli, matches: ArgMatches) -> i32 {
    // Made first, so from here on the signals never end the process abruptly.
    let mut watch = match mailwire::signal::Watch::new() {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("mailwire: cannot watch stop signals: {e}");
            None
        }
    };
    let graceful = matches!(
        cli.command,
        Some(Command::Connect { .. } | Command::Demo(_) | Command::Serve(_))
            | Some(Command::Replay(ReplayArgs { against: None, .. }))
            | None
    );
    // Backstop for a command stuck in a synchronous read on this thread
    // (client replay's prompts), which the select! below cannot drop: a task
    // on another worker ends the process after the grace, raw mode off.
    if let Ok(mut backstop) = mailwire::signal::Watch::new() {
        let delay = if graceful {
            STOP_GRACE + Duration::from_secs(1)
        } else {
            Duration::from_secs(1)
        };
        tokio::spawn(async move {
            let stop = backstop.next().await;
            tokio::time::sleep(delay).await;
            let _ = crossterm::terminal::disable_raw_mode();
            eprintln!("\nmailwire: stopped by {}", stop.name());
            std::process::exit(stop.exit_code());
        });
    }
    let work = dispatch(cli, &matches);
    tokio::pin!(work);
    let stopped = async {
        match watch.as_mut() {
            Some(w) => w.next().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        code = &mut work => code,
        stop = stopped => {
            if graceful
                && let Ok(code) = tokio::time::timeout(STOP_GRACE, &mut work).await
            {
                return code;
            }
            eprintln!("mailwire: stopped by {}", stop.name());
            stop.exit_code()
        }
    }
}

/// Moves `--config FILE`/`--no-config` written before a command to just
/// after it (`mailwire --config F check URL` becomes `mailwire check
/// --config F URL`): the top level's options otherwise rule out commands.
fn hoist_config_args(args: Vec<OsString>) -> Vec<OsString> {
    let mut globals = Vec::new();
    let mut i = 1;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        let taken = match arg {
            "--no-config" => 1,
            "--config" if i + 1 < args.len() => 2,
            a if a.starts_with("--config=") => 1,
            _ => break,
        };
        globals.extend_from_slice(&args[i..i + taken]);
        i += taken;
    }
    let cmd = Cli::command();
    let mut current = &cmd;
    let mut end = i;
    while let Some(sub) = args
        .get(end)
        .and_then(|a| a.to_str())
        .and_then(|a| current.find_subcommand(a))
    {
        current = sub;
        end += 1;
    }
    if globals.is_empty() || end == i {
        return args;
    }
    let mut out = vec![args[0].clone()];
    out.extend_from_slice(&args[i..end]);
    out.extend(globals);
    out.extend_from_slice(&args[end..]);
    out
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(3))
}

/// `--json` among the arguments before `--`: `check --json` answers every
/// outcome, usage errors included, with a JSON object.
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Prints an error as `mailwire: ...` on stderr, or as `{"error": ...,
/// "exit_code": N}` on stdout with `--json`; returns `code`.
fn report_error(message: &str, code: i32, json: bool) -> i32 {
    if json {
        let value = serde_json::json!({ "error": message, "exit_code": code });
        match mailwire::escape::to_safe_json(&value, true) {
            Ok(text) => println!("{text}"),
            Err(_) => println!("{{\"error\": \"unprintable error\", \"exit_code\": {code}}}"),
        }
    } else {
        eprintln!("mailwire: {message}");
    }
    code
}

/// Help and version are printed as clap prints them; a usage error is
/// printed by clap, or as JSON with `--json`.
fn clap_error(e: &clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    let code = e.exit_code();
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if !json || informational {
        let _ = e.print();
        return code;
    }
    let text = e.render().to_string();
    // The error comes first, up to a blank line; usage and tips follow.
    let error = text.split("\n\n").next().unwrap_or_default();
    let error = error.strip_prefix("error: ").unwrap_or(error);
    let message = error.split_whitespace().collect::<Vec<_>>().join(" ");
    report_error(&message, code, true)
}

async fn dispatch(cli: Cli, matches: &ArgMatches) -> i32 {
    let json = matches!(&cli.command, Some(Command::Check(args)) if args.json);
    let config_opts = cli.config.clone();
    let result = match cli.command {
        Some(Command::Check(args)) => match load_config(&config_opts) {
            Ok(config) => run_check(args, &config).await,
            Err(e) => Err(e),
        },
        Some(Command::Connect {
            url,
            conn,
            tui,
            record,
        }) => match load_config(&config_opts) {
            Ok(config) => run_tui(url.as_deref(), &conn, &tui, &record, &config).await,
            Err(e) => Err(e),
        },
        Some(Command::Demo(args)) => match load_config(&config_opts) {
            Ok(config) => run_demo(args, &config).await,
            Err(e) => Err(e),
        },
        Some(Command::Serve(args)) => run_serve(args).await,
        Some(Command::Export(args)) => run_export(args),
        Some(Command::Replay(args)) => match load_config(&config_opts) {
            Ok(config) => run_replay(args, &config).await,
            Err(e) => Err(e),
        },
        Some(Command::Config(args)) => run_config(args.action, &config_opts, matches),
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "mailwire", &mut out);
            Ok(0)
        }
        Some(Command::Man { command }) => run_man(command.as_deref()),
        Some(Command::Help { command }) => run_help(&command),
        None => match cli.url {
            Some(url) => match load_config(&config_opts) {
                Ok(config) => run_tui(Some(&url), &cli.conn, &cli.tui, &cli.record, &config).await,
                Err(e) => Err(e),
            },
            None if cli.conn.profile.is_some() => match load_config(&config_opts) {
                Ok(config) => run_tui(None, &cli.conn, &cli.tui, &cli.record, &config).await,
                Err(e) => Err(e),
            },
            None => {
                eprintln!(
                    "mailwire: give a URL (e.g. mailwire smtp://mail.example.com), @PROFILE or a command; try `mailwire demo` or --help"
                );
                Ok(EXIT_USAGE)
            }
        },
    };
    result.unwrap_or_else(|e| report_error(&sentence(&e), EXIT_USAGE, json))
}

/// An error and its causes as one sentence: each cause once (a source
/// already quoted by the message above it is not repeated) and without
/// the OS's `(os error N)` suffix.
fn sentence(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let mut text = cause.to_string();
        while let Some(i) = text.find(" (os error ") {
            let end = text[i..].find(')').map_or(text.len(), |j| i + j + 1);
            text.replace_range(i..end, "");
        }
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The config file chosen by `--config`/`--no-config`, read and checked.
fn load_config(opts: &ConfigOpts) -> anyhow::Result<Config> {
    let location = Location::choose(opts.config.as_deref(), opts.no_config)?;
    Ok(Config::load(&location)?)
}

/// The server and settings for a session: `url` (or `@NAME`, or the
/// profile's URL) with command line and environment over the profile over
/// the file's `[defaults]` over the built-in defaults.
fn resolve(
    url: Option<&str>,
    conn: &ConnectOpts,
    record: &RecordOpts,
    config: &Config,
) -> anyhow::Result<(Target, Settings)> {
    let at_name = url.and_then(|u| u.strip_prefix('@'));
    let name = match (at_name, conn.profile.as_deref()) {
        (Some(a), Some(p)) if a != p => {
            anyhow::bail!("@{a} and --profile {p} name two profiles; give one")
        }
        (Some(a), _) => Some(a),
        (None, p) => p,
    };
    let profile = name.map(|n| config.profile(n)).transpose()?;
    let url = match (url.filter(|_| at_name.is_none()), profile) {
        (Some(u), _) => u.to_string(),
        (None, Some(p)) => p.url().map(str::to_string).with_context(|| {
            format!(
                "profile {} has no url; give one on the command line",
                name.unwrap_or_default()
            )
        })?,
        (None, None) => anyhow::bail!("give a URL or @PROFILE"),
    };
    let top = conn.options().over(&record.options());
    let settings = top.over(&config.lower_layers(profile)).settings();
    Ok((parse_target(&url)?, settings))
}

/// Settings without a profile or URL (the demo and its built-in server).
/// A profile (say from `MAILWIRE_PROFILE`) does not apply to the demo.
fn settings_without_profile(conn: &ConnectOpts, record: &RecordOpts, config: &Config) -> Settings {
    let top = conn.options().over(&record.options());
    top.over(&config.lower_layers(None)).settings()
}

fn run_config(
    action: ConfigAction,
    opts: &ConfigOpts,
    matches: &ArgMatches,
) -> anyhow::Result<i32> {
    let location = Location::choose(opts.config.as_deref(), opts.no_config)?;
    match action {
        ConfigAction::Path => {
            match location.path() {
                Some(p) if p.exists() => println!("{}", p.display()),
                Some(p) => {
                    println!("{}", p.display());
                    eprintln!(
                        "mailwire: no file there yet; `mailwire config init` writes a template"
                    );
                }
                None => eprintln!("mailwire: --no-config: no config file is read"),
            }
            Ok(0)
        }
        ConfigAction::Init { force } => {
            let path = location
                .path()
                .context("--no-config: there is no config file to write")?;
            config::init(path, force)?;
            eprintln!("wrote {}", path.display());
            Ok(0)
        }
        ConfigAction::Show(show) => {
            let ShowArgs { conn, tui, record } = *show;
            let config = Config::load(&location)?;
            let profile = conn
                .profile
                .as_deref()
                .map(|n| config.profile(n).map(|p| (n, p)))
                .transpose()?;
            let sub = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("show"));
            let source = |key: &str| -> Option<Source> {
                let (_, id, flag) = OPTION_ARGS.iter().find(|(k, _, _)| *k == key)?;
                let m = sub?;
                let ids: &[&str] = if *id == "ipv4" {
                    &["ipv4", "ipv6"]
                } else {
                    &[id]
                };
                ids.iter().find_map(|id| match m.value_source(id) {
                    Some(ValueSource::EnvVariable) => Some(Source::Env(env_name(id))),
                    Some(ValueSource::CommandLine) => Some(Source::Flag((*flag).to_string())),
                    _ => None,
                })
            };
            let top = conn.options().over(&record.options());
            print!(
                "{}",
                config::show(&config, profile, &top, &source, tui.theme.as_deref())
            );
            Ok(0)
        }
    }
}

/// The environment variable clap read for argument `id`.
fn env_name(id: &str) -> String {
    let mut cmd = Cli::command();
    let show = cmd
        .find_subcommand_mut("config")
        .and_then(|c| c.find_subcommand_mut("show"))
        .map(|c| c.clone());
    show.and_then(|c| {
        c.get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
    })
    .unwrap_or_else(|| format!("MAILWIRE_{}", id.to_ascii_uppercase()))
}

/// `mailwire man [COMMAND]`: the roff page on standard output.
fn run_man(command: Option<&str>) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => {
            // After build() a subcommand's display name is `mailwire-NAME`.
            cmd.find_subcommand(name)
                .cloned()
                .with_context(|| format!("no command {name:?}; see `mailwire --help`"))?
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("cannot render the manual page")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the manual page")?;
    Ok(0)
}

/// `mailwire help [COMMAND...]`: the long help of mailwire or of a command.
fn run_help(path: &[String]) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut current = &mut cmd;
    for name in path {
        current = current
            .find_subcommand_mut(name)
            .with_context(|| format!("no command {name:?}; see `mailwire --help`"))?;
    }
    match current.print_long_help() {
        // `mailwire help | head`: the reader left, nothing is wrong.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.context("cannot print the help").map(|()| 0),
    }
}

/// The built-in server, started in-process, and a session config trusting
/// its root. The root goes to the session in memory: nothing is written to
/// disk, so nothing is left there however the process ends.
struct Demo {
    server: Server,
}

impl Demo {
    async fn start(leaf: LeafKind) -> anyhow::Result<Demo> {
        let server = Server::start(ServeOptions {
            leaf,
            ..ServeOptions::default()
        })
        .await
        .context("cannot start the built-in server")?;
        Ok(Demo { server })
    }

    /// Session config for one of the demo listeners, trusting the demo root
    /// and checking (and sending as SNI) `localhost`, the leaf's DNS name.
    fn config(
        &self,
        protocol: DemoProtocol,
        implicit: bool,
        settings: &Settings,
    ) -> anyhow::Result<SessionConfig> {
        let name = match (protocol, implicit) {
            (DemoProtocol::Smtp, false) => "smtp",
            (DemoProtocol::Smtp, true) => "smtps",
            (DemoProtocol::Imap, false) => "imap",
            (DemoProtocol::Imap, true) => "imaps",
            (DemoProtocol::Pop3, false) => "pop3",
            (DemoProtocol::Pop3, true) => "pop3s",
        };
        let listener = self
            .server
            .listener(name)
            .context("demo listener missing")?;
        let mut settings = settings.clone();
        settings
            .servername
            .get_or_insert_with(|| server::SERVER_HOST.to_string());
        // The built-in server listens on IPv4 loopback only.
        settings.ip = IpVersion::Any;
        let mut config = settings.session_config(parse_target(&listener.url())?);
        config.tls.ca_pem.push(self.server.root_pem().to_string());
        Ok(config)
    }
}

/// `--save-chain -`: the PEM goes to standard output.
fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
}

/// The scripted send `args` ask for; the password is read here (from
/// MAILWIRE_PASSWORD, --password-file or a masked prompt).
fn check_script(args: &CheckArgs) -> anyhow::Result<check::Script> {
    use mailwire::check::ScriptStep;
    use mailwire::cli::AuthMechanism;
    let auth = match &args.auth {
        None => None,
        Some(mech) => {
            let user = args
                .user
                .clone()
                .context("--auth needs --user NAME (the password comes from MAILWIRE_PASSWORD, --password-file or a prompt)")?;
            Some(check::Credentials {
                mechanism: match mech {
                    AuthMechanism::Auto => None,
                    AuthMechanism::Named(m) => Some(m.clone()),
                },
                password: read_password(args.password_file.as_deref(), &user)?,
                user,
            })
        }
    };
    if args.user.is_some() && auth.is_none() {
        anyhow::bail!("--user is used by --auth; add --auth (or --auth PLAIN)");
    }
    let message = match &args.data {
        None => None,
        Some(path) if is_stdout(path) => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .context("cannot read the message from standard input")?;
            Some(buf)
        }
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
    };
    for h in &args.header {
        let ok = h.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        });
        if !ok || h.contains(['\r', '\n']) {
            anyhow::bail!("--header {h:?}: expected one line `Name: value` (RFC 5322 §2.2)");
        }
    }
    if (message.is_some() || !args.header.is_empty()) && args.to.is_empty() {
        anyhow::bail!("--data and --header need at least one --to ADDRESS");
    }
    match args.quit_after {
        Some(ScriptStep::Auth) if auth.is_none() => {
            anyhow::bail!("--quit-after auth needs --auth")
        }
        Some(ScriptStep::Rcpt | ScriptStep::Data) if args.to.is_empty() => {
            anyhow::bail!("--quit-after rcpt/data needs --to ADDRESS")
        }
        _ => {}
    }
    Ok(check::Script {
        auth,
        from: args.from.clone(),
        to: args.to.clone(),
        message,
        quit_after: args.quit_after,
        headers: args.header.clone(),
        insecure: args.insecure,
    })
}

/// The password for `user`: MAILWIRE_PASSWORD, the first line of
/// `--password-file`, or a prompt that echoes `*` when stdin is a terminal.
fn read_password(file: Option<&Path>, user: &str) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    if let Ok(p) = std::env::var("MAILWIRE_PASSWORD") {
        return Ok(p);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!(
            "password for {} (not echoed): ",
            mailwire::escape::escape_bytes(user.as_bytes())
        );
        let secret = read_masked();
        eprintln!();
        return secret.context("no password given");
    }
    anyhow::bail!(
        "--auth needs a password: set MAILWIRE_PASSWORD, use --password-file FILE, or run on a terminal to be asked"
    )
}

/// The options of domain mode from `args` and the settings.
fn domain_options(
    args: &CheckArgs,
    settings: &Settings,
) -> anyhow::Result<mailwire::domain::DomainCheckOptions> {
    use mailwire::domain::{DnsOptions, FetchOptions, IpVersion as DnsIp};
    let trust_anchor = args
        .trust_anchor
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    let ip = match settings.ip {
        IpVersion::V4 => DnsIp::V4,
        IpVersion::V6 => DnsIp::V6,
        IpVersion::Any => DnsIp::Any,
    };
    let config = settings.session_config(parse_target("smtp://localhost")?);
    Ok(mailwire::domain::DomainCheckOptions {
        domain: mailwire::domain::DomainOptions {
            dns: DnsOptions {
                server: args.dns,
                trust_anchor,
                ..DnsOptions::default()
            },
            ip,
            fetch: FetchOptions {
                ca_files: config.tls.ca_files.clone(),
                port: args.mta_sts_port,
                ip,
                ..FetchOptions::default()
            },
        },
        mx_port: args.mx_port,
        jobs: usize::from(args.jobs),
    })
}

/// `check example.com` / `check mx:example.com`: domain mode.
async fn run_domain(args: &CheckArgs, domain: &str, file: &Config) -> anyhow::Result<i32> {
    if args.conn.save_chain.is_some() || args.record.record.is_some() || args.scan {
        anyhow::bail!(
            "--save-chain, --record and --scan check one server; give its URL (smtp://MX-HOST) instead of a domain"
        );
    }
    let settings = settings_without_profile(&args.conn, &args.record, file);
    let opts = domain_options(args, &settings)?;
    let base = settings.session_config(parse_target("smtp://localhost")?);
    mailwire::tls::client::validate_options(&base.tls)?;
    let resolver = mailwire::domain::Resolver::new(&opts.domain.dns)?;
    let report = mailwire::domain::run::run(&resolver, domain, &opts, &base).await?;
    if args.json {
        println!("{}", report.to_json(true));
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code)
}

/// One line of a `--targets` file, checked.
enum TargetResult {
    Server(Box<check::CheckReport>),
    Domain(Box<mailwire::domain::DomainCheck>),
    /// The line is neither a URL nor a domain, or a local error.
    Bad(String),
}

impl TargetResult {
    fn exit_code(&self) -> i32 {
        match self {
            TargetResult::Server(r) => r.exit_code,
            TargetResult::Domain(d) => d.exit_code,
            TargetResult::Bad(_) => EXIT_USAGE,
        }
    }

    /// One compact JSON object with the input line as `input`.
    fn to_json_line(&self, input: &str) -> String {
        let mut value = match self {
            TargetResult::Server(r) => serde_json::to_value(r.as_ref()),
            TargetResult::Domain(d) => serde_json::to_value(d.as_ref()),
            TargetResult::Bad(e) => Ok(serde_json::json!({ "error": e, "exit_code": EXIT_USAGE })),
        }
        .unwrap_or_else(|e| serde_json::json!({ "error": format!("cannot serialise: {e}") }));
        if let Some(map) = value.as_object_mut() {
            map.insert("input".into(), serde_json::Value::String(input.to_string()));
        }
        mailwire::escape::to_safe_json(&value, false)
            .unwrap_or_else(|_| "{\"error\": \"unprintable\"}".to_string())
    }

    /// The summary table's status column.
    fn status(&self) -> String {
        match self {
            TargetResult::Server(r) => {
                let trust = match &r.verification {
                    Some(v) if v.trusted => "trusted",
                    Some(_) => "untrusted",
                    None => "-",
                };
                let mut s = format!("{} {trust}", r.starttls.result.as_str());
                if let Some(e) = &r.error {
                    s.push_str(&format!(
                        " ({})",
                        mailwire::escape::escape_line(e.as_bytes())
                    ));
                }
                s
            }
            TargetResult::Domain(d) => d.summary(),
            TargetResult::Bad(e) => mailwire::escape::escape_line(e.as_bytes()),
        }
    }
}

/// `check --targets FILE`: every line checked, `--jobs` at once, in one
/// process; JSON Lines as each finishes with `--json`, else a table at
/// the end. Exit status: the worst.
async fn run_targets(args: &CheckArgs, path: &Path, file: &Config) -> anyhow::Result<i32> {
    if args.conn.save_chain.is_some() || args.record.record.is_some() || args.scan {
        anyhow::bail!(
            "--save-chain, --record and --scan check one server; they do not go with --targets"
        );
    }
    let text = if is_stdout(path) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the targets from standard input")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let inputs: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if inputs.is_empty() {
        anyhow::bail!("{} lists no targets", path.display());
    }
    let script = check_script(args)?;
    let settings = settings_without_profile(&args.conn, &args.record, file);
    let base = settings.session_config(parse_target("smtp://localhost")?);
    mailwire::tls::client::validate_options(&base.tls)?;
    let domain_opts = std::sync::Arc::new(domain_options(args, &settings)?);
    let resolver = if inputs.iter().any(|l| domain_argument(l).is_some()) {
        Some(mailwire::domain::Resolver::new(&domain_opts.domain.dns)?)
    } else {
        None
    };
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(usize::from(args.jobs)));
    let mut set = tokio::task::JoinSet::new();
    for (i, input) in inputs.iter().enumerate() {
        let job: std::pin::Pin<Box<dyn std::future::Future<Output = TargetResult> + Send>> =
            match domain_argument(input) {
                Some(domain) => {
                    let (resolver, opts, base) =
                        (resolver.clone(), domain_opts.clone(), base.clone());
                    let domain = domain.to_string();
                    let limit = limit.clone();
                    Box::pin(async move {
                        let _permit = limit.acquire_owned().await;
                        match resolver {
                            Some(r) => {
                                match mailwire::domain::run::run(&r, &domain, &opts, &base).await {
                                    Ok(d) => TargetResult::Domain(Box::new(d)),
                                    Err(e) => TargetResult::Bad(e.to_string()),
                                }
                            }
                            None => TargetResult::Bad("no resolver".into()),
                        }
                    })
                }
                None => {
                    let config = match resolve(Some(input), &args.conn, &args.record, file) {
                        Ok((target, settings)) => {
                            let mut config = settings.session_config(target);
                            config.ehlo = config.ehlo.or_else(|| base.ehlo.clone());
                            Ok(config)
                        }
                        Err(e) => Err(format!("{e:#}")),
                    };
                    let (limit, script, force) = (limit.clone(), script.clone(), args.starttls);
                    Box::pin(async move {
                        let _permit = limit.acquire_owned().await;
                        match config {
                        Ok(config) if script.sends() && !is_smtp(&config.target) => TargetResult::Bad(
                            "a scripted send (--auth, --from, --to, --data) needs an SMTP URL".into(),
                        ),
                        Ok(config) => TargetResult::Server(Box::new(
                            check::run_script(config, force, None, &script).await,
                        )),
                        Err(e) => TargetResult::Bad(e),
                    }
                    })
                }
            };
        set.spawn(async move { (i, job.await) });
    }
    let mut results: Vec<Option<TargetResult>> = inputs.iter().map(|_| None).collect();
    let mut worst = check::EXIT_OK;
    let mut out = std::io::stdout().lock();
    while let Some(joined) = set.join_next().await {
        let Ok((i, result)) = joined else { continue };
        worst = check::worst_exit(worst, result.exit_code());
        if args.json {
            // Streamed as each finishes: a consumer sees progress at once.
            let _ = writeln!(out, "{}", result.to_json_line(&inputs[i]));
            let _ = out.flush();
        }
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(result);
        }
    }
    if !args.json {
        let width = inputs
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 60);
        let _ = writeln!(out, "{:<4} {:<width$}  RESULT", "EXIT", "TARGET");
        let mut counts = [0usize; 5];
        for (input, result) in inputs.iter().zip(&results) {
            let (code, status) = match result {
                Some(r) => (r.exit_code(), r.status()),
                None => (check::EXIT_CONNECTION, "the check task failed".to_string()),
            };
            counts[usize::try_from(code).unwrap_or(4).min(4)] += 1;
            let _ = writeln!(
                out,
                "{code:<4} {:<width$}  {status}",
                mailwire::escape::escape_line(input.as_bytes())
            );
        }
        let _ = writeln!(
            out,
            "{} targets: {} ok, {} TLS problem, {} connection error, {} send refused, {} bad line",
            inputs.len(),
            counts[0],
            counts[1],
            counts[3],
            counts[4],
            counts[2]
        );
    }
    Ok(worst)
}

fn is_smtp(target: &Target) -> bool {
    matches!(
        target.protocol,
        mailwire::target::Protocol::Smtp | mailwire::target::Protocol::Lmtp
    )
}

async fn run_check(args: CheckArgs, file: &Config) -> anyhow::Result<i32> {
    if let Some(path) = &args.targets {
        let path = path.clone();
        return run_targets(&args, &path, file).await;
    }
    if let Some(domain) = args.url.as_deref().and_then(domain_argument) {
        let sends = args.auth.is_some()
            || args.from.is_some()
            || !args.to.is_empty()
            || args.data.is_some()
            || args.quit_after.is_some();
        if sends {
            anyhow::bail!(
                "a scripted send goes to one server: give its URL (smtp://HOST), not a domain"
            );
        }
        let domain = domain.to_string();
        return run_domain(&args, &domain, file).await;
    }
    let script = check_script(&args)?;
    let to_stdout = args.conn.save_chain.as_deref().is_some_and(is_stdout);
    if to_stdout && args.json {
        anyhow::bail!(
            "--save-chain - and --json both write to standard output; save the chain to a file"
        );
    }
    let mut demo = None;
    let (config, redact) = match (&args.url, args.demo) {
        (_, Some(protocol)) => {
            let settings = settings_without_profile(&args.conn, &args.record, file);
            let d = Demo::start(args.leaf).await?;
            let config = d.config(protocol, false, &settings)?;
            demo = Some(d);
            (config, settings.redact)
        }
        (url, None) => {
            let (target, settings) = resolve(url.as_deref(), &args.conn, &args.record, file)?;
            (settings.session_config(target), settings.redact)
        }
    };
    // Bad trust options are usage errors, found before connecting (the OS
    // store is not read here: only when a chain needs it, once).
    mailwire::tls::client::validate_options(&config.tls)?;
    if let Err(e) = mailwire::tls::keylog::status() {
        eprintln!("mailwire: {e}");
    }
    let switch = record_switch(&config, &args.record, redact)?;
    if (script.sends() || script.quit_after.is_some()) && !is_smtp(&config.target) {
        anyhow::bail!(
            "--auth, --from, --to, --data and --quit-after drive SMTP; {} is not an SMTP URL",
            config.target
        );
    }
    let scan_config = args.scan.then(|| config.clone());
    let mut report = check::run_script(config, args.starttls, switch.clone(), &script).await;
    if let Some(scan_config) = scan_config {
        check::add_scan(&mut report, &scan_config, args.scan_concurrency).await;
    }
    if let Some(failure) = switch.as_ref().and_then(RecordSwitch::failure) {
        eprintln!("mailwire: recording stopped: {failure}");
    }
    if let Some(path) = switch.as_ref().and_then(RecordSwitch::path) {
        eprintln!("recording written to {}", path.display());
    }
    if let Some(d) = demo {
        d.server.shutdown().await;
    }
    match &args.conn.save_chain {
        // The PEM is the output; the report goes to stderr so the two do
        // not mix (`mailwire check URL --save-chain - | openssl x509`).
        Some(_) if to_stdout => {
            print!("{}", report.chain_pem());
            eprint!("{}", report.to_text());
            return Ok(report.exit_code);
        }
        Some(path) => {
            std::fs::write(path, report.chain_pem())
                .with_context(|| format!("cannot write {}", path.display()))?;
            if !args.json {
                eprintln!("chain saved to {}", path.display());
            }
        }
        None => {}
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code)
}

async fn run_tui(
    url: Option<&str>,
    conn: &ConnectOpts,
    tui_opts: &TuiOpts,
    record: &RecordOpts,
    file: &Config,
) -> anyhow::Result<i32> {
    let (target, settings) = resolve(url, conn, record, file)?;
    let config = settings.session_config(target);
    mailwire::tls::client::validate_options(&config.tls)?;
    open_tui(config, tui_opts, record, &settings, file).await
}

/// The recording switch for `--record FILE`: writing from the first event,
/// or (without the flag) off until Ctrl-R.
fn record_switch(
    config: &SessionConfig,
    opts: &RecordOpts,
    redact: bool,
) -> anyhow::Result<Option<RecordSwitch>> {
    match &opts.record {
        Some(path) => Ok(Some(RecordSwitch::recording_to_with(
            config, redact, path, opts.force,
        )?)),
        None => Ok(None),
    }
}

async fn run_replay(args: ReplayArgs, file: &Config) -> anyhow::Result<i32> {
    if let Some(url) = &args.against {
        let recording = replay::Recording::load(&args.file)?;
        for warning in recording.warnings() {
            eprintln!("mailwire: {warning}");
        }
        let (target, settings) = resolve(Some(url), &args.conn, &RecordOpts::default(), file)?;
        return client_replay(&recording, settings.session_config(target), &args).await;
    }
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        tui::Theme::monochrome()
    } else {
        file.file.theme.theme(None)
    };
    // The first frame shows the first events at once; the rest of the file
    // is read on a thread and handed to the viewer when done.
    let prefix = replay::Recording::load_prefix(&args.file, REPLAY_PREFIX)?;
    let viewer = if prefix.len() < REPLAY_PREFIX {
        // The prefix is the whole recording.
        for warning in prefix.warnings() {
            eprintln!("mailwire: {warning}");
        }
        tui::viewer::Viewer::new(prefix, args.speed)
    } else {
        let loading = replay::Loading::start(&args.file);
        tui::viewer::Viewer::loading(prefix, loading, args.speed)
    };
    let viewer = viewer.with_theme(theme).with_keys(file.keymap.clone());
    let mut viewer = tui::viewer::run_terminal(viewer)
        .await
        .context("terminal")?;
    viewer.poll_loading();
    if let Some(error) = viewer.load_error() {
        eprintln!("mailwire: only the first events were shown: {error}");
        return Ok(EXIT_USAGE);
    }
    if viewer.recording().len() >= REPLAY_PREFIX {
        for warning in viewer.recording().warnings() {
            eprintln!("mailwire: {warning}");
        }
    }
    Ok(0)
}

/// Events read before the replay viewer's first frame.
const REPLAY_PREFIX: usize = 4096;

/// Client replay at a terminal: one key per step, without Enter (Enter or
/// Space sends, `s` skips, `q` stops); each result is printed as soon as the
/// live reply is in. Missing secrets are typed at a prompt that echoes `*`.
struct Stepped;

/// `--auto`, or no terminal: steps and notices printed as they happen.
struct AutoPrint(replay::Auto);

impl replay::Operator for Stepped {
    fn before_step(&mut self, line: &str) -> replay::Decision {
        eprint!(
            "next: {}  [Enter/Space send, s skip, q stop] ",
            mailwire::escape::escape_bytes(line.as_bytes())
        );
        let decision = match read_key() {
            Some(' ' | '\n') => replay::Decision::Send,
            Some('s') => replay::Decision::Skip,
            _ => replay::Decision::Stop,
        };
        eprintln!();
        decision
    }

    fn after_step(&mut self, report: &replay::StepReport) {
        print_step(report);
        // At a terminal the live reply is shown for a same step too (its
        // last line: the status), so the operator reads it before the next key.
        if report.outcome == replay::StepOutcome::Same
            && let Some(last) = report.live.lines().last()
        {
            println!(
                "    reply: {}",
                mailwire::escape::escape_bytes(last.as_bytes())
            );
        }
    }

    fn notice(&mut self, text: &str) {
        print_notice(text);
    }

    fn confirm_delivery(&mut self, line: &str) -> bool {
        eprint!(
            "{} would deliver the recorded message again. Send it? [y/N] ",
            mailwire::escape::escape_bytes(line.as_bytes())
        );
        let yes = read_key() == Some('y');
        eprintln!();
        yes
    }

    fn secret(&mut self, field: &replay::SecretField, line: &str) -> Option<String> {
        eprint!(
            "{} for {} (not echoed): ",
            field.name(),
            mailwire::escape::escape_bytes(line.as_bytes())
        );
        let secret = read_masked();
        eprintln!();
        secret
    }
}

impl replay::Operator for AutoPrint {
    fn before_step(&mut self, line: &str) -> replay::Decision {
        self.0.before_step(line)
    }
    fn after_step(&mut self, report: &replay::StepReport) {
        print_step(report);
    }
    fn notice(&mut self, text: &str) {
        print_notice(text);
    }
    fn confirm_delivery(&mut self, line: &str) -> bool {
        self.0.confirm_delivery(line)
    }
    fn secret(&mut self, field: &replay::SecretField, line: &str) -> Option<String> {
        self.0.secret(field, line)
    }
}

fn print_notice(text: &str) {
    println!("-- {}", mailwire::escape::escape_bytes(text.as_bytes()));
    let _ = std::io::stdout().flush();
}

/// One step as `[same]`, `[text]`, `[DIFF]`, `[not sent]` or `[REFUSED]`,
/// with the recorded and live replies when they differ.
fn print_step(step: &replay::StepReport) {
    use mailwire::escape::escape_bytes;
    let mark = match step.outcome {
        replay::StepOutcome::Same => "same",
        replay::StepOutcome::OtherText => "text",
        replay::StepOutcome::Differs => "DIFF",
        replay::StepOutcome::NotSent => "not sent",
        replay::StepOutcome::Refused => "REFUSED",
    };
    println!("[{mark}] {}", escape_bytes(step.label.as_bytes()));
    if let Some(reason) = &step.reason {
        println!("    {reason}");
    }
    if matches!(
        step.outcome,
        replay::StepOutcome::OtherText | replay::StepOutcome::Differs
    ) {
        for line in step.recorded.lines() {
            println!("    recorded: {}", escape_bytes(line.as_bytes()));
        }
        for line in step.live.lines() {
            println!("    live:     {}", escape_bytes(line.as_bytes()));
        }
    }
    let _ = std::io::stdout().flush();
}

/// Reads one key in raw mode: Enter as `\n`, Esc and Ctrl-C as `q`.
fn read_key() -> Option<char> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    crossterm::terminal::enable_raw_mode().ok()?;
    let key = loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Enter => break Some('\n'),
                KeyCode::Esc => break Some('q'),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Some('q');
                }
                KeyCode::Char(c) => break Some(c.to_ascii_lowercase()),
                _ => {}
            },
            Ok(_) => {}
            Err(_) => break None,
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    key
}

/// Reads a line without echoing it (a `*` per character), in raw mode.
fn read_masked() -> Option<String> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    crossterm::terminal::enable_raw_mode().ok()?;
    let mut out = String::new();
    let done = loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Enter => break true,
                KeyCode::Esc => break false,
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => break false,
                KeyCode::Backspace if out.pop().is_some() => eprint!("\u{8} \u{8}"),
                KeyCode::Char(c) => {
                    out.push(c);
                    eprint!("*");
                }
                _ => {}
            },
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    done.then_some(out)
}

/// `replay FILE --against URL`: prints each step as it happens and a
/// summary; exit 1 when a reply code, status or TLS verdict differs or a
/// step was refused as unsafe.
async fn client_replay(
    recording: &replay::Recording,
    config: SessionConfig,
    args: &ReplayArgs,
) -> anyhow::Result<i32> {
    mailwire::tls::client::validate_options(&config.tls)?;
    let mut options = replay::ReplayOptions {
        normalize: !args.no_normalize,
        insecure: args.insecure,
        ..Default::default()
    };
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix("MAILWIRE_SECRET_") {
            options.secrets.insert(name.to_ascii_lowercase(), value);
        }
    }
    for s in &args.secret {
        let (name, value) = s.split_once('=').with_context(|| {
            format!("--secret {s:?}: expected NAME=VALUE (user=..., password=...)")
        })?;
        options
            .secrets
            .insert(name.to_ascii_lowercase(), value.to_string());
    }
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let mut stepped = Stepped;
    let mut auto = AutoPrint(replay::Auto {
        allow_delivery: args.allow_delivery,
    });
    let operator: &mut dyn replay::Operator = if args.auto || !interactive {
        &mut auto
    } else {
        &mut stepped
    };
    let steps = match replay::replay_against(recording, config, &options, operator).await {
        Ok(steps) => steps,
        Err(e) => {
            eprintln!("mailwire: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let count = |o: replay::StepOutcome| steps.iter().filter(|s| s.outcome == o).count();
    let refused = count(replay::StepOutcome::Refused);
    println!(
        "{} steps: {} same, {} with other text, {} with a different code or status, {} not sent{}",
        steps.len(),
        count(replay::StepOutcome::Same),
        count(replay::StepOutcome::OtherText),
        count(replay::StepOutcome::Differs),
        count(replay::StepOutcome::NotSent),
        if refused > 0 {
            format!(", {refused} refused as unsafe")
        } else {
            String::new()
        }
    );
    Ok(i32::from(steps.iter().any(replay::StepReport::fails)))
}

fn run_export(args: ExportArgs) -> anyhow::Result<i32> {
    let recording = replay::Recording::load(&args.file)?;
    for warning in recording.warnings() {
        eprintln!("mailwire: {warning}");
    }
    if args.format == replay::Format::Pem && recording.last_chain().is_none() {
        eprintln!(
            "mailwire: {} has no TLS handshake, so there is no certificate chain to export",
            args.file.display()
        );
        return Ok(EXIT_USAGE);
    }
    print!(
        "{}",
        replay::export(&recording, args.format, !args.no_redact)
    );
    Ok(0)
}

async fn run_demo(args: DemoArgs, file: &Config) -> anyhow::Result<i32> {
    if args.list_lessons {
        for lesson in mailwire::lessons::all()? {
            println!("{:<28} {}", lesson.name, lesson.title);
        }
        return Ok(0);
    }
    let settings = settings_without_profile(&args.conn, &args.record, file);
    let lesson = args
        .lesson
        .as_deref()
        .map(mailwire::lessons::find)
        .transpose()?;
    let (protocol, leaf) = match &lesson {
        Some(l) => (
            match l.protocol {
                mailwire::target::Protocol::Imap => DemoProtocol::Imap,
                mailwire::target::Protocol::Pop3 => DemoProtocol::Pop3,
                _ => DemoProtocol::Smtp,
            },
            l.leaf,
        ),
        None => (args.protocol, args.leaf),
    };
    let demo = Demo::start(leaf).await?;
    let config = demo.config(protocol, args.implicit && lesson.is_none(), &settings)?;
    let code = open_tui_with(config, &args.tui, &args.record, &settings, file, lesson).await;
    demo.server.shutdown().await;
    code
}

async fn open_tui(
    config: SessionConfig,
    opts: &TuiOpts,
    record: &RecordOpts,
    settings: &Settings,
    file: &Config,
) -> anyhow::Result<i32> {
    open_tui_with(config, opts, record, settings, file, None).await
}

async fn open_tui_with(
    mut config: SessionConfig,
    opts: &TuiOpts,
    record: &RecordOpts,
    settings: &Settings,
    file: &Config,
    lesson: Option<mailwire::lessons::Lesson>,
) -> anyhow::Result<i32> {
    // The TUI draws on a terminal and reads keys from one; without it
    // (a pipe, a cron job) say so and name the command that works there.
    if !std::io::IsTerminal::is_terminal(&std::io::stdin())
        || !std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        eprintln!(
            "mailwire: the interactive session needs a terminal (stdin and stdout are not one); \
             for a non-interactive test use `mailwire check {}`",
            config.target
        );
        return Ok(EXIT_USAGE);
    }
    let ehlo = match &config.ehlo {
        Some(e) => e.clone(),
        None => session::engine::default_ehlo(local_addr_towards(&config.target, config.ip).await),
    };
    config.ehlo = Some(ehlo.clone());
    let plan = match &opts.plan {
        Some(path) => Some(Plan::parse(&read(path)?, &ehlo)),
        None => None,
    };
    let mut app = App::new(AppConfig {
        target: config.target.clone(),
        ehlo,
        plan,
    });
    // NO_COLOR still wins: the terminal runner switches to monochrome.
    app.theme = file.file.theme.theme(opts.theme.as_deref());
    app.keys = file.keymap.clone();
    app.transcript.set_cap(Some(opts.scrollback()));
    let mut app = match lesson {
        Some(lesson) => app.with_lesson(lesson),
        None => app,
    };
    // i9: SSLKEYLOGFILE is shown in the status bar; a file that cannot be
    // opened is said before the TUI starts.
    match mailwire::tls::keylog::status() {
        Ok(path) => app.key_log = path,
        Err(e) => eprintln!("mailwire: {e}"),
    }
    // Without --record, Ctrl-R can still start a recording (to a default name).
    let switch = match record_switch(&config, record, settings.redact)? {
        Some(s) => s,
        None => RecordSwitch::new(&config, settings.redact),
    };
    let switch = match &settings.record_dir {
        Some(dir) => switch.in_dir(dir.clone()),
        None => switch,
    };
    let handle = replay::tap(session::spawn(config), switch.clone());
    let ran = tui::run_terminal_recording(app, handle, Some(switch.clone())).await;
    let app = ran.context("terminal")?;
    // Said after the terminal is restored, so it stays on the screen: the
    // file recorded from the start, then what the operator should know
    // (the error, files recorded with Ctrl-R, saved chains), one line each.
    let recorded = switch.path();
    if let Some(path) = &recorded {
        eprintln!("recording written to {}", path.display());
    }
    for line in app.farewell_without(recorded.as_deref()) {
        eprintln!("mailwire: {line}");
    }
    Ok(app.exit_code())
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The local address a connection to `target` would use, found by
/// "connecting" a UDP socket (no packet is sent), for the EHLO address
/// literal when this host has no FQDN.
async fn local_addr_towards(target: &Target, ip: IpVersion) -> Option<SocketAddr> {
    let remote = tokio::net::lookup_host(target.authority())
        .await
        .ok()?
        .find(|a| ip.allows(a.ip()))?;
    let bind: SocketAddr = match remote.ip() {
        IpAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        IpAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(remote).ok()?;
    socket.local_addr().ok()
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.replay {
        let recording = replay::Recording::load(file)?;
        server::replay::serve(&recording, args.listen, args.ca_out.as_deref())
            .await
            .map_err(anyhow::Error::msg)?;
        return Ok(0);
    }
    if args.listen.port() != 0 {
        anyhow::bail!(
            "--listen takes a port only with --replay; use --port-base N to fix the built-in server's ports"
        );
    }
    let opts = ServeOptions {
        bind: args.listen.ip(),
        port_base: args.port_base,
        leaf: args.leaf,
        max_connections: args.max_connections,
        quirks: args.quirks.clone(),
        ..ServeOptions::default()
    };
    server::serve_forever(opts, args.ca_out.as_deref())
        .await
        .context("built-in server")?;
    Ok(0)
}
