//! One test per certificate rule (design §3): each forged certificate or CSR
//! breaks exactly that rule and must be rejected with that rule's variant.

mod common;

use common::*;
use der::Tag;
use p2core_certs::{CertError, CertKind, verify_actor_cert, verify_csr, verify_root};
use p2core_types::pdn::{OID_CN, OID_DC, OID_UID, OID_UNIQUE_IDENTIFIER, PdnAttribute};
use p2core_types::{DomainName, FederationId, UnixTimestamp};
use x509_cert::ext::pkix::KeyUsages;

const T: UnixTimestamp = UnixTimestamp(NOW);

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

fn root_err(f: &Forge) -> Result<(), CertError> {
    verify_root(&f.cert(), T)
}

fn actor_err(f: &Forge) -> Result<(), CertError> {
    verify_actor_cert(&f.cert(), &good_root(), T)
}

fn alice() -> FederationId {
    "alice@example.com".parse().unwrap()
}

fn example_com() -> DomainName {
    "example.com".parse().unwrap()
}

fn csr_err(f: &CsrForge) -> Result<(), CertError> {
    verify_csr(&f.csr(), &alice(), &example_com())
}

// ---------------------------------------------------------------- baselines

#[test]
fn good_root_passes() {
    root_err(&Forge::root("example.com")).unwrap();
    root_err(&Forge::root("localhost")).unwrap();
    root_err(&Forge::root("a.b.c.example.org")).unwrap();
}

#[test]
fn good_actor_passes() {
    actor_err(&Forge::actor()).unwrap();
}

#[test]
fn good_csr_passes() {
    csr_err(&CsrForge::alice()).unwrap();
    let mut f = CsrForge::alice();
    f.requested = None; // the extension request is optional
    csr_err(&f).unwrap();
}

// ---------------------------------------------------------------- signatures

#[test]
fn root_self_signature_is_checked() {
    let mut f = Forge::root("example.com");
    f.tamper_signature = true;
    assert_err!(root_err(&f), CertError::RootSignatureInvalid);
    let mut f = Forge::root("example.com");
    f.signer = key(9); // signed by a key other than its own
    assert_err!(root_err(&f), CertError::RootSignatureInvalid);
}

#[test]
fn actor_signature_is_checked_over_received_tbs() {
    let mut f = Forge::actor();
    f.tamper_signature = true;
    assert_err!(actor_err(&f), CertError::ActorSignatureInvalid);
    let mut f = Forge::actor();
    f.signer = key(9);
    assert_err!(actor_err(&f), CertError::ActorSignatureInvalid);
}

/// The OID of a private, unknown extension (non-critical, so it is ignored).
const PRIVATE_EXT: &str = "1.3.6.1.4.1.55555.1";

/// `forge`'s extensions plus one that spells out `critical FALSE`, as the raw
/// `Extensions` SEQUENCE.
fn with_explicit_false(exts: &[x509_cert::ext::Extension]) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = exts
        .iter()
        .map(|e| der::Encode::to_der(e).unwrap())
        .collect();
    parts.push(explicit_false_ext(PRIVATE_EXT, &[0x05, 0x00]));
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

#[test]
fn signature_covers_the_received_bytes_not_a_re_encoding() {
    // An extension that spells out `critical BOOLEAN FALSE` is accepted by the
    // parser but dropped by every DER re-encoding, so the received TBS and its
    // re-encoding differ. The certificate is signed over the received bytes:
    // a verifier that re-encodes the TBS rejects it, p2core must accept it.
    for (mut f, is_root) in [(Forge::actor(), false), (Forge::root("example.com"), true)] {
        f.raw_extensions = Some(with_explicit_false(&f.extensions));
        let received = f.tbs_der();
        let cert = f.cert();
        assert_eq!(cert.tbs_der(), received.as_slice());
        let re_encoded = der::Encode::to_der(cert.certificate().tbs_certificate()).unwrap();
        assert_ne!(
            re_encoded, received,
            "the test certificate must not be canonical DER, or it proves nothing"
        );
        assert_eq!(
            re_encoded.len() + 3,
            received.len(),
            "only BOOLEAN FALSE is dropped"
        );
        // re-serialising gives back exactly the received bytes
        assert_eq!(cert.as_der(), f.der().as_slice());
        assert_eq!(
            p2core_types::IdCert::from_pem(&cert.to_pem())
                .unwrap()
                .as_der(),
            f.der().as_slice()
        );
        if is_root {
            verify_root(&cert, T).unwrap();
        } else {
            verify_actor_cert(&cert, &good_root(), T).unwrap();
        }

        // The converse: signed over the re-encoding, sent with the received
        // encoding. A re-encoding verifier would accept this one.
        let wrong = p2core_types::IdCert::from_der(&f.der_signed_over(&re_encoded)).unwrap();
        if is_root {
            assert_err!(verify_root(&wrong, T), CertError::RootSignatureInvalid);
        } else {
            assert_err!(
                verify_actor_cert(&wrong, &good_root(), T),
                CertError::ActorSignatureInvalid
            );
        }
    }
}

