//! Interop with certificates and CSRs made by OpenSSL 3 (see
//! `tests/vectors/make-vectors.sh` for the exact commands).

use p2core_certs::{
    CertError, CertKind, Issuer, create_root_cert, fresh_serial, verify_actor_cert, verify_csr,
    verify_root,
};
use p2core_types::ed25519_dalek::SigningKey;
use p2core_types::ed25519_dalek::pkcs8::DecodePrivateKey;
use p2core_types::pdn::{self, PdnAttribute};
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, UnixTimestamp};

macro_rules! vector {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/",
            $file
        ))
    };
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {{
        let r = $result;
        assert!(
            matches!(r, Err($pattern) $(if $guard)?),
            "expected {}, got {r:?}",
            stringify!($pattern)
        );
    }};
}

const DAY: u64 = 86_400;

fn cert(pem: &str) -> IdCert {
    IdCert::from_pem(pem).unwrap()
}

fn csr(pem: &str) -> IdCsr {
    IdCsr::from_pem(pem).unwrap()
}

fn root() -> IdCert {
    cert(vector!("root.pem"))
}

fn root_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(vector!("root.key")).unwrap()
}

/// A time inside every vector's validity: one day after the root was made.
fn now() -> UnixTimestamp {
    root().not_before().saturating_add(DAY)
}

fn alice() -> FederationId {
    "alice@example.com".parse().unwrap()
}

fn example_com() -> DomainName {
    "example.com".parse().unwrap()
}

fn actor_err(pem: &str) -> Result<(), CertError> {
    verify_actor_cert(&cert(pem), &root(), now())
}

fn csr_err(pem: &str) -> Result<(), CertError> {
    verify_csr(&csr(pem), &alice(), &example_com())
}

// ---------------------------------------------------------------- accepted

#[test]
fn openssl_root_is_accepted() {
    verify_root(&root(), now()).unwrap();
    verify_root(&cert(vector!("other-root.pem")), now()).unwrap();
}

#[test]
fn openssl_actor_certs_are_accepted() {
    for pem in [
        vector!("alice.pem"),
        vector!("alice-content-commitment.pem"),
        vector!("alice-unknown-noncritical.pem"),
    ] {
        actor_err(pem).unwrap();
        let c = cert(pem);
        assert_eq!(c.subject_fid(), Some(&alice()));
        assert_eq!(c.session_id().unwrap().as_str(), "laptop-1");
    }
    assert_eq!(cert(vector!("alice.pem")).serial_u64(), Some(4660));
}

#[test]
fn openssl_default_random_serials_are_accepted() {
    // OpenSSL's default serial is 20 random octets (>= 2^63): RFC 5280 allows
    // any positive serial of 1-20 octets, and so does the verifier.
    let c = cert(vector!("alice-random-serial.pem"));
    let serial = c.certificate().tbs_certificate().serial_number().as_bytes();
    assert!(serial.len() > 8, "{} octets", serial.len());
    assert_eq!(c.serial_u64(), None);
    actor_err(vector!("alice-random-serial.pem")).unwrap();
}

#[test]
fn actor_attributes_may_follow_the_dcs_in_any_order() {
    for (csr_pem, cert_pem) in [
        (
            vector!("alice-cn-first.csr.pem"),
            vector!("alice-cn-first.pem"),
        ),
        (
            vector!("alice-session-first.csr.pem"),
            vector!("alice-session-first.pem"),
        ),
    ] {
        csr_err(csr_pem).unwrap();
        actor_err(cert_pem).unwrap();
        assert_eq!(cert(cert_pem).subject_fid(), Some(&alice()));
        // our issuer writes them back in the canonical order
        let issuer = Issuer::new(root(), root_key()).unwrap();
        let issued = issuer
            .issue(&csr(csr_pem), &alice(), now(), None, fresh_serial())
            .unwrap();
        let canonical = pdn::actor_name(&alice(), &"laptop-1".parse().unwrap()).unwrap();
        assert_eq!(issued.subject(), &canonical);
    }
}

#[test]
fn openssl_writes_dc_most_significant_first_as_ia5_like_we_do() {
    // OpenSSL's "/DC=com/DC=example" encodes to the same bytes as our name.
    let ours = pdn::home_server_name(&example_com()).unwrap();
    assert_eq!(root().subject(), &ours);
    // ... and writes the session ID as UTF8String, which we accept.
    let c = cert(vector!("alice.pem"));
    let session = c
        .subject()
        .iter()
        .find(|a| a.oid == pdn::OID_UNIQUE_IDENTIFIER)
        .unwrap();
    assert_eq!(der::Tagged::tag(&session.value), der::Tag::Utf8String);
    // "/DC=com/DC=example/UID=.../CN=.../uniqueIdentifier=..." is exactly the
    // order we write, so our name differs only in the session ID's string type.
    let oids: Vec<_> = c.subject().iter().map(|a| a.oid).collect();
    let ours = pdn::actor_name(&alice(), &"laptop-1".parse().unwrap()).unwrap();
    assert_eq!(oids, ours.iter().map(|a| a.oid).collect::<Vec<_>>());
}

