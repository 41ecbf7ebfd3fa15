//! The config file: defaults for the shared options, per-server profiles,
//! the TUI's theme and key bindings.
//!
//! ```text
//! $XDG_CONFIG_HOME/mailwire/config.toml   (or --config FILE, or none with --no-config)
//!        |
//!        v  toml + serde, spans kept: errors name FILE:LINE:COL
//! ConfigFile { defaults, profiles, theme, keys }
//!        |
//!        v  precedence, highest first
//! command line > environment (MAILWIRE_*) > [profiles.NAME] > [defaults] > built in
//!        |
//!        v
//! Settings --session_config(target)--> SessionConfig (engine)
//! [theme] --> tui::Theme (NO_COLOR still wins)     [keys] --> tui::keymap::Keymap
//! ```
//!
//! Clap resolves the first two layers (a flag beats its `MAILWIRE_*`
//! variable); [`Options::over`] stacks the rest. A missing file at the
//! default place is no error; a file that does not parse, an unknown key, a
//! bad value or conflicting key bindings are, each with the file, line and
//! column (exit status 2). Nothing here panics on what the file holds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::protocol::Limits;
use crate::session::{SessionConfig, Timeouts};
use crate::target::{IpVersion, Target};
use crate::tls::ClientOptions;
use crate::tui::keymap::{Action, Key, KeyConflict, Keymap, Rebind, Scope};
use crate::tui::theme::{self, Theme};

/// The example file shown in README and, commented out, written by
/// `mailwire config init`.
pub const EXAMPLE: &str = include_str!("../assets/config-example.toml");

/// Faults of the config layer; all are usage errors (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` (or an existing default file) cannot be read.
    #[error("cannot read config file {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The file is not valid TOML or holds an unknown key or a bad value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        column: usize,
        message: String,
    },
    /// The `[keys]` tables conflict; each entry names its line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Keys(Vec<KeyConflict>),
    /// `@NAME` or `--profile NAME` names no profile.
    #[error("no profile {name:?} in {where_}{}", known_list(.known))]
    NoProfile {
        name: String,
        where_: String,
        known: Vec<String>,
    },
    /// No home directory, so no default config location.
    #[error("cannot find the home directory for the config file; use --config FILE or --no-config")]
    NoHome,
    /// `config init` would overwrite a file.
    #[error("{} exists; use --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// `config init` cannot write the template.
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it defines none)".to_string()
    } else {
        format!("; profiles: {}", known.join(", "))
    }
}

/// Result of the config layer.
pub type Result<T> = std::result::Result<T, ConfigError>;

/// `1500` (milliseconds) or a duration with a unit, as curl users expect:
/// `500ms`, `30s`, `2m`, `1m 30s`. Used by every option that takes time.
///
/// # Errors
/// Neither form, or zero (a zero timeout would fire at once).
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let d = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| format!("{text:?}: {e}"))?
    } else {
        humantime::parse_duration(text).map_err(|e| {
            format!("{text:?} is not a duration ({e}): give milliseconds (1500) or a unit (500ms, 30s, 2m)")
        })?
    };
    if d.is_zero() {
        return Err(format!("{text:?}: a timeout must be longer than zero"));
    }
    Ok(d)
}

/// A duration as the file and `config show` write it: `30s`, `1m 30s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// One value of the shared options, with every field optional so layers
/// can be stacked ([`Options::over`]). Keys are the long option names.
/// `[defaults]` and each `[profiles.NAME]` are one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// Profiles only: the server, e.g. `smtp://mx1.example.org`; a URL on
    /// the command line wins.
    pub url: Option<Spanned<String>>,
    /// `--ehlo`.
    pub ehlo: Option<String>,
    /// `--servername`: SNI and the name checked.
    pub servername: Option<String>,
    /// `--no-sni`.
    pub no_sni: Option<bool>,
    /// `--ca-file`, one path or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub ca_file: Option<Vec<PathBuf>>,
    /// `--ca-path`: a directory of trusted CA certificates (PEM files).
    pub ca_path: Option<PathBuf>,
    /// `--no-system-roots`: trust only `ca-file`/`ca-path`.
    pub no_system_roots: Option<bool>,
    /// `--cert`: client certificate chain (PEM, leaf first).
    pub cert: Option<PathBuf>,
    /// `--key`: private key of `cert` (PEM).
    pub key: Option<PathBuf>,
    /// `--tls-version`: "1.2" or "1.3".
    #[serde(default, deserialize_with = "tls_version")]
    pub tls_version: Option<String>,
    /// `--alpn`, one protocol or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub alpn: Option<Vec<String>>,
    /// `--strict`.
    pub strict: Option<bool>,
    /// `-4`/`-6`: `4`, `6` or `"any"`.
    #[serde(default, deserialize_with = "ip_version")]
    pub ip: Option<IpVersion>,
    /// `--connect-timeout`.
    #[serde(default, deserialize_with = "duration")]
    pub connect_timeout: Option<Duration>,
    /// `--timeout`: per response, greeting included.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// `--handshake-timeout`.
    #[serde(default, deserialize_with = "duration")]
    pub handshake_timeout: Option<Duration>,
    /// `--max-line`, in bytes.
    pub max_line: Option<usize>,
    /// Where Ctrl-R's default recording file goes (default: the current directory).
    pub record_dir: Option<PathBuf>,
    /// Mask secrets in recordings (`--no-redact` is `false`).
    pub redact: Option<bool>,
}

