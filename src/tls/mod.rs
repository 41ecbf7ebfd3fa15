//! TLS for both ends, kept in one place so rustls types do not leak:
//! the recording verifier, the handshake summary and the client/server
//! connectors used by `session` and `server`.

pub mod client;
pub mod pkix;
pub mod server;
pub mod summary;
pub mod verifier;

pub use summary::HandshakeSummary;
pub use verifier::Verdict;

/// Client-side TLS options, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Name sent as SNI and checked against the certificate; default the target host.
    pub servername: Option<String>,
    /// Send no SNI at all (`--no-sni`).
    pub no_sni: bool,
    /// Extra trust anchors (PEM), added to the OS store.
    pub ca_files: Vec<std::path::PathBuf>,
    /// Extra trust anchors handed over in memory, PEM text (RFC 7468): the
    /// built-in server's root for `demo` and `check --demo`, which so never
    /// touches the disk.
    pub ca_pem: Vec<String>,
    /// Only this version: `Some("1.2")` or `Some("1.3")`.
    pub tls_version: Option<String>,
    /// ALPN protocols to offer, in order.
    pub alpn: Vec<String>,
    /// Abort the handshake on an untrusted chain instead of recording it.
    pub strict: bool,
}
