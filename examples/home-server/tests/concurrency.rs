//! Races that must have exactly one winner.

mod common;

use std::collections::HashSet;

use common::*;
use p2core_routes::register;
use p2core_types::ErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_registrations_of_one_name_make_one_actor() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path(), "localhost", &[], &[]).await;
    let base = server.base_url();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let c = client(&base);
            tokio::spawn(async move {
                c.register(&register::Request {
                    username: "popular".into(),
                    password: format!("pw-{i}"),
                    auth_payload: None,
                })
                .await
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.fid.as_str(), "popular@localhost");
                created += 1;
            }
            Err(e) => {
                assert_eq!(e.status(), Some(409), "{e:?}");
                assert_eq!(e.error_code(), Some(&ErrorCode::FederationIdTaken));
                conflicts += 1;
            }
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_claims_never_share_a_key_package() {
    let dir = tempfile::tempdir().unwrap();
    // (50 claims of one actor at once: over the default per-actor claim limit)
    let server = spawn_with(dir.path(), "localhost", &[], &[], |c| {
        c.rate_keypackage_claims_per_actor_per_minute = 0;
    })
    .await;
    let base = server.base_url();
    let alice = register(&base, "alice", "pw-a").await;
    let s = trust(&base, &alice, "pw-a", "only").await;
    let kps: Vec<String> =
        p2core_types::keypackage::generate_key_packages(&s.key, &alice, 40, false)
            .unwrap()
            .iter()
            .map(|k| k.to_base64())
            .collect();
    s.client.upload_key_packages(&kps).await.unwrap();
    let lr = p2core_types::keypackage::generate_key_packages(&s.key, &alice, 1, true).unwrap()[0]
        .to_base64();
    s.client.replace_last_resort_key_package(&lr).await.unwrap();
    let bob = register(&base, "bob", "pw-b").await;
    let b = trust(&base, &bob, "pw-b", "claimer").await;

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = b.client.clone();
            let fid = alice.clone();
            tokio::spawn(async move { c.get_key_packages(&fid).await })
        })
        .collect();
    let mut regular = HashSet::new();
    let mut last_resort = 0;
    for t in tasks {
        let got = t.await.unwrap().unwrap();
        assert_eq!(got.len(), 1);
        if got[0] == lr {
            last_resort += 1;
        } else {
            assert!(
                regular.insert(got[0].clone()),
                "a KeyPackage was handed out twice"
            );
        }
    }
    assert_eq!(regular.len(), 40, "every regular KeyPackage exactly once");
    assert_eq!(last_resort, 10, "then the last-resort one");
    assert!(regular.iter().all(|k| kps.contains(k)));
    server.stop().await.unwrap();
}
