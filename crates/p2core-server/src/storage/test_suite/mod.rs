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
//! p2core_server::store_test_suite!();
//! ```
//!
//! The macro emits a module `store_test_suite` with one `#[tokio::test]` per
//! case (the calling crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features). No case skips itself: a backend that cannot
//! run one fails it. The SQLite store runs the suite in
//! `crates/p2core-server/tests/store_suite.rs`.
//!
//! The cases are grouped by area, one file each: actors and root
//! certificates, local sessions, the event queue, KeyPackages, invites and
//! foreign sessions, and the certificate-change notices. Times are taken from the system clock (the queue reads
//! check certificate liveness at the current time), with explicit past or
//! future `now` arguments where a method takes one. A new `Store` method
//! gets its case here and its name in the macro's list.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::join_all;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use super::{Caller, LocalSession, NewIdCert, NewKeyPackage, PendingEvent, Store};

mod actors;
mod events;
mod foreign;
mod invites;
mod key_packages;
mod notices;
mod sessions;

pub use actors::*;
pub use events::*;
pub use foreign::*;
pub use invites::*;
pub use key_packages::*;
pub use notices::*;
pub use sessions::*;

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
            certificate_changes_reach_watch_hooks_before_the_write_returns,
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
