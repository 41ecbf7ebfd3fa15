//! One connection's transport and read buffer: plaintext or TLS over the
//! same stream, framed into whole responses by `protocol`'s framers.
//!
//! ```text
//! socket --fill--> buf[head..] --poll_smtp/poll_imap/poll_pop3--> Polled
//!                  (framer keeps its place between reads)     Incomplete: fill again
//!                                                              Chunk: bytes of a big response
//!                                                              Response: value + Raw
//! ```
//!
//! Costs are linear in the bytes received: the framers resume where they
//! stopped, reads append into spare capacity that grows by doubling, and a
//! taken response only moves a read cursor (the buffer is compacted when
//! the consumed part outweighs the rest).
//!
//! Memory is bounded: without streaming the buffer never grows past one
//! response's limit (a line of `max_line` bytes, or a literal of
//! `max_literal` plus a line). With [`Connection::set_streaming`] a big IMAP
//! literal or POP3 body is handed out in [`Polled::Chunk`]s as it arrives
//! and the final [`Raw::Streamed`] keeps a preview, the size and the SHA-256
//! of the exact bytes, so a 100 MiB message costs a few reads of memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::protocol::{Frame, Limits, ParseError, Step, Streaming, imap, pop3, smtp};
use crate::tls::client::TlsStream;

/// Bytes asked for per read, so a fast peer cannot make one read huge.
const READ_CHUNK: usize = 16 * 1024;

/// Plaintext or TLS over the same underlying stream.
pub enum Transport<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// Taken for an upgrade that failed; every operation errors.
    Gone,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// A transport plus the bytes read but not yet framed.
pub struct Connection<S> {
    transport: Transport<S>,
    /// The TCP socket under the transport, to acknowledge at once.
    quick_ack: Option<std::os::fd::OwnedFd>,
    /// Bytes read; `buf[..head]` are taken already.
    buf: Vec<u8>,
    head: usize,
    limits: Limits,
    smtp: smtp::Framer,
    imap: imap::Framer,
    pop3: pop3::Framer,
    streaming: Option<Streaming>,
    /// The streamed response under way, if any.
    streamed: Option<Digesting>,
}

/// What a read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// `n` more bytes are buffered.
    Read(usize),
    /// The peer closed the connection.
    Eof,
}

/// What a `poll_*` found at the front of the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled<T> {
    /// No whole response yet: [`Connection::fill`] and poll again.
    Incomplete,
    /// The next bytes of a streamed response, exactly as received (for a
    /// recording); they are no longer buffered. More follow, then a
    /// `Response` with [`Raw::Streamed`].
    Chunk(Vec<u8>),
    /// A whole response, taken off the buffer.
    Response {
        /// The parsed value, or why it does not follow the protocol
        /// (shown as is: a broken peer is an event, not an error).
        value: Result<T, String>,
        raw: Raw,
    },
}

/// The bytes of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// Every byte, line endings included.
    Whole(Vec<u8>),
    /// A streamed response: a preview and a fingerprint of the exact bytes
    /// (which went out in [`Polled::Chunk`]s and the final piece).
    Streamed(Streamed),
}

impl Raw {
    /// The bytes held: all of them, or the preview of a streamed response.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Raw::Whole(bytes) => bytes,
            Raw::Streamed(s) => &s.preview,
        }
    }

    /// Size on the wire in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Raw::Whole(bytes) => bytes.len() as u64,
            Raw::Streamed(s) => s.size,
        }
    }
}

/// What is kept of a streamed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    /// The first bytes as received (at most [`Streaming::preview`] of them).
    pub preview: Vec<u8>,
    /// The last bytes as received (at most 256), e.g. the `)` and tagged
    /// line after an IMAP literal or the `.` ending a POP3 body.
    pub tail: Vec<u8>,
    /// The final piece, taken off the buffer with the frame (not handed
    /// out as a [`Polled::Chunk`]): the exact bytes after the last chunk.
    pub last: Vec<u8>,
    /// Size on the wire, in bytes.
    pub size: u64,
    /// SHA-256 of all the bytes, in order.
    pub sha256: [u8; 32],
}

/// Longest tail kept of a streamed response.
const TAIL: usize = 256;

