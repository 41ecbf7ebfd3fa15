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

/// Renders `bytes` so that no byte from the peer can act on the terminal,
/// as segments of plain text and escapes (`true`), for styling.
///
/// Printable ASCII and printable UTF-8 pass through; control characters
/// (C0, DEL, C1), bidirectional overrides, zero-width characters and invalid
/// UTF-8 become escapes, and `\` is doubled so the escapes are unambiguous.
/// Stops after `max` characters so a 1 MiB line costs no more than the
/// visible part.
///
/// ```text
/// b"\x1b[2J\x07ok" -> \x1b [2J \x07 ok
/// b"caf\xc3\xa9"   -> café
/// b"\xff"          -> \xff
/// ```
pub fn escape_segments(bytes: &[u8], max: usize) -> Vec<(String, bool)> {
    fn push_to(out: &mut Vec<(String, bool)>, text: &str, escaped: bool) {
        match out.last_mut() {
            Some((last, e)) if *e == escaped => last.push_str(text),
            _ => out.push((text.to_string(), escaped)),
        }
    }
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut shown = 0;
    let mut buf = [0u8; 4];
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown >= max {
                return out;
            }
            match c {
                '\\' => push_to(&mut out, "\\\\", true),
                '\t' => push_to(&mut out, "\\t", true),
                '\r' => push_to(&mut out, "\\r", true),
                '\n' => push_to(&mut out, "\\n", true),
                c if c.is_ascii_control() => {
                    push_to(&mut out, &format!("\\x{:02x}", u32::from(c)), true)
                }
                // C1 controls (CSI is U+009B), bidi embeddings/overrides/isolates
                // ("trojan source"), zero-width characters and BOM: shown, never obeyed.
                '\u{80}'..='\u{9f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}' => push_to(&mut out, &format!("\\u{{{:x}}}", u32::from(c)), true),
                c => push_to(&mut out, c.encode_utf8(&mut buf), false),
            }
            shown += 1;
        }
        for b in chunk.invalid() {
            if shown >= max {
                return out;
            }
            push_to(&mut out, &format!("\\x{b:02x}"), true);
            shown += 1;
        }
    }
    out
}

/// [`escape_segments`] joined into one string.
pub fn escape(bytes: &[u8], max: usize) -> String {
    escape_segments(bytes, max)
        .into_iter()
        .map(|(s, _)| s)
        .collect()
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

    #[test]
    fn escapes_control_bytes_and_escape_sequences() {
        assert_eq!(
            escape(b"\x1b[2J\x07ok\tx\x7f", 99),
            "\\x1b[2J\\x07ok\\tx\\x7f"
        );
        assert_eq!(
            escape("caf\u{e9} \u{202e}".as_bytes(), 99),
            "caf\u{e9} \\u{202e}"
        );
        assert_eq!(escape(b"\xff\\", 99), "\\xff\\\\");
        assert_eq!(escape("\u{9b}2J".as_bytes(), 99), "\\u{9b}2J");
        assert_eq!(escape(b"abcdef", 3), "abc");
    }
}
