//! Certificates, CSRs, Federation IDs, session IDs and challenges between
//! p2core and the official `polyproto` SDK 0.21.0 (see `docs/interop.md`).
//!
//! Each direction is tested with artefacts made by the other side: p2core's
//! output verified by polyproto, polyproto's output verified by p2core.

mod common;

use std::marker::PhantomData;
use std::time::Duration;

use common::{PpKey, PpPub, PpSig};
use ed25519_dalek::SigningKey;
use p2core_certs::{
    CertError, CertProfile, Issuer, build_csr, create_root_cert_with_profile, verify_actor_cert,
    verify_csr, verify_root,
};
use p2core_types::{
    ChallengeString, DomainName, FederationId, IdCert, IdCsr, SessionId, UnixTimestamp,
};
use polyproto::certs::capabilities::{ActorCapabilities, HomeServerCapabilities};
use polyproto::certs::idcert::{IdCertActor, IdCertHs, traits::IdCertBehaviors};
use polyproto::certs::idcerttbs::{IdCertTbsActor, IdCertTbsHs};
use polyproto::certs::idcsr::{IdCsr as PpCsr, IdCsrActor};
use polyproto::der::asn1::UtcTime;
use polyproto::der::pem::LineEnding;
use polyproto::signature::Signature as _;
use polyproto::types::{
    ActorDN, DomainName as PpDomain, FederationId as PpFid, HomeServerDN, KeyTrial, LocalName,
    SessionId as PpSession, X509SerialNumber,
};
use x509_cert_02::time::{Time, Validity};

const DAY: u64 = 86_400;

fn server_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn client_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn alice() -> FederationId {
    "alice@example.com".parse().unwrap()
}

fn example_com() -> DomainName {
    "example.com".parse().unwrap()
}

fn now() -> UnixTimestamp {
    UnixTimestamp::now()
}

/// A p2core root and issuer in `profile`, valid from an hour ago for a year.
fn p2core_ca(profile: CertProfile) -> (IdCert, Issuer) {
    let start = UnixTimestamp(now().0 - 3600);
    let root = create_root_cert_with_profile(
        &server_key(),
        &example_com(),
        start,
        start.saturating_add(365 * DAY),
        1,
        profile,
    )
    .unwrap();
    let issuer = Issuer::with_profile(root.clone(), server_key(), profile).unwrap();
    (root, issuer)
}

fn p2core_actor_cert(issuer: &Issuer) -> IdCert {
    let csr = build_csr(&client_key(), &alice(), &SessionId::new("laptop").unwrap()).unwrap();
    issuer
        .issue(&csr, &alice(), UnixTimestamp(now().0 - 60), None, 4242)
        .unwrap()
}

fn pp_server_pub() -> PpPub {
    PpPub(server_key().verifying_key())
}

/// polyproto's verdict on a p2core root (self-signed) and actor certificate.
fn polyproto_verdicts(root: &IdCert, actor: &IdCert) -> (Result<(), String>, Result<(), String>) {
    let t = now().0;
    let root = IdCertHs::<PpSig, PpPub>::try_from_pem(&root.to_pem(), t, &pp_server_pub())
        .map(|_| ())
        .map_err(|e| e.to_string());
    let actor = IdCertActor::<PpSig, PpPub>::try_from_pem(&actor.to_pem(), t, &pp_server_pub())
        .map(|_| ())
        .map_err(|e| e.to_string());
    (root, actor)
}

fn pp_validity() -> Validity {
    let t = now().0;
    Validity {
        not_before: Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(t - 3600)).unwrap(),
        ),
        not_after: Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(t + 30 * DAY)).unwrap(),
        ),
    }
}

fn pp_home_server_dn() -> HomeServerDN {
    HomeServerDN {
        domain_name: PpDomain::new("example.com").unwrap(),
        additional_fields: Default::default(),
    }
}

