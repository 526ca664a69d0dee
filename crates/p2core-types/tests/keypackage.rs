//! KeyPackage acceptance and rejection, with KeyPackages made by openmls
//! directly (its `KeyPackage::builder` and `openmls_basic_credential`
//! signature keys), not by this crate's generator.
#![cfg(feature = "mls")]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use ed25519_dalek::SigningKey;
use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::{
    BasicCredential, Capabilities, Ciphersuite, Credential, CredentialType, CredentialWithKey,
    ExtensionType, KeyPackage as MlsKeyPackage, KeyPackageBuilder, KeyPackageVerifyError, Lifetime,
};
use openmls::treesync::errors::LifetimeError;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::types::SignatureScheme;
use p2core_types::keypackage::{
    KeyPackage, KeyPackageError, LastResortKeyPackage, MAX_LIFETIME_SECS, REQUIRED_CIPHERSUITE,
    generate_key_packages,
};
use p2core_types::{FederationId, UnixTimestamp};

const ALICE: &str = "alice@example.com";

fn alice() -> FederationId {
    FederationId::new(ALICE).unwrap()
}

fn new_session_key() -> SigningKey {
    SigningKey::from_bytes(&p2core_types::random::bytes::<32>())
}

/// The session key as an openmls_basic_credential signer (private = the
/// 32-byte Ed25519 seed, public = the 32-byte public key).
fn openmls_signer(sk: &SigningKey) -> SignatureKeyPair {
    SignatureKeyPair::from_raw(
        SignatureScheme::ED25519,
        sk.to_bytes().to_vec(),
        sk.verifying_key().to_bytes().to_vec(),
    )
}

fn basic(identity: &str) -> Credential {
    BasicCredential::new(identity.as_bytes().to_vec()).into()
}

fn now() -> u64 {
    UnixTimestamp::now().as_secs()
}

/// Builds a KeyPackage with openmls and returns its TLS encoding.
fn openmls_key_package(
    ciphersuite: Ciphersuite,
    signer: &SignatureKeyPair,
    credential: Credential,
    customize: impl FnOnce(KeyPackageBuilder) -> KeyPackageBuilder,
) -> Vec<u8> {
    let provider = OpenMlsRustCrypto::default();
    let credential_with_key = CredentialWithKey {
        credential,
        signature_key: signer.public().into(),
    };
    let bundle = customize(MlsKeyPackage::builder())
        .build(ciphersuite, &provider, signer, credential_with_key)
        .expect("openmls builds the KeyPackage");
    bundle
        .key_package()
        .tls_serialize_detached()
        .expect("openmls encodes the KeyPackage")
}

/// A valid KeyPackage of ALICE's session `sk`, made by openmls.
fn valid_bytes(sk: &SigningKey) -> Vec<u8> {
    openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(sk),
        basic(ALICE),
        |b| b,
    )
}

fn invalid_reason(result: Result<KeyPackage, KeyPackageError>) -> KeyPackageVerifyError {
    match result {
        Err(KeyPackageError::Invalid(reason)) => reason,
        other => panic!("expected KeyPackageError::Invalid, got {other:?}"),
    }
}

#[test]
fn valid_openmls_key_package_is_accepted_and_bound() {
    let sk = new_session_key();
    let not_after = now() + 86_400;
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| b.key_package_lifetime(Lifetime::init(now() - 60, not_after)),
    );
    let b64 = STANDARD.encode(&bytes);

    let kp = KeyPackage::parse_for_session(&b64, &alice(), &sk.verifying_key()).unwrap();
    assert_eq!(kp.tls_bytes(), bytes.as_slice());
    assert_eq!(kp.to_base64(), b64);
    assert_eq!(kp.ciphersuite(), REQUIRED_CIPHERSUITE);
    assert_eq!(kp.not_after(), UnixTimestamp(not_after));
    assert_eq!(kp.init_key(), kp.inner().hpke_init_key().as_slice());
    assert_eq!(kp.init_key().len(), 32, "X25519 init key");
    assert_eq!(kp.signature_key(), sk.verifying_key().as_bytes());
    assert_eq!(
        kp.basic_credential_identity().as_deref(),
        Some(ALICE.as_bytes())
    );
    assert!(!kp.has_last_resort_extension());
    assert!(!kp.is_expired_at(UnixTimestamp::now()));

    // The same bytes through the other entry points.
    let from_bytes = KeyPackage::from_tls_bytes(&bytes).unwrap();
    from_bytes
        .verify_binding(&alice(), &sk.verifying_key())
        .unwrap();
    assert_eq!(from_bytes, kp);
    assert_eq!(KeyPackage::from_base64(&b64).unwrap(), kp);
}

