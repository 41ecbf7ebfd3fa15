//! The URL parser (`target::Target::parse`) on arbitrary text: it accepts or
//! refuses, never panics, and what it accepts prints as a URL that parses
//! back to the same target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::target::Target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(target) = Target::parse(text) else {
        return;
    };
    let printed = target.to_string();
    let again = Target::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, target, "{text:?} printed as {printed:?}");
    let _ = target.authority();
});
