//! The recording loader (`replay::Recording::read`, format in
//! `docs/recording-format.md`) on arbitrary bytes: it returns a recording or
//! an error naming the line, never panics; every accessor and every export
//! format works on whatever it loaded.
//! The check itself is `mailwire_fuzz::targets::recording`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::recording(data));
