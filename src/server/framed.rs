//! The server's side of the wire: one read buffer per connection, command
//! lines cut at LF with a hard length limit, IMAP literal bytes, idle
//! timeout, shutdown, and the STARTTLS upgrade.
//!
//! ```text
//! TcpStream / ServerTlsStream -> MailStream -> Framed { buf } -> Line -> smtp/imap/pop3 sessions
//! ```
//!
//! This is deliberately separate from `protocol::line` (the client's
//! response framing): the server reads commands, the client reads replies.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::tls::server::{ServerTls, ServerTlsStream};

/// Why no (more) input can be had from the peer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The peer closed the connection.
    #[error("connection closed by peer")]
    Closed,
    /// A line grew past the limit without a line ending.
    #[error("line exceeds {limit} bytes")]
    LineTooLong { limit: usize },
    /// Nothing arrived within the idle timeout.
    #[error("idle timeout")]
    Timeout,
    /// The server is shutting down.
    #[error("server shutting down")]
    Shutdown,
    /// A socket or TLS error.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// One command line as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Content without the line ending.
    pub bytes: Vec<u8>,
    /// True when the line ended in CRLF, false for a bare LF.
    pub crlf: bool,
}

impl Line {
    /// The content as text; invalid UTF-8 is replaced, never fatal.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The byte stream under a session: plaintext TCP, or TLS after a handshake.
#[derive(Debug)]
pub(crate) enum MailStream {
    Plain(TcpStream),
    Tls(Box<ServerTlsStream>),
    /// Placeholder while the stream is being upgraded; reads see EOF.
    Detached,
}

impl MailStream {
    /// True once TLS is established.
    pub fn is_tls(&self) -> bool {
        matches!(self, MailStream::Tls(_))
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            MailStream::Detached => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            MailStream::Detached => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            MailStream::Detached => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            MailStream::Detached => Poll::Ready(Ok(())),
        }
    }
}

/// Limits that bound every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireLimits {
    /// Longest command line, without its ending.
    pub max_line: usize,
    /// Idle time allowed between reads.
    pub idle: Duration,
    /// Time allowed for a TLS handshake.
    pub handshake: Duration,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            max_line: 64 * 1024,
            idle: Duration::from_secs(300),
            handshake: Duration::from_secs(30),
        }
    }
}

/// A connection with its read buffer.
pub(crate) struct Framed<S> {
    stream: S,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
    limits: WireLimits,
    shutdown: watch::Receiver<bool>,
    /// `--quirk empty-lines`: an empty line before every write but the first.
    empty_lines: bool,
    /// Something was written already (the greeting).
    sent: bool,
    /// `--quirk starttls-injection`: written in plaintext before the handshake.
    inject: Option<&'static [u8]>,
}