/// A streamed response in progress.
struct Digesting {
    preview: Vec<u8>,
    preview_max: usize,
    tail: Vec<u8>,
    size: u64,
    hash: Sha256,
}

impl Digesting {
    fn new(preview_max: usize) -> Self {
        Digesting {
            preview: Vec::new(),
            preview_max,
            tail: Vec::new(),
            size: 0,
            hash: Sha256::new(),
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        let room = self.preview_max.saturating_sub(self.preview.len());
        self.preview
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
        if bytes.len() >= TAIL {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - TAIL..]);
        } else {
            self.tail.extend_from_slice(bytes);
            let excess = self.tail.len().saturating_sub(TAIL);
            self.tail.drain(..excess);
        }
        self.size += bytes.len() as u64;
        self.hash.update(bytes);
    }

    fn finish(self, last: Vec<u8>) -> Streamed {
        Streamed {
            preview: self.preview,
            tail: self.tail,
            last,
            size: self.size,
            sha256: self.hash.finalize().into(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// A plaintext connection over `stream`, holding every response whole.
    pub fn new(stream: S, limits: Limits) -> Self {
        Self {
            transport: Transport::Plain(stream),
            quick_ack: None,
            buf: Vec::new(),
            head: 0,
            limits,
            smtp: smtp::Framer::new(limits),
            imap: imap::Framer::new(limits),
            pop3: pop3::Framer::new(limits),
            streaming: None,
            streamed: None,
        }
    }

    /// Acknowledges what arrives on `socket` (the TCP socket under the
    /// transport) at once after every read (Linux `TCP_QUICKACK`).
    ///
    /// Why: after a TLS 1.3 handshake the server sends its session tickets
    /// and then, once it has read the next command, its reply. A server that
    /// leaves Nagle's algorithm on (Postfix does) holds that reply until the
    /// tickets are acknowledged, and the client's kernel delays that ACK by
    /// up to 40 ms: every `check` against Postfix paid it once. Elsewhere the
    /// option is a no-op.
    pub fn ack_at_once(&mut self, socket: std::os::fd::OwnedFd) {
        self.quick_ack = Some(socket);
        self.ack_now();
    }

    fn ack_now(&self) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.quick_ack {
            // Best effort: a failure only costs the delay this avoids.
            let _ = socket2::SockRef::from(fd).set_tcp_quickack(true);
        }
    }

    /// Streams IMAP literals and POP3 bodies bigger than `streaming.above`
    /// (see [`Polled::Chunk`]); `None` holds every response whole.
    pub fn set_streaming(&mut self, streaming: Option<Streaming>) {
        self.streaming = streaming;
        self.imap.set_streaming(streaming);
        self.pop3.set_streaming(streaming);
    }

    /// True once TLS is established.
    pub fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls(_))
    }

    /// Unframed bytes held.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    /// Capacity of the read buffer in bytes, for memory-bound tests.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes the framers have examined so far: linear in the bytes received.
    pub fn scanned(&self) -> u64 {
        self.smtp.scanned() + self.imap.scanned() + self.pop3.scanned()
    }

    /// Removes and returns the first `len` buffered bytes. Costs O(len):
    /// only the read cursor moves. Any response being framed is forgotten.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        let out = self.consume(len);
        self.forget();
        out
    }

    /// Takes `len` bytes without telling the framers (they asked for it).
    fn consume(&mut self, len: usize) -> Vec<u8> {
        let len = len.min(self.buf.len() - self.head);
        let out = self.buf[self.head..self.head + len].to_vec();
        self.head += len;
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        }
        out
    }

    /// The framers and any streamed response start afresh.
    fn forget(&mut self) {
        self.smtp.reset();
        self.imap.reset();
        self.pop3.reset();
        self.streamed = None;
    }

    /// The next SMTP reply (RFC 5321 §4.2), framed from where the last poll stopped.
    ///
    /// # Errors
    /// The stream cannot be framed any more ([`ParseError`]).
    pub fn poll_smtp(&mut self) -> Result<Polled<smtp::Reply>, ParseError> {
        let step = self.smtp.poll(&self.buf[self.head..]).map(Step::Frame);
        self.polled(step)
    }

    /// The next IMAP response, literals included (RFC 9051 §4.3), framed
    /// from where the last poll stopped; big literals stream when enabled.
    ///
    /// # Errors
    /// The stream cannot be framed any more ([`ParseError`]).
    pub fn poll_imap(&mut self) -> Result<Polled<imap::Response>, ParseError> {
        let step = self.imap.poll_step(&self.buf[self.head..]);
        self.polled(step)
    }

    /// The next POP3 response read as `expect` says (RFC 1939 §3), framed
    /// from where the last poll stopped; a big body streams when enabled.
    ///
    /// # Errors
    /// The stream cannot be framed any more ([`ParseError`]).
    pub fn poll_pop3(
        &mut self,
        expect: pop3::Expect,
    ) -> Result<Polled<pop3::Response>, ParseError> {
        let step = self.pop3.poll_step(&self.buf[self.head..], expect);
        self.polled(step)
    }

    fn polled<T>(&mut self, step: Result<Step<T>, ParseError>) -> Result<Polled<T>, ParseError> {
        let step = match step {
            Ok(step) => step,
            Err(e) => {
                self.forget();
                return Err(e);
            }
        };
        let (value, len) = match step {
            Step::Frame(Frame::Incomplete) => return Ok(Polled::Incomplete),
            Step::Partial { len } => {
                let chunk = self.consume(len);
                let preview = self.streaming.unwrap_or_default().preview;
                self.streamed
                    .get_or_insert_with(|| Digesting::new(preview))
                    .add(&chunk);
                return Ok(Polled::Chunk(chunk));
            }
            Step::Frame(Frame::Complete { value, len }) => (Ok(value), len),
            Step::Frame(Frame::Malformed { len, reason }) => (Err(reason), len),
        };
        let bytes = self.consume(len);
        let raw = match self.streamed.take() {
            Some(mut digesting) => {
                digesting.add(&bytes);
                Raw::Streamed(digesting.finish(bytes))
            }
            None => Raw::Whole(bytes),
        };
        Ok(Polled::Response { value, raw })
    }

    /// Reads more bytes (cancel-safe: nothing is lost if the future is dropped).
    ///
    /// # Errors
    /// I/O errors, and `InvalidData` when one response would exceed the limits.
    pub async fn fill(&mut self) -> io::Result<Fill> {
        let cap = self.limits.max_literal.saturating_add(self.limits.max_line);
        let held = self.buf.len() - self.head;
        if held >= cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response exceeds {cap} bytes"),
            ));
        }
        let want = READ_CHUNK.min(cap - held);
        if self.buf.capacity() - self.buf.len() < want {
            // Reclaim the taken front before growing: moving the held bytes
            // costs no more than the bytes taken since the last move.
            if self.head > 0 {
                self.buf.copy_within(self.head.., 0);
                self.buf.truncate(held);
                self.head = 0;
            }
            // Amortised doubling: a response arriving in many reads is
            // copied O(1) times per byte, not once per read.
            self.buf.reserve(want);
        }
        // Before the read too: a TLS stream swallows records that carry no
        // data (session tickets) inside the read, and it is their ACK that
        // the server waits for.
        self.ack_now();
        let mut limited = (&mut self.transport).take(want as u64);
        let n = limited.read_buf(&mut self.buf).await?;
        self.ack_now();
        match n {
            0 => Ok(Fill::Eof),
            n => Ok(Fill::Read(n)),
        }
    }

    /// Reads whatever has already arrived, without waiting: each read is
    /// polled once (a zero timeout would wait for the timer's next 1-ms
    /// tick, which cost every command a millisecond). At most 64 reads.
    pub async fn drain_ready(&mut self) -> io::Result<usize> {
        let mut total = 0;
        for _ in 0..64 {
            let ready = std::future::poll_fn(|cx| {
                let fill = self.fill();
                let mut fill = std::pin::pin!(fill);
                // Dropping a pending fill loses nothing (cancel-safe).
                Poll::Ready(match fill.as_mut().poll(cx) {
                    Poll::Ready(r) => Some(r),
                    Poll::Pending => None,
                })
            })
            .await;
            match ready {
                Some(Ok(Fill::Read(n))) => total += n,
                Some(Ok(Fill::Eof)) | None => break,
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Writes all of `bytes` and flushes.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transport.write_all(bytes).await?;
        self.transport.flush().await
    }

    /// Takes the plaintext stream for a TLS upgrade, discarding buffered
    /// bytes (returned, so they can be reported: they must never reach TLS).
    pub fn take_plain(&mut self) -> Option<(S, Vec<u8>)> {
        match std::mem::replace(&mut self.transport, Transport::Gone) {
            Transport::Plain(s) => {
                let held = self.buf.len() - self.head;
                let leftover = self.take(held);
                Some((s, leftover))
            }
            other => {
                self.transport = other;
                None
            }
        }
    }

    /// Installs the upgraded stream.
    pub fn set_tls(&mut self, stream: TlsStream<S>) {
        self.transport = Transport::Tls(Box::new(stream));
    }

    /// Closes the write side (TLS close_notify first, when in TLS).
    pub async fn shutdown(&mut self) {
        let _ = self.transport.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

    /// A connection whose peer writes `bytes` in pieces of `piece` bytes, then closes.
    fn fed(bytes: Vec<u8>, piece: usize, limits: Limits) -> Connection<DuplexStream> {
        let (client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            for chunk in bytes.chunks(piece) {
                if server.write_all(chunk).await.is_err() {
                    return;
                }
            }
            let _ = server.shutdown().await;
        });
        Connection::new(client, limits)
    }

    /// Polls with `poll` and fills until a response or EOF; returns the
    /// chunks handed out and the response.
    async fn next<T>(
        conn: &mut Connection<DuplexStream>,
        mut poll: impl FnMut(&mut Connection<DuplexStream>) -> Result<Polled<T>, ParseError>,
    ) -> (Vec<u8>, Option<(Result<T, String>, Raw)>) {
        let mut chunks = Vec::new();
        loop {
            match poll(conn).expect("frames") {
                Polled::Incomplete => match conn.fill().await.expect("reads") {
                    Fill::Read(_) => {}
                    Fill::Eof => return (chunks, None),
                },
                Polled::Chunk(bytes) => chunks.extend_from_slice(&bytes),
                Polled::Response { value, raw } => return (chunks, Some((value, raw))),
            }
        }
    }

    /// `drain_ready` polls each read once and never touches the timer: on a
    /// runtime without a time driver, a zero timeout (which waited for the
    /// next 1-ms tick before every command) panics instead.
    #[test]
    fn drain_ready_takes_what_arrived_without_a_timer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime without time or io drivers");
        rt.block_on(async {
            let (client, mut server) = duplex(1024);
            let mut conn = Connection::new(client, Limits::default());
            assert_eq!(conn.drain_ready().await.expect("nothing yet"), 0);
            server.write_all(b"250 early\r\n").await.expect("write");
            assert_eq!(conn.drain_ready().await.expect("ready"), 11);
            assert_eq!(conn.buffered(), b"250 early\r\n");
            assert_eq!(conn.drain_ready().await.expect("nothing more"), 0);
        });
    }

    fn retr(lines: usize) -> Vec<u8> {
        let mut out = b"+OK message follows\r\n".to_vec();
        for i in 0..lines {
            out.extend_from_slice(
                format!("..{i:08} a body line of ordinary length, some seventy bytes\r\n")
                    .as_bytes(),
            );
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    #[tokio::test]
    async fn streamed_literal_is_exact_and_bounded() {
        let size = 5 << 20;
        let mut stream = format!("* 3 FETCH (BODY[] {{{size}}}\r\n").into_bytes();
        let header = stream.len();
        stream.extend((0..size).map(|i| (i % 251) as u8));
        stream.extend_from_slice(b")\r\na1 OK done\r\n");
        let mut conn = fed(stream.clone(), 7000, Limits::default());
        conn.set_streaming(Some(Streaming::default()));
        let (chunks, response) = next(&mut conn, |c| c.poll_imap()).await;
        let Some((Ok(imap::Response::Untagged { text, literals, .. }), Raw::Streamed(s))) =
            response
        else {
            panic!("not streamed");
        };
        assert_eq!(text, format!("3 FETCH (BODY[] {{{size}}})"));
        assert!(literals == [stream[header..header + 64 * 1024].to_vec()]);
        assert_eq!(s.size, stream.len() as u64 - 12);
        let sha: [u8; 32] = Sha256::digest(&stream[..stream.len() - 12]).into();
        assert_eq!(s.sha256, sha);
        assert!(stream.starts_with(&chunks) && !chunks.is_empty());
        // The tagged response after it is framed as usual.
        let (_, after) = next(&mut conn, |c| c.poll_imap()).await;
        assert!(
            matches!(after, Some((Ok(imap::Response::Tagged { .. }), Raw::Whole(raw))) if raw == b"a1 OK done\r\n")
        );
    }

    #[tokio::test]
    async fn pipelined_replies_come_out_in_order() {
        let stream =
            b"220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n250 2.1.0 Ok\r\njunk\r\n".to_vec();
        let mut conn = fed(stream, 5, Limits::default());
        let mut got = Vec::new();
        loop {
            match next(&mut conn, |c| c.poll_smtp()).await {
                (_, Some((value, Raw::Whole(raw)))) => {
                    got.push((value.map(|r| r.code.0), raw));
                }
                (_, Some((_, Raw::Streamed(_)))) => panic!("smtp never streams"),
                (_, None) => break,
            }
        }
        let codes: Vec<_> = got.iter().map(|(v, _)| v.clone().ok()).collect();
        assert_eq!(codes, [Some(220), Some(250), Some(250), None]);
        assert_eq!(got[1].1, b"250-mx\r\n250 PIPELINING\r\n");
    }

    #[tokio::test]
    async fn big_body_held_whole_costs_linear_work() {
        // 12 MiB in 16 KiB reads, held whole: scanned once, copied O(1)
        // times per byte (the buffer doubles), taken in one piece.
        let limits = Limits {
            max_lines: 1 << 20,
            ..Limits::default()
        };
        let body = retr(180_000);
        let mut conn = fed(body.clone(), 16 * 1024, limits);
        let (chunks, response) = next(&mut conn, |c| c.poll_pop3(pop3::Expect::MultiLine)).await;
        assert!(chunks.is_empty());
        let Some((
            Ok(pop3::Response::Status {
                body: Some(lines), ..
            }),
            Raw::Whole(raw),
        )) = response
        else {
            panic!("no body");
        };
        assert_eq!(lines.len(), 180_000);
        assert_eq!(
            lines[7],
            b".00000007 a body line of ordinary length, some seventy bytes"
        );
        assert!(raw == body);
        assert!(
            conn.scanned() <= 2 * body.len() as u64,
            "{}",
            conn.scanned()
        );
        assert!(conn.buffer_capacity() <= 2 * body.len() + READ_CHUNK);
    }

    #[tokio::test]
    async fn streamed_body_keeps_memory_bounded_and_bytes_exact() {
        let body = retr(300_000);
        let mut conn = fed(body.clone(), 16 * 1024, Limits::default());
        conn.set_streaming(Some(Streaming {
            above: 256 * 1024,
            preview: 4096,
        }));
        let mut chunks = Vec::new();
        let mut peak = 0;
        let response = loop {
            match conn.poll_pop3(pop3::Expect::MultiLine).expect("frames") {
                Polled::Incomplete => {
                    assert_ne!(conn.fill().await.expect("reads"), Fill::Eof);
                }
                Polled::Chunk(bytes) => chunks.extend_from_slice(&bytes),
                Polled::Response { value, raw } => break (value, raw),
            }
            peak = peak.max(conn.buffer_capacity());
        };
        // 21 MiB went through a buffer of the threshold and a few reads.
        assert!(
            peak <= 2 * (256 * 1024 + READ_CHUNK),
            "buffer grew to {peak}"
        );
        let (
            Ok(pop3::Response::Status {
                body: Some(preview),
                text,
                ..
            }),
            Raw::Streamed(s),
        ) = response
        else {
            panic!("not streamed");
        };
        assert_eq!(text, "message follows");
        assert!(!preview.is_empty() && preview.len() < 100);
        assert_eq!(s.size, body.len() as u64);
        assert!(s.preview == body[..4096]);
        assert!(s.tail == body[body.len() - TAIL..]);
        let sha: [u8; 32] = Sha256::digest(&body).into();
        assert_eq!(s.sha256, sha);
        // The chunks are the exact bytes, in order; the final piece is the rest.
        assert!(body.starts_with(&chunks));
        assert!(body.len() - chunks.len() <= 2 * READ_CHUNK);
    }
}
