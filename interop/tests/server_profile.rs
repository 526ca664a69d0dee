//! The p2core home server with `--cert-profile polyproto-0.21`, driven over
//! real HTTP on loopback: a polyproto-made CSR goes in through
//! `POST /session/trust`, and polyproto 0.21 verifies the ID-Cert that comes
//! out against the root certificate from `GET /idcert/server`. With the
//! default profile the same flow yields certificates polyproto rejects
//! (upstream bug 1 in docs/interop.md) while p2core and OpenSSL accept them.

mod common;

use common::{PpKey, PpPub, PpSig};
use ed25519_dalek::SigningKey;
use p2core_certs::CertProfile;
use p2core_home_server::{Config, start};
use p2core_routes::client::Client;
use p2core_routes::{register, session_trust};
use p2core_types::{DomainName, IdCert, UnixTimestamp};
use polyproto::certs::capabilities::ActorCapabilities;
use polyproto::certs::idcert::{IdCertActor, IdCertHs, traits::IdCertBehaviors};
use polyproto::certs::idcsr::{IdCsr as PpCsr, IdCsrActor};
use polyproto::der::pem::LineEnding;
use polyproto::types::{
    ActorDN, DomainName as PpDomain, FederationId as PpFid, LocalName, SessionId as PpSession,
};

/// Runs register + session trust with a polyproto-made CSR against a fresh
/// server in `profile`; returns polyproto's verdicts on the root and the
/// issued actor certificate.
async fn polyproto_verdicts_for_server(profile: CertProfile) -> (bool, bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_data_dir(dir.path());
    config.domain = DomainName::new("example.com").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.cert_profile = profile;
    let server = start(config, false).await.expect("server starts");
    let client = Client::new(server.base_url().as_str()).unwrap();
    client
        .register(&register::Request::new("alice", "alice-pw"))
        .await
        .unwrap();

    let session_key = SigningKey::from_bytes(&[21; 32]);
    let dn = ActorDN {
        federation_id: PpFid::new("alice@example.com").unwrap(),
        local_name: LocalName::new("alice").unwrap(),
        domain_name: PpDomain::new("example.com").unwrap(),
        session_id: PpSession::new_validated("pp-client").unwrap(),
        additional_fields: Default::default(),
    };
    let csr =
        IdCsrActor::<PpSig, PpPub>::new(dn, &PpKey(session_key), ActorCapabilities::default())
            .unwrap();
    let csr_pem = PpCsr::from(csr).to_pem(LineEnding::LF).unwrap();
    let trusted = client
        .session_trust(&session_trust::Request {
            username: "alice".into(),
            csr: csr_pem,
            password: "alice-pw".into(),
            auth_payload: None,
        })
        .await
        .expect("the server issues from a polyproto-made CSR");
    let root_pem = client.server_idcert(None).await.unwrap();

    // p2core itself accepts both profiles
    let root = IdCert::from_pem(&root_pem).unwrap();
    let cert = IdCert::from_pem(&trusted.id_cert).unwrap();
    p2core_certs::verify_actor_cert(&cert, &root, UnixTimestamp::now()).unwrap();

    let now = UnixTimestamp::now().0;
    let server_pub = PpPub(*root.public_key().unwrap());
    let root_ok = IdCertHs::<PpSig, PpPub>::try_from_pem(&root_pem, now, &server_pub).is_ok();
    let actor_ok =
        IdCertActor::<PpSig, PpPub>::try_from_pem(&trusted.id_cert, now, &server_pub).is_ok();
    server.stop().await.unwrap();
    (root_ok, actor_ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_in_the_compatibility_profile_issues_what_polyproto_verifies() {
    assert_eq!(
        polyproto_verdicts_for_server(CertProfile::Polyproto021).await,
        (true, true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_in_the_default_profile_issues_what_polyproto_0_21_rejects() {
    assert_eq!(
        polyproto_verdicts_for_server(CertProfile::Rfc5280).await,
        (false, false)
    );
}
