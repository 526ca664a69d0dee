//! The store conformance suite: the contract of every [`Store`] method, as
//! cases that any backend runs with one macro call.
//!
//! Each case is a plain `pub async fn case(store: &impl Store)` that starts
//! from an empty, freshly migrated store and panics (an ordinary assertion)
//! when the backend breaks the contract. The cases cover what the handlers,
//! the gateway and the background jobs rely on, including the concurrency and
//! ordering rules: event ids in commit order, single-use rotations, session
//! ends and invite uses, KeyPackages never handed out twice, and the
//! sessions-per-actor limits exact under concurrent requests. Concurrent
//! requests run on separate threads, each with its own runtime, so they
//! truly race inside the backend, as they do under a busy server.
//!
//! # Running it against a backend
//!
//! Enable the `test-suite` feature of this crate for the backend's tests (a
//! dev-dependency on it with `features = ["test-suite"]`; within this crate,
//! `cfg(test)` is enough), write a `fresh_store()` that makes a new, empty
//! database on every call and returns it with a guard that keeps whatever
//! backs it alive (a temporary directory, a schema to drop; `()` if there is
//! nothing to keep), and call the macro where `fresh_store` is in scope:
//!
//! ```text
//! async fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = SqliteStore::open(&dir.path().join("p2core.db")).await.unwrap();
//!     (store, dir)
//! }
//! p2core_home_server::store_test_suite!();
//! ```
//!
//! The macro emits a module `store_test_suite` with one `#[tokio::test]` per
//! case (the calling crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features). No case skips itself: a backend that cannot
//! run one fails it. The SQLite store runs the suite in
//! `examples/home-server/tests/store_suite.rs`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::join_all;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use super::{
    ActorCertFilter, Caller, LocalSession, NewIdCert, NewKeyPackage, PendingEvent, SessionNotice,
    Store, StoreError,
};

/// Emits one `#[tokio::test]` per case of [`storage::test_suite`](crate::storage::test_suite),
/// each on a store from the caller's `fresh_store()` (see the module docs).
#[macro_export]
macro_rules! store_test_suite {
    () => {
        $crate::store_test_suite!(@cases
            actors_unique_and_found,
            operator_actors_and_password_reset,
            root_certificate_history,
            session_create_resolve_and_conflict,
            expired_session_id_is_reused_cleanly,
            rotation_replaces_certificate_and_token,
            rotation_and_end_are_single_use_under_concurrency,
            end_session_removes_everything,
            actor_certs_filters,
            session_limit_exact_under_concurrency,
            event_ids_in_commit_order_under_concurrent_writers,
            event_queue_reads_acks_and_takes,
            revoked_certificate_cannot_read_or_ack,
            dead_cert_serials_reports_only_dead,
            prune_events_keeps_live_sessions,
            key_package_uploads_all_or_nothing,
            key_package_claims_regular_then_last_resort,
            key_package_claims_never_duplicate_under_concurrency,
            invites_used_up_atomically,
            foreign_session_lifecycle,
            foreign_session_limit_exact_under_concurrency,
            foreign_session_upkeep,
        );
    };
    // One wrapper per case (internal: a backend runs every case).
    (@cases $($case:ident),* $(,)?) => {
        mod store_test_suite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (store, guard) = super::fresh_store().await;
                    $crate::storage::test_suite::$case(&store).await;
                    drop(store);
                    drop(guard);
                }
            )*
        }
    };
}

/// Serial of the root certificate every case starts with.
const ROOT_SERIAL: i64 = 1;
/// A day in seconds.
const DAY: u64 = 86_400;

static NEXT_SERIAL: AtomicI64 = AtomicI64::new(1_000);

fn serial() -> i64 {
    NEXT_SERIAL.fetch_add(1, Ordering::Relaxed)
}

fn now() -> UnixTimestamp {
    UnixTimestamp::now()
}

fn fid(name: &str) -> FederationId {
    FederationId::new(&format!("{name}@suite.example")).expect("a valid test FID")
}

fn foreign_fid(name: &str) -> FederationId {
    FederationId::new(&format!("{name}@elsewhere.example")).expect("a valid test FID")
}

fn sid(id: &str) -> SessionId {
    SessionId::new(id).expect("a valid test session ID")
}

fn token() -> [u8; 32] {
    p2core_types::random::bytes::<32>()
}

fn event(tag: &str) -> PendingEvent {
    PendingEvent {
        n: "suite",
        op: 7,
        d: format!("{{\"tag\":\"{tag}\"}}"),
    }
}

fn cert(session: &str, not_after: UnixTimestamp) -> NewIdCert {
    let serial = serial();
    NewIdCert {
        serial,
        session_id: sid(session),
        cert_pem: format!("PEM of {serial}"),
        not_before: UnixTimestamp(now().0.saturating_sub(60)),
        not_after,
        root_serial: ROOT_SERIAL,
    }
}

fn key_package(tag: &str, not_after: UnixTimestamp, last_resort: bool) -> NewKeyPackage {
    NewKeyPackage {
        body_b64: format!("kp-{tag}"),
        init_key: format!("init-{tag}").into_bytes(),
        not_after,
        last_resort,
    }
}

/// The root certificate and one actor: returns the actor's id.
async fn setup(store: &impl Store, name: &str) -> i64 {
    if store
        .current_server_cert()
        .await
        .expect("read root")
        .is_none()
    {
        store
            .insert_server_cert(ROOT_SERIAL, "ROOT PEM", "root.key", now(), None)
            .await
            .expect("insert root");
    }
    store
        .create_actor(&fid(name), "hash", None, now())
        .await
        .expect("create actor")
}

