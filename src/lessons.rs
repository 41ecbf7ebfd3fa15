//! Lessons: guided plans for `mailwire demo --lesson NAME`, narrated one
//! step at a time against the built-in server.
//!
//! A lesson is data, one TOML file per lesson under `assets/lessons/`,
//! compiled in with `include_str!` so a teacher edits text, not code. Each
//! step becomes one plan step (F8 sends it); the narration `before` a step
//! is shown while it is next, the narration `after` once it was sent.
//!
//! ```text
//! title = "SMTP: STARTTLS upgrade"
//! protocol = "smtp"            # smtp | imap | pop3
//! leaf = "good"                # good | expired | wrong-host | self-signed | no-intermediate
//! intro = "..."                # `{key:step}`, `{key:escape}`, ...: the key as bound
//! outro = "..."                # shown when every step was sent
//! [[steps]]
//! send = "EHLO {ehlo}"         # a command line; {ehlo}, {user}, {password}
//! before = "..."
//! after = "..."
//! [[steps]]
//! key = "STARTTLS"             # the upgrade step (STARTTLS/STLS, as its key sends it)
//! [[steps]]
//! auth = "PLAIN"               # an auth step, built from the demo credentials
//! ```

use clap::ValueEnum;
use serde::Deserialize;

use crate::protocol::command::{credential_line, starttls_verb};
use crate::protocol::sasl::Mechanism;
use crate::server::pki::LeafKind;
use crate::target::Protocol;

/// User name of the built-in server's demo account.
pub const DEMO_USER: &str = "demo";
/// Password of the built-in server's demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The lesson files as (name, TOML text); the name is what `--lesson` takes.
pub const FILES: &[(&str, &str)] = &[
    (
        "smtp-starttls",
        include_str!("../assets/lessons/smtp-starttls.toml"),
    ),
    (
        "smtp-submission-auth",
        include_str!("../assets/lessons/smtp-submission-auth.toml"),
    ),
    (
        "imap-starttls-login-fetch",
        include_str!("../assets/lessons/imap-starttls-login-fetch.toml"),
    ),
    (
        "pop3-stls-retr",
        include_str!("../assets/lessons/pop3-stls-retr.toml"),
    ),
    (
        "broken-chain",
        include_str!("../assets/lessons/broken-chain.toml"),
    ),
];

/// A fault in a lesson file; caught by the tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LessonError {
    /// No lesson of that name.
    #[error("no lesson named {0:?} (mailwire demo --list-lessons lists them)")]
    NotFound(String),
    /// Not TOML of the lesson shape.
    #[error("assets/lessons/{file}.toml does not parse: {message}")]
    Parse { file: String, message: String },
    /// A protocol, leaf, key or auth mechanism the lesson runner does not know.
    #[error("assets/lessons/{file}.toml: unknown {what} {value:?}")]
    Unknown {
        file: String,
        what: &'static str,
        value: String,
    },
    /// A step with none or more than one of send, key and auth.
    #[error("assets/lessons/{file}.toml: step {step} needs exactly one of send, key, auth")]
    Step { file: String, step: usize },
}

/// One step as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// A command line as typed; `{ehlo}`, `{user}`, `{password}` are filled in.
    #[serde(default)]
    pub send: Option<String>,
    /// A key: `STARTTLS` (sent as the protocol's upgrade verb).
    #[serde(default)]
    pub key: Option<String>,
    /// An auth step: `PLAIN` or `LOGIN` (IMAP LOGIN command for IMAP).
    #[serde(default)]
    pub auth: Option<String>,
    /// Narration while the step is next.
    #[serde(default)]
    pub before: String,
    /// Narration once the step was sent.
    #[serde(default)]
    pub after: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonSpec {
    title: String,
    protocol: String,
    #[serde(default = "default_leaf")]
    leaf: String,
    #[serde(default)]
    intro: String,
    #[serde(default)]
    outro: String,
    steps: Vec<StepSpec>,
}

fn default_leaf() -> String {
    "good".into()
}

/// A loaded lesson with its steps as the plan will send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    /// File name without `.toml`, as `--lesson` takes it.
    pub name: String,
    pub title: String,
    pub protocol: Protocol,
    /// The certificate the built-in server presents.
    pub leaf: LeafKind,
    pub intro: String,
    pub outro: String,
    pub steps: Vec<StepSpec>,
}

