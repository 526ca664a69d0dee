//! Issue 7 items 5, 7–10 over real HTTP on loopback: KeyPackages bound to the
//! live key, certificate history, rate limits, root lifetime, file modes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ed25519_dalek::SigningKey;
use p2core_home_server::storage::hash_token;
use p2core_home_server::storage::sqlite::SqliteStore;
use p2core_home_server::storage::{Caller, NewKeyPackage, Store, StoreError};
use p2core_routes::client::Client;
use p2core_routes::http::Method;
use p2core_routes::rotate_session_idcert;
use p2core_types::events::ServerCertificateChange;
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{ErrorCode, FederationId, IdCert, SessionId, UnixTimestamp};

fn key_packages(key: &SigningKey, fid: &FederationId, n: usize) -> Vec<String> {
    generate_key_packages(key, fid, n, false)
        .unwrap()
        .iter()
        .map(|k| k.to_base64())
        .collect()
}

/// Rotates a session's ID-Cert to a fresh key; returns the new session.
async fn rotate(base: &str, s: &Session) -> Session {
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &s.fid, &s.session_id).unwrap();
    let resp = s
        .client
        .rotate_session_idcert(&rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();
    Session {
        key,
        fid: s.fid.clone(),
        session_id: s.session_id.clone(),
        cert_pem: resp.id_cert,
        client: authed(base, &resp.token),
        token: resp.token,
    }
}

