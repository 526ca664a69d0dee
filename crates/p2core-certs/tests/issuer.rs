//! Issuing: CSR checks, validity capping, serials, the issued profile.

mod common;

use std::time::Duration;

use common::*;
use p2core_certs::{
    CertError, CertKind, DEFAULT_ACTOR_CERT_VALIDITY, Issuer, MAX_ACTOR_CERT_VALIDITY, build_csr,
    create_root_cert, fresh_serial, verify_actor_cert, verify_csr, verify_root,
};
use p2core_types::pdn::Pdn;
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, SessionId, UnixTimestamp};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

const T: UnixTimestamp = UnixTimestamp(NOW);

fn domain() -> DomainName {
    "example.com".parse().unwrap()
}

fn alice() -> FederationId {
    "alice@example.com".parse().unwrap()
}

fn our_root() -> IdCert {
    create_root_cert(
        &root_key(),
        &domain(),
        UnixTimestamp(ROOT_NB),
        UnixTimestamp(ROOT_NA),
        7,
    )
    .unwrap()
}

fn issuer() -> Issuer {
    Issuer::new(our_root(), root_key()).unwrap()
}

fn csr() -> IdCsr {
    build_csr(&actor_key(), &alice(), &SessionId::new("s1").unwrap()).unwrap()
}

