//! End-to-end transfer of one big response over loopback TLS: a 100 MiB
//! POP3 `RETR` and a 100 MiB IMAP `FETCH` literal from a scripted server,
//! read by mailwire and by `openssl s_client` reading the same bytes.
//!
//! ```text
//! this binary --serve pop3|imap   scripted server (own process): TLS, greeting,
//!                                 one command, the big response, close
//! this binary --client CASE       one client run (own process, so its peak
//!                                 RSS is its own); prints RESULT
//! this binary                     runs both servers and every case, prints MiB/s
//! ```
//!
//! Cases: `engine` drives `session::Session` (`check`-style: greeting, one
//! command, its completion) with its default configuration, which streams a
//! big response (chunks go out as events as they arrive, a preview and the
//! SHA-256 stay); `held` is the same with streaming off (the response held
//! whole, limits raised to let it through: what the engine did before);
//! `streamed` drives `session::Connection` alone with streaming on (no
//! events); `openssl` is `openssl s_client` with its output to /dev/null. Each figure is the wall time of a whole
//! process run (start, connect, handshake, transfer, exit), best of
//! `MAILWIRE_BENCH_RUNS` (default 3). Peak RSS is the client's `VmHWM`;
//! "above idle" subtracts its RSS just before connecting.
//!
//! Run with `cargo bench --bench transfer` (`MAILWIRE_BENCH_MIB` sets the size).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailwire::protocol::{Limits, Streaming, pop3};
use mailwire::session::connection::{Connection, Fill, Polled, Raw};
use mailwire::session::{Session, SessionConfig};
use mailwire::target::Target;
use mailwire::tls::ClientOptions;
use mailwire::tls::client::Client;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(&args[2], mib_arg(&args[3])?, Path::new(&args[4])),
        Some("--client") => {
            let port: u16 = args[4].parse()?;
            let result = client(&args[2], &args[3], port, mib_arg(&args[5])?, &args[6]);
            // An engine error quotes the unfinished response: keep it short.
            if let Err(e) = &result {
                let text = e.to_string();
                eprintln!("transfer client: {}", &text[..text.len().min(300)]);
                std::process::exit(1);
            }
            result
        }
        _ => orchestrate(),
    }
}

fn mib_arg(s: &str) -> Result<usize, Error> {
    Ok(s.parse::<usize>()? << 20)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- orchestration --------------------------------------------------------

struct Run {
    wall: Duration,
    peak_kib: u64,
    idle_kib: u64,
}

fn orchestrate() -> Result<(), Error> {
    let mib = env_number("MAILWIRE_BENCH_MIB", 100);
    let runs = env_number("MAILWIRE_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir()?;
    make_pki(dir.path())?;
    let exe = std::env::current_exe()?;
    let mut servers = Servers(Vec::new());
    println!(
        "transfer: {mib} MiB over loopback TLS, best of {runs}; load average {}",
        load_average()
    );
    println!(
        "{:<6} {:<10} {:>9} {:>10} {:>12} {:>13}",
        "proto", "client", "seconds", "MiB/s", "peak RSS", "above idle"
    );
    for proto in ["pop3", "imap"] {
        let (child, port) = start_server(&exe, proto, mib, dir.path())?;
        servers.0.push(child);
        let mut results = Vec::new();
        for case in ["engine", "held", "streamed", "openssl"] {
            let mut best: Option<Run> = None;
            for _ in 0..runs {
                let run = if case == "openssl" {
                    run_openssl(proto, port, dir.path())?
                } else {
                    run_client(&exe, case, proto, port, mib, dir.path())?
                };
                if best.as_ref().is_none_or(|b| run.wall < b.wall) {
                    best = Some(run);
                }
            }
            let Some(best) = best else { continue };
            let secs = best.wall.as_secs_f64();
            let rate = mib as f64 / secs;
            let (peak, above) = if case == "openssl" {
                ("-".to_string(), "-".to_string())
            } else {
                (
                    format!("{:.1} MiB", best.peak_kib as f64 / 1024.0),
                    format!(
                        "{:.1} MiB",
                        best.peak_kib.saturating_sub(best.idle_kib) as f64 / 1024.0
                    ),
                )
            };
            println!("{proto:<6} {case:<10} {secs:>9.3} {rate:>10.1} {peak:>12} {above:>13}");
            results.push((case, secs));
        }
        if let Some((_, openssl)) = results.iter().find(|(c, _)| *c == "openssl") {
            for (case, secs) in results.iter().filter(|(c, _)| *c != "openssl") {
                println!(
                    "{proto:<6} {case:<10} {:.2}x the time of openssl s_client",
                    secs / openssl
                );
            }
        }
    }
    Ok(())
}

/// The server processes, stopped however the run ends.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn start_server(exe: &Path, proto: &str, mib: usize, dir: &Path) -> Result<(Child, u16), Error> {
    let mut child = Command::new(exe)
        .args(["--serve", proto, &mib.to_string()])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let port = line
        .strip_prefix("PORT ")
        .ok_or_else(|| format!("server said {line:?}"))?
        .trim()
        .parse()?;
    Ok((child, port))
}

fn run_client(
    exe: &Path,
    case: &str,
    proto: &str,
    port: u16,
    mib: usize,
    dir: &Path,
) -> Result<Run, Error> {
    let start = Instant::now();
    let out = Command::new(exe)
        .args(["--client", case, proto, &port.to_string(), &mib.to_string()])
        .arg(dir.join("root.pem"))
        .stderr(Stdio::inherit())
        .output()?;
    let wall = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("client {case} {proto} failed: {text}"))?;
    let mut fields = line.split_whitespace().map(|f| f.parse::<u64>());
    let (Some(Ok(bytes)), Some(Ok(idle_kib)), Some(Ok(peak_kib))) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!("bad result line {line:?}").into());
    };
    if bytes < (mib as u64) << 20 {
        return Err(format!("client {case} {proto} got only {bytes} bytes").into());
    }
    Ok(Run {
        wall,
        peak_kib,
        idle_kib,
    })
}

