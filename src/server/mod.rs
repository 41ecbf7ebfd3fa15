//! The built-in SMTP/IMAP/POP3 server: the target of `mailwire demo` and
//! `mailwire serve`, and the test double for the client side.
//!
//! It listens on loopback with seven listeners, like a Postfix + Dovecot
//! pair, and copies their reply texts so lessons carry over to real servers:
//!
//! ```text
//! smtp        N+25   STARTTLS (RFC 3207)         submission  N+587  STARTTLS, AUTH required (RFC 6409)
//! smtps       N+465  implicit TLS (RFC 8314)     imap        N+143  STARTTLS (RFC 2595, 9051)
//! imaps       N+993  implicit TLS                pop3        N+110  STLS (RFC 2595, 1939)
//! pop3s       N+995  implicit TLS
//! ```
//!
//! Flow per connection: accept loop -> `framed::Framed` (bounded lines,
//! idle timeout) -> `smtp` / `imap` / `pop3` session -> replies. One
//! `mailbox::Mailbox` (INBOX of user [`DEMO_USER`]) is shared by all
//! sessions; the certificates come from [`pki::DemoPki`].

mod framed;
mod imap;
mod mailbox;
pub mod pki;
mod pop3;
pub mod quirk;
pub mod replay;
mod sasl;
mod smtp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::target::{Protocol, TlsMode};
use crate::tls::server::ServerTls;

use framed::{Framed, MailStream, WireLimits};
use mailbox::Mailbox;

/// The demo account's user name.
pub const DEMO_USER: &str = "demo";
/// The demo account's password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// Host name the server uses in greetings and EHLO replies.
pub const SERVER_HOST: &str = "localhost";
/// Largest message accepted by SMTP, as advertised in `SIZE` (RFC 1870).
pub const MAX_MESSAGE_SIZE: usize = 10_240_000;

/// Default for [`ServeOptions::max_connections`]: sessions served at once
/// per listener. Enough for `check --targets` with 1,000 loopback targets.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// Refusals being written at once per listener; beyond this (a flood), a
/// connection over the limit is closed without a word. Each refusal is one
/// short write (after a TLS handshake on implicit-TLS listeners).
const MAX_REFUSALS_IN_FLIGHT: usize = 256;
/// Time allowed to deliver a refusal, TLS handshake included.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for sessions to say goodbye before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Errors of the server layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Generating the demo certificates failed.
    #[error("demo PKI generation failed: {0}")]
    Pki(String),
    /// The TLS configuration was refused.
    #[error("server TLS setup failed: {0}")]
    Tls(#[from] crate::tls::server::ServerTlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// `port_base` plus a service's offset does not fit in a port number.
    #[error("port base {base} is too high: {name} would need port {base}+{offset} > 65535")]
    PortOverflow {
        base: u16,
        name: &'static str,
        offset: u16,
    },
    /// Writing the root CA PEM or waiting for a signal failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// Result alias for the server layer.
pub type Result<T> = std::result::Result<T, Error>;

/// How to run the demo server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address every listener binds to; default 127.0.0.1.
    pub bind: IpAddr,
    /// `None`: ephemeral ports. `Some(N)`: N+25 smtp, N+587 submission,
    /// N+465 smtps, N+143 imap, N+993 imaps, N+110 pop3, N+995 pop3s.
    pub port_base: Option<u16>,
    /// Which certificate the server presents.
    pub leaf: pki::LeafKind,
    /// Pause before each greeting (to show a slow server); default 0.
    pub greeting_delay: Duration,
    /// Sessions served at once per listener (`serve --max-connections`);
    /// a connection beyond it gets the protocol's refusal (SMTP 421 4.3.2,
    /// IMAP `* BYE`, POP3 `-ERR [SYS/TEMP]`) and is closed. Default
    /// [`DEFAULT_MAX_CONNECTIONS`]; 0 refuses every connection.
    pub max_connections: usize,
    /// Misbehaviours (`serve --quirk`); none by default.
    pub quirks: Vec<quirk::Quirk>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: None,
            leaf: pki::LeafKind::Good,
            greeting_delay: Duration::ZERO,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            quirks: Vec::new(),
        }
    }
}

/// The seven services, in listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Smtp,
    Submission,
    Smtps,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
}

impl Service {
    const ALL: [Service; 7] = [
        Service::Smtp,
        Service::Submission,
        Service::Smtps,
        Service::Imap,
        Service::Imaps,
        Service::Pop3,
        Service::Pop3s,
    ];

