//! `mailwire check` against real Dovecot and Postfix: the good chain on
//! every protocol and port, then each broken leaf; then the TUI end to end
//! (tmux) against real Postfix SMTP and Dovecot IMAP. One test function so
//! the servers are started once and stopped at the end; it runs while
//! decoys hold the harness's former fixed ports (10025, 10143, ...) and while
//! a second copy of the harness runs beside it
//! (`two_copies_of_the_harness_run_side_by_side`), since every run picks its
//! own free ports.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::realservers::{self as rs, RealServers, Set};
use common::record::{assert_round_trip, record_session};
use common::scan_compare::scan_matches_openssl;
use common::tmux::{self, Tmux};
use common::{json, mailwire};
use mailwire::session::SessionConfig;
use mailwire::target::Target;

fn check(url: &str, ca: &str) -> (i32, serde_json::Value) {
    let out = mailwire(&[
        "check",
        url,
        "--json",
        "--ca-file",
        ca,
        "--timeout",
        "10000",
    ]);
    (out.status.code().unwrap_or(-1), json(&out))
}

/// Records a STARTTLS session against real Dovecot (IMAP and POP3) and
/// loads it back: the same events as the engine emitted, byte for byte.
fn record_round_trip_against_dovecot(servers: &RealServers) {
    let ca = servers.ca();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["imap", "pop3"] {
        let url = servers.url(scheme);
        let mut config = SessionConfig::new(Target::parse(&url).unwrap());
        config.tls.ca_files.push(ca.into());
        let path = dir.path().join(format!("{scheme}.jsonl"));
        let events = runtime.block_on(record_session(config, &[], &path, false));
        assert!(events.len() > 5, "{url}: {events:?}");
        let rec = assert_round_trip(&path, &events);
        assert!(rec.last_chain().is_some(), "{url}: STARTTLS recorded");
    }
}

/// The ports the harness used before it picked its own (SMTP, submission,
/// SMTPS, IMAP, IMAPS, POP3, POP3S of the good set, and SMTP/IMAP of the
/// expired set).
const FORMER_DEFAULT_PORTS: [u16; 9] = [
    10025, 10587, 10465, 10143, 10993, 10110, 10995, 11025, 11143,
];

/// What a decoy says to whoever connects: a mail server that is not ours.
const DECOY_BANNER: &[u8] = b"220 decoy.invalid ESMTP another mail server\r\n";

/// Listeners on the former fixed ports of the harness, each answering like
/// some other SMTP server, for as long as the value lives. A port another
/// process already holds is left to it (it is just as much in the way).
struct Decoys {
    ports: Vec<u16>,
    _listeners: Vec<TcpListener>,
}

impl Decoys {
    fn start() -> Decoys {
        let mut ports = Vec::new();
        let mut listeners = Vec::new();
        for port in FORMER_DEFAULT_PORTS {
            let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) else {
                eprintln!("decoy: 127.0.0.1:{port} is already taken by another process");
                continue;
            };
            let accept = listener.try_clone().expect("clone listener");
            // Detached: it ends with the test process; every connection
            // gets the banner and is closed.
            std::thread::spawn(move || {
                for mut conn in accept.incoming().flatten() {
                    let _ = conn.write_all(DECOY_BANNER);
                }
            });
            ports.push(port);
            listeners.push(listener);
        }
        Decoys {
            ports,
            _listeners: listeners,
        }
    }

    /// True while `port` still answers as a decoy.
    fn answers(port: u16) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut got = vec![0; DECOY_BANNER.len()];
        conn.read_exact(&mut got).is_ok() && got == DECOY_BANNER
    }
}