impl Lesson {
    /// Parses one lesson file.
    ///
    /// # Errors
    /// Bad TOML, an unknown protocol, leaf, key or auth mechanism, or a step
    /// that is not exactly one of send, key and auth.
    pub fn parse(name: &str, text: &str) -> Result<Lesson, LessonError> {
        let spec: LessonSpec = toml::from_str(text).map_err(|e| LessonError::Parse {
            file: name.into(),
            message: e.to_string(),
        })?;
        let unknown = |what, value: &str| LessonError::Unknown {
            file: name.into(),
            what,
            value: value.into(),
        };
        let protocol = match spec.protocol.to_ascii_lowercase().as_str() {
            "smtp" => Protocol::Smtp,
            "imap" => Protocol::Imap,
            "pop3" => Protocol::Pop3,
            other => return Err(unknown("protocol", other)),
        };
        let leaf = LeafKind::from_str(&spec.leaf, true).map_err(|_| unknown("leaf", &spec.leaf))?;
        for (i, step) in spec.steps.iter().enumerate() {
            let kinds = [&step.send, &step.key, &step.auth]
                .iter()
                .filter(|k| k.is_some())
                .count();
            if kinds != 1 {
                return Err(LessonError::Step {
                    file: name.into(),
                    step: i + 1,
                });
            }
            if let Some(key) = &step.key {
                if !key.eq_ignore_ascii_case("STARTTLS") {
                    return Err(unknown("key", key));
                }
            }
            if let Some(mech) = &step.auth {
                if !["PLAIN", "LOGIN"].contains(&mech.to_ascii_uppercase().as_str()) {
                    return Err(unknown("auth mechanism", mech));
                }
            }
        }
        Ok(Lesson {
            name: name.into(),
            title: spec.title,
            protocol,
            leaf,
            intro: spec.intro,
            outro: spec.outro,
            steps: spec.steps,
        })
    }

    /// The plan steps, one per lesson step, as F8 sends them.
    ///
    /// ```text
    /// key = "STARTTLS"  -> STARTTLS (POP3: STLS)
    /// auth = "PLAIN"    -> AUTH PLAIN AGRlbW8AZGVtby1wYXNzd29yZA==   (RFC 4616; IMAP: AUTHENTICATE PLAIN ...)
    /// auth = "LOGIN"    -> IMAP: LOGIN demo "demo-password" (RFC 9051 §6.2.3)
    /// ```
    pub fn plan_steps(&self, ehlo: &str) -> Vec<String> {
        self.steps
            .iter()
            .map(|step| {
                if let Some(line) = &step.send {
                    line.replace("{ehlo}", ehlo)
                        .replace("{user}", DEMO_USER)
                        .replace("{password}", DEMO_PASSWORD)
                } else if step.key.is_some() {
                    starttls_verb(self.protocol).to_string()
                } else {
                    let mech = Mechanism::parse(step.auth.as_deref().unwrap_or("PLAIN"));
                    credential_line(self.protocol, &mech, DEMO_USER, DEMO_PASSWORD)
                }
            })
            .collect()
    }
}

/// Every built-in lesson.
///
/// # Errors
/// The first lesson file that does not load.
pub fn all() -> Result<Vec<Lesson>, LessonError> {
    FILES.iter().map(|(n, t)| Lesson::parse(n, t)).collect()
}

/// The lesson called `name`.
///
/// # Errors
/// No such lesson, or its file does not load.
pub fn find(name: &str) -> Result<Lesson, LessonError> {
    let (n, t) = FILES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .ok_or_else(|| LessonError::NotFound(name.into()))?;
    Lesson::parse(n, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_loads_with_known_protocols_and_keys() {
        let lessons = all().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lessons.len(), FILES.len());
        for lesson in &lessons {
            assert!(!lesson.title.trim().is_empty(), "{}", lesson.name);
            assert!(!lesson.outro.trim().is_empty(), "{}", lesson.name);
            assert!(!lesson.steps.is_empty(), "{}", lesson.name);
            for step in &lesson.steps {
                assert!(
                    !step.before.trim().is_empty() || !step.after.trim().is_empty(),
                    "{}: a step without narration",
                    lesson.name
                );
            }
            let plan = lesson.plan_steps("client.example");
            assert_eq!(plan.len(), lesson.steps.len());
            assert!(plan.iter().all(|s| !s.contains('{')), "{plan:?}");
        }
    }

    #[test]
    fn unknown_protocol_key_and_auth_are_rejected() {
        let bad = [
            "title='t'\nprotocol='nntp'\nsteps=[{send='X'}]",
            "title='t'\nprotocol='smtp'\nsteps=[{key='F9'}]",
            "title='t'\nprotocol='smtp'\nsteps=[{auth='CRAM-MD5'}]",
            "title='t'\nprotocol='smtp'\nleaf='rotten'\nsteps=[{send='X'}]",
            "title='t'\nprotocol='smtp'\nsteps=[{send='X', key='STARTTLS'}]",
        ];
        for text in bad {
            assert!(Lesson::parse("x", text).is_err(), "{text}");
        }
        assert!(matches!(find("nope"), Err(LessonError::NotFound(_))));
    }

    #[test]
    fn auth_steps_build_plain_and_quoted_forms() {
        assert_eq!(
            crate::protocol::sasl::plain_response("demo", "demo-password"),
            "AGRlbW8AZGVtby1wYXNzd29yZA=="
        );
        assert_eq!(
            credential_line(Protocol::Imap, &Mechanism::Login, "a\"b", "p\\w"),
            "LOGIN \"a\\\"b\" \"p\\\\w\""
        );
        assert_eq!(
            credential_line(Protocol::Smtp, &Mechanism::Plain, "demo", "demo-password"),
            "AUTH PLAIN AGRlbW8AZGVtby1wYXNzd29yZA=="
        );
    }
}
