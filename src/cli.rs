//! Command line: `mailwire URL`, `mailwire @PROFILE`, `mailwire check`,
//! `mailwire demo`, `mailwire serve`, `mailwire config`, `mailwire
//! completions`, `mailwire man`. Parsing only; `main` dispatches.
//!
//! Every shared option can also come from a `MAILWIRE_*` environment
//! variable (clap's `env`, shown in `--help`); a flag beats its variable,
//! and both beat the config file ([`crate::config`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Options};
use crate::server::pki::LeafKind;
use crate::session::SessionConfig;
use crate::target::{IpVersion, Target, TargetError};

/// Drive SMTP, IMAP and POP3 sessions by hand; STARTTLS on one key;
/// inspect TLS and the certificate chain.
#[derive(Debug, Parser)]
#[command(
    name = "mailwire",
    version,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
#[command(
    after_help = "URL forms: smtp://host[:25] submission://host[:587] smtps://host[:465] lmtp://host[:24]\n           imap://host[:143] imaps://host[:993] pop3://host[:110] pop3s://host[:995]\n           IPv6: imap://[::1]:10143    @NAME: a profile of the config file\n\nExamples:\n  mailwire demo                 TUI against the built-in server\n  mailwire smtp://mail.example.com\n  mailwire @work-mx             the URL and options of profile work-mx\n  mailwire check imap://mail.example.com --json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the TUI on this server (same as `mailwire connect URL`), or
    /// `@NAME` for a profile of the config file.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub config: ConfigOpts,
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub tui: TuiOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// Where settings come from; accepted before or after any command.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigOpts {
    /// Read settings from FILE instead of $XDG_CONFIG_HOME/mailwire/config.toml.
    #[arg(long, value_name = "FILE", global = true, env = "MAILWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Read no config file: built-in defaults, environment and command line only.
    #[arg(long, global = true, env = "MAILWIRE_NO_CONFIG")]
    pub no_config: bool,
}

/// Recording a session (`docs/recording-format.md`).
#[derive(Debug, Clone, Args, Default)]
pub struct RecordOpts {
    /// Write every event of the session to FILE (JSON Lines, mode 0600) as it happens.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep passwords and SASL payloads in the recording (masked by default).
    #[arg(long, env = "MAILWIRE_NO_REDACT")]
    pub no_redact: bool,
    /// Overwrite the --record FILE if it exists (otherwise mailwire refuses).
    #[arg(long, requires = "record")]
    pub force: bool,
}