const READ_CHUNK: usize = 8 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    pub fn new(stream: S, limits: WireLimits, shutdown: watch::Receiver<bool>) -> Self {
        Framed {
            stream,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            limits,
            shutdown,
            empty_lines: false,
            sent: false,
            inject: None,
        }
    }

    /// Switches on the misbehaviours that live at this layer
    /// (`serve --quirk empty-lines`, `--quirk starttls-injection`).
    pub fn set_quirks(&mut self, empty_lines: bool, inject: Option<&'static [u8]>) {
        self.empty_lines = empty_lines;
        self.inject = inject;
    }

    /// Reads the next line within the idle timeout.
    pub async fn read_line(&mut self) -> Result<Line, WireError> {
        self.read_line_within(self.limits.idle).await
    }

    /// Reads the next line, allowing `wait` of silence (IMAP IDLE waits longer).
    ///
    /// Cancel-safe: bytes join the buffer only after a read completes, so a
    /// caller may race this against other events with `select!`.
    pub async fn read_line_within(&mut self, wait: Duration) -> Result<Line, WireError> {
        loop {
            if let Some(line) = self.take_line()? {
                return Ok(line);
            }
            self.fill(wait).await?;
        }
    }

    /// Takes a whole line from the buffer if one is there.
    fn take_line(&mut self) -> Result<Option<Line>, WireError> {
        let pending = &self.buf[self.start..];
        let limit = self.limits.max_line;
        match pending.iter().position(|&b| b == b'\n') {
            Some(pos) => {
                let mut bytes = pending[..pos].to_vec();
                let crlf = bytes.last() == Some(&b'\r');
                if crlf {
                    bytes.pop();
                }
                self.start += pos + 1;
                self.compact();
                if bytes.len() > limit {
                    return Err(WireError::LineTooLong { limit });
                }
                Ok(Some(Line { bytes, crlf }))
            }
            // +2 leaves room for the CRLF of a line exactly at the limit.
            None if pending.len() > limit + 2 => Err(WireError::LineTooLong { limit }),
            None => Ok(None),
        }
    }

    /// Reads exactly `n` bytes (an IMAP literal, RFC 9051 §4.3); the caller
    /// bounds `n` before asking.
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, WireError> {
        while self.buf.len() - self.start < n {
            self.fill(self.limits.idle).await?;
        }
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        self.compact();
        Ok(out)
    }

    /// True when more input is already buffered (a pipelining client).
    #[cfg(test)]
    pub fn has_buffered_input(&self) -> bool {
        self.buf.len() > self.start
    }

    /// Writes `bytes` and flushes them.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        if self.empty_lines && self.sent {
            self.stream.write_all(b"\r\n").await?;
        }
        self.sent = true;
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Writes one line, adding CRLF.
    pub async fn send_line(&mut self, line: &str) -> Result<(), WireError> {
        let mut out = Vec::with_capacity(line.len() + 2);
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.send(&out).await
    }

    /// Closes the write side, ignoring errors: the peer may be gone already.
    pub async fn close(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    async fn fill(&mut self, wait: Duration) -> Result<(), WireError> {
        if *self.shutdown.borrow() {
            return Err(WireError::Shutdown);
        }
        let mut chunk = [0u8; READ_CHUNK];
        let read = tokio::time::timeout(wait, self.stream.read(&mut chunk));
        let n = tokio::select! {
            r = read => r.map_err(|_| WireError::Timeout)??,
            _ = self.shutdown.changed() => return Err(WireError::Shutdown),
        };
        if n == 0 {
            return Err(WireError::Closed);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > READ_CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

impl Framed<MailStream> {
    /// Upgrades to TLS after a STARTTLS/STLS reply has been sent, returning
    /// how many buffered plaintext bytes were thrown away.
    ///
    /// Anything the client sent after the STARTTLS line and before the
    /// handshake is discarded, never read as a command inside TLS: acting on
    /// it is the command-injection flaw of CVE-2011-0411 (RFC 3207 §4.2
    /// lets the server forget all pre-TLS state). The handshake reads the
    /// socket directly, so it never sees the discarded bytes either.
    pub async fn start_tls(&mut self, tls: &ServerTls) -> Result<usize, WireError> {
        let discarded = self.buf.len() - self.start;
        self.buf.clear();
        self.start = 0;
        let mut tcp = match std::mem::replace(&mut self.stream, MailStream::Detached) {
            MailStream::Plain(tcp) => tcp,
            other => {
                self.stream = other;
                return Err(WireError::Io(io::Error::other("TLS already active")));
            }
        };
        if let Some(line) = self.inject {
            super::quirk::inject(&mut tcp, line).await;
        }
        let handshake = tokio::time::timeout(self.limits.handshake, tls.accept(tcp));
        let tls_stream = tokio::select! {
            r = handshake => r.map_err(|_| WireError::Timeout)??,
            _ = self.shutdown.changed() => return Err(WireError::Shutdown),
        };
        self.stream = MailStream::Tls(Box::new(tls_stream));
        Ok(discarded)
    }

    /// True once TLS is established on this connection.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

    fn framed(max_line: usize) -> (Framed<DuplexStream>, DuplexStream, watch::Sender<bool>) {
        let (a, b) = duplex(1 << 20);
        let (tx, rx) = watch::channel(false);
        let limits = WireLimits {
            max_line,
            idle: Duration::from_secs(5),
            handshake: Duration::from_secs(5),
        };
        (Framed::new(a, limits, rx), b, tx)
    }

    #[tokio::test]
    async fn pipelined_lines_come_out_one_by_one() {
        let (mut f, mut peer, _tx) = framed(100);
        peer.write_all(b"EHLO x\r\nNOOP\nQUIT\r\n").await.unwrap();
        assert_eq!(
            f.read_line().await.unwrap(),
            Line {
                bytes: b"EHLO x".to_vec(),
                crlf: true
            }
        );
        assert!(f.has_buffered_input());
        assert_eq!(
            f.read_line().await.unwrap(),
            Line {
                bytes: b"NOOP".to_vec(),
                crlf: false
            }
        );
        assert_eq!(f.read_line().await.unwrap().bytes, b"QUIT");
        assert!(!f.has_buffered_input());
    }

    #[tokio::test]
    async fn line_split_across_reads_is_joined() {
        let (mut f, mut peer, _tx) = framed(100);
        let reader = tokio::spawn(async move { f.read_line().await.map(|l| l.bytes) });
        peer.write_all(b"NO").await.unwrap();
        tokio::task::yield_now().await;
        peer.write_all(b"OP\r\n").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), b"NOOP");
    }

    #[tokio::test]
    async fn over_long_line_is_an_error_not_a_buffer() {
        let (mut f, mut peer, _tx) = framed(16);
        peer.write_all(&[b'A'; 64]).await.unwrap();
        assert!(matches!(
            f.read_line().await,
            Err(WireError::LineTooLong { limit: 16 })
        ));
    }

    #[tokio::test]
    async fn long_line_with_ending_is_still_refused() {
        let (mut f, mut peer, _tx) = framed(4);
        peer.write_all(b"ABCDEF\r\n").await.unwrap();
        assert!(matches!(
            f.read_line().await,
            Err(WireError::LineTooLong { .. })
        ));
    }

    #[tokio::test]
    async fn literal_bytes_then_rest_of_line() {
        let (mut f, mut peer, _tx) = framed(100);
        peer.write_all(b"hello\r\nworld rest\r\n").await.unwrap();
        assert_eq!(f.read_exact(7).await.unwrap(), b"hello\r\n");
        assert_eq!(f.read_line().await.unwrap().bytes, b"world rest");
    }

    #[tokio::test]
    async fn eof_and_shutdown_are_reported() {
        let (mut f, peer, tx) = framed(100);
        drop(peer);
        assert!(matches!(f.read_line().await, Err(WireError::Closed)));
        let (mut f, _peer, tx2) = framed(100);
        drop(tx);
        tx2.send(true).unwrap();
        assert!(matches!(f.read_line().await, Err(WireError::Shutdown)));
    }

    #[tokio::test]
    async fn silence_times_out() {
        let (mut f, _peer, _tx) = framed(100);
        f.limits.idle = Duration::from_millis(50);
        assert!(matches!(f.read_line().await, Err(WireError::Timeout)));
    }
}
