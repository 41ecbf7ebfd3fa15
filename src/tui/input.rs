//! The input line: editing, history (Up/Down) and Tab completion of the
//! protocol's commands and SASL mechanisms. Plain data, no I/O.

use crate::protocol::Capability;
use crate::target::Protocol;

/// Commands offered by Tab, per protocol (RFC 5321 §4.1, RFC 2033 §4.1,
/// RFC 9051 §6, RFC 1939 §§4–7, RFC 2449 §5, RFC 2595 §4).
pub fn commands(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Smtp => &[
            "EHLO",
            "HELO",
            "STARTTLS",
            "AUTH",
            "MAIL FROM:<",
            "RCPT TO:<",
            "DATA",
            "BDAT",
            "RSET",
            "NOOP",
            "VRFY",
            "EXPN",
            "HELP",
            "QUIT",
        ],
        Protocol::Lmtp => &[
            "LHLO",
            "STARTTLS",
            "AUTH",
            "MAIL FROM:<",
            "RCPT TO:<",
            "DATA",
            "BDAT",
            "RSET",
            "NOOP",
            "VRFY",
            "HELP",
            "QUIT",
        ],
        Protocol::Imap => &[
            "CAPABILITY",
            "NOOP",
            "LOGOUT",
            "STARTTLS",
            "AUTHENTICATE",
            "LOGIN",
            "ENABLE",
            "ID",
            "NAMESPACE",
            "SELECT",
            "EXAMINE",
            "CREATE",
            "DELETE",
            "RENAME",
            "SUBSCRIBE",
            "UNSUBSCRIBE",
            "LIST",
            "LSUB",
            "STATUS",
            "APPEND",
            "IDLE",
            "CLOSE",
            "UNSELECT",
            "EXPUNGE",
            "SEARCH",
            "FETCH",
            "STORE",
            "COPY",
            "MOVE",
            "UID",
        ],
        Protocol::Pop3 => &[
            "CAPA", "STLS", "USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR", "DELE", "TOP",
            "UIDL", "NOOP", "RSET", "UTF8", "QUIT",
        ],
    }
}

/// SASL mechanisms the server advertised: SMTP `AUTH PLAIN LOGIN`
/// (RFC 4954 §3), IMAP `AUTH=PLAIN` (RFC 9051 §6.2.2), POP3 `SASL PLAIN` (RFC 2449 §6.3).
pub fn sasl_mechanisms(caps: &[Capability]) -> Vec<String> {
    let mut mechs = Vec::new();
    for cap in caps {
        if let Some(m) = cap.name.strip_prefix("AUTH=") {
            mechs.push(m.to_string());
        } else if cap.name == "AUTH" || cap.name == "SASL" {
            mechs.extend(cap.params.iter().map(|p| p.to_ascii_uppercase()));
        }
    }
    mechs.dedup();
    mechs
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Completion {
    /// Text before the word being completed.
    base: String,
    candidates: Vec<String>,
    index: usize,
}

/// The operator's line being typed, with history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLine {
    text: String,
    /// Cursor position in chars.
    cursor: usize,
    history: Vec<String>,
    /// Index into `history` while browsing with Up/Down.
    browsing: Option<usize>,
    /// The line being typed before browsing started.
    draft: String,
    completion: Option<Completion>,
}

