//! The hostile-server suite (issue 14): `mailwire check` against a scripted
//! loopback server that misbehaves in one way per test. Each test asserts
//! that the child did not panic, exited with the expected code, reported
//! the finding that names the fault, stayed within a time bound, and that
//! its peak RSS stayed under [`MAX_RSS`].
//!
//! ```text
//! test ──spawn──> mailwire check --json --timeout 1s URL ──TCP──> script (thread)
//!   └── wait4(child) → that child's own ru_maxrss ≤ 64 MiB
//! ```
//!
//! RSS: `wait4` reaps the one child and returns its own peak resident set
//! size. (`getrusage(RUSAGE_CHILDREN)`, used before, reports the largest
//! peak of every child reaped so far, so one heavy child failed every test
//! that ran after it.)
//!
//! The table of faults (`FAULTS`) is also printed into ROBUSTNESS.md;
//! `the_table_in_robustness_md_matches` keeps the two equal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use test_case::test_case;
use wait4::Wait4;

/// Peak resident set size allowed to a `check` child, in bytes.
const MAX_RSS: u64 = 64 * 1024 * 1024;
/// Per-response timeout given to `check` (`--timeout`).
const TIMEOUT: &str = "1s";

/// One scripted fault.
struct Fault {
    name: &'static str,
    /// URL scheme: smtp, imap or pop3.
    scheme: &'static str,
    /// What the server does wrong, for the table.
    what: &'static str,
    /// The finding id `check` must report; empty when the fault is no
    /// finding of its own (the bytes are shown escaped, the session goes on).
    finding: &'static str,
    /// `check`'s exit status.
    exit: i32,
    /// Wall-time bound for the child, in seconds.
    secs: u64,
    script: fn(TcpStream),
}

const SMTP_GREETING: &[u8] = b"220 hostile.test ESMTP\r\n";
const STARTTLS_EHLO: &[u8] = b"250-hostile.test\r\n250 STARTTLS\r\n";

/// Reads one line (up to 4 KiB) from the client; empty on close or error.
fn line(s: &mut TcpStream) -> Vec<u8> {
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut buf = Vec::new();
    let _ = (&mut r).take(4096).read_until(b'\n', &mut buf);
    buf
}

