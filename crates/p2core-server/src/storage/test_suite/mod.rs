//! The store conformance suite: the contract of every [`Store`] method, as
//! cases that any backend runs with one macro call.
//!
//! Each case is a plain `pub async fn case(store: &impl Store)` that starts
//! from an empty, freshly migrated store and panics (an ordinary assertion)
//! when the backend breaks the contract. The cases cover what the handlers,
//! the gateway and the background jobs rely on, including the concurrency and
//! ordering rules: event ids in commit order (as a cursor reader and a bus
//! subscriber see them), session notices before later events, single-use
//! challenges, rotations, session ends and invite uses, KeyPackages never
//! handed out twice, and the sessions-per-actor and challenge bounds exact
//! under concurrent requests. Concurrent
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
//! The cases are grouped by area, one file each. Times are taken from the
//! system clock (the queue reads check certificate liveness at the current
//! time), with explicit past or future `now` arguments where a method takes
//! one. A new `Store` method gets its case here, its line below and its name
//! in the macro's list.
//!
//! # The cases, by contract
//!
//! Actors and root certificates (`actors.rs`):
//! - `actors_unique_and_found`: `create_actor` (`Conflict` on a taken name,
//!   also for `create_operator_actor`; exactly one of concurrent
//!   registrations of a name wins), `actor_by_local_name`, `actor_exists`.
//! - `operator_actors_and_password_reset`: `create_operator_actor`,
//!   `is_operator_made`, `reset_actor_password` (every session ended, tokens
//!   revoked, queues deleted, `Revoked` notices, `None` for an unknown actor).
//! - `root_certificate_history`: `insert_server_cert`, `current_server_cert`,
//!   `server_cert_at` (the previous root closed at the new one's start).
//! - `concurrent_root_rotations_leave_one_current_root`: racing
//!   `insert_server_cert` calls leave exactly one current root.
//! - `certificates_of_a_rotated_out_root_are_refused`: `create_session` and
//!   `rotate_session` refuse (`Conflict` with `ROOT_NOT_CURRENT`, nothing
//!   stored) a certificate whose root is no longer current.
//! - `root_rotation_event_reaches_every_live_local_session`: the event of
//!   `insert_server_cert` reaches every live local session of every actor,
//!   no expired or ended one; no event, nothing queued.
//!
//! Local sessions (`sessions.rs`):
//! - `session_create_resolve_and_conflict`: `create_session` (token resolves
//!   through `caller_by_token` until the certificate's end, the event reaches
//!   the actor's other sessions only, `Current` notice, `Conflict` on a live
//!   session ID), `live_session_count`.
//! - `session_id_conflict_exact_under_concurrency`: concurrent creations of
//!   one session ID: one wins, the others `Conflict` and store nothing.
//! - `session_limit_exact_under_concurrency`: `create_session`'s
//!   `max_sessions` exact under concurrent creations (`LimitReached`, nothing
//!   stored), ended sessions free their slot, per actor.
//! - `expired_session_id_is_reused_cleanly`: an expired session's ID is free,
//!   and the new session never sees the old queue.
//! - `rotation_replaces_certificate_and_token`: `rotate_session` (old token and
//!   certificate dead, KeyPackages deleted, queue kept, event to the others,
//!   `Revoked` notice, a stale rotation `NotFound`).
//! - `rotation_and_end_are_single_use_under_concurrency`: one of concurrent
//!   rotations of a certificate wins; one of concurrent ends reports `true`.
//! - `end_session_removes_everything`: `end_session` (token, certificate,
//!   KeyPackages and queue gone, `make_event(serial)` queued for the others,
//!   `false` for an unknown session).
//! - `actor_certs_filters`: `actor_certs` (time and session filters,
//!   invalidated flag, oldest first).
//!
//! The event queue and the bus (`events.rs`):
//! - `event_ids_in_commit_order_under_concurrent_writers`: batches published
//!   in id order; the queue holds exactly what was published, in order.
//! - `cursor_reader_never_misses_events_of_concurrent_writers`: ids follow
//!   commit order as a reader sees it: `pending_events` after a cursor, read
//!   while writers race, never skips an event; a published batch can be read
//!   by then; `subscribe_events` delivers in id order.
//! - `session_notices_precede_later_events`: a `SessionNotice`
//!   (`subscribe_sessions`) arrives before any event batch committed with or
//!   after it, for creations, rotations and ends racing each other.
//! - `event_queue_reads_acks_and_takes`: `pending_events` after a cursor,
//!   `ack_events` (only the session's own ids), `ack_events_through`,
//!   `take_events`; ids never reused.
//! - `acked_events_never_read_again`: under concurrent writers, acknowledged
//!   ids (by ids or through a cursor) are never read again, each
//!   acknowledgement removes exactly what it names that was queued, other
//!   sessions keep their queues.
//! - `revoked_certificate_cannot_read_or_ack`: `pending_events` and
//!   `ack_events` refuse (`NotFound`) a certificate that is not the session's
//!   live one; an empty acknowledgement is not checked.
//! - `dead_cert_serials_reports_only_dead`: `dead_cert_serials`.
//! - `prune_events_keeps_live_sessions`: `prune_events`.
//!
//! KeyPackages (`key_packages.rs`):
//! - `key_package_uploads_all_or_nothing`: `add_key_packages` (`LimitReached`,
//!   `Conflict`, `NotFound` for a stale certificate; nothing stored then).
//! - `key_package_upload_racing_rotation_never_survives`: an upload racing a
//!   rotation is refused or deleted with the old certificate.
//! - `key_package_claims_regular_then_last_resort`: `claim_key_packages` (one
//!   per live session, regular first, last resort kept, expired never, one
//!   low-KeyPackages notice per session).
//! - `key_package_claims_never_duplicate_under_concurrency`: concurrent
//!   claims never hand out one KeyPackage twice.
//!
//! Invites (`invites.rs`):
//! - `invites_used_up_atomically`: `invite_usable`, `create_invite` (at least
//!   one use), `list_invites`, `revoke_invite` (one of concurrent revocations
//!   reports it), `create_actor_with_invite` (uses never exceeded under
//!   concurrency, `Conflict` uses nothing, `NotFound` creates nothing).
//!
//! Foreign sessions (`foreign.rs`):
//! - `foreign_session_lifecycle`: `open_foreign_session` (re-open ends the old
//!   one, the per-actor limit counts other sessions only), `caller_by_token`,
//!   `update_foreign_cert`, `mark_foreign_checked`, `end_foreign_session`.
//! - `foreign_session_limit_exact_under_concurrency`: the per-actor limit
//!   under concurrent opens.
//! - `foreign_reopen_leaves_one_live_session_under_concurrency`: concurrent
//!   re-opens of one session leave exactly one live.
//! - `foreign_session_upkeep`: `foreign_sessions_due` (order and keyset
//!   paging), `end_unconfirmed_foreign_sessions`,
//!   `end_expired_foreign_sessions`, `delete_ended_foreign_sessions`.
//!
//! Challenges (`challenges.rs`):
//! - `challenges_single_use_and_expiry`: `issue_challenge`,
//!   `issued_challenge` (read back as issued, also once expired, until
//!   taken), `take_challenge` (once; never an unknown or expired one).
//! - `challenges_single_use_under_concurrency`: of 50 concurrent takes of a
//!   challenge exactly one succeeds (across server instances, for a shared
//!   backend).
//! - `challenge_bounds_exact_under_concurrency`: the bounds in all and per
//!   network exact under concurrent issues, the refusal names the bound and
//!   stores nothing, used and expired challenges free their slots.
//! - `prune_challenges_removes_only_expired`: `prune_challenges`.
//!
//! SQLite-only behaviours (reopening the file, queue trimming, challenges
//! forgotten by a restart) are tested in `crates/p2core-server/tests/`, next
//! to the suite's SQLite run.
//!
//! Certificate-change notices (`notices.rs`):
//! - `certificate_changes_reach_watch_hooks_before_the_write_returns`: the
//!   `ActorCertsChanged` / `ServerCertChanged` notices reach synchronous
//!   watch hooks before the write call returns (the response cache relies on it).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::join_all;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use super::{Caller, LocalSession, NewIdCert, NewKeyPackage, PendingEvent, Store};

