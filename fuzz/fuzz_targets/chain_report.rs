//! The certificate report (`cert::ChainReport::from_der`) on arbitrary DER:
//! up to four certificates, any time, any name. It must never panic: a chain
//! a server sends is shown, however broken. The PEM and fingerprint helpers
//! run on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire::cert::{self, ChainReport};
use mailwire_fuzz::Input;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let now = input.i64();
    let name_len = usize::from(input.byte() % 64);
    let name = String::from_utf8_lossy(input.bytes(name_len)).into_owned();
    let count = input.byte() % 5;
    let mut chain = Vec::new();
    for i in 0..count {
        // The last certificate takes the rest, so a seed that is one whole
        // DER certificate needs no length in front.
        let der = if i + 1 == count {
            input.bytes(usize::MAX)
        } else {
            let len = usize::from(input.u16());
            input.bytes(len)
        };
        chain.push(der.to_vec());
    }
    let report = ChainReport::from_der(&chain, now, &name);
    assert_eq!(report.certs.len(), chain.len(), "one row per certificate");
    let _ = report.leaf();
    for der in &chain {
        let _ = cert::issuer_der(der);
        let _ = cert::sha256_hex(der);
    }
    let _ = cert::rfc3339(now);
    let _ = cert::to_pem(&chain);
    if let Some(leaf) = report.leaf() {
        let _ = cert::name_matches(&leaf.sans, &name);
    }
    let _ = serde_json::to_string(&report);
});