/// Waits until the client closes (at most 10 s), reading what it sends.
fn drain(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// Resets the connection: SO_LINGER 0, then close sends RST, not FIN.
fn reset(s: TcpStream) {
    let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    drop(s);
}

/// Writes `chunk` again and again until `total` bytes or the client leaves.
fn flood(s: &mut TcpStream, chunk: &[u8], total: u64) {
    let mut sent = 0;
    while sent < total && s.write_all(chunk).is_ok() {
        sent += chunk.len() as u64;
    }
}

/// Greeting, EHLO offering STARTTLS, STARTTLS accepted with `reply`.
fn to_starttls(s: &mut TcpStream, reply: &[u8]) {
    let _ = s.write_all(SMTP_GREETING);
    line(s);
    let _ = s.write_all(STARTTLS_EHLO);
    line(s);
    let _ = s.write_all(reply);
}

/// A full SMTP session answering EHLO with `ehlo` and QUIT with 221.
fn smtp_with_ehlo(mut s: TcpStream, ehlo: &[u8]) {
    let _ = s.write_all(SMTP_GREETING);
    line(&mut s);
    let _ = s.write_all(ehlo);
    loop {
        let l = line(&mut s);
        if l.is_empty() {
            return;
        }
        if l.to_ascii_uppercase().starts_with(b"QUIT") {
            let _ = s.write_all(b"221 bye\r\n");
            return drain(s);
        }
        let _ = s.write_all(b"502 no\r\n");
    }
}

/// IMAP greeting, then `reply` to the first command.
fn imap_reply(mut s: TcpStream, reply: &[u8]) {
    let _ = s.write_all(b"* OK hostile.test IMAP4rev1 ready\r\n");
    line(&mut s);
    let _ = s.write_all(reply);
    drain(s);
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "binary_junk",
        scheme: "smtp",
        what: "binary junk instead of a greeting",
        finding: "junk_line",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"\x00\xff\x16\x03\x01\x80\xfe\x7f junk\r\n");
            drain(s)
        },
    },
    Fault {
        name: "no_crlf_ever",
        scheme: "smtp",
        what: "2 MiB without a line ending",
        finding: "line_too_long",
        exit: 3,
        secs: 5,
        script: |mut s| flood(&mut s, &[b'a'; 65536], 2 << 20),
    },
    Fault {
        name: "one_gib_line",
        scheme: "smtp",
        what: "a 1 GiB line (sent until the client leaves)",
        finding: "line_too_long",
        exit: 3,
        secs: 10,
        script: |mut s| {
            let _ = s.write_all(b"220 ");
            flood(&mut s, &[b'x'; 65536], 1 << 30)
        },
    },
    Fault {
        name: "endless_continuation",
        scheme: "smtp",
        what: "`220-` continuation lines without end",
        finding: "reply_too_large",
        exit: 3,
        secs: 10,
        script: |mut s| flood(&mut s, b"220-more and more\r\n", 1 << 30),
    },
    Fault {
        name: "slow_drip",
        scheme: "smtp",
        what: "greeting dripped at 1 byte per 300 ms",
        finding: "timeout",
        exit: 3,
        secs: 5,
        script: |mut s| {
            for b in SMTP_GREETING {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(300));
            }
        },
    },
    Fault {
        name: "silent",
        scheme: "smtp",
        what: "accepts, says nothing",
        finding: "timeout",
        exit: 3,
        secs: 5,
        script: drain,
    },
    Fault {
        name: "rst_mid_greeting",
        scheme: "smtp",
        what: "RST after half a multi-line greeting",
        finding: "read_failed",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"220-hostile.test\r\n220-wait");
            thread::sleep(Duration::from_millis(100));
            reset(s)
        },
    },
    Fault {
        name: "rst_mid_reply",
        scheme: "smtp",
        what: "RST in the middle of the EHLO reply",
        finding: "read_failed",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(SMTP_GREETING);
            line(&mut s);
            let _ = s.write_all(b"250-hostile.test\r\n250-PIPE");
            thread::sleep(Duration::from_millis(100));
            reset(s)
        },
    },
    Fault {
        name: "rst_mid_handshake",
        scheme: "smtp",
        what: "RST after reading the ClientHello",
        finding: "handshake_failed",
        exit: 1,
        secs: 5,
        script: |mut s| {
            to_starttls(&mut s, b"220 go ahead\r\n");
            let mut b = [0u8; 64];
            let _ = s.read(&mut b);
            reset(s)
        },
    },
    Fault {
        name: "rst_mid_literal",
        scheme: "imap",
        what: "RST inside an announced literal",
        finding: "read_failed",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"* OK ready\r\n");
            line(&mut s);
            let _ = s.write_all(b"* CAPABILITY {100}\r\nIMAP4rev1 ");
            thread::sleep(Duration::from_millis(100));
            reset(s)
        },
    },
    Fault {
        name: "fin_after_starttls_reply",
        scheme: "smtp",
        what: "FIN right after STARTTLS's 220",
        finding: "handshake_failed",
        exit: 1,
        secs: 5,
        script: |mut s| to_starttls(&mut s, b"220 go ahead\r\n"),
    },
    Fault {
        name: "clienthello_garbage",
        scheme: "smtp",
        what: "ClientHello answered with text",
        finding: "not_tls",
        exit: 1,
        secs: 5,
        script: |mut s| {
            to_starttls(&mut s, b"220 go ahead\r\n");
            let mut b = [0u8; 512];
            let _ = s.read(&mut b);
            let _ = s.write_all(b"500 what is this\r\n");
            drain(s)
        },
    },
    Fault {
        name: "http_on_smtp_port",
        scheme: "smtp",
        what: "an HTTP server",
        finding: "wrong_service",
        exit: 3,
        secs: 5,
        script: |mut s| {
            line(&mut s);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        },
    },
    Fault {
        name: "ssh_on_smtp_port",
        scheme: "smtp",
        what: "an SSH server",
        finding: "wrong_service",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
            drain(s)
        },
    },
    Fault {
        name: "tls_first_on_plain_port",
        scheme: "smtp",
        what: "an implicit-TLS service (waits for a ClientHello, then an alert)",
        finding: "timeout",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let mut b = [0u8; 512];
            let _ = s.read(&mut b);
            let _ = s.write_all(b"\x15\x03\x03\x00\x02\x02\x46");
            drain(s)
        },
    },
    Fault {
        name: "terminal_escapes",
        scheme: "smtp",
        what: "ESC sequences in the greeting",
        finding: "control_bytes",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all(b"220 \x1b]0;owned\x07\x1b[2J\x1b[31mhostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"250 hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
        },
    },
    Fault {
        name: "c1_and_bidi",
        scheme: "smtp",
        what: "C1 controls and U+202E in the greeting",
        finding: "control_bytes",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all("220 \u{9b}31m \u{202e}txet desrever\r\n".as_bytes());
            line(&mut s);
            let _ = s.write_all(b"250 hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
        },
    },
    Fault {
        name: "nul_bytes",
        scheme: "smtp",
        what: "NUL bytes in the greeting",
        finding: "control_bytes",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all(b"220 host\x00ile\x00\r\n");
            line(&mut s);
            let _ = s.write_all(b"250 hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
        },
    },
    Fault {
        name: "invalid_utf8",
        scheme: "smtp",
        what: "invalid UTF-8 in the greeting",
        finding: "invalid_utf8",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all(b"220 \xff\xfe\xc3( hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"250 hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
        },
    },
    Fault {
        name: "imap_literal_u64_overflow",
        scheme: "imap",
        what: "literal `{18446744073709551616}`",
        finding: "literal_too_large",
        exit: 3,
        secs: 5,
        script: |s| imap_reply(s, b"* CAPABILITY {18446744073709551616}\r\nIMAP4rev1\r\n"),
    },
    Fault {
        name: "imap_literal_2_40_short",
        scheme: "imap",
        what: "literal of 2^40 bytes with a 5-byte body",
        finding: "literal_too_large",
        exit: 3,
        secs: 5,
        script: |s| imap_reply(s, b"* CAPABILITY {1099511627776}\r\nshort"),
    },
    Fault {
        name: "literal_beyond_connection",
        scheme: "imap",
        what: "literal of 1000 bytes, 10 sent, then FIN",
        finding: "connection_closed",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"* OK ready\r\n");
            line(&mut s);
            let _ = s.write_all(b"* CAPABILITY {1000}\r\n0123456789");
        },
    },
    Fault {
        name: "unanswered_continuation",
        scheme: "imap",
        what: "`+` continuation requests nobody asked for, then silence",
        finding: "unsolicited_reply",
        exit: 3,
        secs: 5,
        script: |s| imap_reply(s, b"+ send more\r\n+ and more\r\n"),
    },
    Fault {
        name: "unsolicited_bye",
        scheme: "imap",
        what: "`* BYE` in answer to CAPABILITY",
        finding: "service_closing",
        exit: 3,
        secs: 5,
        script: |s| imap_reply(s, b"* BYE going away\r\n"),
    },
    Fault {
        name: "big_literal_in_answer",
        scheme: "imap",
        what: "CAPABILITY answered after a 256 MiB literal (an unsolicited FETCH)",
        finding: "starttls_not_advertised",
        exit: 1,
        secs: 10,
        script: |mut s| {
            let _ = s.write_all(b"* OK hostile.test IMAP4rev1 ready\r\n");
            let cmd = line(&mut s);
            let tag = cmd.split(|&b| b == b' ').next().unwrap_or(b"*").to_vec();
            let size: u64 = 256 << 20;
            let _ = s.write_all(format!("* 1 FETCH (BODY[] {{{size}}}\r\n").as_bytes());
            flood(&mut s, &[b'x'; 64 * 1024], size);
            let _ = s.write_all(b")\r\n* CAPABILITY IMAP4rev1\r\n");
            let _ = s.write_all(&tag);
            let _ = s.write_all(b" OK CAPABILITY completed\r\n");
            // LOGOUT, answered as RFC 9051 §6.1.3 says.
            let cmd = line(&mut s);
            let tag = cmd.split(|&b| b == b' ').next().unwrap_or(b"*").to_vec();
            let _ = s.write_all(b"* BYE logging out\r\n");
            let _ = s.write_all(&tag);
            let _ = s.write_all(b" OK LOGOUT completed\r\n");
            drain(s);
        },
    },
    Fault {
        name: "imap_unknown_tag",
        scheme: "imap",
        what: "a tagged reply with a tag never sent",
        finding: "unknown_tag",
        exit: 3,
        secs: 5,
        script: |s| imap_reply(s, b"zz99 OK CAPABILITY completed\r\n"),
    },
    Fault {
        name: "pop3_multiline_no_end",
        scheme: "pop3",
        what: "CAPA's multi-line answer never ends with `.`",
        finding: "reply_too_large",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"+OK ready\r\n");
            line(&mut s);
            let _ = s.write_all(b"+OK capa\r\n");
            flood(&mut s, b"USER\r\n", 1 << 30)
        },
    },
    Fault {
        name: "ehlo_10000_capabilities",
        scheme: "smtp",
        what: "an EHLO reply of 10,000 capability lines",
        finding: "starttls_not_advertised",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut ehlo = b"250-hostile.test\r\n".to_vec();
            for i in 0..9_999 {
                ehlo.extend_from_slice(
                    format!("250{}X-CAP-{i}\r\n", if i == 9_998 { ' ' } else { '-' }).as_bytes(),
                );
            }
            smtp_with_ehlo(s, &ehlo)
        },
    },
    Fault {
        name: "pipelined_early_replies",
        scheme: "smtp",
        what: "replies to commands not yet sent",
        finding: "unsolicited_reply",
        exit: 1,
        secs: 5,
        script: |s| smtp_with_ehlo(s, b"250 hostile.test\r\n250 extra\r\n250 and another\r\n"),
    },
    Fault {
        name: "starttls_injection",
        scheme: "smtp",
        what: "`220 go` and a plaintext reply in one write",
        finding: "starttls_injection",
        exit: 1,
        secs: 5,
        script: |mut s| {
            to_starttls(&mut s, b"220 go ahead\r\n250 injected\r\n");
            drain(s)
        },
    },
    Fault {
        name: "never_closes_after_quit",
        scheme: "smtp",
        what: "221 to QUIT, then keeps the connection open",
        finding: "no_close_after_quit",
        exit: 1,
        secs: 3,
        script: |s| smtp_with_ehlo(s, b"250 hostile.test\r\n"),
    },
    Fault {
        name: "unsolicited_reply_flood",
        scheme: "smtp",
        what: "EHLO's reply followed by 200,000 replies nobody asked for",
        finding: "unsolicited_reply",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut ehlo = b"250 hostile.test\r\n".to_vec();
            ehlo.extend(b"250 extra\r\n".repeat(200_000));
            smtp_with_ehlo(s, &ehlo)
        },
    },
    Fault {
        name: "flood_after_quit",
        scheme: "smtp",
        what: "221 to QUIT, then replies without end",
        finding: "no_close_after_quit",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all(SMTP_GREETING);
            line(&mut s);
            let _ = s.write_all(b"250 hostile.test\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
            flood(&mut s, &b"250 more\r\n".repeat(100), 1 << 30)
        },
    },
    Fault {
        name: "empty_line_flood",
        scheme: "smtp",
        what: "empty lines without end",
        finding: "empty_line",
        exit: 3,
        secs: 10,
        script: |mut s| flood(&mut s, b"\r\n", 1 << 30),
    },
    Fault {
        name: "bare_lf",
        scheme: "smtp",
        what: "greeting ended by a bare LF",
        finding: "bare_lf",
        exit: 1,
        secs: 5,
        script: |s| {
            let mut s = s;
            let _ = s.write_all(b"220 hostile.test\n");
            line(&mut s);
            let _ = s.write_all(b"250 hostile\r\n");
            line(&mut s);
            let _ = s.write_all(b"221 bye\r\n");
        },
    },
    Fault {
        name: "service_refused",
        scheme: "smtp",
        what: "554 greeting",
        finding: "service_refused",
        exit: 3,
        secs: 5,
        script: |mut s| {
            let _ = s.write_all(b"554 go away\r\n");
            drain(s)
        },
    },
];

