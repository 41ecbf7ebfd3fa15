//! The client-command parser (`protocol::command::parse`) on any line, for
//! each protocol, tagged and untagged: ranges within the line, secrets in
//! order, `redact` replacing exactly them, a planted credential never
//! surviving redaction.
//! The check itself is `mailwire_fuzz::targets::client_command`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::client_command(data));