#[test]
fn our_root_passes_and_has_the_profile() {
    let root = our_root();
    verify_root(&root, T).unwrap();
    let pdn = Pdn::parse(root.subject()).unwrap();
    assert_eq!(pdn.domain_components, ["com", "example"]);
    assert_eq!(root.subject(), root.issuer());
    let tbs = root.certificate().tbs_certificate();
    let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(crit && bc.ca && bc.path_len_constraint == Some(0));
    let (crit, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(crit && ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    assert_eq!(root.serial_u64(), Some(7));
    assert_eq!(root.not_before(), UnixTimestamp(ROOT_NB));
    assert_eq!(root.not_after(), UnixTimestamp(ROOT_NA));
}

#[test]
fn our_csr_passes_and_carries_the_actor_pdn() {
    let csr = csr();
    verify_csr(&csr, &alice(), &domain()).unwrap();
    assert_eq!(csr.subject_fid(), Some(&alice()));
    assert_eq!(csr.session_id().unwrap().as_str(), "s1");
    assert_eq!(csr.public_key(), Some(&actor_key().verifying_key()));
    // PEM round trip keeps the bytes
    let again = IdCsr::from_pem(&csr.to_pem()).unwrap();
    assert_eq!(again.as_der(), csr.as_der());
}

#[test]
fn issued_cert_passes_and_has_the_actor_profile() {
    let issuer = issuer();
    let cert = issuer.issue(&csr(), &alice(), T, None, 4242).unwrap();
    verify_actor_cert(&cert, issuer.root(), T).unwrap();
    assert_eq!(cert.subject_fid(), Some(&alice()));
    assert_eq!(cert.session_id().unwrap().as_str(), "s1");
    assert_eq!(cert.serial_u64(), Some(4242));
    assert_eq!(cert.public_key(), Some(&actor_key().verifying_key()));
    assert_eq!(cert.issuer(), issuer.root().subject());
    let tbs = cert.certificate().tbs_certificate();
    let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(crit && !bc.ca);
    let (crit, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(crit && ku.digital_signature() && !ku.key_cert_sign());
    let (crit, ski) = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert!(!crit && ski.0.as_bytes().len() == 20);
    let (crit, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    let root_ski = issuer
        .root()
        .certificate()
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap()
        .1;
    assert!(!crit && aki.key_identifier == Some(root_ski.0));
    // the signed bytes are a slice of the certificate
    assert!(
        cert.as_der()
            .windows(cert.tbs_der().len())
            .any(|w| w == cert.tbs_der())
    );
    assert_eq!(IdCert::from_pem(&cert.to_pem()).unwrap(), cert);
}

#[test]
fn issued_subject_is_canonical_even_for_a_loosely_encoded_csr() {
    // An OpenSSL-style CSR: everything UTF8String, uppercase domain labels.
    let mut f = CsrForge::alice();
    let mut a: Vec<_> = ["COM", "EXAMPLE"]
        .iter()
        .map(|l| atav(p2core_types::pdn::OID_DC, der::Tag::Utf8String, l))
        .collect();
    a.push(atav(
        p2core_types::pdn::OID_CN,
        der::Tag::Utf8String,
        "Alice",
    ));
    a.push(atav(
        p2core_types::pdn::OID_UID,
        der::Tag::Utf8String,
        "Alice@Example.com",
    ));
    a.push(atav(
        p2core_types::pdn::OID_UNIQUE_IDENTIFIER,
        der::Tag::Utf8String,
        "s1",
    ));
    f.subject = name(a);
    let issuer = issuer();
    let cert = issuer.issue(&f.csr(), &alice(), T, None, 1).unwrap();
    let ours = issuer.issue(&csr(), &alice(), T, None, 1).unwrap();
    assert_eq!(cert.subject(), ours.subject());
}

#[test]
fn validity_is_capped() {
    let issuer = issuer();
    let c = csr();
    let cert = issuer.issue(&c, &alice(), T, None, 1).unwrap();
    assert_eq!(cert.not_before(), T);
    assert_eq!(
        cert.not_after().0 - NOW,
        DEFAULT_ACTOR_CERT_VALIDITY.as_secs()
    );
    assert_eq!(DEFAULT_ACTOR_CERT_VALIDITY.as_secs(), 30 * DAY);
    let cert = issuer
        .issue(&c, &alice(), T, Some(Duration::from_secs(3600)), 1)
        .unwrap();
    assert_eq!(cert.not_after().0 - NOW, 3600);
    let cert = issuer
        .issue(&c, &alice(), T, Some(Duration::from_secs(365 * DAY)), 1)
        .unwrap();
    assert_eq!(cert.not_after().0 - NOW, MAX_ACTOR_CERT_VALIDITY.as_secs());
    assert_eq!(MAX_ACTOR_CERT_VALIDITY.as_secs(), 60 * DAY);
    // never past the root's notAfter
    let late = UnixTimestamp(ROOT_NA - 10 * DAY);
    let cert = issuer.issue(&c, &alice(), late, None, 1).unwrap();
    assert_eq!(cert.not_after(), UnixTimestamp(ROOT_NA));
    verify_actor_cert(&cert, issuer.root(), late).unwrap();
    // never before the root's notBefore
    let early = UnixTimestamp(ROOT_NB - DAY);
    let cert = issuer.issue(&c, &alice(), early, None, 1).unwrap();
    assert_eq!(cert.not_before(), UnixTimestamp(ROOT_NB));
    // nothing once the root has expired
    assert!(matches!(
        issuer.issue(&c, &alice(), UnixTimestamp(ROOT_NA + 1), None, 1),
        Err(CertError::Expired {
            kind: CertKind::Root,
            ..
        })
    ));
    assert!(matches!(
        issuer.issue(&c, &alice(), T, Some(Duration::from_millis(10)), 1),
        Err(CertError::InvalidValidity(_))
    ));
}

#[test]
fn serials_are_checked() {
    let issuer = issuer();
    let c = csr();
    assert!(matches!(
        issuer.issue(&c, &alice(), T, None, 0),
        Err(CertError::SerialNotPositive { .. })
    ));
    assert!(matches!(
        issuer.issue(&c, &alice(), T, None, 1 << 63),
        Err(CertError::SerialTooLarge { .. })
    ));
    let cert = issuer.issue(&c, &alice(), T, None, (1 << 63) - 1).unwrap();
    assert_eq!(cert.serial_u64(), Some((1 << 63) - 1));
    verify_actor_cert(&cert, issuer.root(), T).unwrap();
    // minimal two's-complement encodings around every byte boundary
    for serial in [
        1u64,
        127,
        128,
        255,
        256,
        0x7fff,
        0x8000,
        0xff_ffff,
        1 << 56,
        (1 << 63) - 1,
    ] {
        let cert = issuer.issue(&c, &alice(), T, None, serial).unwrap();
        assert_eq!(cert.serial_u64(), Some(serial));
        verify_actor_cert(&cert, issuer.root(), T).unwrap();
    }
    for _ in 0..1000 {
        let s = fresh_serial();
        assert!((1..1 << 63).contains(&s));
    }
    assert_ne!(fresh_serial(), fresh_serial());
}

#[test]
fn issue_verifies_the_csr() {
    let issuer = issuer();
    assert!(matches!(
        issuer.issue(&csr(), &"bob@example.com".parse().unwrap(), T, None, 1),
        Err(CertError::WrongActor { .. })
    ));
    let mut f = CsrForge::alice();
    f.tamper_signature = true;
    assert!(matches!(
        issuer.issue(&f.csr(), &alice(), T, None, 1),
        Err(CertError::CsrSignatureInvalid)
    ));
    // a CSR for another server's domain
    let bob: FederationId = "bob@other.org".parse().unwrap();
    let other = build_csr(&actor_key(), &bob, &SessionId::new("s").unwrap()).unwrap();
    assert!(matches!(
        issuer.issue(&other, &bob, T, None, 1),
        Err(CertError::SubjectDcMismatch {
            kind: CertKind::Csr
        })
    ));
}

#[test]
fn issuer_needs_the_root_key_and_a_valid_root() {
    assert!(matches!(
        Issuer::new(our_root(), key(77)),
        Err(CertError::KeyMismatch)
    ));
    let mut f = Forge::root("example.com");
    f.extensions[0] = bc(false, true, Some(0));
    assert!(matches!(
        Issuer::new(f.cert(), root_key()),
        Err(CertError::NotCritical {
            kind: CertKind::Root,
            ..
        })
    ));
    // a forged (but valid) root without SubjectKeyIdentifier works too
    let issuer = Issuer::new(good_root(), root_key()).unwrap();
    assert_eq!(issuer.domain().as_str(), "example.com");
    let cert = issuer.issue(&csr(), &alice(), T, None, 9).unwrap();
    verify_actor_cert(&cert, &good_root(), T).unwrap();
}

#[test]
fn create_root_cert_rejects_bad_input() {
    assert!(matches!(
        create_root_cert(&root_key(), &domain(), T, UnixTimestamp(NOW - 1), 1),
        Err(CertError::InvalidValidity(_))
    ));
    assert!(matches!(
        create_root_cert(&root_key(), &domain(), T, UnixTimestamp(NOW + 1), 0),
        Err(CertError::SerialNotPositive { .. })
    ));
    // dates after 2049 are written as GeneralizedTime and read back
    let far = UnixTimestamp(4_102_444_800); // 2100-01-01
    let root = create_root_cert(&root_key(), &domain(), T, far, 1).unwrap();
    assert_eq!(root.not_after(), far);
    verify_root(&root, T).unwrap();
    assert!(matches!(
        create_root_cert(&root_key(), &domain(), T, UnixTimestamp(u64::MAX / 2), 1),
        Err(CertError::InvalidValidity(_))
    ));
}

#[test]
fn single_label_domains_work() {
    let localhost: DomainName = "localhost".parse().unwrap();
    let root = create_root_cert(&root_key(), &localhost, T, UnixTimestamp(NOW + DAY), 1).unwrap();
    let issuer = Issuer::new(root.clone(), root_key()).unwrap();
    let fid: FederationId = "bob@localhost".parse().unwrap();
    let csr = build_csr(&actor_key(), &fid, &SessionId::new("x").unwrap()).unwrap();
    let cert = issuer.issue(&csr, &fid, T, None, 2).unwrap();
    verify_actor_cert(&cert, &root, T).unwrap();
    // and a certificate from one server does not verify under another
    assert!(matches!(
        verify_actor_cert(&cert, &our_root(), T),
        Err(CertError::IssuerMismatch)
    ));
}
