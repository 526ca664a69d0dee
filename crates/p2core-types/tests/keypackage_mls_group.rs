//! End to end with openmls: a KeyPackage made by `generate_key_packages_with`,
//! accepted by the server-side checks and handed out as Base64, is used by
//! another client to add its owner to an MLS group, and the owner joins from
//! the Welcome with the private keys its provider kept.
#![cfg(feature = "mls")]

use ed25519_dalek::SigningKey;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    BasicCredential, CredentialWithKey, MlsGroup, MlsGroupJoinConfig, MlsMessageBodyIn,
    MlsMessageIn, MlsMessageOut, StagedWelcome, Welcome,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::types::SignatureScheme;
use p2core_types::FederationId;
use p2core_types::keypackage::{
    KeyPackage, REQUIRED_CIPHERSUITE, generate_key_packages, generate_key_packages_with,
};

struct Creator {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    group: MlsGroup,
}

fn new_group() -> Creator {
    let provider = OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(SignatureScheme::ED25519).unwrap();
    let group = MlsGroup::builder()
        .ciphersuite(REQUIRED_CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .build(
            &provider,
            &signer,
            CredentialWithKey {
                credential: BasicCredential::new(b"alice@example.com".to_vec()).into(),
                signature_key: signer.public().into(),
            },
        )
        .unwrap();
    Creator {
        provider,
        signer,
        group,
    }
}

/// Adds the member of `kp` and returns the Welcome as received off the wire.
fn add(creator: &mut Creator, kp: &KeyPackage) -> Welcome {
    let (_commit, welcome, _info): (MlsMessageOut, MlsMessageOut, _) = creator
        .group
        .add_members(
            &creator.provider,
            &creator.signer,
            std::slice::from_ref(kp.inner()),
        )
        .unwrap();
    creator
        .group
        .merge_pending_commit(&creator.provider)
        .unwrap();
    let wire = welcome.tls_serialize_detached().unwrap();
    match MlsMessageIn::tls_deserialize_exact(&wire)
        .unwrap()
        .extract()
    {
        MlsMessageBodyIn::Welcome(w) => w,
        _ => panic!("add_members did not produce a Welcome"),
    }
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .build()
}

#[test]
fn a_served_key_package_lets_its_owner_join_a_group() {
    let bob: FederationId = "bob@example.com".parse().unwrap();
    let bob_key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    let bob_provider = OpenMlsRustCrypto::default();
    for last_resort in [false, true] {
        let uploaded =
            generate_key_packages_with(&bob_provider, &bob_key, &bob, 1, last_resort, None)
                .unwrap()
                .remove(0)
                .to_base64();

        // Home server: checks the upload against Bob's session, hands it out.
        let served = KeyPackage::parse_for_session(&uploaded, &bob, &bob_key.verifying_key())
            .unwrap()
            .to_base64();
        assert_eq!(served, uploaded);

        // Alice's client: parses what it fetched and adds Bob.
        let fetched = KeyPackage::from_base64(&served).unwrap();
        let mut alice = new_group();
        let welcome = add(&mut alice, &fetched);

        // Bob joins with the private keys his provider kept.
        let bob_group =
            StagedWelcome::new_from_welcome(&bob_provider, &join_config(), welcome, None)
                .unwrap()
                .into_group(&bob_provider)
                .unwrap();
        assert_eq!(
            alice.group.epoch_authenticator().as_slice(),
            bob_group.epoch_authenticator().as_slice()
        );
        let own = bob_group.own_leaf_node().unwrap();
        assert_eq!(
            own.signature_key().as_slice(),
            bob_key.verifying_key().as_bytes()
        );
        let identity = BasicCredential::try_from(own.credential().clone()).unwrap();
        assert_eq!(identity.identity(), b"bob@example.com");
    }
}

#[test]
fn key_packages_from_the_throwaway_provider_cannot_be_joined_with() {
    // `generate_key_packages` drops the private keys, as documented.
    let bob: FederationId = "bob@example.com".parse().unwrap();
    let bob_key = SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
    let kp = generate_key_packages(&bob_key, &bob, 1, false)
        .unwrap()
        .remove(0);
    let mut alice = new_group();
    let welcome = add(&mut alice, &kp);
    let fresh = OpenMlsRustCrypto::default();
    assert!(StagedWelcome::new_from_welcome(&fresh, &join_config(), welcome, None).is_err());
}
