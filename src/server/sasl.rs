//! SASL as the demo server speaks it in SMTP AUTH (RFC 4954), IMAP
//! AUTHENTICATE (RFC 9051 §6.2.2) and POP3 AUTH (RFC 5034): PLAIN
//! (RFC 4616) and LOGIN, plus the one demo account.
//!
//! ```text
//! PLAIN initial response = base64( authzid NUL authcid NUL passwd )
//! LOGIN: server asks "Username:" then "Password:" (base64), client answers base64
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{DEMO_PASSWORD, DEMO_USER};

/// A SASL mechanism the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// RFC 4616.
    Plain,
    /// The obsolete but ubiquitous LOGIN mechanism (draft-murchison-sasl-login).
    Login,
}

impl Mechanism {
    /// Parses a mechanism name, case-insensitively.
    pub fn parse(name: &str) -> Option<Mechanism> {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "LOGIN" => Some(Mechanism::Login),
            _ => None,
        }
    }
}

/// Base64 of `Username:`, the first LOGIN challenge.
pub(crate) const LOGIN_USERNAME_CHALLENGE: &str = "VXNlcm5hbWU6";
/// Base64 of `Password:`, the second LOGIN challenge.
pub(crate) const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// Why a client response could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SaslError {
    /// The client sent `*` (RFC 4954 §4, RFC 9051 §6.2.2).
    #[error("authentication aborted by client")]
    Aborted,
    /// The response is not base64.
    #[error("invalid base64 in response")]
    InvalidBase64,
}

/// Decodes one client response line. A lone `=` is an empty response
/// (RFC 4954 §4) and `*` cancels the exchange.
pub(crate) fn decode_response(line: &str) -> Result<Vec<u8>, SaslError> {
    let line = line.trim();
    if line == "*" {
        return Err(SaslError::Aborted);
    }
    if line == "=" {
        return Ok(Vec::new());
    }
    STANDARD
        .decode(line.as_bytes())
        .map_err(|_| SaslError::InvalidBase64)
}

/// Checks a PLAIN message; malformed messages simply fail.
pub(crate) fn plain_ok(message: &[u8]) -> bool {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    // Acting as another user (authzid) is not offered.
    (authzid.is_empty() || authzid == authcid) && credentials_ok(authcid, passwd)
}

/// True for the demo account: `demo` (or `demo@localhost`) / `demo-password`.
pub(crate) fn credentials_ok(user: &[u8], password: &[u8]) -> bool {
    let user_ok =
        user == DEMO_USER.as_bytes() || user == format!("{DEMO_USER}@localhost").as_bytes();
    user_ok && password == DEMO_PASSWORD.as_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn plain_accepts_demo_with_or_without_authzid() {
        assert!(plain_ok(b"\0demo\0demo-password"));
        assert!(plain_ok(b"demo\0demo\0demo-password"));
        assert!(plain_ok(b"\0demo@localhost\0demo-password"));
    }

    #[test]
    fn plain_rejects_wrong_or_malformed() {
        for bad in [
            &b"\0demo\0wrong"[..],
            b"admin\0demo\0demo-password",
            b"\0demo",
            b"\0demo\0demo-password\0extra",
            b"",
        ] {
            assert!(!plain_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn responses_decode_cancel_and_fail() {
        assert_eq!(
            decode_response("AGRlbW8AZGVtby1wYXNzd29yZA==").unwrap(),
            b"\0demo\0demo-password"
        );
        assert_eq!(decode_response("=").unwrap(), b"");
        assert_eq!(decode_response("*"), Err(SaslError::Aborted));
        assert_eq!(decode_response("!!!"), Err(SaslError::InvalidBase64));
    }

    #[test]
    fn mechanism_names_are_case_insensitive() {
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("CRAM-MD5"), None);
    }
}
