//! `mailwire` binary: parse the command line and dispatch.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use mailwire::check::{self, EXIT_USAGE};
use mailwire::cli::{
    CheckArgs, Cli, Command, ConnectOpts, DemoArgs, DemoProtocol, ServeArgs, TuiOpts, parse_target,
};
use mailwire::server::pki::LeafKind;
use mailwire::server::{self, ServeOptions, Server};
use mailwire::session::{self, SessionConfig};
use mailwire::target::Target;
use mailwire::tui::{self, App, AppConfig, Plan};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
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
        Some(Command::Connect { url, conn, tui }) => run_tui(&url, conn, tui).await,
        Some(Command::Demo(args)) => run_demo(args).await,
        Some(Command::Serve(args)) => run_serve(args).await,
        None => match cli.url {
            Some(url) => run_tui(&url, cli.conn, cli.tui).await,
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
    let report = check::run(config, args.starttls).await;
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

async fn run_tui(url: &str, conn: ConnectOpts, tui_opts: TuiOpts) -> anyhow::Result<i32> {
    let config = conn.session_config(parse_target(url)?);
    mailwire::tls::client::root_store(&config.tls)?;
    open_tui(config, &tui_opts).await
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
    let code = open_tui_with(config, &args.tui, lesson).await;
    demo.server.shutdown().await;
    code
}

async fn open_tui(config: SessionConfig, opts: &TuiOpts) -> anyhow::Result<i32> {
    open_tui_with(config, opts, None).await
}

async fn open_tui_with(
    mut config: SessionConfig,
    opts: &TuiOpts,
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
    let app = App::new(AppConfig {
        target: config.target.clone(),
        ehlo,
        plan,
    });
    let app = match lesson {
        Some(lesson) => app.with_lesson(lesson),
        None => app,
    };
    let handle = session::spawn(config);
    tui::run_terminal(app, handle).await.context("terminal")?;
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
    let opts = ServeOptions {
        bind: args.listen,
        port_base: args.port_base,
        leaf: args.leaf,
        ..ServeOptions::default()
    };
    server::serve_forever(opts, args.ca_out.as_deref())
        .await
        .context("built-in server")?;
    Ok(0)
}
