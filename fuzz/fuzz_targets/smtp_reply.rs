//! SMTP replies (RFC 5321 §4.2): `smtp::parse_reply` on arbitrary bytes cut
//! at arbitrary points gives the same replies as on the whole buffer, never
//! panics, and the helpers over a parsed reply (EHLO keywords, enhanced
//! status code, text) accept whatever it produced.
//! The check itself is `mailwire_fuzz::targets::smtp_reply`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::smtp_reply(data));
