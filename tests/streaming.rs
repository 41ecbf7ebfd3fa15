//! Big responses stream through the engine: a scripted POP3 server sends a
//! 6 MiB `RETR` reply and an IMAP server a 6 MiB `FETCH` literal; the engine
//! hands their exact bytes out as `Event::Chunk`s while they arrive, the
//! entry that ends each one holds a preview, a recording keeps every byte
//! and loads back whole, and the engine's read buffer stays small.

use std::time::Duration;

use mailwire::replay::{Header, Recorder, Recording};
use mailwire::session::{Direction, Event, Response, Session, SessionConfig, StreamEnd};
use mailwire::target::Target;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SIZE: usize = 6 << 20;

/// A message body of ~70-byte lines, some dot-stuffed for POP3.
fn body(stuffed: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + 100);
    let mut i = 0;
    while out.len() < SIZE {
        if stuffed && i % 10 == 0 {
            out.extend_from_slice(b"..a line that started with a dot");
        } else {
            out.extend_from_slice(
                b"Line of an ordinary message body, plain text, some seventy bytes",
            );
        }
        out.extend_from_slice(format!(" {i}\r\n").as_bytes());
        i += 1;
    }
    out
}

/// Serves one session: greeting, then `reply` to the first command.
async fn serve(greeting: &'static [u8], reply: Vec<u8>) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (read, mut write) = sock.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(greeting).await.unwrap();
        let mut command = String::new();
        lines.read_line(&mut command).await.unwrap();
        let tag = command.split_whitespace().next().unwrap_or("").to_string();
        let reply = String::from_utf8_lossy(&reply).replace("TAG", &tag);
        for piece in reply.as_bytes().chunks(7000) {
            write.write_all(piece).await.unwrap();
        }
        // Wait for the client to go.
        let mut rest = String::new();
        let _ = lines.read_line(&mut rest).await;
    });
    (port, task)
}

/// Runs greeting + `command` against `url`; returns the events and the
/// response, with the read buffer's peak capacity.
async fn exchange(url: &str, command: &str) -> (Vec<Event>, Response) {
    let mut config = SessionConfig::new(Target::parse(url).unwrap());
    config.ehlo = Some("client.test".into());
    config.timeouts.response = Duration::from_secs(60);
    let (tx, mut rx) = mpsc::channel(4096);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    });
    let mut session = Session::connect(config, tx).await.unwrap();
    session.greeting().await.unwrap();
    let responses = session.command(command).await.unwrap();
    // The whole response went through a buffer of the threshold and a few reads.
    assert!(
        session.buffer_capacity() <= 4 << 20,
        "read buffer grew to {}",
        session.buffer_capacity()
    );
    drop(session);
    let events = collector.await.unwrap();
    (events, responses.last().unwrap().clone())
}

/// The chunks' bytes in order, the end mark, and the server entry after them.
fn streamed(events: &[Event]) -> (Vec<u8>, StreamEnd, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut end = None;
    let mut entry = None;
    for event in events {
        match event {
            Event::Chunk {
                bytes: b, end: e, ..
            } => {
                assert!(end.is_none(), "chunk after the end");
                bytes.extend_from_slice(b);
                end = end.or(*e);
            }
            Event::Data(e)
                if end.is_some() && e.direction == Direction::Server && entry.is_none() =>
            {
                entry = Some(e.raw.clone());
            }
            _ => {}
        }
    }
    (
        bytes,
        end.expect("an end mark"),
        entry.expect("an entry after the chunks"),
    )
}

#[tokio::test]
async fn pop3_retr_streams_exact_bytes_and_keeps_a_preview() {
    let body = body(true);
    let mut reply = format!("+OK {} octets\r\n", body.len()).into_bytes();
    reply.extend_from_slice(&body);
    reply.extend_from_slice(b".\r\n");
    let (port, server) = serve(b"+OK ready\r\n", reply.clone()).await;
    let (events, response) = exchange(&format!("pop3://127.0.0.1:{port}"), "RETR 1").await;
    server.abort();

    let (bytes, end, preview) = streamed(&events);
    assert!(bytes == reply, "chunks are not the exact reply");
    assert_eq!(end.size, reply.len() as u64);
    assert_eq!(end.sha256, <[u8; 32]>::from(Sha256::digest(&reply)));
    assert!(
        preview == reply[..64 * 1024],
        "preview is not the first 64 KiB"
    );
    // The parsed response keeps the first lines, dot-unstuffed.
    let Response::Pop3(mailwire::protocol::pop3::Response::Status {
        body: Some(lines), ..
    }) = response
    else {
        panic!("not a multi-line +OK: {response:?}");
    };
    assert!(
        !lines.is_empty() && lines.len() < 2000,
        "{} lines",
        lines.len()
    );
    assert!(lines[0].starts_with(b".a line that started with a dot"));
}

#[tokio::test]
async fn imap_literal_streams_and_the_recording_keeps_every_byte() {
    let body = body(false);
    let mut reply = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).into_bytes();
    reply.extend_from_slice(&body);
    reply.extend_from_slice(b")\r\nTAG OK FETCH completed\r\n");
    let (port, server) = serve(b"* OK ready\r\n", reply).await;
    let (events, response) = exchange(&format!("imap://127.0.0.1:{port}"), "FETCH 1 BODY[]").await;
    server.abort();
    assert!(matches!(response, Response::Imap(_)));

    let (bytes, end, preview) = streamed(&events);
    let untagged_len = reply_len(&body);
    assert_eq!(end.size, untagged_len as u64);
    assert_eq!(bytes.len(), untagged_len);
    assert!(preview.len() == 64 * 1024 && bytes.starts_with(&preview));

    // Written as chunks, loaded back as one whole entry.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let target = Target::parse("imap://127.0.0.1:143").unwrap();
    let header = Header::new(
        &SessionConfig::new(target),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    let mut recorder = Recorder::create(&path, &header).unwrap();
    for event in &events {
        recorder.record(event).unwrap();
    }
    drop(recorder);
    let recording = Recording::load(&path).unwrap();
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    let whole = recording
        .events()
        .find_map(|e| match e {
            Event::Data(entry) if entry.raw.len() > 64 * 1024 => Some(entry.raw),
            _ => None,
        })
        .expect("the big entry");
    assert!(whole == bytes, "the loaded entry is not the exact response");
    assert!(
        recording
            .events()
            .all(|e| !matches!(e, Event::Chunk { .. }))
    );
}

/// Bytes of `* 1 FETCH (BODY[] {n}\r\n` + body + `)\r\n`.
fn reply_len(body: &[u8]) -> usize {
    format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).len() + body.len() + 3
}