fn pp_actor_dn() -> ActorDN {
    ActorDN {
        federation_id: PpFid::new("alice@example.com").unwrap(),
        local_name: LocalName::new("alice").unwrap(),
        domain_name: PpDomain::new("example.com").unwrap(),
        session_id: PpSession::new_validated("laptop").unwrap(),
        additional_fields: Default::default(),
    }
}

fn pp_serial(n: u64) -> X509SerialNumber {
    X509SerialNumber::from_bytes_be(&n.to_be_bytes()).unwrap()
}

/// A polyproto-made, self-signed home-server certificate (PEM).
fn polyproto_root_pem() -> String {
    let tbs = IdCertTbsHs::<PpSig, PpPub> {
        serial_number: pp_serial(77),
        signature_algorithm: PpSig::algorithm_identifier(),
        issuer: pp_home_server_dn(),
        validity: pp_validity(),
        subject: pp_home_server_dn(),
        subject_public_key: pp_server_pub(),
        capabilities: HomeServerCapabilities::default(),
        signature_scheme: PhantomData,
    };
    IdCertHs::try_from_tbs(
        &tbs,
        &PpKey(server_key()),
        pp_serial(77),
        pp_home_server_dn(),
        pp_validity(),
    )
    .unwrap()
    .try_to_pem(LineEnding::LF)
    .unwrap()
}

/// A polyproto-made actor certificate for alice@example.com (PEM), signed by
/// the server key.
fn polyproto_actor_pem() -> String {
    let tbs = IdCertTbsActor::<PpSig, PpPub> {
        serial_number: pp_serial(78),
        signature_algorithm: PpSig::algorithm_identifier(),
        issuer: pp_home_server_dn(),
        validity: pp_validity(),
        subject: pp_actor_dn(),
        subject_public_key: PpPub(client_key().verifying_key()),
        capabilities: ActorCapabilities::default(),
        signature_scheme: PhantomData,
    };
    IdCertActor::try_from_tbs(
        &tbs,
        &PpKey(server_key()),
        pp_serial(78),
        pp_home_server_dn(),
        pp_validity(),
    )
    .unwrap()
    .try_to_pem(LineEnding::LF)
    .unwrap()
}

/// A polyproto-made actor CSR (PEM).
fn polyproto_csr_pem() -> String {
    let csr = IdCsrActor::<PpSig, PpPub>::new(
        pp_actor_dn(),
        &PpKey(client_key()),
        ActorCapabilities::default(),
    )
    .unwrap();
    PpCsr::from(csr).to_pem(LineEnding::LF).unwrap()
}

// ---------------------------------------------------------------- p2core -> polyproto

#[test]
fn polyproto_verifies_p2core_certificates_in_the_compatibility_profile() {
    let (root, issuer) = p2core_ca(CertProfile::Polyproto021);
    let cert = p2core_actor_cert(&issuer);
    // they are still valid polyproto ID-Certs for p2core
    verify_root(&root, now()).unwrap();
    verify_actor_cert(&cert, &root, now()).unwrap();
    let (root_verdict, actor_verdict) = polyproto_verdicts(&root, &cert);
    root_verdict.expect("polyproto verifies the p2core root");
    actor_verdict.expect("polyproto verifies the p2core actor certificate");

    // and polyproto reads the subject p2core wrote
    let parsed =
        IdCertActor::<PpSig, PpPub>::try_from_pem(&cert.to_pem(), now().0, &pp_server_pub())
            .unwrap();
    let dn = &parsed.id_cert_tbs.subject;
    assert_eq!(dn.federation_id.to_string(), "alice@example.com");
    assert_eq!(dn.domain_name.to_string(), "example.com");
    assert_eq!(dn.session_id.to_string(), "laptop");
}