fn run_openssl(proto: &str, port: u16, dir: &Path) -> Result<Run, Error> {
    let command = if proto == "pop3" {
        "RETR 1\n"
    } else {
        "a1 FETCH 1 BODY[]\n"
    };
    let start = Instant::now();
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-crlf", "-verify_return_error"])
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(command.as_bytes())?;
        // Keep stdin open: -quiet implies -ign_eof, the server closes.
        std::mem::forget(stdin);
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("openssl s_client failed: {status}").into());
    }
    Ok(Run {
        wall: start.elapsed(),
        peak_kib: 0,
        idle_kib: 0,
    })
}

// ---- the scripted server --------------------------------------------------

/// A root CA and a leaf for localhost, written to `dir` (root.pem, leaf.der, key.der).
fn make_pki(dir: &Path) -> Result<(), Error> {
    let root_key = KeyPair::generate()?;
    let mut root = CertificateParams::new(Vec::<String>::new())?;
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.distinguished_name
        .push(DnType::CommonName, "transfer bench root");
    let root_cert = root.self_signed(&root_key)?;
    let issuer = Issuer::new(root, root_key);
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    std::fs::write(dir.join("root.pem"), root_cert.pem())?;
    std::fs::write(dir.join("leaf.der"), leaf_cert.der())?;
    std::fs::write(dir.join("key.der"), leaf_key.serialize_der())?;
    Ok(())
}

fn serve(proto: &str, size: usize, dir: &Path) -> Result<(), Error> {
    let leaf = CertificateDer::from(std::fs::read(dir.join("leaf.der"))?);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(std::fs::read(
        dir.join("key.der"),
    )?));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let proto = proto.to_string();
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("PORT {}", listener.local_addr()?.port());
        std::io::stdout().flush()?;
        let block = body_block(&proto);
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            if let Err(e) = answer(tls, &proto, size, &block).await {
                eprintln!("transfer server: {e}");
            }
        }
    })
}

/// 1 MiB of message lines (POP3: some dot-stuffed) repeated to make a body.
fn body_block(proto: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    let mut i = 0;
    while out.len() < 1 << 20 {
        let line: &[u8] = if proto == "pop3" && i % 10 == 0 {
            b"..a line that started with a dot in the original message....\r\n"
        } else {
            b"Quoted-printable or plain text body line of a typical mail....\r\n"
        };
        out.extend_from_slice(line);
        i += 1;
    }
    out.truncate(1 << 20);
    // Keep the block line-aligned for POP3 (the body must end in CRLF).
    while !out.ends_with(b"\r\n") {
        out.pop();
    }
    out
}

async fn answer<S>(tls: S, proto: &str, size: usize, block: &[u8]) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(tls);
    let mut lines = tokio::io::BufReader::new(read);
    let greeting: &[u8] = if proto == "pop3" {
        b"+OK transfer bench ready\r\n"
    } else {
        b"* OK transfer bench ready\r\n"
    };
    write.write_all(greeting).await?;
    let mut command = String::new();
    lines.read_line(&mut command).await?;
    if proto == "pop3" {
        write
            .write_all(format!("+OK {size} octets\r\n").as_bytes())
            .await?;
        // Whole blocks of whole lines: the body is `size` rounded up to a block.
        let mut sent = 0;
        while sent < size {
            write.write_all(block).await?;
            sent += block.len();
        }
        write.write_all(b".\r\n").await?;
    } else {
        let tag = command
            .split_whitespace()
            .next()
            .unwrap_or("a1")
            .to_string();
        write
            .write_all(format!("* 1 FETCH (BODY[] {{{size}}}\r\n").as_bytes())
            .await?;
        let mut sent = 0;
        while sent < size {
            let n = block.len().min(size - sent);
            write.write_all(&block[..n]).await?;
            sent += n;
        }
        write
            .write_all(format!(")\r\n{tag} OK FETCH completed\r\n").as_bytes())
            .await?;
    }
    write.shutdown().await?;
    Ok(())
}