#[test]
fn to_base64_round_trips_the_exact_received_bytes() {
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    let b64 = STANDARD.encode(&bytes);
    let kp = KeyPackage::from_base64(&b64).unwrap();
    assert_eq!(kp.to_base64(), b64);
    assert_eq!(STANDARD.decode(kp.to_base64()).unwrap(), bytes);
    let again = KeyPackage::from_base64(&kp.to_base64()).unwrap();
    assert_eq!(again.tls_bytes(), bytes.as_slice());
}

#[test]
fn tampered_signatures_are_rejected() {
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);

    // The KeyPackage signature is the last field: flip its last byte.
    let mut sig = bytes.clone();
    *sig.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        invalid_reason(KeyPackage::from_tls_bytes(&sig)),
        KeyPackageVerifyError::InvalidSignature
    );

    // Layout: version (2) | cipher suite (2) | init_key: length 0x20 + 32
    // bytes | leaf node: encryption_key: length 0x20 + 32 bytes | …
    assert_eq!(&bytes[..5], &[0x00, 0x01, 0x00, 0x01, 0x20]);
    assert_eq!(bytes[37], 0x20);

    // A byte of the init key: covered only by the KeyPackage signature.
    let mut init = bytes.clone();
    init[10] ^= 0x01;
    assert_eq!(
        invalid_reason(KeyPackage::from_tls_bytes(&init)),
        KeyPackageVerifyError::InvalidSignature
    );

    // A byte of the leaf node's encryption key: the leaf signature fails first.
    let mut leaf = bytes.clone();
    leaf[40] ^= 0x01;
    assert_eq!(
        invalid_reason(KeyPackage::from_tls_bytes(&leaf)),
        KeyPackageVerifyError::InvalidLeafNodeSignature
    );
}

#[test]
fn every_single_bit_flip_is_rejected_without_panicking() {
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = bytes.clone();
            t[i] ^= bit;
            assert!(
                KeyPackage::from_tls_bytes(&t).is_err(),
                "accepted with byte {i} ^ {bit:#04x}"
            );
        }
    }
}

#[test]
fn other_protocol_version_is_rejected() {
    let sk = new_session_key();
    let mut bytes = valid_bytes(&sk);
    bytes[1] = 0x02; // ProtocolVersion 2 instead of mls10 (1)
    assert_eq!(
        invalid_reason(KeyPackage::from_tls_bytes(&bytes)),
        KeyPackageVerifyError::InvalidProtocolVersion
    );
}

#[test]
fn wrong_cipher_suite_p256_is_rejected() {
    // Valid MLS, but a P-256 suite: openmls accepts it, the binding does not.
    let p256 = SignatureKeyPair::new(SignatureScheme::ECDSA_SECP256R1_SHA256).unwrap();
    let bytes = openmls_key_package(
        Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
        &p256,
        basic(ALICE),
        |b| b,
    );
    let kp = KeyPackage::from_tls_bytes(&bytes).unwrap();
    assert_eq!(
        kp.ciphersuite(),
        Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256
    );
    let sk = new_session_key();
    assert_eq!(
        kp.verify_binding(&alice(), &sk.verifying_key()),
        Err(KeyPackageError::WrongCiphersuite)
    );
}

#[test]
fn wrong_cipher_suite_chacha_with_the_session_key_is_rejected() {
    // Same identity, same Ed25519 session key; only the suite (0x0003) differs.
    let sk = new_session_key();
    let bytes = openmls_key_package(
        Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| b,
    );
    let b64 = STANDARD.encode(&bytes);
    assert_eq!(
        KeyPackage::parse_for_session(&b64, &alice(), &sk.verifying_key()).err(),
        Some(KeyPackageError::WrongCiphersuite)
    );
}