#[test]
fn polyproto_rejects_rfc5280_key_identifiers_upstream_bug() {
    // Upstream bug (docs/interop.md): polyproto 0.21 verifies signatures over
    // its own re-encoding of the TBSCertificate, which drops every extension
    // but BasicConstraints and KeyUsage. RFC 5280 requires SKI/AKI, so the
    // default profile's certificates fail there although they are valid.
    // If this starts passing, polyproto was fixed: update docs/interop.md.
    let (root, issuer) = p2core_ca(CertProfile::Rfc5280);
    let cert = p2core_actor_cert(&issuer);
    verify_actor_cert(&cert, &root, now()).unwrap();
    let (root_verdict, actor_verdict) = polyproto_verdicts(&root, &cert);
    assert!(root_verdict.is_err(), "polyproto accepted a root with SKI");
    assert!(
        actor_verdict.is_err(),
        "polyproto accepted an actor cert with SKI/AKI"
    );
}

#[test]
fn polyproto_verifies_what_p2core_issues_from_a_polyproto_csr() {
    let pem = polyproto_csr_pem();
    let csr = IdCsr::from_pem(&pem).unwrap();
    // the CSR's two bare PKCS#10 attributes (KeyUsage, BasicConstraints
    // outside an extensionRequest) carry no extension request and are ignored
    assert!(csr.request().info.attributes.len() >= 2, "{pem}");
    verify_csr(&csr, &alice(), &example_com()).unwrap();
    let (root, issuer) = p2core_ca(CertProfile::Polyproto021);
    let cert = issuer
        .issue(&csr, &alice(), UnixTimestamp(now().0 - 60), None, 99)
        .unwrap();
    verify_actor_cert(&cert, &root, now()).unwrap();
    assert_eq!(cert.public_key(), Some(&client_key().verifying_key()));
    let (_, actor_verdict) = polyproto_verdicts(&root, &cert);
    actor_verdict.expect("polyproto verifies the certificate issued from its CSR");
}

#[test]
fn a_tampered_polyproto_csr_is_rejected() {
    let csr = IdCsr::from_pem(&polyproto_csr_pem()).unwrap();
    let mut der = csr.as_der().to_vec();
    let pos = der.windows(6).position(|w| w == b"laptop").unwrap();
    der[pos] = b'L';
    let tampered = IdCsr::from_der(&der).unwrap();
    assert!(matches!(
        verify_csr(&tampered, &alice(), &example_com()),
        Err(CertError::CsrSignatureInvalid)
    ));
}

// ---------------------------------------------------------------- polyproto -> p2core

#[test]
fn p2core_verifies_polyproto_made_roots_and_actor_certificates() {
    let root = IdCert::from_pem(&polyproto_root_pem()).unwrap();
    verify_root(&root, now()).unwrap();
    let actor = IdCert::from_pem(&polyproto_actor_pem()).unwrap();
    verify_actor_cert(&actor, &root, now()).unwrap();
    assert_eq!(actor.subject_fid(), Some(&alice()));
    assert_eq!(actor.session_id().unwrap().as_str(), "laptop");
    // the same bytes pass polyproto's own check
    IdCertActor::<PpSig, PpPub>::try_from_pem(&polyproto_actor_pem(), now().0, &pp_server_pub())
        .unwrap();
}

#[test]
fn p2core_and_polyproto_agree_on_the_encoded_names() {
    // Both write DC most significant first and the actor subject as
    // DC…, UID, CN, uniqueIdentifier with the same string types.
    let (root, issuer) = p2core_ca(CertProfile::Polyproto021);
    let ours = p2core_actor_cert(&issuer);
    let theirs = IdCert::from_pem(&polyproto_actor_pem()).unwrap();
    assert_eq!(ours.subject(), theirs.subject());
    assert_eq!(ours.issuer(), theirs.issuer());
    let their_root = IdCert::from_pem(&polyproto_root_pem()).unwrap();
    assert_eq!(root.subject(), their_root.subject());
}

// ---------------------------------------------------------------- identifiers and challenges