mod actors;
mod challenges;
mod events;
mod foreign;
mod invites;
mod key_packages;
mod notices;
mod sessions;

pub use actors::*;
pub use challenges::*;
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
            root_rotation_event_reaches_every_live_local_session,
            session_create_resolve_and_conflict,
            session_id_conflict_exact_under_concurrency,
            expired_session_id_is_reused_cleanly,
            rotation_replaces_certificate_and_token,
            rotation_and_end_are_single_use_under_concurrency,
            end_session_removes_everything,
            actor_certs_filters,
            session_limit_exact_under_concurrency,
            event_ids_in_commit_order_under_concurrent_writers,
            cursor_reader_never_misses_events_of_concurrent_writers,
            session_notices_precede_later_events,
            event_queue_reads_acks_and_takes,
            acked_events_never_read_again,
            revoked_certificate_cannot_read_or_ack,
            dead_cert_serials_reports_only_dead,
            prune_events_keeps_live_sessions,
            key_package_uploads_all_or_nothing,
            key_package_upload_racing_rotation_never_survives,
            key_package_claims_regular_then_last_resort,
            key_package_claims_never_duplicate_under_concurrency,
            invites_used_up_atomically,
            foreign_session_lifecycle,
            foreign_session_limit_exact_under_concurrency,
            foreign_reopen_leaves_one_live_session_under_concurrency,
            foreign_session_upkeep,
            challenges_single_use_and_expiry,
            challenges_single_use_under_concurrency,
            challenge_bounds_exact_under_concurrency,
            prune_challenges_removes_only_expired,
            certificate_changes_reach_watch_hooks_before_the_write_returns,
            concurrent_root_rotations_leave_one_current_root,
            certificates_of_a_rotated_out_root_are_refused,
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

/// Runs `f(0)`, …, `f(n - 1)` at once on `n` threads and returns their
/// results in order: writers that truly race (joined futures of one task take
/// turns at every await). Each thread drives its future itself, with the
/// test runtime's handle: the sockets and timers a backend opens on the way
/// belong to that runtime, as they would in a server (a runtime per thread
/// would take them down with it when its thread ends). Needs the
/// multi-threaded runtime the macro's tests run on.
fn on_threads<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Sync,
    Fut: std::future::Future<Output = T>,
    T: Send,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let f = &f;
            let runtime = &runtime;
            let threads: Vec<_> = (0..n)
                .map(|i| scope.spawn(move || runtime.block_on(f(i))))
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
