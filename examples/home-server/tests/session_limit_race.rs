//! `--max-sessions-per-actor` is exact under concurrent `POST /session/trust`
//! requests: the store counts the live sessions in the insert's transaction,
//! so racing trusts cannot overshoot the limit (issue 14 item 2).

mod common;

use common::*;
use futures_util::future::join_all;
use p2core_routes::session_trust;
use p2core_types::{ErrorCode, SessionId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_trusts_never_exceed_the_session_limit() {
    // One slot and several password checks at once: the racing trusts pass
    // their password checks together and meet at the store.
    const MAX: u64 = 1;
    const TRIES: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_with(dir.path(), "localhost", &[], &[], |c| {
        c.max_sessions_per_actor = MAX;
        c.rate_trust_per_minute = 0;
        c.argon2_concurrency = 4;
    })
    .await;
    let base = server.base_url();
    let alice = register(&base, "alice", "pw-alice-long").await;
    let requests: Vec<session_trust::Request> = (0..TRIES)
        .map(|i| {
            let sid = SessionId::new(&format!("race-{i}")).unwrap();
            let csr = p2core_certs::build_csr(&new_key(), &alice, &sid).unwrap();
            session_trust::Request {
                username: "alice".into(),
                csr: csr.to_pem(),
                password: "pw-alice-long".into(),
                auth_payload: None,
            }
        })
        .collect();
    let c = client(&base);
    let results = join_all(requests.iter().map(|r| c.session_trust(r))).await;
    let made = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 1, "sessions created by {TRIES} racing trusts");
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_api_error(r, 409, ErrorCode::TooManySessions);
    }
    let certs = client(&base)
        .actor_idcerts(&alice, None, None)
        .await
        .unwrap();
    assert_eq!(certs.len(), 1, "live certificates of alice");
}