/// What one run of `check` gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Peak resident set size of the child, in bytes.
    maxrss: u64,
}

/// One `check` child at a time: the time bounds assume the child is not
/// competing with a dozen others for the 2 cores of the CI machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Serves one connection with `script` and runs `check` against it.
fn run(fault: &Fault) -> Run {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let script = fault.script;
    let server = thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            script(s);
        }
    });
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["check", "--no-config", "--json", "--timeout", TIMEOUT])
        .args(["--connect-timeout", "1s", "--handshake-timeout", "1s"])
        .args(["--ehlo", "client.test"])
        .arg(format!("{}://127.0.0.1:{port}", fault.scheme))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mailwire");
    // Drain both pipes while waiting, so a chatty child never blocks on a
    // full pipe; wait4 then reaps it and gives its own resource usage.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let usage = child.wait4().expect("wait4");
    let elapsed = start.elapsed();
    let out_bytes = out_reader.join().expect("stdout reader");
    let err_bytes = err_reader.join().expect("stderr reader");
    // The server thread ends when the client is gone (bounded floods and drains).
    let _ = server.join();
    Run {
        code: usage.status.code(),
        stdout: String::from_utf8_lossy(&out_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&err_bytes).into_owned(),
        elapsed,
        // The crate converts Linux's KiB to bytes.
        maxrss: usage.rusage.maxrss,
    }
}