/// Options of the interactive session only.
#[derive(Debug, Clone, Args, Default)]
pub struct TuiOpts {
    /// Plan to step through with F8: one command per line, `{ehlo}` is
    /// replaced by the EHLO name, `STARTTLS`/`STLS` upgrades
    /// [default: greeting, capabilities, STARTTLS, capabilities, quit].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Colour theme; NO_COLOR still wins [default: the config file's, else dark].
    #[arg(long, value_name = "NAME", env = "MAILWIRE_THEME", value_parser = crate::tui::theme::NAMES.to_vec())]
    pub theme: Option<String>,
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
        /// Server URL, or `@NAME` for a profile of the config file.
        #[arg(value_name = "URL", required_unless_present = "profile")]
        url: Option<String>,
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
    /// Find, show or create the config file.
    Config(ConfigArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), for `man -l -` or a man directory.
    Man {
        /// A command's own page (`mailwire-check`) instead of the main one.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Print help for mailwire or for one of its commands.
    Help {
        /// The command, e.g. `check` or `config show`.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
}

/// `mailwire config show`: the options whose effect to show.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub tui: TuiOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// `mailwire config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// What `mailwire config` does.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the config file's path (and whether it exists).
    Path,
    /// Print the settings in force, each with where it came from.
    Show(Box<ShowArgs>),
    /// Write a commented template to the config file's path.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// `mailwire replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Recording to show (written with --record).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Play N times faster than recorded (Space plays and pauses); N > 0.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = parse_speed, allow_negative_numbers = true)]
    pub speed: f64,
    /// Client replay: send the recorded commands to this server (or `@NAME`,
    /// a profile) and compare replies.
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Client replay without stopping between commands (default when stdin is
    /// not a terminal); otherwise a key per command: Enter or Space sends it,
    /// `s` skips it, `q` stops.
    #[arg(long, requires = "against")]
    pub auto: bool,
    /// A credential the recording masks, in plain form: `user=NAME`,
    /// `password=SECRET` (mailwire encodes them for AUTH PLAIN, AUTH LOGIN,
    /// IMAP LOGIN, POP3 PASS), or `REDACTEDn=WIRE-VALUE` for other mechanisms
    /// [env: MAILWIRE_SECRET_<NAME>]; a missing one is asked at a masked prompt.
    #[arg(long, value_name = "NAME=VALUE", requires = "against")]
    pub secret: Vec<String>,
    /// Send recorded credentials even over plaintext or an untrusted
    /// certificate chain (named as in curl); the verdict is still shown.
    #[arg(long, requires = "against")]
    pub insecure: bool,
    /// With --auto: send DATA/BDAT and IMAP APPEND, delivering the recorded
    /// message again (otherwise the replay stops before them).
    #[arg(long, requires = "against")]
    pub allow_delivery: bool,
    /// Compare replies exactly (no masking of times, ids and the banner host).
    #[arg(long, requires = "against")]
    pub no_normalize: bool,
    #[command(flatten)]
    pub conn: ConnectOpts,
}

/// `--speed N`: a finite number above 0.
///
/// # Errors
/// Not a number, zero, negative, infinite or NaN.
pub fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number (e.g. 2 or 0.5)"))?;
    if !speed.is_finite() || speed <= 0.0 {
        return Err(format!(
            "{text:?}: the speed must be a number above 0 (e.g. 2 for twice as fast, 0.5 for half)"
        ));
    }
    Ok(speed)
}

/// `mailwire export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Recording to export (written with --record).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// text: transcript for a ticket; json: one document; pem: the chain of
    /// the last TLS handshake (a recording without one is an error, exit 2).
    #[arg(long, value_enum, default_value_t = crate::replay::Format::Text)]
    pub format: crate::replay::Format,
    /// Show secrets a --no-redact recording holds (masked by default).
    #[arg(long)]
    pub no_redact: bool,
}

/// Connection and TLS options shared by the TUI and `check`. Unset
/// options fall back to the profile, then the config file, then the
/// built-in default shown in brackets.
#[derive(Debug, Clone, Args, Default)]
pub struct ConnectOpts {
    /// Use the URL and options of this profile of the config file (also `@NAME` as the URL).
    #[arg(long, value_name = "NAME", env = "MAILWIRE_PROFILE")]
    pub profile: Option<String>,
    /// EHLO/LHLO name [default: this host's FQDN, else an address literal].
    #[arg(long, value_name = "NAME", env = "MAILWIRE_EHLO")]
    pub ehlo: Option<String>,
    /// Name sent as SNI and checked against the certificate [default: the URL's host].
    #[arg(long, value_name = "NAME", env = "MAILWIRE_SERVERNAME")]
    pub servername: Option<String>,
    /// Send no SNI (the name is still checked).
    #[arg(long, env = "MAILWIRE_NO_SNI")]
    pub no_sni: bool,
    /// Extra trusted CA certificates (PEM), added to the OS store; may be repeated.
    #[arg(long = "ca-file", value_name = "PEM", env = "MAILWIRE_CA_FILE")]
    pub ca_files: Vec<PathBuf>,
    /// A directory of trusted CA certificates (PEM files), added to the OS store.
    #[arg(long, value_name = "DIR", env = "MAILWIRE_CA_PATH")]
    pub ca_path: Option<PathBuf>,
    /// Trust only --ca-file/--ca-path, not the OS store (as curl's --cacert).
    #[arg(long, env = "MAILWIRE_NO_SYSTEM_ROOTS")]
    pub no_system_roots: bool,
    /// Client certificate chain (PEM, leaf first) for servers that ask for one.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Allow only this TLS version.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"], env = "MAILWIRE_TLS_VERSION")]
    pub tls_version: Option<String>,
    /// ALPN protocol to offer; may be repeated.
    #[arg(long, value_name = "PROTO", env = "MAILWIRE_ALPN")]
    pub alpn: Vec<String>,
    /// Abort the handshake when the chain is untrusted (default: finish it and report).
    #[arg(long, env = "MAILWIRE_STRICT")]
    pub strict: bool,
    /// Connect over IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Connect over IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// TCP connect timeout: milliseconds, or with a unit (500ms, 30s, 2m) [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration, env = "MAILWIRE_CONNECT_TIMEOUT")]
    pub connect_timeout: Option<Duration>,
    /// Timeout for each response (greeting included): milliseconds, or with a unit [default: 30s].
    #[arg(long = "timeout", value_name = "DURATION", value_parser = config::parse_duration, env = "MAILWIRE_TIMEOUT")]
    pub response_timeout: Option<Duration>,
    /// TLS handshake timeout: milliseconds, or with a unit [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration, env = "MAILWIRE_HANDSHAKE_TIMEOUT")]
    pub handshake_timeout: Option<Duration>,
    /// Longest server line accepted, in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES", env = "MAILWIRE_MAX_LINE")]
    pub max_line: Option<usize>,
    /// Write the server's certificate chain (PEM) to this file; `-` is standard output.
    #[arg(long, value_name = "FILE")]
    pub save_chain: Option<PathBuf>,
}

