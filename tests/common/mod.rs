//! Shared test helpers: the real-server harness and running the binary.
#![allow(dead_code)]

pub mod feed;
pub mod realservers;
pub mod record;
pub mod scan_compare;
pub mod tls;
pub mod tmux;

use std::process::{Command, Output};

/// Runs the built `mailwire` binary with `args`, bounded by `timeout_s`.
pub fn mailwire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mailwire")
}

/// Parses stdout of `check --json`.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
