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

/// True for characters that must never reach a terminal raw even though
/// they are valid Unicode: C1 controls (U+0080–U+009F, CSI is U+009B),
/// zero-width characters, bidi embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069, "trojan source") and the BOM.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// A serde_json formatter that, besides the escapes JSON requires (C0),
/// writes every [`is_unsafe_char`] as `\uXXXX`: the output is terminal-safe
/// when printed, and the decoded strings are still exactly what was sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeJson {
    pretty: bool,
    indent: usize,
    has_value: bool,
}

impl SafeJson {
    /// One line, like `serde_json::to_string`.
    pub fn compact() -> SafeJson {
        SafeJson::default()
    }

    /// Indented by two spaces, like `serde_json::to_string_pretty`.
    pub fn pretty() -> SafeJson {
        SafeJson {
            pretty: true,
            ..SafeJson::default()
        }
    }

    fn newline_indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        if self.pretty {
            w.write_all(b"\n")?;
            for _ in 0..self.indent {
                w.write_all(b"  ")?;
            }
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe_char(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline_indent(w)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline_indent(w)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline_indent(w)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline_indent(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.pretty { b": " } else { b":" })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `value` as terminal-safe JSON (see [`SafeJson`]); pretty when asked.
///
/// # Errors
/// When `value` cannot be serialised (a map with non-string keys).
pub fn to_safe_json<T: serde::Serialize + ?Sized>(
    value: &T,
    pretty: bool,
) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let formatter = if pretty {
        SafeJson::pretty()
    } else {
        SafeJson::compact()
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    // The formatter writes only UTF-8 (str fragments and ASCII escapes).
    Ok(String::from_utf8_lossy(&out).into_owned())
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

    #[test]
    fn safe_json_escapes_c1_and_bidi_and_round_trips() {
        let v = serde_json::json!({"t": "a\u{9b}2J\u{202e}b\u{1b}c", "n": [1, 2], "e": {}});
        for pretty in [false, true] {
            let s = to_safe_json(&v, pretty).unwrap();
            assert!(
                s.contains("\\u009b") && s.contains("\\u202e") && s.contains("\\u001b"),
                "{s}"
            );
            assert!(!s.chars().any(|c| c != '\n' && is_unsafe_char(c)), "{s}");
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(back, v);
        }
        assert_eq!(
            to_safe_json(&v, true).unwrap(),
            serde_json::to_string_pretty(&v)
                .unwrap()
                .replace("\u{9b}", "\\u009b")
                .replace("\u{202e}", "\\u202e")
        );
    }
}
