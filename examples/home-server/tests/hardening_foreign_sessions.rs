//! Foreign sessions end when the actor's home server stops vouching for them:
//! B re-checks every foreign session at A at least every
//! `--foreign-recheck-seconds`, and a session deleted at A, or a certificate
//! invalidated at A, ends the session on B at the next re-check.

mod common;

use std::time::{Duration, Instant};

use common::*;
use p2core_types::ErrorCode;

/// Polls `events` with the token until it answers 401 (true) or `within` passes (false).
async fn ends_within(base: &str, token: &str, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        match authed(base, token).events().await {
            Err(e) if e.status() == Some(401) => return true,
            Ok(_) => {}
            Err(e) => panic!("unexpected answer: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_sessions_end_at_the_next_recheck_after_the_home_server_ends_them() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let dir_b = tempfile::tempdir().unwrap();
    let b = spawn_with(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
        |c| c.foreign_recheck_seconds = 2,
    )
    .await;
    let (base_a, base_b) = (a.base_url(), b.base_url());
    let alice = register(&base_a, "alice", "pw-alice").await;
    let laptop = trust(&base_a, &alice, "pw-alice", "laptop").await;
    let phone = trust(&base_a, &alice, "pw-alice", "phone").await;
    let desk = trust(&base_a, &alice, "pw-alice", "desk").await;
    let on_b_laptop = client(&base_b)
        .identify(&laptop.key, &laptop.cert_pem, None)
        .await
        .unwrap()
        .token;
    let on_b_phone = client(&base_b)
        .identify(&phone.key, &phone.cert_pem, None)
        .await
        .unwrap()
        .token;
    let on_b_desk = client(&base_b)
        .identify(&desk.key, &desk.cert_pem, None)
        .await
        .unwrap()
        .token;

    // sessions A still vouches for survive several re-checks
    assert!(
        !ends_within(&base_b, &on_b_laptop, Duration::from_secs(5)).await,
        "a session its home server still lists was ended"
    );

    // the laptop session is deleted at A; the phone's certificate is invalidated at A
    // (rotated there without telling B)
    laptop
        .client
        .delete_session(&laptop.session_id)
        .await
        .unwrap();
    let csr = p2core_certs::build_csr(&new_key(), &alice, &phone.session_id).unwrap();
    phone
        .client
        .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();

    // the next re-check (every 2 s here) ends both on B; generous bound against load
    assert!(
        ends_within(&base_b, &on_b_laptop, Duration::from_secs(60)).await,
        "the deleted session still works on B"
    );
    assert!(
        ends_within(&base_b, &on_b_phone, Duration::from_secs(60)).await,
        "the session with the invalidated certificate still works on B"
    );
    assert_api_error(
        authed(&base_b, &on_b_phone).events().await,
        401,
        ErrorCode::Unauthorized,
    );
    // the untouched session is still fine
    assert!(authed(&base_b, &on_b_desk).events().await.is_ok());

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