#[test]
fn csr_signature_covers_the_received_bytes_not_a_re_encoding() {
    // The attributes are a SET OF, which DER sorts; x509-cert accepts an
    // unsorted one and sorts it when re-encoding. Put the longer attribute
    // (the extensionRequest) before a short unstructuredName.
    let mut f = CsrForge::alice();
    let short = seq(&[
        &der::Encode::to_der(&der::asn1::ObjectIdentifier::new_unwrap(
            "1.2.840.113549.1.9.2",
        ))
        .unwrap(),
        &tlv(0x31, &tlv(0x0c, b"x")),
    ]);
    let long = f.extension_request_der();
    assert!(long.len() > short.len());
    f.raw_attributes = Some([long, short].concat());
    let received = f.info_der();
    let csr = f.csr();
    assert_eq!(csr.info_der(), received.as_slice());
    let re_encoded = der::Encode::to_der(&csr.request().info).unwrap();
    assert_ne!(
        re_encoded, received,
        "the test CSR must not be canonical DER"
    );
    assert_eq!(re_encoded.len(), received.len(), "only the order differs");
    assert_eq!(csr.as_der(), f.der().as_slice());
    verify_csr(&csr, &alice(), &example_com()).unwrap();

    let wrong = p2core_types::IdCsr::from_der(&f.der_signed_over(&re_encoded)).unwrap();
    assert_err!(
        verify_csr(&wrong, &alice(), &example_com()),
        CertError::CsrSignatureInvalid
    );
}

#[test]
fn csr_self_signature_is_checked() {
    let mut f = CsrForge::alice();
    f.tamper_signature = true;
    assert_err!(csr_err(&f), CertError::CsrSignatureInvalid);
    let mut f = CsrForge::alice();
    f.signer = key(9); // no proof of possession of the key in the CSR
    assert_err!(csr_err(&f), CertError::CsrSignatureInvalid);
}

#[test]
fn weak_signature_components_are_rejected_strictly() {
    // An all-zero signature (R = identity, small order) must fail strict checks.
    let mut der = Forge::actor().der();
    let n = der.len();
    der[n - 64..].fill(0);
    let cert = p2core_types::IdCert::from_der(&der).unwrap();
    assert_err!(
        verify_actor_cert(&cert, &good_root(), T),
        CertError::ActorSignatureInvalid
    );
}

// ---------------------------------------------------------------- algorithms

#[test]
fn signature_algorithm_must_be_ed25519() {
    for kind in [CertKind::Root, CertKind::Actor] {
        let mut f = if kind == CertKind::Root {
            Forge::root("example.com")
        } else {
            Forge::actor()
        };
        f.tbs_alg = ED448_ALG.to_vec();
        f.outer_alg = ED448_ALG.to_vec();
        let r = if kind == CertKind::Root {
            root_err(&f)
        } else {
            actor_err(&f)
        };
        assert_err!(r, CertError::SignatureAlgorithmNotEd25519 { kind: k, .. } if k == kind);
    }
    let mut f = CsrForge::alice();
    f.alg = ED448_ALG.to_vec();
    assert_err!(
        csr_err(&f),
        CertError::SignatureAlgorithmNotEd25519 {
            kind: CertKind::Csr,
            ..
        }
    );
}

