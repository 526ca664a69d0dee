//! Our output checked by the `openssl` command line tool: `openssl verify`
//! accepts a root + actor pair we issued, `openssl req -verify` accepts a CSR
//! we built. These tests fail (they never skip) when `openssl` is not on PATH:
//! `.ci/run` installs it.

mod common;

use common::openssl;

use std::process::Command;

use p2core_certs::{Issuer, build_csr, create_root_cert, fresh_serial};
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::{DomainName, FederationId, SessionId, UnixTimestamp, random};

/// Panics with a clear message when `openssl` cannot be run: a machine
/// without it must not report these tests as passed.
fn require_openssl() {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`openssl version` failed ({}); these tests need the OpenSSL command line tool \
             (Debian: apt-get install openssl; `.ci/run` installs it)",
            out.status
        ),
        Err(e) => panic!(
            "`openssl` is not installed or not on PATH ({e}); these tests need it \
             (Debian: apt-get install openssl; `.ci/run` installs it)"
        ),
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&random::bytes::<32>())
}

#[test]
fn openssl_verify_accepts_our_root_and_actor_cert() {
    require_openssl();
    let dir = tempfile::tempdir().unwrap();
    let now = UnixTimestamp::now();
    for domain in ["example.com", "localhost", "chat.sub.example.org"] {
        let domain: DomainName = domain.parse().unwrap();
        let root_key = key();
        let root = create_root_cert(
            &root_key,
            &domain,
            now,
            now.saturating_add(365 * 86400),
            fresh_serial(),
        )
        .unwrap();
        let issuer = Issuer::new(root.clone(), root_key).unwrap();
        let actor = FederationId::from_parts("alice", &domain).unwrap();
        let csr = build_csr(&key(), &actor, &SessionId::new("laptop-1").unwrap()).unwrap();
        let cert = issuer
            .issue(&csr, &actor, now, None, fresh_serial())
            .unwrap();

        std::fs::write(dir.path().join("root.pem"), root.to_pem()).unwrap();
        std::fs::write(dir.path().join("actor.pem"), cert.to_pem()).unwrap();
        std::fs::write(dir.path().join("csr.pem"), csr.to_pem()).unwrap();

        let (ok, text) = openssl(dir.path(), &["verify", "-CAfile", "root.pem", "actor.pem"]);
        assert!(ok, "openssl verify failed for {domain}: {text}");
        assert!(text.contains("actor.pem: OK"), "{text}");

        let (ok, text) = openssl(dir.path(), &["req", "-verify", "-in", "csr.pem", "-noout"]);
        assert!(ok, "openssl req -verify failed for {domain}: {text}");

        // the root alone verifies as a trust anchor too
        let (ok, text) = openssl(dir.path(), &["verify", "-CAfile", "root.pem", "root.pem"]);
        assert!(ok, "{text}");
    }
}

#[test]
fn openssl_verify_rejects_an_actor_cert_under_another_root() {
    require_openssl();
    // makes sure the positive test above is not vacuous
    let dir = tempfile::tempdir().unwrap();
    let now = UnixTimestamp::now();
    let domain: DomainName = "example.com".parse().unwrap();
    let make_root = |k: &SigningKey| {
        create_root_cert(k, &domain, now, now.saturating_add(86400), fresh_serial()).unwrap()
    };
    let (k1, k2) = (key(), key());
    let (root1, root2) = (make_root(&k1), make_root(&k2));
    let issuer = Issuer::new(root1, k1).unwrap();
    let actor: FederationId = "alice@example.com".parse().unwrap();
    let csr = build_csr(&key(), &actor, &SessionId::new("s").unwrap()).unwrap();
    let cert = issuer.issue(&csr, &actor, now, None, 5).unwrap();
    std::fs::write(dir.path().join("root2.pem"), root2.to_pem()).unwrap();
    std::fs::write(dir.path().join("actor.pem"), cert.to_pem()).unwrap();
    let (ok, text) = openssl(dir.path(), &["verify", "-CAfile", "root2.pem", "actor.pem"]);
    assert!(
        !ok,
        "openssl accepted a certificate under the wrong root: {text}"
    );
}