#[test]
fn credential_of_another_actor_is_rejected() {
    let sk = new_session_key();
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic("bob@example.com"),
        |b| b,
    );
    let b64 = STANDARD.encode(&bytes);
    assert_eq!(
        KeyPackage::parse_for_session(&b64, &alice(), &sk.verifying_key()).err(),
        Some(KeyPackageError::CredentialIdentityMismatch {
            expected: ALICE.to_owned(),
            found: "bob@example.com".to_owned(),
        })
    );
}

#[test]
fn credential_identity_must_be_the_canonical_fid() {
    // Federation IDs are case-insensitive, but the credential must carry the
    // canonical (lowercase) form byte for byte.
    let sk = new_session_key();
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic("Alice@Example.com"),
        |b| b,
    );
    let kp = KeyPackage::from_tls_bytes(&bytes).unwrap();
    assert!(matches!(
        kp.verify_binding(&alice(), &sk.verifying_key()),
        Err(KeyPackageError::CredentialIdentityMismatch { ref found, .. }) if found == "Alice@Example.com"
    ));
}

#[test]
fn key_package_signed_by_another_key_is_rejected() {
    // Right identity, valid signatures, but by a key that is not the session's.
    let session = new_session_key();
    let other = new_session_key();
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&other),
        basic(ALICE),
        |b| b,
    );
    let b64 = STANDARD.encode(&bytes);
    assert!(KeyPackage::from_base64(&b64).is_ok());
    assert_eq!(
        KeyPackage::parse_for_session(&b64, &alice(), &session.verifying_key()).err(),
        Some(KeyPackageError::SignatureKeyMismatch)
    );
    // …and with a key openmls_basic_credential generated itself.
    let generated = SignatureKeyPair::new(SignatureScheme::ED25519).unwrap();
    let bytes = openmls_key_package(REQUIRED_CIPHERSUITE, &generated, basic(ALICE), |b| b);
    assert_eq!(
        KeyPackage::from_tls_bytes(&bytes)
            .unwrap()
            .verify_binding(&alice(), &session.verifying_key()),
        Err(KeyPackageError::SignatureKeyMismatch)
    );
}

#[test]
fn non_basic_credential_is_rejected() {
    // An X.509 credential (type 2) with an opaque certificate chain; the leaf
    // lists X.509 among its credential capabilities, so it is valid MLS.
    let sk = new_session_key();
    let chain = vec![0x30, 0x03, 0x02, 0x01, 0x01];
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        Credential::new(CredentialType::X509, chain),
        |b| {
            b.leaf_node_capabilities(
                Capabilities::builder()
                    .credentials(vec![CredentialType::Basic, CredentialType::X509])
                    .build(),
            )
        },
    );
    let kp = KeyPackage::from_tls_bytes(&bytes).unwrap();
    assert_eq!(kp.basic_credential_identity(), None);
    assert_eq!(
        kp.verify_binding(&alice(), &sk.verifying_key()),
        Err(KeyPackageError::NotBasicCredential)
    );
}

/// openmls's builder takes any lifetime (`Lifetime::init(not_before,
/// not_after)` sets both ends explicitly) and signs it without checking it, so
/// an expired KeyPackage can be made directly; only validation rejects it.
#[test]
fn expired_lifetime_is_rejected() {
    let sk = new_session_key();
    let not_after = now() - 3600;
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| b.key_package_lifetime(Lifetime::init(now() - 7200, not_after)),
    );
    match invalid_reason(KeyPackage::from_tls_bytes(&bytes)) {
        KeyPackageVerifyError::LifetimeError(LifetimeError::Expired { not_after: n, .. }) => {
            assert_eq!(n, not_after)
        }
        other => panic!("expected an expired lifetime, got {other:?}"),
    }
}

#[test]
fn not_yet_valid_lifetime_is_rejected() {
    let sk = new_session_key();
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| b.key_package_lifetime(Lifetime::init(now() + 3600, now() + 7200)),
    );
    assert!(matches!(
        invalid_reason(KeyPackage::from_tls_bytes(&bytes)),
        KeyPackageVerifyError::LifetimeError(LifetimeError::NotValidYet { .. })
    ));
}

