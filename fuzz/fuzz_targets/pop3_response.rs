//! POP3 responses (RFC 1939 §3, RFC 2449): `pop3::parse_response` on
//! arbitrary bytes cut at arbitrary points gives the same responses as on the
//! whole buffer and never panics. Which responses are multi-line (the
//! command each one answers) is chosen by the input, per response, as the
//! engine's queue of expectations does.
//! The check itself is `mailwire_fuzz::targets::pop3_response`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::pop3_response(data));
