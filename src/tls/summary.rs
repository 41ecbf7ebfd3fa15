//! What a TLS handshake negotiated, in the terms `openssl s_client` prints.

/// Parameters of an established TLS session.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The server asked for a client certificate (CertificateRequest,
    /// RFC 8446 §4.3.2, RFC 5246 §7.4.4); absent when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<ClientCertRequest>,
}

/// A server's request for a client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientCertRequest {
    /// The CAs the server accepts (certificate_authorities), as RFC 4514
    /// names; empty when it names none.
    pub acceptable_cas: Vec<String>,
    /// True when mailwire answered with a certificate (`--cert`/`--key`).
    pub sent: bool,
}
