//! Throughput of the three response parsers over realistic server output:
//! a large EHLO reply, an IMAP FETCH carrying a 64 KiB literal, a ~1 MB POP3
//! RETR body with dot-stuffed lines, and streams of many small responses as
//! a pipelining client would see them.
//!
//! The `big` group frames 100 MiB bodies (a POP3 `RETR` and an IMAP `FETCH`
//! literal) as a connection receives them, in 16 KiB reads, with the
//! stateful framers: throughput must not depend on how the bytes were split.
//! The `rescan` group shows what the stateless parsers cost when called
//! again from the start of the buffer after every read (what the engine did
//! before the framers): quadratic, so it is measured at 1 to 16 MiB only.
//!
//! Run with `cargo bench --bench parsers` (`-- big` for the big group).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mailwire::protocol::{Frame, Limits, Step, Streaming, imap, pop3, smtp};

/// Postfix's EHLO reply followed by many extension keywords, as a large
/// Exchange or Sendmail reply with vendor extensions would look.
fn large_ehlo() -> Vec<u8> {
    let mut out = b"250-mail.test.example\r\n\
        250-PIPELINING\r\n\
        250-SIZE 10240000\r\n\
        250-VRFY\r\n\
        250-ETRN\r\n\
        250-STARTTLS\r\n\
        250-AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256 XOAUTH2\r\n\
        250-AUTH=PLAIN LOGIN\r\n\
        250-ENHANCEDSTATUSCODES\r\n\
        250-8BITMIME\r\n\
        250-DSN\r\n\
        250-SMTPUTF8\r\n"
        .to_vec();
    for i in 0..200 {
        out.extend_from_slice(
            format!("250-X-VENDOR-EXTENSION-{i} PARAM-A PARAM-B {i}\r\n").as_bytes(),
        );
    }
    out.extend_from_slice(b"250 CHUNKING\r\n");
    out
}

/// Replies to a pipelined transaction (RFC 2920), repeated.
fn smtp_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..2000 {
        out.extend_from_slice(
            b"250 2.1.0 Ok\r\n\
              250 2.1.5 Ok\r\n\
              354 End data with <CR><LF>.<CR><LF>\r\n\
              250 2.0.0 Ok: queued as 4BXQ2Z3kLNz9vQp\r\n\
              550 5.1.1 <nobody@test.example>: Recipient address rejected: User unknown\r\n",
        );
    }
    out
}

/// `* 1 FETCH (UID 42 BODY[] {65536} ...)` with a message-like literal.
fn imap_fetch_64k() -> Vec<u8> {
    let mut literal = Vec::with_capacity(65536);
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n";
    while literal.len() + line.len() <= 65536 {
        literal.extend_from_slice(line);
    }
    literal.resize(65536, b'x');
    let mut out = format!(
        "* 1 FETCH (UID 42 FLAGS (\\Seen) BODY[] {{{}}}\r\n",
        literal.len()
    )
    .into_bytes();
    out.extend_from_slice(&literal);
    out.extend_from_slice(b")\r\n");
    out
}

/// Untagged data and tagged completions as after a `UID FETCH 1:* FLAGS`.
fn imap_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=10_000 {
        out.extend_from_slice(
            format!("* {i} FETCH (UID {i} FLAGS (\\Seen \\Answered))\r\n").as_bytes(),
        );
    }
    out.extend_from_slice(b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n");
    out.extend_from_slice(b"a7 OK Fetch completed (0.012 + 0.000 + 0.011 secs).\r\n");
    out
}

/// `+OK` and a ~1 MB message, every tenth line dot-stuffed (RFC 1939 §3).
fn pop3_retr_1m() -> Vec<u8> {
    let mut out = b"+OK 1048576 octets\r\n".to_vec();
    let mut i = 0;
    while out.len() < 1024 * 1024 {
        if i % 10 == 0 {
            out.extend_from_slice(b"..a line that started with a dot in the original message\r\n");
        } else {
            out.extend_from_slice(
                b"Quoted-printable or plain text body line of a typical mail.\r\n",
            );
        }
        i += 1;
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Single-line replies as to STAT, LIST n, DELE n, repeated.
fn pop3_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..5000 {
        out.extend_from_slice(
            format!("+OK {i} 4286\r\n+OK message {i} deleted\r\n-ERR [IN-USE] Mailbox locked\r\n")
                .as_bytes(),
        );
    }
    out
}

/// Parses responses from the front of `buf` until it is consumed; returns the count.
fn drain<T: std::fmt::Debug>(
    buf: &[u8],
    mut parse: impl FnMut(&[u8]) -> mailwire::protocol::Result<T>,
) -> usize {
    let mut pos = 0;
    let mut count = 0;
    while pos < buf.len() {
        match parse(&buf[pos..]) {
            Ok(Frame::Complete { value, len }) => {
                black_box(value);
                pos += len;
            }
            other => panic!("bench input does not parse: {other:?}"),
        }
        count += 1;
    }
    count
}

fn smtp(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("smtp");
    for (name, input) in [
        ("ehlo_214_lines", large_ehlo()),
        ("pipelined_10k_replies", smtp_stream()),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| drain(black_box(&input), |buf| smtp::parse_reply(buf, &limits)))
        });
    }
    group.finish();
}