/// Creates a session valid for a day; returns it as its token resolves.
async fn session(store: &impl Store, actor: i64, id: &str) -> (LocalSession, [u8; 32]) {
    session_until(store, actor, id, now().saturating_add(DAY)).await
}

async fn session_until(
    store: &impl Store,
    actor: i64,
    id: &str,
    not_after: UnixTimestamp,
) -> (LocalSession, [u8; 32]) {
    let t = token();
    store
        .create_session(actor, &cert(id, not_after), &t, now(), &event(id), u64::MAX)
        .await
        .expect("create session");
    (local(store, &t).await.expect("the new token resolves"), t)
}

/// The local session a token resolves to now.
async fn local(store: &impl Store, t: &[u8]) -> Option<LocalSession> {
    match store.caller_by_token(t, now()).await.expect("resolve") {
        Some(Caller::Local(s)) => Some(s),
        Some(Caller::Foreign(_)) => panic!("a local token resolved to a foreign session"),
        None => None,
    }
}

/// Runs `f(0)`, …, `f(n - 1)` at once on `n` threads, each on its own
/// runtime, and returns their results in order: writers that truly race
/// (joined futures of one task take turns at every await). Needs the
/// multi-threaded runtime the macro's tests run on.
fn on_threads<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Sync,
    Fut: std::future::Future<Output = T>,
    T: Send,
{
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let f = &f;
            let threads: Vec<_> = (0..n)
                .map(|i| {
                    scope.spawn(move || {
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("a runtime for a racing writer")
                            .block_on(f(i))
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("a racing writer panicked"))
                .collect()
        })
    })
}

fn ids(events: &[super::StoredEvent]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

fn no_event(_: i64) -> Option<PendingEvent> {
    None
}

fn no_low_event(_: u64, _: bool) -> Option<PendingEvent> {
    None
}

// ---- actors ----

/// Actor names are unique; lookups by name and FID find the actor.
pub async fn actors_unique_and_found(store: &impl Store) {
    let id = setup(store, "alice").await;
    let rec = store
        .actor_by_local_name("alice")
        .await
        .expect("lookup")
        .expect("alice exists");
    assert_eq!(rec.id, id);
    assert_eq!(rec.fid, fid("alice"));
    assert_eq!(rec.password_hash, "hash");
    assert_eq!(
        store.actor_exists(&fid("alice")).await.expect("exists"),
        Some(id)
    );
    assert!(
        store
            .actor_by_local_name("bob")
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(store.actor_exists(&fid("bob")).await.expect("exists"), None);
    let again = store
        .create_actor(&fid("alice"), "other", None, now())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let op = store
        .create_operator_actor(&fid("alice"), "other", now())
        .await;
    assert!(matches!(op, Err(StoreError::Conflict(_))), "{op:?}");
    // The taken name kept its first password.
    let rec = store.actor_by_local_name("alice").await.expect("lookup");
    assert_eq!(rec.map(|r| r.password_hash), Some("hash".to_owned()));
    // Concurrent registrations of one name: exactly one wins.
    let carol = fid("carol");
    let results = on_threads(8, |_| store.create_actor(&carol, "h", Some("{}"), now()));
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_))))
    );
}

/// Operator-made actors are flagged; a password reset ends every session.
pub async fn operator_actors_and_password_reset(store: &impl Store) {
    let alice = setup(store, "alice").await;
    assert!(!store.is_operator_made(alice).await.expect("flag"));
    let admin = store
        .create_operator_actor(&fid("admin"), "ophash", now())
        .await
        .expect("create operator actor");
    assert!(store.is_operator_made(admin).await.expect("flag"));

    let (a, ta) = session(store, alice, "session-a").await;
    let (b, tb) = session(store, alice, "session-b").await;
    let mut notices = store.subscribe_sessions();
    let ended = store
        .reset_actor_password(&fid("alice"), "newhash", now())
        .await
        .expect("reset");
    assert_eq!(ended, Some(2));
    assert!(local(store, &ta).await.is_none(), "old token still works");
    assert!(local(store, &tb).await.is_none(), "old token still works");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        0
    );
    let rec = store.actor_by_local_name("alice").await.expect("lookup");
    assert_eq!(rec.map(|r| r.password_hash), Some("newhash".to_owned()));
    assert!(store.is_operator_made(alice).await.expect("flag"));
    let mut dead = store
        .dead_cert_serials(&[a.cert_serial, b.cert_serial], now())
        .await
        .expect("dead serials");
    dead.sort_unstable();
    let mut want = vec![a.cert_serial, b.cert_serial];
    want.sort_unstable();
    assert_eq!(dead, want);
    let mut revoked = Vec::new();
    while let Ok(n) = notices.try_recv() {
        if let SessionNotice::Revoked(s) = n {
            revoked.extend(s.iter().copied());
        }
    }
    revoked.sort_unstable();
    assert_eq!(revoked, want, "the gateway must learn of the revocations");
    assert_eq!(
        store
            .reset_actor_password(&fid("nobody"), "x", now())
            .await
            .expect("reset"),
        None
    );
}

// ---- root certificates ----

