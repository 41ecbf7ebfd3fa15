//! The fuzz targets' checks (`fuzz/src/targets.rs`) as regular tests on
//! stable Rust: every seed in `fuzz/seeds/TARGET/` and every input a fuzzer
//! once failed on, kept in `fuzz/regressions/TARGET/`, must pass them. For
//! the three response parsers each seed is also cut at every single point
//! (STYLE.md: test every split point), not only where the seed says.
//!
//! A new crash found by `cargo fuzz run` goes into `fuzz/regressions/` (and
//! a unit test next to the code it fixes), so it is checked by `cargo test`
//! from then on. See ROBUSTNESS.md.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_checks;

use std::path::Path;

use fuzz_checks::targets;
use test_case::test_case;

/// Files of `fuzz/DIR/TARGET`, sorted; none when the directory is absent.
fn files(dir: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test_case("smtp_reply", targets::smtp_reply ; "smtp_reply")]
#[test_case("imap_response", targets::imap_response ; "imap_response")]
#[test_case("pop3_response", targets::pop3_response ; "pop3_response")]
#[test_case("chain_report", targets::chain_report ; "chain_report")]
#[test_case("recording", targets::recording ; "recording")]
#[test_case("target_url", targets::target_url ; "target_url")]
#[test_case("client_command", targets::client_command ; "client_command")]
#[test_case("dialogue", targets::dialogue ; "dialogue")]
fn seeds_and_regressions_pass_the_fuzz_checks(target: &str, check: fn(&[u8])) {
    let seeds = files("seeds", target);
    assert!(seeds.len() >= 8, "{target}: only {} seeds", seeds.len());
    for (name, data) in seeds.iter().chain(&files("regressions", target)) {
        let run = std::panic::catch_unwind(|| check(data));
        assert!(run.is_ok(), "{target}: {name} fails the check");
    }
}

/// Header length of a parser seed: `[limits]` (and POP3's `[u16 mask]`),
/// `[n]`, n × u16 cut offsets.
fn header_len(data: &[u8], before_n: usize) -> usize {
    let n = usize::from(data.get(before_n).copied().unwrap_or(0) % 8);
    (before_n + 1 + 2 * n).min(data.len())
}

#[test_case("smtp_reply", targets::smtp_reply, 1 ; "smtp_reply")]
#[test_case("imap_response", targets::imap_response, 1 ; "imap_response")]
#[test_case("pop3_response", targets::pop3_response, 3 ; "pop3_response")]
fn parser_seeds_cut_at_every_point_parse_as_whole(target: &str, check: fn(&[u8]), before_n: usize) {
    let mut cuts = 0;
    for (name, data) in files("seeds", target) {
        let header = header_len(&data, before_n);
        let body = &data[header..];
        for k in 0..=body.len() {
            let k = u16::try_from(k).expect("seeds are under 64 KiB");
            // Same limits (and POP3 mask), one cut at k.
            let mut input = data[..before_n].to_vec();
            input.push(1);
            input.extend_from_slice(&k.to_be_bytes());
            input.extend_from_slice(body);
            let run = std::panic::catch_unwind(|| check(&input));
            assert!(run.is_ok(), "{target}: {name} cut at {k}");
            cuts += 1;
        }
    }
    assert!(cuts > 1000, "{target}: only {cuts} cuts checked");
}