#[test]
fn overlong_lifetime_is_rejected() {
    let sk = new_session_key();
    let start = now() - 60;
    let build = |secs: u64| {
        openmls_key_package(
            REQUIRED_CIPHERSUITE,
            &openmls_signer(&sk),
            basic(ALICE),
            |b| b.key_package_lifetime(Lifetime::init(start, start + secs)),
        )
    };
    assert!(KeyPackage::from_tls_bytes(&build(MAX_LIFETIME_SECS)).is_ok());
    assert_eq!(
        KeyPackage::from_tls_bytes(&build(MAX_LIFETIME_SECS + 1)).err(),
        Some(KeyPackageError::LifetimeTooLong {
            not_before: start,
            not_after: start + MAX_LIFETIME_SECS + 1,
        })
    );
    // openmls's default lifetime is within the limit.
    assert!(KeyPackage::from_tls_bytes(&valid_bytes(&sk)).is_ok());
}

#[test]
fn garbage_base64_is_rejected() {
    for bad in ["not base64!", "AAAA====", "%%%%", "AAA"] {
        assert!(
            matches!(
                KeyPackage::from_base64(bad),
                Err(KeyPackageError::Base64(_))
            ),
            "{bad:?}"
        );
    }
    // Only the standard alphabet with padding is accepted.
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    let url_safe = URL_SAFE.encode(&bytes);
    if url_safe != STANDARD.encode(&bytes) {
        assert!(matches!(
            KeyPackage::from_base64(&url_safe),
            Err(KeyPackageError::Base64(_))
        ));
    }
    let unpadded = STANDARD_NO_PAD.encode(&bytes);
    if unpadded != STANDARD.encode(&bytes) {
        assert!(matches!(
            KeyPackage::from_base64(&unpadded),
            Err(KeyPackageError::Base64(_))
        ));
    }
    // Valid Base64 of bytes that are not a KeyPackage.
    assert!(matches!(
        KeyPackage::from_base64(&STANDARD.encode(b"hello, world")),
        Err(KeyPackageError::Tls(_))
    ));
    assert!(matches!(
        KeyPackage::from_base64(""),
        Err(KeyPackageError::Tls(_))
    ));
}

#[test]
fn truncated_and_padded_tls_bytes_are_rejected() {
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    for cut in [1, 4, 5, 37, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                KeyPackage::from_tls_bytes(&bytes[..cut]),
                Err(KeyPackageError::Tls(_))
            ),
            "accepted the first {cut} of {} bytes",
            bytes.len()
        );
    }
    let truncated_b64 = STANDARD.encode(&bytes[..bytes.len() - 10]);
    assert!(matches!(
        KeyPackage::from_base64(&truncated_b64),
        Err(KeyPackageError::Tls(_))
    ));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        KeyPackage::from_tls_bytes(&trailing).err(),
        Some(KeyPackageError::Tls(tls_codec::Error::TrailingData))
    );
}

#[test]
fn non_minimal_length_prefix_is_rejected() {
    // RFC 9420 §2.1.2: vector lengths use the shortest varint. Re-encode the
    // init key's length 0x20 as the two-byte form 0x40 0x20.
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    assert_eq!(bytes[4], 0x20);
    let mut long = bytes[..4].to_vec();
    long.extend_from_slice(&[0x40, 0x20]);
    long.extend_from_slice(&bytes[5..]);
    assert!(matches!(
        KeyPackage::from_tls_bytes(&long),
        Err(KeyPackageError::Tls(_))
    ));
}

#[test]
fn every_cipher_suite_code_in_a_signed_key_package_is_rejected_without_panicking() {
    // Rewriting the cipher suite (bytes 2..4) invalidates the signature for
    // known suites and fails decoding for unknown ones; nothing panics.
    let sk = new_session_key();
    let bytes = valid_bytes(&sk);
    let codes = (0u16..=0x0110).chain([0x0906, 0x0907, 0xF042, 0xF110, 0xFFFF]);
    for code in codes.filter(|&c| c != 0x0001) {
        let mut t = bytes.clone();
        t[2..4].copy_from_slice(&code.to_be_bytes());
        assert!(
            KeyPackage::from_tls_bytes(&t).is_err(),
            "accepted cipher suite {code:#06x}"
        );
    }
}

