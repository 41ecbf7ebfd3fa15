//! `mailwire` binary: parse the command line and dispatch.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use mailwire::check::{self, EXIT_USAGE};
use mailwire::cli::{
    CheckArgs, Cli, Command, ConnectOpts, DemoArgs, DemoProtocol, ExportArgs, RecordOpts,
    ReplayArgs, ServeArgs, TuiOpts, parse_target,
};
use mailwire::replay::{self, RecordSwitch};
use mailwire::server::pki::LeafKind;
use mailwire::server::{self, ServeOptions, Server};
use mailwire::session::{self, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::{self, App, AppConfig, Plan};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            eprintln!("mailwire: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    ExitCode::from(u8::try_from(code).unwrap_or(3))
}

async fn dispatch(cli: Cli) -> i32 {
    let result = match cli.command {
        Some(Command::Check(args)) => run_check(args).await,
        Some(Command::Connect {
            url,
            conn,
            tui,
            record,
        }) => run_tui(&url, conn, tui, &record).await,
        Some(Command::Demo(args)) => run_demo(args).await,
        Some(Command::Serve(args)) => run_serve(args).await,
        Some(Command::Export(args)) => run_export(args),
        Some(Command::Replay(args)) => run_replay(args).await,
        None => match cli.url {
            Some(url) => run_tui(&url, cli.conn, cli.tui, &cli.record).await,
            None => {
                eprintln!(
                    "mailwire: give a URL (e.g. mailwire smtp://mail.example.com) or a command; try `mailwire demo` or --help"
                );
                Ok(EXIT_USAGE)
            }
        },
    };
    result.unwrap_or_else(|e| {
        eprintln!("mailwire: {e:#}");
        EXIT_USAGE
    })
}

/// The built-in server, started in-process, and a session config trusting its root.
struct Demo {
    server: Server,
    /// Removed on drop; a random name, so no other user can plant it.
    ca_file: tempfile::NamedTempFile,
}

impl Demo {
    async fn start(leaf: LeafKind) -> anyhow::Result<Demo> {
        let server = Server::start(ServeOptions {
            leaf,
            ..ServeOptions::default()
        })
        .await
        .context("cannot start the built-in server")?;
        let ca_file = tempfile::Builder::new()
            .prefix("mailwire-demo-root-")
            .suffix(".pem")
            .tempfile()
            .context("cannot create a file for the demo root")?;
        std::fs::write(ca_file.path(), server.root_pem()).context("cannot write the demo root")?;
        Ok(Demo { server, ca_file })
    }

    /// Session config for one of the demo listeners, trusting the demo root
    /// and checking (and sending as SNI) `localhost`, the leaf's DNS name.
    fn config(
        &self,
        protocol: DemoProtocol,
        implicit: bool,
        conn: &ConnectOpts,
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
        let mut conn = conn.clone();
        conn.ca_files.push(self.ca_file.path().to_path_buf());
        conn.servername
            .get_or_insert_with(|| server::SERVER_HOST.to_string());
        Ok(conn.session_config(parse_target(&listener.url())?))
    }
}

async fn run_check(args: CheckArgs) -> anyhow::Result<i32> {
    let mut demo = None;
    let config = match (&args.url, args.demo) {
        (_, Some(protocol)) => {
            let d = Demo::start(args.leaf).await?;
            let config = d.config(protocol, false, &args.conn)?;
            demo = Some(d);
            config
        }
        (Some(url), None) => args.conn.session_config(parse_target(url)?),
        (None, None) => anyhow::bail!("check needs a URL or --demo"),
    };
    // Bad trust options are usage errors, found before connecting.
    mailwire::tls::client::root_store(&config.tls)?;
    let switch = record_switch(&config, &args.record)?;
    let report = check::run_recorded(config, args.starttls, switch.clone()).await;
    if let Some(failure) = switch.as_ref().and_then(RecordSwitch::failure) {
        eprintln!("mailwire: recording stopped: {failure}");
    }
    if let Some(d) = demo {
        d.server.shutdown().await;
    }
    if let Some(path) = &args.conn.save_chain {
        std::fs::write(path, report.chain_pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            eprintln!("chain saved to {}", path.display());
        }
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code)
}

async fn run_tui(
    url: &str,
    conn: ConnectOpts,
    tui_opts: TuiOpts,
    record: &RecordOpts,
) -> anyhow::Result<i32> {
    let config = conn.session_config(parse_target(url)?);
    mailwire::tls::client::root_store(&config.tls)?;
    open_tui(config, &tui_opts, record).await
}

/// The recording switch for `--record FILE`: writing from the first event,
/// or (without the flag) off until Ctrl-R.
fn record_switch(
    config: &SessionConfig,
    opts: &RecordOpts,
) -> anyhow::Result<Option<RecordSwitch>> {
    match &opts.record {
        Some(path) => Ok(Some(RecordSwitch::recording_to(
            config,
            !opts.no_redact,
            path,
        )?)),
        None => Ok(None),
    }
}

async fn run_replay(args: ReplayArgs) -> anyhow::Result<i32> {
    if let Some(url) = &args.against {
        let recording = replay::Recording::load(&args.file)?;
        for warning in recording.warnings() {
            eprintln!("mailwire: {warning}");
        }
        return client_replay(&recording, url, &args).await;
    }
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

/// Client replay at a terminal: Enter sends the next command, `q` stops;
/// missing secrets are typed at a prompt that echoes `*`.
struct Stepped;

impl replay::Operator for Stepped {
    fn before_step(&mut self, line: &str) -> bool {
        eprint!(
            "next: {}  [Enter send, q stop] ",
            mailwire::escape::escape_bytes(line.as_bytes())
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() != "q"
    }

    fn secret(&mut self, name: &str, line: &str) -> Option<String> {
        eprint!(
            "{name} for {} (not echoed): ",
            mailwire::escape::escape_bytes(line.as_bytes())
        );
        let secret = read_masked();
        eprintln!();
        secret
    }
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

/// `replay FILE --against URL`: prints each step and a summary; exit 1 when
/// a reply code or status differs.
async fn client_replay(
    recording: &replay::Recording,
    url: &str,
    args: &ReplayArgs,
) -> anyhow::Result<i32> {
    let config = args.conn.session_config(parse_target(url)?);
    mailwire::tls::client::root_store(&config.tls)?;
    let mut secrets = std::collections::HashMap::new();
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix("MAILWIRE_SECRET_") {
            secrets.insert(name.to_string(), value);
        }
    }
    for s in &args.secret {
        let (name, value) = s
            .split_once('=')
            .with_context(|| format!("--secret {s:?}: expected NAME=VALUE"))?;
        secrets.insert(name.to_string(), value.to_string());
    }
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let mut stepped = Stepped;
    let operator: &mut dyn replay::Operator = if args.auto || !interactive {
        &mut replay::Auto
    } else {
        &mut stepped
    };
    let steps =
        match replay::replay_against(recording, config, &secrets, !args.no_normalize, operator)
            .await
        {
            Ok(steps) => steps,
            Err(e) => {
                eprintln!("mailwire: {e}");
                return Ok(EXIT_USAGE);
            }
        };
    let mut failed = 0;
    let mut changed = 0;
    for step in &steps {
        let mark = if step.status_differs {
            failed += 1;
            "DIFF"
        } else if step.text_differs {
            changed += 1;
            "text"
        } else {
            "same"
        };
        println!("[{mark}] {}", step.label);
        if step.status_differs || step.text_differs {
            for line in step.recorded.lines() {
                println!("    recorded: {line}");
            }
            for line in step.live.lines() {
                println!("    live:     {line}");
            }
        }
    }
    println!(
        "{} steps: {} same, {changed} with other text, {failed} with a different code or status",
        steps.len(),
        steps.len() - changed - failed
    );
    Ok(i32::from(failed > 0))
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

async fn run_demo(args: DemoArgs) -> anyhow::Result<i32> {
    if args.list_lessons {
        for lesson in mailwire::lessons::all()? {
            println!("{:<28} {}", lesson.name, lesson.title);
        }
        return Ok(0);
    }
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
    let config = demo.config(protocol, args.implicit && lesson.is_none(), &args.conn)?;
    let code = open_tui_with(config, &args.tui, &args.record, lesson).await;
    demo.server.shutdown().await;
    code
}

async fn open_tui(
    config: SessionConfig,
    opts: &TuiOpts,
    record: &RecordOpts,
) -> anyhow::Result<i32> {
    open_tui_with(config, opts, record, None).await
}

async fn open_tui_with(
    mut config: SessionConfig,
    opts: &TuiOpts,
    record: &RecordOpts,
    lesson: Option<mailwire::lessons::Lesson>,
) -> anyhow::Result<i32> {
    let ehlo = match &config.ehlo {
        Some(e) => e.clone(),
        None => session::engine::default_ehlo(local_addr_towards(&config.target).await),
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
    app.transcript.set_cap(Some(opts.scrollback()));
    let app = match lesson {
        Some(lesson) => app.with_lesson(lesson),
        None => app,
    };
    // Without --record, Ctrl-R can still start a recording (to a default name).
    let switch = match record_switch(&config, record)? {
        Some(s) => s,
        None => RecordSwitch::new(&config, !record.no_redact),
    };
    let handle = replay::tap(session::spawn(config), switch.clone());
    tui::run_terminal_recording(app, handle, Some(switch))
        .await
        .context("terminal")?;
    Ok(0)
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The local address a connection to `target` would use, found by
/// "connecting" a UDP socket (no packet is sent), for the EHLO address
/// literal when this host has no FQDN.
async fn local_addr_towards(target: &Target) -> Option<SocketAddr> {
    let remote = tokio::net::lookup_host(target.authority())
        .await
        .ok()?
        .next()?;
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
        let ca_out = match &args.ca_out {
            Some(p) => p.clone(),
            None => tempfile::Builder::new()
                .prefix("mailwire-replay-root-")
                .suffix(".pem")
                .tempfile()
                .context("cannot create a file for the root")?
                .into_temp_path()
                .keep()
                .context("cannot keep the root file")?,
        };
        server::replay::serve(&recording, args.listen, &ca_out)
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
        ..ServeOptions::default()
    };
    server::serve_forever(opts, args.ca_out.as_deref())
        .await
        .context("built-in server")?;
    Ok(0)
}