#[test]
fn polyproto_parses_p2core_federation_ids_and_session_ids() {
    for text in [
        "alice@example.com",
        "a@b.c",
        "bob.smith_99-x@chat.example.org",
        "x@localhost",
    ] {
        let ours: FederationId = text.parse().unwrap();
        let theirs = PpFid::new(ours.as_str()).unwrap();
        assert_eq!(theirs.to_string(), ours.as_str());
    }
    for text in ["laptop", "s1", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"] {
        let ours = SessionId::new(text).unwrap();
        let theirs = PpSession::new_validated(ours.as_str()).unwrap();
        assert_eq!(theirs.to_string(), ours.as_str());
    }
}

#[test]
fn p2core_challenges_and_polyproto_key_trials() {
    let challenge = ChallengeString::generate(now(), ChallengeString::default_lifetime());
    let json = serde_json::to_value(&challenge).unwrap();
    // The seed's `{challenge, expires}` body is not polyproto 0.21's KeyTrial
    // (`{trial, expires: "<u64 as string>"}`, a later API revision).
    assert!(serde_json::from_value::<KeyTrial>(json.clone()).is_err());
    // The challenge text itself works as a key trial: polyproto signs it the
    // way p2core expects (lowercase hex Ed25519 over the UTF-8 bytes).
    let trial = KeyTrial {
        trial: challenge.challenge().to_owned(),
        expires: challenge.expires().0,
    };
    let cert = IdCertActor::<PpSig, PpPub>::try_from_pem(
        &polyproto_actor_pem(),
        now().0,
        &pp_server_pub(),
    )
    .unwrap();
    let response = trial.into_response(PpKey(client_key()), &cert).unwrap();
    challenge
        .verify_solution(&response.signature, &client_key().verifying_key(), now())
        .unwrap();
    assert_eq!(response.signature, challenge.solve(&client_key()));
}

// ---------------------------------------------------------------- upstream bugs, pinned

#[test]
fn polyproto_federation_id_regex_is_not_anchored_at_the_start_upstream_bug() {
    // polyproto 0.21 matches `\b…@…$`: anything before a word boundary is
    // accepted, so "evil alice@example.com" is a Federation ID there. p2core
    // matches the whole string.
    for text in ["evil alice@example.com", "#alice@example.com"] {
        assert!(
            text.parse::<FederationId>().is_err(),
            "p2core accepted {text:?}"
        );
        assert!(
            PpFid::new(text).is_ok(),
            "polyproto now rejects {text:?}: update docs/interop.md"
        );
    }
    // p2core writes Federation IDs lowercase, which polyproto requires
    let mixed: FederationId = "Alice@Example.com".parse().unwrap();
    assert!(PpFid::new("Alice@Example.com").is_err());
    assert!(PpFid::new(mixed.as_str()).is_ok());
}

#[test]
fn polyproto_key_trial_expiry_check_is_inverted_upstream_bug() {
    // polyproto 0.21's KeyTrialResponse::verify_response rejects a trial whose
    // expiry is still ahead and accepts an expired one. p2core's
    // ChallengeString::verify_solution uses `now > expires` = expired.
    let cert = IdCertActor::<PpSig, PpPub>::try_from_pem(
        &polyproto_actor_pem(),
        now().0,
        &pp_server_pub(),
    )
    .unwrap();
    let t = now().0;
    for (expires, polyproto_accepts) in [(t + 300, false), (t - 300, true)] {
        let trial = KeyTrial {
            trial: "a".repeat(40) + "B1",
            expires,
        };
        let response = trial
            .clone()
            .into_response(PpKey(client_key()), &cert)
            .unwrap();
        let verdict = response.verify_response::<PpSig, PpPub>(
            &trial,
            t,
            &PpPub(client_key().verifying_key()),
        );
        assert_eq!(
            verdict.is_ok(),
            polyproto_accepts,
            "expires {expires}, now {t}"
        );
        let ours = ChallengeString::new(trial.trial.clone(), UnixTimestamp(expires)).unwrap();
        let p2core =
            ours.verify_solution(&response.signature, &client_key().verifying_key(), now());
        assert_eq!(
            p2core.is_ok(),
            !polyproto_accepts,
            "p2core, expires {expires}"
        );
    }
}