/// Names of [`Options`]' keys in the file, in the order `config show` prints them.
pub const OPTION_KEYS: &[&str] = &[
    "ehlo",
    "servername",
    "no-sni",
    "ca-file",
    "ca-path",
    "no-system-roots",
    "cert",
    "key",
    "tls-version",
    "alpn",
    "strict",
    "ip",
    "connect-timeout",
    "timeout",
    "handshake-timeout",
    "max-line",
    "record-dir",
    "redact",
];

impl Options {
    /// `self` where it says something, else `lower`: one step of the
    /// precedence chain.
    #[must_use]
    pub fn over(&self, lower: &Options) -> Options {
        Options {
            url: self.url.clone().or_else(|| lower.url.clone()),
            ehlo: self.ehlo.clone().or_else(|| lower.ehlo.clone()),
            servername: self.servername.clone().or_else(|| lower.servername.clone()),
            no_sni: self.no_sni.or(lower.no_sni),
            ca_file: self.ca_file.clone().or_else(|| lower.ca_file.clone()),
            ca_path: self.ca_path.clone().or_else(|| lower.ca_path.clone()),
            no_system_roots: self.no_system_roots.or(lower.no_system_roots),
            cert: self.cert.clone().or_else(|| lower.cert.clone()),
            key: self.key.clone().or_else(|| lower.key.clone()),
            tls_version: self
                .tls_version
                .clone()
                .or_else(|| lower.tls_version.clone()),
            alpn: self.alpn.clone().or_else(|| lower.alpn.clone()),
            strict: self.strict.or(lower.strict),
            ip: self.ip.or(lower.ip),
            connect_timeout: self.connect_timeout.or(lower.connect_timeout),
            timeout: self.timeout.or(lower.timeout),
            handshake_timeout: self.handshake_timeout.or(lower.handshake_timeout),
            max_line: self.max_line.or(lower.max_line),
            record_dir: self.record_dir.clone().or_else(|| lower.record_dir.clone()),
            redact: self.redact.or(lower.redact),
        }
    }

    /// The built-in defaults; `None` where the default is worked out per
    /// session (EHLO name, server name) or means "any" (TLS version).
    pub fn built_in() -> Options {
        let t = Timeouts::default();
        Options {
            url: None,
            ehlo: None,
            servername: None,
            no_sni: Some(false),
            ca_file: Some(Vec::new()),
            ca_path: None,
            no_system_roots: Some(false),
            cert: None,
            key: None,
            tls_version: None,
            alpn: Some(Vec::new()),
            strict: Some(false),
            ip: Some(IpVersion::Any),
            connect_timeout: Some(t.connect),
            timeout: Some(t.response),
            handshake_timeout: Some(t.handshake),
            max_line: Some(Limits::default().max_line),
            record_dir: None,
            redact: Some(true),
        }
    }