fn fault(name: &str) -> &'static Fault {
    FAULTS
        .iter()
        .find(|f| f.name == name)
        .expect("fault in FAULTS")
}

#[test_case("binary_junk")]
#[test_case("no_crlf_ever")]
#[test_case("one_gib_line")]
#[test_case("endless_continuation")]
#[test_case("slow_drip")]
#[test_case("silent")]
#[test_case("rst_mid_greeting")]
#[test_case("rst_mid_reply")]
#[test_case("rst_mid_handshake")]
#[test_case("rst_mid_literal")]
#[test_case("fin_after_starttls_reply")]
#[test_case("clienthello_garbage")]
#[test_case("http_on_smtp_port")]
#[test_case("ssh_on_smtp_port")]
#[test_case("tls_first_on_plain_port")]
#[test_case("terminal_escapes")]
#[test_case("c1_and_bidi")]
#[test_case("nul_bytes")]
#[test_case("invalid_utf8")]
#[test_case("imap_literal_u64_overflow")]
#[test_case("imap_literal_2_40_short")]
#[test_case("literal_beyond_connection")]
#[test_case("unanswered_continuation")]
#[test_case("unsolicited_bye")]
#[test_case("big_literal_in_answer")]
#[test_case("imap_unknown_tag")]
#[test_case("pop3_multiline_no_end")]
#[test_case("ehlo_10000_capabilities")]
#[test_case("pipelined_early_replies")]
#[test_case("starttls_injection")]
#[test_case("never_closes_after_quit")]
#[test_case("unsolicited_reply_flood")]
#[test_case("flood_after_quit")]
#[test_case("empty_line_flood")]
#[test_case("bare_lf")]
#[test_case("service_refused")]
fn check_survives(name: &str) {
    let f = fault(name);
    let r = run(f);
    let ctx = format!(
        "{name}: exit {:?} in {:?}\nstdout: {}\nstderr: {}",
        r.code,
        r.elapsed,
        r.stdout.chars().take(4000).collect::<String>(),
        r.stderr.chars().take(2000).collect::<String>()
    );
    // Shown with --nocapture; the figures in ROBUSTNESS.md come from here.
    eprintln!(
        "{name}: peak RSS {:.1} MiB, {:.2} s",
        r.maxrss as f64 / 1048576.0,
        r.elapsed.as_secs_f64()
    );
    assert!(!r.stderr.contains("panicked"), "{ctx}");
    let json: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{ctx}\njson: {e}"));
    let ids: Vec<&str> = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        f.finding.is_empty() || ids.contains(&f.finding),
        "{ctx}\nids: {ids:?}"
    );
    assert_eq!(r.code, Some(f.exit), "{ctx}\nids: {ids:?}");
    assert!(r.elapsed < Duration::from_secs(f.secs), "{ctx}");
    assert!(
        r.maxrss <= MAX_RSS,
        "{name}: peak RSS {} bytes\n{ctx}",
        r.maxrss
    );
    // Nothing from the network reaches the terminal raw (STYLE: escape).
    for bad in ['\u{1b}', '\u{9b}', '\u{202e}', '\0'] {
        assert!(!r.stdout.contains(bad), "{name}: raw {bad:?} in stdout");
    }
}

