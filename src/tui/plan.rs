//! A plan: the commands the operator steps through with F8 (or `n`).
//!
//! The default plan per protocol is greeting → capabilities → STARTTLS →
//! capabilities → quit, because RFC 3207 §4.2 (SMTP), RFC 9051 §6.2.1 (IMAP)
//! and RFC 2595 §4 (POP3) make the client forget what it learnt before TLS.
//!
//! ```text
//! # --plan FILE: one command per line, blank lines and # comments skipped,
//! # {ehlo} replaced by the EHLO name
//! EHLO {ehlo}
//! STARTTLS
//! EHLO {ehlo}
//! MAIL FROM:<postmaster@{ehlo}>
//! RCPT TO:<postmaster@example.test>
//! DATA
//! Subject: a message body in the plan
//!
//! The lines after DATA, up to a lone ".", are the message: one step,
//! sent whole, blank lines and # kept, dot-stuffed (RFC 5321 §4.5.2).
//! .
//! QUIT
//! ```

use crate::protocol::command::{self, Verb, capability_line, quit_verb, starttls_verb};
use crate::target::Protocol;

/// A list of commands and the position of the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    steps: Vec<String>,
    pos: usize,
}

impl Plan {
    /// A plan from explicit steps.
    pub fn new(steps: Vec<String>) -> Self {
        Self { steps, pos: 0 }
    }

    /// Greeting → capabilities → STARTTLS → capabilities → quit.
    pub fn default_for(protocol: Protocol, ehlo: &str) -> Self {
        let caps = capability_line(protocol, ehlo);
        Self::new(vec![
            caps.clone(),
            starttls_verb(protocol).to_string(),
            caps,
            quit_verb(protocol).to_string(),
        ])
    }

    /// Parses a plan file: one command per line, sent as written (IMAP tags
    /// are added at send time); blank lines and lines starting with `#` are
    /// skipped; `{ehlo}` becomes the EHLO name.
    ///
    /// After a `DATA` line, the lines up to a lone `.` are the message
    /// (SMTP, RFC 5321 §4.1.1.4): one step holding them dot-stuffed
    /// (RFC 5321 §4.5.2) and joined by CRLF, ending in the `.` line, so
    /// that sending it with its CRLF ends the message. Blank lines and `#`
    /// are kept there; `{ehlo}` is not replaced. A body without its `.`
    /// runs to the end of the file and is terminated the same way.
    pub fn parse(text: &str, ehlo: &str) -> Self {
        let mut steps = Vec::new();
        let mut body: Option<Vec<String>> = None;
        for l in text.lines().map(|l| l.trim_end_matches('\r')) {
            if let Some(lines) = body.as_mut() {
                if l == "." {
                    steps.push(data_step(lines));
                    body = None;
                } else {
                    lines.push(l.to_string());
                }
                continue;
            }
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            if l.trim().eq_ignore_ascii_case("DATA") {
                body = Some(Vec::new());
            }
            steps.push(l.replace("{ehlo}", ehlo));
        }
        if let Some(lines) = body {
            if !lines.is_empty() {
                steps.push(data_step(&lines));
            }
        }
        Self::new(steps)
    }

    /// The next command, if any remain.
    pub fn next(&self) -> Option<&str> {
        self.steps.get(self.pos).map(String::as_str)
    }

    /// Moves past the next command.
    pub fn advance(&mut self) {
        self.pos = (self.pos + 1).min(self.steps.len());
    }

    /// Commands already stepped past.
    pub fn done(&self) -> usize {
        self.pos
    }

    /// All commands.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// The message lines of a DATA body step made by [`Plan::parse`]
    /// (dot-stuffing undone, without the final `.`), or `None` for a
    /// command step. The TUI's message editor sends them (and stuffs them
    /// again) when F8 is pressed after the 354 reply.
    pub fn body_lines(step: &str) -> Option<Vec<String>> {
        if step == "." {
            return Some(Vec::new());
        }
        let body = step.strip_suffix("\r\n.")?;
        Some(
            body.split("\r\n")
                .map(|l| {
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(l)
                        .to_string()
                })
                .collect(),
        )
    }

