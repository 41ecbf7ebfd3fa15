//! Server replay: `mailwire serve --replay FILE` acts as the recorded server
//! on loopback. It sends the recorded greeting, then for each client line
//! the recorded reply, in order. A line that does not match the recording
//! gets a protocol error reply and a note on stderr. STARTTLS/STLS upgrades
//! with a freshly generated certificate: the recorded server's private key
//! is not in the recording.
//!
//! ```text
//! client --line--> matches exchange k? --yes--> recorded replies of k (IMAP tag swapped)
//!                                     --no---> 500 / BAD / -ERR + note on stderr
//! ```

use std::io::Write as _;
use std::ops::Range;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::pki::{DemoPki, LeafKind};
use crate::protocol::command;
use crate::replay::Recording;
use crate::replay::client::{Exchange, exchanges};
use crate::target::{Protocol, TlsMode};
use crate::tls::server::ServerTls;

/// The recorded conversation a replay server follows.
struct Script {
    protocol: Protocol,
    exchanges: Vec<Exchange>,
    tls: ServerTls,
}

enum Next {
    Upgrade,
    Done,
}

/// Binds `listen`, prints the URL and the new root (its path when written
/// to `ca_out`, else the PEM itself: nothing goes to the temp directory),
/// and serves connections from `recording` until SIGINT, SIGTERM or SIGHUP.
///
/// # Errors
/// The certificate cannot be generated, the root written or the address bound.
pub async fn serve(
    recording: &Recording,
    listen: std::net::SocketAddr,
    ca_out: Option<&std::path::Path>,
) -> Result<(), String> {
    let mut stop =
        crate::signal::Watch::new().map_err(|e| format!("cannot watch stop signals: {e}"))?;
    let pki = DemoPki::generate(LeafKind::Good).map_err(|e| e.to_string())?;
    let tls = ServerTls::new(&pki.chain_der(), pki.leaf_key_der()).map_err(|e| e.to_string())?;
    if let Some(path) = ca_out {
        std::fs::write(path, pki.root_pem())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let target = &recording.header().target;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // A reader that closed our stdout after the URL must not stop the server.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}://{addr}", target.scheme);
    let why = "a fresh certificate for localhost: the recorded server's key is not known";
    let _ = match ca_out {
        Some(path) => writeln!(out, "root CA: {} ({why})", path.display()),
        None => write!(
            out,
            "root CA ({why}; not written to disk, --ca-out FILE writes it):\n{}",
            pki.root_pem()
        ),
    };
    let _ = out.flush();
    let script = Arc::new(Script {
        protocol: target.protocol,
        exchanges: exchanges(recording.events()),
        tls,
    });
    let implicit = target.tls == TlsMode::Implicit;
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            // Open connections end with the runtime; nothing is on disk to remove.
            _ = stop.next() => return Ok(()),
        };
        let script = Arc::clone(&script);
        tokio::spawn(async move {
            let mut k = 0;
            if implicit {
                if let Ok(tls) = script.tls.accept(tcp).await {
                    let _ = converse(&script, &mut BufReader::new(tls), &mut k, true).await;
                }
                return;
            }
            let mut plain = BufReader::new(tcp);
            if let Ok(Next::Upgrade) = converse(&script, &mut plain, &mut k, true).await {
                match script.tls.accept(plain.into_inner()).await {
                    Ok(tls) => {
                        let _ = converse(&script, &mut BufReader::new(tls), &mut k, false).await;
                    }
                    Err(e) => eprintln!("{peer}: TLS handshake failed: {e}"),
                }
            }
        });
    }
}

