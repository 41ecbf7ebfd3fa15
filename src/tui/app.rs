//! `App`: everything the screen shows, as plain data, and [`App::update`],
//! the only way it changes. No I/O happens here: sending, saving files and
//! quitting come back as [`Effect`]s for [`tui::run`](super::run) to carry out.
//!
//! ```text
//! crossterm key --keymap--> Action --+
//! session::Event ---------------------+--> App::update(Msg) --> Vec<Effect>
//! tick (elapsed) ---------------------+        |                 Command -> engine
//!                                              v                 SaveChain -> file
//!                                           panes::draw(&App)
//! ```
//!
//! The app does not follow the conversation itself: every entry arrives with
//! the dialogue's note (`session::dialogue`), which says which command a
//! reply answers, the phase (DATA, literal, SASL, IDLE), what is secret and
//! what the server advertised. The app reads notes to open the DATA editor
//! after `354`, mask what is typed during a SASL exchange, show IDLE, and
//! suggest the next step.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use super::input::InputLine;
use super::keymap::{Action, Keymap, Scope};
use super::plan::Plan;
use super::teach::Teach;
use super::theme::Theme;
use crate::cert::ChainReport;
use crate::finding::Severity;
use crate::protocol::Capability;
use crate::protocol::command::{self, Verb};
use crate::protocol::command::{quit_verb, starttls_verb};
use crate::protocol::sasl::{LoginPrompt, Mechanism};
use crate::session::engine::Command;
use crate::session::transcript::{NoteKind, Transcript};
use crate::session::{
    Awaiting, Direction, Entry, Event, Outcome, Phase, TlsEstablished, TlsFailed,
};
use crate::target::{Protocol, Target, TlsMode};

/// What the operator is talking to and how the app starts.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub target: Target,
    /// EHLO/LHLO name, also `{ehlo}` in plans.
    pub ehlo: String,
    /// `--plan FILE` already parsed; `None` for the protocol's default plan.
    pub plan: Option<Plan>,
}

/// Where typed keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The input line: every printable key is typed.
    Input,
    /// The panes: plain letters are shortcuts.
    Panes,
}

/// The panes, in Tab order (also the tabs at 80×24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Transcript,
    Tls,
    Chain,
    Capabilities,
    /// What the selected line means (or its raw bytes).
    Explain,
    /// A lesson's narration (only during `demo --lesson`); above the
    /// transcript's tail when narrow, so both stay in sight.
    Lesson,
}

impl PaneId {
    /// All panes in Tab order.
    pub const ALL: [PaneId; 6] = [
        PaneId::Lesson,
        PaneId::Transcript,
        PaneId::Tls,
        PaneId::Chain,
        PaneId::Capabilities,
        PaneId::Explain,
    ];

    /// Title on the border and the tab.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Transcript => "Transcript",
            PaneId::Tls => "TLS",
            PaneId::Chain => "Chain",
            PaneId::Capabilities => "Capabilities",
            PaneId::Explain => "Explain",
            PaneId::Lesson => "Lesson",
        }
    }

    /// The panes shown: the lesson pane only while a lesson runs.
    pub fn shown(lesson: bool) -> Vec<PaneId> {
        PaneId::ALL
            .into_iter()
            .filter(|p| lesson || *p != PaneId::Lesson)
            .collect()
    }

    fn cycle(self, forward: bool, lesson: bool) -> PaneId {
        let all = PaneId::shown(lesson);
        let i = all.iter().position(|p| *p == self).unwrap_or(0);
        let n = all.len();
        all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// A yes/no question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Ctrl-T while the capabilities do not include STARTTLS/STLS.
    StartTlsNotAdvertised { reason: String },
    /// Credentials from the auth helper would go over plaintext or untrusted TLS.
    InsecureCredentials { reason: String },
    /// The server answered STARTTLS/STLS with an error (RFC 3207 §4: `454`
    /// is temporary, so trying again can be right); `reason` quotes the
    /// reply, escaped.
    StartTlsRefused { reason: String },
}

/// The SMTP message editor opened by a `354` reply to DATA (RFC 5321 §4.1.1.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Editor {
    /// Lines entered so far, as typed (dot-stuffing happens on send).
    pub lines: Vec<String>,
}

/// What the screen is doing besides showing the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a message after `354`; Ctrl-D or a lone `.` sends it.
    DataEditor(Editor),
    Confirm(Confirm),
    Help {
        scroll: u16,
    },
    /// Detail of certificate `index` of the chain.
    CertDetail {
        index: usize,
        scroll: u16,
    },
}

/// The connection as the engine reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Closed,
}

/// Quit is polite first (QUIT/LOGOUT), then immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    Running,
    /// QUIT/LOGOUT sent; the app leaves when the server closes or on a second press.
    Requested,
    /// Leave now.
    Now,
}

/// Side effects for the run loop; the app never performs them itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Hand a command to the engine.
    Command(Command),
    /// Write `pem` to `file_name` in the current directory, then report back
    /// with [`Msg::ChainSaved`].
    SaveChain { file_name: String, pem: String },
    /// Start or stop recording (Ctrl-R), then report with [`Msg::Recording`].
    ToggleRecording,
}

/// Everything that changes the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Action(Action),
    Session(Event),
    /// Time since the session started, for the live waiting timer.
    Tick(Duration),
    /// Bracketed paste.
    Paste(String),
    /// Outcome of [`Effect::SaveChain`]: the path written, or the error.
    ChainSaved(Result<PathBuf, String>),
    /// Recording is now on (to this file) or off, or could not start.
    Recording(Result<Option<PathBuf>, String>),
}

/// Capabilities as advertised before and after the upgrade.
///
/// RFC 3207 §4.2: after STARTTLS the client must forget what it learnt and
/// ask again; servers often offer AUTH only inside TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Advertised in plaintext; `None` until asked.
    pub before: Option<Vec<Capability>>,
    /// Advertised inside TLS; `None` until asked again.
    pub after: Option<Vec<Capability>>,
}

/// Where the conversation is, for the hint line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    greeted: bool,
    /// Capabilities known in the current phase (plaintext or TLS).
    caps_asked: bool,
    authed: bool,
    selected: bool,
    mail: bool,
    rcpt: usize,
    data_sent: bool,
    quit_sent: bool,
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    pub target: Target,
    pub ehlo: String,
    pub theme: Theme,
    /// Key bindings in force (built in, or changed by the config file).
    pub keys: Keymap,
    pub transcript: Transcript,
    /// Rows scrolled up from the bottom; 0 follows new lines.
    pub scroll_back: usize,
    /// Columns the transcript is scrolled right, to read long lines.
    pub h_scroll: usize,
    /// Rows the transcript pane showed in the last frame (page size).
    pub viewport_rows: usize,
    pub conn: ConnState,
    /// Peer address as the engine reported it.
    pub peer: Option<String>,
    pub tls: Option<Box<TlsEstablished>>,
    /// i9: the handshake failed after the server sent its chain (`--strict`).
    pub tls_failed: Option<Box<TlsFailed>>,
    /// Selected row in the chain pane.
    pub chain_selected: usize,
    pub caps: Capabilities,
    /// Rows scrolled in the capabilities pane.
    pub caps_scroll: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The next server entry ends a streamed response whose bytes were
    /// counted as chunks (its own bytes are a preview of them).
    streamed_entry: bool,
    /// Time from the last command to its reply.
    pub last_rtt: Option<Duration>,
    /// Time since the session started, from the last tick or event.
    pub now: Duration,
    pub focus: Focus,
    /// Selected pane (the visible tab at 80×24).
    pub pane: PaneId,
    pub mode: Mode,
    pub input: InputLine,
    pub plan: Plan,
    /// Tab completion result, shown instead of the hint until the next edit.
    pub completion_hint: Option<String>,
    pub quit: QuitState,
    /// Explain cursor, raw toggle and lesson.
    pub teach: Teach,
    /// The file being recorded to (`rec <file>` in the status bar); `None`: off.
    pub recording: Option<PathBuf>,
    /// i9: the SSLKEYLOGFILE TLS secrets go to (`keys <file>` in the status bar).
    pub key_log: Option<PathBuf>,
    /// Set by the replay viewer: where it stands (shown in the status bar;
    /// no input line, the viewer's own key bar and help).
    pub replay: Option<super::viewer::Position>,
    /// The phase after the last entry (from its note).
    pub phase: Phase,
    /// The oldest unanswered command after the last entry (from its note).
    awaiting: Option<Awaiting>,
    /// The next line typed is a credential (from the last note).
    next_line_secret: bool,
    /// When the connection opened (the greeting is awaited from then).
    connected_at: Duration,
    /// Findings seen so far, by severity (status bar).
    pub findings: [usize; 3],
    gave_up: bool,
    progress: Progress,
    /// The STARTTLS key asked the capabilities first; the upgrade follows
    /// their reply when it offers STARTTLS/STLS.
    starttls_after_caps: bool,
    /// A capability reply completed while `starttls_after_caps` waited.
    caps_answered: bool,
    /// The SASL mechanism of the exchange the client started last (from its AUTH line).
    sasl_mechanism: Option<Mechanism>,
    /// What the last LOGIN challenge asked for.
    login_asks: Option<LoginPrompt>,
    /// How the session ended, for the exit code and the lines printed after
    /// the terminal is restored.
    pub end: SessionEnd,
}

/// What the operator should know after leaving, and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionEnd {
    /// The reason the session ended on an error (connect failure, lost
    /// connection, TLS handshake failure); `None` for a clean end.
    pub error: Option<String>,
    /// The error was the TLS handshake's (exit code 1, as `check`).
    pub tls: bool,
    /// Every file recorded to during the session.
    pub recordings: Vec<PathBuf>,
    /// Every file the chain was saved to.
    pub chains: Vec<PathBuf>,
}

const CRLF: &str = "\r\n";

/// Columns one horizontal scroll step moves the transcript.
const H_STEP: usize = 20;

/// How far the transcript scrolls right at most, in columns.
const H_MAX: usize = 64 * 1024;

