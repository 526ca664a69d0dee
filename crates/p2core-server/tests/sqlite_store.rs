//! What only the SQLite store promises, beside the backend-neutral suite
//! (`store_suite.rs`): the database file survives a reopen (event ids keep
//! growing), challenges live in memory (shared by clones, forgotten by a
//! reopen), and each session's queue is trimmed to its bound.

use std::path::Path;
use std::time::Duration;

use p2core_server::storage::sqlite::SqliteStore;
use p2core_server::storage::{Caller, LocalSession, Network, NewIdCert, PendingEvent, Store};
use p2core_types::{ChallengeString, FederationId, SessionId, UnixTimestamp};

const DAY: u64 = 86_400;

fn event(tag: &str) -> PendingEvent {
    PendingEvent {
        n: "sqlite",
        op: 1,
        d: format!("{{\"tag\":\"{tag}\"}}"),
    }
}

fn cert(serial: i64, session: &str) -> NewIdCert {
    let now = UnixTimestamp::now();
    NewIdCert {
        serial,
        session_id: SessionId::new(session).expect("a valid session ID"),
        cert_pem: format!("PEM of {serial}"),
        not_before: UnixTimestamp(now.0 - 60),
        not_after: now.saturating_add(DAY),
        root_serial: 1,
    }
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.expect("open the store")
}

/// The root certificate and actor `alice`; returns her id.
async fn alice(store: &SqliteStore) -> i64 {
    let now = UnixTimestamp::now();
    store
        .insert_server_cert(1, "ROOT", "root.key", now, None)
        .await
        .expect("root");
    store
        .create_actor(
            &FederationId::new("alice@sqlite.example").expect("a valid FID"),
            "hash",
            None,
            now,
        )
        .await
        .expect("actor")
}

async fn session(store: &SqliteStore, actor: i64, serial: i64, id: &str) -> LocalSession {
    let token = [u8::try_from(serial % 251).unwrap_or(0); 32];
    store
        .create_session(
            actor,
            &cert(serial, id),
            &token,
            UnixTimestamp::now(),
            &event(id),
            u64::MAX,
        )
        .await
        .expect("session");
    match store
        .caller_by_token(&token, UnixTimestamp::now())
        .await
        .expect("resolve")
    {
        Some(Caller::Local(s)) => s,
        other => panic!("the new token resolved to {other:?}"),
    }
}

async fn pending(store: &SqliteStore, s: &LocalSession) -> Vec<(i64, String)> {
    store
        .pending_events(s.actor_id, &s.session_id, s.cert_serial, 0)
        .await
        .expect("pending")
        .iter()
        .map(|e| (e.id, e.d.to_string()))
        .collect()
}

#[tokio::test]
async fn a_reopened_file_keeps_everything_and_event_ids_keep_growing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("p2core.db");
    let store = open(&path).await;
    let actor = alice(&store).await;
    let a = session(&store, actor, 10, "session-a").await;
    session(&store, actor, 11, "session-b").await;
    let before = pending(&store, &a).await;
    assert_eq!(before.len(), 1);
    // The queue is emptied: the highest id is gone from the table.
    store
        .ack_events(actor, &a.session_id, a.cert_serial, &[before[0].0])
        .await
        .expect("ack");
    store.close().await;
    drop(store);

    let store = open(&path).await;
    let token = [10u8; 32];
    assert!(
        matches!(
            store.caller_by_token(&token, UnixTimestamp::now()).await.expect("resolve"),
            Some(Caller::Local(ref s)) if s.session_id == a.session_id
        ),
        "the session did not survive the reopen"
    );
    assert_eq!(
        store
            .live_session_count(actor, UnixTimestamp::now())
            .await
            .expect("count"),
        2
    );
    assert!(pending(&store, &a).await.is_empty());
    session(&store, actor, 12, "session-c").await;
    let after = pending(&store, &a).await;
    assert_eq!(after.len(), 1);
    assert!(
        after[0].0 > before[0].0,
        "event id {} reused after a reopen (was {})",
        after[0].0,
        before[0].0
    );
}

#[tokio::test]
async fn challenges_are_shared_by_clones_and_forgotten_by_a_reopen() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("p2core.db");
    let store = open(&path).await;
    let clone = store.clone();
    let now = UnixTimestamp::now();
    let net = Network::share_of("192.0.2.7".parse().expect("an address"));
    let issued = ChallengeString::generate(now, Duration::from_secs(60));
    let kept = ChallengeString::generate(now, Duration::from_secs(60));
    for c in [&issued, &kept] {
        clone
            .issue_challenge(c, net, now, 10, 10)
            .await
            .expect("issue")
            .expect("issued");
    }
    assert_eq!(
        store.challenges().len(),
        2,
        "a clone has its own challenges"
    );
    assert!(
        store
            .take_challenge(issued.challenge(), now)
            .await
            .expect("take")
    );
    assert!(
        !clone
            .take_challenge(issued.challenge(), now)
            .await
            .expect("take"),
        "taken on one clone, accepted again on another"
    );
    // Nothing of a challenge reaches the database file.
    store.close().await;
    drop((store, clone));
    let store = open(&path).await;
    assert!(store.challenges().is_empty());
    assert!(
        !store
            .take_challenge(kept.challenge(), now)
            .await
            .expect("take"),
        "a challenge survived a reopen"
    );
}

#[tokio::test]
async fn each_session_queue_is_trimmed_to_its_bound_oldest_first() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(&dir.path().join("p2core.db"))
        .await
        .with_max_pending_events(3);
    let actor = alice(&store).await;
    let a = session(&store, actor, 20, "session-a").await;
    for i in 0..6 {
        // each new session queues one event for every earlier one
        session(&store, actor, 21 + i, &format!("session-{i}")).await;
    }
    let queue = pending(&store, &a).await;
    let tags: Vec<&str> = queue.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        tags,
        vec![
            "{\"tag\":\"session-3\"}",
            "{\"tag\":\"session-4\"}",
            "{\"tag\":\"session-5\"}"
        ],
        "the newest three are kept"
    );
    // A session with fewer events than the bound keeps them all.
    let s4 = store
        .caller_by_token(&[25u8; 32], UnixTimestamp::now())
        .await
        .expect("resolve");
    let Some(Caller::Local(s4)) = s4 else {
        panic!("session-4 does not resolve: {s4:?}")
    };
    assert_eq!(pending(&store, &s4).await.len(), 1);
}