/// Clap argument ids of the shared options, by config-file key, to tell a
/// flag from its environment variable in `config show`.
pub const OPTION_ARGS: &[(&str, &str, &str)] = &[
    ("ehlo", "ehlo", "--ehlo"),
    ("servername", "servername", "--servername"),
    ("no-sni", "no_sni", "--no-sni"),
    ("ca-file", "ca_files", "--ca-file"),
    ("ca-path", "ca_path", "--ca-path"),
    ("no-system-roots", "no_system_roots", "--no-system-roots"),
    ("cert", "cert", "--cert"),
    ("key", "key", "--key"),
    ("tls-version", "tls_version", "--tls-version"),
    ("alpn", "alpn", "--alpn"),
    ("strict", "strict", "--strict"),
    ("ip", "ipv4", "-4/-6"),
    ("connect-timeout", "connect_timeout", "--connect-timeout"),
    ("timeout", "response_timeout", "--timeout"),
    (
        "handshake-timeout",
        "handshake_timeout",
        "--handshake-timeout",
    ),
    ("max-line", "max_line", "--max-line"),
    ("redact", "no_redact", "--no-redact"),
];

impl ConnectOpts {
    /// The options given on the command line or in the environment, as
    /// the top layer of the precedence chain (a flag left off says nothing).
    pub fn options(&self) -> Options {
        fn list<T: Clone>(v: &[T]) -> Option<Vec<T>> {
            (!v.is_empty()).then(|| v.to_vec())
        }
        Options {
            url: None,
            ehlo: self.ehlo.clone(),
            servername: self.servername.clone(),
            no_sni: self.no_sni.then_some(true),
            ca_file: list(&self.ca_files),
            ca_path: self.ca_path.clone(),
            no_system_roots: self.no_system_roots.then_some(true),
            cert: self.cert.clone(),
            key: self.key.clone(),
            tls_version: self.tls_version.clone(),
            alpn: list(&self.alpn),
            strict: self.strict.then_some(true),
            ip: match (self.ipv4, self.ipv6) {
                (true, _) => Some(IpVersion::V4),
                (_, true) => Some(IpVersion::V6),
                _ => None,
            },
            connect_timeout: self.connect_timeout,
            timeout: self.response_timeout,
            handshake_timeout: self.handshake_timeout,
            max_line: self.max_line,
            record_dir: None,
            redact: None,
        }
    }

    /// The session configuration for `target` from these options and the
    /// built-in defaults alone (no config file).
    pub fn session_config(&self, target: Target) -> SessionConfig {
        self.options().settings().session_config(target)
    }
}

impl RecordOpts {
    /// `--no-redact` as the top layer's `redact`.
    pub fn options(&self) -> Options {
        Options {
            redact: self.no_redact.then_some(false),
            ..Options::default()
        }
    }
}

