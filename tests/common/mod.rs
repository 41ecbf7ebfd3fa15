//! Shared test helpers: the real-server harness and running the binary.
#![allow(dead_code)]

pub mod feed;
pub mod realservers;
pub mod record;
pub mod scan_compare;
pub mod script;
pub mod tls;
pub mod tmux;

use std::process::{Command, Output};

/// An `XDG_CONFIG_HOME` with no config file in it, so a developer's own
/// `~/.config/mailwire/config.toml` never changes a test.
pub const NO_CONFIG_HOME: &str = "/nonexistent/mailwire-tests-config";

/// Runs the built `mailwire` binary with `args`, away from any config file
/// in the home directory.
pub fn mailwire(args: &[&str]) -> Output {
    mailwire_env(args, &[])
}

/// [`mailwire`] with extra environment variables.
pub fn mailwire_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", NO_CONFIG_HOME)
        .envs(env.iter().copied())
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