#[test]
fn check_against_real_dovecot_and_postfix() {
    // Decoys first, so the harness has to find its way around them.
    let decoys = Decoys::start();
    let Some(servers) = RealServers::start() else {
        return;
    };
    let ca = servers.ca();
    let base = servers.base();
    assert!(
        !(base..base + 40).any(|p| FORMER_DEFAULT_PORTS.contains(&p)),
        "block {base}..{} overlaps the decoys",
        base + 40
    );
    record_round_trip_against_dovecot(&servers);

    // Good chain: leaf + intermediate, trusted with the test root, TLS 1.3.
    let good = [
        ("smtp", "upgraded"),
        ("submission", "upgraded"),
        ("smtps", "implicit"),
        ("imap", "upgraded"),
        ("imaps", "implicit"),
        ("pop3", "upgraded"),
        ("pop3s", "implicit"),
    ];
    for (scheme, starttls) in good {
        let url = servers.url(scheme);
        let (code, j) = check(&url, ca);
        assert_eq!(code, 0, "{url}: {j:#}");
        assert_eq!(j["tls"]["version"], "TLSv1.3", "{url}");
        assert_eq!(j["starttls"]["result"], starttls, "{url}");
        assert_eq!(j["verification"]["trusted"], true, "{url}");
        assert_eq!(j["verification"]["hostname_match"], true, "{url}");
        let chain = j["chain"].as_array().expect("chain");
        assert_eq!(chain.len(), 2, "{url}: leaf and intermediate");
        assert!(
            chain[0]["subject"]
                .as_str()
                .unwrap()
                .contains("CN=mail.test.example"),
            "{url}"
        );
        assert!(
            chain[1]["subject"]
                .as_str()
                .unwrap()
                .contains("Realservers Test Intermediate CA"),
            "{url}"
        );
        assert_eq!(chain[1]["is_ca"], true);
        assert!(
            !j["capabilities_after"].as_array().unwrap().is_empty(),
            "{url}: capabilities asked again"
        );
        if starttls == "upgraded" {
            assert_eq!(j["starttls"]["offered"], true, "{url}");
        }
    }

    // Postfix offers AUTH only after STARTTLS (smtpd_tls_auth_only).
    let (_, j) = check(&servers.url("smtp"), ca);
    let has_auth = |k: &str| {
        j[k].as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("AUTH"))
    };
    assert!(
        !has_auth("capabilities_before") && has_auth("capabilities_after"),
        "{j:#}"
    );

    // Broken leaves: exit 1, the right reason, and the chain still reported.
    let broken = [
        (Set::Expired, "expired", 2),
        (Set::SelfSigned, "self_signed", 1),
        (Set::WrongHost, "name_mismatch", 2),
        (Set::LeafOnly, "missing_intermediate", 1),
    ];
    for (set, error, certs) in broken {
        for scheme in ["smtp", "smtps", "imap", "imaps", "pop3", "pop3s"] {
            let port = servers.port(set, scheme);
            let url = format!("{scheme}://127.0.0.1:{port}");
            let (code, j) = check(&url, ca);
            assert_eq!(code, 1, "{url}: {j:#}");
            assert_eq!(j["verification"]["trusted"], false, "{url}");
            assert_eq!(j["verification"]["error"], error, "{url}: {j:#}");
            assert_eq!(j["chain"].as_array().unwrap().len(), certs, "{url}");
            assert_eq!(
                j["verification"]["hostname_match"],
                error != "name_mismatch",
                "{url}"
            );
        }
    }

    // check --scan: TLS 1.2 and 1.3 with suites and groups, as openssl s_client probes find.
    for (scheme, proto) in [("smtp", "smtp"), ("imap", "imap")] {
        let port = servers.port(Set::Good, scheme);
        let url = servers.url(scheme);
        let scan = scan_matches_openssl(&url, port, ca, Some(proto));
        for v in scan["versions"].as_array().unwrap() {
            assert_eq!(v["accepted"], true, "{url}: {v:#}");
            assert!(!v["cipher_suites"].as_array().unwrap().is_empty(), "{url}");
            assert!(!v["groups"].as_array().unwrap().is_empty(), "{url}");
        }
    }

    tui_starttls_against_real_postfix(&servers);
    tui_starttls_against_real_dovecot(&servers);
    client_replay_auth_login_against_real_postfix(&servers);
    for service in ["smtp", "imap", "pop3"] {
        tui_ctrl_t_first_upgrades_without_a_dialog(&servers, service);
    }
    tui_bare_auth_plain_answered_with_the_credentials_key(&servers);

    // The decoys were never disturbed: still there, still answering.
    for &port in &decoys.ports {
        assert!(Decoys::answers(port), "decoy on {port} gone");
    }
}

