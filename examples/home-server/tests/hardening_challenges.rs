//! Challenges and `POST /session/identify` under garbage floods: nothing is
//! stored or used up before the request has been verified, the challenge
//! store is bounded and returns to empty after expiry + pruning, the database
//! does not grow, and the limits answer with clear JSON errors.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use p2core_routes::session_identify;
use p2core_types::{CompletedChallenge, ErrorCode, FederationId, SessionId};

/// Bytes of the SQLite database with its WAL and shared-memory files.
fn db_bytes(dir: &Path) -> u64 {
    ["p2core.sqlite3", "p2core.sqlite3-wal", "p2core.sqlite3-shm"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

/// Fetches challenges until the server refuses one; returns how many it issued.
async fn fill(base: &str, up_to: usize) -> usize {
    for issued in 0..up_to {
        let (status, body) = raw(
            base,
            p2core_routes::http::Method::GET,
            p2core_routes::challenge::INFO.path,
            None,
            None,
            Vec::new(),
        )
        .await;
        if status != 200 {
            assert_eq!(status, 503, "{body}");
            assert_eq!(body["error"], ErrorCode::Unavailable.as_str());
            return issued;
        }
    }
    up_to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_challenge_and_identify_leaves_no_trace_after_pruning() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let b = spawn_with(
        dir.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
        |c| {
            c.challenge_seconds = 2;
            c.challenge_prune_seconds = 1;
            c.max_challenges = 300;
        },
    )
    .await;
    let base = b.base_url();
    let alice = register(&a.base_url(), "alice", "pw-alice").await;
    let s = trust(&a.base_url(), &alice, "pw-alice", "laptop").await;

    // let the startup writes settle, then take the baseline
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = db_bytes(dir.path());

    // flood: the store takes its bound, then answers 503 (more only if some of the flood
    // expired while it ran and made room)
    let started = std::time::Instant::now();
    let issued = fill(&base, 400).await;
    if started.elapsed() < Duration::from_secs(1) {
        assert_eq!(issued, 300);
    } else {
        assert!(issued >= 300, "{issued}");
    }
    assert!(
        b.server().store().challenges().len() <= 300,
        "the bound holds"
    );

    // a challenge is outstanding for the real actor... (issued after room is made below)
    // garbage identify requests of every kind: all refused with JSON 4xx, none stored
    let victim = client(&base).challenge().await;
    // (challenges expire in whole seconds: a machine slow enough to get here a second after
    // the flood began may already see the first of it expired and pruned, making room)
    if started.elapsed() < Duration::from_secs(1) {
        assert!(victim.is_err(), "the store is full");
    }
    let garbage_bodies: Vec<Vec<u8>> = vec![
        b"{}".to_vec(),
        b"not json".to_vec(),
        br#"{"completed_challenge": {"challenge": "x", "signature": "y"}, "id_cert": "garbage"}"#
            .to_vec(),
        serde_json::to_vec(&session_identify::Request {
            completed_challenge: CompletedChallenge {
                challenge: "Z".repeat(64),
                signature: "00".repeat(64),
            },
            id_cert: s.cert_pem.clone(),
            auth_payload: None,
        })
        .unwrap(),
        serde_json::to_vec(&serde_json::json!({
            "completed_challenge": {"challenge": "Z".repeat(64), "signature": "00".repeat(64)},
            "id_cert": "-----BEGIN CERTIFICATE-----\n".repeat(2000),
        }))
        .unwrap(),
    ];
    for round in 0..40 {
        let body = garbage_bodies[round % garbage_bodies.len()].clone();
        let (status, json) = raw(
            &base,
            p2core_routes::http::Method::POST,
            session_identify::INFO.path,
            None,
            Some("application/json"),
            body,
        )
        .await;
        assert!((400..500).contains(&status), "{status} {json}");
    }

    // after expiry + pruning the store is back to its baseline (empty) and the database
    // did not grow at all
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !b.server().store().challenges().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "challenges were never pruned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        client(&base).challenge().await.is_ok(),
        "issuing works again"
    );
    assert_eq!(db_bytes(dir.path()), baseline, "the database did not grow");

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_do_not_use_up_a_challenge() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let b = spawn(
        dir.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
    )
    .await;
    let base = b.base_url();
    let alice = register(&a.base_url(), "alice", "pw-alice").await;
    let s = trust(&a.base_url(), &alice, "pw-alice", "laptop").await;
    let baseline = db_bytes(dir.path());

    let c = client(&base).challenge().await.unwrap();
    let good = session_identify::Request {
        completed_challenge: CompletedChallenge {
            challenge: c.challenge().to_owned(),
            signature: c.solve(&s.key),
        },
        id_cert: s.cert_pem.clone(),
        auth_payload: None,
    };
    // someone who saw the challenge tries it with wrong signatures, a wrong-length
    // signature, an oversized auth_payload and another actor's certificate
    let mut wrong_sig = good.clone();
    wrong_sig.completed_challenge.signature = c.solve(&new_key());
    assert_raw_error(
        &post_identify(&base, &wrong_sig).await,
        403,
        ErrorCode::ChallengeFailed,
    );
    let mut short_sig = good.clone();
    short_sig.completed_challenge.signature = "ab".into();
    assert_raw_error(
        &post_identify(&base, &short_sig).await,
        403,
        ErrorCode::ChallengeFailed,
    );
    let mut big_payload = good.clone();
    big_payload.auth_payload = Some(serde_json::Value::String("x".repeat(10_000)));
    assert_raw_error(
        &post_identify(&base, &big_payload).await,
        413,
        ErrorCode::PayloadTooLarge,
    );
    let mut huge_cert = good.clone();
    huge_cert.id_cert = format!("{}{}", s.cert_pem, " ".repeat(20_000));
    assert_raw_error(
        &post_identify(&base, &huge_cert).await,
        413,
        ErrorCode::PayloadTooLarge,
    );
    assert_eq!(db_bytes(dir.path()), baseline, "nothing was stored");

    // the actor's own solution still works, once
    let ok = post_identify(&base, &good).await;
    assert_eq!(ok.0, 201, "{}", ok.1);
    assert_raw_error(
        &post_identify(&base, &good).await,
        401,
        ErrorCode::ChallengeUnknown,
    );

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_per_actor_and_auth_payload_are_bounded() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn_with(dir_a.path(), "a.localhost", &[], &[], |c| {
        c.max_sessions_per_actor = 2;
        c.max_auth_payload_bytes = 64;
    })
    .await;
    let base_a = a.base_url();
    let dir_b = tempfile::tempdir().unwrap();
    let b = spawn_with(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", base_a.clone())],
        |c| {
            c.max_sessions_per_actor = 1;
        },
    )
    .await;
    let base_b = b.base_url();

    // auth_payload over the bound: 413 on register, nothing created
    let (status, body) = raw(
        &base_a,
        p2core_routes::http::Method::POST,
        p2core_routes::register::INFO.path,
        None,
        Some("application/json"),
        serde_json::to_vec(&serde_json::json!({
            "username": "bob", "password": "pw-bob-long", "auth_payload": {"x": "y".repeat(100)}
        }))
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("P2CORE_PAYLOAD_TOO_LARGE"))
    );
    assert!(
        client(&base_a)
            .actor_idcerts(&FederationId::new("bob@a.localhost").unwrap(), None, None)
            .await
            .is_err()
    );

    // local sessions: two, then 409 until one ends
    let alice = register(&base_a, "alice", "pw-alice").await;
    let s1 = trust(&base_a, &alice, "pw-alice", "one").await;
    let s2 = trust(&base_a, &alice, "pw-alice", "two").await;
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &alice, &SessionId::new("three").unwrap()).unwrap();
    let third = client(&base_a)
        .session_trust(&p2core_routes::session_trust::Request {
            username: "alice".into(),
            csr: csr.to_pem(),
            password: "pw-alice".into(),
            auth_payload: None,
        })
        .await;
    assert_api_error(third, 409, ErrorCode::TooManySessions);
    s1.client.delete_session(&s1.session_id).await.unwrap();
    let s3 = trust(&base_a, &alice, "pw-alice", "three").await;

    // foreign sessions on B: one per actor; the same session may re-identify
    client(&base_b)
        .identify(&s2.key, &s2.cert_pem, None)
        .await
        .unwrap();
    client(&base_b)
        .identify(&s2.key, &s2.cert_pem, None)
        .await
        .unwrap();
    assert_api_error(
        client(&base_b).identify(&s3.key, &s3.cert_pem, None).await,
        409,
        ErrorCode::TooManySessions,
    );

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
