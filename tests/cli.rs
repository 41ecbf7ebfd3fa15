//! The command line as a user meets it: help text, usage errors and their
//! exit status (2), without any network.

mod common;

use common::mailwire;

#[test]
fn help_lists_the_commands() {
    let out = mailwire(&["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_help_documents_exit_relevant_flags() {
    let out = mailwire(&["check", "--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn bad_url_is_a_usage_error_naming_the_accepted_forms() {
    let out = mailwire(&["check", "http://mail.example.com"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown scheme \"http\""), "{err}");
    assert!(err.contains("imaps://host[:993]"), "{err}");
}

#[test]
fn unreadable_ca_file_is_a_usage_error() {
    let out = mailwire(&[
        "check",
        "smtp://127.0.0.1:9",
        "--ca-file",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read CA file /nonexistent/ca.pem")
    );
}

#[test]
fn unknown_tls_version_is_refused_by_clap() {
    let out = mailwire(&["check", "smtp://h", "--tls-version", "1.0"]);
    assert_eq!(out.status.code(), Some(2));
}