/// `mailwire check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Server to check, e.g. smtp://mail.example.com, `@NAME` for a profile,
    /// or a mail domain (`example.com`, `mx:example.com`): domain mode.
    #[arg(value_name = "URL|DOMAIN", required_unless_present_any = ["demo", "profile", "targets"])]
    pub url: Option<String>,
    /// Send STARTTLS even when it is not advertised.
    #[arg(long)]
    pub starttls: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Also list the TLS versions, cipher suites and groups the server
    /// accepts (one connection per probe).
    #[arg(long)]
    pub scan: bool,
    /// With --scan: probes at once.
    #[arg(long, value_name = "N", default_value_t = crate::scan::DEFAULT_CONCURRENCY, requires = "scan")]
    pub scan_concurrency: usize,
    /// Check the built-in server, started in-process (trusting its generated root).
    #[arg(long, value_name = "PROTOCOL", num_args = 0..=1, default_missing_value = "smtp", conflicts_with = "url")]
    pub demo: Option<DemoProtocol>,
    /// With --demo: the certificate the built-in server presents.
    #[arg(long, value_enum, default_value_t = LeafKind::Good, requires = "demo")]
    pub leaf: LeafKind,
    /// Check every URL or domain listed in FILE (one a line, `#` comments;
    /// `-` is standard input), concurrently; with --json one object per line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "demo"], help_heading = "Many targets and domains")]
    pub targets: Option<PathBuf>,
    /// Checks at once: targets of --targets, and MX addresses in domain mode.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Many targets and domains")]
    pub jobs: u16,
    /// Domain mode: the DNS server to ask, `IP` or `IP:PORT` [default: the system's resolvers].
    #[arg(long, value_name = "IP[:PORT]", value_parser = crate::domain::dns::parse_dns_server, help_heading = "Many targets and domains")]
    pub dns: Option<std::net::SocketAddr>,
    /// Domain mode: DNSSEC trust anchor, DNSKEY records in zone-file form
    /// [default: the IANA root keys].
    #[arg(long, value_name = "FILE", help_heading = "Many targets and domains")]
    pub trust_anchor: Option<PathBuf>,
    /// Domain mode: the SMTP port of the MX hosts (senders use 25; another
    /// port for test setups).
    #[arg(long, value_name = "PORT", default_value_t = crate::domain::SMTP_PORT, help_heading = "Many targets and domains")]
    pub mx_port: u16,
    /// Domain mode: the HTTPS port of the MTA-STS policy host (senders use
    /// 443; another port for test setups).
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 443,
        help_heading = "Many targets and domains"
    )]
    pub mta_sts_port: u16,
    /// Scripted send: authenticate with SASL MECH (PLAIN or LOGIN) [default:
    /// PLAIN if offered, else LOGIN]; needs --user. Refused over plaintext
    /// or untrusted TLS unless --insecure.
    #[arg(long, value_name = "MECH", num_args = 0..=1, default_missing_value = "auto", value_parser = parse_auth, help_heading = "Scripted send (SMTP)")]
    pub auth: Option<AuthMechanism>,
    /// Scripted send: the user name for --auth; the password comes from
    /// MAILWIRE_PASSWORD, --password-file, or a prompt on a terminal.
    #[arg(long, value_name = "USER", help_heading = "Scripted send (SMTP)")]
    pub user: Option<String>,
    /// Scripted send: read the password from the first line of FILE.
    #[arg(long, value_name = "FILE", help_heading = "Scripted send (SMTP)")]
    pub password_file: Option<PathBuf>,
    /// Scripted send: the envelope sender (MAIL FROM) [default: mailwire@EHLO-NAME].
    #[arg(long, value_name = "ADDRESS", help_heading = "Scripted send (SMTP)")]
    pub from: Option<String>,
    /// Scripted send: an envelope recipient (RCPT TO); may be repeated.
    #[arg(long, value_name = "ADDRESS", help_heading = "Scripted send (SMTP)")]
    pub to: Vec<String>,
    /// Scripted send: the message (RFC 5322) from FILE, `-` for standard
    /// input [default: a generated test message with Date and Message-ID].
    #[arg(long, value_name = "FILE", help_heading = "Scripted send (SMTP)")]
    pub data: Option<PathBuf>,
    /// Scripted send: a header field added at the top of the message, as
    /// `Name: value`; may be repeated.
    #[arg(
        long,
        value_name = "NAME: VALUE",
        help_heading = "Scripted send (SMTP)"
    )]
    pub header: Vec<String>,
    /// Stop (QUIT) after this step of the session.
    #[arg(
        long,
        value_enum,
        value_name = "STEP",
        help_heading = "Scripted send (SMTP)"
    )]
    pub quit_after: Option<crate::check::QuitAfter>,
    /// Send credentials even over plaintext or TLS whose certificate did not verify.
    #[arg(long, help_heading = "Scripted send (SMTP)")]
    pub insecure: bool,
    #[command(flatten)]
    pub conn: ConnectOpts,
    #[command(flatten)]
    pub record: RecordOpts,
}

