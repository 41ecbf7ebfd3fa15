//! TLS for both ends, kept in one place so rustls types do not leak:
//! the recording verifier, the trust stores, the handshake summary and its
//! failure diagnosis, the client/server connectors used by `session` and
//! `server`, and the probes behind `check --scan`.
//!
//! ```text
//! ClientOptions --> trust::TrustConfig (--ca-file, --ca-path, --cert/--key; OS store lazily, once)
//!               --> client::Client --handshake over tap::Tap--> Established { summary, verdict, chain }
//!                                                          \--> TlsError::Handshake(HandshakeFailure {
//!                                                                  cause (alert 70 protocol_version ...),
//!                                                                  offered, chosen (from hello.rs),
//!                                                                  verdict + chain, findings })
//! probe (scan) --> one restricted handshake or one raw ClientHello per connection
//! ```

pub mod alert;
pub mod client;
pub mod hello;
pub mod keylog;
pub mod pkix;
pub mod probe;
pub mod server;
pub mod summary;
pub mod tap;
pub mod trust;
pub mod verifier;

pub use alert::Alert;
pub use client::{HandshakeFailure, TlsError};
pub use summary::{ClientCertRequest, HandshakeSummary};
pub use trust::{RootSource, TrustStore};
pub use verifier::{Verdict, VerdictCode};

/// Client-side TLS options, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Name sent as SNI and checked against the certificate; default the target host.
    pub servername: Option<String>,
    /// Send no SNI at all (`--no-sni`).
    pub no_sni: bool,
    /// Extra trust anchors (PEM files), added to the OS store (`--ca-file`).
    pub ca_files: Vec<std::path::PathBuf>,
    /// Extra trust anchors handed over in memory, PEM text (RFC 7468): the
    /// built-in server's root for `demo` and `check --demo`, which so never
    /// touches the disk.
    pub ca_pem: Vec<String>,
    /// A directory of trusted CA certificates (PEM files), added to the OS store (`--ca-path`).
    pub ca_path: Option<std::path::PathBuf>,
    /// Trust only `ca_files` and `ca_path`, never the OS store (`--no-system-roots`).
    pub no_system_roots: bool,
    /// Client certificate chain (PEM, leaf first) for client authentication (`--cert`).
    pub client_cert: Option<std::path::PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of `client_cert` (`--key`).
    pub client_key: Option<std::path::PathBuf>,
    /// Only this version: `Some("1.2")` or `Some("1.3")`.
    pub tls_version: Option<String>,
    /// ALPN protocols to offer, in order.
    pub alpn: Vec<String>,
    /// Abort the handshake on an untrusted chain instead of recording it.
    pub strict: bool,
}

/// A protocol version by its wire code, named as `openssl s_client` prints it
/// (`TLSv1.3`, `TLSv1.0`, `SSLv3`); unknown codes as `0xNNNN`.
pub fn version_name(code: u16) -> String {
    match code {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        0x0002 => "SSLv2".into(),
        other => format!("0x{other:04x}"),
    }
}

/// A cipher suite by its wire code, as rustls names it (IANA name, with
/// `TLS13_` for the TLS 1.3 suites); codes rustls does not know as `0xNNNN`.
pub fn suite_name(code: u16) -> String {
    let suite = rustls::CipherSuite::from(code);
    suite
        .as_str()
        .map_or_else(|| format!("0x{code:04x}"), str::to_string)
}

/// A key-exchange group by its wire code (IANA TLS Supported Groups name as
/// rustls spells it: `X25519`, `secp256r1`, `X25519MLKEM768`, `FFDHE2048`).
pub fn group_name(code: u16) -> String {
    let group = rustls::NamedGroup::from(code);
    group
        .as_str()
        .map_or_else(|| format!("0x{code:04x}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_codes() {
        assert_eq!(version_name(0x0301), "TLSv1.0");
        assert_eq!(version_name(0x7f1c), "0x7f1c");
        assert_eq!(suite_name(0x1302), "TLS13_AES_256_GCM_SHA384");
        assert_eq!(suite_name(0x009f), "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(group_name(0x001d), "X25519");
        assert_eq!(group_name(0x0019), "secp521r1");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(0xfafa), "0xfafa");
    }
}
