//! The demo account's one mailbox, INBOX, shared by every session of a
//! server: SMTP delivers into it, IMAP and POP3 read it.
//!
//! Messages are RFC 5322 text with CRLF line endings (RFC 5322 §2.1), each
//! with a UID (RFC 9051 §2.3.1.1) and the system flags.

use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::watch;

/// A message flag (RFC 9051 §2.3.2); stored as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flags(u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);
    /// Session flag: delivered since the server started, not yet selected.
    pub const RECENT: Flags = Flags(32);

    /// Names in the order IMAP lists them.
    const NAMES: [(Flags, &'static str); 6] = [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
        (Flags::RECENT, "\\Recent"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }

    /// Parses a system flag name such as `\Seen`, case-insensitively.
    /// `\Recent` cannot be set by clients, so it is not accepted.
    pub fn parse(name: &str) -> Option<Flags> {
        Flags::NAMES
            .iter()
            .find(|(f, n)| *f != Flags::RECENT && n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }

    /// The IMAP flag list, e.g. `(\Seen \Recent)`.
    pub fn imap_list(self) -> String {
        let names: Vec<&str> = Flags::NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect();
        format!("({})", names.join(" "))
    }
}

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub uid: u32,
    pub flags: Flags,
    pub internal_date: OffsetDateTime,
    /// The whole message, CRLF line endings.
    pub raw: Arc<[u8]>,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MailboxError {
    #[error("mailbox full ({0} messages)")]
    Full(usize),
}

struct Inner {
    messages: Vec<Message>,
    next_uid: u32,
}

/// INBOX of the demo user.
pub(crate) struct Mailbox {
    inner: Mutex<Inner>,
    uid_validity: u32,
    /// Bumped on every change, so IMAP IDLE can announce new mail.
    changed: watch::Sender<u64>,
}

/// The most messages the demo INBOX holds; deliveries past this are refused.
pub(crate) const MAX_MESSAGES: usize = 1000;

const WELCOME: &str = "Return-Path: <postmaster@localhost>\r
Received: from localhost (localhost [127.0.0.1])\r
\tby localhost (mailwire) with ESMTPS id 4A1B2C3D4E\r
\tfor <demo@localhost>; Mon, 06 Jan 2025 09:00:00 +0000\r
Date: Mon, 06 Jan 2025 09:00:00 +0000\r
From: Mailwire Postmaster <postmaster@localhost>\r
To: Demo User <demo@localhost>\r
Subject: Welcome to the mailwire demo mailbox\r
Message-ID: <welcome.1@localhost>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=us-ascii\r
Content-Transfer-Encoding: 7bit\r
\r
Hello Demo,\r
\r
this is the first message of the mailwire demo server. It is already\r
marked \\Seen. Fetch it with IMAP (FETCH 1 BODY[]) or POP3 (RETR 1).\r
\r
-- \r
mailwire\r
";

const SECOND: &str = "Return-Path: <alice@mailwire.test>\r
Received: from client.mailwire.test (localhost [127.0.0.1])\r
\tby localhost (mailwire) with ESMTPSA id 5B2C3D4E5F\r
\tfor <demo@localhost>; Tue, 07 Jan 2025 10:30:00 +0000\r
Date: Tue, 07 Jan 2025 10:30:00 +0000\r
From: Alice Example <alice@mailwire.test>\r
To: Demo User <demo@localhost>\r
Cc: Bob Example <bob@mailwire.test>\r
Subject: Lines that start with a dot\r
Message-ID: <dots.2@mailwire.test>\r
In-Reply-To: <welcome.1@localhost>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=us-ascii\r
Content-Transfer-Encoding: 7bit\r
\r
Hi Demo,\r
\r
the next line starts with a dot, so SMTP DATA and POP3 RETR send it\r
with the dot doubled (RFC 5321 section 4.5.2, RFC 1939 section 3):\r
.signature line\r
\r
and a line that is only a dot follows:\r
.\r
Alice\r
";

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic elsewhere must not take the mailbox down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Mailbox {
    /// The seeded INBOX: a seen welcome message and an unseen second one.
    pub fn seeded(uid_validity: u32) -> Mailbox {
        let date =
            |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let messages = vec![
            Message {
                uid: 1,
                flags: Flags::SEEN,
                internal_date: date(1_736_154_000),
                raw: Arc::from(WELCOME.as_bytes()),
            },
            Message {
                uid: 2,
                flags: Flags::default(),
                internal_date: date(1_736_245_800),
                raw: Arc::from(SECOND.as_bytes()),
            },
        ];
        let (changed, _) = watch::channel(0);
        Mailbox {
            inner: Mutex::new(Inner {
                messages,
                next_uid: 3,
            }),
            uid_validity,
            changed,
        }
    }

    /// UIDVALIDITY of INBOX (RFC 9051 §2.3.1.1).
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// The UID the next delivery will get.
    pub fn uid_next(&self) -> u32 {
        lock(&self.inner).next_uid
    }

    /// A copy of every message, in UID order.
    pub fn snapshot(&self) -> Vec<Message> {
        lock(&self.inner).messages.clone()
    }

    /// One message by UID, if still present.
    pub fn get(&self, uid: u32) -> Option<Message> {
        lock(&self.inner)
            .messages
            .iter()
            .find(|m| m.uid == uid)
            .cloned()
    }

    /// Appends a delivered message and returns its UID.
    pub fn append(&self, raw: Vec<u8>) -> Result<u32, MailboxError> {
        let uid = {
            let mut inner = lock(&self.inner);
            if inner.messages.len() >= MAX_MESSAGES {
                return Err(MailboxError::Full(MAX_MESSAGES));
            }
            let uid = inner.next_uid;
            inner.next_uid = inner.next_uid.saturating_add(1);
            inner.messages.push(Message {
                uid,
                flags: Flags::RECENT,
                internal_date: OffsetDateTime::now_utc(),
                raw: Arc::from(raw),
            });
            uid
        };
        self.changed.send_modify(|n| *n += 1);
        Ok(uid)
    }

    /// Applies `f` to the flags of `uid` and returns the new flags.
    pub fn update_flags(&self, uid: u32, f: impl FnOnce(&mut Flags)) -> Option<Flags> {
        let mut inner = lock(&self.inner);
        let msg = inner.messages.iter_mut().find(|m| m.uid == uid)?;
        f(&mut msg.flags);
        Some(msg.flags)
    }

    /// Clears `\Recent` on every message: the first SELECT has seen them.
    pub fn take_recent(&self) -> usize {
        let mut inner = lock(&self.inner);
        let mut n = 0;
        for m in inner.messages.iter_mut() {
            if m.flags.contains(Flags::RECENT) {
                m.flags.remove(Flags::RECENT);
                n += 1;
            }
        }
        n
    }

    /// Removes the given UIDs (POP3 QUIT after DELE, IMAP EXPUNGE).
    pub fn expunge(&self, uids: &[u32]) {
        if uids.is_empty() {
            return;
        }
        lock(&self.inner)
            .messages
            .retain(|m| !uids.contains(&m.uid));
        self.changed.send_modify(|n| *n += 1);
    }

    /// A receiver that changes whenever the mailbox does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn seeded_messages_use_crlf_only() {
        let mb = Mailbox::seeded(1);
        for m in mb.snapshot() {
            for (i, &b) in m.raw.iter().enumerate() {
                if b == b'\n' {
                    assert_eq!(m.raw[i - 1], b'\r', "bare LF in uid {}", m.uid);
                }
            }
            assert!(m.raw.ends_with(b"\r\n"));
        }
    }

    #[test]
    fn seeded_flags_and_uids() {
        let mb = Mailbox::seeded(7);
        let msgs = mb.snapshot();
        assert_eq!(msgs.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 2]);
        assert!(msgs[0].flags.contains(Flags::SEEN));
        assert!(!msgs[1].flags.contains(Flags::SEEN));
        assert_eq!(mb.uid_next(), 3);
        assert_eq!(mb.uid_validity(), 7);
    }

    #[test]
    fn append_notifies_and_is_bounded() {
        let mb = Mailbox::seeded(1);
        let mut rx = mb.subscribe();
        assert_eq!(mb.append(b"Subject: x\r\n\r\nhi\r\n".to_vec()), Ok(3));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        for _ in 3..MAX_MESSAGES {
            mb.append(b"x\r\n".to_vec()).unwrap();
        }
        assert_eq!(
            mb.append(b"x\r\n".to_vec()),
            Err(MailboxError::Full(MAX_MESSAGES))
        );
        mb.expunge(&[1]);
        assert!(mb.get(1).is_none());
        assert_eq!(mb.take_recent(), MAX_MESSAGES - 2);
    }

    #[test]
    fn flag_lists_and_names() {
        let mut f = Flags::SEEN;
        f.insert(Flags::RECENT);
        assert_eq!(f.imap_list(), "(\\Seen \\Recent)");
        assert_eq!(Flags::default().imap_list(), "()");
        assert_eq!(Flags::parse("\\flagged"), Some(Flags::FLAGGED));
        assert_eq!(Flags::parse("\\Recent"), None);
        assert_eq!(Flags::parse("$Junk"), None);
    }
}