/// The current root and the root current at any past time.
pub async fn root_certificate_history(store: &impl Store) {
    assert!(store.current_server_cert().await.expect("read").is_none());
    let t0 = now();
    let t1 = t0.saturating_add(100);
    store
        .insert_server_cert(10, "PEM 10", "k10", t0, None)
        .await
        .expect("first root");
    let alice = store
        .create_actor(&fid("alice"), "h", None, t0)
        .await
        .expect("actor");
    let t = token();
    let mut c = cert("session-a", t0.saturating_add(DAY));
    c.root_serial = 10;
    store
        .create_session(alice, &c, &t, t0, &event("x"), u64::MAX)
        .await
        .expect("session");
    let a = local(store, &t).await.expect("session resolves");
    store
        .insert_server_cert(11, "PEM 11", "k11", t1, Some(event("rotated")))
        .await
        .expect("second root");
    let cur = store
        .current_server_cert()
        .await
        .expect("read")
        .expect("a current root");
    assert_eq!(
        (cur.serial, cur.cert_pem.as_str(), cur.key_file.as_str()),
        (11, "PEM 11", "k11")
    );
    assert_eq!(cur.current_from, t1);
    let at = |t| async move {
        store
            .server_cert_at(t)
            .await
            .expect("read")
            .map(|c| c.serial)
    };
    assert_eq!(at(UnixTimestamp(t0.0 - 1)).await, None);
    assert_eq!(at(t0).await, Some(10));
    assert_eq!(at(UnixTimestamp(t1.0 - 1)).await, Some(10));
    assert_eq!(at(t1).await, Some(11));
    assert_eq!(at(t1.saturating_add(DAY)).await, Some(11));
    // The rotation event reached the live local session.
    let pending = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    assert!(
        pending.iter().any(|e| e.d.contains("rotated")),
        "{pending:?}"
    );
}

// ---- local sessions ----

/// A new session resolves by its token, counts as live, notifies the
/// actor's other sessions (not itself), and its live session ID conflicts.
pub async fn session_create_resolve_and_conflict(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let mut notices = store.subscribe_sessions();
    let t = token();
    let c = cert("session-b", now().saturating_add(DAY));
    store
        .create_session(alice, &c, &t, now(), &event("b-new"), u64::MAX)
        .await
        .expect("second session");
    let b = local(store, &t).await.expect("token resolves");
    assert_eq!(
        (
            b.actor_id,
            &b.fid,
            &b.session_id,
            b.cert_serial,
            b.cert_pem.as_str()
        ),
        (
            alice,
            &fid("alice"),
            &c.session_id,
            c.serial,
            c.cert_pem.as_str()
        )
    );
    assert!(
        store
            .caller_by_token(&token(), now())
            .await
            .expect("resolve")
            .is_none()
    );
    // Past the certificate's end the token resolves to nobody.
    let later = c.not_after.saturating_add(1);
    assert!(
        store
            .caller_by_token(&t, later)
            .await
            .expect("resolve")
            .is_none()
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
    let to_a = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_a.iter().any(|e| e.d.contains("b-new")), "{to_a:?}");
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.is_empty(), "a session is not told of itself: {to_b:?}");
    match notices.try_recv() {
        Ok(SessionNotice::Current {
            actor_id,
            session_id,
            serial,
        }) => assert_eq!(
            (actor_id, session_id, serial),
            (alice, c.session_id.clone(), c.serial)
        ),
        other => panic!("expected a Current notice, got {other:?}"),
    }
    let dup = store
        .create_session(
            alice,
            &cert("session-b", now().saturating_add(DAY)),
            &token(),
            now(),
            &event("dup"),
            u64::MAX,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
}

/// Once a session's certificate expired its ID can be used again, and the
/// new session never sees what was queued for the old one.
pub async fn expired_session_id_is_reused_cleanly(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (other, _) = session(store, alice, "session-o").await;
    let soon = now().saturating_add(5);
    let t_old = token();
    let old = cert("session-x", soon);
    store
        .create_session(alice, &old, &t_old, now(), &event("x"), u64::MAX)
        .await
        .expect("short session");
    // queue something for the old session
    store
        .end_session(alice, &other.session_id, now(), &|_| Some(event("for-x")))
        .await
        .expect("end");
    let after = soon.saturating_add(1);
    assert_eq!(
        store.live_session_count(alice, after).await.expect("count"),
        0
    );
    let t_new = token();
    let new = cert("session-x", now().saturating_add(DAY));
    store
        .create_session(alice, &new, &t_new, after, &event("x2"), u64::MAX)
        .await
        .expect("the expired session ID is free");
    let pending = store
        .pending_events(alice, &new.session_id, new.serial, 0)
        .await
        .expect("pending");
    assert!(pending.is_empty(), "old events handed over: {pending:?}");
    assert!(
        store
            .caller_by_token(&t_old, after)
            .await
            .expect("resolve")
            .is_none()
    );
}

/// A rotation swaps certificate and token, drops the session's
/// KeyPackages, keeps its queue, tells the other sessions, and a stale
/// rotation fails with `NotFound`.
pub async fn rotation_replaces_certificate_and_token(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, ta) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await; // queues an event for a
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(&a, &[key_package("a1", day, false)], now(), 100)
        .await
        .expect("upload");
    let queued = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert!(!queued.is_empty());
    let mut notices = store.subscribe_sessions();
    let tn = token();
    let nc = cert("session-a", day);
    store
        .rotate_session(&a, &nc, &tn, now(), &event("rotated-a"))
        .await
        .expect("rotate");
    assert!(
        local(store, &ta).await.is_none(),
        "the old token still works"
    );
    let a2 = local(store, &tn).await.expect("the new token resolves");
    assert_eq!((a2.cert_serial, &a2.session_id), (nc.serial, &a.session_id));
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
    let still = ids(&store
        .pending_events(alice, &a.session_id, nc.serial, 0)
        .await
        .expect("pending"));
    assert_eq!(still, queued, "a rotation keeps the session's queue");
    let claimed = store
        .claim_key_packages(alice, now(), 0, &no_low_event)
        .await
        .expect("claim");
    assert!(
        claimed.is_empty(),
        "KeyPackages of the old certificate survived: {claimed:?}"
    );
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.iter().any(|e| e.d.contains("rotated-a")), "{to_b:?}");
    let mut saw_revoked = false;
    while let Ok(n) = notices.try_recv() {
        if let SessionNotice::Revoked(s) = n {
            saw_revoked |= s.contains(&a.cert_serial);
        }
    }
    assert!(saw_revoked, "no Revoked notice for the old certificate");
    let stale = store
        .rotate_session(
            &a,
            &cert("session-a", day),
            &token(),
            now(),
            &event("again"),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
    let certs = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert!(certs.contains(&(a.cert_pem.clone(), true)), "{certs:?}");
    assert!(certs.contains(&(nc.cert_pem.clone(), false)), "{certs:?}");
}

