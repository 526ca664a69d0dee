//! Two home servers on two loopback ports: an actor of A opens a session on B.

mod common;

use common::*;
use p2core_routes::session_identify;
use p2core_types::{CompletedChallenge, ErrorCode, IdCert, UnixTimestamp};

async fn identify(
    base_b: &str,
    key: &ed25519_dalek::SigningKey,
    cert_pem: &str,
) -> Result<String, p2core_routes::client::ClientError> {
    client(base_b)
        .identify(key, cert_pem, None)
        .await
        .map(|r| r.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_of_a_identifies_on_b_and_updates_its_certificate() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let b = spawn(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
    )
    .await;
    let (base_a, base_b) = (a.base_url(), b.base_url());

    let alice = register(&base_a, "alice", "pw-alice").await;
    assert_eq!(alice.as_str(), "alice@a.localhost");
    let s = trust(&base_a, &alice, "pw-alice", "laptop").await;

    // B verifies against A's root (fetched over HTTP) and hands out a token
    let token_b = identify(&base_b, &s.key, &s.cert_pem).await.unwrap();
    let on_b = authed(&base_b, &token_b);
    assert!(on_b.events().await.unwrap().is_empty());

    // a challenge is single use
    let challenge = client(&base_b).challenge().await.unwrap();
    let req = session_identify::Request {
        completed_challenge: CompletedChallenge {
            challenge: challenge.challenge().to_owned(),
            signature: challenge.solve(&s.key),
        },
        id_cert: s.cert_pem.clone(),
        auth_payload: None,
    };
    let again = post_identify(&base_b, &req).await;
    assert_eq!(again.0, 201, "{}", again.1);
    assert_raw_error(
        &post_identify(&base_b, &req).await,
        401,
        ErrorCode::ChallengeUnknown,
    );
    // identifying the same session again replaces the earlier foreign session and its token
    assert_api_error(on_b.events().await, 401, ErrorCode::Unauthorized);
    let on_b = authed(&base_b, again.1["token"].as_str().unwrap());
    // a challenge B never issued
    let mut forged = req.clone();
    forged.completed_challenge.challenge = "A".repeat(64);
    forged.completed_challenge.signature = hex::encode(
        ed25519_dalek::Signer::sign(&s.key, forged.completed_challenge.challenge.as_bytes())
            .to_bytes(),
    );
    assert_raw_error(
        &post_identify(&base_b, &forged).await,
        401,
        ErrorCode::ChallengeUnknown,
    );
    // a solution by another key than the certificate's
    let c2 = client(&base_b).challenge().await.unwrap();
    let wrong = session_identify::Request {
        completed_challenge: CompletedChallenge {
            challenge: c2.challenge().to_owned(),
            signature: c2.solve(&new_key()),
        },
        id_cert: s.cert_pem.clone(),
        auth_payload: None,
    };
    assert_raw_error(
        &post_identify(&base_b, &wrong).await,
        403,
        ErrorCode::ChallengeFailed,
    );

    // an expired challenge: challenges live in memory now, so a server D that issues
    // them for 1 s (and prunes only hourly) hands one out, and it is used too late
    let dir_d = tempfile::tempdir().unwrap();
    let d = spawn_with(dir_d.path(), "d.localhost", &[], &[], |c| {
        c.challenge_seconds = 1;
        c.challenge_prune_seconds = 3600;
    })
    .await;
    let short = client(&d.base_url()).challenge().await.unwrap();
    while UnixTimestamp::now() <= short.expires() {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let old = session_identify::Request {
        completed_challenge: CompletedChallenge {
            challenge: short.challenge().to_owned(),
            signature: short.solve(&s.key),
        },
        id_cert: s.cert_pem.clone(),
        auth_payload: None,
    };
    assert_raw_error(
        &post_identify(&d.base_url(), &old).await,
        401,
        ErrorCode::ChallengeExpired,
    );
    d.stop().await.unwrap();

    // a certificate from a self-made "a.localhost" root is refused
    let fake_key = new_key();
    let fake_root = p2core_certs::create_root_cert(
        &fake_key,
        alice.domain(),
        UnixTimestamp::now(),
        UnixTimestamp(UnixTimestamp::now().0 + 86_400),
        7,
    )
    .unwrap();
    let issuer = p2core_certs::Issuer::new(fake_root, fake_key).unwrap();
    let csr = p2core_certs::build_csr(&s.key, &alice, &s.session_id).unwrap();
    let fake = issuer
        .issue(&csr, &alice, UnixTimestamp::now(), None, 99)
        .unwrap();
    assert_api_error(
        identify(&base_b, &s.key, &fake.to_pem()).await,
        400,
        ErrorCode::InvalidCertificate,
    );

    // the actor rotates at A and tells B
    let new_key_a = new_key();
    let csr = p2core_certs::build_csr(&new_key_a, &alice, &s.session_id).unwrap();
    let rotated = s
        .client
        .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();
    on_b.update_extern_idcert(&rotated.id_cert).await.unwrap();
    // the old certificate is now invalidated at A, so B refuses it for new sessions
    assert_api_error(
        identify(&base_b, &s.key, &s.cert_pem).await,
        401,
        ErrorCode::Unauthorized,
    );
    // the new one works
    let on_b = authed(
        &base_b,
        &identify(&base_b, &new_key_a, &rotated.id_cert)
            .await
            .unwrap(),
    );
    // a certificate of another session or actor cannot be pushed through this token
    let other = trust(&base_a, &alice, "pw-alice", "phone").await;
    assert_api_error(
        on_b.update_extern_idcert(&other.cert_pem).await,
        403,
        ErrorCode::Forbidden,
    );
    assert_api_error(
        on_b.update_extern_idcert("not a pem").await,
        400,
        ErrorCode::InvalidCertificate,
    );

    // B's own root is untouched by all this
    let root_b = IdCert::from_pem(&client(&base_b).server_idcert(None).await.unwrap()).unwrap();
    assert_eq!(root_b.subject_fid(), None);

    // A unreachable → 502, not 500
    let dir_c = tempfile::tempdir().unwrap();
    let c = spawn(
        dir_c.path(),
        "c.localhost",
        &[],
        &[("a.localhost", "http://127.0.0.1:9".into())],
    )
    .await;
    assert_api_error(
        identify(&c.base_url(), &new_key_a, &rotated.id_cert).await,
        502,
        ErrorCode::UpstreamFailed,
    );
    c.stop().await.unwrap();

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
