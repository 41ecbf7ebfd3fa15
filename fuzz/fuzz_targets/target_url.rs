//! The URL parser (`target::Target::parse`) on arbitrary text: it accepts or
//! refuses, never panics, and what it accepts prints as a URL that parses
//! back to the same target.
//! The check itself is `mailwire_fuzz::targets::target_url`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::target_url(data));