    fn name(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Smtps => "smtps",
            Service::Imap => "imap",
            Service::Imaps => "imaps",
            Service::Pop3 => "pop3",
            Service::Pop3s => "pop3s",
        }
    }

    /// The well-known port, added to `port_base`.
    fn port_offset(self) -> u16 {
        match self {
            Service::Smtp => 25,
            Service::Submission => 587,
            Service::Smtps => 465,
            Service::Imap => 143,
            Service::Imaps => 993,
            Service::Pop3 => 110,
            Service::Pop3s => 995,
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Service::Smtp | Service::Submission | Service::Smtps => Protocol::Smtp,
            Service::Imap | Service::Imaps => Protocol::Imap,
            Service::Pop3 | Service::Pop3s => Protocol::Pop3,
        }
    }

    fn tls(self) -> TlsMode {
        match self {
            Service::Smtps | Service::Imaps | Service::Pop3s => TlsMode::Implicit,
            _ => TlsMode::Starttls,
        }
    }

    /// What the service says to a connection over the limit, in place of
    /// the greeting, before it closes: a temporary failure, so the client
    /// retries later (RFC 5321 §3.8 and §4.2.3 421 with RFC 3463 4.3.2
    /// "system not accepting network messages", as Postfix's postscreen;
    /// RFC 9051 §7.1.5 BYE with RFC 5530 UNAVAILABLE; RFC 3206 SYS/TEMP).
    fn refusal(self) -> &'static [u8] {
        match self.protocol() {
            Protocol::Imap => {
                b"* BYE [UNAVAILABLE] Server busy: too many connections, try again later\r\n"
            }
            Protocol::Pop3 => {
                b"-ERR [SYS/TEMP] Server busy: too many connections, try again later\r\n"
            }
            // SMTP and LMTP (the server speaks no LMTP, but the reply would be the same).
            _ => b"421 4.3.2 All server ports are busy, try again later\r\n",
        }
    }
}

/// One bound listener, as clients should address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `smtp`, `submission`, `smtps`, `imap`, `imaps`, `pop3` or `pop3s`.
    pub name: &'static str,
    /// SMTP (RFC 5321), IMAP (RFC 9051) or POP3 (RFC 1939).
    pub protocol: Protocol,
    /// STARTTLS/STLS (RFC 3207, RFC 2595) or implicit TLS (RFC 8314 §3.3).
    pub tls: TlsMode,
    /// The bound address (the real port when ports are ephemeral).
    pub addr: SocketAddr,
}

impl Listener {
    /// The target URL, e.g. `imaps://127.0.0.1:40993` or `smtp://[::1]:2525`.
    pub fn url(&self) -> String {
        // SocketAddr's Display already brackets IPv6 addresses.
        format!("{}://{}", self.name, self.addr)
    }

    /// One line for humans, the URL first so it can be copied:
    /// `imap://127.0.0.1:20143        STARTTLS` or
    /// `imaps://127.0.0.1:20993       implicit TLS`.
    pub fn describe(&self) -> String {
        let tls = match (self.tls, self.protocol) {
            (TlsMode::Implicit, _) => "implicit TLS",
            (TlsMode::Starttls, Protocol::Pop3) => "STLS",
            (TlsMode::Starttls, _) => "STARTTLS",
        };
        format!("{:<30} {tls}", self.url())
    }
}

/// What every session of one server shares.
pub(crate) struct Shared {
    tls: ServerTls,
    mailbox: Mailbox,
    limits: WireLimits,
    greeting_delay: Duration,
    /// Misbehaviours switched on with `serve --quirk`.
    pub(crate) quirks: quirk::Quirks,
    /// Source of SMTP queue IDs.
    queue_ids: AtomicU64,
    /// Mixed into queue IDs so two servers do not repeat each other.
    started: u64,
}

impl Shared {
    /// A Postfix-style queue ID: 12 upper-case hex digits.
    pub(crate) fn next_queue_id(&self) -> String {
        let n = self.queue_ids.fetch_add(1, Ordering::Relaxed);
        format!("{:07X}{:05X}", self.started & 0xFFF_FFFF, n & 0xF_FFFF)
    }
}

/// Per-connection context handed to a protocol session.
pub(crate) struct Conn {
    pub shared: Arc<Shared>,
    pub peer: SocketAddr,
    service: Service,
}

impl Conn {
    /// The client's host name as Postfix would show it without DNS:
    /// `localhost` for loopback, else `unknown`.
    pub fn peer_host(&self) -> &'static str {
        if self.peer.ip().is_loopback() {
            "localhost"
        } else {
            "unknown"
        }
    }

    /// `localhost[127.0.0.1]`, as Postfix names a client in replies.
    pub fn peer_name(&self) -> String {
        format!("{}[{}]", self.peer_host(), self.peer.ip())
    }
}

