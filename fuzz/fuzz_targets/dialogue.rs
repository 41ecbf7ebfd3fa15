//! The dialogue (`session::Dialogue`) fed random sequences of client and
//! server bytes, TLS events, injected bytes and closes: no panic, and a
//! credential sent in the commands or SASL phase stays masked in
//! `Entry::redacted()`.
//! The check itself is `mailwire_fuzz::targets::dialogue`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::dialogue(data));
