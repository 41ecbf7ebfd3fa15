//! The raw wire view: the selected transcript line as the bytes that
//! crossed the wire, line ending included. Toggled with `x` (pane focus)
//! or F6; it takes the explain pane's place.
//!
//! ```text
//! ┌ Raw · S <- 17 bytes · ends CRLF ───────────────────────────────────┐
//! │ 0000  35 33 35 20 35 2e 37 2e  38 20 6e 6f 0d 0a     535 5.7.8 no.. │
//! │ text  535 5.7.8 no\r\n                                              │
//! └─────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! SMTP, IMAP and POP3 all end lines with CRLF (RFC 5321 §2.3.8, RFC 9051
//! §2.2, RFC 1939 §3); a bare LF is shown in the warning colour because
//! servers and filters disagree about it (the root of SMTP smuggling).

use ratatui::text::{Line, Span};

use crate::session::transcript::LineEnding;
use crate::tui::theme::Theme;

/// Bytes per hex dump row at most.
const PER_ROW: usize = 16;

/// Bytes per hex dump row that fit `width` columns, so no row wraps: 16
/// (with a gap after 8) when they fit, else as many as fit, at least 4.
/// A row of n bytes takes `6 + 3n + n` columns (offset, hex, text).
pub fn per_row(width: usize) -> usize {
    if width > 6 + 3 * PER_ROW + 1 + PER_ROW {
        PER_ROW
    } else {
        (width.saturating_sub(7) / 4).clamp(4, PER_ROW - 1)
    }
}

/// How a line ended, in words.
pub fn ending_label(ending: LineEnding) -> &'static str {
    match ending {
        LineEnding::Crlf => "ends CRLF",
        LineEnding::BareLf => "ends in a BARE LF (not CRLF)",
        LineEnding::None => "no line ending",
    }
}

/// One byte as escaped text: printable ASCII as is, CR and LF as `\r` `\n`,
/// everything else as `\xNN` (never raw: server bytes must not reach the terminal).
fn escape_byte(b: u8) -> String {
    match b {
        b'\r' => "\\r".into(),
        b'\n' => "\\n".into(),
        b'\t' => "\\t".into(),
        b'\\' => "\\\\".into(),
        0x20..=0x7e => char::from(b).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

/// The lines of the raw view of `bytes` (one transcript row with its
/// ending), hex rows fitted to `width` columns.
pub fn lines(bytes: &[u8], ending: LineEnding, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let per_row = per_row(width);
    let mut out = vec![Line::from(vec![
        Span::styled(format!("{} bytes", bytes.len()), theme.label),
        Span::raw(" · "),
        Span::styled(
            ending_label(ending),
            if ending == LineEnding::Crlf {
                theme.good
            } else {
                theme.warning
            },
        ),
    ])];
    for (i, chunk) in bytes.chunks(per_row).enumerate() {
        let mut hex = String::new();
        for (j, b) in chunk.iter().enumerate() {
            if j == PER_ROW / 2 && per_row == PER_ROW {
                hex.push(' ');
            }
            hex.push_str(&format!("{b:02x} "));
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..=0x7e).contains(&b) {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        out.push(Line::from(vec![
            Span::styled(format!("{:04x}  ", i * per_row), theme.dim),
            Span::raw(format!(
                "{hex:<w$}",
                w = 3 * per_row + usize::from(per_row == PER_ROW)
            )),
            Span::styled(ascii, theme.dim),
        ]));
    }
    let mut text = vec![Span::styled("text  ", theme.label)];
    for &b in bytes {
        let style = match b {
            b'\r' | b'\n' if ending == LineEnding::BareLf => theme.warning,
            b'\r' | b'\n' => theme.good,
            0x20..=0x7e => theme.server,
            _ => theme.escaped,
        };
        text.push(Span::styled(escape_byte(b), style));
    }
    out.push(Line::from(text));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn crlf_and_bare_lf_are_visible_with_the_byte_count() {
        let theme = Theme::monochrome();
        let crlf = plain(&lines(b"250 ok\r\n", LineEnding::Crlf, &theme, 80));
        assert_eq!(crlf[0], "8 bytes · ends CRLF");
        assert!(crlf[1].contains("32 35 30 20 6f 6b 0d 0a"), "{crlf:?}");
        assert_eq!(crlf[2], "text  250 ok\\r\\n");
        let lf = plain(&lines(b"+OK\n", LineEnding::BareLf, &theme, 80));
        assert!(lf[0].contains("BARE LF"));
        assert_eq!(lf[2], "text  +OK\\n");
        let esc = plain(&lines(b"\x1b[2J\r\n", LineEnding::Crlf, &theme, 80));
        assert_eq!(esc[2], "text  \\x1b[2J\\r\\n");
    }

    #[test]
    fn hex_rows_fit_the_width() {
        let bytes = [b'a'; 40];
        let out = plain(&lines(&bytes, LineEnding::None, &Theme::monochrome(), 80));
        assert_eq!(out.len(), 1 + 3 + 1);
        assert!(out[3].starts_with("0020  "));
        for width in [30, 40, 56, 72, 80] {
            let out = plain(&lines(
                &bytes,
                LineEnding::None,
                &Theme::monochrome(),
                width,
            ));
            let rows = &out[1..out.len() - 1];
            assert!(
                rows.iter().all(|r| r.chars().count() <= width),
                "{width}: {rows:?}"
            );
        }
        assert_eq!(per_row(68), 15);
        assert_eq!(per_row(20), 4);
    }
}
