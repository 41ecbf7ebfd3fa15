//! Makes network text safe to show: control characters and escape
//! sequences become visible `\xNN` escapes, so a hostile server can never
//! drive the operator's terminal (clear the screen, retitle the window, ...).

/// Escapes `bytes` for display: printable ASCII and valid non-control UTF-8
/// pass through; CR and LF become `\r` and `\n`, TAB `\t`, a backslash `\\`,
/// every other control character (C0, DEL, C1) and invalid UTF-8 `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
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

fn push_char(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if c.is_control() => {
            let n = c as u32;
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:x}}}"));
            }
        }
        // Bidi overrides and zero-width characters can disguise text.
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
        c => out.push(c),
    }
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
            "caf\u{e9} \\x9bx"
        );
    }

    #[test]
    fn escapes_invalid_utf8_and_backslash() {
        assert_eq!(
            escape_bytes(b"\xff\xfe a\\b \x00"),
            "\\xff\\xfe a\\\\b \\x00"
        );
        assert_eq!(escape_bytes("\u{202e}evil".as_bytes()), "\\u{202e}evil");
    }
}