/// A second copy of the harness, started while the first one runs (tests in
/// one file run in parallel): its own directory, its own ports, both serve.
#[test]
fn two_copies_of_the_harness_run_side_by_side() {
    let Some(servers) = RealServers::start() else {
        return;
    };
    let ca = servers.ca();
    for scheme in ["smtp", "imap", "pop3s"] {
        let url = servers.url(scheme);
        let (code, j) = check(&url, ca);
        assert_eq!(code, 0, "{url}: {j:#}");
        assert_eq!(j["verification"]["trusted"], true, "{url}");
    }
    let dir = servers.dir.clone();
    drop(servers);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// A fixed base whose block is taken: start.sh refuses and names the
/// process holding the port (this test process), before starting anything.
#[test]
fn a_taken_port_is_reported_with_its_process() {
    if !rs::available() {
        return;
    }
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    // The held port is the good set's IMAP port (base + 2).
    let base = port - 2;
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/realservers/start.sh"
        ))
        .arg(dir.path())
        .env("REALSERVERS_NO_INSTALL", "1")
        .env("REALSERVERS_PORT_BASE", base.to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!("ports already in use: {port}")),
        "{err}"
    );
    let who = format!("127.0.0.1:{port} by ");
    let pid = format!("(pid {}: ", std::process::id());
    assert!(err.contains(&who) && err.contains(&pid), "{err}");
    assert!(
        !dir.path().join("postfix").exists() && !dir.path().join("dovecot").exists(),
        "nothing is started on a taken block"
    );
}

/// The TUI on real Postfix: EHLO, Ctrl-T, EHLO, QUIT; TLS 1.3 and the leaf
/// `CN=mail.test.example` on screen; the terminal restored after Ctrl-Q.
fn tui_starttls_against_real_postfix(servers: &RealServers) {
    if !tmux::available("TUI against real Postfix") {
        return;
    }
    let url = servers.url("smtp");
    let t = Tmux::mailwire("postfix", &[url.as_str(), "--ca-file", servers.ca()]);
    tmux::starttls_flow(&t, &tmux::SMTP, "mail.test.example");
}

/// Client replay of an AUTH LOGIN session against real Postfix: the
/// recording masks both SASL responses; `--secret user=... --secret
/// password=...` in plain form are encoded by mailwire and log in (235); a
/// wrong password is a difference (535, exit 1).
fn client_replay_auth_login_against_real_postfix(servers: &RealServers) {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ca = servers.ca();
    let url = servers.url("smtp");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-login.jsonl");
    let mut config = SessionConfig::new(Target::parse(&url).unwrap());
    config.tls.ca_files.push(ca.into());
    config.ehlo = Some("client.test".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (user, password) = (b64("alice"), b64("secret"));
    runtime.block_on(record_session(
        config,
        &["AUTH LOGIN", &user, &password],
        &path,
        true,
    ));
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(!file.contains(&user) && !file.contains(&password), "{file}");
    assert!(
        file.contains("235 "),
        "the recorded login succeeded: {file}"
    );
    let replay = |password: &str| {
        mailwire(&[
            "replay",
            path.to_str().unwrap(),
            "--against",
            &url,
            "--auto",
            "--ca-file",
            ca,
            "--timeout",
            "10000",
            "--secret",
            "user=alice",
            "--secret",
            &format!("password={password}"),
        ])
    };
    let out = replay("secret");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("TLS verdict: trusted"), "{stdout}");
    assert!(
        !stdout.contains("DIFF") && !stdout.contains("REFUSED"),
        "{stdout}"
    );
    let out = replay("wrong");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("535"), "{stdout}");
}

/// The TUI on real Dovecot: CAPABILITY, Ctrl-T, CAPABILITY, LOGOUT.
fn tui_starttls_against_real_dovecot(servers: &RealServers) {
    if !tmux::available("TUI against real Dovecot") {
        return;
    }
    let url = servers.url("imap");
    let t = Tmux::mailwire("dovecot", &[url.as_str(), "--ca-file", servers.ca()]);
    tmux::starttls_flow(&t, &tmux::IMAP, "mail.test.example");
}