impl App {
    /// A fresh app, not yet connected.
    pub fn new(config: AppConfig) -> Self {
        let plan = config
            .plan
            .unwrap_or_else(|| Plan::default_for(config.target.protocol, &config.ehlo));
        Self {
            target: config.target,
            ehlo: config.ehlo,
            theme: Theme::colour(),
            keys: Keymap::default(),
            transcript: Transcript::new(),
            scroll_back: 0,
            viewport_rows: 20,
            conn: ConnState::Connecting,
            peer: None,
            tls: None,
            tls_failed: None,
            chain_selected: 0,
            caps: Capabilities::default(),
            caps_scroll: 0,
            bytes_sent: 0,
            bytes_received: 0,
            streamed_entry: false,
            last_rtt: None,
            now: Duration::ZERO,
            focus: Focus::Input,
            pane: PaneId::Transcript,
            mode: Mode::Normal,
            input: InputLine::default(),
            plan,
            completion_hint: None,
            quit: QuitState::Running,
            teach: Teach::default(),
            phase: Phase::Greeting,
            awaiting: None,
            next_line_secret: false,
            connected_at: Duration::ZERO,
            findings: [0; 3],
            gave_up: false,
            progress: Progress::default(),
            recording: None,
            key_log: None,
            replay: None,
            h_scroll: 0,
            starttls_after_caps: false,
            caps_answered: false,
            sasl_mechanism: None,
            login_asks: None,
            end: SessionEnd::default(),
        }
    }

    /// Runs `lesson`: its steps become the plan, its narration shows in the lesson pane.
    pub fn with_lesson(mut self, lesson: crate::lessons::Lesson) -> Self {
        self.plan = Plan::new(lesson.plan_steps(&self.ehlo));
        self.teach.lesson = Some(lesson);
        // Lessons first: the narration is the selected tab at 80×24.
        self.pane = PaneId::Lesson;
        self
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        self.target.protocol
    }

    /// True once the run loop should exit.
    pub fn should_quit(&self) -> bool {
        self.quit == QuitState::Now
    }

    /// Which keymap scope applies now.
    pub fn scope(&self) -> Scope {
        match (&self.mode, self.focus) {
            (Mode::Help { .. }, _) => Scope::Help,
            (Mode::CertDetail { .. }, _) => Scope::CertDetail,
            (Mode::Confirm(_), _) => Scope::Confirm,
            (_, Focus::Input) => Scope::Input,
            (_, Focus::Panes) => Scope::Panes,
        }
    }

    /// True while an IMAP IDLE is running (RFC 2177).
    pub fn idling(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// True while a SASL exchange, an IMAP literal or IDLE is open: the next
    /// line continues it (IMAP: no tag).
    fn continuing(&self) -> bool {
        matches!(
            self.phase,
            Phase::Sasl | Phase::Literal | Phase::AwaitingContinuation | Phase::Idle
        )
    }

    /// The capabilities that count now: those advertised inside TLS once TLS is up.
    pub fn current_caps(&self) -> Option<&[Capability]> {
        if self.tls.is_some() {
            self.caps.after.as_deref()
        } else {
            self.caps.before.as_deref()
        }
    }

    fn advertised(&self, name: &str) -> bool {
        self.current_caps()
            .is_some_and(|caps| caps.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
    }

    /// While a reply is awaited and not given up: (elapsed, what is awaited).
    pub fn waiting(&self) -> Option<(Duration, String)> {
        if self.gave_up || self.conn != ConnState::Connected {
            return None;
        }
        if self.phase == Phase::Greeting {
            return Some((
                self.now.saturating_sub(self.connected_at),
                "greeting".into(),
            ));
        }
        if matches!(
            self.phase,
            Phase::Literal | Phase::Sasl | Phase::Idle | Phase::Data
        ) {
            return None;
        }
        let a = self.awaiting.as_ref()?;
        let what = if a.body {
            "reply to the message".to_string()
        } else if self.phase == Phase::AwaitingContinuation {
            format!("+ for {}", a.verb)
        } else {
            format!("reply to {}", a.verb)
        };
        Some((self.now.saturating_sub(a.since), what))
    }

    /// Session state for the status bar: `connecting`, `plaintext`, `TLS 1.3`, `closed`,
    /// with `DATA` or `IDLE` when those are running.
    pub fn state_label(&self) -> String {
        let mut label = match (self.conn, &self.tls) {
            (ConnState::Connecting, _) => "connecting".to_string(),
            (ConnState::Closed, _) => "closed".to_string(),
            (ConnState::Connected, Some(t)) => tls_version_label(&t.summary.version),
            (ConnState::Connected, None) => "plaintext".to_string(),
        };
        // The verdict in words, not by colour only (NO_COLOR, colour blindness).
        if let Some(t) = &self.tls
            && !t.verdict.trusted
        {
            label.push_str(" · UNTRUSTED: ");
            label.push_str(
                t.verdict
                    .error
                    .as_ref()
                    .map_or("unverified", |c| c.as_str()),
            );
        }
        if matches!(self.mode, Mode::DataEditor(_)) {
            label.push_str(" · DATA");
        }
        if self.idling() {
            label.push_str(" · IDLE");
        }
        label
    }

    /// The exit code after the session, as `check` uses them: 3 when it
    /// never connected or ended on a connection error, 1 when the TLS
    /// handshake failed, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.peer.is_none() {
            return crate::check::EXIT_CONNECTION;
        }
        match &self.end.error {
            Some(_) if self.end.tls || self.tls_failed.is_some() => crate::check::EXIT_TLS,
            Some(_) => crate::check::EXIT_CONNECTION,
            None => crate::check::EXIT_OK,
        }
    }

    /// What the operator should know after the terminal is restored, one
    /// line each: the error, the recordings, the saved chains.
    pub fn farewell(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.end.error {
            Some(e) => out.push(e.clone()),
            None if self.peer.is_none() => {
                out.push(format!(
                    "left before a connection to {} was made",
                    self.target
                ));
            }
            None => {}
        }
        for path in &self.end.recordings {
            out.push(format!("recorded to {}", path.display()));
        }
        for path in &self.end.chains {
            out.push(format!("chain saved to {}", path.display()));
        }
        out
    }

    /// [`App::farewell`] without the line for `recorded` (said already).
    pub fn farewell_without(&self, recorded: Option<&std::path::Path>) -> Vec<String> {
        let skip = recorded.map(|p| format!("recorded to {}", p.display()));
        self.farewell()
            .into_iter()
            .filter(|l| Some(l) != skip.as_ref())
            .collect()
    }

    /// The suggested next step for the hint line.
    pub fn suggestion(&self) -> Option<String> {
        if let Some(prompt) = &self.teach.auth {
            return Some(prompt.label(&self.keys));
        }
        // i15: key names as bound, never hard-coded.
        let key = |a| self.keys.hint(Scope::Input, a);
        let p = &self.progress;
        match self.conn {
            ConnState::Connecting => return Some("connecting…".into()),
            ConnState::Closed => {
                let quit = self.keys.hint(Scope::Input, Action::Quit);
                return Some(format!("connection closed: {quit} leaves"));
            }
            ConnState::Connected => {}
        }
        if matches!(self.mode, Mode::DataEditor(_)) {
            return Some(format!(
                "type the message; a lone . or {} ends it (dot-stuffing is applied)",
                key(Action::Done)
            ));
        }
        match self.phase {
            Phase::Idle => {
                return Some(format!(
                    "IDLE: updates arrive as they happen; {} sends DONE",
                    key(Action::Done)
                ));
            }
            Phase::AwaitingContinuation => {
                return Some(
                    "waiting for the + continuation request before sending the literal".into(),
                );
            }
            Phase::Literal => {
                return Some("the literal: type its bytes (sent untagged)".into());
            }
            Phase::Sasl => {
                return Some(format!(
                    "SASL challenge: type the base64 answer (masked; * cancels), or {} for user and password",
                    key(Action::Credentials)
                ));
            }
            _ => {}
        }
        if p.quit_sent {
            return None;
        }
        if !p.greeted {
            return Some(format!(
                "wait for the greeting ({} stops waiting)",
                key(Action::Escape)
            ));
        }
        let upgrade = self.tls.is_none()
            && self.target.tls == TlsMode::Starttls
            && self.advertised(starttls_verb(self.protocol()).as_str());
        let upgrade_hint = format!(
            "{} ({})",
            starttls_verb(self.protocol()),
            self.keys.hint(Scope::Input, Action::StartTls)
        );
        let step = match self.protocol() {
            Protocol::Smtp | Protocol::Lmtp => {
                let hello = if self.protocol() == Protocol::Lmtp {
                    "LHLO"
                } else {
                    "EHLO"
                };
                if !p.caps_asked {
                    format!("{hello} {}", self.ehlo)
                } else if upgrade {
                    upgrade_hint
                } else if !p.authed && self.advertised("AUTH") {
                    format!(
                        "AUTH PLAIN (then {} for the credentials), or MAIL FROM:<sender>",
                        key(Action::Credentials)
                    )
                } else if !p.mail {
                    "MAIL FROM:<sender>".into()
                } else if p.rcpt == 0 {
                    "RCPT TO:<recipient>".into()
                } else if !p.data_sent {
                    "DATA (or another RCPT TO:<recipient>)".into()
                } else {
                    "QUIT".into()
                }
            }
            Protocol::Imap => {
                if !p.caps_asked {
                    "CAPABILITY".into()
                } else if upgrade {
                    upgrade_hint
                } else if !p.authed {
                    format!(
                        "LOGIN user password, or AUTHENTICATE PLAIN ({} prompts, masked)",
                        key(Action::Credentials)
                    )
                } else if !p.selected {
                    "SELECT INBOX".into()
                } else {
                    "FETCH 1:* (FLAGS), IDLE, then LOGOUT".into()
                }
            }
            Protocol::Pop3 => {
                if !p.caps_asked {
                    "CAPA".into()
                } else if upgrade {
                    upgrade_hint
                } else if !p.authed {
                    format!(
                        "USER name, then PASS password, or AUTH PLAIN ({} prompts, masked)",
                        key(Action::Credentials)
                    )
                } else {
                    "STAT, LIST, RETR 1, then QUIT".into()
                }
            }
        };
        Some(step)
    }