#[test]
fn ed25519_parameters_must_be_absent() {
    let mut f = Forge::root("example.com");
    f.tbs_alg = ED25519_ALG_NULL.to_vec();
    f.outer_alg = ED25519_ALG_NULL.to_vec();
    assert_err!(
        root_err(&f),
        CertError::SignatureAlgorithmParameters {
            kind: CertKind::Root
        }
    );
    let mut f = Forge::actor();
    f.tbs_alg = ED25519_ALG_NULL.to_vec();
    f.outer_alg = ED25519_ALG_NULL.to_vec();
    assert_err!(
        actor_err(&f),
        CertError::SignatureAlgorithmParameters {
            kind: CertKind::Actor
        }
    );
    let mut f = CsrForge::alice();
    f.alg = ED25519_ALG_NULL.to_vec();
    assert_err!(
        csr_err(&f),
        CertError::SignatureAlgorithmParameters {
            kind: CertKind::Csr
        }
    );
}

#[test]
fn tbs_signature_field_must_equal_outer_algorithm() {
    let mut f = Forge::root("example.com");
    f.tbs_alg = ED448_ALG.to_vec();
    assert_err!(
        root_err(&f),
        CertError::SignatureAlgorithmMismatch {
            kind: CertKind::Root
        }
    );
    let mut f = Forge::actor();
    f.tbs_alg = ED25519_ALG_NULL.to_vec();
    assert_err!(
        actor_err(&f),
        CertError::SignatureAlgorithmMismatch {
            kind: CertKind::Actor
        }
    );
}

#[test]
fn subject_key_must_be_ed25519() {
    let mut f = Forge::root("example.com");
    f.spki = ed448_spki();
    assert_err!(
        root_err(&f),
        CertError::KeyNotEd25519 {
            kind: CertKind::Root
        }
    );
    let mut f = Forge::actor();
    f.spki = ed448_spki();
    assert_err!(
        actor_err(&f),
        CertError::KeyNotEd25519 {
            kind: CertKind::Actor
        }
    );
    let mut f = CsrForge::alice();
    f.spki = ed448_spki();
    assert_err!(
        csr_err(&f),
        CertError::KeyNotEd25519 {
            kind: CertKind::Csr
        }
    );
}

#[test]
fn ed25519_key_that_is_not_a_point() {
    // y = 2 is not the y-coordinate of a curve point
    let mut bits = vec![0u8, 2];
    bits.extend_from_slice(&[0u8; 31]);
    let spki = seq(&[ED25519_ALG, &tlv(0x03, &bits)]);
    // a certificate parses; its key is unusable
    let mut f = Forge::actor();
    f.spki = spki.clone();
    let cert = f.cert();
    assert!(cert.has_ed25519_key());
    assert_eq!(cert.public_key(), None);
    // a CSR is rejected when parsed: its key is needed at once
    let mut c = CsrForge::alice();
    c.spki = spki;
    assert!(matches!(
        p2core_types::IdCsr::from_der(&c.der()),
        Err(p2core_types::CertParseError::NotEd25519(_))
    ));
    // an Ed25519 SPKI of the wrong length is a parse error for both
    let mut f = Forge::actor();
    f.spki = seq(&[ED25519_ALG, &tlv(0x03, &[0, 1, 2, 3])]);
    assert!(matches!(
        p2core_types::IdCert::from_der(&f.der()),
        Err(p2core_types::CertParseError::NotEd25519(_))
    ));
}

// ---------------------------------------------------------------- version and serial

#[test]
fn must_be_v3() {
    for version in [None, Some(0), Some(1)] {
        let mut f = Forge::root("example.com");
        f.version = version;
        f.extensions.clear(); // v1/v2 certificates cannot carry extensions
        assert_err!(
            root_err(&f),
            CertError::NotV3 {
                kind: CertKind::Root
            }
        );
        let mut f = Forge::actor();
        f.version = version;
        f.extensions.clear();
        assert_err!(
            actor_err(&f),
            CertError::NotV3 {
                kind: CertKind::Actor
            }
        );
    }
}

#[test]
fn serial_must_be_positive() {
    for serial in [vec![0x00], vec![0xff], vec![0x80, 0x01]] {
        let mut f = Forge::actor();
        f.serial = serial.clone();
        assert_err!(
            actor_err(&f),
            CertError::SerialNotPositive {
                kind: CertKind::Actor
            }
        );
        let mut f = Forge::root("example.com");
        f.serial = serial;
        assert_err!(
            root_err(&f),
            CertError::SerialNotPositive {
                kind: CertKind::Root
            }
        );
    }
}

