//! The checks behind each fuzz target, as plain functions over the fuzzer's
//! bytes, so `tests/fuzz_seeds.rs` in the main package runs the same checks
//! on the seeds and on every input a fuzzer once crashed on (stable Rust,
//! part of `cargo test`). Each panics when a property fails.

use mailwire::cert::{self, ChainReport};
use mailwire::protocol::pop3::{self, Expect};
use mailwire::protocol::{Defect, imap, smtp, sniff};
use mailwire::replay::{self, Format, Recording};
use mailwire::target::Target;

use super::{Input, Outcome, assert_split_invariant, limits, splits};

/// `fuzz_targets/smtp_reply.rs`: SMTP replies (RFC 5321 §4.2) in random
/// splits equal the whole; the helpers over a parsed reply (EHLO keywords,
/// enhanced status code, text) accept whatever the parser produced.
pub fn smtp_reply(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let _ = sniff(bytes);
    let outcomes = assert_split_invariant(bytes, &cuts, |_, buf| smtp::parse_reply(buf, &limits));
    for outcome in outcomes {
        if let Outcome::Complete(reply, raw) = outcome {
            assert!(!reply.lines.is_empty(), "a reply has a line: {raw:?}");
            for defect in &reply.defects {
                let (Defect::ControlBytes { line } | Defect::BareLf { line }) = *defect;
                assert!(line < reply.lines.len(), "{defect:?} of {raw:?}");
            }
            let _ = smtp::ehlo_capabilities(&reply);
            let _ = reply.enhanced();
            let _ = reply.text();
            let _ = reply.code.class();
            let _ = smtp::command_verb(&raw);
        }
    }
}

/// `fuzz_targets/imap_response.rs`: IMAP responses with literals (RFC 9051
/// §2.2, §4.3, §7) in random splits equal the whole; the capability,
/// status, code and text accessors accept whatever the parser produced.
pub fn imap_response(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let _ = sniff(bytes);
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
}

/// `fuzz_targets/pop3_response.rs`: POP3 responses (RFC 1939 §3, RFC 2449)
/// in random splits equal the whole. Which responses are multi-line (the
/// command each one answers) is chosen by the input, per response, as the
/// engine's queue of expectations does.
pub fn pop3_response(data: &[u8]) {
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
    let _ = sniff(bytes);
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
}

/// `fuzz_targets/chain_report.rs`: the certificate report on arbitrary DER
/// (up to four certificates, any time, any name) never panics and has one
/// row per certificate: a chain a server sends is shown, however broken.
///
/// ```text
/// [now: i64 BE][name len % 64][name][count % 5]([u16 BE len][DER])*[last DER: the rest]
/// ```
pub fn chain_report(data: &[u8]) {
    let mut input = Input::new(data);
    let now = input.i64();
    let name_len = usize::from(input.byte() % 64);
    let name = String::from_utf8_lossy(input.bytes(name_len)).into_owned();
    let count = input.byte() % 5;
    let mut chain = Vec::new();
    for i in 0..count {
        // The last certificate takes the rest, so a seed that is one whole
        // DER certificate needs no length in front.
        let der = if i + 1 == count {
            input.bytes(usize::MAX)
        } else {
            let len = usize::from(input.u16());
            input.bytes(len)
        };
        chain.push(der.to_vec());
    }
    let report = ChainReport::from_der(&chain, now, &name);
    assert_eq!(report.certs.len(), chain.len(), "one row per certificate");
    for der in &chain {
        let _ = cert::sha256_hex(der);
    }
    let _ = cert::rfc3339(now);
    let _ = cert::to_pem(&chain);
    if let Some(leaf) = report.leaf() {
        let _ = cert::name_matches(&leaf.sans, &name);
    }
    let _ = serde_json::to_string(&report);
}

/// `fuzz_targets/recording.rs`: the recording loader (format in
/// `docs/recording-format.md`) returns a recording or an error naming the
/// line, never panics; every accessor and export format works on whatever
/// it loaded.
pub fn recording(data: &[u8]) {
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
}

/// `fuzz_targets/target_url.rs`: the URL parser accepts or refuses, never
/// panics, and what it accepts prints as a URL that parses back to the same
/// target.
pub fn target_url(data: &[u8]) {
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
}
