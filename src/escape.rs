//! Makes network text safe to show: control characters and escape
//! sequences become visible `\xNN` escapes, so a hostile server can never
//! drive the operator's terminal (clear the screen, retitle the window, ...).

/// Splits `bytes` into display segments, each flagged `true` when it is an
/// escape: printable text (valid UTF-8) passes through; TAB, CR and LF
/// become `\t`, `\r`, `\n`; other C0 controls and DEL `\xNN`; C1 controls
/// (CSI is U+009B), bidi overrides/isolates ("trojan source"), zero-width
/// characters and the BOM `\u{NN}`; invalid UTF-8 `\xNN` per byte.
/// Stops after `max_chars` output characters' worth of input, so a 1 MiB
/// line costs no more than its visible part.
///
/// A backslash from the network is left as is (IMAP flags read `\Seen`):
/// the TUI styles escapes apart from text, and no control byte ever passes.
///
/// ```text
/// b"\x1b[2J\x07ok" -> [\x1b] [[2J] [\x07] [ok]
/// b"caf\xc3\xa9"   -> [café]
/// b"\xff"          -> [\xff]
/// ```
pub fn segments(bytes: &[u8], max_chars: usize) -> Vec<(String, bool)> {
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
            if shown >= max_chars {
                return out;
            }
            match c {
                '\t' => push_to(&mut out, "\\t", true),
                '\r' => push_to(&mut out, "\\r", true),
                '\n' => push_to(&mut out, "\\n", true),
                c if c.is_ascii_control() => {
                    push_to(&mut out, &format!("\\x{:02x}", u32::from(c)), true)
                }
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
            if shown >= max_chars {
                return out;
            }
            push_to(&mut out, &format!("\\x{b:02x}"), true);
            shown += 1;
        }
    }
    out
}

/// [`segments`] of at most `max_chars` characters joined into one string.
pub fn escape_prefix(bytes: &[u8], max_chars: usize) -> String {
    segments(bytes, max_chars)
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// All of `bytes` escaped for display, see [`segments`].
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape_prefix(bytes, usize::MAX)
}

/// Like [`escape_bytes`] but drops one trailing CRLF or LF, for showing a
/// line whose ending is displayed elsewhere.
pub fn escape_line(bytes: &[u8]) -> String {
    let trimmed = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    escape_bytes(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_control_sequences() {
        assert_eq!(
            escape_bytes(b"220 \x1b[2J\x07hi\r\n"),
            "220 \\x1b[2J\\x07hi\\r\\n"
        );
        assert_eq!(escape_line(b"250 ok\r\n"), "250 ok");
        assert_eq!(
            escape_bytes("caf\u{e9} \u{9b}x".as_bytes()),
            "caf\u{e9} \\u{9b}x"
        );
        assert_eq!(
            escape_prefix(b"\x1b[2J\x07ok\tx\x7f", 99),
            "\\x1b[2J\\x07ok\\tx\\x7f"
        );
        assert_eq!(escape_prefix(b"abcdef", 3), "abc");
    }

    #[test]
    fn escapes_invalid_utf8_and_bidi_but_keeps_backslashes() {
        assert_eq!(
            escape_bytes(b"\xff\xfe a\\Seen \x00"),
            "\\xff\\xfe a\\Seen \\x00"
        );
        assert_eq!(escape_bytes("\u{202e}evil".as_bytes()), "\\u{202e}evil");
    }

    #[test]
    fn segments_flag_escapes() {
        assert_eq!(
            segments(b"a\x1bb", 99),
            vec![
                ("a".to_string(), false),
                ("\\x1b".to_string(), true),
                ("b".to_string(), false)
            ]
        );
    }
}