#[test]
fn actor_serials_of_1_to_20_octets_are_accepted() {
    let mut f = Forge::actor();
    f.serial = vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // 2^63 - 1
    actor_err(&f).unwrap();
    assert_eq!(f.cert().serial_u64(), Some((1 << 63) - 1));
    // 2^63 and beyond: no longer a u64 for JSON, but a valid serial (RFC 5280)
    f.serial = vec![0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]; // 2^63
    actor_err(&f).unwrap();
    assert_eq!(f.cert().serial_u64(), Some(1 << 63));
    f.serial = vec![0x4a; 20];
    actor_err(&f).unwrap();
    // roots may use long random serials (OpenSSL's default)
    let mut f = Forge::root("example.com");
    f.serial = vec![0x4a; 20];
    root_err(&f).unwrap();
}

#[test]
fn serial_longer_than_20_octets_is_rejected() {
    let mut f = Forge::actor();
    f.serial = vec![
        0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ];
    assert_eq!(f.serial.len(), 21);
    assert_err!(
        actor_err(&f),
        CertError::SerialTooLong {
            kind: CertKind::Actor,
            octets: 21
        }
    );
    let mut f = Forge::root("example.com");
    f.serial = vec![
        0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ];
    assert_err!(
        root_err(&f),
        CertError::SerialTooLong {
            kind: CertKind::Root,
            ..
        }
    );
}

// ---------------------------------------------------------------- root profile

#[test]
fn root_must_be_self_issued() {
    let mut f = Forge::root("example.com");
    f.issuer = name(dcs("other.com"));
    assert_err!(root_err(&f), CertError::RootNotSelfIssued);
}

#[test]
fn root_subject_must_not_have_actor_attributes() {
    for (oid, attr, value) in [
        (OID_CN, PdnAttribute::CommonName, "example"),
        (OID_UID, PdnAttribute::Uid, "admin@example.com"),
        (OID_UNIQUE_IDENTIFIER, PdnAttribute::UniqueIdentifier, "s1"),
    ] {
        let mut f = Forge::root("example.com");
        let mut a = dcs("example.com");
        a.push(atav(oid, Tag::Utf8String, value));
        f.subject = name(a);
        f.issuer = f.subject.clone();
        assert_err!(root_err(&f), CertError::RootHasActorAttribute(a) if a == attr);
    }
}

#[test]
fn root_subject_must_be_dc_only() {
    let mut f = Forge::root("example.com");
    let mut a = dcs("example.com");
    a.push(atav(
        der::asn1::ObjectIdentifier::new_unwrap("2.5.4.10"),
        Tag::Utf8String,
        "Example Org",
    ));
    f.subject = name(a);
    f.issuer = f.subject.clone();
    assert_err!(root_err(&f), CertError::RootSubjectNotDcOnly);
}

#[test]
fn names_need_domain_components() {
    let mut f = Forge::root("example.com");
    f.subject = name(vec![atav(
        der::asn1::ObjectIdentifier::new_unwrap("2.5.4.10"),
        Tag::Utf8String,
        "Example Org",
    )]);
    f.issuer = f.subject.clone();
    assert_err!(
        root_err(&f),
        CertError::NoDomainComponents {
            kind: CertKind::Root,
            ..
        }
    );
    let mut f = Forge::actor();
    let mut a = actor_attrs("example.com", "alice", "s1");
    a.retain(|x| x.oid != OID_DC);
    f.subject = name(a);
    assert_err!(
        actor_err(&f),
        CertError::NoDomainComponents {
            kind: CertKind::Actor,
            ..
        }
    );
}

#[test]
fn root_domain_components_must_form_a_domain() {
    let mut f = Forge::root("example.com");
    f.subject = name(vec![
        atav(OID_DC, Tag::Ia5String, "exa_mple"),
        atav(OID_DC, Tag::Ia5String, "com"),
    ]);
    f.issuer = f.subject.clone();
    assert_err!(
        root_err(&f),
        CertError::InvalidDomainComponents {
            kind: CertKind::Root,
            ..
        }
    );
}

#[test]
fn root_must_be_ca() {
    let mut f = Forge::root("example.com");
    f.extensions = vec![ku(true, KeyUsages::KeyCertSign)];
    assert_err!(root_err(&f), CertError::RootNotCa);
    let mut f = Forge::root("example.com");
    f.extensions[0] = bc(true, false, None);
    assert_err!(root_err(&f), CertError::RootNotCa);
}

