//! POP3 responses (RFC 1939 §3, RFC 2449): `pop3::parse_response` on
//! arbitrary bytes cut at arbitrary points gives the same responses as on the
//! whole buffer and never panics. Which responses are multi-line (the
//! command each one answers) is chosen by the input, per response, as the
//! engine's queue of expectations does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::protocol::pop3::{self, Expect};
use mailwire_fuzz::{Input, Outcome, assert_split_invariant, limits, splits};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let multi = input.u16();
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let expect = |i: usize| {
        if multi >> (i % 16) & 1 == 1 {
            Expect::MultiLine
        } else {
            Expect::Single
        }
    };
    let outcomes = assert_split_invariant(bytes, &cuts, |i, buf| {
        pop3::parse_response(buf, expect(i), &limits)
    });
    for outcome in outcomes {
        if let Outcome::Complete(response, raw) = outcome {
            let _ = pop3::capa(&response);
            let _ = response.is_ok();
            let _ = Expect::for_command(&String::from_utf8_lossy(&raw));
        }
    }
});
