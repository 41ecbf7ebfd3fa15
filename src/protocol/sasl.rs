//! SASL as the three protocols carry it: SMTP `AUTH` (RFC 4954), IMAP
//! `AUTHENTICATE` (RFC 9051 §6.2.2) and POP3 `AUTH` (RFC 5034). Encoding and
//! decoding of the PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login)
//! messages, challenges and responses, for both ends: the client's auth
//! helpers and replay build responses here, the built-in server checks them.
//!
//! ```text
//! C: AUTH PLAIN AGFsaWNlAHMzY3JldA==        base64( authzid NUL authcid NUL passwd )
//! C: AUTH LOGIN
//! S: 334 VXNlcm5hbWU6                        "Username:"
//! C: YWxpY2U=                                "alice"
//! S: 334 UGFzc3dvcmQ6                        "Password:"
//! C: czNjcmV0                                "s3cret"
//! C: *                                       cancels the exchange (RFC 4954 §4)
//! C: =                                       an empty response (RFC 4954 §4)
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A SASL mechanism name (IANA "SASL Mechanisms" registry), case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616: one message with authzid, authcid and password.
    Plain,
    /// draft-murchison-sasl-login: user name and password, each on a challenge.
    Login,
    /// RFC 2195: HMAC-MD5 over a server challenge.
    CramMd5,
    /// RFC 4422 Appendix A: the identity from TLS or the lower layer.
    External,
    /// RFC 7628.
    OAuthBearer,
    /// Google/Microsoft's bearer-token mechanism (obsolete in the IANA registry).
    XOAuth2,
    /// Any other name, upper-cased as sent (`SCRAM-SHA-256`, `GSSAPI`, ...).
    Other(String),
}

impl Mechanism {
    /// Parses a mechanism name, case-insensitively.
    pub fn parse(name: &str) -> Mechanism {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Mechanism::Plain,
            "LOGIN" => Mechanism::Login,
            "CRAM-MD5" => Mechanism::CramMd5,
            "EXTERNAL" => Mechanism::External,
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            "XOAUTH2" => Mechanism::XOAuth2,
            other => Mechanism::Other(other.to_string()),
        }
    }

    /// The name as sent on the wire, upper case.
    pub fn name(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::External => "EXTERNAL",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::Other(s) => s,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a client response cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The client sent `*` (RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4).
    #[error("authentication cancelled by the client (*)")]
    Cancelled,
    /// The response is not base64.
    #[error("the response is not valid base64")]
    InvalidBase64,
    /// A PLAIN message without exactly two NUL separators (RFC 4616 §2).
    #[error("the PLAIN message does not have the form authzid NUL authcid NUL passwd")]
    MalformedPlain,
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, SaslError>;

/// base64 of `bytes` (RFC 4648 §4, with padding), as SASL responses carry them.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes one client response line (no line ending): `=` is an empty
/// response and `*` cancels (RFC 4954 §4).
///
/// # Errors
/// [`SaslError::Cancelled`] for `*`, [`SaslError::InvalidBase64`] otherwise.
pub fn decode_response(line: &str) -> Result<Vec<u8>> {
    match line.trim() {
        "*" => Err(SaslError::Cancelled),
        "=" => Ok(Vec::new()),
        b64 => STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| SaslError::InvalidBase64),
    }
}

/// The three fields of a PLAIN message (RFC 4616 §2). Debug never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity; empty to act as `authcid`.
    pub authzid: Vec<u8>,
    /// Authentication identity (the user name).
    pub authcid: Vec<u8>,
    /// The password.
    pub passwd: Vec<u8>,
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &String::from_utf8_lossy(&self.authzid))
            .field("authcid", &String::from_utf8_lossy(&self.authcid))
            .finish_non_exhaustive()
    }
}

/// The PLAIN initial response for `user` / `password` with an empty authzid,
/// base64-encoded: `AGFsaWNlAHMzY3JldA==` for alice / s3cret (RFC 4616 §2).
pub fn plain_response(user: &str, password: &str) -> String {
    encode(format!("\0{user}\0{password}"))
}

/// Splits a decoded PLAIN message into its three fields.
///
/// # Errors
/// [`SaslError::MalformedPlain`] unless there are exactly two NULs.
pub fn decode_plain(message: &[u8]) -> Result<PlainCredentials> {
    let mut parts = message.split(|&b| b == 0);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(authzid), Some(authcid), Some(passwd), None) => Ok(PlainCredentials {
            authzid: authzid.to_vec(),
            authcid: authcid.to_vec(),
            passwd: passwd.to_vec(),
        }),
        _ => Err(SaslError::MalformedPlain),
    }
}

