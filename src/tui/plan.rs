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
    pub fn parse(text: &str, ehlo: &str) -> Self {
        let steps = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| l.replace("{ehlo}", ehlo))
            .collect();
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

    /// True when the step is the protocol's STARTTLS verb (it is sent as
    /// [`Command::StartTls`](crate::session::engine::Command) so the engine upgrades).
    pub fn is_starttls(protocol: Protocol, step: &str) -> bool {
        let c = command::parse(protocol, step.trim().as_bytes(), false);
        c.verb != Verb::Empty && c.verb == starttls_verb(protocol) && c.args.is_empty()
    }
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
    fn starttls_steps_are_recognised_per_protocol() {
        assert!(Plan::is_starttls(Protocol::Smtp, "starttls"));
        assert!(Plan::is_starttls(Protocol::Pop3, "STLS"));
        assert!(!Plan::is_starttls(Protocol::Pop3, "STARTTLS"));
        assert!(!Plan::is_starttls(Protocol::Imap, "STARTTLS now"));
    }
}