impl InputLine {
    /// The line as typed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Cursor position in chars.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Lines sent so far, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn edited(&mut self) {
        self.completion = None;
        self.browsing = None;
    }

    /// Replaces the line and puts the cursor at its end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.chars().count();
        self.edited();
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        self.edited();
    }

    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            self.insert(c);
        }
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
            self.edited();
        }
    }

    pub fn delete_forward(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
            self.edited();
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        self.set("");
    }

    /// Takes the line for sending; it enters the history unless `secret`
    /// (a password or SASL response must not be recalled by Up).
    pub fn take(&mut self, secret: bool) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.edited();
        self.draft.clear();
        if !secret && !line.is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
        }
        line
    }

    /// Up: the previous history line (the draft is kept for Down).
    pub fn history_prev(&mut self) {
        let index = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.text.clone();
                self.history.len() - 1
            }
            Some(i) => i.saturating_sub(1),
        };
        self.show_history(Some(index));
    }

    /// Down: the next history line, then back to the draft.
    pub fn history_next(&mut self) {
        match self.browsing {
            None => {}
            Some(i) if i + 1 < self.history.len() => self.show_history(Some(i + 1)),
            Some(_) => self.show_history(None),
        }
    }

    fn show_history(&mut self, index: Option<usize>) {
        self.text = match index {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.cursor = self.text.chars().count();
        self.completion = None;
        self.browsing = index;
    }

    /// Tab: completes the word before the cursor (the command, or a SASL
    /// mechanism after AUTH/AUTHENTICATE); a repeated Tab cycles through the
    /// candidates. Returns a line for the hint: candidates and what the
    /// server advertised.
    pub fn complete(
        &mut self,
        protocol: Protocol,
        caps: Option<&[Capability]>,
        backwards: bool,
    ) -> String {
        if let Some(c) = &mut self.completion {
            if self.text == format!("{}{}", c.base, c.candidates[c.index]) && c.candidates.len() > 1
            {
                let n = c.candidates.len();
                c.index = if backwards {
                    (c.index + n - 1) % n
                } else {
                    (c.index + 1) % n
                };
                let text = format!("{}{}", c.base, c.candidates[c.index]);
                let message = describe(&c.candidates, caps);
                self.text = text;
                self.cursor = self.text.chars().count();
                return message;
            }
        }
        self.end();
        let (base, word) = match self.text.rfind(' ') {
            Some(i) => (self.text[..=i].to_string(), self.text[i + 1..].to_string()),
            None => (String::new(), self.text.clone()),
        };
        let words_before: Vec<&str> = base.split_ascii_whitespace().collect();
        let candidates: Vec<String> = match words_before.as_slice() {
            [] => commands(protocol).iter().map(|c| c.to_string()).collect(),
            [verb]
                if verb.eq_ignore_ascii_case("AUTH")
                    || verb.eq_ignore_ascii_case("AUTHENTICATE") =>
            {
                caps.map(sasl_mechanisms).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let upper = word.to_ascii_uppercase();
        let candidates: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.starts_with(&upper))
            .collect();
        let message = describe(&candidates, caps);
        if let Some(first) = candidates.first() {
            self.text = format!("{base}{first}");
            self.cursor = self.text.chars().count();
            self.browsing = None;
            self.completion = Some(Completion {
                base,
                candidates,
                index: 0,
            });
        }
        message
    }
}

fn describe(candidates: &[String], caps: Option<&[Capability]>) -> String {
    let mut parts = Vec::new();
    match candidates.len() {
        0 => parts.push("no completion".to_string()),
        1 => {}
        _ => parts.push(format!("candidates: {}", candidates.join(" "))),
    }
    match caps {
        Some(caps) if !caps.is_empty() => {
            let names: Vec<String> = caps.iter().map(ToString::to_string).collect();
            parts.push(format!("advertised: {}", names.join(", ")));
        }
        Some(_) => parts.push("advertised: nothing".into()),
        None => parts.push("capabilities not asked yet".into()),
    }
    parts.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> InputLine {
        let mut line = InputLine::default();
        line.insert_str(text);
        line
    }

    fn cap(name: &str, params: &[&str]) -> Capability {
        Capability {
            name: name.into(),
            params: params.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn editing_in_the_middle_of_a_line() {
        let mut line = typed("EHL");
        line.left();
        line.insert('x');
        assert_eq!((line.text(), line.cursor()), ("EHxL", 3));
        line.backspace();
        line.delete_forward();
        line.end();
        line.insert_str("LO é");
        assert_eq!(line.text(), "EHLO é");
        line.home();
        line.delete_forward();
        assert_eq!(line.text(), "HLO é");
    }

    #[test]
    fn history_browses_back_and_returns_to_the_draft() {
        let mut line = InputLine::default();
        for cmd in ["EHLO a", "NOOP", "NOOP", "QUIT"] {
            line.set(cmd);
            line.take(false);
        }
        assert_eq!(line.history(), ["EHLO a", "NOOP", "QUIT"]);
        line.insert_str("RS");
        line.history_prev();
        assert_eq!(line.text(), "QUIT");
        line.history_prev();
        line.history_prev();
        line.history_prev();
        assert_eq!(line.text(), "EHLO a");
        line.history_next();
        assert_eq!(line.text(), "NOOP");
        line.history_next();
        line.history_next();
        assert_eq!(line.text(), "RS");
    }

    #[test]
    fn secrets_stay_out_of_history() {
        let mut line = typed("PASS hunter2");
        assert_eq!(line.take(true), "PASS hunter2");
        assert!(line.history().is_empty());
    }

    #[test]
    fn tab_completes_commands_case_insensitively_and_cycles() {
        let mut line = typed("st");
        let msg = line.complete(Protocol::Smtp, None, false);
        assert_eq!(line.text(), "STARTTLS");
        assert!(msg.contains("capabilities not asked yet"), "{msg}");

        let mut line = typed("r");
        line.complete(Protocol::Smtp, None, false);
        assert_eq!(line.text(), "RCPT TO:<");
        let msg = line.complete(Protocol::Smtp, None, false);
        assert_eq!(line.text(), "RSET");
        assert!(msg.contains("candidates: RCPT TO:< RSET"), "{msg}");
        line.complete(Protocol::Smtp, None, true);
        assert_eq!(line.text(), "RCPT TO:<");

        let mut line = typed("xyz");
        assert!(
            line.complete(Protocol::Pop3, None, false)
                .starts_with("no completion")
        );
        assert_eq!(line.text(), "xyz");
    }

    #[test]
    fn tab_completes_advertised_sasl_mechanisms_and_shows_capabilities() {
        let caps = [cap("PIPELINING", &[]), cap("AUTH", &["PLAIN", "LOGIN"])];
        let mut line = typed("AUTH p");
        let msg = line.complete(Protocol::Smtp, Some(&caps), false);
        assert_eq!(line.text(), "AUTH PLAIN");
        assert!(
            msg.contains("advertised: PIPELINING, AUTH PLAIN LOGIN"),
            "{msg}"
        );

        let imap = [
            cap("IMAP4REV1", &[]),
            cap("AUTH=PLAIN", &[]),
            cap("AUTH=XOAUTH2", &[]),
        ];
        let mut line = typed("authenticate X");
        line.complete(Protocol::Imap, Some(&imap), false);
        assert_eq!(line.text(), "authenticate XOAUTH2");
    }
}
