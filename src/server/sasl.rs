//! SASL as the demo server speaks it in SMTP AUTH (RFC 4954), IMAP
//! AUTHENTICATE (RFC 9051 §6.2.2) and POP3 AUTH (RFC 5034): PLAIN
//! (RFC 4616) and LOGIN, plus the one demo account. Encoding and decoding
//! are `protocol::sasl`'s, shared with the client.
//!
//! ```text
//! PLAIN initial response = base64( authzid NUL authcid NUL passwd )
//! LOGIN: server asks "Username:" then "Password:" (base64), client answers base64
//! ```

use crate::protocol::sasl::{self, decode_plain};
pub(crate) use crate::protocol::sasl::{
    LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE, SaslError, decode_response,
};

use super::framed::{Framed, MailStream, WireError};
use super::{DEMO_PASSWORD, DEMO_USER};

/// A finished SASL exchange whose responses decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Login {
    /// True for the demo account's credentials.
    pub ok: bool,
    /// The authentication identity (PLAIN authcid, LOGIN user name).
    pub user: Vec<u8>,
}

/// Runs one PLAIN or LOGIN exchange (RFC 4954 §4, RFC 9051 §6.2.2,
/// RFC 5034 §4), the same for all three protocols but for how a challenge
/// is sent: `challenge_prefix` is `334 ` (SMTP) or `+ ` (IMAP, POP3).
/// `initial` is the initial response sent with the command (base64).
///
/// # Errors
/// The outer `Err` is the connection's; the inner one a response that is
/// `*` (cancelled) or not base64/PLAIN, with `true` when it was the initial
/// response.
pub(crate) async fn exchange(
    framed: &mut Framed<MailStream>,
    challenge_prefix: &str,
    mech: Mechanism,
    initial: Option<&str>,
) -> Result<Result<Login, (SaslError, bool)>, WireError> {
    let first = match initial {
        Some(ir) => decode_response(ir).map_err(|e| (e, true)),
        None => {
            let challenge = match mech {
                Mechanism::Plain => "",
                Mechanism::Login => LOGIN_USERNAME_CHALLENGE,
            };
            step(framed, challenge_prefix, challenge)
                .await?
                .map_err(|e| (e, false))
        }
    };
    Ok(match (mech, first) {
        (_, Err(e)) => Err(e),
        (Mechanism::Plain, Ok(message)) => Ok(Login {
            ok: plain_ok(&message),
            user: message
                .split(|&b| b == 0)
                .nth(1)
                .unwrap_or_default()
                .to_vec(),
        }),
        (Mechanism::Login, Ok(user)) => step(framed, challenge_prefix, LOGIN_PASSWORD_CHALLENGE)
            .await?
            .map_err(|e| (e, false))
            .map(|pass| Login {
                ok: credentials_ok(&user, &pass),
                user,
            }),
    })
}

/// Sends one challenge and decodes the client's response line.
async fn step(
    framed: &mut Framed<MailStream>,
    prefix: &str,
    challenge: &str,
) -> Result<Result<Vec<u8>, SaslError>, WireError> {
    framed.send_line(&format!("{prefix}{challenge}")).await?;
    let line = framed.read_line().await?;
    Ok(decode_response(&line.text()))
}

/// A SASL mechanism the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// RFC 4616.
    Plain,
    /// The obsolete but ubiquitous LOGIN mechanism (draft-murchison-sasl-login).
    Login,
}

impl Mechanism {
    /// The offered mechanism of that name (case-insensitive), if any.
    pub fn parse(name: &str) -> Option<Mechanism> {
        match sasl::Mechanism::parse(name) {
            sasl::Mechanism::Plain => Some(Mechanism::Plain),
            sasl::Mechanism::Login => Some(Mechanism::Login),
            _ => None,
        }
    }
}

/// Checks a PLAIN message; malformed messages simply fail.
pub(crate) fn plain_ok(message: &[u8]) -> bool {
    let Ok(c) = decode_plain(message) else {
        return false;
    };
    // Acting as another user (authzid) is not offered.
    (c.authzid.is_empty() || c.authzid == c.authcid) && credentials_ok(&c.authcid, &c.passwd)
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
        assert_eq!(decode_response("*"), Err(SaslError::Cancelled));
        assert_eq!(decode_response("!!!"), Err(SaslError::InvalidBase64));
    }

    #[test]
    fn mechanism_names_are_case_insensitive() {
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("CRAM-MD5"), None);
    }
}
