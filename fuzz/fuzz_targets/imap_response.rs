//! IMAP responses with literals (RFC 9051 §2.2, §4.3, §7): `imap::parse_response`
//! on arbitrary bytes cut at arbitrary points gives the same responses as on
//! the whole buffer and never panics; the capability, status, code and text
//! accessors accept whatever it produced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::protocol::imap;
use mailwire_fuzz::{Input, Outcome, assert_split_invariant, limits, splits};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let outcomes =
        assert_split_invariant(bytes, &cuts, |_, buf| imap::parse_response(buf, &limits));
    for outcome in outcomes {
        if let Outcome::Complete(response, _) = outcome {
            let _ = imap::capabilities(&response);
            let _ = response.tag();
            let _ = response.status();
            let _ = response.code();
            let _ = response.human_text();
        }
    }
});