#[test]
fn last_resort_detection() {
    let sk = new_session_key();
    // RFC 9420: the leaf must list last_resort in its capabilities.
    let with_ext = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| {
            b.leaf_node_capabilities(
                Capabilities::builder()
                    .extensions(vec![ExtensionType::LastResort])
                    .build(),
            )
            .mark_as_last_resort()
        },
    );
    let lr =
        KeyPackage::parse_for_session(&STANDARD.encode(&with_ext), &alice(), &sk.verifying_key())
            .unwrap();
    assert!(lr.has_last_resort_extension());
    let lr = LastResortKeyPackage::from_extension(lr).unwrap();
    assert_eq!(lr.key_package().tls_bytes(), with_ext.as_slice());
    assert_eq!(lr.into_inner().tls_bytes(), with_ext.as_slice());

    let plain = KeyPackage::from_tls_bytes(&valid_bytes(&sk)).unwrap();
    assert!(!plain.has_last_resort_extension());
    assert_eq!(
        LastResortKeyPackage::from_extension(plain.clone()).err(),
        Some(KeyPackageError::NotLastResort)
    );
    // The route may mark a KeyPackage without the extension as last-resort.
    let marked = LastResortKeyPackage::marked_by_route(plain.clone());
    assert_eq!(marked.key_package(), &plain);
    assert!(!marked.key_package().has_last_resort_extension());
}

#[test]
fn last_resort_extension_missing_from_capabilities_is_invalid() {
    // openmls's builder adds the extension without touching the capabilities;
    // validation then refuses it (RFC 9420 §10.1).
    let sk = new_session_key();
    let bytes = openmls_key_package(
        REQUIRED_CIPHERSUITE,
        &openmls_signer(&sk),
        basic(ALICE),
        |b| b.mark_as_last_resort(),
    );
    assert_eq!(
        invalid_reason(KeyPackage::from_tls_bytes(&bytes)),
        KeyPackageVerifyError::UnsupportedExtension
    );
}

#[test]
fn generated_key_packages_pass_the_binding_and_have_unique_init_keys() {
    let sk = new_session_key();
    let kps = generate_key_packages(&sk, &alice(), 5, false).unwrap();
    let mut init_keys: Vec<&[u8]> = kps.iter().map(KeyPackage::init_key).collect();
    init_keys.sort();
    init_keys.dedup();
    assert_eq!(init_keys.len(), 5);
    for kp in &kps {
        KeyPackage::parse_for_session(&kp.to_base64(), &alice(), &sk.verifying_key()).unwrap();
    }
    let lr = generate_key_packages(&sk, &alice(), 1, true).unwrap();
    assert!(lr[0].has_last_resort_extension());
    lr[0].verify_binding(&alice(), &sk.verifying_key()).unwrap();
}

#[test]
fn serde_is_a_base64_string_and_deserializing_validates() {
    let sk = new_session_key();
    let kps = generate_key_packages(&sk, &alice(), 2, false).unwrap();
    let json = serde_json::to_string(&kps).unwrap();
    assert_eq!(
        json,
        format!(r#"["{}","{}"]"#, kps[0].to_base64(), kps[1].to_base64())
    );
    let back: Vec<KeyPackage> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, kps);

    // Deserializing validates…
    let mut tampered = kps[0].tls_bytes().to_vec();
    tampered[10] ^= 1;
    let bad = serde_json::to_string(&STANDARD.encode(&tampered)).unwrap();
    assert!(serde_json::from_str::<KeyPackage>(&bad).is_err());
    assert!(serde_json::from_str::<KeyPackage>(r#""not base64!""#).is_err());
    // …but cannot check the binding: another actor's KeyPackage deserializes.
    let bob = FederationId::new("bob@example.com").unwrap();
    let bobs = generate_key_packages(&new_session_key(), &bob, 1, false).unwrap();
    let kp: KeyPackage = serde_json::from_str(&serde_json::to_string(&bobs[0]).unwrap()).unwrap();
    assert!(kp.verify_binding(&alice(), &sk.verifying_key()).is_err());
}

#[test]
fn errors_have_useful_messages() {
    let e = KeyPackageError::CredentialIdentityMismatch {
        expected: ALICE.into(),
        found: "bob@example.com".into(),
    };
    assert_eq!(
        e.to_string(),
        r#"the KeyPackage credential identity is "bob@example.com", expected "alice@example.com""#
    );
    let e = KeyPackage::from_base64("!!").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the KeyPackage is not standard Base64"),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_some());
}