/// Issue 12: Ctrl-T as the first key after the greeting asks the
/// capabilities when they are not known (EHLO, CAPA; Dovecot's IMAP
/// greeting carries them) and upgrades, each step in the transcript, no dialog.
fn tui_ctrl_t_first_upgrades_without_a_dialog(servers: &RealServers, service: &str) {
    if !tmux::available("Ctrl-T first against real servers") {
        return;
    }
    let url = servers.url(service);
    let t = Tmux::mailwire(
        &format!("ctrl-t-{service}"),
        &[url.as_str(), "--ca-file", servers.ca()],
    );
    let greeting = match service {
        "smtp" => "S <- 220 ",
        "imap" => "S <- * OK",
        _ => "S <- +OK",
    };
    t.wait_text(greeting);
    t.keys(&["C-t"]);
    let screen = t.wait_for("TLS up after one key", |s| {
        s.contains("TLS 1.3 established") && s.contains("│ TLS 1.3 │")
    });
    assert!(!screen.contains("not advertised"), "{screen}");
    assert!(!screen.contains("Send it anyway"), "{screen}");
    let asked = match service {
        "smtp" => Some("C -> EHLO "),
        "pop3" => Some("C -> CAPA"),
        // Dovecot's greeting lists the capabilities: STARTTLS at once.
        _ => None,
    };
    if let Some(asked) = asked {
        assert!(screen.contains(asked), "{screen}");
    }
    let verb = if service == "pop3" {
        "C -> STLS"
    } else {
        "STARTTLS"
    };
    assert!(
        screen
            .lines()
            .any(|l| l.contains("C -> ") && l.contains(verb.trim_start_matches("C -> "))),
        "{screen}"
    );
    t.quit_and_check_restored();
}

/// Issue 12: a bare `AUTH PLAIN` typed into the input line goes to Postfix
/// as typed; its `334` is answered with the credentials key (Ctrl-P), user
/// and password typed into a masked prompt; the login succeeds (235) and
/// neither the password nor its base64 is on screen or in the recording.
fn tui_bare_auth_plain_answered_with_the_credentials_key(servers: &RealServers) {
    if !tmux::available("AUTH PLAIN against real Postfix") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("auth.jsonl");
    let record_arg = record.to_str().unwrap().to_string();
    let url = servers.url("submission");
    let t = Tmux::mailwire(
        "auth-plain",
        &[
            url.as_str(),
            "--ca-file",
            servers.ca(),
            "--record",
            &record_arg,
        ],
    );
    t.wait_text("S <- 220 ");
    t.keys(&["C-t"]);
    t.wait_for("TLS up", |s| {
        s.contains("TLS 1.3 established") && s.contains("│ TLS 1.3 │")
    });
    // The plan's next step is EHLO again (RFC 3207 §4.2).
    t.keys(&["F8"]);
    t.wait_text("<~ 250 ");
    t.keys(&["AUTH PLAIN", "Enter"]);
    t.wait_text("C ~> AUTH PLAIN");
    t.wait_text("S <~ 334");
    t.keys(&["C-p"]);
    t.wait_text("user name (Enter)");
    t.keys(&["alice", "Enter"]);
    t.wait_text("password, masked");
    t.keys(&["secret"]);
    let typing = t.wait_text("******");
    assert!(!typing.contains("secret"), "{typing}");
    t.keys(&["Enter"]);
    let screen = t.wait_text("S <~ 235");
    // base64("\0alice\0secret")
    let b64 = "AGFsaWNlAHNlY3JldA";
    assert!(
        !screen.contains("secret") && !screen.contains(b64),
        "{screen}"
    );
    assert!(screen.contains("<redacted"), "{screen}");
    t.quit_and_check_restored();
    let recorded = std::fs::read_to_string(&record).unwrap();
    assert!(recorded.contains("235"), "the login is recorded");
    assert!(
        !recorded.contains(b64) && !recorded.contains("alice\\u0000secret"),
        "a secret in the recording"
    );
}

/// A run killed before its drop (SIGKILL, a crash) leaves its servers
/// running; the next start finds its directory, sees the owner is gone,
/// stops them and removes the directory.
#[test]
fn servers_of_a_killed_run_are_stopped_by_the_next() {
    if !rs::available() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix(rs::DIR_PREFIX)
        .tempdir()
        .unwrap()
        .keep();
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/realservers/start.sh"
        ))
        .arg(&dir)
        .env("REALSERVERS_NO_INSTALL", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let master: u32 = std::fs::read_to_string(dir.join("postfix/spool/pid/master.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{master}")).exists());
    // The owner: a process that has exited.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::write(dir.join("owner"), format!("{dead} 0")).unwrap();

    rs::sweep_stale();
    assert!(!dir.exists(), "{} still there", dir.display());
    let alive = std::fs::read_to_string(format!("/proc/{master}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    });
    assert!(!alive, "postfix master {master} still running");
}