/// A running demo server.
pub struct Server {
    listeners: Vec<Listener>,
    root_pem: String,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listeners", &self.listeners)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Generates the PKI, binds all seven listeners and starts accepting.
    ///
    /// # Errors
    /// [`Error::Pki`], [`Error::Tls`], [`Error::PortOverflow`] or
    /// [`Error::Bind`] naming the address that could not be bound.
    pub async fn start(opts: ServeOptions) -> Result<Server> {
        let pki = pki::DemoPki::generate(opts.leaf)?;
        let tls = ServerTls::new(&pki.chain_der(), pki.leaf_key_der())?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let shared = Arc::new(Shared {
            tls,
            mailbox: Mailbox::seeded(started as u32),
            limits: WireLimits::default(),
            greeting_delay: opts.greeting_delay,
            quirks: quirk::Quirks::new(&opts.quirks),
            queue_ids: AtomicU64::new(0),
            started,
        });

        // Work out every port first, so an overflow binds nothing.
        let mut addrs = Vec::with_capacity(Service::ALL.len());
        for service in Service::ALL {
            let port = match opts.port_base {
                None => 0,
                Some(base) => {
                    base.checked_add(service.port_offset())
                        .ok_or(Error::PortOverflow {
                            base,
                            name: service.name(),
                            offset: service.port_offset(),
                        })?
                }
            };
            addrs.push((service, SocketAddr::new(opts.bind, port)));
        }
        let mut bound = Vec::with_capacity(addrs.len());
        for (service, addr) in addrs {
            let tcp = TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind { addr, source })?;
            let local = tcp
                .local_addr()
                .map_err(|source| Error::Bind { addr, source })?;
            bound.push((service, tcp, local));
        }

        let (shutdown, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut listeners = Vec::with_capacity(bound.len());
        for (service, tcp, addr) in bound {
            listeners.push(Listener {
                name: service.name(),
                protocol: service.protocol(),
                tls: service.tls(),
                addr,
            });
            tasks.spawn(accept_loop(
                tcp,
                service,
                Arc::clone(&shared),
                opts.max_connections,
                shutdown.subscribe(),
            ));
        }
        Ok(Server {
            listeners,
            root_pem: pki.root_pem().to_string(),
            shutdown,
            tasks,
        })
    }

    /// All listeners, in the order smtp, submission, smtps, imap, imaps, pop3, pop3s.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The listener with this name (`smtp`, `imaps`, ...).
    pub fn listener(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }

    /// The root CA certificate (PEM): the trust anchor for clients.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// Stops accepting, tells open sessions goodbye, ends them and waits
    /// for every task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Accepts connections for one listener: up to `max_connections` sessions
/// at once; each one beyond gets [`Service::refusal`] and is closed, as a
/// busy Postfix or Dovecot does, instead of being dropped without a word.
async fn accept_loop(
    tcp: TcpListener,
    service: Service,
    shared: Arc<Shared>,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    let mut refusals = JoinSet::new();
    loop {
        // Reap finished sessions so the count is of live sessions only.
        while sessions.try_join_next().is_some() {}
        while refusals.try_join_next().is_some() {}
        let accepted = tokio::select! {
            r = tcp.accept() => r,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            // Transient (e.g. EMFILE): back off briefly instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if sessions.len() >= max_connections {
            // Refuse in a task of its own so a slow reader (or a TLS
            // handshake) never holds up the accept loop; the refusals are
            // bounded too, so a flood cannot grow the task set.
            if refusals.len() < MAX_REFUSALS_IN_FLIGHT {
                let _ = stream.set_nodelay(true);
                refusals.spawn(refuse(stream, service, Arc::clone(&shared)));
            }
            continue;
        }
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            shared: Arc::clone(&shared),
            peer,
            service,
        };
        sessions.spawn(serve_connection(conn, stream, shutdown.clone()));
    }
    // Stop accepting before waiting, so a connect after shutdown is refused.
    drop(tcp);
    refusals.shutdown().await;
    let graceful = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful)
        .await
        .is_err()
    {
        sessions.shutdown().await;
    }
}

/// Writes the service's refusal (inside TLS on an implicit-TLS listener, so
/// the client can read it) and closes; bounded by [`REFUSAL_TIMEOUT`].
async fn refuse(tcp: TcpStream, service: Service, shared: Arc<Shared>) {
    use tokio::io::AsyncWriteExt;
    let line = service.refusal();
    let deliver = async {
        match service.tls() {
            TlsMode::Implicit => {
                let mut tls = shared.tls.accept(tcp).await?;
                tls.write_all(line).await?;
                tls.shutdown().await
            }
            TlsMode::Starttls => {
                let mut tcp = tcp;
                tcp.write_all(line).await?;
                tcp.shutdown().await
            }
        }
    };
    // A client that does not read or finish the handshake in time is cut.
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, deliver).await;
}

