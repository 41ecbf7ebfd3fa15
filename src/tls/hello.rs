//! Sans-IO reading of the plaintext part of a TLS handshake, as captured by
//! [`super::tap::Tap`]: what the client offered (its ClientHello) and what the
//! server answered (ServerHello or HelloRetryRequest, TLS 1.2 Certificate,
//! ServerKeyExchange and CertificateRequest, alerts), so a failed handshake
//! can say what was offered and what the server chose. Also builds the raw
//! ClientHello the diagnosis probe sends to learn what a server wants that
//! rustls does not implement (TLS 1.0, DHE, P-521).
//!
//! ```text
//! record:    type(1) version(2) length(2) fragment         RFC 8446 §5.1, RFC 5246 §6.2
//! handshake: msg_type(1) length(3) body                    RFC 8446 §4
//! alert:     level(1) description(1)                       RFC 8446 §6
//! ```
//!
//! Everything after the server's ChangeCipherSpec or first encrypted record
//! is opaque here (TLS 1.3 encrypts from EncryptedExtensions on). Every read
//! is bounds-checked: the bytes come from the network.

use super::Alert;

const RECORD_CHANGE_CIPHER_SPEC: u8 = 20;
const RECORD_ALERT: u8 = 21;
const RECORD_HANDSHAKE: u8 = 22;
const RECORD_APPLICATION_DATA: u8 = 23;

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_KEY_EXCHANGE: u8 = 12;
const HS_CERTIFICATE_REQUEST: u8 = 13;
const HS_SERVER_HELLO_DONE: u8 = 14;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_KEY_SHARE: u16 = 51;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a ClientHello offered (RFC 8446 §4.1.2), wire codes in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOffer {
    /// From supported_versions, else the legacy_version alone.
    pub versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    /// supported_groups (named groups).
    pub groups: Vec<u16>,
    /// Groups with a key share in the first flight.
    pub key_shares: Vec<u16>,
    /// The server_name (SNI) host name, as sent.
    pub sni: Option<String>,
    pub alpn: Vec<String>,
}

/// What the server's ServerHello (or HelloRetryRequest) chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerChoice {
    /// supported_versions when present (TLS 1.3), else legacy_version.
    pub version: u16,
    pub cipher_suite: u16,
    /// The key_share group (TLS 1.3), or the named curve of a TLS 1.2
    /// ServerKeyExchange.
    pub group: Option<u16>,
    /// True for a HelloRetryRequest: the server asked for a share of `group`.
    pub hello_retry: bool,
    /// A TLS 1.2 ServerKeyExchange with finite-field DH parameters: the prime's size in bits.
    pub dh_bits: Option<usize>,
}

/// Everything readable in the server's plaintext flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFlight {
    pub hello: Option<ServerChoice>,
    /// A second ServerHello after a HelloRetryRequest.
    pub hello_after_retry: Option<ServerChoice>,
    /// Alerts sent in the clear: (level, alert, the record's exact bytes).
    pub alerts: Vec<(u8, Alert, Vec<u8>)>,
    /// TLS 1.2 Certificate message: DER, leaf first.
    pub certificates: Vec<Vec<u8>>,
    /// A TLS 1.2 CertificateRequest was seen (TLS 1.3 sends it encrypted).
    pub certificate_request: bool,
    /// The first bytes did not form a TLS record: the exact bytes (up to 256).
    pub not_tls: Option<Vec<u8>>,
    /// The server's ServerHelloDone (TLS 1.2) was seen.
    pub hello_done: bool,
}

/// A bounds-checked reader over bytes from the network.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

fn u16_list(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Splits `bytes` into (type, whole record bytes, fragment) for the records
/// that are complete; stops at the first that is not.
fn records(bytes: &[u8]) -> Vec<(u8, &[u8], &[u8])> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + len {
            break;
        }
        out.push((rest[0], &rest[..5 + len], &rest[5..5 + len]));
        rest = &rest[5 + len..];
    }
    out
}

/// True when `bytes` start like a TLS record (content type 20..=24, major version 3).
pub fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [20..=24, 3, minor, ..] if *minor <= 4)
        || matches!(bytes, [20..=24] | [20..=24, 3])
}

