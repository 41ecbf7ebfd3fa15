//! The OS trust store is read at most once per process, and only when a
//! chain needs it: not when the `--ca-file` roots already verify the chain,
//! not with `--no-system-roots`, not to validate options. One test in its
//! own binary, so no other test in the process loads the store first.

use mailwire::check;
use mailwire::server::pki::LeafKind;
use mailwire::server::{ServeOptions, Server};
use mailwire::session::SessionConfig;
use mailwire::target::Target;
use mailwire::tls::trust::os_store_loads;

#[tokio::test]
async fn os_store_is_loaded_once_and_only_when_needed() {
    let server = Server::start(ServeOptions {
        leaf: LeafKind::Good,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.root_pem()).unwrap();
    let url = server.listener("imap").unwrap().url();
    let config = |ca_file: Option<&std::path::Path>, no_system: bool| {
        let mut c = SessionConfig::new(Target::parse(&url).unwrap());
        c.ehlo = Some("client.test".into());
        c.tls.ca_files = ca_file.map(|p| vec![p.to_path_buf()]).unwrap_or_default();
        c.tls.no_system_roots = no_system;
        c
    };
    mailwire::tls::client::validate_options(&config(Some(ca.path()), false).tls).unwrap();
    assert_eq!(os_store_loads(), 0, "validating options reads no OS store");

    let r = check::run(config(Some(ca.path()), false), false).await;
    assert_eq!(r.exit_code, check::EXIT_OK, "{}", r.to_text());
    let v = r.verification.as_ref().unwrap();
    assert_eq!(
        v.trust_store.consulted,
        vec![mailwire::tls::RootSource::CaFile]
    );
    assert_eq!(
        os_store_loads(),
        0,
        "--ca-file verified the chain: no OS store"
    );

    // A root that does not verify it, but only given roots are allowed.
    let other = tempfile::NamedTempFile::new().unwrap();
    let other_server = Server::start(ServeOptions::default()).await.unwrap();
    std::fs::write(other.path(), other_server.root_pem()).unwrap();
    let r = check::run(config(Some(other.path()), true), false).await;
    assert_eq!(r.exit_code, check::EXIT_TLS);
    assert_eq!(os_store_loads(), 0, "--no-system-roots: no OS store");

    // Untrusted with the OS store allowed: read once, then kept.
    for _ in 0..3 {
        let r = check::run(config(Some(other.path()), false), false).await;
        assert_eq!(r.exit_code, check::EXIT_TLS);
        let v = r.verification.as_ref().unwrap();
        use mailwire::tls::RootSource;
        // The OS store, or the Mozilla roots when the OS store is empty.
        assert!(
            matches!(
                v.trust_store.consulted.as_slice(),
                [RootSource::CaFile, RootSource::Os | RootSource::Bundled]
            ),
            "{:?}",
            v.trust_store.consulted
        );
    }
    assert_eq!(os_store_loads(), 1, "read once per process");
    server.shutdown().await;
    other_server.shutdown().await;
}
