//! SSRF through numeric spellings of IP addresses (issue 13 item 5).
//!
//! A foreign actor whose Federation ID ends in `@127.1` (or `@2130706433`,
//! `@0x7f.1`, `@0177.0.0.1`, …) makes the server fetch `https://127.1/…`,
//! which every WHATWG URL parser reads as `https://127.0.0.1/…`: the IP
//! literal is never resolved, so a resolver-side filter never sees it. This
//! test listens on 127.0.0.1:443 (where such a fetch goes) and proves that
//! no connection arrives for any spelling, and that the server answers each
//! attempt with a JSON error.

mod common;

use std::time::Duration;

use clap::Parser;
use common::*;
use ed25519_dalek::SigningKey;
use p2core_certs::Issuer;
use p2core_types::{DomainName, FederationId, IdCert, SessionId, UnixTimestamp};
use tokio::net::TcpListener;

/// Numeric host spellings that a URL parser turns into an IPv4 address.
const SPELLINGS: &[&str] = &[
    "2130706433",
    "127.1",
    "0x7f.1",
    "0177.0.0.1",
    "0x7f000001",
    "017700000001",
    "127.0.0.1",
    "127.0.1",
];

/// The letter that stands for a digit in a placeholder domain (`1` → `b`).
fn placeholder(spelling: &str) -> String {
    spelling
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from(b'a' + u8::try_from(d).unwrap()),
            None => c,
        })
        .collect()
}

/// Replaces every ASN.1 string (IA5String, UTF8String, PrintableString) whose
/// content is `from` by one with content `to` (same length).
fn patch_strings(der: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let n = from.len();
    let mut i = 0;
    while i + 2 + n <= der.len() {
        if matches!(der[i], 0x0c | 0x13 | 0x16)
            && usize::from(der[i + 1]) == n
            && &der[i + 2..i + 2 + n] == from.as_bytes()
        {
            der[i + 2..i + 2 + n].copy_from_slice(to.as_bytes());
            i += 2 + n;
        } else {
            i += 1;
        }
    }
}

/// An actor certificate for `alice@SPELLING` (session "s1") and its key. The
/// types refuse such a domain, so the certificate is made for a placeholder
/// with the same label lengths and its strings are patched afterwards (the
/// issuer's signature breaks, which does not matter: the server fetches the
/// home server's root before it checks that signature).
fn cert_for(spelling: &str) -> (SigningKey, String) {
    let fake = placeholder(spelling);
    let domain = DomainName::new(&fake).expect("placeholder domain");
    let root_key = new_key();
    let now = UnixTimestamp::now();
    let root = p2core_certs::create_root_cert(
        &root_key,
        &domain,
        UnixTimestamp(now.0 - 60),
        UnixTimestamp(now.0 + 86_400),
        11,
    )
    .unwrap();
    let issuer = Issuer::new(root, root_key).unwrap();
    let fid = FederationId::new(&format!("alice@{fake}")).unwrap();
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &fid, &SessionId::new("s1").unwrap()).unwrap();
    let cert = issuer.issue(&csr, &fid, now, None, 12).unwrap();
    let mut der = cert.as_der().to_vec();
    patch_strings(
        &mut der,
        &format!("alice@{fake}"),
        &format!("alice@{spelling}"),
    );
    for (from, to) in fake.split('.').zip(spelling.split('.')) {
        patch_strings(&mut der, from, to);
    }
    let patched = IdCert::from_der(&der).expect("the patched certificate still parses");
    (key, patched.to_pem())
}

/// Listens where `https://127.1/` goes. Binding port 443 needs privileges.
async fn listen_443() -> TcpListener {
    TcpListener::bind("127.0.0.1:443")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "this test must listen on 127.0.0.1:443, where a fetch of https://127.1/ goes, \
             and could not ({e}): run it as root, or allow unprivileged low ports with \
             `sysctl net.ipv4.ip_unprivileged_port_start=443`, and make sure nothing else \
             listens there"
            )
        })
}

#[tokio::test]
async fn numeric_host_spellings_never_reach_loopback() {
    let trap = listen_443().await;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_with(dir.path(), "b.localhost", &[], &[], |c| {
        c.federation_timeout_seconds = 2;
        c.federation_connect_timeout_seconds = 1;
    })
    .await;
    let base = server.base_url();
    for spelling in SPELLINGS {
        let (key, pem) = cert_for(spelling);
        let err = client(&base)
            .identify(&key, &pem, None)
            .await
            .expect_err("an actor of a numeric domain must not be identified");
        // The server answered: any connection it made is in the accept queue now.
        let arrived = tokio::time::timeout(Duration::from_millis(300), trap.accept()).await;
        assert!(
            arrived.is_err(),
            "{spelling}: the server connected to 127.0.0.1:443 (SSRF); it answered {err:?}"
        );
        let status = err.status().unwrap_or(0);
        let body = err.error_body();
        assert!(
            (400..500).contains(&status) && body.is_some(),
            "{spelling}: expected a 4xx JSON error, got {status} {body:?}"
        );
        // A Federation ID with such a domain in a route is a clear 400, too.
        let answer = raw(
            &base,
            p2core_routes::http::Method::GET,
            &format!("/.p2/core/v1/idcert/actor/alice@{spelling}"),
            None,
            None,
            Vec::new(),
        )
        .await;
        assert_raw_error(&answer, 400, p2core_types::ErrorCode::InvalidFederationId);
    }
    server.stop().await.unwrap();
}

#[test]
fn numeric_domains_are_refused_in_every_flag() {
    for spelling in SPELLINGS {
        let domain = p2core_home_server::Config::try_parse_from([
            "p2core-home-server",
            "--domain",
            spelling,
        ]);
        assert!(domain.is_err(), "--domain {spelling} was accepted");
        let peer = p2core_home_server::Config::try_parse_from([
            "p2core-home-server".to_owned(),
            "--peer".to_owned(),
            format!("{spelling}=http://127.0.0.1:1"),
        ]);
        assert!(peer.is_err(), "--peer {spelling}=… was accepted");
        let admin = p2core_home_server::Config::try_parse_from([
            "p2core-home-server".to_owned(),
            "--admin".to_owned(),
            format!("root@{spelling}"),
        ]);
        assert!(admin.is_err(), "--admin root@{spelling} was accepted");
    }
}