/// Concurrent rotations of one certificate: exactly one wins; concurrent
/// ends of one session: exactly one reports it ended.
pub async fn rotation_and_end_are_single_use_under_concurrency(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..10).map(|_| (cert("session-a", day), token())).collect();
    let ev = event("r");
    let results = on_threads(attempts.len(), |i| {
        let (c, t) = &attempts[i];
        store.rotate_session(&a, c, t, now(), &ev)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::NotFound)))
    );
    let live: Vec<_> = join_all(attempts.iter().map(|(_, t)| local(store, t))).await;
    assert_eq!(
        live.iter().filter(|s| s.is_some()).count(),
        1,
        "tokens that work"
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        1
    );

    let ends = on_threads(10, |_| {
        store.end_session(alice, &a.session_id, now(), &no_event)
    });
    let ended: Vec<bool> = ends.into_iter().map(|r| r.expect("end")).collect();
    assert_eq!(ended.iter().filter(|e| **e).count(), 1, "{ended:?}");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        0
    );
}

/// Ending a session revokes its token and certificate, deletes its
/// KeyPackages and queue, and queues `make_event(serial)` for the others.
pub async fn end_session_removes_everything(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, ta) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await; // queues one for a
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(&a, &[key_package("a1", day, true)], now(), 10)
        .await
        .expect("upload");
    let seen = std::sync::Mutex::new(Vec::new());
    let make = |serial: i64| {
        seen.lock().expect("lock").push(serial);
        Some(event("a-ended"))
    };
    let ended = store
        .end_session(alice, &a.session_id, now(), &make)
        .await
        .expect("end");
    assert!(ended);
    assert_eq!(*seen.lock().expect("lock"), vec![a.cert_serial]);
    assert!(local(store, &ta).await.is_none());
    let gone = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.iter().any(|e| e.d.contains("a-ended")), "{to_b:?}");
    let claimed = store
        .claim_key_packages(alice, now(), 0, &no_low_event)
        .await
        .expect("claim");
    assert!(claimed.is_empty(), "{claimed:?}");
    assert_eq!(
        store
            .dead_cert_serials(&[a.cert_serial], now())
            .await
            .expect("dead"),
        vec![a.cert_serial]
    );
    let unknown = store
        .end_session(alice, &sid("session-z"), now(), &no_event)
        .await
        .expect("end");
    assert!(!unknown);
    // The ended session's ID is free again, with an empty queue.
    let (a2, _) = session(store, alice, "session-a").await;
    let pending = store
        .pending_events(alice, &a2.session_id, a2.cert_serial, 0)
        .await
        .expect("pending");
    assert!(pending.is_empty(), "{pending:?}");
}

/// `actor_certs`: certificates valid at the time asked (now by default),
/// invalidated ones flagged, oldest first, optionally of one session.
pub async fn actor_certs_filters(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await;
    session(store, bob, "session-a").await;
    let all = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert_eq!(
        all,
        vec![(a.cert_pem.clone(), false), (b.cert_pem.clone(), false)]
    );
    let only_b = store
        .actor_certs(
            alice,
            &ActorCertFilter {
                at: None,
                session_id: Some(b.session_id.clone()),
            },
            now(),
        )
        .await
        .expect("certs");
    assert_eq!(only_b, vec![(b.cert_pem.clone(), false)]);
    let before = store
        .actor_certs(
            alice,
            &ActorCertFilter {
                at: Some(UnixTimestamp(now().0 - 3600)),
                session_id: None,
            },
            now(),
        )
        .await
        .expect("certs");
    assert!(before.is_empty(), "{before:?}");
    store
        .end_session(alice, &a.session_id, now(), &no_event)
        .await
        .expect("end");
    let all = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert_eq!(
        all,
        vec![(a.cert_pem.clone(), true), (b.cert_pem.clone(), false)]
    );
}

/// The sessions-per-actor limit is exact under concurrent creations, and
/// ended sessions free their slot.
pub async fn session_limit_exact_under_concurrency(store: &impl Store) {
    const MAX: u64 = 3;
    let alice = setup(store, "alice").await;
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..12)
        .map(|i| (cert(&format!("session-{i}"), day), token()))
        .collect();
    let ev = event("n");
    let results = on_threads(attempts.len(), |i| {
        let (c, t) = &attempts[i];
        store.create_session(alice, c, t, now(), &ev, MAX)
    });
    let made = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 3, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::LimitReached(_)))),
        "{results:?}"
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        MAX
    );
    // A refused creation stored nothing: its token resolves to nobody.
    for ((_, t), r) in attempts.iter().zip(&results) {
        assert_eq!(local(store, t).await.is_some(), r.is_ok());
    }
    let (i, _) = results
        .iter()
        .enumerate()
        .find(|(_, r)| r.is_ok())
        .expect("one was made");
    store
        .end_session(alice, &attempts[i].0.session_id, now(), &no_event)
        .await
        .expect("end");
    store
        .create_session(
            alice,
            &cert("session-new", day),
            &token(),
            now(),
            &event("n"),
            MAX,
        )
        .await
        .expect("an ended session frees its slot");
    // Another actor's sessions do not count.
    let bob = setup(store, "bob").await;
    store
        .create_session(
            bob,
            &cert("session-b", day),
            &token(),
            now(),
            &event("n"),
            MAX,
        )
        .await
        .expect("bob has his own limit");
}

