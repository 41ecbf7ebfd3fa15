//! A server-certificate verifier that records webpki's verdict instead of
//! failing the handshake, so a broken chain can still be inspected.

/// The verification verdict for one handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// True only when the chain leads to a trusted root and the name matches.
    pub trusted: bool,
    /// Whether the leaf is valid for the name checked (`--servername`).
    pub hostname_match: bool,
    /// The name the certificate was checked against.
    pub name_checked: String,
    /// webpki's reason in plain words, e.g. `certificate expired`; `None` when trusted.
    pub error: Option<String>,
}
