//! Targets named by curl-style URLs: `smtp://host[:25]`, `imaps://[::1]:993`, ...
//!
//! The scheme picks the protocol, the default port and whether TLS starts at
//! once (implicit TLS, RFC 8314 §3) or by STARTTLS/STLS (RFC 3207, RFC 2595).

use std::fmt;

/// The mail protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// SMTP, RFC 5321 (also submission, RFC 6409).
    Smtp,
    /// LMTP, RFC 2033: SMTP with LHLO instead of EHLO.
    Lmtp,
    /// IMAP4rev1/rev2, RFC 3501 / RFC 9051.
    Imap,
    /// POP3, RFC 1939.
    Pop3,
}

impl Protocol {
    /// Lower-case name as used in URLs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Lmtp => "lmtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How TLS starts on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plaintext first; TLS only after STARTTLS/STLS.
    Starttls,
    /// TLS from the first byte (RFC 8314 §3.3): smtps, imaps, pop3s.
    Implicit,
}

/// Which address family to connect over (`-4`/`-6`), like curl and
/// `openssl s_client`: a host name may resolve to both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpVersion {
    /// Every address the name resolves to, in the resolver's order.
    #[default]
    Any,
    /// IPv4 addresses only (`-4`).
    V4,
    /// IPv6 addresses only (`-6`).
    V6,
}

impl IpVersion {
    /// Whether a connection to `ip` is allowed.
    pub fn allows(self, ip: std::net::IpAddr) -> bool {
        match self {
            IpVersion::Any => true,
            IpVersion::V4 => ip.is_ipv4(),
            IpVersion::V6 => ip.is_ipv6(),
        }
    }

    /// `IPv4`, `IPv6` or `IP`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            IpVersion::Any => "IP",
            IpVersion::V4 => "IPv4",
            IpVersion::V6 => "IPv6",
        }
    }
}

/// Where to connect and what to speak.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    pub protocol: Protocol,
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    #[serde(skip)]
    pub tls: TlsMode,
    /// The URL scheme as given, e.g. `submission`.
    #[serde(skip)]
    pub scheme: &'static str,
}

/// Accepted schemes: (scheme, protocol, default port, TLS mode).
pub const SCHEMES: &[(&str, Protocol, u16, TlsMode)] = &[
    ("smtp", Protocol::Smtp, 25, TlsMode::Starttls),
    ("submission", Protocol::Smtp, 587, TlsMode::Starttls),
    ("smtps", Protocol::Smtp, 465, TlsMode::Implicit),
    ("lmtp", Protocol::Lmtp, 24, TlsMode::Starttls),
    ("imap", Protocol::Imap, 143, TlsMode::Starttls),
    ("imaps", Protocol::Imap, 993, TlsMode::Implicit),
    ("pop3", Protocol::Pop3, 110, TlsMode::Starttls),
    ("pop3s", Protocol::Pop3, 995, TlsMode::Implicit),
];

/// Errors for a URL that names no mail target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "invalid URL {url:?}: {reason}; accepted forms: smtp://host[:25], submission://host[:587], \
         smtps://host[:465], lmtp://host[:24], imap://host[:143], imaps://host[:993], \
         pop3://host[:110], pop3s://host[:995] (IPv6 as imap://[::1]:143)"
    )]
    Invalid { url: String, reason: String },
}

impl Target {
    /// Parses a curl-style URL. A path, query or user info is refused rather
    /// than silently dropped.
    ///
    /// # Errors
    /// [`TargetError::Invalid`] naming the URL and what is wrong with it.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let bad = |reason: &str| TargetError::Invalid {
            url: input.to_string(),
            reason: reason.to_string(),
        };
        if !input.contains("://") {
            return Err(bad("no scheme"));
        }
        let url = url::Url::parse(input).map_err(|e| bad(&e.to_string()))?;
        let &(scheme, protocol, default_port, tls) = SCHEMES
            .iter()
            .find(|(s, ..)| *s == url.scheme())
            .ok_or_else(|| bad(&format!("unknown scheme {:?}", url.scheme())))?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "user info is not accepted in the URL (credentials are typed in the session)",
            ));
        }
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
            return Err(bad("a path or query is not accepted"));
        }
        Ok(Target {
            protocol,
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            scheme,
        })
    }

    /// `host:port` with brackets around IPv6 addresses, for connecting and display.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme_with_default_port() {
        for &(scheme, protocol, port, tls) in SCHEMES {
            let t = Target::parse(&format!("{scheme}://mail.example.com")).expect("valid URL");
            assert_eq!(
                (t.protocol, t.port, t.tls, t.host.as_str()),
                (protocol, port, tls, "mail.example.com")
            );
        }
    }

    #[test]
    fn parses_ipv6_literal_and_port() {
        let t = Target::parse("imap://[::1]:10143").expect("valid URL");
        assert_eq!(t.host, "::1");
        assert_eq!(t.port, 10143);
        assert_eq!(t.authority(), "[::1]:10143");
        assert_eq!(t.to_string(), "imap://[::1]:10143");
    }

    #[test]
    fn explicit_port_overrides_default() {
        let t = Target::parse("smtps://127.0.0.1:10465/").expect("valid URL");
        assert_eq!((t.port, t.tls), (10465, TlsMode::Implicit));
    }

    #[test]
    fn rejects_bad_urls_naming_accepted_forms() {
        for bad in [
            "mail.example.com",
            "http://x",
            "imap://",
            "imap://u:p@host",
            "pop3://h/INBOX",
            "smtp://h:99999",
        ] {
            let err = Target::parse(bad)
                .expect_err("bad URL must be rejected")
                .to_string();
            assert!(
                err.contains("accepted forms: smtp://host[:25]"),
                "{bad}: {err}"
            );
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