#[test]
fn root_path_len_must_be_zero() {
    let mut f = Forge::root("example.com");
    f.extensions[0] = bc(true, true, None);
    assert_err!(root_err(&f), CertError::RootPathLen { found: None });
    f.extensions[0] = bc(true, true, Some(1));
    assert_err!(root_err(&f), CertError::RootPathLen { found: Some(1) });
}

#[test]
fn root_needs_key_cert_sign() {
    let mut f = Forge::root("example.com");
    f.extensions.truncate(1);
    assert_err!(root_err(&f), CertError::RootNoKeyCertSign);
    let mut f = Forge::root("example.com");
    f.extensions[1] = ku(true, KeyUsages::CRLSign);
    assert_err!(root_err(&f), CertError::RootNoKeyCertSign);
    // keyCertSign alone is fine, cRLSign is allowed next to it
    let mut f = Forge::root("example.com");
    f.extensions[1] = ku(true, KeyUsages::KeyCertSign);
    root_err(&f).unwrap();
}

#[test]
fn root_key_usage_only_cert_and_crl_sign() {
    let mut f = Forge::root("example.com");
    f.extensions[1] = ku(true, KeyUsages::KeyCertSign | KeyUsages::DigitalSignature);
    assert_err!(root_err(&f), CertError::RootKeyUsageExtraBits);
}

// ---------------------------------------------------------------- criticality and unknown extensions

#[test]
fn basic_constraints_must_be_critical() {
    let mut f = Forge::root("example.com");
    f.extensions[0] = bc(false, true, Some(0));
    assert_err!(
        root_err(&f),
        CertError::NotCritical {
            kind: CertKind::Root,
            extension: "BasicConstraints"
        }
    );
    let mut f = Forge::actor();
    f.extensions[0] = bc(false, false, None);
    assert_err!(
        actor_err(&f),
        CertError::NotCritical {
            kind: CertKind::Actor,
            extension: "BasicConstraints"
        }
    );
}

#[test]
fn key_usage_must_be_critical() {
    let mut f = Forge::root("example.com");
    f.extensions[1] = ku(false, KeyUsages::KeyCertSign);
    assert_err!(
        root_err(&f),
        CertError::NotCritical {
            kind: CertKind::Root,
            extension: "KeyUsage"
        }
    );
    let mut f = Forge::actor();
    f.extensions[1] = ku(false, KeyUsages::DigitalSignature);
    assert_err!(
        actor_err(&f),
        CertError::NotCritical {
            kind: CertKind::Actor,
            extension: "KeyUsage"
        }
    );
}

#[test]
fn unknown_critical_extensions_are_rejected() {
    let mut f = Forge::root("example.com");
    f.extensions
        .push(ext("1.3.6.1.4.1.99999.1", true, &[0x05, 0x00]));
    assert_err!(
        root_err(&f),
        CertError::UnknownCriticalExtension {
            kind: CertKind::Root,
            ..
        }
    );
    let mut f = Forge::actor();
    f.extensions
        .push(ext("1.3.6.1.4.1.99999.1", true, &[0x05, 0x00]));
    assert_err!(
        actor_err(&f),
        CertError::UnknownCriticalExtension {
            kind: CertKind::Actor,
            ..
        }
    );
}

#[test]
fn unknown_non_critical_extensions_are_ignored() {
    let mut f = Forge::root("example.com");
    f.extensions
        .push(ext("1.3.6.1.4.1.99999.1", false, &[0x05, 0x00]));
    root_err(&f).unwrap();
    let mut f = Forge::actor();
    f.extensions
        .push(ext("1.3.6.1.4.1.99999.1", false, b"anything, not even DER"));
    actor_err(&f).unwrap();
}

#[test]
fn duplicate_extensions_are_rejected() {
    let mut f = Forge::actor();
    f.extensions.push(ku(true, KeyUsages::DigitalSignature));
    assert_err!(
        actor_err(&f),
        CertError::DuplicateExtension {
            kind: CertKind::Actor,
            ..
        }
    );
}

#[test]
fn malformed_constraint_extensions_are_rejected() {
    let mut f = Forge::root("example.com");
    f.extensions[0] = ext("2.5.29.19", true, &[0x04, 0x00]);
    assert_err!(
        root_err(&f),
        CertError::MalformedExtension {
            kind: CertKind::Root,
            ..
        }
    );
    let mut f = Forge::actor();
    f.extensions[1] = ext("2.5.29.15", true, &[0x02, 0x01, 0x00]);
    assert_err!(
        actor_err(&f),
        CertError::MalformedExtension {
            kind: CertKind::Actor,
            ..
        }
    );
}