// ---- the event queue ----

/// Event ids grow in commit order: batches arrive on the bus in id order,
/// even from writers racing on separate threads, and a session reads them
/// in that order.
pub async fn event_ids_in_commit_order_under_concurrent_writers(store: &impl Store) {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 8;
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let mut bus = store.subscribe_events();
    let day = now().saturating_add(DAY);
    on_threads(WRITERS, |w| async move {
        for r in 0..ROUNDS {
            // A new session notifies a (and any other live one); so does its end.
            let c = cert(&format!("session-{w}-{r}"), day);
            store
                .create_session(alice, &c, &token(), now(), &event("new"), u64::MAX)
                .await
                .expect("create");
            store
                .end_session(alice, &c.session_id, now(), &|_| Some(event("gone")))
                .await
                .expect("end");
        }
    });
    let mut published = Vec::new();
    while let Ok(batch) = bus.try_recv() {
        published.extend(batch.iter().map(|e| (e.id, e.session_id.clone())));
    }
    assert!(!published.is_empty());
    assert!(
        published.windows(2).all(|w| w[0].0 < w[1].0),
        "batches published out of id order: {published:?}"
    );
    let to_a: Vec<i64> = published
        .iter()
        .filter(|(_, s)| *s == a.session_id)
        .map(|(id, _)| *id)
        .collect();
    let pending = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(
        pending, to_a,
        "the queue holds exactly what was published, in order"
    );
    assert_eq!(pending.len(), 2 * WRITERS * ROUNDS);
}

