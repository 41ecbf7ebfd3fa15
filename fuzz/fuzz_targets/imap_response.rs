//! IMAP responses with literals (RFC 9051 §2.2, §4.3, §7): `imap::parse_response`
//! on arbitrary bytes cut at arbitrary points gives the same responses as on
//! the whole buffer and never panics; the capability, status, code and text
//! accessors accept whatever it produced.
//! The check itself is `mailwire_fuzz::targets::imap_response`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::imap_response(data));
