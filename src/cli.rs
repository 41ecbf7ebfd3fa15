//! Command line: `mailwire URL`, `mailwire check`, `mailwire demo`,
//! `mailwire serve`. Parsing only; `main` dispatches.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::protocol::Limits;
use crate::server::pki::LeafKind;
use crate::session::{SessionConfig, Timeouts};
use crate::target::{Target, TargetError};
use crate::tls::ClientOptions;

/// Drive SMTP, IMAP and POP3 sessions by hand; STARTTLS on one key;
/// inspect TLS and the certificate chain.
#[derive(Debug, Parser)]
#[command(name = "mailwire", version, args_conflicts_with_subcommands = true)]
#[command(
    after_help = "URL forms: smtp://host[:25] submission://host[:587] smtps://host[:465] lmtp://host[:24]\n           imap://host[:143] imaps://host[:993] pop3://host[:110] pop3s://host[:995]\n           IPv6: imap://[::1]:10143\n\nExamples:\n  mailwire demo                 TUI against the built-in server\n  mailwire smtp://mail.example.com\n  mailwire check imap://mail.example.com --json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the TUI on this server (same as `mailwire connect URL`).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub tui: TuiOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// Recording a session (`docs/recording-format.md`).
#[derive(Debug, Clone, Args, Default)]
pub struct RecordOpts {
    /// Write every event of the session to FILE (JSON Lines, mode 0600) as it happens.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep passwords and SASL payloads in the recording (masked by default).
    #[arg(long)]
    pub no_redact: bool,
}

/// Options of the interactive session only.
#[derive(Debug, Clone, Args, Default)]
pub struct TuiOpts {
    /// Plan to step through with F8: one command per line, `{ehlo}` is
    /// replaced by the EHLO name, `STARTTLS`/`STLS` upgrades
    /// [default: greeting, capabilities, STARTTLS, capabilities, quit].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Transcript lines kept in memory; older ones are dropped behind a
    /// marker line (a recording keeps every byte).
    #[arg(long, value_name = "LINES", default_value_t = 250_000)]
    pub scrollback_lines: usize,
    /// Transcript memory kept, in MiB (an estimate: bytes plus bookkeeping).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub scrollback_mib: usize,
}

impl TuiOpts {
    /// The transcript cap these options ask for.
    pub fn scrollback(&self) -> crate::session::transcript::Cap {
        crate::session::transcript::Cap {
            lines: self.scrollback_lines.max(1),
            bytes: self.scrollback_mib.max(1).saturating_mul(1024 * 1024),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the TUI connected to a live server.
    Connect {
        #[arg(value_name = "URL")]
        url: String,
        #[command(flatten)]
        conn: ConnectOpts,
        #[command(flatten)]
        tui: TuiOpts,
        #[command(flatten)]
        record: RecordOpts,
    },
    /// Non-interactive check: greeting, capabilities, STARTTLS, capabilities, quit.
    Check(CheckArgs),
    /// Start the built-in server in-process and open the TUI on it.
    Demo(DemoArgs),
    /// Run the built-in SMTP/IMAP/POP3 server on loopback.
    Serve(ServeArgs),
    /// Write a recording as a plain transcript, JSON or the PEM chain.
    Export(ExportArgs),
    /// Step through a recording in the TUI, read-only.
    Replay(ReplayArgs),
}

/// `mailwire replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Recording to show (written with --record).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Play N times faster than recorded (Space plays and pauses).
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    pub speed: f64,
    /// Client replay: send the recorded commands to this server and compare replies.
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Client replay without stopping between commands (default when stdin is
    /// not a terminal); otherwise Enter sends each command, `q` stops.
    #[arg(long, requires = "against")]
    pub auto: bool,
    /// Value of a secret the recording masks, in order REDACTED1, REDACTED2, ..
    /// [env: MAILWIRE_SECRET_<NAME>].
    #[arg(long, value_name = "NAME=VALUE", requires = "against")]
    pub secret: Vec<String>,
    /// Compare replies exactly (no masking of times, ids and the banner host).
    #[arg(long, requires = "against")]
    pub no_normalize: bool,
    #[command(flatten)]
    pub conn: ConnectOpts,
}

/// `mailwire export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Recording to export (written with --record).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// text: transcript for a ticket; json: one document; pem: the chain.
    #[arg(long, value_enum, default_value_t = crate::replay::Format::Text)]
    pub format: crate::replay::Format,
    /// Show secrets a --no-redact recording holds (masked by default).
    #[arg(long)]
    pub no_redact: bool,
}

/// Connection and TLS options shared by the TUI and `check`.
#[derive(Debug, Clone, Args, Default)]
pub struct ConnectOpts {
    /// EHLO/LHLO name [default: this host's FQDN, else an address literal].
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
    /// Name sent as SNI and checked against the certificate [default: the URL's host].
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// Send no SNI (the name is still checked).
    #[arg(long)]
    pub no_sni: bool,
    /// Extra trusted CA certificates (PEM); may be repeated.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    /// Allow only this TLS version.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    pub tls_version: Option<String>,
    /// ALPN protocol to offer; may be repeated.
    #[arg(long, value_name = "PROTO")]
    pub alpn: Vec<String>,
    /// Abort the handshake when the chain is untrusted (default: finish it and report).
    #[arg(long)]
    pub strict: bool,
    /// TCP connect timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub connect_timeout: u64,
    /// Timeout for each response (greeting included) in milliseconds.
    #[arg(long = "timeout", value_name = "MS", default_value_t = 30_000)]
    pub response_timeout: u64,
    /// TLS handshake timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub handshake_timeout: u64,
    /// Longest server line accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_line: usize,
    /// Write the server's certificate chain (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub save_chain: Option<PathBuf>,
}

impl ConnectOpts {
    /// The session configuration for `target`.
    pub fn session_config(&self, target: Target) -> SessionConfig {
        SessionConfig {
            target,
            ehlo: self.ehlo.clone(),
            timeouts: Timeouts {
                connect: Duration::from_millis(self.connect_timeout),
                response: Duration::from_millis(self.response_timeout),
                handshake: Duration::from_millis(self.handshake_timeout),
            },
            limits: Limits {
                max_line: self.max_line.max(64),
                ..Limits::default()
            },
            streaming: Some(crate::protocol::Streaming::default()),
            tls: ClientOptions {
                servername: self.servername.clone(),
                no_sni: self.no_sni,
                ca_files: self.ca_files.clone(),
                tls_version: self.tls_version.clone(),
                alpn: self.alpn.clone(),
                strict: self.strict,
            },
        }
    }
}

/// `mailwire check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Server to check, e.g. smtp://mail.example.com.
    #[arg(value_name = "URL", required_unless_present = "demo")]
    pub url: Option<String>,
    /// Send STARTTLS even when it is not advertised.
    #[arg(long)]
    pub starttls: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Check the built-in server, started in-process (trusting its generated root).
    #[arg(long, value_name = "PROTOCOL", num_args = 0..=1, default_missing_value = "smtp", conflicts_with = "url")]
    pub demo: Option<DemoProtocol>,
    /// With --demo: the certificate the built-in server presents.
    #[arg(long, value_enum, default_value_t = LeafKind::Good, requires = "demo")]
    pub leaf: LeafKind,
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// Protocols of the built-in server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DemoProtocol {
    #[default]
    Smtp,
    Imap,
    Pop3,
}

