//! SMTP replies (RFC 5321 §4.2): `smtp::parse_reply` on arbitrary bytes cut
//! at arbitrary points gives the same replies as on the whole buffer, never
//! panics, and the helpers over a parsed reply (EHLO keywords, enhanced
//! status code, text) accept whatever it produced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::protocol::smtp;
use mailwire_fuzz::{Input, Outcome, assert_split_invariant, limits, splits};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let outcomes = assert_split_invariant(bytes, &cuts, |_, buf| smtp::parse_reply(buf, &limits));
    for outcome in outcomes {
        if let Outcome::Complete(reply, raw) = outcome {
            assert!(!reply.lines.is_empty(), "a reply has a line: {raw:?}");
            let _ = smtp::ehlo_capabilities(&reply);
            let _ = reply.enhanced();
            let _ = reply.text();
            let _ = reply.code.class();
            let _ = smtp::command_verb(&raw);
        }
    }
});
