//! Server-side TLS for the built-in demo server (`crate::server`): builds the
//! rustls `ServerConfig` from a DER chain and key, and wraps accepted
//! connections so that no rustls type leaves `tls/`.
//!
//! ```text
//! DemoPki (rcgen) -> chain DER + PKCS#8 key -> ServerTls -> accept(TcpStream) -> ServerTlsStream
//! ```
//!
//! Used both for implicit TLS (RFC 8314 §3.3: smtps, imaps, pop3s) and after
//! STARTTLS/STLS (RFC 3207 §4, RFC 2595 §3.1, §4).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Faults while building the server's TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    /// The chain was empty: a server must present at least its leaf.
    #[error("certificate chain is empty")]
    EmptyChain,
    /// rustls refused the chain, the key or the protocol versions.
    #[error("invalid server certificate or key: {0}")]
    Config(String),
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, ServerTlsError>;

/// A TLS acceptor for TLS 1.2 and 1.3 without client authentication.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

impl ServerTls {
    /// Builds the acceptor from the chain to present (leaf first, DER) and
    /// the leaf's PKCS#8 private key (DER).
    ///
    /// # Errors
    /// [`ServerTlsError::EmptyChain`] or [`ServerTlsError::Config`] naming
    /// what rustls rejected.
    pub fn new(chain_der: &[Vec<u8>], key_pkcs8_der: &[u8]) -> Result<ServerTls> {
        if chain_der.is_empty() {
            return Err(ServerTlsError::EmptyChain);
        }
        let chain: Vec<CertificateDer<'static>> = chain_der
            .iter()
            .map(|c| CertificateDer::from(c.clone()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8_der.to_vec()));
        // The provider is named explicitly: with both aws-lc-rs and ring
        // compiled in (rcgen pulls ring), `ServerConfig::builder()` would
        // panic for want of a process default.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ServerTlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| ServerTlsError::Config(e.to_string()))?;
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Runs the server side of the handshake on `tcp`.
    ///
    /// # Errors
    /// The I/O or TLS alert error that ended the handshake.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<ServerTlsStream> {
        let stream = self.acceptor.accept(tcp).await?;
        Ok(ServerTlsStream(stream))
    }
}

/// An established server-side TLS connection over TCP.
pub struct ServerTlsStream(tokio_rustls::server::TlsStream<TcpStream>);

impl std::fmt::Debug for ServerTlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTlsStream")
            .field("version", &self.protocol_version())
            .finish()
    }
}

impl ServerTlsStream {
    /// Negotiated version as `openssl s_client` prints it: `TLSv1.3` or `TLSv1.2`.
    pub fn protocol_version(&self) -> Option<&'static str> {
        let (_, conn) = self.0.get_ref();
        match conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
            rustls::ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
            _ => Some("unknown"),
        }
    }

    /// The SNI host name the client sent, if any (none for an IP address).
    pub fn sni(&self) -> Option<String> {
        self.0.get_ref().1.server_name().map(str::to_string)
    }
}

impl AsyncRead for ServerTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServerTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn empty_chain_is_refused() {
        assert!(matches!(
            ServerTls::new(&[], b"not a key"),
            Err(ServerTlsError::EmptyChain)
        ));
    }

    #[test]
    fn garbage_key_is_refused_with_reason() {
        let err = ServerTls::new(&[vec![0x30, 0x00]], b"junk").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid server certificate or key")
        );
    }
}
