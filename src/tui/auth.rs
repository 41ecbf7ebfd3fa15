//! Authentication helpers, started by a key (the credentials key, Ctrl-P
//! by default), never by what is typed: the input line always sends what
//! was typed, so a bare `AUTH PLAIN` goes out as is and the server's
//! challenge decides what comes next.
//!
//! - After a `334` / `+` challenge of a PLAIN or LOGIN exchange, the key
//!   prompts for the user name and the password (masked) and sends the
//!   base64 answer: `\0user\0pass` for PLAIN, one field per challenge for LOGIN.
//! - Otherwise it prompts for them and builds the login command for the
//!   line being typed (`AUTH PLAIN`, `AUTH LOGIN`, `LOGIN`, `AUTHENTICATE
//!   PLAIN`, `USER`) or the protocol's usual one.
//!
//! 334 / `+` challenges are also decoded for the explain pane.
//!
//! ```text
//! > AUTH PLAIN          C: AUTH PLAIN               (sent as typed)
//!                       S: 334                      (RFC 4954 §4: empty challenge)
//! Ctrl-P -> user name: demo -> password: *************
//!                       C: <redacted 28 bytes>      (RFC 4616: base64 of \0user\0pass)
//! S: 334 VXNlcm5hbWU6   -> challenge decodes to "Username:"  (RFC 4954 §4)
//! ```
//!
//! Before credentials go out over plaintext, or over TLS whose chain failed
//! verification, the app asks first: either way whoever is on the path can
//! read them (RFC 8314 §3, RFC 7817 §3).

use super::keymap::{Action, Keymap, Scope};
use crate::protocol::command::imap_quoted;
use crate::protocol::sasl;
use crate::session::TlsEstablished;
use crate::target::Protocol;

/// Which credential command the operator started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `AUTH PLAIN` with an initial response (RFC 4954 §4, RFC 5034 §4).
    SaslPlain,
    /// IMAP `AUTHENTICATE PLAIN` with SASL-IR (RFC 9051 §6.2.2, RFC 4959).
    ImapAuthenticatePlain,
    /// IMAP `LOGIN user password` as quoted strings (RFC 9051 §6.2.3).
    ImapLogin,
    /// POP3 `USER` then `PASS` (RFC 1939 §7).
    Pop3UserPass,
    /// `AUTH LOGIN`: user and password each answer a 334 / `+` challenge
    /// in base64 (draft-murchison-sasl-login).
    SaslLogin,
    /// The answer to the challenge of a PLAIN exchange already started:
    /// one line, base64 of `\0user\0password` (RFC 4616 §2).
    PlainResponse,
    /// The answers to the challenges of a LOGIN exchange already started:
    /// the user name now, the password at the next challenge.
    LoginResponse,
}

/// SASL responses waiting for their challenge; Debug never shows them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SaslQueue(pub std::collections::VecDeque<String>);

impl std::fmt::Debug for SaslQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SaslQueue({} pending)", self.0.len())
    }
}

/// Which field the prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    User,
    Password,
}

/// A running prompt. The password lives only here until sent and is never drawn.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthPrompt {
    pub kind: AuthKind,
    pub field: Field,
    pub user: String,
    password: String,
    /// A LOGIN challenge that asks for the password only (`Password:`).
    password_only: bool,
}

