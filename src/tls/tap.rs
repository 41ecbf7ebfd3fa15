//! A pass-through stream that keeps a copy of the first bytes each way
//! during the TLS handshake, so a failed handshake can still show what was
//! offered (the ClientHello) and what the server answered (its ServerHello,
//! a plaintext alert, or bytes that are not TLS at all).
//!
//! ```text
//! Session socket <-> Tap (copies up to 64 KiB each way until stop()) <-> rustls
//! ```
//!
//! After the handshake the engine keeps using the same stream; `stop()`
//! drops the copy so nothing more is held.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes kept per direction, enough for a server's first flight with a
/// long chain; the rest of the handshake is encrypted (TLS 1.3) or not needed.
pub const CAPTURE_LIMIT: usize = 64 * 1024;

/// The bytes seen so far, each direction capped at [`CAPTURE_LIMIT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capture {
    /// Written by the client (the ClientHello first).
    pub sent: Vec<u8>,
    /// Read from the server.
    pub received: Vec<u8>,
}

/// A stream `S` whose handshake bytes are copied into a [`Capture`].
#[derive(Debug)]
pub struct Tap<S> {
    inner: S,
    capture: Option<Capture>,
}

impl<S> Tap<S> {
    /// Starts copying.
    pub fn new(inner: S) -> Tap<S> {
        Tap {
            inner,
            capture: Some(Capture::default()),
        }
    }

    /// What was copied so far (empty after [`Tap::stop`]).
    pub fn capture(&self) -> Capture {
        self.capture.clone().unwrap_or_default()
    }

    /// Stops copying and frees the copy.
    pub fn stop(&mut self) {
        self.capture = None;
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

fn keep(into: &mut Vec<u8>, bytes: &[u8]) {
    let room = CAPTURE_LIMIT.saturating_sub(into.len());
    into.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(capture)) = (&poll, this.capture.as_mut()) {
            keep(&mut capture.received, &buf.filled()[before..]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, data);
        if let (Poll::Ready(Ok(n)), Some(capture)) = (&poll, this.capture.as_mut()) {
            keep(&mut capture.sent, &data[..*n]);
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn copies_both_ways_until_stopped() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut tap = Tap::new(a);
        tap.write_all(b"hello").await.unwrap();
        b.write_all(b"world").await.unwrap();
        let mut got = [0u8; 5];
        tap.read_exact(&mut got).await.unwrap();
        assert_eq!(
            tap.capture(),
            Capture {
                sent: b"hello".to_vec(),
                received: b"world".to_vec()
            }
        );
        tap.stop();
        tap.write_all(b"more").await.unwrap();
        assert_eq!(tap.capture(), Capture::default());
        // The cap holds however much passes.
        let (a, _b) = tokio::io::duplex(1 << 20);
        let mut tap = Tap::new(a);
        let big = vec![1u8; CAPTURE_LIMIT + 10];
        tap.write_all(&big).await.unwrap();
        assert_eq!(tap.capture().sent.len(), CAPTURE_LIMIT);
    }
}