/// Makes the stored certificates of `session` end at `not_after` (the server
/// is stopped): the way to have a certificate expire without waiting a day.
async fn expire_in_db(dir: &Path, session: &str, not_after: UnixTimestamp) {
    let url = format!("sqlite://{}", dir.join("p2core.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n = sqlx::query("UPDATE id_certs SET not_after = ? WHERE session_id = ?")
        .bind(i64::try_from(not_after.0).unwrap())
        .bind(session)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_never_hands_out_a_key_package_of_a_replaced_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "kim", "pw").await;
    let bob = register(&base, "bob", "pw").await;
    let claimer = trust(&base, &bob, "pw", "b").await;
    let s = trust(&base, &fid, "pw", "phone").await;

    // the session's LocalSession as the server saw it before the rotation
    let store = SqliteStore::open(&dir.path().join("p2core.sqlite3"))
        .await
        .unwrap();
    let Some(Caller::Local(before)) = store
        .caller_by_token(&hash_token(&s.token), UnixTimestamp::now())
        .await
        .unwrap()
    else {
        panic!("the token is a local session");
    };

    // uploaded, then the key is rotated: the old packages are gone
    s.client
        .upload_key_packages(&key_packages(&s.key, &fid, 2))
        .await
        .unwrap();
    let rotated = rotate(&base, &s).await;
    assert_eq!(
        claimer.client.get_key_packages(&fid).await.unwrap(),
        Vec::<String>::new()
    );

    // an upload that was validated against the old certificate and reaches the
    // store after the rotation (the race) is refused in the same transaction
    let late: Vec<NewKeyPackage> = generate_key_packages(&s.key, &fid, 1, false)
        .unwrap()
        .iter()
        .map(|kp| NewKeyPackage {
            body_b64: kp.to_base64(),
            init_key: kp.init_key().to_vec(),
            not_after: kp.not_after(),
            last_resort: false,
        })
        .collect();
    let res = store
        .add_key_packages(&before, &late, UnixTimestamp::now(), 100)
        .await;
    assert!(matches!(res, Err(StoreError::NotFound)), "{res:?}");
    assert_eq!(
        claimer.client.get_key_packages(&fid).await.unwrap(),
        Vec::<String>::new()
    );
    // the old token cannot upload either
    assert_api_error(
        authed(&base, &s.token)
            .upload_key_packages(&key_packages(&s.key, &fid, 1))
            .await,
        401,
        ErrorCode::Unauthorized,
    );

    // packages of the new key are handed out
    let fresh = key_packages(&rotated.key, &fid, 1);
    rotated.client.upload_key_packages(&fresh).await.unwrap();
    assert_eq!(claimer.client.get_key_packages(&fid).await.unwrap(), fresh);
    store.close().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_an_expired_session_id_purges_its_key_packages_and_keeps_history_honest() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "lou", "pw").await;
    let bob = register(&base, "bob", "pw").await;
    let old = trust(&base, &fid, "pw", "tablet").await;
    old.client
        .upload_key_packages(&key_packages(&old.key, &fid, 2))
        .await
        .unwrap();
    let nb = old.cert().not_before();
    server.stop().await.unwrap();

    // the tablet's certificate expires without being revoked (its end is
    // moved to its start; wait until that second is over, so it has ended)
    expire_in_db(dir.path(), "tablet", nb).await;
    while UnixTimestamp::now().0 <= nb.0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let claimer = trust(&base, &bob, "pw", "b").await;
    // the session ID is free again; the new session starts without the old packages
    let again = trust(&base, &fid, "pw", "tablet").await;
    assert_ne!(again.cert_pem, old.cert_pem);
    assert_eq!(
        claimer.client.get_key_packages(&fid).await.unwrap(),
        Vec::<String>::new()
    );

    // the expired certificate is reported, and not as invalidated
    let at_old = client(&base)
        .actor_idcerts(&fid, Some(nb), Some(&SessionId::new("tablet").unwrap()))
        .await
        .unwrap();
    assert_eq!(at_old.idcerts, vec![old.cert_pem.clone()]);
    assert_eq!(at_old.invalidated, vec![false]);

    // a rotation does invalidate
    let rotated = rotate(&base, &again).await;
    let now = client(&base).actor_idcerts(&fid, None, None).await.unwrap();
    let flags: Vec<(bool, bool)> = now
        .idcerts
        .iter()
        .zip(&now.invalidated)
        .map(|(pem, inv)| (pem == &again.cert_pem, *inv))
        .filter(|(is_again, _)| *is_again)
        .collect();
    assert_eq!(flags, vec![(true, true)]);
    let i = now
        .idcerts
        .iter()
        .position(|p| p == &rotated.cert_pem)
        .unwrap();
    assert!(!now.invalidated[i]);
    // and so does deleting the session
    rotated
        .client
        .delete_session(&rotated.session_id)
        .await
        .unwrap();
    let after = client(&base)
        .actor_idcerts(&fid, None, Some(&rotated.session_id))
        .await
        .unwrap();
    assert!(after.invalidated.iter().all(|i| *i));
    assert_eq!(after.invalidated.len(), 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_packages_per_session_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| c.max_key_packages_per_session = 3).await;
    let base = server.base_url();
    let fid = register(&base, "max", "pw").await;
    let bob = register(&base, "bob", "pw").await;
    let claimer = trust(&base, &bob, "pw", "b").await;
    let s = trust(&base, &fid, "pw", "phone").await;
    s.client
        .upload_key_packages(&key_packages(&s.key, &fid, 3))
        .await
        .unwrap();
    let body = serde_json::to_vec(&key_packages(&s.key, &fid, 1)).unwrap();
    let (status, json) = raw(
        &base,
        Method::POST,
        "/.p2/core/v1/keypackage/@me",
        Some(&s.token),
        Some("application/json"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["error"], "P2CORE_PAYLOAD_TOO_LARGE");
    assert!(json["message"].as_str().unwrap().contains("at most 3"));
    // nothing of the refused upload was kept: three claims, then none
    for _ in 0..3 {
        assert_eq!(
            claimer.client.get_key_packages(&fid).await.unwrap().len(),
            1
        );
    }
    assert!(
        claimer
            .client
            .get_key_packages(&fid)
            .await
            .unwrap()
            .is_empty()
    );
    // room again
    let (status, _) = raw(
        &base,
        Method::POST,
        "/.p2/core/v1/keypackage/@me",
        Some(&s.token),
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(status, 201);
    server.stop().await.unwrap();
}

fn trust_body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "username": name, "password": "wrong", "csr": "-----BEGIN CERTIFICATE REQUEST-----"}))
    .unwrap()
}