    /// Whether the option called `key` (one of [`OPTION_KEYS`]) is set here.
    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    /// The option called `key` as TOML, if set (for `config show`).
    pub fn value(&self, key: &str) -> Option<String> {
        let s = |v: &Option<String>| v.as_ref().map(|v| toml_string(v));
        let b = |v: Option<bool>| v.map(|v| v.to_string());
        let d = |v: Option<Duration>| v.map(|v| toml_string(&format_duration(v)));
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| toml_string(&p.display().to_string()));
        let paths = |v: &Option<Vec<PathBuf>>| {
            v.as_ref()
                .map(|v| toml_list(v.iter().map(|p| p.display().to_string())))
        };
        match key {
            "ehlo" => s(&self.ehlo),
            "servername" => s(&self.servername),
            "no-sni" => b(self.no_sni),
            "ca-file" => paths(&self.ca_file),
            "ca-path" => path(&self.ca_path),
            "no-system-roots" => b(self.no_system_roots),
            "cert" => path(&self.cert),
            "key" => path(&self.key),
            "tls-version" => s(&self.tls_version),
            "alpn" => self.alpn.as_ref().map(|v| toml_list(v.iter().cloned())),
            "strict" => b(self.strict),
            "ip" => self.ip.map(|ip| {
                match ip {
                    IpVersion::Any => "\"any\"",
                    IpVersion::V4 => "4",
                    IpVersion::V6 => "6",
                }
                .to_string()
            }),
            "connect-timeout" => d(self.connect_timeout),
            "timeout" => d(self.timeout),
            "handshake-timeout" => d(self.handshake_timeout),
            "max-line" => self.max_line.map(|n| n.to_string()),
            "record-dir" => self
                .record_dir
                .as_ref()
                .map(|p| toml_string(&p.display().to_string())),
            "redact" => b(self.redact),
            _ => None,
        }
    }

    /// Relative paths in a file are relative to the file's directory, and
    /// `~/` is the home directory, as in shells.
    fn anchor_paths(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| *p = anchor(p, dir);
        if let Some(files) = &mut self.ca_file {
            files.iter_mut().for_each(fix);
        }
        for d in [
            &mut self.record_dir,
            &mut self.ca_path,
            &mut self.cert,
            &mut self.key,
        ]
        .into_iter()
        .flatten()
        {
            fix(d);
        }
    }

    /// The final values: this layer over the built-in defaults.
    pub fn settings(&self) -> Settings {
        let all = self.over(&Options::built_in());
        let t = Timeouts::default();
        Settings {
            ehlo: all.ehlo,
            servername: all.servername,
            no_sni: all.no_sni.unwrap_or(false),
            ca_files: all.ca_file.unwrap_or_default(),
            ca_path: all.ca_path,
            no_system_roots: all.no_system_roots.unwrap_or(false),
            cert: all.cert,
            key: all.key,
            tls_version: all.tls_version,
            alpn: all.alpn.unwrap_or_default(),
            strict: all.strict.unwrap_or(false),
            ip: all.ip.unwrap_or_default(),
            timeouts: Timeouts {
                connect: all.connect_timeout.unwrap_or(t.connect),
                response: all.timeout.unwrap_or(t.response),
                handshake: all.handshake_timeout.unwrap_or(t.handshake),
            },
            max_line: all.max_line.unwrap_or(Limits::default().max_line),
            record_dir: all.record_dir,
            redact: all.redact.unwrap_or(true),
        }
    }
}

fn anchor(p: &Path, dir: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~") {
        if let Ok(home) = etcetera::home_dir() {
            return home.join(rest);
        }
    }
    if p.is_relative() {
        dir.join(p)
    } else {
        p.to_path_buf()
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.map(|s| toml_string(&s)).collect();
    format!("[{}]", items.join(", "))
}

/// The shared options after every layer: what a session runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `None`: this host's FQDN, else an address literal (RFC 5321 §4.1.4).
    pub ehlo: Option<String>,
    /// `None`: the URL's host.
    pub servername: Option<String>,
    pub no_sni: bool,
    pub ca_files: Vec<PathBuf>,
    /// `--ca-path` directory.
    pub ca_path: Option<PathBuf>,
    /// Trust only the given roots, not the OS store.
    pub no_system_roots: bool,
    /// Client certificate chain and its key (`--cert`, `--key`).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `None`: TLS 1.2 and 1.3.
    pub tls_version: Option<String>,
    pub alpn: Vec<String>,
    pub strict: bool,
    pub ip: IpVersion,
    pub timeouts: Timeouts,
    /// Longest server line accepted, in bytes (at least 64).
    pub max_line: usize,
    /// Ctrl-R's default directory; `None`: the current directory.
    pub record_dir: Option<PathBuf>,
    /// Mask secrets in recordings.
    pub redact: bool,
}

impl Settings {
    /// The engine's configuration for `target`.
    pub fn session_config(&self, target: Target) -> SessionConfig {
        SessionConfig {
            target,
            ehlo: self.ehlo.clone(),
            timeouts: self.timeouts,
            limits: Limits {
                max_line: self.max_line.max(64),
                ..Limits::default()
            },
            tls: ClientOptions {
                servername: self.servername.clone(),
                no_sni: self.no_sni,
                ca_files: self.ca_files.clone(),
                ca_pem: Vec::new(),
                ca_path: self.ca_path.clone(),
                no_system_roots: self.no_system_roots,
                client_cert: self.cert.clone(),
                client_key: self.key.clone(),
                tls_version: self.tls_version.clone(),
                alpn: self.alpn.clone(),
                strict: self.strict,
            },
            streaming: Some(crate::protocol::Streaming::default()),
            ip: self.ip,
        }
    }
}

/// `[profiles.NAME]`: a server (`url`) and the options used with it.
pub type Profile = Options;

impl Options {
    /// A profile's server URL.
    pub fn url(&self) -> Option<&str> {
        self.url.as_ref().map(|u| u.get_ref().as_str())
    }
}

/// A `[theme]` style: the spec as written and the parsed style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleSpec {
    pub text: String,
    pub style: ratatui::style::Style,
}