// ---------------------------------------------------------------- actor profile

#[test]
fn actor_issuer_must_be_root_subject() {
    let mut f = Forge::actor();
    f.issuer = name(dcs("other.com"));
    assert_err!(actor_err(&f), CertError::IssuerMismatch);
    // same DCs, other order
    let mut f = Forge::actor();
    f.issuer = name(dcs("com.example"));
    assert_err!(actor_err(&f), CertError::IssuerMismatch);
}

#[test]
fn actor_subject_needs_cn_uid_and_session_id() {
    for attr in [
        PdnAttribute::CommonName,
        PdnAttribute::Uid,
        PdnAttribute::UniqueIdentifier,
    ] {
        let mut a = actor_attrs("example.com", "alice", "s1");
        a.retain(|x| x.oid != attr.oid());
        let mut f = Forge::actor();
        f.subject = name(a.clone());
        assert_err!(
            actor_err(&f),
            CertError::MissingAttribute { kind: CertKind::Actor, attr: x } if x == attr
        );
        let mut c = CsrForge::alice();
        c.subject = name(a);
        assert_err!(
            csr_err(&c),
            CertError::MissingAttribute { kind: CertKind::Csr, attr: x } if x == attr
        );
    }
}

#[test]
fn duplicate_cn_uid_or_session_id_is_rejected() {
    for (oid, attr, value) in [
        (OID_CN, PdnAttribute::CommonName, "alice"),
        (OID_UID, PdnAttribute::Uid, "alice@example.com"),
        (OID_UNIQUE_IDENTIFIER, PdnAttribute::UniqueIdentifier, "s1"),
    ] {
        let mut a = actor_attrs("example.com", "alice", "s1");
        a.push(atav(oid, Tag::Utf8String, value));
        let mut f = Forge::actor();
        f.subject = name(a.clone());
        assert_err!(
            actor_err(&f),
            CertError::DuplicateAttribute { kind: CertKind::Actor, attr: x } if x == attr
        );
        let mut c = CsrForge::alice();
        c.subject = name(a);
        assert_err!(
            csr_err(&c),
            CertError::DuplicateAttribute { kind: CertKind::Csr, attr: x } if x == attr
        );
    }
}

#[test]
fn session_id_must_be_ia5_and_1_to_32_characters() {
    for bad in ["", "a".repeat(33).as_str(), "séance"] {
        let mut f = Forge::actor();
        let mut a = actor_attrs("example.com", "alice", "s1");
        let last = a.len() - 1;
        // UTF8String as OpenSSL writes it: the characters must still be IA5
        a[last] = atav(OID_UNIQUE_IDENTIFIER, Tag::Utf8String, bad);
        f.subject = name(a.clone());
        assert_err!(
            actor_err(&f),
            CertError::InvalidSessionId {
                kind: CertKind::Actor,
                ..
            }
        );
        let mut c = CsrForge::alice();
        c.subject = name(a);
        assert_err!(
            csr_err(&c),
            CertError::InvalidSessionId {
                kind: CertKind::Csr,
                ..
            }
        );
    }
    // 32 characters, as UTF8String, PrintableString or IA5String: fine
    for tag in [Tag::Utf8String, Tag::PrintableString, Tag::Ia5String] {
        let mut f = Forge::actor();
        let mut a = actor_attrs("example.com", "alice", "s1");
        let last = a.len() - 1;
        a[last] = atav(OID_UNIQUE_IDENTIFIER, tag, &"Z".repeat(32));
        f.subject = name(a);
        actor_err(&f).unwrap();
        assert_eq!(f.cert().session_id().unwrap().as_str(), "Z".repeat(32));
    }
}

#[test]
fn uid_must_be_a_federation_id() {
    let mut a = actor_attrs("example.com", "alice", "s1");
    a[2] = atav(OID_UID, Tag::Utf8String, "alice at example.com");
    let mut f = Forge::actor();
    f.subject = name(a);
    assert_err!(
        actor_err(&f),
        CertError::InvalidUid {
            kind: CertKind::Actor,
            ..
        }
    );
}