/// Reading after a cursor, acknowledging by ids and through a cursor, and
/// taking the queue; ids are never reused after an acknowledgement.
pub async fn event_queue_reads_acks_and_takes(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, bob, "session-b").await;
    for i in 0..5 {
        session(store, alice, &format!("session-{i}")).await;
        session(store, bob, &format!("session-{i}")).await;
    }
    let read = |after| store.pending_events(alice, &a.session_id, a.cert_serial, after);
    let all = ids(&read(0).await.expect("pending"));
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        ids(&read(all[1]).await.expect("pending")),
        all[2..].to_vec()
    );
    assert!(read(all[4]).await.expect("pending").is_empty());
    // Acknowledging another session's ids removes nothing.
    let theirs = ids(&store
        .pending_events(bob, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(
        store
            .ack_events(alice, &a.session_id, a.cert_serial, &theirs)
            .await
            .expect("ack"),
        0
    );
    assert_eq!(
        store
            .ack_events(
                alice,
                &a.session_id,
                a.cert_serial,
                &[all[0], all[2], 999_999]
            )
            .await
            .expect("ack"),
        2
    );
    assert_eq!(
        ids(&read(0).await.expect("pending")),
        vec![all[1], all[3], all[4]]
    );
    assert_eq!(
        store
            .ack_events_through(alice, &a.session_id, all[3])
            .await
            .expect("ack through"),
        2
    );
    assert_eq!(ids(&read(0).await.expect("pending")), vec![all[4]]);
    store
        .ack_events(alice, &a.session_id, a.cert_serial, &[all[4]])
        .await
        .expect("ack");
    // The newest event was removed: the next one still gets a higher id.
    session(store, alice, "session-9").await;
    let next = ids(&read(0).await.expect("pending"));
    assert_eq!(next.len(), 1);
    assert!(
        next[0] > all[4],
        "event id reused: {} after {}",
        next[0],
        all[4]
    );
    // take_events: everything, oldest first, and gone afterwards.
    let taken = store.take_events(bob, &b.session_id).await.expect("take");
    let taken_ids: Vec<i64> = taken.iter().map(|e| e.0).collect();
    assert_eq!(taken_ids, theirs);
    assert!(taken.iter().all(|e| e.1 == "suite" && e.2 == 7));
    assert!(
        store
            .take_events(bob, &b.session_id)
            .await
            .expect("take")
            .is_empty()
    );
}

/// A certificate that is no longer the session's live one cannot read or
/// acknowledge the session's queue (a revoked holder never sees a
/// successor's events); acknowledging nothing is not checked.
pub async fn revoked_certificate_cannot_read_or_ack(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    session(store, alice, "session-b").await;
    let queued = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(queued.len(), 1);
    let nc = cert("session-a", now().saturating_add(DAY));
    store
        .rotate_session(&a, &nc, &token(), now(), &event("r"))
        .await
        .expect("rotate");
    let read = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await;
    assert!(matches!(read, Err(StoreError::NotFound)), "{read:?}");
    let ack = store
        .ack_events(alice, &a.session_id, a.cert_serial, &queued)
        .await;
    assert!(matches!(ack, Err(StoreError::NotFound)), "{ack:?}");
    assert_eq!(
        store
            .ack_events(alice, &a.session_id, a.cert_serial, &[])
            .await
            .expect("empty ack"),
        0
    );
    // Nothing was removed by the refused acknowledgement.
    let still = ids(&store
        .pending_events(alice, &a.session_id, nc.serial, 0)
        .await
        .expect("pending"));
    assert_eq!(still, queued);
    // A serial of another session (or none at all) is refused too.
    let wrong = store.pending_events(alice, &a.session_id, 424_242, 0).await;
    assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
}

/// `dead_cert_serials` reports invalidated and expired certificates only,
/// never a live or unknown serial.
pub async fn dead_cert_serials_reports_only_dead(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (live, _) = session(store, alice, "session-l").await;
    let (ended, _) = session(store, alice, "session-e").await;
    let soon = now().saturating_add(60);
    let (short, _) = session_until(store, alice, "session-s", soon).await;
    store
        .end_session(alice, &ended.session_id, now(), &no_event)
        .await
        .expect("end");
    let asked = [
        live.cert_serial,
        ended.cert_serial,
        short.cert_serial,
        777_777,
    ];
    assert_eq!(
        store.dead_cert_serials(&asked, now()).await.expect("dead"),
        vec![ended.cert_serial]
    );
    let mut later = store
        .dead_cert_serials(&asked, soon.saturating_add(1))
        .await
        .expect("dead");
    later.sort_unstable();
    let mut want = vec![ended.cert_serial, short.cert_serial];
    want.sort_unstable();
    assert_eq!(later, want);
    assert!(
        store
            .dead_cert_serials(&[], now())
            .await
            .expect("dead")
            .is_empty()
    );
}

/// `prune_events` deletes the queues of expired sessions only.
pub async fn prune_events_keeps_live_sessions(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let soon = now().saturating_add(60);
    let (short, _) = session_until(store, alice, "session-s", soon).await;
    let (long, _) = session(store, alice, "session-l").await;
    session(store, alice, "session-x").await; // events for both of them
    let queued_for_short = store
        .pending_events(alice, &short.session_id, short.cert_serial, 0)
        .await
        .expect("pending")
        .len();
    assert_eq!(queued_for_short, 2);
    assert_eq!(store.prune_events(now()).await.expect("prune"), 0);
    assert_eq!(
        store
            .prune_events(soon.saturating_add(1))
            .await
            .expect("prune"),
        2
    );
    let kept = store
        .pending_events(alice, &long.session_id, long.cert_serial, 0)
        .await
        .expect("pending");
    assert_eq!(kept.len(), 1);
    assert!(
        store
            .take_events(alice, &short.session_id)
            .await
            .expect("take")
            .is_empty()
    );
}

// ---- KeyPackages ----

/// Uploads are all or nothing: over the limit `LimitReached`, a reused init
/// key `Conflict`, a stale certificate `NotFound`; nothing is stored then.
pub async fn key_package_uploads_all_or_nothing(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(
            &a,
            &[key_package("1", day, false), key_package("2", day, false)],
            now(),
            3,
        )
        .await
        .expect("upload");
    let over = store
        .add_key_packages(
            &a,
            &[key_package("3", day, false), key_package("4", day, false)],
            now(),
            3,
        )
        .await;
    assert!(matches!(over, Err(StoreError::LimitReached(_))), "{over:?}");
    let reused = store
        .add_key_packages(
            &a,
            &[key_package("5", day, false), key_package("1", day, false)],
            now(),
            100,
        )
        .await;
    assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");
    let mut bodies = HashSet::new();
    for _ in 0..5 {
        for c in store
            .claim_key_packages(alice, now(), 0, &no_low_event)
            .await
            .expect("claim")
        {
            bodies.insert(c.body_b64);
        }
    }
    let want: HashSet<String> = ["kp-1", "kp-2"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(bodies, want, "a refused upload stored something");
    // A certificate rotated away cannot upload.
    store
        .rotate_session(&a, &cert("session-a", day), &token(), now(), &event("r"))
        .await
        .expect("rotate");
    let stale = store
        .add_key_packages(&a, &[key_package("6", day, false)], now(), 100)
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
}

/// Claims hand out one package per live session: regular ones first (each
/// once), then the last-resort one (kept); expired ones never; the
/// low-KeyPackages notice stays one per session.
pub async fn key_package_claims_regular_then_last_resort(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await;
    let day = now().saturating_add(DAY);
    let soon = now().saturating_add(30);
    store
        .add_key_packages(
            &a,
            &[
                key_package("a1", day, false),
                key_package("a2", day, false),
                key_package("a-old", soon, false),
                key_package("a-lr", day, true),
            ],
            now(),
            100,
        )
        .await
        .expect("upload a");
    store
        .add_key_packages(&b, &[key_package("b1", day, false)], now(), 100)
        .await
        .expect("upload b");
    let low_calls = std::sync::Mutex::new(Vec::new());
    let low = |remaining: u64, last_resort: bool| {
        low_calls
            .lock()
            .expect("lock")
            .push((remaining, last_resort));
        Some(event(&format!("low-{remaining}-{last_resort}")))
    };
    let later = soon.saturating_add(1);
    let claim = || async {
        let mut c = store
            .claim_key_packages(alice, later, 2, &low)
            .await
            .expect("claim");
        c.sort_by(|x, y| x.session_id.as_str().cmp(y.session_id.as_str()));
        c.into_iter()
            .map(|c| (c.session_id.as_str().to_owned(), c.body_b64, c.last_resort))
            .collect::<Vec<_>>()
    };
    let first = claim().await;
    assert_eq!(first.len(), 2, "one per live session: {first:?}");
    assert_eq!((first[0].0.as_str(), first[0].2), ("session-a", false));
    assert_eq!(
        first[1],
        ("session-b".to_owned(), "kp-b1".to_owned(), false)
    );
    let second = claim().await;
    assert_eq!(second.len(), 1, "b has nothing left: {second:?}");
    assert!(!second[0].2);
    let mut regular: Vec<String> = vec![first[0].1.clone(), second[0].1.clone()];
    regular.sort();
    assert_eq!(regular, vec!["kp-a1".to_owned(), "kp-a2".to_owned()]);
    for _ in 0..2 {
        let lr = claim().await;
        assert_eq!(
            lr,
            vec![("session-a".to_owned(), "kp-a-lr".to_owned(), true)]
        );
    }
    let calls = low_calls.lock().expect("lock").clone();
    assert!(calls.contains(&(0, true)), "{calls:?}");
    // One pending low notice per session, carrying the latest state.
    let to_a = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    let lows: Vec<&str> = to_a
        .iter()
        .filter(|e| e.d.contains("low-"))
        .map(|e| &*e.d)
        .collect();
    assert_eq!(lows, vec!["{\"tag\":\"low-0-true\"}"], "{to_a:?}");
}

/// Many concurrent claims: every regular KeyPackage is handed out exactly
/// once, none twice, and the count is exact.
pub async fn key_package_claims_never_duplicate_under_concurrency(store: &impl Store) {
    const PACKAGES: usize = 20;
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    let packages: Vec<_> = (0..PACKAGES)
        .map(|i| key_package(&format!("p{i}"), day, false))
        .collect();
    store
        .add_key_packages(&a, &packages, now(), 1000)
        .await
        .expect("upload");
    let claims = on_threads(PACKAGES * 2, |_| {
        store.claim_key_packages(alice, now(), 0, &no_low_event)
    });
    let mut handed = Vec::new();
    for c in claims {
        handed.extend(c.expect("claim").into_iter().map(|c| c.body_b64));
    }
    let unique: HashSet<&String> = handed.iter().collect();
    assert_eq!(
        unique.len(),
        handed.len(),
        "a KeyPackage was handed out twice"
    );
    assert_eq!(handed.len(), PACKAGES, "{handed:?}");
}

// ---- registration invites ----

/// Invites are used up atomically: concurrent registrations with one
/// invite never exceed its uses; a taken name uses nothing; revoked and
/// expired invites are refused.
pub async fn invites_used_up_atomically(store: &impl Store) {
    setup(store, "taken").await;
    let t0 = now();
    let week = t0.saturating_add(7 * DAY);
    let hash = token();
    let id = store
        .create_invite(&hash, 3, t0, week)
        .await
        .expect("invite");
    assert!(store.invite_usable(&hash, t0).await.expect("usable"));
    assert!(!store.invite_usable(&token(), t0).await.expect("usable"));
    assert!(
        !store.invite_usable(&hash, week).await.expect("usable"),
        "expired"
    );
    let taken = store
        .create_actor_with_invite(&fid("taken"), "h", None, t0, &hash)
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let names: Vec<FederationId> = (0..10).map(|i| fid(&format!("user{i}"))).collect();
    let results = on_threads(names.len(), |i| {
        store.create_actor_with_invite(&names[i], "h", Some("{}"), t0, &hash)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::NotFound)))
    );
    for (f, r) in names.iter().zip(&results) {
        let exists = store.actor_exists(f).await.expect("exists");
        assert_eq!(
            exists,
            r.as_ref().ok().copied(),
            "a refused registration created {f}"
        );
    }
    assert!(!store.invite_usable(&hash, t0).await.expect("usable"));
    let list = store.list_invites().await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id, list[0].max_uses, list[0].used), (id, 3, 3));
    assert_eq!(
        (list[0].created_at, list[0].expires_at, list[0].revoked_at),
        (t0, week, None)
    );

    let second = token();
    let id2 = store
        .create_invite(&second, 5, t0, week)
        .await
        .expect("invite");
    assert!(store.revoke_invite(id2, t0).await.expect("revoke"));
    assert!(
        !store.revoke_invite(id2, t0).await.expect("revoke"),
        "revoked twice"
    );
    assert!(!store.revoke_invite(987_654, t0).await.expect("revoke"));
    assert!(!store.invite_usable(&second, t0).await.expect("usable"));
    let refused = store
        .create_actor_with_invite(&fid("late"), "h", None, t0, &second)
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(
        store.actor_exists(&fid("late")).await.expect("exists"),
        None
    );
    let list = store.list_invites().await.expect("list");
    assert_eq!(list.iter().map(|i| i.id).collect::<Vec<_>>(), vec![id, id2]);
    assert_eq!(list[1].revoked_at, Some(t0));
}

