//! TLS for both ends, kept in one place so rustls types do not leak:
//! the recording verifier, the handshake summary and the client/server
//! connectors used by `session` and `server`.

pub mod summary;
pub mod verifier;

pub use summary::HandshakeSummary;
pub use verifier::Verdict;