#[test]
fn uid_local_part_must_equal_cn() {
    let mut a = actor_attrs("example.com", "alice", "s1");
    a[3] = atav(OID_CN, Tag::Utf8String, "bob");
    let mut f = Forge::actor();
    f.subject = name(a.clone());
    assert_err!(
        actor_err(&f),
        CertError::CnUidMismatch {
            kind: CertKind::Actor,
            ..
        }
    );
    let mut c = CsrForge::alice();
    c.subject = name(a);
    assert_err!(
        csr_err(&c),
        CertError::CnUidMismatch {
            kind: CertKind::Csr,
            ..
        }
    );
}

#[test]
fn uid_domain_must_equal_dcs() {
    let mut a = actor_attrs("example.com", "alice", "s1");
    a[2] = atav(OID_UID, Tag::Utf8String, "alice@example.org");
    let mut f = Forge::actor();
    f.subject = name(a.clone());
    assert_err!(
        actor_err(&f),
        CertError::UidDomainMismatch {
            kind: CertKind::Actor,
            ..
        }
    );
    let mut c = CsrForge::alice();
    c.subject = name(a);
    assert_err!(
        csr_err(&c),
        CertError::UidDomainMismatch {
            kind: CertKind::Csr,
            ..
        }
    );
}

#[test]
fn subject_dcs_must_equal_issuer_dcs_in_order() {
    // consistent subject of another domain
    let mut f = Forge::actor();
    f.subject = name(actor_attrs("other.org", "alice", "s1"));
    assert_err!(
        actor_err(&f),
        CertError::SubjectDcMismatch {
            kind: CertKind::Actor
        }
    );
    // same labels, reversed order (and a UID that matches that order)
    let mut f = Forge::actor();
    f.subject = name(actor_attrs("com.example", "alice", "s1"));
    assert_err!(
        actor_err(&f),
        CertError::SubjectDcMismatch {
            kind: CertKind::Actor
        }
    );
    // CSR: DCs must be this server's domain
    let mut c = CsrForge::alice();
    c.subject = name(actor_attrs("com.example", "alice", "s1"));
    assert_err!(
        verify_csr(
            &c.csr(),
            &"alice@com.example".parse().unwrap(),
            &example_com()
        ),
        CertError::SubjectDcMismatch {
            kind: CertKind::Csr
        }
    );
}

#[test]
fn pdn_strings_may_use_any_directory_string_type_but_nothing_else() {
    // DCs as UTF8String, CN/UID as IA5String: accepted
    let mut f = Forge::actor();
    let mut a: Vec<_> = ["com", "example"]
        .iter()
        .map(|l| atav(OID_DC, Tag::Utf8String, l))
        .collect();
    a.push(atav(OID_CN, Tag::Ia5String, "alice"));
    a.push(atav(OID_UID, Tag::Ia5String, "alice@example.com"));
    a.push(atav(OID_UNIQUE_IDENTIFIER, Tag::PrintableString, "s1"));
    f.subject = name(a);
    actor_err(&f).unwrap();
    // CN as BMPString: not a pDN
    let mut f = Forge::actor();
    let mut a = actor_attrs("example.com", "alice", "s1");
    a[3] = atav(OID_CN, Tag::BmpString, "\0a");
    f.subject = name(a);
    assert_err!(
        actor_err(&f),
        CertError::InvalidName {
            kind: CertKind::Actor,
            field: "subject",
            ..
        }
    );
}

#[test]
fn actor_must_not_be_ca() {
    let mut f = Forge::actor();
    f.extensions[0] = bc(true, true, Some(0));
    assert_err!(
        actor_err(&f),
        CertError::ActorIsCa {
            kind: CertKind::Actor
        }
    );
    // BasicConstraints may be absent
    let mut f = Forge::actor();
    f.extensions.remove(0);
    actor_err(&f).unwrap();
}

#[test]
fn actor_must_not_have_key_cert_sign() {
    let mut f = Forge::actor();
    f.extensions[1] = ku(true, KeyUsages::DigitalSignature | KeyUsages::KeyCertSign);
    assert_err!(
        actor_err(&f),
        CertError::ActorKeyCertSign {
            kind: CertKind::Actor
        }
    );
}