    /// True when the step is the protocol's STARTTLS verb (it is sent as
    /// [`Command::StartTls`](crate::session::engine::Command) so the engine upgrades).
    pub fn is_starttls(protocol: Protocol, step: &str) -> bool {
        let c = command::parse(protocol, step.trim().as_bytes(), false);
        c.verb != Verb::Empty && c.verb == starttls_verb(protocol) && c.args.is_empty()
    }
}

/// The message lines of a plan as one step: dot-stuffed, CRLF-joined,
/// ending in the terminating `.` (its CRLF is added when sent).
fn data_step(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        if l.starts_with('.') {
            out.push('.');
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push('.');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plans_ask_capabilities_again_after_tls() {
        assert_eq!(
            Plan::default_for(Protocol::Smtp, "client.example").steps(),
            [
                "EHLO client.example",
                "STARTTLS",
                "EHLO client.example",
                "QUIT"
            ]
        );
        assert_eq!(
            Plan::default_for(Protocol::Imap, "x").steps(),
            ["CAPABILITY", "STARTTLS", "CAPABILITY", "LOGOUT"]
        );
        assert_eq!(
            Plan::default_for(Protocol::Pop3, "x").steps(),
            ["CAPA", "STLS", "CAPA", "QUIT"]
        );
        assert_eq!(Plan::default_for(Protocol::Lmtp, "x").steps()[0], "LHLO x");
    }

    #[test]
    fn stepping_moves_through_and_stops_at_the_end() {
        let mut plan = Plan::parse(
            "# smoke test\r\nEHLO {ehlo}\r\n\r\n  \nNOOP\nQUIT\n",
            "me.example",
        );
        assert_eq!(plan.steps(), ["EHLO me.example", "NOOP", "QUIT"]);
        assert_eq!(plan.next(), Some("EHLO me.example"));
        plan.advance();
        plan.advance();
        assert_eq!((plan.next(), plan.done()), (Some("QUIT"), 2));
        plan.advance();
        plan.advance();
        assert_eq!((plan.next(), plan.done()), (None, 3));
    }

    #[test]
    fn a_data_body_is_one_dot_stuffed_step_ending_in_the_dot_line() {
        let plan = Plan::parse(
            "EHLO {ehlo}\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nSubject: {ehlo}\n\n# not a comment\n.hidden\n.\nQUIT\n",
            "me.example",
        );
        assert_eq!(
            plan.steps(),
            [
                "EHLO me.example",
                "MAIL FROM:<a@b>",
                "RCPT TO:<c@d>",
                "DATA",
                "Subject: {ehlo}\r\n\r\n# not a comment\r\n..hidden\r\n.",
                "QUIT"
            ]
        );
        // Without the final dot the body runs to the end, terminated.
        let plan = Plan::parse("data\nhello\n", "x");
        assert_eq!(plan.steps(), ["data", "hello\r\n."]);
        assert_eq!(
            Plan::body_lines("Subject: x\r\n\r\n..hidden\r\n."),
            Some(vec!["Subject: x".into(), String::new(), ".hidden".into()])
        );
        assert_eq!(Plan::body_lines("."), Some(Vec::new()));
        assert_eq!(Plan::body_lines("QUIT"), None);
    }

    #[test]
    fn starttls_steps_are_recognised_per_protocol() {
        assert!(Plan::is_starttls(Protocol::Smtp, "starttls"));
        assert!(Plan::is_starttls(Protocol::Pop3, "STLS"));
        assert!(!Plan::is_starttls(Protocol::Pop3, "STARTTLS"));
        assert!(!Plan::is_starttls(Protocol::Imap, "STARTTLS now"));
    }
}
