//! Session revocation reaches open gateway sockets (issue 13 item 3), over
//! real loopback sockets: `DELETE /session`, rotation, `admin
//! reset-password` (in this process, and as a separate process on the same
//! database while the server runs) close the session's sockets with 4004
//! within one second, and a socket of an ended session never sees, nor
//! acknowledges, the events of a new session that reuses its session ID.

mod common;

use std::path::Path;
use std::time::Duration;

use common::ws::*;
use common::*;
use futures_util::StreamExt;
use p2core_home_server::storage::Store;
use p2core_home_server::{Config, RunningServer, start};
use p2core_types::events::NewSession;
use p2core_types::gateway::Envelope;
use p2core_types::{DomainName, SessionId, UnixTimestamp};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// What the issue asks: a revoked socket is closed within one second.
const ONE_SECOND: Duration = Duration::from_secs(1);

async fn spawn_server(dir: &Path) -> RunningServer {
    let mut config = Config::with_data_dir(dir);
    config.domain = DomainName::new("localhost").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    start(config, false).await.expect("server starts")
}

/// Asserts that `ws` is closed with 4004 within one second.
async fn assert_revoked(ws: &mut Ws, what: &str) {
    let (code, reason, _) = ws_close_within(ws, ONE_SECOND).await;
    assert_eq!(code, 4004, "{what}: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_session_closes_its_sockets_with_4004_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let two = trust(&base, &fid, "pw", "two").await;
    let mut a = raw_identify(&base, &two.token).await;
    let mut b = raw_identify(&base, &two.token).await;
    let mut kept = raw_identify(&base, &one.token).await;
    // Ended by another session of the actor.
    one.client.delete_session(&two.session_id).await.unwrap();
    assert_revoked(&mut a, "first socket").await;
    assert_revoked(&mut b, "second socket").await;
    // The other session's socket stays and gets the "session ended" event
    // (after the op 3 about "two" that was queued before it connected).
    let ev = recv(&mut kept).await;
    assert_eq!(ev.op, 3, "{ev:?}");
    let ev = recv(&mut kept).await;
    assert_eq!(ev.op, 4, "{ev:?}");
    // The revoked token cannot come back, neither by Identify nor by Resume.
    let mut again = raw_connect(&base).await;
    ws_hello(&mut again).await;
    send(
        &mut again,
        json!({"n": "core", "op": 5, "d": {"token": two.token, "s": 1}}),
    )
    .await;
    let (code, _, _) = ws_close_within(&mut again, WAIT).await;
    assert_eq!(code, 4004);

    // A session ending itself closes its own socket too.
    let mut own = raw_identify(&base, &one.token).await;
    drop(kept);
    one.client.delete_session(&one.session_id).await.unwrap();
    assert_revoked(&mut own, "own socket").await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_closes_the_old_tokens_sockets_and_the_new_token_gets_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let laptop = trust(&base, &fid, "pw", "laptop").await;
    let mut old = raw_identify(&base, &laptop.token).await;
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &fid, &laptop.session_id).unwrap();
    let rotated = laptop
        .client
        .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();
    assert_revoked(&mut old, "socket of the rotated token").await;
    // The new token's socket receives the session's events.
    let mut new = raw_identify(&base, &rotated.token).await;
    let phone = trust(&base, &fid, "pw", "phone").await;
    let ev = recv(&mut new).await;
    let payload: NewSession = serde_json::from_value(ev.d.clone()).unwrap();
    assert_eq!(payload.cert, phone.cert_pem);
    server.stop().await.unwrap();
}

/// The attack: a socket of an ended session stays open, the session ID is
/// reused by a new session, and the old socket receives the new session's
/// events and acknowledges (deletes) them. It must be closed instead, and the
/// new session must find its events queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_of_an_ended_session_cannot_take_its_successors_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let two = trust(&base, &fid, "pw", "two").await;
    let mut old = raw_identify(&base, &two.token).await;
    // End "two" and at once reuse its ID, then queue an event for the new "two".
    one.client
        .delete_session(&SessionId::new("two").unwrap())
        .await
        .unwrap();
    let two_again = trust(&base, &fid, "pw", "two").await;
    let three = trust(&base, &fid, "pw", "three").await;

    // The old socket acknowledges whatever it receives, as an attacker would.
    let mut events_seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let code = loop {
        let Ok(msg) = tokio::time::timeout_at(deadline, old.next()).await else {
            break None;
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                let ev: Envelope = serde_json::from_str(t.as_str()).unwrap();
                if let Some(s) = ev.s {
                    send(
                        &mut old,
                        json!({"n": "core", "op": 0, "d": {"from": 0, "to": s}}),
                    )
                    .await;
                }
                events_seen.push(ev);
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            _ => break None,
        }
    };
    assert!(
        events_seen.iter().all(|e| e.op == 7 || e.op == 12),
        "{events_seen:?}"
    );
    assert_eq!(code, Some(4004), "the old socket was not closed with 4004");
    // The new session still has its event.
    let queued = two_again.client.events_after(0).await.unwrap();
    assert!(
        queued.iter().any(|e| e
            .payload::<NewSession>()
            .is_ok_and(|p| p.cert == three.cert_pem)),
        "the new session's event is gone: {queued:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_in_process_closes_every_socket_of_the_actor() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let two = trust(&base, &fid, "pw", "two").await;
    let bob_fid = register(&base, "bob", "pw").await;
    let bob = trust(&base, &bob_fid, "pw", "b").await;
    let mut a = raw_identify(&base, &one.token).await;
    let mut b = raw_identify(&base, &two.token).await;
    let mut other = raw_identify(&base, &bob.token).await;
    let ended = server
        .server()
        .store()
        .reset_actor_password(&fid, "not-a-real-hash", UnixTimestamp::now())
        .await
        .unwrap();
    assert_eq!(ended, Some(2));
    assert_revoked(&mut a, "alice one").await;
    assert_revoked(&mut b, "alice two").await;
    // Bob's socket is untouched.
    send(
        &mut other,
        json!({"n": "core", "op": 0, "d": {"from": 0, "to": 0}}),
    )
    .await;
    assert_eq!(recv(&mut other).await.op, 7);
    server.stop().await.unwrap();
}

/// `admin reset-password` is a separate process on the same database: the
/// server learns of it by re-validating its sockets' certificates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_password_from_another_process_closes_the_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let one = trust(&base, &fid, "pw", "one").await;
    let mut ws = raw_identify(&base, &one.token).await;
    let data = dir.path().to_owned();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        admin_cli(&data, &[], &["reset-password", "alice"], "new-password\n")
    })
    .await
    .unwrap();
    assert!(ok, "admin reset-password failed: {err}");
    assert_revoked(&mut ws, "socket after admin reset-password").await;
    server.stop().await.unwrap();
}

/// The re-validation sweep closes only revoked sockets: sockets of sessions
/// created a moment ago (under concurrent writes) survive several sweeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_validation_leaves_live_sockets_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path()).await;
    let base = server.base_url();
    let fid = register(&base, "alice", "pw").await;
    let mut sockets = Vec::new();
    for i in 0..12 {
        let s = trust(&base, &fid, "pw", &format!("s{i}")).await;
        sockets.push(raw_identify(&base, &s.token).await);
    }
    // Several sweeps (every 500 ms) while sessions keep being created.
    for i in 0..4 {
        let _ = trust(&base, &fid, "pw", &format!("later{i}")).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    for ws in &mut sockets {
        send(ws, json!({"n": "core", "op": 0, "d": {"from": 0, "to": 0}})).await;
        while recv(ws).await.op != 7 {}
    }
    server.stop().await.unwrap();
}