impl std::fmt::Debug for AuthPrompt {
    // The password stays out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPrompt")
            .field("kind", &self.kind)
            .field("field", &self.field)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl AuthPrompt {
    /// A prompt for `kind`, asking for the user name first.
    pub fn new(kind: AuthKind) -> Self {
        Self {
            kind,
            field: Field::User,
            user: String::new(),
            password: String::new(),
            password_only: false,
        }
    }

    /// A prompt for the password alone, answering a LOGIN `Password:` challenge.
    pub fn password_only(kind: AuthKind) -> Self {
        Self {
            field: Field::Password,
            password_only: true,
            ..Self::new(kind)
        }
    }

    /// The hint line while the prompt runs, with the keys as bound (i15).
    pub fn label(&self, keys: &Keymap) -> String {
        let submit = keys.hint(Scope::Input, Action::Submit);
        let cancel = keys.hint(Scope::Input, Action::Escape);
        match self.field {
            Field::User => format!("user name ({submit}), {cancel} cancels"),
            Field::Password => format!("password, masked ({submit}), {cancel} cancels"),
        }
    }

    /// Takes one typed field; true once both are known.
    pub fn enter(&mut self, value: String) -> bool {
        match self.field {
            Field::User => {
                self.user = value;
                self.field = Field::Password;
                false
            }
            Field::Password => {
                self.password = value;
                true
            }
        }
    }

    /// The lines to send (without CRLF; the IMAP tag is added at send time).
    pub fn lines(&self) -> Vec<String> {
        let (u, p) = (&self.user, &self.password);
        match self.kind {
            AuthKind::SaslPlain => vec![format!("AUTH PLAIN {}", sasl::plain_response(u, p))],
            AuthKind::ImapAuthenticatePlain => {
                vec![format!("AUTHENTICATE PLAIN {}", sasl::plain_response(u, p))]
            }
            AuthKind::ImapLogin => vec![format!("LOGIN {} {}", imap_quoted(u), imap_quoted(p))],
            AuthKind::Pop3UserPass => vec![format!("USER {u}"), format!("PASS {p}")],
            AuthKind::SaslLogin => vec!["AUTH LOGIN".into()],
            AuthKind::PlainResponse => vec![sasl::plain_response(u, p)],
            AuthKind::LoginResponse if self.password_only => vec![sasl::encode(p)],
            AuthKind::LoginResponse => vec![sasl::encode(u)],
        }
    }

    /// Responses to send, one per challenge, after [`AuthPrompt::lines`].
    pub fn responses(&self) -> SaslQueue {
        let b64 = sasl::encode;
        match self.kind {
            AuthKind::SaslLogin => SaslQueue([b64(&self.user), b64(&self.password)].into()),
            AuthKind::LoginResponse if !self.password_only => {
                SaslQueue([b64(&self.password)].into())
            }
            _ => SaslQueue::default(),
        }
    }
}

/// The login command the credentials key builds for a typed line: a
/// credential command without arguments (`AUTH PLAIN`, `LOGIN`, `USER`).
pub fn detect(protocol: Protocol, line: &str) -> Option<AuthKind> {
    let words: Vec<String> = line
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match (protocol, words.as_slice()) {
        (Protocol::Smtp | Protocol::Lmtp | Protocol::Pop3, ["AUTH", "PLAIN"]) => {
            Some(AuthKind::SaslPlain)
        }
        (Protocol::Smtp | Protocol::Lmtp | Protocol::Pop3, ["AUTH", "LOGIN"]) => {
            Some(AuthKind::SaslLogin)
        }
        (Protocol::Imap, ["AUTHENTICATE", "PLAIN"]) => Some(AuthKind::ImapAuthenticatePlain),
        (Protocol::Imap, ["LOGIN"]) => Some(AuthKind::ImapLogin),
        (Protocol::Pop3, ["USER"] | ["PASS"]) => Some(AuthKind::Pop3UserPass),
        _ => None,
    }
}

/// Why sending credentials now is unsafe, if it is.
pub fn insecure_reason(tls: Option<&TlsEstablished>) -> Option<String> {
    match tls {
        None => Some(
            "the connection is NOT encrypted: the password would cross the network readable \
             (base64 is an encoding, not encryption). Upgrade with STARTTLS first."
                .into(),
        ),
        Some(t) if !t.verdict.trusted => Some(format!(
            "TLS is up but the certificate failed verification ({}): whoever answered may not \
             be the server you meant, and would get the password.",
            t.verdict.error.as_ref().map_or("untrusted", |c| c.as_str())
        )),
        Some(_) => None,
    }
}

/// The text of an SMTP/POP3 `334 ...` or IMAP/POP3 `+ ...` challenge,
/// base64-decoded (RFC 4954 §4, RFC 9051 §7.5, RFC 5034 §4).
///
/// ```text
/// 334 VXNlcm5hbWU6 -> Username:
/// + UGFzc3dvcmQ6   -> Password:
/// ```
pub fn decode_challenge(protocol: Protocol, raw: &[u8]) -> Option<String> {
    let smtp = matches!(protocol, Protocol::Smtp | Protocol::Lmtp);
    let text = sasl::challenge_text(smtp, raw)?;
    let bytes = sasl::decode_challenge(text)?;
    Some(crate::escape::escape_prefix(&bytes, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_credential_commands_start_the_helper() {
        assert_eq!(
            detect(Protocol::Smtp, "auth plain"),
            Some(AuthKind::SaslPlain)
        );
        assert_eq!(detect(Protocol::Smtp, "AUTH PLAIN AGE="), None);
        assert_eq!(detect(Protocol::Imap, "LOGIN"), Some(AuthKind::ImapLogin));
        assert_eq!(
            detect(Protocol::Imap, "AUTHENTICATE PLAIN"),
            Some(AuthKind::ImapAuthenticatePlain)
        );
        assert_eq!(detect(Protocol::Pop3, "USER"), Some(AuthKind::Pop3UserPass));
        assert_eq!(detect(Protocol::Pop3, "USER demo"), None);
        assert_eq!(
            detect(Protocol::Smtp, "AUTH LOGIN"),
            Some(AuthKind::SaslLogin)
        );
        let mut p = AuthPrompt::new(AuthKind::SaslLogin);
        p.enter("demo".into());
        p.enter("demo-password".into());
        assert_eq!(p.lines(), ["AUTH LOGIN"]);
        assert_eq!(
            Vec::from(p.responses().0),
            ["ZGVtbw==", "ZGVtby1wYXNzd29yZA=="]
        );
        assert_eq!(format!("{:?}", p.responses()), "SaslQueue(2 pending)");
    }

    #[test]
    fn builds_base64_and_quoted_forms() {
        let mut p = AuthPrompt::new(AuthKind::SaslPlain);
        assert!(!p.enter("demo".into()));
        assert!(p.enter("demo-password".into()));
        assert_eq!(p.lines(), ["AUTH PLAIN AGRlbW8AZGVtby1wYXNzd29yZA=="]);
        let mut p = AuthPrompt::new(AuthKind::ImapLogin);
        p.enter("demo".into());
        p.enter("pa\"ss".into());
        assert_eq!(p.lines(), ["LOGIN \"demo\" \"pa\\\"ss\""]);
        assert!(!format!("{p:?}").contains("pa"), "{p:?}");
    }

    #[test]
    fn challenges_are_decoded() {
        assert_eq!(
            decode_challenge(Protocol::Smtp, b"334 VXNlcm5hbWU6\r\n").as_deref(),
            Some("Username:")
        );
        assert_eq!(
            decode_challenge(Protocol::Imap, b"+ UGFzc3dvcmQ6\r\n").as_deref(),
            Some("Password:")
        );
        assert_eq!(decode_challenge(Protocol::Smtp, b"250 ok\r\n"), None);
    }
}
