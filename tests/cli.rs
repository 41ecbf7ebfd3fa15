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

/// Whether `tool` runs here; prints SKIPPED (or panics when required) if not.
fn have(tool: &str, what: &str) -> bool {
    // OpenSSL 3 knows only `openssl version`.
    let flag = if tool == "openssl" {
        "version"
    } else {
        "--version"
    };
    let ok = std::process::Command::new(tool)
        .arg(flag)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("MAILWIRE_REQUIRE_REALSERVERS").is_ok_and(|v| v == "1") {
            panic!("{what}: {tool} is required (MAILWIRE_REQUIRE_REALSERVERS=1) but not installed");
        }
        eprintln!(
            "\n*** SKIPPED: {what}: {tool} is not installed (bash tests/realservers/install.sh) ***\n"
        );
    }
    ok
}

/// Runs `sh -c script` with `input` on stdin.
fn shell(script: &str, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait sh")
}

#[test]
fn check_json_usage_errors_are_json_with_exit_2() {
    for args in [
        vec!["check", "--json", "smtp://h", "--tls-version", "1.0"],
        vec!["check", "--json"],
        vec!["check", "--json", "smtp://h", "--frobnicate"],
        vec!["check", "--json", "http://mail.example.com"],
        vec!["check", "--json", "smtp://h", "--timeout", "soon"],
        vec![
            "check",
            "--json",
            "smtp://127.0.0.1:9",
            "--ca-file",
            "/nonexistent/ca.pem",
        ],
    ] {
        let out = mailwire(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v = common::json(&out);
        let error = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{args:?}: {v}"));
        assert!(!error.is_empty() && !error.contains('\n'), "{args:?}: {v}");
        assert_eq!(v["exit_code"], 2, "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = mailwire(&["check", "--json", "smtp://h", "--tls-version", "1.0"]);
    assert!(
        common::json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("'1.0'")
    );
    // Without --json the same error stays clap's text on stderr.
    let out = mailwire(&["check", "smtp://h", "--tls-version", "1.0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid value '1.0'"));
}

#[test]
fn help_accepts_help_and_names_commands() {
    let out = mailwire(&["help", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: mailwire help"));
    let out = mailwire(&["help", "check"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: mailwire check"), "{text}");
    assert!(text.contains("[env: MAILWIRE_TIMEOUT="), "{text}");
    let out = mailwire(&["help", "config", "show"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: mailwire config show"));
    let out = mailwire(&["help", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bash_completion_is_valid_and_completes_check() {
    if !have("bash", "bash completion test") {
        return;
    }
    let out = mailwire(&["completions", "bash"]);
    assert!(out.status.success());
    let syntax = shell("bash -n", &out.stdout);
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // Drive the completion function as bash does for `mailwire che<TAB>`.
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let driver = format!(
            "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_mailwire mailwire '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            script = script.path().display(),
            words = words.join(" "),
            cword = words.len() - 1,
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let out = shell("bash", driver.as_bytes());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(complete("mailwire che").trim(), "check");
    let shells = complete("mailwire completions ");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(shells.lines().any(|l| l == shell), "{shells}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = mailwire(&["completions", shell]);
        assert!(out.status.success() && out.stdout.len() > 500, "{shell}");
    }
}

#[test]
fn man_page_renders_without_warnings() {
    if !have("man", "man page test") {
        return;
    }
    for (args, needle) in [
        (vec!["man"], "MAILWIRE_TIMEOUT"),
        (vec!["man", "check"], "MAILWIRE_TIMEOUT"),
        (vec!["man", "config"], "mailwire-config-show(1)"),
    ] {
        let out = mailwire(&args);
        assert!(out.status.success(), "{args:?}");
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(
            page.starts_with(".ie \\n(.g .ds Aq"),
            "{args:?}: not roff: {page}"
        );
        // man-db with groff: warnings (bad requests, unbalanced fonts) go to stderr.
        let rendered = shell("MANWIDTH=80 man -l -", &out.stdout);
        assert!(rendered.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&rendered.stderr),
            "",
            "{args:?}: man -l warned"
        );
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(text.contains("NAME"), "{text}");
        assert!(text.contains(needle), "{args:?}: {text}");
    }
    let text =
        String::from_utf8_lossy(&shell("MANWIDTH=80 man -l -", &mailwire(&["man"]).stdout).stdout)
            .into_owned();
    assert!(text.contains("completions"), "{text}");
    assert!(mailwire(&["man", "nope"]).status.code() == Some(2));
}

#[test]
fn save_chain_dash_writes_pem_to_stdout() {
    if !have("openssl", "--save-chain - test") {
        return;
    }
    let out = mailwire(&["check", "--demo", "--save-chain", "-"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("-----BEGIN CERTIFICATE-----\n"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    // The report went to stderr, not into the PEM.
    assert!(String::from_utf8_lossy(&out.stderr).contains("STARTTLS"));
    let x509 = shell("openssl x509 -noout -subject -issuer", &out.stdout);
    assert!(
        x509.status.success(),
        "{}",
        String::from_utf8_lossy(&x509.stderr)
    );
    let subject = String::from_utf8_lossy(&x509.stdout);
    assert!(
        subject.contains("CN = localhost") || subject.contains("CN=localhost"),
        "{subject}"
    );
    // With --json both would share stdout: refused.
    let out = mailwire(&["check", "--demo", "--json", "--save-chain", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("--save-chain -")
    );
}

#[test]
fn a_private_key_or_request_as_ca_file_is_named() {
    let key = rcgen::KeyPair::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let params = rcgen::CertificateParams::new(vec!["mail.example".to_string()]).unwrap();
    let csr_path = dir.path().join("req.pem");
    std::fs::write(
        &csr_path,
        params.serialize_request(&key).unwrap().pem().unwrap(),
    )
    .unwrap();
    for (path, needle) in [
        (
            &key_path,
            "is a private key (BEGIN PRIVATE KEY), not a certificate",
        ),
        (
            &csr_path,
            "is a certificate signing request (BEGIN CERTIFICATE REQUEST)",
        ),
    ] {
        let out = mailwire(&[
            "check",
            "smtp://127.0.0.1:9",
            "--ca-file",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
}

#[test]
fn timeouts_take_units_and_ip_version_is_honoured() {
    // Durations with a unit reach the engine: a 200 ms response timeout
    // against a server that never greets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("smtp://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = mailwire(&[
        "check",
        &url,
        "--timeout",
        "200ms",
        "--connect-timeout",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("200 ms"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(listener);
    let out = mailwire(&["check", &url, "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("500ms"));
    // -6 on an IPv4-only address: no address to connect to (exit 3).
    let out = mailwire(&["check", "smtp://127.0.0.1:9", "-6"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no IPv6 address"), "{text}");
    let out = mailwire(&["check", "smtp://127.0.0.1:9", "-4", "-6"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serve_prints_one_url_per_listener() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["serve", "--no-config"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    for _ in 0..7 {
        urls.push(lines.next().unwrap().unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();
    let expected = [
        ("smtp", "STARTTLS"),
        ("submission", "STARTTLS"),
        ("smtps", "implicit TLS"),
        ("imap", "STARTTLS"),
        ("imaps", "implicit TLS"),
        ("pop3", "STLS"),
        ("pop3s", "implicit TLS"),
    ];
    for (line, (scheme, note)) in urls.iter().zip(expected) {
        let (url, rest) = line.split_once(' ').unwrap();
        assert!(url.starts_with(&format!("{scheme}://127.0.0.1:")), "{line}");
        assert!(mailwire::target::Target::parse(url).is_ok(), "{line}");
        assert_eq!(rest.trim(), note, "{line}");
    }
}
