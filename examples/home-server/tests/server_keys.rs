//! Administrator rotation of the server key, historical lookups, and restarts.

mod common;

use std::time::Duration;

use common::*;
use ed25519_dalek::pkcs8::spki::DecodePublicKey;
use p2core_types::events::ServerCertificateChange;
use p2core_types::{ErrorCode, IdCert, UnixTimestamp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rotates_server_key_and_history_stays_answerable() {
    let dir = tempfile::tempdir().unwrap();
    // administrators are made by the operator (`admin create`), not registered over HTTP
    let admin_fid = create_admin(dir.path(), "localhost", "root", "admin-pw").await;
    let server = spawn(dir.path(), "localhost", &["root@localhost"], &[]).await;
    let base = server.base_url();
    let admin = trust(&base, &admin_fid, "admin-pw", "console").await;
    let user_fid = register(&base, "dave", "dave-pw").await;
    let user = trust(&base, &user_fid, "dave-pw", "desk").await;

    let old_pem = client(&base).server_idcert(None).await.unwrap();
    let old_root = IdCert::from_pem(&old_pem).unwrap();
    let old_key_pem = client(&base).server_public_key(None).await.unwrap();
    let old_key = ed25519_dalek::VerifyingKey::from_public_key_pem(&old_key_pem).unwrap();
    assert_eq!(Some(&old_key), old_root.public_key());

    // only administrators; unauthenticated is 401
    assert_api_error(
        user.client.rotate_server_key().await,
        403,
        ErrorCode::NotAdministrator,
    );
    assert_api_error(
        client(&base).rotate_server_key().await,
        401,
        ErrorCode::Unauthorized,
    );

    // rotation happens a second after the first root became current, so both
    // have a non-empty period to be looked up by timestamp
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before_rotation = UnixTimestamp::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new_pem = admin.client.rotate_server_key().await.unwrap();
    let new_root = IdCert::from_pem(&new_pem).unwrap();
    assert_ne!(new_root.public_key(), old_root.public_key());
    p2core_certs::verify_root(&new_root, UnixTimestamp::now()).unwrap();
    assert_eq!(client(&base).server_idcert(None).await.unwrap(), new_pem);

    // history: the old root and key are what the server had before the rotation
    assert_eq!(
        client(&base)
            .server_idcert(Some(before_rotation))
            .await
            .unwrap(),
        old_pem
    );
    assert_eq!(
        client(&base)
            .server_public_key(Some(before_rotation))
            .await
            .unwrap(),
        old_key_pem
    );
    assert_api_error(
        client(&base).server_idcert(Some(UnixTimestamp(1000))).await,
        404,
        ErrorCode::NotFound,
    );

    // certificates issued under the old key verify against the old root only
    let now = UnixTimestamp::now();
    p2core_certs::verify_actor_cert(&user.cert(), &old_root, now).unwrap();
    assert!(p2core_certs::verify_actor_cert(&user.cert(), &new_root, now).is_err());
    // and new sessions get certificates of the new root
    let fresh = trust(&base, &user_fid, "dave-pw", "laptop").await;
    // (now, not the time before the request: the certificate may start a second later)
    p2core_certs::verify_actor_cert(&fresh.cert(), &new_root, UnixTimestamp::now()).unwrap();

    // every session was told (op 6), with the new certificate
    let ev = user.client.events().await.unwrap();
    let change = ev
        .iter()
        .find_map(|e| e.payload::<ServerCertificateChange>().ok())
        .expect("server certificate change event");
    assert_eq!(change.cert, new_pem);

    // after a restart on the same data, the rotated key is still the current one
    server.stop().await.unwrap();
    let server = spawn(dir.path(), "localhost", &["root@localhost"], &[]).await;
    let base = server.base_url();
    assert_eq!(client(&base).server_idcert(None).await.unwrap(), new_pem);
    assert_eq!(
        client(&base)
            .server_idcert(Some(before_rotation))
            .await
            .unwrap(),
        old_pem
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_data_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "erin", "erin-pw").await;
    let s = trust(&base, &fid, "erin-pw", "tablet").await;
    let kps: Vec<String> = p2core_types::keypackage::generate_key_packages(&s.key, &fid, 2, false)
        .unwrap()
        .iter()
        .map(|k| k.to_base64())
        .collect();
    s.client.upload_key_packages(&kps).await.unwrap();
    let other = trust(&base, &fid, "erin-pw", "phone").await;
    let root_pem = client(&base).server_idcert(None).await.unwrap();
    server.stop().await.unwrap();

    // the key file is private
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys: Vec<_> = std::fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .collect();
        assert_eq!(keys.len(), 1);
        let mode = keys[0]
            .as_ref()
            .unwrap()
            .metadata()
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    assert_eq!(
        client(&base).server_idcert(None).await.unwrap(),
        root_pem,
        "same root"
    );
    // the token still works; the pending new-session event survived
    let s2 = authed(&base, &s.token);
    let ev = s2.events().await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].op, 3);
    // the account and its certificates are there
    assert_api_error(
        client(&base)
            .register(&p2core_routes::register::Request {
                username: "erin".into(),
                password: "x".into(),
                auth_payload: None,
            })
            .await,
        409,
        ErrorCode::FederationIdTaken,
    );
    let listed = client(&base).actor_idcerts(&fid, None, None).await.unwrap();
    assert_eq!(listed.idcerts.len(), 2);
    // the KeyPackages are there (one claim hands out one of them)
    let claimed = authed(&base, &other.token)
        .get_key_packages(&fid)
        .await
        .unwrap();
    assert!(claimed.contains(&kps[0]));
    // and the actor can still log in
    let _ = trust(&base, &fid, "erin-pw", "laptop").await;
    server.stop().await.unwrap();
}