// ---- foreign sessions ----

async fn foreign(store: &impl Store, t: &[u8]) -> Option<super::ForeignSession> {
    match store.caller_by_token(t, now()).await.expect("resolve") {
        Some(Caller::Foreign(s)) => Some(s),
        Some(Caller::Local(_)) => panic!("a foreign token resolved to a local session"),
        None => None,
    }
}

/// Opening, re-opening (the old token revoked), the per-actor limit,
/// certificate updates, checks and ends.
pub async fn foreign_session_lifecycle(store: &impl Store) {
    let f = foreign_fid("visitor");
    let day = now().saturating_add(DAY);
    let t1 = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-1"), "PEM 1", day, &t1, now(), 2)
            .await
            .expect("open")
    );
    let s1 = foreign(store, &t1).await.expect("token resolves");
    assert_eq!(
        (&s1.fid, s1.session_id.as_str(), s1.cert_pem.as_str()),
        (&f, "session-1", "PEM 1")
    );
    assert_eq!(s1.not_after, day);
    // Re-opening the same session ends the old one.
    let t1b = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-1"), "PEM 1b", day, &t1b, now(), 2)
            .await
            .expect("reopen")
    );
    assert!(
        foreign(store, &t1).await.is_none(),
        "the old token still works"
    );
    let s1b = foreign(store, &t1b).await.expect("new token");
    assert_ne!(s1b.id, s1.id);
    let t2 = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-2"), "PEM 2", day, &t2, now(), 2)
            .await
            .expect("open")
    );
    let t3 = token();
    assert!(
        !store
            .open_foreign_session(&f, &sid("session-3"), "PEM 3", day, &t3, now(), 2)
            .await
            .expect("open"),
        "the limit of 2 was exceeded"
    );
    assert!(
        foreign(store, &t3).await.is_none(),
        "a refused open stored a token"
    );
    // Re-opening an existing session is not a new one: allowed at the limit.
    let t2b = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-2"), "PEM 2b", day, &t2b, now(), 2)
            .await
            .expect("reopen at the limit")
    );
    // Another actor has its own limit.
    assert!(
        store
            .open_foreign_session(
                &foreign_fid("other"),
                &sid("session-3"),
                "P",
                day,
                &token(),
                now(),
                2
            )
            .await
            .expect("open")
    );

    let later = now().saturating_add(100);
    let longer = now().saturating_add(2 * DAY);
    store
        .update_foreign_cert(s1b.id, "PEM 1c", longer, later)
        .await
        .expect("update");
    let s = foreign(store, &t1b).await.expect("still live");
    assert_eq!(
        (s.cert_pem.as_str(), s.not_after, s.checked_at),
        ("PEM 1c", longer, later)
    );
    let checked = later.saturating_add(100);
    store
        .mark_foreign_checked(s1b.id, checked)
        .await
        .expect("mark");
    assert_eq!(
        foreign(store, &t1b).await.map(|s| s.checked_at),
        Some(checked)
    );
    store.end_foreign_session(s1b.id, now()).await.expect("end");
    assert!(foreign(store, &t1b).await.is_none());
    let ended = store
        .update_foreign_cert(s1b.id, "PEM", longer, now())
        .await;
    assert!(matches!(ended, Err(StoreError::NotFound)), "{ended:?}");
    assert!(matches!(
        store
            .update_foreign_cert(999_999, "PEM", longer, now())
            .await,
        Err(StoreError::NotFound)
    ));
    // An ended session frees its slot.
    assert!(
        store
            .open_foreign_session(&f, &sid("session-3"), "PEM 3", day, &token(), now(), 2)
            .await
            .expect("open")
    );
}

