//! The recording loader (`replay::Recording::read`, format in
//! `docs/recording-format.md`) on arbitrary bytes: it returns a recording or
//! an error naming the line, never panics; every accessor and every export
//! format works on whatever it loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::replay::{self, Format, Recording};

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = Recording::read(data, "fuzz") else {
        return;
    };
    for i in 0..rec.len() {
        let _ = rec.event(i);
        let _ = rec.at(i);
        let _ = rec.is_redacted(i);
        let _ = rec.tls_in_force(i);
    }
    assert!(rec.event(rec.len()).is_none());
    let _ = rec.events().count();
    let _ = rec.last_chain();
    let _ = rec.warnings();
    for format in [Format::Text, Format::Json, Format::Pem] {
        for redact in [false, true] {
            let _ = replay::export(&rec, format, redact);
        }
    }
});