#[test]
fn actor_needs_digital_signature_or_content_commitment() {
    let mut f = Forge::actor();
    f.extensions[1] = ku(true, KeyUsages::KeyEncipherment);
    assert_err!(actor_err(&f), CertError::ActorNoSigningUsage);
    let mut f = Forge::actor();
    f.extensions.truncate(1);
    assert_err!(actor_err(&f), CertError::ActorNoSigningUsage);
    // contentCommitment (nonRepudiation) alone, or both: fine
    let mut f = Forge::actor();
    f.extensions[1] = ku(true, KeyUsages::NonRepudiation);
    actor_err(&f).unwrap();
    f.extensions[1] = ku(
        true,
        KeyUsages::NonRepudiation | KeyUsages::DigitalSignature,
    );
    actor_err(&f).unwrap();
}

#[test]
fn actor_validity_must_lie_inside_root_validity() {
    let mut f = Forge::actor();
    f.not_before = ROOT_NB - 1;
    assert_err!(
        verify_actor_cert(&f.cert(), &good_root(), UnixTimestamp(ROOT_NB)),
        CertError::OutsideRootValidity { .. }
    );
    let mut f = Forge::actor();
    f.not_after = ROOT_NA + 1;
    assert_err!(actor_err(&f), CertError::OutsideRootValidity { .. });
    // exactly the root's period is fine
    let mut f = Forge::actor();
    f.not_before = ROOT_NB;
    f.not_after = ROOT_NA;
    actor_err(&f).unwrap();
}

// ---------------------------------------------------------------- time

#[test]
fn validity_must_cover_now() {
    let f = Forge::actor();
    let cert = f.cert();
    let root = good_root();
    // boundaries are inclusive
    verify_actor_cert(&cert, &root, UnixTimestamp(f.not_before)).unwrap();
    verify_actor_cert(&cert, &root, UnixTimestamp(f.not_after)).unwrap();
    assert_err!(
        verify_actor_cert(&cert, &root, UnixTimestamp(f.not_before - 1)),
        CertError::NotYetValid {
            kind: CertKind::Actor,
            ..
        }
    );
    assert_err!(
        verify_actor_cert(&cert, &root, UnixTimestamp(f.not_after + 1)),
        CertError::Expired {
            kind: CertKind::Actor,
            ..
        }
    );
    verify_root(&root, UnixTimestamp(ROOT_NA)).unwrap();
    assert_err!(
        verify_root(&root, UnixTimestamp(ROOT_NA + 1)),
        CertError::Expired {
            kind: CertKind::Root,
            ..
        }
    );
    assert_err!(
        verify_root(&root, UnixTimestamp(ROOT_NB - 1)),
        CertError::NotYetValid {
            kind: CertKind::Root,
            ..
        }
    );
}

#[test]
fn actor_verification_checks_the_root_too() {
    let mut r = Forge::root("example.com");
    r.extensions[0] = bc(false, true, Some(0));
    assert_err!(
        verify_actor_cert(&Forge::actor().cert(), &r.cert(), T),
        CertError::NotCritical {
            kind: CertKind::Root,
            ..
        }
    );
    let mut r = Forge::root("example.com");
    r.tamper_signature = true;
    assert_err!(
        verify_actor_cert(&Forge::actor().cert(), &r.cert(), T),
        CertError::RootSignatureInvalid
    );
}

// ---------------------------------------------------------------- CSR specifics

#[test]
fn csr_must_be_for_the_authenticated_actor() {
    let f = CsrForge::alice();
    assert_err!(
        verify_csr(
            &f.csr(),
            &"bob@example.com".parse().unwrap(),
            &example_com()
        ),
        CertError::WrongActor { .. }
    );
}

#[test]
fn csr_must_not_request_ca_or_key_cert_sign() {
    let mut f = CsrForge::alice();
    f.requested = Some(vec![bc(true, true, None)]);
    assert_err!(
        csr_err(&f),
        CertError::ActorIsCa {
            kind: CertKind::Csr
        }
    );
    let mut f = CsrForge::alice();
    f.requested = Some(vec![ku(
        true,
        KeyUsages::KeyCertSign | KeyUsages::DigitalSignature,
    )]);
    assert_err!(
        csr_err(&f),
        CertError::ActorKeyCertSign {
            kind: CertKind::Csr
        }
    );
    let mut f = CsrForge::alice();
    f.requested = Some(vec![ext("2.5.29.19", true, &[0xff])]);
    assert_err!(
        csr_err(&f),
        CertError::MalformedExtension {
            kind: CertKind::Csr,
            ..
        }
    );
}