/// Default of `check --jobs`.
pub const DEFAULT_JOBS: u16 = 64;

/// `--auth [MECH]`: the SASL mechanism to use, or the best one offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMechanism {
    /// `--auth` alone: PLAIN when the server offers it, else LOGIN.
    Auto,
    /// A named mechanism (PLAIN or LOGIN: the ones `protocol::sasl` speaks).
    Named(crate::protocol::sasl::Mechanism),
}

/// Parses `--auth MECH`.
///
/// # Errors
/// A mechanism other than PLAIN and LOGIN, or a URL given where MECH was
/// expected (`--auth smtp://…`: write the URL first or use `--auth=PLAIN`).
pub fn parse_auth(s: &str) -> Result<AuthMechanism, String> {
    use crate::protocol::sasl::Mechanism;
    if s == "auto" {
        return Ok(AuthMechanism::Auto);
    }
    if s.contains("://") || s.contains('.') {
        return Err(format!(
            "{s:?} is not a SASL mechanism; write the URL before --auth, or --auth=PLAIN"
        ));
    }
    match Mechanism::parse(s) {
        m @ (Mechanism::Plain | Mechanism::Login) => Ok(AuthMechanism::Named(m)),
        other => Err(format!(
            "mechanism {other} is not supported for scripted sends; use PLAIN or LOGIN"
        )),
    }
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
    /// Write the generated root CA certificate (PEM) here, the only file serve
    /// writes [default: the PEM is printed, nothing is written].
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
    /// Misbehave on purpose, to show and test a failure (repeatable):
    /// empty-lines, greeting-421, greeting-554, imap-bye, ehlo-502, capa-err,
    /// tls-on-plaintext, ssh-banner, http-banner, smtp-reply-to-imap,
    /// no-starttls, control-byte-in-ehlo, starttls-injection,
    /// endless-continuation (README, "Misbehaving on purpose").
    #[arg(long = "quirk", value_enum, value_name = "NAME")]
    pub quirks: Vec<crate::server::quirk::Quirk>,
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
        assert_eq!(args.conn.response_timeout, Some(Duration::from_millis(500)));
        let cli = Cli::try_parse_from(["mailwire", "check", "--demo", "imap"]).unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert_eq!(args.demo, Some(DemoProtocol::Imap));
        assert!(Cli::try_parse_from(["mailwire", "check"]).is_err());
        let cli = Cli::try_parse_from([
            "mailwire",
            "check",
            "smtp://h",
            "--auth",
            "--user",
            "u",
            "--to",
            "a@b",
            "--to",
            "c@d",
            "--quit-after",
            "rcpt",
        ])
        .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert_eq!(args.auth, Some(AuthMechanism::Auto));
        assert_eq!(args.to, ["a@b", "c@d"]);
        assert_eq!(args.quit_after, Some(crate::check::ScriptStep::Rcpt));
        assert!(Cli::try_parse_from(["mailwire", "check", "--auth", "smtp://h"]).is_err());
        assert!(
            Cli::try_parse_from(["mailwire", "check", "smtp://h", "--auth", "CRAM-MD5"]).is_err()
        );
        let cli =
            Cli::try_parse_from(["mailwire", "check", "--targets", "list.txt", "--jobs", "8"])
                .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert_eq!(
            (args.targets.as_deref(), args.jobs),
            (Some(std::path::Path::new("list.txt")), 8)
        );
        assert!(
            Cli::try_parse_from(["mailwire", "check", "--targets", "f", "--jobs", "0"]).is_err()
        );
        assert!(
            Cli::try_parse_from(["mailwire", "check", "smtp://h", "--tls-version", "1.1"]).is_err()
        );
    }
}