/// Concurrent opens of distinct sessions never exceed the per-actor limit.
pub async fn foreign_session_limit_exact_under_concurrency(store: &impl Store) {
    const MAX: u64 = 3;
    let f = foreign_fid("visitor");
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..12)
        .map(|i| (sid(&format!("session-{i}")), token()))
        .collect();
    let results = on_threads(attempts.len(), |i| {
        let (s, t) = &attempts[i];
        store.open_foreign_session(&f, s, "PEM", day, t, now(), MAX)
    });
    let opened: Vec<bool> = results.into_iter().map(|r| r.expect("open")).collect();
    assert_eq!(opened.iter().filter(|o| **o).count(), 3, "{opened:?}");
    let live = join_all(attempts.iter().map(|(_, t)| foreign(store, t))).await;
    assert_eq!(live.iter().filter(|s| s.is_some()).count(), 3);
}

/// The upkeep jobs: due sessions paged least recently checked first,
/// unconfirmed and expired sessions ended (tokens revoked), ended ones deleted.
pub async fn foreign_session_upkeep(store: &impl Store) {
    let t0 = now();
    let day = t0.saturating_add(DAY);
    let mut sessions = Vec::new();
    for i in 0..5u64 {
        let t = token();
        let opened_at = UnixTimestamp(t0.0 - 1000 + i * 10);
        let not_after = if i == 4 { t0.saturating_add(50) } else { day };
        assert!(
            store
                .open_foreign_session(
                    &foreign_fid(&format!("v{i}")),
                    &sid("session-1"),
                    "PEM",
                    not_after,
                    &t,
                    opened_at,
                    10,
                )
                .await
                .expect("open")
        );
        sessions.push((foreign(store, &t).await.expect("resolves"), t));
    }
    let all: Vec<i64> = sessions.iter().map(|(s, _)| s.id).collect();
    // Session 0 confirmed again recently: it is due last.
    store
        .mark_foreign_checked(all[0], UnixTimestamp(t0.0 - 500))
        .await
        .expect("mark");
    let page1 = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 400), None, 2)
        .await
        .expect("due");
    let p1: Vec<i64> = page1.iter().map(|s| s.id).collect();
    assert_eq!(p1, vec![all[1], all[2]]);
    let last = page1.last().map(|s| (s.checked_at, s.id));
    let page2 = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 400), last, 10)
        .await
        .expect("due");
    let p2: Vec<i64> = page2.iter().map(|s| s.id).collect();
    assert_eq!(p2, vec![all[3], all[4], all[0]]);
    let none_due = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 2000), None, 10)
        .await
        .expect("due");
    assert!(none_due.is_empty());

    // Last confirmed before t0-975: sessions 1 (t0-990) and 2 (t0-980).
    let mut unconfirmed = store
        .end_unconfirmed_foreign_sessions(UnixTimestamp(t0.0 - 975), t0)
        .await
        .expect("end unconfirmed");
    unconfirmed.sort_unstable();
    assert_eq!(unconfirmed, vec![all[1], all[2]]);
    assert!(foreign(store, &sessions[1].1).await.is_none());
    assert!(foreign(store, &sessions[3].1).await.is_some());
    let due = store.foreign_sessions_due(t0, None, 10).await.expect("due");
    assert!(
        due.iter().all(|s| s.id != all[1] && s.id != all[2]),
        "ended sessions are not due"
    );

    let expired = store
        .end_expired_foreign_sessions(t0.saturating_add(51))
        .await
        .expect("end expired");
    assert_eq!(expired, 1);
    assert!(
        store
            .caller_by_token(&sessions[4].1, t0)
            .await
            .expect("resolve")
            .is_none(),
        "an expired session's token was not revoked"
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(2)
            .await
            .expect("delete"),
        2
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(10)
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(10)
            .await
            .expect("delete"),
        0
    );
    assert!(
        foreign(store, &sessions[0].1).await.is_some(),
        "a live session was deleted"
    );
}