// ---- the clients ------------------------------------------------------------

/// `VmRSS` or `VmHWM` of this process in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn client(case: &str, proto: &str, port: u16, size: usize, ca: &str) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let idle = status_kib("VmRSS:");
    let ca = PathBuf::from(ca);
    let bytes = runtime.block_on(async move {
        match case {
            "engine" => engine(proto, port, size, ca, true).await,
            "held" => engine(proto, port, size, ca, false).await,
            _ => streamed(proto, port, ca).await,
        }
    })?;
    println!("RESULT {bytes} {idle} {}", status_kib("VmHWM:"));
    Ok(())
}

fn tls_options(ca: PathBuf) -> ClientOptions {
    ClientOptions {
        servername: Some("localhost".into()),
        ca_files: vec![ca],
        ..ClientOptions::default()
    }
}

/// `check`-style use of the engine: greeting, one command, its completion;
/// with `stream` false the response is held whole (streaming off).
async fn engine(
    proto: &str,
    port: u16,
    size: usize,
    ca: PathBuf,
    stream: bool,
) -> Result<u64, Error> {
    let scheme = if proto == "pop3" { "pop3s" } else { "imaps" };
    let mut config = SessionConfig::new(Target::parse(&format!("{scheme}://127.0.0.1:{port}"))?);
    config.tls = tls_options(ca);
    if !stream {
        // Held whole: let a 100 MiB response through the limits.
        config.streaming = None;
        config.limits = Limits {
            max_literal: size + (1 << 20),
            max_lines: 16_000_000,
            ..Limits::default()
        };
    }
    config.timeouts.response = Duration::from_secs(300);
    let (tx, mut rx) = mpsc::channel(1024);
    let events = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let mut session = Session::connect(config, tx).await?;
    session.greeting().await?;
    let command = if proto == "pop3" {
        "RETR 1"
    } else {
        "FETCH 1 BODY[]"
    };
    session.command(command).await?;
    let (_, received) = session.byte_counts();
    drop(session);
    let _ = events.await;
    Ok(received)
}

/// The streaming path: `Connection` with streaming on over the same TLS.
async fn streamed(proto: &str, port: u16, ca: PathBuf) -> Result<u64, Error> {
    let options = tls_options(ca);
    let client = Client::new(&options, "127.0.0.1")?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let established = client.handshake(tcp).await?;
    let mut conn = Connection::new(established.stream, Limits::default());
    conn.set_streaming(Some(Streaming::default()));
    let mut received = 0u64;
    let mut chunked = 0u64;
    let mut greeted = false;
    loop {
        let polled = if proto == "pop3" {
            let expect = if greeted {
                pop3::Expect::MultiLine
            } else {
                pop3::Expect::Single
            };
            map(conn.poll_pop3(expect)?)
        } else {
            map(conn.poll_imap()?)
        };
        match polled {
            Polled::Incomplete => match conn.fill().await? {
                Fill::Read(_) => {}
                Fill::Eof => return Err("closed early".into()),
            },
            // A recorder would write these out; the bench only counts them.
            Polled::Chunk(bytes) => chunked += bytes.len() as u64,
            Polled::Response { raw, .. } => {
                received += raw.size();
                if raw.size() < chunked {
                    return Err("chunks and size disagree".into());
                }
                chunked = 0;
                if !greeted {
                    greeted = true;
                    let command: &[u8] = if proto == "pop3" {
                        b"RETR 1\r\n"
                    } else {
                        b"a1 FETCH 1 BODY[]\r\n"
                    };
                    conn.write_all(command).await?;
                } else if matches!(raw, Raw::Streamed(_)) {
                    return Ok(received);
                }
            }
        }
    }
}

fn map<T>(p: Polled<T>) -> Polled<()> {
    match p {
        Polled::Incomplete => Polled::Incomplete,
        Polled::Chunk(b) => Polled::Chunk(b),
        Polled::Response { value, raw } => Polled::Response {
            value: value.map(|_| ()),
            raw,
        },
    }
}
