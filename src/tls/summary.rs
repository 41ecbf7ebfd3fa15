//! What a TLS handshake negotiated, in the terms `openssl s_client` prints.

/// Parameters of an established TLS session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandshakeSummary {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// IANA name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// Key-exchange group, e.g. `X25519`, `X25519MLKEM768`, `secp256r1`.
    pub kx_group: Option<String>,
    /// ALPN protocol the server selected, if any.
    pub alpn: Option<String>,
    /// SNI sent in the ClientHello; `None` with `--no-sni` or for an IP address.
    pub sni: Option<String>,
    /// True for an abbreviated (resumed) handshake.
    pub resumed: bool,
    /// True when the server stapled an OCSP response (RFC 6066 §8).
    pub ocsp_stapled: bool,
}