/// Concatenated handshake messages from the plaintext handshake records, up
/// to the first ChangeCipherSpec or encrypted record.
fn handshake_messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut stream = Vec::new();
    for (kind, _, fragment) in records(bytes) {
        match kind {
            RECORD_HANDSHAKE => stream.extend_from_slice(fragment),
            RECORD_CHANGE_CIPHER_SPEC | RECORD_APPLICATION_DATA => break,
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut r = Reader::new(&stream);
    while let (Some(kind), Some(len)) = (r.u8(), r.u24()) {
        match r.take(len) {
            Some(body) => out.push((kind, body.to_vec())),
            None => break,
        }
    }
    out
}

/// Parses the ClientHello in the bytes a client sent (first record(s)).
pub fn parse_client_hello(sent: &[u8]) -> Option<ClientOffer> {
    let (_, body) = handshake_messages(sent)
        .into_iter()
        .find(|(kind, _)| *kind == HS_CLIENT_HELLO)?;
    let mut r = Reader::new(&body);
    let legacy_version = r.u16()?;
    r.take(32)?;
    r.vec8()?;
    let mut offer = ClientOffer {
        cipher_suites: u16_list(r.vec16()?),
        ..ClientOffer::default()
    };
    r.vec8()?;
    let mut supported_versions = None;
    if let Some(exts) = r.vec16() {
        let mut e = Reader::new(exts);
        while let (Some(kind), Some(data)) = (e.u16(), e.vec16()) {
            let mut d = Reader::new(data);
            match kind {
                EXT_SERVER_NAME => {
                    let mut list = Reader::new(d.vec16().unwrap_or_default());
                    while let (Some(name_type), Some(name)) = (list.u8(), list.vec16()) {
                        if name_type == 0 {
                            offer.sni = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
                EXT_SUPPORTED_GROUPS => offer.groups = u16_list(d.vec16().unwrap_or_default()),
                EXT_SUPPORTED_VERSIONS => {
                    supported_versions = Some(u16_list(d.vec8().unwrap_or_default()));
                }
                EXT_KEY_SHARE => {
                    let mut shares = Reader::new(d.vec16().unwrap_or_default());
                    while let (Some(group), Some(_)) = (shares.u16(), shares.vec16()) {
                        offer.key_shares.push(group);
                    }
                }
                EXT_ALPN => {
                    let mut list = Reader::new(d.vec16().unwrap_or_default());
                    while let Some(proto) = list.vec8() {
                        offer.alpn.push(String::from_utf8_lossy(proto).into_owned());
                    }
                }
                _ => {}
            }
        }
    }
    offer.versions = supported_versions.unwrap_or_else(|| vec![legacy_version]);
    Some(offer)
}

fn parse_server_hello(body: &[u8]) -> Option<ServerChoice> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    r.vec8()?;
    let cipher_suite = r.u16()?;
    r.u8()?;
    let hello_retry = random == HRR_RANDOM;
    let mut choice = ServerChoice {
        version: legacy_version,
        cipher_suite,
        hello_retry,
        ..ServerChoice::default()
    };
    if let Some(exts) = r.vec16() {
        let mut e = Reader::new(exts);
        while let (Some(kind), Some(data)) = (e.u16(), e.vec16()) {
            let mut d = Reader::new(data);
            match kind {
                EXT_SUPPORTED_VERSIONS => {
                    if let Some(v) = d.u16() {
                        choice.version = v;
                    }
                }
                // ServerHello: KeyShareEntry (group, key); HelloRetryRequest: selected_group.
                EXT_KEY_SHARE => choice.group = d.u16(),
                _ => {}
            }
        }
    }
    Some(choice)
}

/// Reads the server's plaintext flight from the bytes received.
pub fn parse_server_flight(received: &[u8]) -> ServerFlight {
    let mut flight = ServerFlight::default();
    if received.is_empty() {
        return flight;
    }
    if !looks_like_tls(received) {
        flight.not_tls = Some(received[..received.len().min(256)].to_vec());
        return flight;
    }
    let mut encrypted = false;
    for (kind, whole, fragment) in records(received) {
        match kind {
            RECORD_ALERT if !encrypted && fragment.len() == 2 => {
                flight
                    .alerts
                    .push((fragment[0], Alert::new(fragment[1]), whole.to_vec()));
            }
            RECORD_CHANGE_CIPHER_SPEC | RECORD_APPLICATION_DATA => encrypted = true,
            _ => {}
        }
    }
    for (kind, body) in handshake_messages(received) {
        match kind {
            HS_SERVER_HELLO => {
                let Some(choice) = parse_server_hello(&body) else {
                    continue;
                };
                if flight.hello.as_ref().is_some_and(|h| h.hello_retry) {
                    flight.hello_after_retry = Some(choice);
                } else {
                    flight.hello = Some(choice);
                }
            }
            HS_CERTIFICATE => {
                let mut r = Reader::new(&body);
                if let Some(len) = r.u24()
                    && let Some(list) = r.take(len)
                {
                    let mut certs = Reader::new(list);
                    while let Some(n) = certs.u24() {
                        match certs.take(n) {
                            Some(der) => flight.certificates.push(der.to_vec()),
                            None => break,
                        }
                    }
                }
            }
            HS_SERVER_KEY_EXCHANGE => {
                if let Some(h) = flight.hello.as_mut() {
                    server_key_exchange(&body, h);
                }
            }
            HS_CERTIFICATE_REQUEST => flight.certificate_request = true,
            HS_SERVER_HELLO_DONE => flight.hello_done = true,
            _ => {}
        }
    }
    flight
}

/// TLS 1.2 ServerKeyExchange (RFC 8422 §5.4, RFC 5246 §7.4.3): the named
/// curve of ECDHE, or the prime size of finite-field DHE. Which one it is
/// follows from the cipher suite's name.
fn server_key_exchange(body: &[u8], choice: &mut ServerChoice) {
    let suite = super::suite_name(choice.cipher_suite);
    let mut r = Reader::new(body);
    if suite.contains("_ECDHE_") {
        // curve_type 3 = named_curve.
        if r.u8() == Some(3) {
            choice.group = r.u16();
        }
    } else if suite.contains("_DHE_")
        && let Some(p) = r.vec16()
    {
        let leading = p.iter().take_while(|b| **b == 0).count();
        let significant = &p[leading..];
        let top_bits = significant
            .first()
            .map_or(0, |b| 8 - b.leading_zeros() as usize);
        choice.dh_bits = Some(significant.len().saturating_sub(1) * 8 + top_bits);
    }
}

/// What a raw diagnosis ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHello {
    /// Versions, highest first: the first is the legacy_version when it is
    /// TLS 1.2 or lower; TLS 1.3 and 1.2 go into supported_versions.
    pub versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    pub groups: Vec<u16>,
    pub sni: Option<String>,
}

/// Cipher suites a diagnosis probe offers beyond rustls: the TLS 1.3 ones,
/// then ECDHE, DHE and RSA key exchange with AES-GCM, ChaCha20, AES-CBC and
/// 3DES, so a server that accepts none of rustls' suites still shows its choice.
pub const WIDE_SUITES: &[u16] = &[
    0x1302, 0x1303, 0x1301, // TLS 1.3
    0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc02b, 0xc02f, // ECDHE AEAD
    0x009f, 0xccaa, 0x009e, // DHE AEAD
    0xc024, 0xc028, 0xc00a, 0xc014, 0xc023, 0xc027, 0xc009, 0xc013, // ECDHE CBC
    0x006b, 0x0039, 0x0067, 0x0033, // DHE CBC
    0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, // RSA key exchange
    0xc012, 0x0016, 0x000a, // 3DES
];

/// Groups a diagnosis probe offers: rustls' own plus P-521 and the finite-field groups.
pub const WIDE_GROUPS: &[u16] = &[
    0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
];

/// Signature schemes a diagnosis probe offers (RFC 8446 §4.2.3), SHA-1 included.
const WIDE_SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
    0x0201,
];

fn push_vec16(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(body);
}

fn push_ext(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_vec16(out, body);
}

fn u16_bytes(list: &[u16]) -> Vec<u8> {
    list.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Builds one ClientHello record (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). With
/// TLS 1.3 among the versions it carries an empty key_share, so a TLS 1.3
/// server answers with a HelloRetryRequest naming the group it wants; the
/// probe never completes a handshake. `random` fills Random and the session id.
pub fn build_client_hello(hello: &RawHello, random: &[u8; 64]) -> Vec<u8> {
    let tls13 = hello.versions.contains(&0x0304);
    let legacy_version = hello
        .versions
        .iter()
        .copied()
        .filter(|v| *v <= 0x0303)
        .max()
        .unwrap_or(0x0303)
        .max(if tls13 { 0x0303 } else { 0 });
    let mut body = Vec::new();
    body.extend_from_slice(&legacy_version.to_be_bytes());
    body.extend_from_slice(&random[..32]);
    body.push(32);
    body.extend_from_slice(&random[32..]);
    push_vec16(&mut body, &u16_bytes(&hello.cipher_suites));
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut exts = Vec::new();
    if let Some(name) = &hello.sni {
        let mut entry = vec![0u8];
        push_vec16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        push_vec16(&mut list, &entry);
        push_ext(&mut exts, EXT_SERVER_NAME, &list);
    }
    let mut groups = Vec::new();
    push_vec16(&mut groups, &u16_bytes(&hello.groups));
    push_ext(&mut exts, EXT_SUPPORTED_GROUPS, &groups);
    push_ext(&mut exts, EXT_EC_POINT_FORMATS, &[1, 0]);
    let mut sigs = Vec::new();
    push_vec16(&mut sigs, &u16_bytes(WIDE_SIGNATURE_SCHEMES));
    push_ext(&mut exts, EXT_SIGNATURE_ALGORITHMS, &sigs);
    push_ext(&mut exts, EXT_RENEGOTIATION_INFO, &[0]);
    if tls13 {
        let versions = u16_bytes(&hello.versions);
        let mut sv = vec![u8::try_from(versions.len()).unwrap_or(u8::MAX)];
        sv.extend_from_slice(&versions);
        push_ext(&mut exts, EXT_SUPPORTED_VERSIONS, &sv);
        push_ext(&mut exts, EXT_KEY_SHARE, &[0, 0]);
    }
    push_vec16(&mut body, &exts);
    let mut handshake = vec![HS_CLIENT_HELLO];
    let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![RECORD_HANDSHAKE, 3, 1];
    push_vec16(&mut record, &handshake);
    record
}

/// True once `received` holds enough of the server's answer to a raw
/// ClientHello: an alert, a HelloRetryRequest, a TLS 1.3 ServerHello, the
/// end of a TLS 1.2 first flight, non-TLS bytes, or encrypted records.
pub fn answer_complete(received: &[u8]) -> bool {
    let flight = parse_server_flight(received);
    if flight.not_tls.is_some() || !flight.alerts.is_empty() || flight.hello_done {
        return true;
    }
    match &flight.hello {
        Some(h) if h.hello_retry || h.version == 0x0304 => true,
        _ => records(received).iter().any(|(kind, _, _)| {
            *kind == RECORD_CHANGE_CIPHER_SPEC || *kind == RECORD_APPLICATION_DATA
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, fragment: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        push_vec16(&mut r, fragment);
        r
    }

    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut h = vec![kind];
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        h.extend_from_slice(&len[1..]);
        h.extend_from_slice(body);
        h
    }

    fn server_hello(version: u16, suite: u16, random: [u8; 32], exts: &[u8]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        push_vec16(&mut b, exts);
        handshake(HS_SERVER_HELLO, &b)
    }

    #[test]
    fn built_hello_parses_back() {
        let hello = RawHello {
            versions: vec![0x0304, 0x0303, 0x0302, 0x0301],
            cipher_suites: WIDE_SUITES.to_vec(),
            groups: WIDE_GROUPS.to_vec(),
            sni: Some("mail.example".into()),
        };
        let bytes = build_client_hello(&hello, &[7; 64]);
        assert_eq!(&bytes[..3], &[22, 3, 1]);
        let offer = parse_client_hello(&bytes).unwrap();
        assert_eq!(offer.versions, hello.versions);
        assert_eq!(offer.cipher_suites, WIDE_SUITES);
        assert_eq!(offer.groups, WIDE_GROUPS);
        assert!(offer.key_shares.is_empty());
        assert_eq!(offer.sni.as_deref(), Some("mail.example"));
        // Legacy-only hello: legacy_version is the highest, no supported_versions.
        let legacy = build_client_hello(
            &RawHello {
                versions: vec![0x0301],
                ..hello
            },
            &[0; 64],
        );
        assert_eq!(parse_client_hello(&legacy).unwrap().versions, vec![0x0301]);
        assert_eq!(&legacy[9..11], &[3, 1]);
    }

    #[test]
    fn server_flight_hello_retry_and_alert() {
        // HelloRetryRequest asking for secp521r1.
        let mut exts = Vec::new();
        push_ext(&mut exts, EXT_SUPPORTED_VERSIONS, &[3, 4]);
        push_ext(&mut exts, EXT_KEY_SHARE, &[0, 0x19]);
        let bytes = record(22, &server_hello(0x0303, 0x1302, HRR_RANDOM, &exts));
        assert!(answer_complete(&bytes));
        let f = parse_server_flight(&bytes);
        let h = f.hello.unwrap();
        assert!(h.hello_retry);
        assert_eq!(
            (h.version, h.cipher_suite, h.group),
            (0x0304, 0x1302, Some(0x19))
        );
        // A plaintext fatal alert 70, as a TLS 1.0-only server sends it.
        let alert = vec![21, 3, 1, 0, 2, 2, 70];
        let f = parse_server_flight(&alert);
        assert_eq!(f.alerts, vec![(2, Alert::new(70), alert.clone())]);
        assert!(answer_complete(&alert));
        // Half a record is not complete yet; plaintext is not TLS.
        assert!(!answer_complete(&alert[..4]));
        let f = parse_server_flight(b"220 mail.example ESMTP\r\n");
        assert_eq!(
            f.not_tls.as_deref(),
            Some(&b"220 mail.example ESMTP\r\n"[..])
        );
    }

    #[test]
    fn tls12_flight_with_dhe_and_certificate_request() {
        let mut flight = handshake(HS_SERVER_HELLO, &{
            let mut b = 0x0303u16.to_be_bytes().to_vec();
            b.extend_from_slice(&[1; 32]);
            b.push(0);
            b.extend_from_slice(&0x009fu16.to_be_bytes());
            b.push(0);
            b
        });
        let mut certs = Vec::new();
        let der = vec![0x30, 0x03, 1, 2, 3];
        certs.extend_from_slice(&[0, 0, 5]);
        certs.extend_from_slice(&der);
        let mut cert_body = vec![0, 0, 8];
        cert_body.extend_from_slice(&certs);
        flight.extend(handshake(HS_CERTIFICATE, &cert_body));
        // DHE params: a 2048-bit prime (256 bytes, top bit set).
        let mut ske = Vec::new();
        let mut p = vec![0x80];
        p.extend(std::iter::repeat_n(0xff, 255));
        push_vec16(&mut ske, &p);
        flight.extend(handshake(HS_SERVER_KEY_EXCHANGE, &ske));
        flight.extend(handshake(HS_CERTIFICATE_REQUEST, &[0]));
        flight.extend(handshake(HS_SERVER_HELLO_DONE, &[]));
        // Split over two records, as servers do with big flights.
        let (a, b) = flight.split_at(20);
        let mut bytes = record(22, a);
        bytes.extend(record(22, b));
        let f = parse_server_flight(&bytes);
        let h = f.hello.unwrap();
        assert_eq!(h.cipher_suite, 0x009f);
        assert_eq!(h.dh_bits, Some(2048));
        assert_eq!(f.certificates, vec![der]);
        assert!(f.certificate_request && f.hello_done);
        assert!(answer_complete(&bytes));
    }

    #[test]
    fn truncated_input_never_panics() {
        let hello = build_client_hello(
            &RawHello {
                versions: vec![0x0304, 0x0303],
                cipher_suites: WIDE_SUITES.to_vec(),
                groups: WIDE_GROUPS.to_vec(),
                sni: Some("x".into()),
            },
            &[1; 64],
        );
        for cut in 0..hello.len() {
            let _ = parse_client_hello(&hello[..cut]);
            let _ = parse_server_flight(&hello[..cut]);
            let _ = answer_complete(&hello[..cut]);
        }
    }
}
