//! The response cache of the certificate lookups (issue 14 item 4), over real
//! HTTP with a real SQLite file: a read sent after a write's response always
//! sees the write (even with other readers refilling the cache meanwhile),
//! cached answers are byte-for-byte the uncached ones, and the cache stays
//! within its byte budget with many actors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use ed25519_dalek::pkcs8::spki::DecodePublicKey;
use p2core_routes::rotate_session_idcert;
use p2core_types::{FederationId, IdCert, SessionId, UnixTimestamp};

/// `GET path` as (status, content-type, body bytes).
async fn get(base: &str, path: &str) -> (u16, String, Vec<u8>) {
    let resp = client(base)
        .http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

fn actor_path(fid: &FederationId) -> String {
    p2core_routes::actor_idcerts::path(fid)
}

/// The (PEM, invalidated) pairs of a JSON answer of `GET /idcert/actor/{fid}`.
fn pairs(body: &[u8]) -> Vec<(String, bool)> {
    let r: p2core_routes::actor_idcerts::Response =
        serde_json::from_slice(body).expect("a JSON certificate list");
    r.idcerts.into_iter().zip(r.invalidated).collect()
}

/// Keeps reading `paths` until `stop` is set, so the cache is refilled while
/// the writes happen (a fill that read before a write must not survive it).
fn hammer(base: String, paths: Vec<String>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            for p in &paths {
                let (status, _, _) = get(&base, p).await;
                assert_eq!(status, 200, "{p}");
                n += 1;
            }
        }
        n
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn actor_list_reads_after_writes_never_see_the_old_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "alice-pw").await;
    let phone = trust(&base, &fid, "alice-pw", "phone").await;
    let path = actor_path(&fid);
    let phone_id = SessionId::new("phone").unwrap();
    let filtered = format!("{path}?session_id=phone");

    // Cached and uncached answers are the same bytes with the same headers.
    let first = get(&base, &path).await;
    let again = get(&base, &path).await;
    assert_eq!(first.0, 200);
    assert_eq!(first.1, "application/json");
    assert_eq!(first, again);
    let as_of_now = format!("{path}?timestamp={}", UnixTimestamp::now().0);
    // (the list with `timestamp` is read from the database)
    assert_eq!(get(&base, &as_of_now).await, first);
    let typed = client(&base).actor_idcerts(&fid, None, None).await.unwrap();
    assert_eq!(typed.idcerts, vec![phone.cert_pem.clone()]);
    assert!(
        server.server().stats().response_cache_hits >= 1,
        "the second read was answered from the cache"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            hammer(
                base.clone(),
                vec![path.clone(), filtered.clone()],
                stop.clone(),
            )
        })
        .collect();

    // ID-Cert rotations: the next read has the new certificate, and the old one flagged.
    let mut token = phone.token.clone();
    let mut current = phone.cert_pem.clone();
    let mut previous: Vec<String> = Vec::new();
    for round in 0..40 {
        let key = new_key();
        let csr = p2core_certs::build_csr(&key, &fid, &phone_id).unwrap();
        let resp = authed(&base, &token)
            .rotate_session_idcert(&rotate_session_idcert::Request { csr: csr.to_pem() })
            .await
            .expect("rotate");
        previous.push(std::mem::replace(&mut current, resp.id_cert));
        token = resp.token;
        for p in [&path, &filtered] {
            let (status, ct, body) = get(&base, p).await;
            assert_eq!((status, ct.as_str()), (200, "application/json"));
            let list = pairs(&body);
            assert!(
                list.contains(&(current.clone(), false)),
                "round {round}, {p}: the rotated-in certificate is missing"
            );
            let old = previous.last().unwrap();
            assert!(
                list.contains(&(old.clone(), true)),
                "round {round}, {p}: the rotated-out certificate is not flagged invalidated"
            );
        }
    }

    // A new session appears at once, an ended one is flagged at once.
    for round in 0..10 {
        let name = format!("desk{round}");
        let desk = trust(&base, &fid, "alice-pw", &name).await;
        let list = pairs(&get(&base, &path).await.2);
        assert!(
            list.contains(&(desk.cert_pem.clone(), false)),
            "round {round}: new session"
        );
        authed(&base, &token)
            .delete_session(&SessionId::new(&name).unwrap())
            .await
            .expect("end session");
        let list = pairs(&get(&base, &path).await.2);
        assert!(
            list.contains(&(desk.cert_pem, true)),
            "round {round}: ended session"
        );
    }

    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.await.expect("reader");
    }
    assert!(reads > 0);
    let stats = server.server().stats();
    assert!(stats.response_cache_hits > 0 && stats.response_cache_misses > 0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_cert_reads_after_rotation_never_see_the_old_root() {
    let dir = tempfile::tempdir().unwrap();
    let admin_fid = create_admin(dir.path(), "localhost", "root", "admin-pw").await;
    let server = spawn(dir.path(), "localhost", &["root@localhost"], &[]).await;
    let base = server.base_url();
    let admin = trust(&base, &admin_fid, "admin-pw", "console").await;
    let cert_path = p2core_routes::server_idcert::INFO.path.to_owned();
    let key_path = p2core_routes::server_public_key::INFO.path.to_owned();

    // Cached and uncached answers are the same bytes with the same headers.
    let first = get(&base, &cert_path).await;
    assert_eq!(first.0, 200);
    assert_eq!(first.1, "text/plain; charset=utf-8");
    assert_eq!(first, get(&base, &cert_path).await);
    let key_first = get(&base, &key_path).await;
    assert_eq!(key_first.1, "text/plain; charset=utf-8");
    assert_eq!(key_first, get(&base, &key_path).await);
    let as_of_now = format!("{cert_path}?timestamp={}", UnixTimestamp::now().0);
    assert_eq!(get(&base, &as_of_now).await, first);
    assert!(server.server().stats().response_cache_hits >= 2);

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            hammer(
                base.clone(),
                vec![cert_path.clone(), key_path.clone()],
                stop.clone(),
            )
        })
        .collect();
    for round in 0..25 {
        let new_pem = admin.client.rotate_server_key().await.expect("rotate");
        let (status, _, body) = get(&base, &cert_path).await;
        assert_eq!(status, 200);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            new_pem,
            "round {round}: the old root was served after the rotation"
        );
        let (_, _, key) = get(&base, &key_path).await;
        let key =
            ed25519_dalek::VerifyingKey::from_public_key_pem(std::str::from_utf8(&key).unwrap())
                .unwrap();
        let root = IdCert::from_pem(&new_pem).unwrap();
        assert_eq!(
            Some(&key),
            root.public_key(),
            "round {round}: the old key was served after the rotation"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_actors_keep_the_cache_within_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    // About three one-certificate lists fit.
    const BUDGET: usize = 4 * 1024;
    let server = spawn_with(dir.path(), "localhost", &[], &[], |c| {
        c.response_cache_bytes = BUDGET;
    })
    .await;
    let base = server.base_url();
    let stats = || server.server().stats();
    let mut actors = Vec::new();
    for n in 0..8 {
        let fid = register(&base, &format!("user{n}"), "pw-of-user").await;
        let s = trust(&base, &fid, "pw-of-user", "main").await;
        actors.push((fid, s.cert_pem));
    }
    for round in 0..3 {
        for (fid, pem) in &actors {
            for _ in 0..2 {
                let (status, _, body) = get(&base, &actor_path(fid)).await;
                assert_eq!(status, 200);
                assert_eq!(
                    pairs(&body),
                    vec![(pem.clone(), false)],
                    "round {round}, {fid}"
                );
                let used = stats().response_cache_bytes;
                assert!(used <= BUDGET, "accounted {used} bytes > budget {BUDGET}");
            }
        }
    }
    let entries = stats().response_cache_actor_lists;
    assert!((1..8).contains(&entries), "{entries} lists cached");
    assert!(
        stats().response_cache_bytes > BUDGET / 4,
        "the cache is in use"
    );
    server.stop().await.unwrap();
}