/// Sends a bogus login; returns (status, Retry-After, JSON body).
async fn bogus_login(
    c: &Client,
    base: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<u64>, serde_json::Value) {
    let mut req = c
        .http()
        .post(format!("{base}/.p2/core/v1/session/trust"))
        .header("content-type", "application/json")
        .body(trust_body("nobody"));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    let resp = req.send().await.expect("answered");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body: serde_json::Value = resp.json().await.expect("a JSON body");
    (status, retry, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_gets_429_with_retry_after_while_other_routes_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.rate_trust_per_minute = 20;
        c.rate_challenge_per_minute = 5;
        // 300 parallel connections from 127.0.0.1: the rate limit is tested, not the
        // per-address connection cap (tests/gateway_slots.rs).
        c.max_connections_per_address = 0;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);
    let flood: Vec<_> = (0..300)
        .map(|_| {
            let http = http.clone();
            let base = base.clone();
            tokio::spawn(async move { bogus_login(&http, &base, None).await })
        })
        .collect();
    // the server keeps answering other routes during the flood
    let started = Instant::now();
    for _ in 0..5 {
        client(&base).server_idcert(None).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "GET /idcert/server starved"
    );
    let (mut limited, mut refused) = (0, 0);
    for t in flood {
        let (status, retry, body) = t.await.unwrap();
        match status {
            429 => {
                limited += 1;
                let retry = retry.expect("429 carries Retry-After");
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                assert_eq!(body["errcode"], 429);
                assert_eq!(body["error"], "P2CORE_TOO_MANY_REQUESTS");
                assert!(body["message"].is_string());
            }
            // the 20 admitted ones fail the password check or the CSR
            400 | 401 => refused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // 20 at once, plus one per 3 s the flood lasted
    assert_eq!(refused + limited, 300);
    assert!(
        refused >= 20 && limited >= 200,
        "{refused} admitted, {limited} limited"
    );

    // challenges have their own limit
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, _) = raw(
            &base,
            Method::GET,
            "/.p2/core/v1/challenge",
            None,
            None,
            vec![],
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_used_only_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    // by default the header is ignored: another claimed address is still limited
    let server = spawn_local_with(dir.path(), |c| c.rate_trust_per_minute = 1).await;
    let base = server.base_url();
    let http = client(&base);
    assert_ne!(bogus_login(&http, &base, Some("203.0.113.8")).await.0, 429);
    assert_eq!(bogus_login(&http, &base, Some("203.0.113.9")).await.0, 429);
    server.stop().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.rate_trust_per_minute = 1;
        c.trust_forwarded_for = true;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);
    let first = bogus_login(&http, &base, Some("198.51.100.1")).await.0;
    assert_ne!(first, 429);
    assert_eq!(bogus_login(&http, &base, Some("198.51.100.1")).await.0, 429);
    // the last entry (the one the proxy appended) counts
    let other = bogus_login(&http, &base, Some("198.51.100.1, 198.51.100.2"))
        .await
        .0;
    assert_ne!(other, 429);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_certificates_never_outlive_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.root_cert_days = 1;
        c.root_renew_days = 0;
        c.actor_cert_days = 30;
    })
    .await;
    let base = server.base_url();
    let root = IdCert::from_pem(&client(&base).server_idcert(None).await.unwrap()).unwrap();
    let fid = register(&base, "nia", "pw").await;
    let s = trust(&base, &fid, "pw", "s").await;
    assert_eq!(s.cert().not_after(), root.not_after());
    p2core_certs::verify_actor_cert(&s.cert(), &root, UnixTimestamp::now()).unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_near_its_end_is_renewed_at_start_keeping_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.root_cert_days = 1;
        c.root_renew_days = 0;
    })
    .await;
    let base = server.base_url();
    let old_pem = client(&base).server_idcert(None).await.unwrap();
    let fid = register(&base, "oli", "pw").await;
    let s = trust(&base, &fid, "pw", "s").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = UnixTimestamp::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.stop().await.unwrap();

    // default flags: renew 30 days before the end; this root has one day left
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let new_pem = client(&base).server_idcert(None).await.unwrap();
    assert_ne!(new_pem, old_pem);
    let new_root = IdCert::from_pem(&new_pem).unwrap();
    let old_root = IdCert::from_pem(&old_pem).unwrap();
    assert!(new_root.not_after().0 >= UnixTimestamp::now().0 + 729 * 86_400);
    assert_eq!(
        client(&base).server_idcert(Some(before)).await.unwrap(),
        old_pem
    );
    p2core_certs::verify_actor_cert(&s.cert(), &old_root, UnixTimestamp::now()).unwrap();
    // the session was told, and its token still works
    let ev = authed(&base, &s.token).events().await.unwrap();
    let change = ev
        .iter()
        .find_map(|e| e.payload::<ServerCertificateChange>().ok())
        .expect("server certificate change event");
    assert_eq!(change.cert, new_pem);
    let fresh = trust(&base, &fid, "pw", "t").await;
    p2core_certs::verify_actor_cert(&fresh.cert(), &new_root, UnixTimestamp::now()).unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_root_is_a_server_error_not_a_bad_csr() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| c.root_renew_days = 0).await;
    let base = server.base_url();
    let fid = register(&base, "pat", "pw").await;
    server.stop().await.unwrap();

    // an operator who ignored every warning: the current root has expired
    let key = new_key();
    let now = UnixTimestamp::now();
    let serial = p2core_certs::fresh_serial();
    let domain = p2core_types::DomainName::new("localhost").unwrap();
    let root = p2core_certs::create_root_cert(
        &key,
        &domain,
        UnixTimestamp(now.0 - 3 * 86_400),
        UnixTimestamp(now.0 - 86_400),
        serial,
    )
    .unwrap();
    let key_file = format!("keys/{serial}.pem");
    std::fs::write(
        dir.path().join(&key_file),
        key.to_pkcs8_pem(der::pem::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let store = SqliteStore::open(&dir.path().join("p2core.sqlite3"))
        .await
        .unwrap();
    store
        .insert_server_cert(
            i64::try_from(serial).unwrap(),
            &root.to_pem(),
            &key_file,
            now,
            None,
        )
        .await
        .unwrap();
    store.close().await;

    let server = spawn_local_with(dir.path(), |c| c.root_renew_days = 0).await;
    let base = server.base_url();
    let csr = p2core_certs::build_csr(&new_key(), &fid, &SessionId::new("s").unwrap()).unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "username": "pat", "password": "pw", "csr": csr.to_pem()}))
    .unwrap();
    let (status, json) = raw(
        &base,
        Method::POST,
        "/.p2/core/v1/session/trust",
        None,
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["error"], "P2CORE_UNAVAILABLE");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("root certificate")
    );
    server.stop().await.unwrap();

    // with renewal on, the next start renews it and issuance works again
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let s = trust(&base, &fid, "pw", "s").await;
    let root = IdCert::from_pem(&client(&base).server_idcert(None).await.unwrap()).unwrap();
    p2core_certs::verify_actor_cert(&s.cert(), &root, UnixTimestamp::now()).unwrap();
    server.stop().await.unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_modes_are_fixed_on_start_of_an_existing_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let chmod = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    // a data directory the operator made beforehand, world-readable
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o755);
    let server = spawn_local_with(&data, |_| {}).await;
    server.stop().await.unwrap();
    assert_eq!(mode(&data), 0o700);

    let keys = data.join("keys");
    let key_files: Vec<_> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(key_files.len(), 1);
    let db = data.join("p2core.sqlite3");
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&key_files[0]), 0o600);
    assert_eq!(mode(&db), 0o600);

    // someone loosened everything while the server was stopped
    chmod(&data, 0o755);
    chmod(&keys, 0o755);
    chmod(&key_files[0], 0o644);
    chmod(&db, 0o644);
    let server = spawn_local_with(&data, |_| {}).await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&key_files[0]), 0o600);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let p = data.join(format!("p2core.sqlite3{suffix}"));
        if p.exists() {
            assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
        }
    }
    server.stop().await.unwrap();
}