/// The table of FAULTS as it stands in ROBUSTNESS.md.
fn table() -> String {
    let mut t = String::from(
        "| fault | protocol | the server sends | finding | exit | time bound |\n| --- | --- | --- | --- | ---: | ---: |\n",
    );
    for f in FAULTS {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} s |\n",
            f.name,
            f.scheme,
            f.what,
            if f.finding.is_empty() {
                "none; shown escaped".to_string()
            } else {
                format!("`{}`", f.finding)
            },
            f.exit,
            f.secs
        ));
    }
    t
}

#[test]
fn the_table_in_robustness_md_matches() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ROBUSTNESS.md");
    let doc = std::fs::read_to_string(path).expect("ROBUSTNESS.md");
    let want = table();
    if std::env::var_os("MAILWIRE_UPDATE_TABLE").is_some() {
        let start = doc.find("<!-- hostile-table -->\n").expect("marker")
            + "<!-- hostile-table -->\n".len();
        let end = doc.find("<!-- /hostile-table -->").expect("end marker");
        let new = format!("{}{}{}", &doc[..start], want, &doc[end..]);
        std::fs::write(path, new).expect("write");
        return;
    }
    assert!(
        doc.contains(&want),
        "ROBUSTNESS.md's fault table differs; run with MAILWIRE_UPDATE_TABLE=1:\n{want}"
    );
    assert!(FAULTS.len() >= 30);
}

/// The text report escapes capability text too (a helper found raw ESC,
/// U+009B and U+202E in `capabilities before TLS:`).
#[test]
fn the_text_report_escapes_capabilities() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            smtp_with_ehlo(
                s,
                "250-mx\r\n250-A\x1b[31mB\r\n250-C\u{9b}2JD\r\n250 X\u{202e}Y\r\n".as_bytes(),
            );
        }
    });
    let out = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "check",
            "--no-config",
            "--timeout",
            TIMEOUT,
            "--ehlo",
            "client.test",
        ])
        .arg(format!("smtp://127.0.0.1:{port}"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run check");
    let _ = server.join();
    let text = String::from_utf8_lossy(&out.stdout);
    let caps = text
        .lines()
        .find(|l| l.starts_with("capabilities before TLS:"))
        .unwrap_or_else(|| panic!("no capabilities line:\n{text}"));
    for bad in ['\u{1b}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "raw {bad:?}:\n{text}");
    }
    assert!(caps.contains(r"\x1b[31M"), "{caps}");
    assert!(
        caps.contains(r"\u{9b}") && caps.contains(r"\u{202e}"),
        "{caps}"
    );
}