/// Base64 of `Username:`, the first LOGIN challenge servers send.
pub const LOGIN_USERNAME_CHALLENGE: &str = "VXNlcm5hbWU6";
/// Base64 of `Password:`, the second LOGIN challenge.
pub const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// What a LOGIN challenge asks for, read from its decoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginPrompt {
    /// `Username:` (or `User Name`, as some servers write it).
    Username,
    /// `Password:`.
    Password,
}

/// Classifies a decoded LOGIN challenge; `None` for anything else.
pub fn login_prompt(decoded: &[u8]) -> Option<LoginPrompt> {
    let text = String::from_utf8_lossy(decoded).to_ascii_lowercase();
    let text = text.trim().trim_end_matches(':');
    match text.replace([' ', '_'], "").as_str() {
        "username" | "user" => Some(LoginPrompt::Username),
        "password" => Some(LoginPrompt::Password),
        _ => None,
    }
}

/// The base64 text of a challenge line without its line ending: SMTP/LMTP
/// `334 text` (RFC 4954 §4), IMAP/POP3 `+ text` or a bare `+`
/// (RFC 9051 §7.5, RFC 5034 §4). `None` when the line is no challenge.
pub fn challenge_text(smtp: bool, line: &[u8]) -> Option<&[u8]> {
    let line = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    if smtp {
        let rest = line.strip_prefix(b"334")?;
        Some(rest.strip_prefix(b" ").unwrap_or(rest))
    } else {
        let rest = line.strip_prefix(b"+")?;
        if rest.is_empty() {
            return Some(rest);
        }
        rest.strip_prefix(b" ")
    }
}

/// Decodes a challenge's base64 text; `None` when it is empty or not base64
/// (IMAP servers may send free text after `+` outside SASL).
pub fn decode_challenge(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return None;
    }
    STANDARD.decode(text).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_round_trip_and_rfc4616_shape() {
        let b64 = plain_response("alice", "s3cret");
        assert_eq!(b64, "AGFsaWNlAHMzY3JldA==");
        let message = decode_response(&b64).unwrap();
        let creds = decode_plain(&message).unwrap();
        assert_eq!(creds.authcid, b"alice");
        assert_eq!(creds.passwd, b"s3cret");
        assert!(creds.authzid.is_empty());
        assert!(!format!("{creds:?}").contains("s3cret"));
        assert_eq!(decode_plain(b"\0a"), Err(SaslError::MalformedPlain));
        assert_eq!(decode_plain(b"a\0b\0c\0d"), Err(SaslError::MalformedPlain));
    }

    #[test]
    fn responses_cancel_empty_and_invalid() {
        assert_eq!(decode_response("*"), Err(SaslError::Cancelled));
        assert_eq!(decode_response("="), Ok(Vec::new()));
        assert_eq!(decode_response("!!"), Err(SaslError::InvalidBase64));
    }

    #[test]
    fn challenges() {
        assert_eq!(
            challenge_text(true, b"334 VXNlcm5hbWU6\r\n"),
            Some(&b"VXNlcm5hbWU6"[..])
        );
        assert_eq!(challenge_text(true, b"334\r\n"), Some(&b""[..]));
        assert_eq!(challenge_text(true, b"250 ok\r\n"), None);
        assert_eq!(challenge_text(false, b"+\r\n"), Some(&b""[..]));
        assert_eq!(challenge_text(false, b"+OK\r\n"), None);
        assert_eq!(
            challenge_text(false, b"+ UGFzc3dvcmQ6\r\n"),
            Some(&b"UGFzc3dvcmQ6"[..])
        );
        let user = decode_challenge(LOGIN_USERNAME_CHALLENGE.as_bytes()).unwrap();
        assert_eq!(login_prompt(&user), Some(LoginPrompt::Username));
        let pass = decode_challenge(LOGIN_PASSWORD_CHALLENGE.as_bytes()).unwrap();
        assert_eq!(login_prompt(&pass), Some(LoginPrompt::Password));
        assert_eq!(login_prompt(b"User Name"), Some(LoginPrompt::Username));
        assert_eq!(decode_challenge(b"Ready for literal"), None);
    }

    #[test]
    fn mechanisms() {
        assert_eq!(Mechanism::parse("plain"), Mechanism::Plain);
        assert_eq!(Mechanism::parse("Login"), Mechanism::Login);
        assert_eq!(
            Mechanism::parse("scram-sha-256"),
            Mechanism::Other("SCRAM-SHA-256".into())
        );
        assert_eq!(Mechanism::parse("xoauth2").name(), "XOAUTH2");
    }
}
