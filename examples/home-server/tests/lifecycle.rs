//! The full life of an actor on one home server, over real HTTP.

mod common;

use common::*;
use p2core_types::events::{ActorCertificateInvalidation, Event, LowKeyPackages, NewSession};
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{ErrorCode, IdCert, UnixTimestamp};

fn kinds(events: &[Event]) -> Vec<(String, u16)> {
    events.iter().map(|e| (e.n.clone(), e.op)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_life_register_trust_rotate_keypackages_delete_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();

    // register → 201 with the canonical FID
    let alice = register(&base, "Alice", "correct horse").await;
    assert_eq!(alice.as_str(), "alice@localhost");

    // trust two sessions; each gets a certificate that verifies against the root
    let laptop = trust(&base, &alice, "correct horse", "laptop").await;
    let root = IdCert::from_pem(&client(&base).server_idcert(None).await.unwrap()).unwrap();
    p2core_certs::verify_actor_cert(&laptop.cert(), &root, UnixTimestamp::now()).unwrap();
    assert_eq!(laptop.cert().subject_fid(), Some(&alice));
    assert_eq!(
        laptop.cert().session_id().map(|s| s.as_str()),
        Some("laptop")
    );
    assert_eq!(
        laptop.cert().public_key(),
        Some(&laptop.key.verifying_key())
    );

    let phone = trust(&base, &alice, "correct horse", "phone").await;
    // the laptop learns about the new session, exactly once
    let ev = laptop.client.events().await.unwrap();
    assert_eq!(kinds(&ev), [("core".to_string(), 3)]);
    assert_eq!(ev[0].payload::<NewSession>().unwrap().cert, phone.cert_pem);
    assert!(
        laptop.client.events().await.unwrap().is_empty(),
        "events are delivered once"
    );
    assert!(phone.client.events().await.unwrap().is_empty());

    // the live session ID cannot be taken twice
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &alice, &laptop.session_id).unwrap();
    let dup = client(&base)
        .session_trust(&p2core_routes::session_trust::Request {
            username: "alice".into(),
            csr: csr.to_pem(),
            password: "correct horse".into(),
            auth_payload: None,
        })
        .await;
    assert_api_error(dup, 409, ErrorCode::SessionIdTaken);

    // rotate the laptop's ID-Cert: new cert + token, old token dead, old cert flagged
    let new_key_laptop = new_key();
    let csr = p2core_certs::build_csr(&new_key_laptop, &alice, &laptop.session_id).unwrap();
    let rotated = laptop
        .client
        .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();
    assert_ne!(rotated.token, laptop.token);
    let new_cert = IdCert::from_pem(&rotated.id_cert).unwrap();
    assert_eq!(new_cert.public_key(), Some(&new_key_laptop.verifying_key()));
    p2core_certs::verify_actor_cert(&new_cert, &root, UnixTimestamp::now()).unwrap();
    assert_api_error(laptop.client.events().await, 401, ErrorCode::Unauthorized);
    let laptop2 = authed(&base, &rotated.token);
    let listed = client(&base)
        .actor_idcerts(&alice, None, Some(&laptop.session_id))
        .await
        .unwrap();
    assert_eq!(
        listed.idcerts,
        [laptop.cert_pem.clone(), rotated.id_cert.clone()]
    );
    assert_eq!(listed.invalidated, [true, false]);
    let all = client(&base)
        .actor_idcerts(&alice, None, None)
        .await
        .unwrap();
    assert_eq!(all.idcerts.len(), 3);
    assert_eq!(all.invalidated.iter().filter(|i| **i).count(), 1);
    // the phone is told which certificate was invalidated, signed by the server
    let ev = phone.client.events().await.unwrap();
    assert_eq!(kinds(&ev), [("core".to_string(), 4)]);
    let inv = ev[0].payload::<ActorCertificateInvalidation>().unwrap();
    assert_eq!(Some(inv.serial), laptop.cert().serial_u64());
    let msg = ActorCertificateInvalidation::signed_message(inv.serial, inv.invalid_since);
    p2core_types::challenge::verify_hex_signature(&msg, &inv.signature, root.public_key().unwrap())
        .unwrap();

    // a CSR for another session ID than the token's is refused
    let other = p2core_certs::build_csr(&new_key(), &alice, &phone.session_id).unwrap();
    assert_api_error(
        laptop2
            .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request {
                csr: other.to_pem(),
            })
            .await,
        400,
        ErrorCode::InvalidCsr,
    );

    // KeyPackages: the laptop uploads 2 + a last-resort one, the phone 1
    let kps: Vec<String> = generate_key_packages(&new_key_laptop, &alice, 2, false)
        .unwrap()
        .iter()
        .map(|k| k.to_base64())
        .collect();
    laptop2.upload_key_packages(&kps).await.unwrap();
    let lr = generate_key_packages(&new_key_laptop, &alice, 1, true).unwrap()[0].to_base64();
    laptop2.replace_last_resort_key_package(&lr).await.unwrap();
    let phone_kp = generate_key_packages(&phone.key, &alice, 1, false).unwrap()[0].to_base64();
    phone
        .client
        .upload_key_packages(std::slice::from_ref(&phone_kp))
        .await
        .unwrap();
    // KeyPackages signed with another key than the session's are refused
    assert_api_error(
        phone
            .client
            .upload_key_packages(std::slice::from_ref(&kps[0]))
            .await,
        400,
        ErrorCode::InvalidKeyPackage,
    );

    // another actor claims them: one per session, never the same regular one twice
    let bob = register(&base, "bob", "hunter22").await;
    let bob_s = trust(&base, &bob, "hunter22", "desk").await;
    let first = bob_s.client.get_key_packages(&alice).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.contains(&phone_kp));
    assert!(first.contains(&kps[0]));
    let second = bob_s.client.get_key_packages(&alice).await.unwrap();
    assert_eq!(
        second,
        std::slice::from_ref(&kps[1]),
        "the phone is out of KeyPackages"
    );
    let third = bob_s.client.get_key_packages(&alice).await.unwrap();
    assert_eq!(third, std::slice::from_ref(&lr), "then the last-resort one");
    let fourth = bob_s.client.get_key_packages(&alice).await.unwrap();
    assert_eq!(
        fourth,
        std::slice::from_ref(&lr),
        "the last-resort one is reused"
    );
    // the laptop is told to upload more: one pending notice with the latest state
    let ev = laptop2.events().await.unwrap();
    assert_eq!(kinds(&ev), [("p2core".to_string(), 1)]);
    let low = ev[0].payload::<LowKeyPackages>().unwrap();
    assert_eq!((low.remaining, low.last_resort_used), (0, true));
    // claiming needs a session token
    assert_api_error(
        client(&base).get_key_packages(&alice).await,
        401,
        ErrorCode::Unauthorized,
    );

    // delete the phone's session from the laptop: its token and cert die
    laptop2.delete_session(&phone.session_id).await.unwrap();
    assert_api_error(phone.client.events().await, 401, ErrorCode::Unauthorized);
    let listed = client(&base)
        .actor_idcerts(&alice, None, Some(&phone.session_id))
        .await
        .unwrap();
    assert_eq!(listed.invalidated, [true]);
    assert_api_error(
        laptop2.delete_session(&phone.session_id).await,
        404,
        ErrorCode::NotFound,
    );
    // bob cannot delete alice's sessions
    assert_api_error(
        bob_s.client.delete_session(&laptop.session_id).await,
        404,
        ErrorCode::NotFound,
    );
    let ev = laptop2.events().await.unwrap();
    assert_eq!(kinds(&ev), [("core".to_string(), 4)]);
    // the deleted phone's KeyPackages are gone with it
    let after = bob_s.client.get_key_packages(&alice).await.unwrap();
    assert_eq!(after, [lr]);

    // a deleted session's ID may be reused by a new certificate
    let phone2 = trust(&base, &alice, "correct horse", "phone").await;
    assert_ne!(phone2.cert_pem, phone.cert_pem);

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_filters_of_actor_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "carol", "pw-carol").await;
    let s = trust(&base, &fid, "pw-carol", "one").await;
    let cert = s.cert();
    let in_range = client(&base)
        .actor_idcerts(&fid, Some(cert.not_before()), None)
        .await
        .unwrap();
    assert_eq!(in_range.idcerts, std::slice::from_ref(&s.cert_pem));
    let before = client(&base)
        .actor_idcerts(&fid, Some(UnixTimestamp(cert.not_before().0 - 1)), None)
        .await
        .unwrap();
    assert!(before.idcerts.is_empty());
    let after = client(&base)
        .actor_idcerts(&fid, Some(UnixTimestamp(cert.not_after().0 + 1)), None)
        .await
        .unwrap();
    assert!(after.idcerts.is_empty());
    // the seed-004 form: the filters as a JSON body of the GET, timestamp as a string
    let body =
        serde_json::json!({"timestamp": cert.not_before().0.to_string(), "session_id": "one"});
    let (status, json) = raw(
        &base,
        p2core_routes::http::Method::GET,
        &format!("/.p2/core/v1/idcert/actor/{fid}"),
        None,
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["idcerts"][0].as_str(), Some(s.cert_pem.as_str()));
    assert_eq!(json["invalidated"], serde_json::json!([false]));
    // unknown and foreign actors: 404
    let ghost = p2core_types::FederationId::new("ghost@localhost").unwrap();
    assert_api_error(
        client(&base).actor_idcerts(&ghost, None, None).await,
        404,
        ErrorCode::NotFound,
    );
    let foreign = p2core_types::FederationId::new("carol@elsewhere.example").unwrap();
    assert_api_error(
        client(&base).actor_idcerts(&foreign, None, None).await,
        404,
        ErrorCode::NotFound,
    );
    server.stop().await.unwrap();
}
