//! `mailwire serve --replay FILE`: `mailwire check` against the replayed
//! server of a recorded STARTTLS session succeeds and shows the same steps.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{json, mailwire};
use test_case::test_case;

#[test_case("smtp" ; "smtp")]
#[test_case("imap" ; "imap")]
#[test_case("pop3" ; "pop3")]
fn check_against_serve_replay_shows_the_same_steps(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("r.jsonl");
    let ca = dir.path().join("root.pem");
    let original = mailwire(&[
        "check",
        "--demo",
        protocol,
        "--json",
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert_eq!(original.status.code(), Some(0));
    let original = json(&original);

    let mut server = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "serve",
            "--replay",
            rec.to_str().unwrap(),
            "--ca-out",
            ca.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    assert!(
        url.starts_with(&format!("{protocol}://127.0.0.1:")),
        "{url}"
    );

    let out = mailwire(&[
        "check",
        &url,
        "--json",
        "--ca-file",
        ca.to_str().unwrap(),
        "--servername",
        "localhost",
    ]);
    server.kill().unwrap();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let replayed = json(&out);
    assert_eq!(replayed["starttls"]["result"], "upgraded");
    for key in ["capabilities_before", "capabilities_after"] {
        assert_eq!(replayed[key], original[key], "{key}");
    }
    // The same steps: every line's direction and text, the port aside.
    let steps = |j: &serde_json::Value| -> Vec<String> {
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {}", s["direction"], s["text"]))
            .collect()
    };
    assert_eq!(steps(&replayed), steps(&original));
}