impl<'de> Deserialize<'de> for StyleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let style = theme::parse_style(&text).map_err(de::Error::custom)?;
        Ok(StyleSpec { text, style })
    }
}

/// `[theme]`: a built-in theme and per-field styles on top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeSection {
    /// `dark` (default), `light`, `high-contrast` or `monochrome`.
    #[serde(default, deserialize_with = "theme_name")]
    pub name: Option<String>,
    pub client: Option<StyleSpec>,
    pub server: Option<StyleSpec>,
    pub note: Option<StyleSpec>,
    pub warning: Option<StyleSpec>,
    pub error: Option<StyleSpec>,
    pub good: Option<StyleSpec>,
    pub tls: Option<StyleSpec>,
    pub dim: Option<StyleSpec>,
    pub label: Option<StyleSpec>,
    pub focus: Option<StyleSpec>,
    pub border: Option<StyleSpec>,
    pub selected: Option<StyleSpec>,
    pub added: Option<StyleSpec>,
    pub removed: Option<StyleSpec>,
    pub changed: Option<StyleSpec>,
    pub escaped: Option<StyleSpec>,
}

impl ThemeSection {
    /// The restyled fields, by [`theme::FIELDS`] name.
    pub fn styles(&self) -> Vec<(&'static str, &StyleSpec)> {
        let all = [
            ("client", &self.client),
            ("server", &self.server),
            ("note", &self.note),
            ("warning", &self.warning),
            ("error", &self.error),
            ("good", &self.good),
            ("tls", &self.tls),
            ("dim", &self.dim),
            ("label", &self.label),
            ("focus", &self.focus),
            ("border", &self.border),
            ("selected", &self.selected),
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
            ("escaped", &self.escaped),
        ];
        all.into_iter()
            .filter_map(|(n, s)| s.as_ref().map(|s| (n, s)))
            .collect()
    }

    /// The theme: `name_override` (`--theme`) or `name`, then the styles.
    /// `NO_COLOR` is applied later, by the terminal runner, and wins.
    pub fn theme(&self, name_override: Option<&str>) -> Theme {
        let name = name_override.or(self.name.as_deref()).unwrap_or("dark");
        let mut theme = Theme::named(name).unwrap_or_default();
        for (field, spec) in self.styles() {
            // Field names come from the struct above, all in theme::FIELDS.
            let _ = theme.set(field, spec.style);
        }
        theme
    }
}

/// One `[keys]` entry: keys for an action, or a scope's table of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    /// `starttls = "F5"` or `help = ["F10", "?"]` (empty: unbound).
    Keys(Vec<Key>),
    /// `[keys.panes]` with its entries.
    Scope(BTreeMap<String, Spanned<Vec<Key>>>),
}

/// Keys from one string or a list of strings.
struct KeyList(Vec<Key>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key such as \"F5\" or a list of keys")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<KeyList, E> {
                Key::parse(v).map(|k| KeyList(vec![k])).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    keys.push(Key::parse(&text).map_err(de::Error::custom)?);
                }
                Ok(KeyList(keys))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for KeyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key such as \"F5\", a list of keys, or a scope table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<KeyEntry, E> {
                Key::parse(v)
                    .map(|k| KeyEntry::Keys(vec![k]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<KeyEntry, A::Error> {
                let mut keys = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    keys.push(Key::parse(&text).map_err(de::Error::custom)?);
                }
                Ok(KeyEntry::Keys(keys))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<KeyEntry, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let keys: Spanned<KeyList> = map.next_value()?;
                    let span = keys.span();
                    out.insert(name, Spanned::new(span, keys.into_inner().0));
                }
                Ok(KeyEntry::Scope(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[defaults]`: for every session.
    #[serde(default)]
    pub defaults: Options,
    /// `[profiles.NAME]`.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// `[theme]`.
    #[serde(default)]
    pub theme: ThemeSection,
    /// `[keys]`, `[keys.SCOPE]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<KeyEntry>>,
}

/// Where the config comes from (`--config`, `--no-config`, or the XDG place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `--config FILE`: must exist.
    Given(PathBuf),
    /// `$XDG_CONFIG_HOME/mailwire/config.toml`: may be missing.
    Default(PathBuf),
    /// `--no-config`.
    Disabled,
}

impl Location {
    /// The location for `--config`/`--no-config` (`--no-config` wins).
    ///
    /// # Errors
    /// [`ConfigError::NoHome`] when the default place cannot be known.
    pub fn choose(given: Option<&Path>, no_config: bool) -> Result<Location> {
        if no_config {
            return Ok(Location::Disabled);
        }
        match given {
            Some(p) => Ok(Location::Given(p.to_path_buf())),
            None => default_path().map(Location::Default),
        }
    }

    /// The path, unless disabled.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Given(p) | Location::Default(p) => Some(p),
            Location::Disabled => None,
        }
    }
}