/// `mailwire demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Protocol to open.
    #[arg(value_enum, default_value_t = DemoProtocol::Smtp)]
    pub protocol: DemoProtocol,
    /// Use implicit TLS (smtps, imaps, pop3s) instead of STARTTLS.
    #[arg(long)]
    pub implicit: bool,
    /// Certificate the built-in server presents, to see a broken chain.
    #[arg(long, value_enum, default_value_t = LeafKind::Good)]
    pub leaf: LeafKind,
    /// Run a guided lesson (its protocol and certificate override the others); F8 steps.
    #[arg(long, value_name = "NAME")]
    pub lesson: Option<String>,
    /// List the lessons and exit.
    #[arg(long)]
    pub list_lessons: bool,
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub tui: TuiOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// `mailwire serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Fix ports at N+25 smtp, N+587 submission, N+465 smtps, N+143 imap,
    /// N+993 imaps, N+110 pop3, N+995 pop3s [default: ephemeral ports].
    #[arg(long, value_name = "N")]
    pub port_base: Option<u16>,
    /// Address to listen on, `IP` or (with --replay) `IP:PORT`; loopback is
    /// recommended. Port 0 or none: ephemeral.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_listen)]
    pub listen: std::net::SocketAddr,
    /// Write the generated root CA certificate (PEM) here [default: a file in the temp directory, printed].
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
    /// Certificate the server presents.
    #[arg(long, value_enum, default_value_t = LeafKind::Good)]
    pub leaf: LeafKind,
    /// Sessions served at once per listener; a connection beyond the limit
    /// gets the protocol's "busy" refusal (SMTP 421 4.3.2, IMAP * BYE,
    /// POP3 -ERR [SYS/TEMP]) and is closed.
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Act as the server of this recording on one ephemeral port of --listen
    /// (STARTTLS with a fresh certificate: the recorded key is not known).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT` for `--listen`; a bare IP means port 0.
///
/// # Errors
/// Neither form parses.
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse::<std::net::SocketAddr>()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 0))
        })
        .map_err(|_| {
            format!("{s:?} is not an address: use IP or IP:PORT, e.g. 127.0.0.1:2525 or [::1]:2525")
        })
}

/// Parses a URL argument into a target.
///
/// # Errors
/// [`TargetError`] naming the accepted forms.
pub fn parse_target(url: &str) -> Result<Target, TargetError> {
    Target::parse(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn url_alone_opens_tui_and_check_takes_flags() {
        let cli = Cli::try_parse_from([
            "mailwire",
            "imap://[::1]:10143",
            "--servername",
            "mail.test",
        ])
        .unwrap();
        assert_eq!(cli.url.as_deref(), Some("imap://[::1]:10143"));
        assert_eq!(cli.conn.servername.as_deref(), Some("mail.test"));
        let cli = Cli::try_parse_from([
            "mailwire",
            "check",
            "smtp://h",
            "--json",
            "--starttls",
            "--timeout",
            "500",
        ])
        .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert!(args.json && args.starttls);
        assert_eq!(args.conn.response_timeout, 500);
        let cli = Cli::try_parse_from(["mailwire", "check", "--demo", "imap"]).unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert_eq!(args.demo, Some(DemoProtocol::Imap));
        assert!(Cli::try_parse_from(["mailwire", "check"]).is_err());
        assert!(
            Cli::try_parse_from(["mailwire", "check", "smtp://h", "--tls-version", "1.1"]).is_err()
        );
    }
}
