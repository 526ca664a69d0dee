//! Both issuance profiles checked by the `openssl` command line tool (which
//! this test requires: it fails, never skips, when `openssl` is missing).
//!
//! * default (RFC 5280): `openssl verify` and `openssl verify -x509_strict`
//!   accept root + actor certificate;
//! * polyproto 0.21 compatibility: `openssl verify` accepts, `-x509_strict`
//!   rejects (no SubjectKeyIdentifier/AuthorityKeyIdentifier) — the documented
//!   trade-off of that profile.
//!
//! Also: OpenSSL prints our DCs in the order RFC 4514 prescribes for strings
//! (reversed: `DC=example,DC=com`), which shows the encoded order is
//! most significant first.

mod common;

use common::openssl;

use std::path::Path;

use p2core_certs::{CertProfile, Issuer, build_csr, create_root_cert_with_profile, fresh_serial};
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::{DomainName, FederationId, SessionId, UnixTimestamp, random};

fn key() -> SigningKey {
    SigningKey::from_bytes(&random::bytes::<32>())
}

/// Writes root.pem and actor.pem of `profile` for `domain` into `dir`.
fn write_pair(dir: &Path, profile: CertProfile, domain: &str) {
    let domain: DomainName = domain.parse().unwrap();
    let now = UnixTimestamp::now();
    let root_key = key();
    let root = create_root_cert_with_profile(
        &root_key,
        &domain,
        UnixTimestamp(now.0 - 60),
        now.saturating_add(365 * 86400),
        fresh_serial(),
        profile,
    )
    .unwrap();
    let issuer = Issuer::with_profile(root.clone(), root_key, profile).unwrap();
    let actor = FederationId::from_parts("alice", &domain).unwrap();
    let csr = build_csr(&key(), &actor, &SessionId::new("laptop-1").unwrap()).unwrap();
    let cert = issuer
        .issue(
            &csr,
            &actor,
            UnixTimestamp(now.0 - 30),
            None,
            fresh_serial(),
        )
        .unwrap();
    std::fs::write(dir.join("root.pem"), root.to_pem()).unwrap();
    std::fs::write(dir.join("actor.pem"), cert.to_pem()).unwrap();
}

#[test]
fn default_profile_passes_openssl_verify_and_x509_strict() {
    let dir = tempfile::tempdir().unwrap();
    for domain in ["example.com", "localhost", "chat.sub.example.org"] {
        write_pair(dir.path(), CertProfile::Rfc5280, domain);
        for args in [
            &["verify", "-CAfile", "root.pem", "actor.pem"][..],
            &["verify", "-x509_strict", "-CAfile", "root.pem", "actor.pem"][..],
        ] {
            let (ok, text) = openssl(dir.path(), args);
            assert!(
                ok && text.contains("actor.pem: OK"),
                "{domain}: {args:?}: {text}"
            );
        }
    }
}

#[test]
fn compatibility_profile_passes_openssl_verify_but_not_x509_strict() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), CertProfile::Polyproto021, "example.com");
    let (ok, text) = openssl(dir.path(), &["verify", "-CAfile", "root.pem", "actor.pem"]);
    assert!(ok && text.contains("actor.pem: OK"), "{text}");
    let (ok, text) = openssl(
        dir.path(),
        &["verify", "-x509_strict", "-CAfile", "root.pem", "actor.pem"],
    );
    assert!(
        !ok,
        "-x509_strict accepted a certificate without key identifiers: {text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("key identifier"),
        "expected a key identifier complaint: {text}"
    );
    // the profile: exactly BasicConstraints then KeyUsage, both critical
    let (ok, text) = openssl(dir.path(), &["x509", "-in", "actor.pem", "-noout", "-text"]);
    assert!(ok, "{text}");
    let bc = text
        .find("X509v3 Basic Constraints: critical")
        .expect(&text);
    let ku = text.find("X509v3 Key Usage: critical").expect(&text);
    assert!(bc < ku, "{text}");
    assert!(!text.contains("Subject Key Identifier"), "{text}");
    assert!(!text.contains("Authority Key Identifier"), "{text}");
}

#[test]
fn openssl_reads_our_dcs_most_significant_first() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), CertProfile::Rfc5280, "chat.example.com");
    // RFC 2253 output lists RDNs last-to-first: the encoded order is com, example, chat
    let (ok, text) = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "actor.pem",
            "-noout",
            "-subject",
            "-issuer",
            "-nameopt",
            "RFC2253",
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "subject=uid=laptop-1,CN=alice,UID=alice@chat.example.com,DC=chat,DC=example,DC=com"
        ),
        "{text}"
    );
    assert!(text.contains("issuer=DC=chat,DC=example,DC=com"), "{text}");
}