fn imap(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("imap");
    for (name, input) in [
        ("fetch_64k_literal", imap_fetch_64k()),
        ("10k_small_responses", imap_stream()),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| drain(black_box(&input), |buf| imap::parse_response(buf, &limits)))
        });
    }
    group.finish();
}

fn pop3(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("pop3");
    let retr = pop3_retr_1m();
    group.throughput(Throughput::Bytes(retr.len() as u64));
    group.bench_function("retr_1m_dot_stuffed", |b| {
        b.iter(|| {
            drain(black_box(&retr), |buf| {
                pop3::parse_response(buf, pop3::Expect::MultiLine, &limits)
            })
        })
    });
    let stream = pop3_stream();
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("15k_single_lines", |b| {
        b.iter(|| {
            drain(black_box(&stream), |buf| {
                pop3::parse_response(buf, pop3::Expect::Single, &limits)
            })
        })
    });
    group.finish();
}

/// Bytes per read, as `session::Connection` asks for.
const READ: usize = 16 * 1024;

/// `+OK` and a message of `size` bytes of ~62-byte lines, every tenth dot-stuffed.
fn pop3_retr(size: usize) -> Vec<u8> {
    let mut out = format!("+OK {size} octets\r\n").into_bytes();
    let mut i = 0;
    while out.len() < size {
        if i % 10 == 0 {
            out.extend_from_slice(b"..a line that started with a dot in the original message\r\n");
        } else {
            out.extend_from_slice(
                b"Quoted-printable or plain text body line of a typical mail.\r\n",
            );
        }
        i += 1;
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// `* 1 FETCH (UID 7 BODY[] {size}` with a message-like literal, then `)`.
fn imap_fetch(size: usize) -> Vec<u8> {
    let mut out = format!("* 1 FETCH (UID 7 BODY[] {{{size}}}\r\n").into_bytes();
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n";
    let start = out.len();
    while out.len() - start + line.len() <= size {
        out.extend_from_slice(line);
    }
    out.resize(start + size, b'x');
    out.extend_from_slice(b")\r\n");
    out
}

/// Feeds `input` to `poll` as reads of [`READ`] bytes would arrive, removing
/// what it releases, until it answers a frame; returns the frame's bytes.
fn framed<T>(
    input: &[u8],
    mut poll: impl FnMut(&[u8]) -> Result<Step<T>, mailwire::protocol::ParseError>,
) -> usize {
    let (mut start, mut end) = (0, 0);
    loop {
        end = (end + READ).min(input.len());
        loop {
            match poll(&input[start..end]) {
                Ok(Step::Partial { len }) => start += len,
                Ok(Step::Frame(Frame::Incomplete)) if end < input.len() => break,
                Ok(Step::Frame(Frame::Complete { value, len })) => {
                    black_box(value);
                    return start + len;
                }
                other => panic!("bench input does not frame: {:?}", other.map(|_| ())),
            }
        }
    }
}

fn big(c: &mut Criterion) {
    let limits = Limits {
        max_lines: 4_000_000,
        max_literal: 128 << 20,
        ..Limits::default()
    };
    let mut group = c.benchmark_group("big");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let retr = pop3_retr(100 << 20);
    group.throughput(Throughput::Bytes(retr.len() as u64));
    group.bench_function("pop3_retr_100m_streamed", |b| {
        b.iter(|| {
            let mut framer = pop3::Framer::new(limits);
            framer.set_streaming(Some(Streaming::default()));
            framed(black_box(&retr), |buf| {
                framer.poll_step(buf, pop3::Expect::MultiLine)
            })
        })
    });
    group.bench_function("pop3_retr_100m_held", |b| {
        b.iter(|| {
            let mut framer = pop3::Framer::new(limits);
            framed(black_box(&retr), |buf| {
                framer.poll(buf, pop3::Expect::MultiLine).map(Step::Frame)
            })
        })
    });
    drop(retr);
    let fetch = imap_fetch(100 << 20);
    group.throughput(Throughput::Bytes(fetch.len() as u64));
    group.bench_function("imap_fetch_100m_literal_streamed", |b| {
        b.iter(|| {
            let mut framer = imap::Framer::new(limits);
            framer.set_streaming(Some(Streaming::default()));
            framed(black_box(&fetch), |buf| framer.poll_step(buf))
        })
    });
    group.bench_function("imap_fetch_100m_literal_held", |b| {
        b.iter(|| {
            let mut framer = imap::Framer::new(limits);
            framed(black_box(&fetch), |buf| framer.poll(buf).map(Step::Frame))
        })
    });
    group.finish();
}

fn rescan(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("rescan");
    group.sample_size(10);
    for mib in [1usize, 4, 16] {
        let retr = pop3_retr(mib << 20);
        group.throughput(Throughput::Bytes(retr.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("pop3_retr_stateless", mib),
            &retr,
            |b, retr| {
                b.iter(|| {
                    framed(black_box(retr), |buf| {
                        pop3::parse_response(buf, pop3::Expect::MultiLine, &limits).map(Step::Frame)
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("pop3_retr_framer", mib),
            &retr,
            |b, retr| {
                b.iter(|| {
                    let mut framer = pop3::Framer::new(limits);
                    framed(black_box(retr), |buf| {
                        framer.poll(buf, pop3::Expect::MultiLine).map(Step::Frame)
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, smtp, imap, pop3, big, rescan);
criterion_main!(benches);
