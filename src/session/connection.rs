//! One connection's transport and read buffer: plaintext or TLS over the
//! same stream, framed into whole responses by `protocol`.
//!
//! Reads are bounded: the buffer never grows past one response's limit
//! (a line of `max_line` bytes, or a literal of `max_literal` plus a line).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::protocol::Limits;
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
    buf: Vec<u8>,
    limits: Limits,
}

/// What a read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// `n` more bytes are buffered.
    Read(usize),
    /// The peer closed the connection.
    Eof,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// A plaintext connection over `stream`.
    pub fn new(stream: S, limits: Limits) -> Self {
        Self {
            transport: Transport::Plain(stream),
            buf: Vec::new(),
            limits,
        }
    }

    /// True once TLS is established.
    pub fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls(_))
    }

    /// Unframed bytes held.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Capacity of the read buffer in bytes, for memory-bound tests.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Removes and returns the first `len` buffered bytes.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        let len = len.min(self.buf.len());
        self.buf.drain(..len).collect()
    }

    /// Reads more bytes (cancel-safe: nothing is lost if the future is dropped).
    ///
    /// # Errors
    /// I/O errors, and `InvalidData` when one response would exceed the limits.
    pub async fn fill(&mut self) -> io::Result<Fill> {
        let cap = self.limits.max_literal.saturating_add(self.limits.max_line);
        if self.buf.len() >= cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response exceeds {cap} bytes"),
            ));
        }
        let want = READ_CHUNK.min(cap - self.buf.len());
        self.buf.reserve_exact(want);
        let mut limited = (&mut self.transport).take(want as u64);
        match limited.read_buf(&mut self.buf).await? {
            0 => Ok(Fill::Eof),
            n => Ok(Fill::Read(n)),
        }
    }

    /// Reads whatever has already arrived, without waiting.
    pub async fn drain_ready(&mut self) -> io::Result<usize> {
        let mut total = 0;
        for _ in 0..64 {
            match tokio::time::timeout(Duration::ZERO, self.fill()).await {
                Ok(Ok(Fill::Read(n))) => total += n,
                Ok(Ok(Fill::Eof)) | Err(_) => break,
                Ok(Err(e)) => return Err(e),
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
            Transport::Plain(s) => Some((s, std::mem::take(&mut self.buf))),
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