#[test]
fn the_old_least_significant_first_order_is_rejected_clearly() {
    // Root and actor certificate both written "/DC=example/DC=com/...": the
    // DCs spell com.example, which is not the UID's domain.
    let old_root = cert(vector!("old-order-root.pem"));
    verify_root(&old_root, now()).unwrap(); // a valid root, for "com.example"
    let err =
        verify_actor_cert(&cert(vector!("old-order-alice.pem")), &old_root, now()).unwrap_err();
    assert!(
        matches!(
            &err,
            CertError::UidDomainMismatch { kind: CertKind::Actor, uid_domain, dc_domain }
                if uid_domain == "example.com" && dc_domain == "com.example"
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("most significant first"), "{message}");
    let err = csr_err(vector!("old-order-alice.csr.pem")).unwrap_err();
    assert!(
        matches!(
            err,
            CertError::UidDomainMismatch {
                kind: CertKind::Csr,
                ..
            }
        ),
        "{err:?}"
    );
    // an old-order actor certificate under the correct root: issuer mismatch
    assert_err!(
        actor_err(vector!("old-order-alice.pem")),
        CertError::IssuerMismatch
    );
}

#[test]
fn openssl_csr_is_accepted_and_issued_by_our_issuer() {
    let request = csr(vector!("alice.csr.pem"));
    verify_csr(&request, &alice(), &example_com()).unwrap();

    // with the OpenSSL-made root and its key
    let issuer = Issuer::new(root(), root_key()).unwrap();
    let issued = issuer
        .issue(&request, &alice(), now(), None, fresh_serial())
        .unwrap();
    verify_actor_cert(&issued, &root(), now()).unwrap();
    assert_eq!(issued.public_key(), request.public_key());
    assert_eq!(issued.session_id().unwrap().as_str(), "laptop-1");

    // with a root of our own
    let key = SigningKey::from_bytes(&[3; 32]);
    let ours = create_root_cert(
        &key,
        &example_com(),
        now(),
        now().saturating_add(365 * DAY),
        1,
    )
    .unwrap();
    let issuer = Issuer::new(ours.clone(), key).unwrap();
    let issued = issuer.issue(&request, &alice(), now(), None, 2).unwrap();
    verify_actor_cert(&issued, &ours, now()).unwrap();
}

#[test]
fn openssl_vectors_expire() {
    let c = cert(vector!("alice.pem"));
    assert_err!(
        verify_actor_cert(&c, &root(), c.not_after().saturating_add(1)),
        CertError::Expired {
            kind: CertKind::Actor,
            ..
        }
    );
    assert_err!(
        verify_actor_cert(&c, &root(), UnixTimestamp(c.not_before().0 - 1)),
        CertError::NotYetValid { .. }
    );
}

// ---------------------------------------------------------------- rejected roots

#[test]
fn openssl_bad_roots_are_rejected() {
    let now = now();
    assert_err!(
        verify_root(&cert(vector!("bad-root-bc-noncritical.pem")), now),
        CertError::NotCritical {
            kind: CertKind::Root,
            extension: "BasicConstraints"
        }
    );
    assert_err!(
        verify_root(&cert(vector!("bad-root-ku-noncritical.pem")), now),
        CertError::NotCritical {
            kind: CertKind::Root,
            extension: "KeyUsage"
        }
    );
    assert_err!(
        verify_root(&cert(vector!("bad-root-no-pathlen.pem")), now),
        CertError::RootPathLen { found: None }
    );
    assert_err!(
        verify_root(&cert(vector!("bad-root-no-keyusage.pem")), now),
        CertError::RootNoKeyCertSign
    );
    assert_err!(
        verify_root(&cert(vector!("bad-root-cn.pem")), now),
        CertError::RootHasActorAttribute(PdnAttribute::CommonName)
    );
    assert_err!(
        verify_root(&cert(vector!("bad-root-ec.pem")), now),
        CertError::SignatureAlgorithmNotEd25519 {
            kind: CertKind::Root,
            ..
        }
    );
    // an actor certificate is not a root
    assert_err!(
        verify_root(&cert(vector!("alice.pem")), now),
        CertError::RootHasActorAttribute(_)
    );
}

// ---------------------------------------------------------------- rejected actor certificates

#[test]
fn openssl_bad_actor_extensions_are_rejected() {
    assert_err!(
        actor_err(vector!("bad-actor-ku-noncritical.pem")),
        CertError::NotCritical {
            kind: CertKind::Actor,
            extension: "KeyUsage"
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-bc-noncritical.pem")),
        CertError::NotCritical {
            kind: CertKind::Actor,
            extension: "BasicConstraints"
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-ca.pem")),
        CertError::ActorIsCa {
            kind: CertKind::Actor
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-keycertsign.pem")),
        CertError::ActorKeyCertSign {
            kind: CertKind::Actor
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-no-keyusage.pem")),
        CertError::ActorNoSigningUsage
    );
    assert_err!(
        actor_err(vector!("bad-actor-unknown-critical.pem")),
        CertError::UnknownCriticalExtension {
            kind: CertKind::Actor,
            ..
        }
    );
}

#[test]
fn openssl_bad_actor_fields_are_rejected() {
    assert_err!(
        actor_err(vector!("bad-actor-serial-zero.pem")),
        CertError::SerialNotPositive {
            kind: CertKind::Actor
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-serial-21-octets.pem")),
        CertError::SerialTooLong {
            kind: CertKind::Actor,
            octets: 21
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-v1.pem")),
        CertError::NotV3 {
            kind: CertKind::Actor
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-outside-root.pem")),
        CertError::OutsideRootValidity { .. }
    );
    assert_err!(
        actor_err(vector!("bad-actor-other-key.pem")),
        CertError::ActorSignatureInvalid
    );
    // and against its own root it is fine
    verify_actor_cert(
        &cert(vector!("bad-actor-other-key.pem")),
        &cert(vector!("other-root.pem")),
        now(),
    )
    .unwrap();
}

#[test]
fn openssl_bad_actor_subjects_are_rejected() {
    assert_err!(
        actor_err(vector!("bad-actor-missing-uid.pem")),
        CertError::MissingAttribute {
            kind: CertKind::Actor,
            attr: PdnAttribute::Uid
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-cn-mismatch.pem")),
        CertError::CnUidMismatch {
            kind: CertKind::Actor,
            ..
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-dc-order.pem")),
        CertError::UidDomainMismatch {
            kind: CertKind::Actor,
            ..
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-foreign-dcs.pem")),
        CertError::SubjectDcMismatch {
            kind: CertKind::Actor
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-long-session.pem")),
        CertError::InvalidSessionId {
            kind: CertKind::Actor,
            ..
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-duplicate-cn.pem")),
        CertError::DuplicateAttribute {
            kind: CertKind::Actor,
            attr: PdnAttribute::CommonName
        }
    );
    assert_err!(
        actor_err(vector!("bad-actor-dc-not-first.pem")),
        CertError::DomainComponentsNotFirst {
            kind: CertKind::Actor
        }
    );
}

// ---------------------------------------------------------------- rejected CSRs

#[test]
fn openssl_bad_csrs_are_rejected() {
    assert_err!(
        csr_err(vector!("bad-csr-missing-uid.csr.pem")),
        CertError::MissingAttribute {
            kind: CertKind::Csr,
            attr: PdnAttribute::Uid
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-cn-mismatch.csr.pem")),
        CertError::CnUidMismatch {
            kind: CertKind::Csr,
            ..
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-dc-order.csr.pem")),
        CertError::UidDomainMismatch {
            kind: CertKind::Csr,
            ..
        }
    );
    assert_err!(
        verify_csr(
            &csr(vector!("bad-csr-foreign-dcs.csr.pem")),
            &"alice@other.org".parse().unwrap(),
            &example_com()
        ),
        CertError::SubjectDcMismatch {
            kind: CertKind::Csr
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-long-session.csr.pem")),
        CertError::InvalidSessionId {
            kind: CertKind::Csr,
            ..
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-duplicate-cn.csr.pem")),
        CertError::DuplicateAttribute {
            kind: CertKind::Csr,
            attr: PdnAttribute::CommonName
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-dc-not-first.csr.pem")),
        CertError::DomainComponentsNotFirst {
            kind: CertKind::Csr
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-ca.csr.pem")),
        CertError::ActorIsCa {
            kind: CertKind::Csr
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-keycertsign.csr.pem")),
        CertError::ActorKeyCertSign {
            kind: CertKind::Csr
        }
    );
    assert_err!(
        csr_err(vector!("bad-csr-ec.csr.pem")),
        CertError::SignatureAlgorithmNotEd25519 {
            kind: CertKind::Csr,
            ..
        }
    );
    assert_err!(
        verify_csr(
            &csr(vector!("alice.csr.pem")),
            &"bob@example.com".parse().unwrap(),
            &example_com()
        ),
        CertError::WrongActor { .. }
    );
}

#[test]
fn tampered_openssl_csr_fails_proof_of_possession() {
    let good = csr(vector!("alice.csr.pem"));
    let mut der = good.as_der().to_vec();
    let n = der.len();
    der[n - 5] ^= 0x01; // inside the signature
    assert_err!(
        verify_csr(&IdCsr::from_der(&der).unwrap(), &alice(), &example_com()),
        CertError::CsrSignatureInvalid
    );
    // a changed subject byte ("alice" -> "alicf" in the CN) breaks it too
    let mut der = good.as_der().to_vec();
    let pos = der.windows(5).position(|w| w == b"alice").unwrap();
    der[pos + 4] = b'f';
    let tampered = IdCsr::from_der(&der).unwrap();
    assert_err!(
        verify_csr(&tampered, &alice(), &example_com()),
        CertError::CsrSignatureInvalid
    );
}