/// `$XDG_CONFIG_HOME/mailwire/config.toml`, else `~/.config/mailwire/config.toml`.
///
/// # Errors
/// [`ConfigError::NoHome`].
pub fn default_path() -> Result<PathBuf> {
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().map_err(|_| ConfigError::NoHome)?;
    Ok(base.config_dir().join("mailwire").join("config.toml"))
}

/// A loaded config: the file (empty when there is none) and where it was read.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    pub file: ConfigFile,
    /// The key bindings, already checked.
    pub keymap: Keymap,
}

impl Config {
    /// Reads and checks the config at `location`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], [`ConfigError::Parse`] (with line and column)
    /// or [`ConfigError::Keys`].
    pub fn load(location: &Location) -> Result<Config> {
        let path = match location {
            Location::Disabled => return Ok(Config::default()),
            Location::Default(p) if !p.exists() => return Ok(Config::default()),
            Location::Given(p) | Location::Default(p) => p,
        };
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.clone(),
            cause,
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text` as the file at `path` (for messages and relative paths).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut file: ConfigFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        file.defaults.anchor_paths(dir);
        for p in file.profiles.values_mut() {
            p.anchor_paths(dir);
        }
        if let Some(url) = &file.defaults.url {
            let (line, column) = line_col(text, url.span().start);
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: "url belongs in a [profiles.NAME] table, not in [defaults]".into(),
            });
        }
        let rebinds = rebinds(&file.keys, text, path)?;
        let keymap = Keymap::rebind(&rebinds).map_err(ConfigError::Keys)?;
        Ok(Config {
            path: Some(path.to_path_buf()),
            file,
            keymap,
        })
    }

    /// The profile `name`.
    ///
    /// # Errors
    /// [`ConfigError::NoProfile`] listing the profiles there are.
    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.file
            .profiles
            .get(name)
            .ok_or_else(|| ConfigError::NoProfile {
                name: name.to_string(),
                where_: self.path.as_ref().map_or_else(
                    || "the config (none loaded)".into(),
                    |p| p.display().to_string(),
                ),
                known: self.file.profiles.keys().cloned().collect(),
            })
    }

    /// The layers below the command line and environment: the profile's
    /// options over `[defaults]`.
    pub fn lower_layers(&self, profile: Option<&Profile>) -> Options {
        match profile {
            Some(p) => p.over(&self.file.defaults),
            None => self.file.defaults.clone(),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The `[keys]` tables as keymap changes, each with `FILE:LINE:COL`.
fn rebinds(
    keys: &BTreeMap<String, Spanned<KeyEntry>>,
    text: &str,
    path: &Path,
) -> Result<Vec<Rebind>> {
    let at = |span: std::ops::Range<usize>| {
        let (line, column) = line_col(text, span.start);
        (format!("{}:{line}:{column}", path.display()), line, column)
    };
    let unknown = |name: &str, span: std::ops::Range<usize>, what: &str| {
        let (_, line, column) = at(span);
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: what.replace("{}", name),
        }
    };
    let actions = Action::NAMED
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Vec::new();
    // Sorted by position, so conflicts are reported in file order.
    let mut entries: Vec<_> = keys.iter().collect();
    entries.sort_by_key(|(_, v)| v.span().start);
    for (name, entry) in entries {
        match entry.get_ref() {
            KeyEntry::Keys(list) => {
                let action = Action::from_name(name).ok_or_else(|| {
                    unknown(
                        name,
                        entry.span(),
                        &format!("unknown action \"{{}}\" in [keys]; actions: {actions}; scopes: global, input, panes, help, cert_detail, confirm"),
                    )
                })?;
                out.push(Rebind {
                    scope: None,
                    action,
                    keys: list.clone(),
                    origin: at(entry.span()).0,
                });
            }
            KeyEntry::Scope(table) => {
                let scope = Scope::from_name(name).ok_or_else(|| {
                    unknown(
                        name,
                        entry.span(),
                        "unknown scope [keys.{}]; scopes: global, input, panes, help, cert_detail, confirm",
                    )
                })?;
                let mut items: Vec<_> = table.iter().collect();
                items.sort_by_key(|(_, v)| v.span().start);
                for (action_name, list) in items {
                    let action = Action::from_name(action_name).ok_or_else(|| {
                        unknown(
                            action_name,
                            list.span(),
                            &format!(
                                "unknown action \"{{}}\" in [keys.{name}]; actions: {actions}"
                            ),
                        )
                    })?;
                    out.push(Rebind {
                        scope: Some(scope),
                        action,
                        keys: list.get_ref().clone(),
                        origin: at(list.span()).0,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn one_or_many<'de, D, T>(d: D) -> std::result::Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(Some(match OneOrMany::<T>::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    }))
}

fn tls_version<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    match v.as_str() {
        "1.2" | "1.3" => Ok(Some(v)),
        _ => Err(de::Error::custom(format!(
            "tls-version {v:?}: only \"1.2\" or \"1.3\" (leave it out for both)"
        ))),
    }
}

fn ip_version<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<IpVersion>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = IpVersion;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("4, 6 or \"any\"")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<IpVersion, E> {
            match v {
                4 => Ok(IpVersion::V4),
                6 => Ok(IpVersion::V6),
                _ => Err(E::custom(format!("ip = {v}: use 4, 6 or \"any\""))),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<IpVersion, E> {
            match v {
                "any" => Ok(IpVersion::Any),
                "4" | "ipv4" => Ok(IpVersion::V4),
                "6" | "ipv6" => Ok(IpVersion::V6),
                _ => Err(E::custom(format!("ip = {v:?}: use 4, 6 or \"any\""))),
            }
        }
    }
    d.deserialize_any(V).map(Some)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Duration>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds (1500) or a duration with a unit (\"30s\")")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Duration, E> {
            u64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| E::custom(format!("{v}: a timeout must be longer than zero")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Duration, E> {
            parse_duration(v).map_err(E::custom)
        }
    }
    d.deserialize_any(V).map(Some)
}

fn theme_name<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    if theme::NAMES.contains(&v.as_str()) {
        Ok(Some(v))
    } else {
        Err(de::Error::custom(format!(
            "unknown theme {v:?}; built in: {}",
            theme::NAMES.join(", ")
        )))
    }
}

/// The template `config init` writes: [`EXAMPLE`] with every setting
/// commented out, so the file changes nothing until edited.
pub fn template() -> String {
    let mut out = String::new();
    for line in EXAMPLE.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str("# ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Writes [`template`] to `path` (parent directories created).
///
/// # Errors
/// [`ConfigError::Exists`] unless `force`, or [`ConfigError::Write`].
pub fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(ConfigError::Exists(path.to_path_buf()));
    }
    let write = |cause| ConfigError::Write {
        path: path.to_path_buf(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    std::fs::write(path, template()).map_err(write)
}

/// Where one option's effective value came from, for `config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--timeout`.
    Flag(String),
    /// An environment variable, e.g. `MAILWIRE_TIMEOUT`.
    Env(String),
    /// `[profiles.NAME]`.
    Profile(String),
    /// `[defaults]` of the file.
    File(PathBuf),
    /// Built in.
    BuiltIn,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "command line {flag}"),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::Profile(name) => write!(f, "profile {name}"),
            Source::File(path) => write!(f, "{} [defaults]", path.display()),
            Source::BuiltIn => f.write_str("built in"),
        }
    }
}

/// What `config show` prints: the effective options (TOML, each with its
/// source), the profile's URL, the theme and every key binding.
///
/// `top` is the command line and environment together; `top_source` tells
/// which of the two set an option (by [`OPTION_KEYS`] name).
pub fn show(
    config: &Config,
    profile: Option<(&str, &Profile)>,
    top: &Options,
    top_source: &dyn Fn(&str) -> Option<Source>,
    theme_name: Option<&str>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# config file: {}",
        config
            .path
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string())
    );
    let _ = writeln!(
        out,
        "# precedence: command line > environment (MAILWIRE_*) > profile > [defaults] > built in"
    );
    let profile_opts = profile.map(|(_, p)| p);
    let file_opts = &config.file.defaults;
    let built_in = Options::built_in();
    if let Some((name, p)) = profile {
        let _ = writeln!(out, "# profile: {name}");
        if let Some(url) = p.url() {
            let _ = writeln!(out, "url = {}  # profile {name}", toml_string(url));
        }
    }
    for key in OPTION_KEYS {
        let found = if let Some(v) = top.value(key) {
            Some((
                v,
                top_source(key).unwrap_or(Source::Flag(format!("--{key}"))),
            ))
        } else if let Some(v) = profile_opts.and_then(|o| o.value(key)) {
            Some((
                v,
                Source::Profile(profile.map(|(n, _)| n.to_string()).unwrap_or_default()),
            ))
        } else if let Some(v) = file_opts.value(key) {
            Some((v, Source::File(config.path.clone().unwrap_or_default())))
        } else {
            built_in.value(key).map(|v| (v, Source::BuiltIn))
        };
        match found {
            Some((value, source)) => {
                let _ = writeln!(out, "{key} = {value}  # {source}");
            }
            None => {
                let what = match *key {
                    "ehlo" => "this host's FQDN, else an address literal",
                    "servername" => "the URL's host",
                    "tls-version" => "TLS 1.2 and 1.3",
                    "record-dir" => "the current directory",
                    _ => "unset",
                };
                let _ = writeln!(out, "# {key}: not set ({what})");
            }
        }
    }
    let theme_source = match (theme_name, &config.file.theme.name) {
        (Some(n), _) => format!("{}  # --theme or MAILWIRE_THEME", toml_string(n)),
        (None, Some(n)) => format!("{}  # config file", toml_string(n)),
        (None, None) => "\"dark\"  # built in".to_string(),
    };
    let _ = writeln!(out, "\n[theme]\nname = {theme_source}");
    for (field, spec) in config.file.theme.styles() {
        let _ = writeln!(out, "{field} = {}", toml_string(&spec.text));
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        let _ = writeln!(
            out,
            "# NO_COLOR is set: the TUI is monochrome whatever the theme says"
        );
    }
    for scope in Scope::ALL {
        let _ = writeln!(out, "\n[keys.{}]", scope.name());
        let mut seen: Vec<Action> = Vec::new();
        for b in config.keymap.bindings(scope) {
            if seen.contains(&b.action) {
                continue;
            }
            seen.push(b.action);
            let keys: Vec<String> = config
                .keymap
                .bindings(scope)
                .filter(|o| o.action == b.action)
                .map(|o| o.key.name())
                .collect();
            if let Some(name) = b.action.name() {
                let _ = writeln!(out, "{name} = {}", toml_list(keys.into_iter()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/etc/mw/config.toml"))
    }

    #[test]
    fn durations_take_milliseconds_or_a_unit() {
        assert_eq!(parse_duration("1500"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("\"soon\""));
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After "bé " (4 bytes, 3 characters).
        assert_eq!(line_col(text, 10), (2, 4));
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let err = parse("[defaults]\nehlo = \"a\"\ntimeout = = 3\n").unwrap_err();
        let ConfigError::Parse { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 11), "{err}");
        assert!(
            err.to_string().starts_with("/etc/mw/config.toml:3:11: "),
            "{err}"
        );
    }

    #[test]
    fn bad_values_point_at_the_value() {
        for (text, line, col, needle) in [
            ("[defaults]\ntimeout = \"soon\"\n", 2, 11, "\"soon\""),
            ("[defaults]\ntls-version = \"1.1\"\n", 2, 15, "1.2"),
            ("[defaults]\nip = 5\n", 2, 6, "4, 6"),
            ("[defaults]\nehlo = \"a\"\nbogus = 1\n", 3, 1, "bogus"),
            ("[theme]\nname = \"solarized\"\n", 2, 8, "light"),
            ("[theme]\nerror = \"bold chartreuse\"\n", 2, 9, "chartreuse"),
            ("[keys]\nstarttls = \"Ctrl-Alt-x\"\n", 2, 12, "AltGr"),
            ("[keys]\nteleport = \"F5\"\n", 2, 12, "teleport"),
            ("[keys.sidebar]\nhelp = \"F5\"\n", 1, 1, "sidebar"),
            (
                "[profiles.a]\nurl = \"smtp://h\"\ntimeout = \"soon\"\n",
                3,
                11,
                "\"soon\"",
            ),
            ("[profiles.a]\nurls = \"smtp://h\"\n", 2, 1, "urls"),
            ("[defaults]\nurl = \"smtp://h\"\n", 2, 7, "profiles"),
        ] {
            let err = parse(text).unwrap_err();
            let ConfigError::Parse {
                line: l,
                column: c,
                message,
                ..
            } = &err
            else {
                panic!("{text}: {err:?}")
            };
            assert_eq!((*l, *c), (line, col), "{text}: {err}");
            assert!(message.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn precedence_flag_over_env_over_profile_over_file_over_built_in() {
        let config = parse(
            "[defaults]\nehlo = \"file.example\"\ntimeout = \"40s\"\ntls-version = \"1.2\"\nmax-line = 4096\nconnect-timeout = 7000\n\
             [profiles.mx]\nurl = \"smtp://mx.example\"\nehlo = \"profile.example\"\ntimeout = \"50s\"\nmax-line = 8192\n",
        )
        .unwrap();
        let profile = config.profile("mx").unwrap();
        let lower = config.lower_layers(Some(profile));
        // File only: no profile, nothing on top.
        let s = config.lower_layers(None).settings();
        assert_eq!(s.ehlo.as_deref(), Some("file.example"));
        assert_eq!(s.timeouts.response, Duration::from_secs(40));
        assert_eq!(s.max_line, 4096);
        assert_eq!(s.timeouts.connect, Duration::from_millis(7000));
        assert_eq!(s.timeouts.handshake, Timeouts::default().handshake);
        // Profile over file.
        let s = lower.settings();
        assert_eq!(s.ehlo.as_deref(), Some("profile.example"));
        assert_eq!(s.timeouts.response, Duration::from_secs(50));
        assert_eq!(s.max_line, 8192);
        assert_eq!(s.tls_version.as_deref(), Some("1.2"));
        // Command line (or environment) over profile.
        let top = Options {
            ehlo: Some("flag.example".into()),
            timeout: Some(Duration::from_secs(60)),
            tls_version: Some("1.3".into()),
            ..Options::default()
        };
        let s = top.over(&lower).settings();
        assert_eq!(s.ehlo.as_deref(), Some("flag.example"));
        assert_eq!(s.timeouts.response, Duration::from_secs(60));
        assert_eq!(s.tls_version.as_deref(), Some("1.3"));
        assert_eq!(s.max_line, 8192);
        assert!(s.redact);
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let config = parse(
            "[defaults]\nca-file = \"lab.pem\"\nrecord-dir = \"/var/rec\"\n[profiles.a]\nca-file = [\"a.pem\", \"/abs/b.pem\"]\n",
        )
        .unwrap();
        assert_eq!(
            config.file.defaults.ca_file,
            Some(vec![PathBuf::from("/etc/mw/lab.pem")])
        );
        assert_eq!(
            config.file.defaults.record_dir,
            Some(PathBuf::from("/var/rec"))
        );
        assert_eq!(
            config.file.profiles["a"].ca_file,
            Some(vec![
                PathBuf::from("/etc/mw/a.pem"),
                PathBuf::from("/abs/b.pem")
            ])
        );
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let config = parse("[profiles.a]\n[profiles.b]\n").unwrap();
        let err = config.profile("c").unwrap_err().to_string();
        assert!(
            err.contains("\"c\"") && err.contains("profiles: a, b"),
            "{err}"
        );
    }

    #[test]
    fn keys_rebind_and_conflicts_name_the_line() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let config =
            parse("[keys]\nstarttls = \"F5\"\n[keys.panes]\nsave_chain = [\"s\", \"w\"]\n")
                .unwrap();
        let f5 = KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE);
        assert_eq!(
            config.keymap.lookup(Scope::Input, f5),
            Some(Action::StartTls)
        );
        let ctrl_t = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL);
        assert_eq!(config.keymap.lookup(Scope::Input, ctrl_t), None);
        let w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE);
        assert_eq!(
            config.keymap.lookup(Scope::Panes, w),
            Some(Action::SaveChain)
        );
        assert_eq!(config.keymap.hint(Scope::Input, Action::StartTls), "F5");

        // Ctrl-R is toggle_recording's built-in key.
        let err = parse("[defaults]\n\n[keys]\nstarttls = \"Ctrl-R\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/mw/config.toml:4:12: Ctrl-R is bound to both starttls"),
            "{text}"
        );
        assert!(text.contains("toggle_recording (built in)"), "{text}");
        // A plain letter among the global keys would stop being typed.
        let err = parse("[keys]\nhelp = \"h\"\n").unwrap_err().to_string();
        assert!(
            err.contains("config.toml:2:8") && err.contains("typed"),
            "{err}"
        );
        // Two config lines on one key: reported once, at the later line.
        let err = parse("[keys]\nstep = \"F9\"\ndone = \"F9\"\n").unwrap_err();
        let ConfigError::Keys(list) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(list.len(), 1, "{err}");
        assert!(list[0].origin.ends_with(":3:8"), "{err}");
        // A scope key hiding a global one.
        let err = parse("[keys.panes]\nsave_chain = \"F8\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("hides"), "{err}");
        // No way left to quit.
        let err = parse("[keys]\nquit = []\n").unwrap_err().to_string();
        assert!(
            err.contains("quit has no key left") && err.contains(":2:8"),
            "{err}"
        );
    }

    #[test]
    fn theme_from_name_and_fields() {
        let config =
            parse("[theme]\nname = \"light\"\nerror = \"bold white on #c00000\"\n").unwrap();
        let theme = config.file.theme.theme(None);
        assert_eq!(theme.client, Theme::light().client);
        assert_eq!(
            theme.error,
            theme::parse_style("bold white on #c00000").unwrap()
        );
        assert_eq!(
            config.file.theme.theme(Some("high-contrast")).client,
            Theme::high_contrast().client
        );
        assert_eq!(ThemeSection::default().theme(None), Theme::colour());
    }

    #[test]
    fn example_parses_and_sets_every_option_and_the_template_changes_nothing() {
        let config = parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        for key in OPTION_KEYS {
            assert!(
                config.file.defaults.has(key),
                "the example's [defaults] lacks {key}"
            );
        }
        assert!(!config.file.profiles.is_empty());
        assert!(config.file.theme.name.is_some());
        assert!(!config.file.keys.is_empty());
        let empty = parse(&template()).unwrap();
        assert_eq!(empty.file.defaults, Options::default());
        assert!(empty.file.profiles.is_empty() && empty.file.keys.is_empty());
        assert_eq!(empty.keymap, Keymap::default());
    }
}
