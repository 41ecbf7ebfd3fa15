//! The certificate report (`cert::ChainReport::from_der`) on arbitrary DER:
//! up to four certificates, any time, any name. It must never panic: a chain
//! a server sends is shown, however broken. The PEM and fingerprint helpers
//! run on the same bytes.
//! The check itself is `mailwire_fuzz::targets::chain_report`, shared with
//! `tests/fuzz_seeds.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailwire_fuzz::targets::chain_report(data));
