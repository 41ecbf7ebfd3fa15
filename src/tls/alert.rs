//! TLS alerts by number and IANA name (TLS Alerts registry, RFC 8446 §6,
//! RFC 5246 §7.2).
//!
//! ```text
//! rustls::Error::AlertReceived(desc) --+
//! plaintext alert record (15 03 0x ..) -+--> Alert { number } --> `70 protocol_version`
//!                                                   \--> explain::explain_alert: what it means, the fix
//! ```
//!
//! The names here are the registry's, stable for JSON; what an alert means
//! when a mail server sends it is the explain catalogue's (`tls.alert`), so
//! the TUI's explain pane and the reports say the same.

use std::fmt;

/// One TLS alert description (the second byte of an alert message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// The alert number as on the wire, e.g. 70.
    pub number: u8,
}

/// The IANA TLS Alerts registry: number and name.
const NAMES: &[(u8, &str)] = &[
    (0, "close_notify"),
    (10, "unexpected_message"),
    (20, "bad_record_mac"),
    (21, "decryption_failed"),
    (22, "record_overflow"),
    (30, "decompression_failure"),
    (40, "handshake_failure"),
    (41, "no_certificate"),
    (42, "bad_certificate"),
    (43, "unsupported_certificate"),
    (44, "certificate_revoked"),
    (45, "certificate_expired"),
    (46, "certificate_unknown"),
    (47, "illegal_parameter"),
    (48, "unknown_ca"),
    (49, "access_denied"),
    (50, "decode_error"),
    (51, "decrypt_error"),
    (52, "too_many_cids_requested"),
    (60, "export_restriction"),
    (70, "protocol_version"),
    (71, "insufficient_security"),
    (80, "internal_error"),
    (86, "inappropriate_fallback"),
    (90, "user_canceled"),
    (100, "no_renegotiation"),
    (109, "missing_extension"),
    (110, "unsupported_extension"),
    (111, "certificate_unobtainable"),
    (112, "unrecognized_name"),
    (113, "bad_certificate_status_response"),
    (114, "bad_certificate_hash_value"),
    (115, "unknown_psk_identity"),
    (116, "certificate_required"),
    (117, "general_error"),
    (120, "no_application_protocol"),
    (121, "ech_required"),
];

impl Alert {
    /// The alert with this number.
    pub fn new(number: u8) -> Alert {
        Alert { number }
    }

    /// IANA name, e.g. `protocol_version`; `unassigned` for numbers not in the registry.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(n, _)| *n == self.number)
            .map_or("unassigned", |(_, name)| name)
    }

    /// A few words on what it means, from the explain catalogue's entry
    /// (`no common TLS version` for 70).
    pub fn meaning(self) -> String {
        let e = crate::explain::explain_alert(self.number);
        // Titles read `TLS alert 70: protocol_version (no common TLS version)`.
        match (e.title.find(" ("), e.title.ends_with(')')) {
            (Some(open), true) => e.title[open + 2..e.title.len() - 1].to_string(),
            _ => "an alert number not in the IANA registry".into(),
        }
    }

    /// What it means when a mail server sends it and the usual fix (the
    /// explain catalogue's text), with its source.
    pub fn explanation(self) -> (String, String) {
        let e = crate::explain::explain_alert(self.number);
        (e.text, e.source)
    }

    /// The alert as rustls reports it (`AlertDescription`), mapped to its number.
    pub(crate) fn from_rustls(desc: rustls::AlertDescription) -> Alert {
        Alert::new(u8::from(desc))
    }
}

impl fmt::Display for Alert {
    /// `70 protocol_version`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_registry_and_the_catalogue() {
        assert_eq!(Alert::new(70).to_string(), "70 protocol_version");
        assert_eq!(Alert::new(70).meaning(), "no common TLS version");
        assert_eq!(Alert::new(112).name(), "unrecognized_name");
        assert_eq!(Alert::new(200).name(), "unassigned");
        assert_eq!(
            Alert::new(200).meaning(),
            "an alert number not in the IANA registry"
        );
        assert_eq!(
            Alert::from_rustls(rustls::AlertDescription::ProtocolVersion).number,
            70
        );
        let mut last = None;
        for (n, name) in NAMES {
            assert!(last < Some(*n), "sorted and unique at {n}");
            last = Some(*n);
            // The catalogue explains every registered alert, under the same name.
            let e = crate::explain::explain_alert(*n);
            assert!(
                e.title.starts_with(&format!("TLS alert {n}: {name} (")),
                "{}",
                e.title
            );
        }
    }
}