async fn serve_connection(conn: Conn, tcp: TcpStream, shutdown: watch::Receiver<bool>) {
    let limits = conn.shared.limits;
    let stream = if conn.service.tls() == TlsMode::Implicit {
        let handshake = tokio::time::timeout(limits.handshake, conn.shared.tls.accept(tcp));
        match handshake.await {
            Ok(Ok(tls)) => MailStream::Tls(Box::new(tls)),
            // A failed handshake is the client's business (e.g. it does not
            // trust the demo root); there is no one to reply to.
            _ => return,
        }
    } else {
        MailStream::Plain(tcp)
    };
    if !conn.shared.greeting_delay.is_zero() {
        tokio::time::sleep(conn.shared.greeting_delay).await;
    }
    let mut framed = Framed::new(stream, limits, shutdown);
    let quirks = &conn.shared.quirks;
    if quirk::replaces_session(quirks, conn.service) {
        quirk::opening(quirks, conn.service, framed).await;
        return;
    }
    framed.set_quirks(
        quirks.has(quirk::Quirk::EmptyLines),
        quirks.injection(conn.service.protocol()),
    );
    match conn.service {
        Service::Smtp | Service::Submission | Service::Smtps => smtp::run(&conn, framed).await,
        Service::Imap | Service::Imaps => imap::run(&conn, framed).await,
        Service::Pop3 | Service::Pop3s => pop3::run(&conn, framed).await,
    }
}

/// Starts the server, prints one line per listener and the root CA, then
/// serves until SIGINT, SIGTERM or SIGHUP and shuts down cleanly.
///
/// The root CA PEM is written to `ca_out` when given (the only file this
/// writes); otherwise it is printed, so nothing lands in the temp directory.
///
/// # Errors
/// Whatever [`Server::start`] returns, or [`Error::Io`] when the PEM cannot
/// be written or signals cannot be watched.
pub async fn serve_forever(opts: ServeOptions, ca_out: Option<&Path>) -> Result<()> {
    // Watched before anything is bound, so a stop signal during start-up
    // still shuts down cleanly.
    let mut stop = crate::signal::Watch::new().map_err(|source| Error::Io {
        what: "cannot watch stop signals".into(),
        source,
    })?;
    let server = Server::start(opts).await?;
    if let Some(path) = ca_out
        && let Err(source) = std::fs::write(path, server.root_pem())
    {
        server.shutdown().await;
        return Err(Error::Io {
            what: format!("cannot write root CA to {}", path.display()),
            source,
        });
    }
    for l in server.listeners() {
        println!("{}", l.describe());
    }
    match ca_out {
        Some(path) => println!("root CA: {}", path.display()),
        None => print!(
            "root CA (not written to disk; --ca-out FILE writes it):\n{}",
            server.root_pem()
        ),
    }
    println!("login: {DEMO_USER} / {DEMO_PASSWORD}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    stop.next().await;
    server.shutdown().await;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn url_and_describe_bracket_ipv6() {
        let l = Listener {
            name: "imaps",
            protocol: Protocol::Imap,
            tls: TlsMode::Implicit,
            addr: "[::1]:40993".parse().unwrap(),
        };
        assert_eq!(l.url(), "imaps://[::1]:40993");
        assert_eq!(l.describe(), "imaps://[::1]:40993            implicit TLS");
        let l = Listener {
            name: "imap",
            protocol: Protocol::Imap,
            tls: TlsMode::Starttls,
            addr: "127.0.0.1:20143".parse().unwrap(),
        };
        assert_eq!(l.describe(), "imap://127.0.0.1:20143         STARTTLS");
    }

    #[test]
    fn urls_parse_back_as_targets() {
        for s in Service::ALL {
            let l = Listener {
                name: s.name(),
                protocol: s.protocol(),
                tls: s.tls(),
                addr: "127.0.0.1:1234".parse().unwrap(),
            };
            let t = crate::target::Target::parse(&l.url()).unwrap();
            assert_eq!((t.protocol, t.tls, t.port), (s.protocol(), s.tls(), 1234));
        }
    }

    #[test]
    fn defaults_are_loopback_ephemeral_good_leaf() {
        let o = ServeOptions::default();
        assert_eq!(o.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(o.port_base, None);
        assert_eq!(o.leaf, pki::LeafKind::Good);
        assert_eq!(o.greeting_delay, Duration::ZERO);
    }

    #[tokio::test]
    async fn port_base_overflow_is_an_error() {
        let opts = ServeOptions {
            port_base: Some(65000),
            ..ServeOptions::default()
        };
        let err = Server::start(opts).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::PortOverflow {
                    name: "submission",
                    ..
                }
            ),
            "{err}"
        );
    }
}