    /// The single entry point: applies `msg` and returns what the run loop must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Action(action) => self.on_action(action),
            Msg::Session(event) => {
                // A challenge (334, `+`) inside a SASL exchange, or its end.
                let challenge = match &event {
                    Event::Data(e) if e.direction == Direction::Server => Some(
                        e.note.phase == Phase::Sasl
                            && matches!(
                                e.note.outcome,
                                Outcome::Intermediate | Outcome::Continuation
                            ),
                    ),
                    _ => None,
                };
                self.on_event(event);
                let mut effects = self.sasl_followup(challenge);
                effects.extend(self.starttls_followup());
                effects
            }
            Msg::Tick(now) => {
                self.now = self.now.max(now);
                Vec::new()
            }
            Msg::Paste(text) => {
                self.on_paste(&text);
                Vec::new()
            }
            Msg::ChainSaved(Ok(path)) => {
                let n = self.chain_der().len();
                if !self.end.chains.contains(&path) {
                    self.end.chains.push(path.clone());
                }
                self.note(
                    NoteKind::Info,
                    format!("saved {n} certificate(s) as PEM to {}", path.display()),
                );
                Vec::new()
            }
            Msg::ChainSaved(Err(e)) => {
                self.note(NoteKind::Error, format!("could not save the chain: {e}"));
                Vec::new()
            }
            Msg::Recording(Ok(path)) => {
                let key = self.keys.hint(Scope::Input, Action::ToggleRecording);
                let text = match &path {
                    Some(p) => format!(
                        "recording to {} (the session so far included; {key} pauses)",
                        p.display()
                    ),
                    None => format!("recording paused ({key} resumes)"),
                };
                if let Some(p) = &path
                    && !self.end.recordings.contains(p)
                {
                    self.end.recordings.push(p.clone());
                }
                self.note(NoteKind::Info, text);
                self.recording = path;
                Vec::new()
            }
            Msg::Recording(Err(e)) => {
                self.note(NoteKind::Error, format!("cannot record: {e}"));
                self.recording = None;
                Vec::new()
            }
        }
    }

    // ---- transcript and scrolling -------------------------------------

    fn rows_added(&mut self, n: usize) {
        if self.scroll_back > 0 {
            // Keep the operator's view still while they read back.
            self.scroll_back += n;
        }
    }

    fn note_at(&mut self, at: Duration, kind: NoteKind, text: impl Into<String>) {
        let n = self.transcript.push_note(at, kind, text);
        self.rows_added(n);
    }

    fn note(&mut self, kind: NoteKind, text: impl Into<String>) {
        self.note_at(self.now, kind, text);
    }

    fn max_scroll_back(&self) -> usize {
        self.transcript
            .len_rows()
            .saturating_sub(self.viewport_rows.max(1))
    }

    fn scroll_up(&mut self, rows: usize) {
        self.scroll_back = (self.scroll_back + rows).min(self.max_scroll_back());
    }

    fn scroll_down(&mut self, rows: usize) {
        self.scroll_back = self.scroll_back.saturating_sub(rows);
    }

    /// Moves the explain cursor and scrolls so the selected row stays visible.
    fn move_cursor(&mut self, up: bool) {
        let rows = self.transcript.len_rows();
        self.teach.move_cursor(rows, up);
        match self.teach.cursor {
            None => self.scroll_back = 0,
            Some(c) => {
                let visible = self.visible_rows(self.viewport_rows.max(1));
                if c < visible.start {
                    self.scroll_up(visible.start - c);
                } else if c >= visible.end {
                    self.scroll_down(c + 1 - visible.end);
                }
            }
        }
    }

    /// The rows to show in a pane of `height` rows.
    pub fn visible_rows(&self, height: usize) -> std::ops::Range<usize> {
        let len = self.transcript.len_rows();
        let back = self.scroll_back.min(len.saturating_sub(height));
        let end = len - back;
        end.saturating_sub(height)..end
    }

    // ---- actions --------------------------------------------------------

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        if !matches!(action, Action::Complete | Action::CompleteBack) {
            self.completion_hint = None;
        }
        match (&self.mode, action) {
            (_, Action::Quit) => return self.quit(),
            (Mode::Help { .. }, Action::Help | Action::Close) => self.mode = Mode::Normal,
            (Mode::Help { scroll }, Action::Up | Action::PageUp) => {
                let step = if action == Action::Up { 1 } else { 10 };
                self.mode = Mode::Help {
                    scroll: scroll.saturating_sub(step),
                };
            }
            (Mode::Help { scroll }, Action::Down | Action::PageDown) => {
                let step = if action == Action::Down { 1 } else { 10 };
                self.mode = Mode::Help {
                    scroll: scroll.saturating_add(step),
                };
            }
            (Mode::CertDetail { .. }, Action::Close | Action::Activate) => self.mode = Mode::Normal,
            (Mode::CertDetail { index, .. }, Action::NextPane | Action::PrevPane) => {
                let n = self.chain().map_or(0, |c| c.certs.len()).max(1);
                let index = if action == Action::NextPane {
                    (index + 1) % n
                } else {
                    (index + n - 1) % n
                };
                self.chain_selected = index;
                self.mode = Mode::CertDetail { index, scroll: 0 };
            }
            (
                &Mode::CertDetail { index, scroll },
                Action::Up | Action::Down | Action::PageUp | Action::PageDown,
            ) => {
                let scroll = match action {
                    Action::Up => scroll.saturating_sub(1),
                    Action::PageUp => scroll.saturating_sub(10),
                    Action::Down => scroll.saturating_add(1),
                    _ => scroll.saturating_add(10),
                };
                self.mode = Mode::CertDetail { index, scroll };
            }
            (
                Mode::Confirm(
                    Confirm::StartTlsNotAdvertised { .. } | Confirm::StartTlsRefused { .. },
                ),
                Action::Confirm,
            ) => {
                self.mode = Mode::Normal;
                return self.send_starttls();
            }
            (Mode::Confirm(Confirm::InsecureCredentials { .. }), Action::Confirm) => {
                self.mode = Mode::Normal;
                return self.send_credentials();
            }
            (
                Mode::Confirm(Confirm::InsecureCredentials { .. }),
                Action::Cancel | Action::Close,
            ) => {
                self.mode = Mode::Normal;
                self.teach.auth = None;
                self.note(NoteKind::Info, "credentials not sent");
            }
            (Mode::Confirm(_), Action::Cancel | Action::Close) => {
                self.mode = Mode::Normal;
                self.note(NoteKind::Info, "STARTTLS not sent");
            }
            (Mode::Confirm(_), _) => {}
            (_, action) => return self.on_normal_action(action),
        }
        Vec::new()
    }

    fn on_normal_action(&mut self, action: Action) -> Vec<Effect> {
        let page = self.viewport_rows.max(1);
        match action {
            Action::Insert(c) => self.input.insert(c),
            Action::Backspace => self.input.backspace(),
            Action::DeleteForward => self.input.delete_forward(),
            Action::CursorLeft => self.input.left(),
            Action::CursorRight => self.input.right(),
            Action::LineStart => self.input.home(),
            Action::LineEnd => self.input.end(),
            Action::ClearLine => self.input.clear(),
            Action::HistoryPrev if !self.in_editor() => self.input.history_prev(),
            Action::HistoryNext if !self.in_editor() => self.input.history_next(),
            Action::HistoryPrev | Action::HistoryNext => {}
            Action::Complete | Action::CompleteBack => {
                let caps = self.current_caps().map(<[Capability]>::to_vec);
                let message = self.input.complete(
                    self.protocol(),
                    caps.as_deref(),
                    action == Action::CompleteBack,
                );
                self.completion_hint = Some(message);
            }
            Action::Submit => return self.submit(),
            Action::Escape => self.escape(),
            Action::FocusInput => self.focus = Focus::Input,
            Action::Activate => {
                let has_chain = self.chain().is_some_and(|c| !c.certs.is_empty());
                if self.pane == PaneId::Chain && has_chain {
                    self.mode = Mode::CertDetail {
                        index: self.chain_selected,
                        scroll: 0,
                    };
                } else {
                    self.focus = Focus::Input;
                }
            }
            Action::Step => return self.step(),
            Action::EditStep => self.edit_step(),
            Action::StartTls => return self.start_tls(),
            Action::Credentials => return self.credentials(),
            Action::ScrollLeft => self.h_scroll = self.h_scroll.saturating_sub(H_STEP),
            Action::ScrollRight => self.h_scroll = (self.h_scroll + H_STEP).min(H_MAX),
            Action::Done => return self.done(),
            Action::Help => self.mode = Mode::Help { scroll: 0 },
            Action::SaveChain => return self.save_chain(),
            Action::ToggleRecording => return vec![Effect::ToggleRecording],
            Action::Up if self.pane == PaneId::Chain => {
                self.chain_selected = self.chain_selected.saturating_sub(1)
            }
            Action::Down if self.pane == PaneId::Chain => {
                let n = self.chain().map_or(0, |c| c.certs.len());
                self.chain_selected = (self.chain_selected + 1).min(n.saturating_sub(1));
            }
            Action::ToggleRaw => self.teach.raw = !self.teach.raw,
            Action::Up | Action::Down if self.pane == PaneId::Transcript => {
                self.move_cursor(action == Action::Up)
            }
            Action::Up if self.pane == PaneId::Tls => {
                self.teach.tls_item = self.teach.tls_item.saturating_sub(1)
            }
            Action::Down if self.pane == PaneId::Tls => {
                let n = self
                    .tls
                    .as_ref()
                    .map_or(0, |t| super::teach::tls_items(t).len());
                self.teach.tls_item = (self.teach.tls_item + 1).min(n.saturating_sub(1));
            }
            Action::Up if self.pane == PaneId::Capabilities => {
                self.caps_scroll = self.caps_scroll.saturating_sub(1)
            }
            Action::Down if self.pane == PaneId::Capabilities => self.caps_scroll += 1,
            Action::Up => self.scroll_up(1),
            Action::Down => self.scroll_down(1),
            Action::ScrollUp => self.scroll_up(3),
            Action::ScrollDown => self.scroll_down(3),
            Action::PageUp => self.scroll_up(page),
            Action::PageDown => self.scroll_down(page),
            Action::Top => self.scroll_back = self.max_scroll_back(),
            Action::Bottom => {
                // Following again: the explain pane follows the last line too.
                self.scroll_back = 0;
                self.teach.cursor = None;
            }
            Action::NextPane => self.pane = self.pane.cycle(true, self.teach.lesson.is_some()),
            Action::PrevPane => self.pane = self.pane.cycle(false, self.teach.lesson.is_some()),
            Action::Quit | Action::Close | Action::Confirm | Action::Cancel => {}
            // The replay viewer acts on these itself.
            Action::ReplayNext
            | Action::ReplayPrev
            | Action::ReplayStart
            | Action::ReplayEnd
            | Action::ReplayPlay => {}
        }
        Vec::new()
    }

    fn in_editor(&self) -> bool {
        matches!(self.mode, Mode::DataEditor(_))
    }

    fn escape(&mut self) {
        if self.teach.auth.take().is_some() {
            self.input.take(false);
            self.note(NoteKind::Info, "credentials prompt cancelled");
            return;
        }
        if let Some((_, what)) = self.waiting() {
            self.gave_up = true;
            self.note(
                NoteKind::Info,
                format!("stopped waiting for {what}; the session stays open"),
            );
        } else {
            self.focus = match self.focus {
                Focus::Input => Focus::Panes,
                Focus::Panes => Focus::Input,
            };
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        match self.quit {
            QuitState::Running if self.conn == ConnState::Connected && !self.in_editor() => {
                self.quit = QuitState::Requested;
                let verb = quit_verb(self.protocol()).to_string();
                let key = self.keys.hint(Scope::Input, Action::Quit);
                self.note(
                    NoteKind::Info,
                    format!(
                        "sent {verb}; leaving when the server closes ({key} again leaves at once)"
                    ),
                );
                self.send_line(verb, true)
            }
            _ => {
                self.quit = QuitState::Now;
                if self.conn == ConnState::Connected {
                    vec![Effect::Command(Command::Close)]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn not_connected(&mut self) -> bool {
        if self.conn == ConnState::Connected {
            return false;
        }
        let state = if self.conn == ConnState::Closed {
            "the connection is closed"
        } else {
            "not connected yet"
        };
        self.note(NoteKind::Warning, format!("nothing sent: {state}"));
        true
    }

    fn submit(&mut self) -> Vec<Effect> {
        if let Mode::DataEditor(editor) = &mut self.mode {
            let line = self.input.take(true);
            if line == "." {
                return self.finish_message();
            }
            editor.lines.push(line);
            return Vec::new();
        }
        if let Some(prompt) = &mut self.teach.auth {
            // The typed field never enters the history (it may be the password).
            let value = self.input.take(true);
            if prompt.enter(value) {
                return match super::auth::insecure_reason(self.tls.as_deref()) {
                    Some(reason) => {
                        self.mode = Mode::Confirm(Confirm::InsecureCredentials { reason });
                        Vec::new()
                    }
                    None => self.send_credentials(),
                };
            }
            return Vec::new();
        }
        // The line goes out as typed, always: a bare `AUTH PLAIN` too (the
        // credentials key answers the server's challenge instead).
        let text = self.input.text().to_string();
        if self.idling() && !text.trim().eq_ignore_ascii_case("DONE") {
            // RFC 2177 §3: no command may be sent until DONE ends the IDLE;
            // the line stays in the input until then.
            self.completion_hint = Some(format!(
                "IDLE is active: {} sends DONE; this line is held until then",
                self.keys.hint(Scope::Input, Action::Done)
            ));
            return Vec::new();
        }
        let secret = self.holds_secret(&text);
        if self.not_connected() {
            return Vec::new();
        }
        let line = self.input.take(secret);
        // Typing the planned command by hand does the step.
        if self
            .plan
            .next()
            .is_some_and(|step| same_command(step, &line))
        {
            self.plan.advance();
        }
        self.send_typed(line)
    }

    /// The credentials key: answers the challenge of a running PLAIN or
    /// LOGIN exchange, else builds the login command for the typed line
    /// (or the protocol's usual one) from a masked prompt.
    fn credentials(&mut self) -> Vec<Effect> {
        use super::auth::{AuthKind, AuthPrompt};
        if self.in_editor() || self.teach.auth.is_some() || self.not_connected() {
            return Vec::new();
        }
        let prompt = if self.phase == Phase::Sasl {
            match (&self.sasl_mechanism, self.login_asks) {
                (Some(Mechanism::Plain), _) => AuthPrompt::new(AuthKind::PlainResponse),
                (Some(Mechanism::Login), Some(LoginPrompt::Password)) => {
                    AuthPrompt::password_only(AuthKind::LoginResponse)
                }
                (Some(Mechanism::Login), _) => AuthPrompt::new(AuthKind::LoginResponse),
                (other, _) => {
                    let name = other.as_ref().map_or("this", Mechanism::name);
                    self.note(
                        NoteKind::Info,
                        format!(
                            "the credentials prompt answers PLAIN and LOGIN; type the base64 answer for {name} mechanism (* cancels)"
                        ),
                    );
                    return Vec::new();
                }
            }
        } else {
            let kind = super::auth::detect(self.protocol(), self.input.text()).unwrap_or(
                match self.protocol() {
                    Protocol::Imap => AuthKind::ImapLogin,
                    Protocol::Pop3 => AuthKind::Pop3UserPass,
                    Protocol::Smtp | Protocol::Lmtp => AuthKind::SaslPlain,
                },
            );
            AuthPrompt::new(kind)
        };
        // What was typed is replaced by the prompt's fields (never kept in the history).
        self.input.take(true);
        self.focus = Focus::Input;
        self.teach.auth = Some(prompt);
        Vec::new()
    }

    /// AUTH LOGIN from the helper: each challenge gets the next queued
    /// response (masked like any SASL response); any other reply ends it.
    fn sasl_followup(&mut self, challenge: Option<bool>) -> Vec<Effect> {
        match challenge {
            Some(true) => match self.teach.sasl_queue.0.pop_front() {
                Some(response) => self.send_line(response, true),
                None => Vec::new(),
            },
            Some(false) => {
                self.teach.sasl_queue.0.clear();
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Sends what the auth helper built, then forgets it.
    fn send_credentials(&mut self) -> Vec<Effect> {
        let Some(prompt) = self.teach.auth.take() else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        self.teach.sasl_queue = prompt.responses();
        for line in prompt.lines() {
            effects.extend(self.send_typed(line));
        }
        effects
    }

    /// Sends a line typed or stepped by the operator.
    fn send_typed(&mut self, line: String) -> Vec<Effect> {
        if self.not_connected() {
            return Vec::new();
        }
        if Plan::is_starttls(self.protocol(), &line) && !self.continuing() && self.tls.is_none() {
            // Typed STARTTLS goes through the engine's upgrade, or the
            // server's 220 would be followed by plaintext instead of a
            // ClientHello. Typed, it is sent as typed: no capability
            // request first and no question. (Inside TLS it is an ordinary
            // line: the server should refuse a second upgrade.)
            return self.send_starttls();
        }
        self.send_line(line, true)
    }

    /// The input line as shown: credentials (PASS, LOGIN, AUTH initial
    /// responses, SASL responses) replaced by `*`, one per character.
    pub fn input_display(&self) -> String {
        let text = self.input.text();
        if self.in_editor() {
            return text.to_string();
        }
        if let Some(prompt) = &self.teach.auth {
            if prompt.field == super::auth::Field::Password {
                return "*".repeat(text.chars().count());
            }
            return text.to_string();
        }
        let shown: String = match self.secret_ranges(text) {
            None => text.chars().map(|_| '*').collect(),
            Some(ranges) => {
                let mut out = String::new();
                for (i, c) in text.char_indices() {
                    if ranges.iter().any(|r| r.contains(&i)) {
                        out.push('*');
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        };
        shown
    }

    /// The byte ranges of a typed line that are credentials, parsed with the
    /// protocol's command vocabulary; `None` when the whole line is one (a
    /// SASL response, a LOGIN password literal).
    fn secret_ranges(&self, text: &str) -> Option<Vec<std::ops::Range<usize>>> {
        if self.next_line_secret {
            return None;
        }
        if self.continuing() {
            return Some(Vec::new());
        }
        let parsed = command::parse(self.protocol(), text.as_bytes(), false);
        Some(parsed.secrets)
    }

    /// True when the typed `line` (without the IMAP tag) carries a credential.
    fn holds_secret(&self, line: &str) -> bool {
        self.secret_ranges(line).is_none_or(|r| !r.is_empty())
            || command::parse(self.protocol(), line.as_bytes(), false).has_secret()
                && !self.continuing()
    }

    /// Sends one line (CRLF added). With `tagged`, the engine tags IMAP
    /// commands; it leaves continuations (literal, SASL, DONE) untagged.
    fn send_line(&mut self, line: String, tagged: bool) -> Vec<Effect> {
        let tagged = tagged && self.protocol() == Protocol::Imap && !self.continuing();
        if self.protocol() == Protocol::Imap
            && !self.continuing()
            && let Some(l) = command::parse(Protocol::Imap, line.as_bytes(), false).literal
            && !l.sync
            && !self.advertised("LITERAL+")
            && !self.advertised("LITERAL-")
        {
            // LITERAL+ (RFC 7888): no + to wait for, the literal follows at once.
            self.note(
                NoteKind::Warning,
                "non-synchronizing literal {n+} used but LITERAL+ was not advertised",
            );
        }
        if tagged
            && !self.continuing()
            && command::parse(self.protocol(), line.as_bytes(), false).verb
                == command::quit_verb(self.protocol())
        {
            self.progress.quit_sent = true;
        }
        if !tagged
            && self.protocol() != Protocol::Imap
            && command::parse(self.protocol(), line.as_bytes(), false).verb
                == command::quit_verb(self.protocol())
        {
            self.progress.quit_sent = true;
        }
        self.gave_up = false;
        let mut bytes = line.into_bytes();
        bytes.extend_from_slice(CRLF.as_bytes());
        vec![Effect::Command(Command::Send { bytes, tagged })]
    }

    fn finish_message(&mut self) -> Vec<Effect> {
        let Mode::DataEditor(editor) = std::mem::replace(&mut self.mode, Mode::Normal) else {
            return Vec::new();
        };
        let mut lines = editor.lines;
        let rest = self.input.take(true);
        if !rest.is_empty() && rest != "." {
            lines.push(rest);
        }
        if self.conn != ConnState::Connected {
            self.note(
                NoteKind::Warning,
                "message not sent: the connection is closed",
            );
            return Vec::new();
        }
        self.gave_up = false;
        vec![Effect::Command(Command::Send {
            bytes: dot_stuff(&lines),
            tagged: false,
        })]
    }

    fn step(&mut self) -> Vec<Effect> {
        if self.in_editor() {
            // A plan's DATA body (lines after DATA up to a lone "."): the
            // editor takes it and sends it as a message.
            if let Some(lines) = self.plan.next().and_then(Plan::body_lines) {
                self.plan.advance();
                if let Mode::DataEditor(editor) = &mut self.mode {
                    editor.lines.extend(lines);
                }
                return self.finish_message();
            }
            self.finish_message_first();
            return Vec::new();
        }
        let Some(step) = self.plan.next().map(str::to_string) else {
            let key = self.keys.hint(Scope::Input, Action::Quit);
            self.note(
                NoteKind::Info,
                format!("the plan is done; type commands or {key} to quit"),
            );
            return Vec::new();
        };
        if self.not_connected() {
            return Vec::new();
        }
        self.plan.advance();
        self.send_typed(step)
    }

    fn edit_step(&mut self) {
        if let Some(step) = self.plan.next().map(str::to_string) {
            self.plan.advance();
            self.input.set(&step);
            self.focus = Focus::Input;
        } else {
            self.note(NoteKind::Info, "the plan is done");
        }
    }

    fn start_tls(&mut self) -> Vec<Effect> {
        if self.not_connected() {
            return Vec::new();
        }
        if self.tls.is_some() {
            self.note(NoteKind::Info, "TLS is already active");
            return Vec::new();
        }
        if self.in_editor() {
            self.finish_message_first();
            return Vec::new();
        }
        let verb = starttls_verb(self.protocol()).to_string();
        if self.current_caps().is_none() {
            if !self.progress.greeted {
                self.note(
                    NoteKind::Info,
                    format!("{verb} waits for the greeting: press the key again once it is here"),
                );
                return Vec::new();
            }
            // One key: ask what the server offers (RFC 3207 §4: STARTTLS is
            // an EHLO keyword), then upgrade when the reply lists it.
            let ask = command::capability_line(self.protocol(), &self.ehlo);
            self.starttls_after_caps = true;
            self.caps_answered = false;
            if self
                .plan
                .next()
                .is_some_and(|step| same_command(step, &ask))
            {
                self.plan.advance();
            }
            self.note(
                NoteKind::Info,
                format!("{verb}: asking the capabilities first ({ask}); {verb} follows if offered"),
            );
            return self.send_line(ask, true);
        }
        self.starttls_if_offered()
    }

    /// STARTTLS/STLS when the capabilities in force offer it; else the question.
    fn starttls_if_offered(&mut self) -> Vec<Effect> {
        let verb = starttls_verb(self.protocol()).to_string();
        if self.advertised(&verb) {
            return self.send_starttls();
        }
        let reason = format!("the server did not advertise {verb}");
        self.mode = Mode::Confirm(Confirm::StartTlsNotAdvertised { reason });
        Vec::new()
    }

    /// After the capabilities the STARTTLS key asked for: the upgrade, or
    /// the question when they do not offer it.
    fn starttls_followup(&mut self) -> Vec<Effect> {
        if !std::mem::take(&mut self.caps_answered) || !self.starttls_after_caps {
            return Vec::new();
        }
        self.starttls_after_caps = false;
        if self.conn != ConnState::Connected || self.tls.is_some() {
            return Vec::new();
        }
        self.starttls_if_offered()
    }

    fn send_starttls(&mut self) -> Vec<Effect> {
        // Ctrl-T or a typed STARTTLS does the plan's STARTTLS step.
        if self
            .plan
            .next()
            .is_some_and(|step| Plan::is_starttls(self.protocol(), step))
        {
            self.plan.advance();
        }
        self.gave_up = false;
        vec![Effect::Command(Command::StartTls)]
    }

    fn done(&mut self) -> Vec<Effect> {
        if self.in_editor() {
            return self.finish_message();
        }
        if self.idling() {
            // RFC 2177 §3: DONE ends IDLE; it is a continuation, never tagged.
            return self.send_line("DONE".into(), false);
        }
        let key = self.keys.hint(Scope::Input, Action::Done);
        self.note(
            NoteKind::Info,
            format!("{key} ends an IMAP IDLE or the DATA editor; neither is running"),
        );
        Vec::new()
    }

    fn finish_message_first(&mut self) {
        let key = self.keys.hint(Scope::Input, Action::Done);
        self.note(
            NoteKind::Info,
            format!("finish the message first (a lone . or {key})"),
        );
    }

    fn save_chain(&mut self) -> Vec<Effect> {
        match self.chain_der() {
            der if !der.is_empty() => vec![Effect::SaveChain {
                file_name: chain_file_name(&self.target.host),
                pem: chain_pem(der),
            }],
            _ => {
                let key = self.keys.hint(Scope::Input, Action::StartTls);
                self.note(
                    NoteKind::Info,
                    format!("no certificate chain yet: STARTTLS first ({key})"),
                );
                Vec::new()
            }
        }
    }

    fn on_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n");
        if let Mode::DataEditor(editor) = &mut self.mode {
            let mut parts: Vec<&str> = text.split('\n').collect();
            let last = parts.pop().unwrap_or_default();
            for (i, part) in parts.into_iter().enumerate() {
                if i == 0 {
                    self.input.insert_str(part);
                    editor.lines.push(self.input.take(true));
                } else {
                    editor.lines.push(part.to_string());
                }
            }
            self.input.insert_str(last);
        } else {
            // One line only: a pasted block must not turn into several commands.
            self.input.insert_str(&text.replace(['\n', '\r'], " "));
        }
    }

    // ---- engine events --------------------------------------------------

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected { at, peer } => {
                self.now = self.now.max(at);
                self.conn = ConnState::Connected;
                self.connected_at = at;
                self.phase = Phase::Greeting;
                let how = match self.target.tls {
                    TlsMode::Implicit => "implicit TLS",
                    TlsMode::Starttls => "plaintext",
                };
                self.note_at(at, NoteKind::Info, format!("connected to {peer} ({how})"));
                self.peer = Some(peer);
            }
            Event::Data(entry) => self.on_entry(entry),
            Event::Malformed { entry, .. } => self.on_entry(entry),
            Event::Tls(tls) => self.on_tls(tls),
            Event::TlsFailed(failed) => {
                let text = format!("TLS handshake failed: {}", failed.reason);
                self.note_at(failed.at, NoteKind::Error, text);
                self.end.tls = true;
                self.chain_selected = 0;
                self.tls_failed = Some(failed);
            }
            Event::Finding { at, finding, .. } => {
                self.now = self.now.max(at);
                let i = match finding.severity {
                    Severity::Info => 0,
                    Severity::Warning => 1,
                    Severity::Error => 2,
                };
                self.findings[i] += 1;
                if finding.id == crate::finding::FindingId::Timeout {
                    self.gave_up = true;
                }
                // The question only when nothing else is on screen: a
                // refusal while the operator types a message or reads a
                // certificate is in the transcript anyway.
                if finding.id == crate::finding::FindingId::StarttlsRefused
                    && self.mode == Mode::Normal
                    && self.replay.is_none()
                {
                    let reply = crate::escape::escape_line(&finding.evidence);
                    self.mode = Mode::Confirm(Confirm::StartTlsRefused {
                        reason: format!("the server refused it: {reply}"),
                    });
                }
                if finding.severity == Severity::Error
                    && finding.stage == crate::finding::Stage::Handshake
                {
                    self.end.tls = true;
                }
                let n = self.transcript.push_finding(at, finding);
                self.rows_added(n);
            }
            Event::Closed { at, reason } => {
                self.conn = ConnState::Closed;
                self.phase = Phase::Ended;
                self.awaiting = None;
                self.next_line_secret = false;
                if self.in_editor() {
                    self.mode = Mode::Normal;
                }
                let kind = if self.quit == QuitState::Requested || self.progress.quit_sent {
                    NoteKind::Info
                } else {
                    NoteKind::Error
                };
                // A connect failure says so itself ("cannot connect to ..."):
                // no "connection closed" for a connection that never was.
                let text = if self.peer.is_none() {
                    reason
                } else {
                    format!("connection closed: {reason}")
                };
                if kind == NoteKind::Error {
                    self.end.error = Some(text.clone());
                }
                // The connect_failed finding already says it, with advice:
                // never the same text twice.
                let said = self.peer.is_none()
                    && self.transcript.items().iter().rev().take(4).any(|i| {
                        matches!(i, crate::session::transcript::Item::Finding { finding, .. }
                            if finding.id == crate::finding::FindingId::ConnectFailed)
                    });
                if !said {
                    self.note_at(at, kind, text);
                }
                if self.quit == QuitState::Requested {
                    self.quit = QuitState::Now;
                }
            }
            Event::Chunk { at, bytes, end, .. } => {
                // A response too big to hold: its entry (next) keeps a preview.
                self.now = self.now.max(at);
                self.bytes_received += bytes.len() as u64;
                if let Some(end) = end {
                    self.streamed_entry = true;
                    let sha: String = end.sha256.iter().map(|b| format!("{b:02x}")).collect();
                    self.note_at(
                        at,
                        NoteKind::Info,
                        format!(
                            "the next response is {} bytes (SHA-256 {sha}): shown are its first bytes; a recording keeps all of them",
                            end.size
                        ),
                    );
                }
            }
        }
    }

    /// The chain report in force: the established handshake's, else the
    /// failed one's (i9: a rejected chain is still shown).
    pub fn chain(&self) -> Option<&ChainReport> {
        match (&self.tls, &self.tls_failed) {
            (Some(t), _) => Some(&t.chain),
            (None, Some(f)) => Some(&f.chain),
            (None, None) => None,
        }
    }

    /// DER of the chain in force, leaf first (see [`App::chain`]).
    pub fn chain_der(&self) -> &[Vec<u8>] {
        match (&self.tls, &self.tls_failed) {
            (Some(t), _) => &t.chain_der,
            (None, Some(f)) => &f.chain_der,
            (None, None) => &[],
        }
    }

    fn on_tls(&mut self, tls: Box<TlsEstablished>) {
        let at = tls.at;
        let s = &tls.summary;
        let mut separator = format!(
            "{} established, {}",
            tls_version_label(&s.version),
            s.cipher_suite
        );
        if let Some(group) = &s.kx_group {
            separator.push_str(", ");
            separator.push_str(group);
        }
        self.note_at(at, NoteKind::TlsStarted, separator);
        if self.target.tls == TlsMode::Starttls {
            let (verb, rfc) = match self.protocol() {
                Protocol::Smtp => ("EHLO", "RFC 3207 §4.2"),
                Protocol::Lmtp => ("LHLO", "RFC 3207 §4.2"),
                Protocol::Imap => ("CAPABILITY", "RFC 9051 §6.2.1"),
                Protocol::Pop3 => ("CAPA", "RFC 2595 §4"),
            };
            self.note_at(
                at,
                NoteKind::Info,
                format!("{verb} again: pre-TLS capabilities are void ({rfc})"),
            );
        }
        self.progress.caps_asked = false;
        self.caps.after = None;
        self.phase = Phase::Commands;
        self.awaiting = None;
        self.next_line_secret = false;
        self.chain_selected = 0;
        self.tls = Some(tls);
    }

    fn on_entry(&mut self, mut entry: Entry) {
        self.now = self.now.max(entry.at);
        let note = &entry.note;
        self.phase = note.phase;
        self.awaiting = note.awaiting.clone();
        self.next_line_secret = note.next_line_secret;
        if let Some(list) = &note.capabilities {
            self.progress.caps_asked = true;
            if entry.tls {
                self.caps.after = Some(list.clone());
            } else {
                self.caps.before = Some(list.clone());
            }
        }
        // The reply to a capability request, listing them or refusing
        // (`-ERR`, `500`): the STARTTLS key's upgrade (or question) follows.
        if note.completes
            && note
                .answers
                .as_ref()
                .is_some_and(|a| a.verb.asks_capabilities())
        {
            self.caps_answered = true;
        }
        match entry.direction {
            Direction::Client => {
                self.bytes_sent += entry.raw.len() as u64;
                if entry.note.phase == Phase::Sasl || entry.note.phase == Phase::Commands {
                    let tagged = self.protocol() == Protocol::Imap;
                    let end = entry
                        .raw
                        .iter()
                        .position(|&b| b == b'\r' || b == b'\n')
                        .unwrap_or(entry.raw.len());
                    let parsed = command::parse(self.protocol(), &entry.raw[..end], tagged);
                    if let Some(mechanism) = parsed.sasl {
                        self.sasl_mechanism = Some(mechanism);
                        self.login_asks = None;
                    }
                }
                if entry
                    .note
                    .sent
                    .as_ref()
                    .is_some_and(|s| s.verb == command::quit_verb(self.protocol()))
                {
                    self.progress.quit_sent = true;
                }
            }
            Direction::Server => {
                if !std::mem::take(&mut self.streamed_entry) {
                    self.bytes_received += entry.raw.len() as u64;
                }
                if entry.note.phase == Phase::Sasl {
                    let smtp = matches!(self.protocol(), Protocol::Smtp | Protocol::Lmtp);
                    self.login_asks = crate::protocol::sasl::challenge_text(smtp, &entry.raw)
                        .and_then(crate::protocol::sasl::decode_challenge)
                        .and_then(|d| crate::protocol::sasl::login_prompt(&d));
                }
                self.on_server_note(&entry);
            }
        }
        // One secret decision (the dialogue's), one placeholder on screen.
        if let Some(masked) = entry.note.redact(&entry.raw) {
            entry.raw = masked;
        }
        let n = self.transcript.push_entry(entry);
        self.rows_added(n);
    }

    /// What a server response means for the hint line, the editor and RTT.
    fn on_server_note(&mut self, entry: &Entry) {
        let note = &entry.note;
        if self.phase != Phase::Greeting && !self.progress.greeted {
            self.progress.greeted = true;
            self.last_rtt = Some(entry.at.saturating_sub(self.connected_at));
        }
        let Some(answer) = &note.answers else {
            return;
        };
        // RTT excludes the time spent idling or typing a message.
        if answer.verb != Verb::Idle && !answer.body {
            self.last_rtt = Some(entry.at.saturating_sub(answer.sent_at));
        }
        let positive = note.outcome == Outcome::Positive;
        if !note.completes && note.outcome != Outcome::Intermediate {
            return;
        }
        match (&answer.verb, answer.body) {
            (Verb::Auth | Verb::Authenticate | Verb::Login | Verb::Pass | Verb::Apop, _) => {
                self.progress.authed |= positive && note.completes;
            }
            (Verb::Select | Verb::Examine, _) if note.completes => {
                self.progress.selected = positive
            }
            (Verb::Mail, _) if positive => self.progress.mail = true,
            (Verb::Rcpt, _) if positive => self.progress.rcpt += 1,
            (Verb::Data, false) if note.phase == Phase::Data => {
                self.mode = Mode::DataEditor(Editor::default());
                self.focus = Focus::Input;
            }
            (Verb::Data | Verb::Bdat, true) if positive => {
                self.progress.data_sent = true;
                self.progress.mail = false;
                self.progress.rcpt = 0;
            }
            (Verb::Rset, _) if positive => {
                self.progress.mail = false;
                self.progress.rcpt = 0;
            }
            _ => {}
        }
    }
}

/// True when a typed line is the planned step: same words, any case or spacing.
fn same_command(step: &str, typed: &str) -> bool {
    let words = |s: &str| {
        s.split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect::<Vec<_>>()
    };
    !typed.trim().is_empty() && words(step) == words(typed)
}

/// `TLSv1.3` → `TLS 1.3`; other spellings are shown as they are.
pub fn tls_version_label(version: &str) -> String {
    match version.strip_prefix("TLSv") {
        Some(v) => format!("TLS {v}"),
        None => version.to_string(),
    }
}

/// The message body as sent after `354`: every line that starts with `.`
/// gets one more (RFC 5321 §4.5.2), lines end in CRLF, and `.` CRLF ends it.
///
/// ```text
/// Subject: hi        Subject: hi
/// .hidden       ->   ..hidden
///                    .
/// ```
pub fn dot_stuff(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(CRLF.as_bytes());
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// File name for a saved chain: `<host>-chain.pem`, with anything but
/// letters, digits, `.` and `-` replaced so a name can never leave the directory.
pub fn chain_file_name(host: &str) -> String {
    let safe: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    format!(
        "{}-chain.pem",
        if safe.is_empty() { "server" } else { safe }
    )
}

/// DER certificates as concatenated PEM blocks (RFC 7468 §5), leaf first.
pub fn chain_pem(chain_der: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in chain_der {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Entry;

    fn app(url: &str) -> App {
        let target = Target::parse(url).unwrap_or_else(|e| panic!("{e}"));
        App::new(AppConfig {
            target,
            ehlo: "client.example".into(),
            plan: None,
        })
    }

    thread_local! {
        /// The dialogue that annotates what a test feeds the app, as the
        /// engine would (one per test thread; `connect` starts a new one).
        static DIALOGUE: std::cell::RefCell<Option<crate::session::Dialogue>> =
            const { std::cell::RefCell::new(None) };
    }

    fn data(app: &mut App, ms: u64, direction: Direction, raw: &str) {
        let mut event = Event::Data(Entry {
            at: Duration::from_millis(ms),
            direction,
            raw: raw.as_bytes().to_vec(),
            tls: app.tls.is_some(),
            note: Default::default(),
        });
        let findings = DIALOGUE.with(|d| {
            d.borrow_mut()
                .as_mut()
                .map(|d| d.annotate(&mut event, &crate::protocol::Limits::default()))
                .unwrap_or_default()
        });
        app.update(Msg::Session(event));
        for finding in findings {
            app.update(Msg::Session(Event::Finding {
                at: Duration::from_millis(ms),
                finding,
                origin: crate::session::Origin::Dialogue,
            }));
        }
    }

    fn connect(app: &mut App) {
        let protocol = app.protocol();
        DIALOGUE.with(|d| *d.borrow_mut() = Some(crate::session::Dialogue::new(protocol)));
        app.update(Msg::Session(Event::Connected {
            at: Duration::ZERO,
            peer: "192.0.2.1:25".into(),
        }));
    }

    fn sends(effects: &[Effect]) -> Vec<(String, bool)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Command(Command::Send { bytes, tagged }) => {
                    Some((String::from_utf8_lossy(bytes).into_owned(), *tagged))
                }
                _ => None,
            })
            .collect()
    }

    fn typed(app: &mut App, text: &str) -> Vec<Effect> {
        for c in text.chars() {
            app.update(Msg::Action(Action::Insert(c)));
        }
        app.update(Msg::Action(Action::Submit))
    }

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        let lines: Vec<String> = ["Subject: t", "", ".", "..x", "a.b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            dot_stuff(&lines),
            b"Subject: t\r\n\r\n..\r\n...x\r\na.b\r\n.\r\n"
        );
        assert_eq!(dot_stuff(&[]), b".\r\n");
    }

    #[test]
    fn data_editor_opens_after_354_and_a_lone_dot_sends() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        let fx = typed(&mut app, "DATA");
        assert_eq!(sends(&fx), [("DATA\r\n".to_string(), false)]);
        data(&mut app, 20, Direction::Client, "DATA\r\n");
        data(&mut app, 30, Direction::Server, "354 go ahead\r\n");
        assert!(matches!(app.mode, Mode::DataEditor(_)));
        assert!(typed(&mut app, "Subject: test").is_empty());
        assert!(typed(&mut app, ".leading dot").is_empty());
        let fx = typed(&mut app, ".");
        assert_eq!(
            sends(&fx),
            [("Subject: test\r\n..leading dot\r\n.\r\n".to_string(), false)]
        );
        assert_eq!(app.mode, Mode::Normal);
    }

    #[test]
    fn a_plan_data_body_is_sent_by_f8_after_the_354() {
        let mut app = app("smtp://mx.example.com");
        app.plan = Plan::parse("DATA\nSubject: plan\n\n.dot\n.\nQUIT\n", "client.example");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        let fx = app.update(Msg::Action(Action::Step));
        assert_eq!(sends(&fx), [("DATA\r\n".to_string(), false)]);
        data(&mut app, 20, Direction::Client, "DATA\r\n");
        data(&mut app, 30, Direction::Server, "354 go ahead\r\n");
        assert!(matches!(app.mode, Mode::DataEditor(_)));
        let fx = app.update(Msg::Action(Action::Step));
        assert_eq!(
            sends(&fx),
            [("Subject: plan\r\n\r\n..dot\r\n.\r\n".to_string(), false)]
        );
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(app.plan.next(), Some("QUIT"));
    }

    #[test]
    fn ctrl_d_ends_the_message_with_the_current_line() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        app.mode = Mode::DataEditor(Editor::default());
        typed(&mut app, "line one");
        for c in "last".chars() {
            app.update(Msg::Action(Action::Insert(c)));
        }
        let fx = app.update(Msg::Action(Action::Done));
        assert_eq!(sends(&fx)[0].0, "line one\r\nlast\r\n.\r\n");
    }

    #[test]
    fn imap_commands_are_tagged_and_continuations_are_not() {
        let mut app = app("imap://imap.example.com");
        connect(&mut app);
        data(
            &mut app,
            5,
            Direction::Server,
            "* OK [CAPABILITY IMAP4rev1 STARTTLS IDLE] ready\r\n",
        );
        assert_eq!(app.caps.before.as_ref().map(Vec::len), Some(3));
        let fx = typed(&mut app, "LOGIN alice {6}");
        assert_eq!(sends(&fx), [("LOGIN alice {6}\r\n".to_string(), true)]);
        data(&mut app, 6, Direction::Client, "a1 LOGIN alice {6}\r\n");
        assert_eq!(app.phase, Phase::AwaitingContinuation);
        data(
            &mut app,
            7,
            Direction::Server,
            "+ Ready for literal data\r\n",
        );
        let fx = typed(&mut app, "secret");
        assert_eq!(sends(&fx), [("secret\r\n".to_string(), false)]);
        data(&mut app, 8, Direction::Client, "secret\r\n");
        data(&mut app, 9, Direction::Server, "a1 OK LOGIN completed\r\n");
        assert!(app.progress.authed);
        assert_eq!(app.last_rtt, Some(Duration::from_millis(3)));
        // The literal password never reaches the screen or the history.
        let shown: Vec<_> = app
            .transcript
            .rows(0..99)
            .map(|r| r.text.to_vec())
            .collect();
        assert!(
            shown
                .iter()
                .all(|t| !String::from_utf8_lossy(t).contains("secret"))
        );
        assert!(app.input.history().iter().all(|h| h != "secret"));

        let fx = typed(&mut app, "IDLE");
        assert!(sends(&fx)[0].1);
        data(&mut app, 10, Direction::Client, "a2 IDLE\r\n");
        data(&mut app, 11, Direction::Server, "+ idling\r\n");
        assert!(app.idling());
        let fx = app.update(Msg::Action(Action::Done));
        assert_eq!(sends(&fx), [("DONE\r\n".to_string(), false)]);
    }

    #[test]
    fn literal_plus_is_sent_without_waiting() {
        let mut app = app("imap://imap.example.com");
        connect(&mut app);
        data(
            &mut app,
            5,
            Direction::Server,
            "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n",
        );
        typed(&mut app, "APPEND INBOX {5+}");
        data(&mut app, 6, Direction::Client, "a1 APPEND INBOX {5+}\r\n");
        let fx = typed(&mut app, "hello");
        assert_eq!(sends(&fx), [("hello\r\n".to_string(), false)]);
        assert!(!app.transcript.items().iter().any(|i| matches!(
            i,
            crate::session::transcript::Item::Note {
                kind: NoteKind::Warning,
                ..
            }
        )));
    }

    #[test]
    fn plan_steps_send_in_order_and_starttls_goes_to_the_engine() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        let fx = app.update(Msg::Action(Action::Step));
        assert_eq!(sends(&fx), [("EHLO client.example\r\n".to_string(), false)]);
        data(&mut app, 11, Direction::Client, "EHLO client.example\r\n");
        data(
            &mut app,
            15,
            Direction::Server,
            "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
        );
        assert_eq!(app.suggestion().as_deref(), Some("STARTTLS (Ctrl-T)"));
        let fx = app.update(Msg::Action(Action::Step));
        assert_eq!(fx, [Effect::Command(Command::StartTls)]);
        assert_eq!(app.plan.done(), 2);
        app.update(Msg::Action(Action::EditStep));
        assert_eq!(app.input.text(), "EHLO client.example");
        assert_eq!(app.plan.next(), Some("QUIT"));
    }

    #[test]
    fn doing_a_step_by_hand_moves_the_plan_on() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        typed(&mut app, "ehlo client.example");
        assert_eq!(app.plan.next(), Some("STARTTLS"));
        data(&mut app, 11, Direction::Client, "ehlo client.example\r\n");
        data(
            &mut app,
            15,
            Direction::Server,
            "250-mx\r\n250 STARTTLS\r\n",
        );
        assert_eq!(
            app.update(Msg::Action(Action::StartTls)),
            [Effect::Command(Command::StartTls)]
        );
        assert_eq!(app.plan.next(), Some("EHLO client.example"));
        typed(&mut app, "NOOP");
        assert_eq!(app.plan.done(), 2);
    }

    #[test]
    fn starttls_not_advertised_asks_first() {
        let mut app = app("pop3://pop.example.com");
        connect(&mut app);
        data(&mut app, 1, Direction::Server, "+OK POP3 ready\r\n");
        typed(&mut app, "CAPA");
        data(&mut app, 2, Direction::Client, "CAPA\r\n");
        data(
            &mut app,
            3,
            Direction::Server,
            "+OK\r\nTOP\r\nUIDL\r\n.\r\n",
        );
        assert!(app.update(Msg::Action(Action::StartTls)).is_empty());
        assert!(matches!(app.mode, Mode::Confirm(_)));
        assert_eq!(
            app.update(Msg::Action(Action::Confirm)),
            [Effect::Command(Command::StartTls)]
        );
        // A typed STLS is routed through the engine as well.
        app.mode = Mode::Normal;
        app.caps.before = Some(vec![Capability {
            name: "STLS".into(),
            params: vec![],
        }]);
        assert_eq!(
            typed(&mut app, "stls"),
            [Effect::Command(Command::StartTls)]
        );
    }

    #[test]
    fn quit_is_polite_first_then_immediate() {
        let mut app = app("imap://imap.example.com");
        connect(&mut app);
        let fx = app.update(Msg::Action(Action::Quit));
        assert_eq!(sends(&fx), [("LOGOUT\r\n".to_string(), true)]);
        assert!(!app.should_quit());
        app.update(Msg::Action(Action::Quit));
        assert!(app.should_quit());

        let mut app = super::tests::app("smtp://mx.example.com");
        connect(&mut app);
        app.update(Msg::Action(Action::Quit));
        app.update(Msg::Session(Event::Closed {
            at: Duration::from_millis(9),
            reason: "server closed".into(),
        }));
        assert!(app.should_quit());
    }

    #[test]
    fn escape_gives_up_waiting_then_moves_focus() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        app.update(Msg::Tick(Duration::from_secs(31)));
        let (elapsed, what) = app.waiting().unwrap_or_default();
        assert_eq!(
            (elapsed, what.as_str()),
            (Duration::from_secs(31), "greeting")
        );
        app.update(Msg::Action(Action::Escape));
        assert_eq!((app.waiting(), app.focus), (None, Focus::Input));
        app.update(Msg::Action(Action::Escape));
        assert_eq!(app.focus, Focus::Panes);
    }

    #[test]
    fn smtp_auth_exchange_is_masked() {
        let mut app = app("submission://mx.example.com");
        connect(&mut app);
        data(&mut app, 1, Direction::Server, "220 mx\r\n");
        typed(&mut app, "AUTH LOGIN");
        data(&mut app, 2, Direction::Client, "AUTH LOGIN\r\n");
        data(&mut app, 3, Direction::Server, "334 VXNlcm5hbWU6\r\n");
        typed(&mut app, "YWxpY2U=");
        data(&mut app, 4, Direction::Client, "YWxpY2U=\r\n");
        data(&mut app, 5, Direction::Server, "334 UGFzc3dvcmQ6\r\n");
        typed(&mut app, "c2VjcmV0");
        data(&mut app, 6, Direction::Client, "c2VjcmV0\r\n");
        data(&mut app, 7, Direction::Server, "235 2.7.0 ok\r\n");
        let shown: String = app
            .transcript
            .rows(0..99)
            .map(|r| String::from_utf8_lossy(r.text).into_owned() + "\n")
            .collect();
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("YWxpY2U="),
            "{shown}"
        );
        assert!(app.progress.authed && app.phase != Phase::Sasl);
        assert_eq!(app.input.history(), ["AUTH LOGIN"]);
    }

    #[test]
    fn ctrl_t_asks_the_capabilities_first_then_upgrades() {
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        let fx = app.update(Msg::Action(Action::StartTls));
        assert_eq!(sends(&fx), [("EHLO client.example\r\n".to_string(), false)]);
        assert_eq!(app.mode, Mode::Normal);
        data(&mut app, 11, Direction::Client, "EHLO client.example\r\n");
        let fx = app.update(Msg::Session(Event::Data(Entry {
            at: Duration::from_millis(12),
            direction: Direction::Server,
            raw: b"250-mx\r\n250 STARTTLS\r\n".to_vec(),
            tls: false,
            note: Default::default(),
        })));
        // Without the dialogue's note nothing is known yet; with it, the upgrade.
        assert!(fx.is_empty());
        let mut app = super::tests::app("smtp://mx.example.com");
        connect(&mut app);
        data(&mut app, 10, Direction::Server, "220 mx ESMTP\r\n");
        app.update(Msg::Action(Action::StartTls));
        data(&mut app, 11, Direction::Client, "EHLO client.example\r\n");
        let mut event = Event::Data(Entry {
            at: Duration::from_millis(12),
            direction: Direction::Server,
            raw: b"250-mx\r\n250 STARTTLS\r\n".to_vec(),
            tls: false,
            note: Default::default(),
        });
        DIALOGUE.with(|d| {
            if let Some(d) = d.borrow_mut().as_mut() {
                d.annotate(&mut event, &crate::protocol::Limits::default());
            }
        });
        let fx = app.update(Msg::Session(event));
        assert_eq!(fx, [Effect::Command(Command::StartTls)]);
        assert_eq!(app.mode, Mode::Normal);
    }

    #[test]
    fn a_refused_starttls_asks_whether_to_try_again_defaulting_to_no() {
        let refused = |app: &mut App| {
            let finding = crate::finding::Finding::new(
                crate::finding::FindingId::StarttlsRefused,
                Severity::Warning,
                crate::finding::Stage::Starttls,
                "STARTTLS refused",
                "",
                "RFC 3207 §4",
            )
            .with_evidence(b"454 4.7.0 TLS not available\x1b[2J\r\n".to_vec());
            app.update(Msg::Session(Event::Finding {
                at: Duration::from_millis(5),
                finding,
                origin: crate::session::Origin::Dialogue,
            }))
        };
        let mut app = app("smtp://mx.example.com");
        connect(&mut app);
        assert!(refused(&mut app).is_empty());
        let Mode::Confirm(Confirm::StartTlsRefused { reason }) = &app.mode else {
            panic!("no question: {:?}", app.mode);
        };
        assert!(
            reason.contains("454 4.7.0 TLS not available\\x1b[2J"),
            "{reason}"
        );
        // Enter is not yes: it leaves the question open and sends nothing.
        let enter = app.keys.lookup(
            Scope::Confirm,
            crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter),
        );
        assert_ne!(enter, Some(Action::Confirm));
        assert!(app.update(Msg::Action(Action::Cancel)).is_empty());
        assert_eq!(app.mode, Mode::Normal);
        // Yes sends STARTTLS again.
        refused(&mut app);
        let fx = app.update(Msg::Action(Action::Confirm));
        assert!(fx.contains(&Effect::Command(Command::StartTls)), "{fx:?}");
    }

    #[test]
    fn ctrl_t_asks_only_when_starttls_is_really_not_offered() {
        let mut app = app("pop3://pop.example.com");
        connect(&mut app);
        data(&mut app, 1, Direction::Server, "+OK ready\r\n");
        let fx = app.update(Msg::Action(Action::StartTls));
        assert_eq!(sends(&fx), [("CAPA\r\n".to_string(), false)]);
        data(&mut app, 2, Direction::Client, "CAPA\r\n");
        data(&mut app, 3, Direction::Server, "+OK\r\nUIDL\r\n.\r\n");
        assert!(matches!(
            app.mode,
            Mode::Confirm(Confirm::StartTlsNotAdvertised { .. })
        ));
    }

    #[test]
    fn a_bare_auth_plain_is_sent_as_typed_and_the_key_answers_the_challenge() {
        let mut app = app("submission://mx.example.com");
        connect(&mut app);
        data(&mut app, 1, Direction::Server, "220 mx\r\n");
        let fx = typed(&mut app, "AUTH PLAIN");
        assert_eq!(sends(&fx), [("AUTH PLAIN\r\n".to_string(), false)]);
        data(&mut app, 2, Direction::Client, "AUTH PLAIN\r\n");
        data(&mut app, 3, Direction::Server, "334 \r\n");
        assert_eq!(app.phase, Phase::Sasl);
        assert!(app.update(Msg::Action(Action::Credentials)).is_empty());
        assert!(typed(&mut app, "demo").is_empty());
        for c in "demo-password".chars() {
            app.update(Msg::Action(Action::Insert(c)));
        }
        assert_eq!(app.input_display(), "*************");
        assert!(app.update(Msg::Action(Action::Submit)).is_empty());
        // Plaintext: the question first; no (Cancel, also Enter) sends nothing.
        assert!(matches!(
            app.mode,
            Mode::Confirm(Confirm::InsecureCredentials { .. })
        ));
        assert!(
            app.keys.lookup(
                Scope::Confirm,
                crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)
            ) == Some(Action::Cancel)
        );
        let mut again = app.clone();
        assert!(again.update(Msg::Action(Action::Cancel)).is_empty());
        assert_eq!(again.mode, Mode::Normal);
        let fx = app.update(Msg::Action(Action::Confirm));
        assert_eq!(
            sends(&fx),
            [("AGRlbW8AZGVtby1wYXNzd29yZA==\r\n".to_string(), false)]
        );
        assert!(
            app.input
                .history()
                .iter()
                .all(|h| !h.contains("demo-password"))
        );
    }

    #[test]
    fn the_key_answers_login_challenges_one_field_each() {
        let mut app = app("submission://mx.example.com");
        connect(&mut app);
        data(&mut app, 1, Direction::Server, "220 mx\r\n");
        typed(&mut app, "auth login");
        data(&mut app, 2, Direction::Client, "auth login\r\n");
        data(&mut app, 3, Direction::Server, "334 VXNlcm5hbWU6\r\n");
        app.update(Msg::Action(Action::Credentials));
        typed(&mut app, "demo");
        typed(&mut app, "pw");
        let fx = app.update(Msg::Action(Action::Confirm));
        assert_eq!(sends(&fx), [("ZGVtbw==\r\n".to_string(), false)]);
        data(&mut app, 4, Direction::Client, "ZGVtbw==\r\n");
        let mut event = Event::Data(Entry {
            at: Duration::from_millis(5),
            direction: Direction::Server,
            raw: b"334 UGFzc3dvcmQ6\r\n".to_vec(),
            tls: false,
            note: Default::default(),
        });
        DIALOGUE.with(|d| {
            if let Some(d) = d.borrow_mut().as_mut() {
                d.annotate(&mut event, &crate::protocol::Limits::default());
            }
        });
        let fx = app.update(Msg::Session(event));
        assert_eq!(sends(&fx), [("cHc=\r\n".to_string(), false)]);
    }

    #[test]
    fn commands_typed_during_idle_are_held() {
        let mut app = app("imap://imap.example.com");
        connect(&mut app);
        data(
            &mut app,
            1,
            Direction::Server,
            "* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n",
        );
        typed(&mut app, "IDLE");
        data(&mut app, 2, Direction::Client, "a1 IDLE\r\n");
        data(&mut app, 3, Direction::Server, "+ idling\r\n");
        assert!(typed(&mut app, "NOOP").is_empty());
        assert_eq!(app.input.text(), "NOOP");
        assert!(
            app.completion_hint
                .as_deref()
                .unwrap_or_default()
                .contains("Ctrl-D sends DONE")
        );
        let fx = app.update(Msg::Action(Action::Done));
        assert_eq!(sends(&fx), [("DONE\r\n".to_string(), false)]);
    }

    #[test]
    fn a_failed_connect_exits_3_and_says_why_once() {
        let mut app = app("smtp://127.0.0.1:1");
        app.update(Msg::Session(Event::Closed {
            at: Duration::ZERO,
            reason: "cannot connect to 127.0.0.1:1: connection refused".into(),
        }));
        assert_eq!(app.exit_code(), 3);
        assert_eq!(
            app.farewell(),
            ["cannot connect to 127.0.0.1:1: connection refused"]
        );
        let mut app = super::tests::app("smtp://mx.example.com");
        connect(&mut app);
        app.update(Msg::Action(Action::Quit));
        app.update(Msg::Session(Event::Closed {
            at: Duration::from_millis(9),
            reason: "server closed".into(),
        }));
        assert_eq!((app.exit_code(), app.farewell().len()), (0, 0));
    }

    #[test]
    fn typing_the_planned_command_with_other_spacing_advances_the_plan() {
        assert!(same_command(
            "EHLO client.example",
            "  ehlo   client.example "
        ));
        assert!(!same_command("EHLO a", "EHLO b"));
        assert!(!same_command("", " "));
    }

    #[test]
    fn chain_files_are_named_after_the_host_and_stay_in_place() {
        assert_eq!(
            chain_file_name("mx.example.com"),
            "mx.example.com-chain.pem"
        );
        assert_eq!(chain_file_name("::1"), "__1-chain.pem");
        assert_eq!(chain_file_name("../../etc"), "_.._etc-chain.pem");
        let pem = chain_pem(&[vec![0u8; 60]]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nAAAA"));
        assert!(pem.lines().all(|l| l.len() <= 64));
    }
}