/// Plays exchanges from `k` on; `greet` sends the greeting first.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    script: &Script,
    stream: &mut BufReader<S>,
    k: &mut usize,
    greet: bool,
) -> std::io::Result<Next> {
    if greet && *k == 0 {
        if let Some(g) = script.exchanges.first() {
            for reply in &g.replies {
                stream.get_mut().write_all(reply).await?;
            }
        }
        *k = 1;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(Next::Done);
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let (tag, rest) = split_tag(script.protocol, &text);
        let Some(want) = script.exchanges.get(*k) else {
            eprintln!("unexpected {:?}: the recording has ended", text.trim_end());
            stream
                .get_mut()
                .write_all(refusal(script.protocol, tag).as_bytes())
                .await?;
            continue;
        };
        let recorded =
            String::from_utf8_lossy(want.command.as_deref().unwrap_or_default()).into_owned();
        let (rec_tag, rec_rest) = split_tag(script.protocol, &recorded);
        if !matches_line(script.protocol, rest, rec_rest, want, rec_tag.is_some()) {
            eprintln!(
                "line {k} does not match the recording: got {:?}, recorded {:?}",
                text.trim_end(),
                recorded.trim_end()
            );
            stream
                .get_mut()
                .write_all(refusal(script.protocol, tag).as_bytes())
                .await?;
            continue;
        }
        *k += 1;
        for reply in &want.replies {
            let reply = match (tag, rec_tag) {
                (Some(t), Some(r)) if reply.starts_with(format!("{r} ").as_bytes()) => {
                    [t.as_bytes(), &reply[r.len()..]].concat()
                }
                _ => reply.clone(),
            };
            stream.get_mut().write_all(&reply).await?;
        }
        let verb =
            crate::protocol::command::parse(script.protocol, rest.trim().as_bytes(), false).verb;
        let positive = want.positive();
        if verb == crate::protocol::command::starttls_verb(script.protocol) && positive {
            return Ok(Next::Upgrade);
        }
    }
}

fn split_tag(protocol: Protocol, line: &str) -> (Option<&str>, &str) {
    match (protocol, line.split_once(' ')) {
        (Protocol::Imap, Some((tag, rest))) => (Some(tag), rest),
        _ => (None, line),
    }
}

/// Same command: equal ignoring case and line ending, outside the secret
/// spans. The recorded spans come from the dialogue's note of the recorded
/// line (a redacted secret matches anything in its place); the live line's
/// from the same command vocabulary (`protocol::command`). A line that is a
/// secret as a whole (a SASL response) matches any line.
fn matches_line(
    protocol: Protocol,
    got: &str,
    recorded: &str,
    want: &Exchange,
    tagged: bool,
) -> bool {
    let (got, recorded) = (got.trim_end(), recorded.trim_end());
    // The recorded note's spans count from the start of the recorded line,
    // tag included; `recorded` starts after the tag.
    let offset = if tagged {
        want.command
            .as_deref()
            .and_then(|c| c.iter().position(|&b| b == b' '))
            .map_or(0, |p| p + 1)
    } else {
        0
    };
    let rec_spans: Vec<Range<usize>> = want
        .note
        .secrets
        .iter()
        .filter_map(|s| {
            let start = s.start.checked_sub(offset)?;
            Some(start.min(recorded.len())..(s.end - offset).min(recorded.len()))
        })
        .collect();
    if rec_spans.is_empty() {
        return got.eq_ignore_ascii_case(recorded);
    }
    if rec_spans
        .iter()
        .any(|s| s.start == 0 && s.end >= recorded.len())
    {
        return true;
    }
    let live_spans = command::parse(protocol, got.as_bytes(), false).secrets;
    outside(recorded.as_bytes(), &rec_spans)
        .eq_ignore_ascii_case(&outside(got.as_bytes(), &live_spans))
}

/// The bytes of `line` outside `spans`, a NUL where each span was.
fn outside(line: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut pos = 0;
    for span in spans {
        let (start, end) = (span.start.min(line.len()), span.end.min(line.len()));
        if start < pos {
            continue;
        }
        out.extend_from_slice(&line[pos..start]);
        out.push(0);
        pos = end;
    }
    out.extend_from_slice(&line[pos.min(line.len())..]);
    out
}

/// RFC 5321 §4.2.4 500, RFC 9051 §7.1.5 BAD, RFC 1939 §3 -ERR.
fn refusal(protocol: Protocol, tag: Option<&str>) -> String {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => {
            "500 5.5.1 mailwire replay: command does not match the recording\r\n".into()
        }
        Protocol::Imap => format!(
            "{} BAD mailwire replay: command does not match the recording\r\n",
            tag.unwrap_or("*")
        ),
        Protocol::Pop3 => "-ERR mailwire replay: command does not match the recording\r\n".into(),
    }
}
