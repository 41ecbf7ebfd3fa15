//! Small, local readings of wire bytes that the UI needs before
//! `protocol::{smtp,imap,pop3}` land: reply codes, capability lists,
//! secret masking and escaping of untrusted bytes for the terminal.
//!
//! These work on whole entries as the engine delivers them (one entry per
//! response) and never fail: anything unexpected yields `None` or an empty
//! list. Once the parsers land, `capabilities` can be swapped for
//! `smtp::ehlo_capabilities`, `imap::capabilities` and `pop3::capa`.

use crate::target::Protocol;

/// The first line of `raw`, without its line ending, lossily decoded.
pub fn first_line(raw: &[u8]) -> String {
    // A line longer than a screen is never a command or capability list worth
    // decoding whole (a 1 MiB hostile line is only scanned, not copied).
    let end = raw
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(raw.len())
        .min(64 * 1024);
    let line = &raw[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Lines of `raw` without line endings, lossily decoded.
/// SMTP reply code from the first three bytes (RFC 5321 §4.2).
///
/// ```text
/// 250-mx.example.com   -> Some(250)
/// 2x0 nonsense         -> None
/// ```
pub fn reply_code(raw: &[u8]) -> Option<u16> {
    match raw {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Text shown instead of a secret.
pub const MASK: &str = "********";

/// Byte offset where the credential in a command line starts, if it holds one.
///
/// ```text
/// AUTH PLAIN AGFsaWNlAHNlY3JldA==   -> AUTH PLAIN ********   (SMTP, POP3)
/// a1 LOGIN alice secret             -> a1 LOGIN alice ********  (IMAP)
/// a1 AUTHENTICATE PLAIN AGFs...     -> a1 AUTHENTICATE PLAIN ********
/// PASS secret                       -> PASS ********          (POP3)
/// APOP alice c4c9334bac560ecc...    -> APOP alice ********    (POP3)
/// ```
pub fn secret_offset(protocol: Protocol, line: &str) -> Option<usize> {
    let words: Vec<&str> = line.split(' ').collect();
    let verb_at = usize::from(protocol == Protocol::Imap && words.len() > 1);
    let verb = words.get(verb_at)?.to_ascii_uppercase();
    // How many words (verb included) stay visible before the secret starts.
    let keep = match (protocol, verb.as_str()) {
        (_, "AUTH" | "AUTHENTICATE") => verb_at + 2,
        (Protocol::Imap, "LOGIN") => verb_at + 2,
        (Protocol::Pop3, "PASS") => 1,
        (Protocol::Pop3, "APOP") => 2,
        _ => return None,
    };
    if words.len() <= keep {
        return None;
    }
    if words.len() == keep + 1 && is_literal_marker(words[keep]) {
        // `LOGIN alice {6}`: the password follows as a literal, masked there.
        return None;
    }
    Some(words[..keep].iter().map(|w| w.len() + 1).sum())
}

/// The command line with credentials masked, or `None` when it holds none.
pub fn mask_command(protocol: Protocol, line: &str) -> Option<String> {
    let at = secret_offset(protocol, line)?;
    Some(format!("{}{MASK}", &line[..at]))
}

/// `{6}` or `{6+}`: an IMAP literal announcement (RFC 9051 §4.3, RFC 7888).
fn is_literal_marker(word: &str) -> bool {
    word.strip_prefix('{')
        .and_then(|w| w.strip_suffix('}'))
        .map(|w| w.strip_suffix('+').unwrap_or(w))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        assert_eq!(reply_code(b"250-x\r\n"), Some(250));
        assert_eq!(reply_code(b"354 go"), Some(354));
        assert_eq!(reply_code(b"25"), None);
        assert_eq!(reply_code(b"+OK"), None);
    }

    #[test]
    fn masks_credentials() {
        assert_eq!(
            mask_command(Protocol::Smtp, "AUTH PLAIN AGFsaWNl").as_deref(),
            Some("AUTH PLAIN ********")
        );
        assert_eq!(mask_command(Protocol::Smtp, "AUTH LOGIN"), None);
        assert_eq!(
            mask_command(Protocol::Imap, "a1 LOGIN alice s3cret").as_deref(),
            Some("a1 LOGIN alice ********")
        );
        assert_eq!(
            mask_command(Protocol::Pop3, "PASS s3cret").as_deref(),
            Some("PASS ********")
        );
        assert_eq!(mask_command(Protocol::Pop3, "USER alice"), None);
        assert_eq!(mask_command(Protocol::Imap, "a1 LOGIN alice {6}"), None);
        assert_eq!(mask_command(Protocol::Smtp, "MAIL FROM:<a@b>"), None);
    }
}
