//! PostgreSQL implementation of [`Store`] (feature `postgres`), for several
//! server instances sharing one database.
//!
//! # Concurrency on READ COMMITTED
//!
//! SQLite has one writer, so every write transaction sees the ones before it.
//! PostgreSQL runs transactions side by side at READ COMMITTED, so the races
//! that single writer hides are closed explicitly:
//!
//! - **Per actor, one writer at a time.** Every transaction that writes an
//!   actor's sessions, KeyPackages or event queue first takes the actor's
//!   row lock (`SELECT … FOR NO KEY UPDATE`) and holds it until it commits.
//!   Session limits, duplicate session IDs, KeyPackage claims (a package is
//!   handed out once), uploads racing a rotation and concurrent rotations of
//!   one certificate are then decided one after the other, as on SQLite.
//! - **Event ids follow commit order per actor.** Ids come from an identity
//!   column, taken while the actor's row lock is held: a later transaction
//!   for the actor can only take ids after the earlier one committed. (A
//!   sequence alone would not do: two transactions can take ids 10 and 11 and
//!   commit 11 first, and a reader that saw 11 would skip 10.) A root
//!   rotation, which queues for every actor, takes the *exclusive* mode of a
//!   transaction-level advisory lock whose *shared* mode every per-actor
//!   writer holds ([`EVENTS_LOCK`]).
//! - **Foreign sessions** of one Federation ID are serialized by an advisory
//!   lock on the FID (limit per actor, duplicate opens).
//! - **Root rotations** serialize on [`EVENTS_LOCK`]; at most one root is
//!   current (a unique index). A new ID-Cert is stored only while the root
//!   that signed it is the current one (`FOR SHARE` on its row): a
//!   certificate signed with a root another instance just rotated out is
//!   refused with [`StoreError::Conflict`] and the caller signs again.
//! - **Retries.** A transaction that fails with a serialization failure
//!   (`40001`) or a deadlock (`40P01`) is run again, up to
//!   [`MAX_ATTEMPTS`] times.
//!
//! # Sharing events and notices between instances
//!
//! Every transaction that queues events or changes sessions sends one
//! `NOTIFY p2core_bus` per batch before it commits; PostgreSQL delivers
//! notifications only for committed transactions, in commit order, to every
//! listening connection. Each store keeps one listening connection and
//! publishes what it hears on its in-process [`LocalEventBus`], in that
//! order: the gateway of every instance sees the same batches in the same
//! order, whichever instance wrote them. The payload carries the notices and
//! the ids of the events (the listener reads the rows of other instances'
//! batches; its own it has in memory). A write method returns after its own
//! notification came back through the listener and was published, so the
//! hooks of [`Store::watch_sessions`] have run (on this instance) before the
//! write is acknowledged, as the trait requires. When the listening
//! connection drops, notifications may be lost: the store announces
//! [`SessionNotice::Resync`] after reconnecting, and subscribers re-read the
//! store.
//!
//! Challenges live in a table (issued at one instance, answered at another,
//! taken once in all).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use tokio::sync::oneshot;

use super::sql::{db_ts, is_unique_violation, parse_fid, parse_op, parse_session, ts};
use super::*;

mod challenges;
mod invites;

/// The embedded migrations (`crates/p2core-server/migrations_pg`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations_pg");

/// The notification channel every store of one database listens on.
pub const CHANNEL: &str = "p2core_bus";

/// Key of the advisory lock that orders event-queueing transactions: shared by
/// per-actor writers, exclusive for root rotations (which queue for everyone).
pub const EVENTS_LOCK: i64 = 0x7032_636f_7265_0001;

/// Namespace (first key of the two-key advisory lock) of the per-FID locks of
/// foreign sessions.
const FOREIGN_LOCK_NS: i32 = 0x7032_0002;

/// Namespace of the lock that serializes challenge issuance (exact bounds).
const CHALLENGE_LOCK: i64 = 0x7032_636f_7265_0003;

/// Attempts of one transaction that fails with a serialization failure or deadlock.
pub const MAX_ATTEMPTS: u32 = 5;

/// How long a write waits for its own notification to come back through the
/// listener (published on this instance) before it returns anyway.
const ECHO_TIMEOUT: Duration = Duration::from_secs(5);

/// Most event ids in one notification (a payload must stay below 8000 bytes).
const IDS_PER_NOTIFY: usize = 300;

/// Default of [`PgSettings::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Settings of the PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgSettings {
    /// `postgres://user[:password]@host[:port]/database[?options]`.
    pub url: String,
    /// Most connections of this instance's pool (the listener holds one more).
    pub max_connections: u32,
    /// Most events kept per session; when a new one would exceed it, the
    /// session's oldest are dropped (default 1000).
    pub max_pending_events: u32,
}

impl PgSettings {
    /// The database at `url`, other settings at their defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_events: super::sqlite::DEFAULT_MAX_PENDING_EVENTS,
        }
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 2).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(2);
        self
    }

    /// Sets [`max_pending_events`](Self::max_pending_events) (at least 1).
    #[must_use]
    pub fn max_pending_events(mut self, max: u32) -> Self {
        self.max_pending_events = max.max(1);
        self
    }
}

/// PostgreSQL-backed store. Clones share the pool, the listener and the bus.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    bus: Arc<PgBus>,
    max_pending_events: i64,
    /// Ends the listener task when the last clone is dropped.
    _listener: Arc<ListenerTask>,
}

#[derive(Debug)]
struct ListenerTask(tokio::task::JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------------------
// The bus: NOTIFY on commit, one listener per store, local fan-out.

/// What one transaction announces, as it travels in a notification.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// Instance that wrote it.
    i: u64,
    /// Its number at that instance (matches the waiting writer).
    t: u64,
    /// Session notices (only in the first notification of a transaction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    n: Vec<WireNotice>,
    /// Event ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    e: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
enum WireNotice {
    Revoked { s: Vec<i64> },
    Current { a: i64, s: String, c: i64 },
    ActorCerts { a: i64 },
    ServerCert,
}

impl WireNotice {
    fn from_notice(n: &SessionNotice) -> Option<Self> {
        Some(match n {
            SessionNotice::Revoked(s) => WireNotice::Revoked { s: s.to_vec() },
            SessionNotice::Current {
                actor_id,
                session_id,
                serial,
            } => WireNotice::Current {
                a: *actor_id,
                s: session_id.as_str().to_owned(),
                c: *serial,
            },
            SessionNotice::ActorCertsChanged { actor_id } => {
                WireNotice::ActorCerts { a: *actor_id }
            }
            SessionNotice::ServerCertChanged => WireNotice::ServerCert,
            _ => return None,
        })
    }

    fn into_notice(self) -> StoreResult<SessionNotice> {
        Ok(match self {
            WireNotice::Revoked { s } => SessionNotice::Revoked(Arc::from(s)),
            WireNotice::Current { a, s, c } => SessionNotice::Current {
                actor_id: a,
                session_id: parse_session(&s)?,
                serial: c,
            },
            WireNotice::ActorCerts { a } => SessionNotice::ActorCertsChanged { actor_id: a },
            WireNotice::ServerCert => SessionNotice::ServerCertChanged,
        })
    }
}

/// A transaction of this instance whose notification has not come back yet.
#[derive(Debug)]
struct Outgoing {
    notices: Vec<SessionNotice>,
    events: Vec<StoredEvent>,
    done: oneshot::Sender<()>,
}

/// The in-process side of the bus.
#[derive(Debug)]
struct PgBus {
    local: LocalEventBus,
    /// Random id of this store (its notifications come back to it too).
    instance: u64,
    next: AtomicU64,
    outgoing: Mutex<HashMap<u64, Outgoing>>,
}

impl PgBus {
    fn outgoing(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Outgoing>> {
        self.outgoing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes what one notification announces, in order: notices, then events.
    fn publish(&self, notices: Vec<SessionNotice>, events: Vec<StoredEvent>) {
        for n in notices {
            self.local.announce(n);
        }
        self.local.publish(events.into());
    }
}

/// A transaction's announcement, registered before its commit.
struct Announcement<'a> {
    bus: &'a PgBus,
    token: u64,
    rx: Option<oneshot::Receiver<()>>,
    /// The notification payloads to send inside the transaction.
    payloads: Vec<String>,
}

impl<'a> Announcement<'a> {
    fn new(
        bus: &'a PgBus,
        notices: Vec<SessionNotice>,
        events: Vec<StoredEvent>,
    ) -> StoreResult<Option<Self>> {
        if notices.is_empty() && events.is_empty() {
            return Ok(None);
        }
        let token = bus.next.fetch_add(1, Ordering::Relaxed);
        let wire_notices: Vec<WireNotice> =
            notices.iter().filter_map(WireNotice::from_notice).collect();
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        let mut payloads = Vec::new();
        let mut chunks = ids.chunks(IDS_PER_NOTIFY);
        let first = Wire {
            i: bus.instance,
            t: token,
            n: wire_notices,
            e: chunks.next().map(<[i64]>::to_vec).unwrap_or_default(),
        };
        payloads.push(first);
        for c in chunks {
            payloads.push(Wire {
                i: bus.instance,
                t: token,
                n: Vec::new(),
                e: c.to_vec(),
            });
        }
        let payloads = payloads
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(format!("encoding a notification: {e}")))?;
        let (done, rx) = oneshot::channel();
        bus.outgoing().insert(
            token,
            Outgoing {
                notices,
                events,
                done,
            },
        );
        Ok(Some(Self {
            bus,
            token,
            rx: Some(rx),
            payloads,
        }))
    }

    /// Sends the notifications (delivered when the transaction commits).
    async fn notify(&self, tx: &mut Transaction<'_, Postgres>) -> StoreResult<()> {
        for p in &self.payloads {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(p)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// After the commit: waits until the listener published this
    /// transaction (or publishes it here if its notification does not come back).
    async fn published(mut self) {
        let Some(rx) = self.rx.take() else { return };
        if tokio::time::timeout(ECHO_TIMEOUT, rx).await.is_ok() {
            return;
        }
        // Lost (listener reconnecting) or very late: publish it here, and
        // have everyone re-read the store in case it arrives out of order.
        if let Some(o) = self.bus.outgoing().remove(&self.token) {
            self.bus.publish(o.notices, o.events);
            self.bus.local.announce(SessionNotice::Resync);
        }
    }
}

impl Drop for Announcement<'_> {
    fn drop(&mut self) {
        // Rolled back (or the wait was cancelled): nothing will come back.
        if self.rx.is_some() {
            self.bus.outgoing().remove(&self.token);
        }
    }
}

/// The listener: publishes every notification of the channel, in order.
async fn listen(pool: PgPool, mut listener: PgListener, bus: Arc<PgBus>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                if let Err(e) = on_notification(&pool, &bus, n.payload()).await {
                    tracing::warn!(error = %e, "unreadable store notification; subscribers re-read the store");
                    bus.local.announce(SessionNotice::Resync);
                }
            }
            Ok(None) => {
                // The connection was lost and will be re-established by the
                // next call: what was sent meanwhile is gone.
                tracing::warn!(
                    "store notification channel reconnecting; subscribers re-read the store"
                );
                release_outgoing(&bus);
                bus.local.announce(SessionNotice::Resync);
            }
            Err(e) => {
                tracing::warn!(error = %e, "store notification channel failed; retrying");
                release_outgoing(&bus);
                bus.local.announce(SessionNotice::Resync);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Publishes every transaction of this instance still waiting for its echo
/// (after the channel was lost; `Resync` follows).
fn release_outgoing(bus: &PgBus) {
    let pending: Vec<Outgoing> = bus.outgoing().drain().map(|(_, o)| o).collect();
    for o in pending {
        bus.publish(o.notices, o.events);
        let _ = o.done.send(());
    }
}

async fn on_notification(pool: &PgPool, bus: &PgBus, payload: &str) -> StoreResult<()> {
    let wire: Wire = serde_json::from_str(payload)
        .map_err(|e| StoreError::Corrupt(format!("notification {payload:?}: {e}")))?;
    if wire.i == bus.instance {
        // Our own: the writer left its notices and events in memory; later
        // chunks of the same transaction find the entry gone.
        let own = bus.outgoing().remove(&wire.t);
        if let Some(o) = own {
            bus.publish(o.notices, o.events);
            let _ = o.done.send(());
        }
        return Ok(());
    }
    let notices = wire
        .n
        .into_iter()
        .map(WireNotice::into_notice)
        .collect::<StoreResult<Vec<_>>>()?;
    let events = if wire.e.is_empty() {
        Vec::new()
    } else {
        // Rows acknowledged meanwhile are simply not found (already delivered).
        let rows = sqlx::query(
            "SELECT id, actor_id, session_id, n, op, d FROM events WHERE id = ANY($1) ORDER BY id",
        )
        .bind(&wire.e)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(event_row)
            .collect::<StoreResult<Vec<_>>>()?
    };
    bus.publish(notices, events);
    Ok(())
}

fn event_row(r: &PgRow) -> StoreResult<StoredEvent> {
    let n: String = r.try_get("n")?;
    let d: String = r.try_get("d")?;
    Ok(StoredEvent {
        id: r.try_get("id")?,
        actor_id: r.try_get("actor_id")?,
        session_id: parse_session(r.try_get("session_id")?)?,
        n: Arc::from(n),
        op: parse_op(i64::from(r.try_get::<i32, _>("op")?))?,
        d: Arc::from(d),
    })
}

// ---------------------------------------------------------------------------
// Helpers.

/// `true` for errors after which the whole transaction may simply run again.
fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Backend(b) = e else {
        return false;
    };
    match b.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(d)) => matches!(d.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// Runs `attempt` until it succeeds, fails for another reason, or
/// [`MAX_ATTEMPTS`] serialization failures / deadlocks happened.
async fn retrying<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if is_retryable(&e) && tries < MAX_ATTEMPTS => {
                tries += 1;
                // A little jitter so two deadlocked transactions do not meet again.
                let ms = u64::from(p2core_types::random::bytes::<1>()[0] % 20) + 1;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            other => return other,
        }
    }
}

fn returned_events(rows: &[PgRow], ev: &PendingEvent) -> StoreResult<Vec<StoredEvent>> {
    let n: Arc<str> = Arc::from(ev.n);
    let d: Arc<str> = Arc::from(ev.d.as_str());
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                id: r.try_get("id")?,
                actor_id: r.try_get("actor_id")?,
                session_id: parse_session(r.try_get("session_id")?)?,
                n: n.clone(),
                op: ev.op,
                d: d.clone(),
            })
        })
        .collect()
}

fn server_cert_row(row: &PgRow) -> StoreResult<ServerCertRecord> {
    Ok(ServerCertRecord {
        serial: row.try_get("serial")?,
        cert_pem: row.try_get("cert_pem")?,
        key_file: row.try_get("key_file")?,
        current_from: ts(row.try_get("current_from")?),
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

type Tx<'c> = Transaction<'c, Postgres>;

impl PgStore {
    /// Connects with `settings`, runs the migrations and starts listening
    /// for the notifications of other instances.
    pub async fn open_with(settings: &PgSettings) -> StoreResult<Self> {
        let options: PgConnectOptions = settings.url.parse()?;
        let size = settings.max_connections.max(2);
        // Every connection is opened now, on the runtime that opens the store,
        // and kept: a connection opened lazily inside another runtime (a
        // caller's short-lived one) would die with it.
        let pool = PgPoolOptions::new()
            .max_connections(size)
            .min_connections(size)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        // Two instances starting at once: sqlx's migrator takes an advisory lock.
        MIGRATOR.run(&pool).await?;
        let bus = Arc::new(PgBus {
            local: LocalEventBus::default(),
            instance: u64::from_le_bytes(p2core_types::random::bytes::<8>()),
            next: AtomicU64::new(1),
            outgoing: Mutex::new(HashMap::new()),
        });
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let task = tokio::spawn(listen(pool.clone(), listener, bus.clone()));
        Ok(Self {
            pool,
            bus,
            max_pending_events: i64::from(settings.max_pending_events.max(1)),
            _listener: Arc::new(ListenerTask(task)),
        })
    }

    /// Connects to `url` with the default settings (see [`open_with`](Self::open_with)).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(&PgSettings::new(url)).await
    }

    /// The connection pool (for inspection, tests and the admin commands).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Commits `tx`, having sent the notifications of `notices` and `events`
    /// inside it, and returns once they are published on this instance.
    async fn commit_announce(
        &self,
        mut tx: Tx<'_>,
        notices: Vec<SessionNotice>,
        events: Vec<StoredEvent>,
    ) -> StoreResult<()> {
        if !events.is_empty() {
            self.trim_queues(&mut tx, &events).await?;
        }
        let ann = Announcement::new(&self.bus, notices, events)?;
        if let Some(a) = &ann {
            a.notify(&mut tx).await?;
        }
        tx.commit().await?;
        if let Some(a) = ann {
            a.published().await;
        }
        Ok(())
    }

    /// Takes the actor's row lock (and the shared events lock) for the rest of
    /// the transaction; `NotFound` if there is no such actor.
    async fn lock_actor(tx: &mut Tx<'_>, actor_id: i64) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(EVENTS_LOCK)
            .execute(&mut **tx)
            .await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM actors WHERE id = $1 FOR NO KEY UPDATE")
                .bind(actor_id)
                .fetch_optional(&mut **tx)
                .await?;
        found.map(|_| ()).ok_or(StoreError::NotFound)
    }

    /// Serializes the transactions about the foreign actor `fid`.
    async fn lock_foreign(tx: &mut Tx<'_>, fid: &FederationId) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(FOREIGN_LOCK_NS)
            .bind(fid.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Drops the oldest events of the sessions in `events` that are above the limit.
    async fn trim_queues(&self, tx: &mut Tx<'_>, events: &[StoredEvent]) -> StoreResult<()> {
        let mut actors: Vec<i64> = events.iter().map(|e| e.actor_id).collect();
        actors.sort_unstable();
        actors.dedup();
        let over = sqlx::query(
            "SELECT actor_id, session_id FROM events WHERE actor_id = ANY($1)
             GROUP BY actor_id, session_id HAVING COUNT(*) > $2",
        )
        .bind(&actors)
        .bind(self.max_pending_events)
        .fetch_all(&mut **tx)
        .await?;
        for row in over {
            let actor: i64 = row.try_get("actor_id")?;
            let session: String = row.try_get("session_id")?;
            sqlx::query(
                "DELETE FROM events WHERE actor_id = $1 AND session_id = $2 AND id <= (
                    SELECT id FROM events WHERE actor_id = $1 AND session_id = $2
                    ORDER BY id DESC LIMIT 1 OFFSET $3)",
            )
            .bind(actor)
            .bind(&session)
            .bind(self.max_pending_events)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// `true` if certificate `serial` is the live one of the session at `now`.
    async fn cert_is_live(
        tx: &mut Tx<'_>,
        actor_id: i64,
        session_id: &SessionId,
        serial: i64,
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let live: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM id_certs WHERE serial = $1 AND actor_id = $2 AND session_id = $3
             AND invalidated_at IS NULL AND not_after >= $4",
        )
        .bind(serial)
        .bind(actor_id)
        .bind(session_id.as_str())
        .bind(db_ts(now))
        .fetch_optional(&mut **tx)
        .await?;
        Ok(live.is_some())
    }

    async fn queue_for_other_sessions(
        tx: &mut Tx<'_>,
        actor_id: i64,
        except: &str,
        event: &PendingEvent,
        now: UnixTimestamp,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
             SELECT actor_id, session_id, $1, $2, $3, $4 FROM id_certs
             WHERE actor_id = $5 AND session_id <> $6 AND invalidated_at IS NULL AND not_after >= $4
             ORDER BY id
             RETURNING id, actor_id, session_id",
        )
        .bind(event.n)
        .bind(i32::from(event.op))
        .bind(&event.d)
        .bind(db_ts(now))
        .bind(actor_id)
        .bind(except)
        .fetch_all(&mut **tx)
        .await?;
        let mut out = returned_events(&rows, event)?;
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    async fn revoke_cert_token(
        tx: &mut Tx<'_>,
        serial: i64,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE cert_serial = $2 AND revoked_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(serial)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn revoke_foreign_token(tx: &mut Tx<'_>, id: i64, now: UnixTimestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE foreign_session_id = $2 AND revoked_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Closes expired (not invalidated) certificates of the session ID so it
    /// can be reused, and purges the old session's KeyPackages.
    async fn retire_expired(
        tx: &mut Tx<'_>,
        actor_id: i64,
        session_id: &str,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE id_certs SET closed_at = not_after
             WHERE actor_id = $1 AND session_id = $2 AND closed_at IS NULL AND not_after < $3",
        )
        .bind(actor_id)
        .bind(session_id)
        .bind(db_ts(now))
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM key_packages WHERE actor_id = $1 AND session_id = $2")
            .bind(actor_id)
            .bind(session_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Refuses (`Conflict`) a certificate whose root is no longer the current
    /// one, and keeps that root current until this transaction commits.
    async fn require_current_root(tx: &mut Tx<'_>, root_serial: i64) -> StoreResult<()> {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT serial FROM server_certs WHERE serial = $1 AND current_until IS NULL FOR SHARE",
        )
        .bind(root_serial)
        .fetch_optional(&mut **tx)
        .await?;
        match current {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(ROOT_NOT_CURRENT)),
        }
    }

    async fn insert_cert_and_token(
        tx: &mut Tx<'_>,
        actor_id: i64,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        Self::require_current_root(tx, cert.root_serial).await?;
        // A savepoint: a unique violation must not abort the transaction's
        // error path (the caller returns Conflict and rolls back anyway).
        sqlx::query(
            "INSERT INTO id_certs (serial, actor_id, session_id, cert_pem, not_before, not_after, root_serial, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(cert.serial)
        .bind(actor_id)
        .bind(cert.session_id.as_str())
        .bind(&cert.cert_pem)
        .bind(db_ts(cert.not_before))
        .bind(db_ts(cert.not_after))
        .bind(cert.root_serial)
        .bind(db_ts(now))
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("session ID in use")
            } else {
                e.into()
            }
        })?;
        sqlx::query("INSERT INTO tokens (token_hash, cert_serial, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(cert.serial)
            .bind(db_ts(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Inserts an actor; `Conflict` if the Federation ID is taken.
    async fn insert_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
        operator_made: bool,
    ) -> StoreResult<i64> {
        let res = sqlx::query_scalar(
            "INSERT INTO actors (local_name, fid, password_hash, auth_payload, created_at, operator_made)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(fid.local_name())
        .bind(fid.as_str())
        .bind(password_hash)
        .bind(auth_payload)
        .bind(db_ts(now))
        .bind(operator_made)
        .fetch_one(&self.pool)
        .await;
        match res {
            Ok(id) => Ok(id),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("federation ID taken")),
            Err(e) => Err(e.into()),
        }
    }

    async fn end_foreign_rows(
        tx: &mut Tx<'_>,
        ended: &[i64],
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE foreign_session_id = ANY($2) AND revoked_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(ended)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

impl Store for PgStore {
    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
    ) -> StoreResult<i64> {
        self.insert_actor(fid, password_hash, auth_payload, now, false)
            .await
    }

    async fn actor_by_local_name(&self, local_name: &str) -> StoreResult<Option<ActorRecord>> {
        let row = sqlx::query("SELECT id, fid, password_hash FROM actors WHERE local_name = $1")
            .bind(local_name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ActorRecord {
                id: r.try_get("id")?,
                fid: parse_fid(r.try_get("fid")?)?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn actor_exists(&self, fid: &FederationId) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM actors WHERE fid = $1")
            .bind(fid.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn current_server_cert(&self) -> StoreResult<Option<ServerCertRecord>> {
        let row = sqlx::query(
            "SELECT serial, cert_pem, key_file, current_from FROM server_certs
             WHERE current_until IS NULL",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(server_cert_row).transpose()
    }

    async fn server_cert_at(&self, at: UnixTimestamp) -> StoreResult<Option<ServerCertRecord>> {
        let row = sqlx::query(
            "SELECT serial, cert_pem, key_file, current_from FROM server_certs
             WHERE current_from <= $1 AND (current_until IS NULL OR current_until > $1)
             ORDER BY current_from DESC, serial DESC LIMIT 1",
        )
        .bind(db_ts(at))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(server_cert_row).transpose()
    }

    async fn insert_server_cert(
        &self,
        serial: i64,
        cert_pem: &str,
        key_file: &str,
        now: UnixTimestamp,
        event: Option<PendingEvent>,
    ) -> StoreResult<()> {
        let event = &event;
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            // Exclusive: no per-actor writer is between its ids and its commit.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(EVENTS_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE server_certs SET current_until = $1 WHERE current_until IS NULL")
                .bind(db_ts(now))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO server_certs (serial, cert_pem, key_file, current_from) VALUES ($1, $2, $3, $4)",
            )
            .bind(serial)
            .bind(cert_pem)
            .bind(key_file)
            .bind(db_ts(now))
            .execute(&mut *tx)
            .await?;
            let mut published = Vec::new();
            if let Some(ev) = event {
                let rows = sqlx::query(
                    "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
                     SELECT actor_id, session_id, $1, $2, $3, $4 FROM id_certs
                     WHERE invalidated_at IS NULL AND not_after >= $4
                     ORDER BY id
                     RETURNING id, actor_id, session_id",
                )
                .bind(ev.n)
                .bind(i32::from(ev.op))
                .bind(&ev.d)
                .bind(db_ts(now))
                .fetch_all(&mut *tx)
                .await?;
                published = returned_events(&rows, ev)?;
                published.sort_by_key(|e| e.id);
            }
            self.commit_announce(tx, vec![SessionNotice::ServerCertChanged], published)
                .await
        })
        .await
    }

    async fn create_session(
        &self,
        actor_id: i64,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
        event: &PendingEvent,
        max_sessions: u64,
    ) -> StoreResult<()> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            Self::lock_actor(&mut tx, actor_id).await?;
            let live: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM id_certs WHERE actor_id = $1 AND invalidated_at IS NULL AND not_after >= $2",
            )
            .bind(actor_id)
            .bind(db_ts(now))
            .fetch_one(&mut *tx)
            .await?;
            if count(live) >= max_sessions {
                return Err(StoreError::LimitReached(format!(
                    "this actor has {max_sessions} live sessions here, the most this server allows"
                )));
            }
            Self::retire_expired(&mut tx, actor_id, cert.session_id.as_str(), now).await?;
            Self::insert_cert_and_token(&mut tx, actor_id, cert, token_hash, now).await?;
            // Whatever is still queued under this session ID belongs to an
            // earlier session that used the same ID: never hand it over.
            sqlx::query("DELETE FROM events WHERE actor_id = $1 AND session_id = $2")
                .bind(actor_id)
                .bind(cert.session_id.as_str())
                .execute(&mut *tx)
                .await?;
            let published = Self::queue_for_other_sessions(
                &mut tx,
                actor_id,
                cert.session_id.as_str(),
                event,
                now,
            )
            .await?;
            let notices = vec![
                SessionNotice::Current {
                    actor_id,
                    session_id: cert.session_id.clone(),
                    serial: cert.serial,
                },
                SessionNotice::ActorCertsChanged { actor_id },
            ];
            self.commit_announce(tx, notices, published).await
        })
        .await
    }

    async fn rotate_session(
        &self,
        session: &LocalSession,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
        event: &PendingEvent,
    ) -> StoreResult<()> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            Self::lock_actor(&mut tx, session.actor_id).await?;
            let changed = sqlx::query(
                "UPDATE id_certs SET invalidated_at = $1, closed_at = COALESCE(closed_at, $1)
                 WHERE serial = $2 AND invalidated_at IS NULL",
            )
            .bind(db_ts(now))
            .bind(session.cert_serial)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(StoreError::NotFound);
            }
            Self::revoke_cert_token(&mut tx, session.cert_serial, now).await?;
            sqlx::query("DELETE FROM key_packages WHERE actor_id = $1 AND session_id = $2")
                .bind(session.actor_id)
                .bind(session.session_id.as_str())
                .execute(&mut *tx)
                .await?;
            Self::insert_cert_and_token(&mut tx, session.actor_id, cert, token_hash, now).await?;
            let published = Self::queue_for_other_sessions(
                &mut tx,
                session.actor_id,
                session.session_id.as_str(),
                event,
                now,
            )
            .await?;
            let notices = vec![
                SessionNotice::Revoked(Arc::from([session.cert_serial])),
                SessionNotice::Current {
                    actor_id: session.actor_id,
                    session_id: cert.session_id.clone(),
                    serial: cert.serial,
                },
                SessionNotice::ActorCertsChanged {
                    actor_id: session.actor_id,
                },
            ];
            self.commit_announce(tx, notices, published).await
        })
        .await
    }

    async fn end_session(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        now: UnixTimestamp,
        make_event: &(dyn Fn(i64) -> Option<PendingEvent> + Sync),
    ) -> StoreResult<bool> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            match Self::lock_actor(&mut tx, actor_id).await {
                Err(StoreError::NotFound) => return Ok(false),
                other => other?,
            }
            let serial: Option<i64> = sqlx::query_scalar(
                "UPDATE id_certs SET invalidated_at = $1, closed_at = COALESCE(closed_at, $1)
                 WHERE actor_id = $2 AND session_id = $3 AND invalidated_at IS NULL AND not_after >= $1
                 RETURNING serial",
            )
            .bind(db_ts(now))
            .bind(actor_id)
            .bind(session_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(serial) = serial else {
                return Ok(false);
            };
            Self::revoke_cert_token(&mut tx, serial, now).await?;
            for table in ["key_packages", "events"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE actor_id = $1 AND session_id = $2"
                ))
                .bind(actor_id)
                .bind(session_id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            let mut published = Vec::new();
            if let Some(ev) = make_event(serial) {
                published = Self::queue_for_other_sessions(
                    &mut tx,
                    actor_id,
                    session_id.as_str(),
                    &ev,
                    now,
                )
                .await?;
            }
            let notices = vec![
                SessionNotice::Revoked(Arc::from([serial])),
                SessionNotice::ActorCertsChanged { actor_id },
            ];
            self.commit_announce(tx, notices, published).await?;
            Ok(true)
        })
        .await
    }

    async fn caller_by_token(
        &self,
        token_hash: &[u8],
        now: UnixTimestamp,
    ) -> StoreResult<Option<Caller>> {
        let row = sqlx::query(
            "SELECT t.cert_serial, t.foreign_session_id,
                    c.actor_id, a.fid AS local_fid, c.session_id AS local_session, c.cert_pem AS local_pem,
                    c.not_after, c.invalidated_at,
                    f.fid AS foreign_fid, f.session_id AS foreign_session, f.cert_pem AS foreign_pem, f.ended_at,
                    f.not_after AS foreign_not_after, f.checked_at AS foreign_checked_at
             FROM tokens t
             LEFT JOIN id_certs c ON c.serial = t.cert_serial
             LEFT JOIN actors a ON a.id = c.actor_id
             LEFT JOIN foreign_sessions f ON f.id = t.foreign_session_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if let Some(serial) = row.try_get::<Option<i64>, _>("cert_serial")? {
            let not_after: i64 = row.try_get("not_after")?;
            let invalidated: Option<i64> = row.try_get("invalidated_at")?;
            if invalidated.is_some() || ts(not_after) < now {
                return Ok(None);
            }
            return Ok(Some(Caller::Local(LocalSession {
                actor_id: row.try_get("actor_id")?,
                fid: parse_fid(row.try_get("local_fid")?)?,
                session_id: parse_session(row.try_get("local_session")?)?,
                cert_serial: serial,
                cert_pem: row.try_get("local_pem")?,
            })));
        }
        let Some(id) = row.try_get::<Option<i64>, _>("foreign_session_id")? else {
            return Ok(None);
        };
        let not_after = ts(row.try_get("foreign_not_after")?);
        if row.try_get::<Option<i64>, _>("ended_at")?.is_some() || not_after < now {
            return Ok(None);
        }
        Ok(Some(Caller::Foreign(ForeignSession {
            id,
            fid: parse_fid(row.try_get("foreign_fid")?)?,
            session_id: parse_session(row.try_get("foreign_session")?)?,
            cert_pem: row.try_get("foreign_pem")?,
            not_after,
            checked_at: ts(row.try_get("foreign_checked_at")?),
        })))
    }

    async fn actor_certs(
        &self,
        actor_id: i64,
        filter: &ActorCertFilter,
        now: UnixTimestamp,
    ) -> StoreResult<Vec<(String, bool)>> {
        let at = db_ts(filter.at.unwrap_or(now));
        let rows = sqlx::query(
            "SELECT cert_pem, invalidated_at FROM id_certs
             WHERE actor_id = $1 AND not_before <= $2 AND not_after >= $2
               AND ($3::TEXT IS NULL OR session_id = $3)
             ORDER BY not_before, id",
        )
        .bind(actor_id)
        .bind(at)
        .bind(filter.session_id.as_ref().map(|s| s.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let inv: Option<i64> = r.try_get("invalidated_at")?;
                Ok((r.try_get("cert_pem")?, inv.is_some()))
            })
            .collect()
    }

    async fn open_foreign_session(
        &self,
        fid: &FederationId,
        session_id: &SessionId,
        cert_pem: &str,
        not_after: UnixTimestamp,
        token_hash: &[u8],
        now: UnixTimestamp,
        max_sessions: u64,
    ) -> StoreResult<bool> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            Self::lock_foreign(&mut tx, fid).await?;
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM foreign_sessions
                 WHERE fid = $1 AND session_id <> $2 AND ended_at IS NULL AND not_after >= $3",
            )
            .bind(fid.as_str())
            .bind(session_id.as_str())
            .bind(db_ts(now))
            .fetch_one(&mut *tx)
            .await?;
            if count(others) >= max_sessions {
                return Ok(false);
            }
            let old: Option<i64> = sqlx::query_scalar(
                "UPDATE foreign_sessions SET ended_at = $1
                 WHERE fid = $2 AND session_id = $3 AND ended_at IS NULL RETURNING id",
            )
            .bind(db_ts(now))
            .bind(fid.as_str())
            .bind(session_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(old) = old {
                Self::revoke_foreign_token(&mut tx, old, now).await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO foreign_sessions (fid, session_id, cert_pem, created_at, updated_at, not_after, checked_at)
                 VALUES ($1, $2, $3, $4, $4, $5, $4) RETURNING id",
            )
            .bind(fid.as_str())
            .bind(session_id.as_str())
            .bind(cert_pem)
            .bind(db_ts(now))
            .bind(db_ts(not_after))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO tokens (token_hash, foreign_session_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(id)
            .bind(db_ts(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn update_foreign_cert(
        &self,
        id: i64,
        cert_pem: &str,
        not_after: UnixTimestamp,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE foreign_sessions SET cert_pem = $1, not_after = $2, updated_at = $3, checked_at = $3
             WHERE id = $4 AND ended_at IS NULL",
        )
        .bind(cert_pem)
        .bind(db_ts(not_after))
        .bind(db_ts(now))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn foreign_sessions_due(
        &self,
        checked_before: UnixTimestamp,
        after: Option<(UnixTimestamp, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<ForeignSession>> {
        let (after_checked, after_id) =
            after.map_or((i64::MIN, i64::MIN), |(t, id)| (db_ts(t), id));
        let rows = sqlx::query(
            "SELECT id, fid, session_id, cert_pem, not_after, checked_at FROM foreign_sessions
             WHERE ended_at IS NULL AND checked_at <= $1
               AND (checked_at, id) > ($2, $3)
             ORDER BY checked_at, id LIMIT $4",
        )
        .bind(db_ts(checked_before))
        .bind(after_checked)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ForeignSession {
                    id: r.try_get("id")?,
                    fid: parse_fid(r.try_get("fid")?)?,
                    session_id: parse_session(r.try_get("session_id")?)?,
                    cert_pem: r.try_get("cert_pem")?,
                    not_after: ts(r.try_get("not_after")?),
                    checked_at: ts(r.try_get("checked_at")?),
                })
            })
            .collect()
    }

    async fn end_unconfirmed_foreign_sessions(
        &self,
        checked_before: UnixTimestamp,
        now: UnixTimestamp,
    ) -> StoreResult<Vec<i64>> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            let ended: Vec<i64> = sqlx::query_scalar(
                "UPDATE foreign_sessions SET ended_at = $1
                 WHERE ended_at IS NULL AND checked_at < $2 RETURNING id",
            )
            .bind(db_ts(now))
            .bind(db_ts(checked_before))
            .fetch_all(&mut *tx)
            .await?;
            Self::end_foreign_rows(&mut tx, &ended, now).await?;
            tx.commit().await?;
            Ok(ended)
        })
        .await
    }

    async fn delete_ended_foreign_sessions(&self, limit: u32) -> StoreResult<u64> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM foreign_sessions WHERE ended_at IS NOT NULL ORDER BY id LIMIT $1
                 FOR UPDATE SKIP LOCKED",
            )
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM tokens WHERE foreign_session_id = ANY($1)")
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM foreign_sessions WHERE id = ANY($1)")
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n)
        })
        .await
    }

    async fn mark_foreign_checked(&self, id: i64, now: UnixTimestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE foreign_sessions SET checked_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_expired_foreign_sessions(&self, now: UnixTimestamp) -> StoreResult<u64> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            let ended: Vec<i64> = sqlx::query_scalar(
                "UPDATE foreign_sessions SET ended_at = $1
                 WHERE ended_at IS NULL AND not_after < $1 RETURNING id",
            )
            .bind(db_ts(now))
            .fetch_all(&mut *tx)
            .await?;
            Self::end_foreign_rows(&mut tx, &ended, now).await?;
            tx.commit().await?;
            Ok(u64::try_from(ended.len()).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn live_session_count(&self, actor_id: i64, now: UnixTimestamp) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM id_certs WHERE actor_id = $1 AND invalidated_at IS NULL AND not_after >= $2",
        )
        .bind(actor_id)
        .bind(db_ts(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(count(n))
    }

    async fn end_foreign_session(&self, id: i64, now: UnixTimestamp) -> StoreResult<()> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "UPDATE foreign_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
            )
            .bind(db_ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            Self::revoke_foreign_token(&mut tx, id, now).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn add_key_packages(
        &self,
        session: &LocalSession,
        packages: &[NewKeyPackage],
        now: UnixTimestamp,
        max_per_session: u64,
    ) -> StoreResult<()> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            // After a rotation of this session committed, the check below sees it.
            Self::lock_actor(&mut tx, session.actor_id).await?;
            if !Self::cert_is_live(
                &mut tx,
                session.actor_id,
                &session.session_id,
                session.cert_serial,
                now,
            )
            .await?
            {
                return Err(StoreError::NotFound);
            }
            sqlx::query(
                "DELETE FROM key_packages WHERE actor_id = $1 AND session_id = $2
                 AND (not_after < $3 OR cert_serial <> $4)",
            )
            .bind(session.actor_id)
            .bind(session.session_id.as_str())
            .bind(db_ts(now))
            .bind(session.cert_serial)
            .execute(&mut *tx)
            .await?;
            for kp in packages {
                if kp.last_resort {
                    sqlx::query(
                        "DELETE FROM key_packages WHERE actor_id = $1 AND session_id = $2 AND last_resort",
                    )
                    .bind(session.actor_id)
                    .bind(session.session_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO key_packages (actor_id, session_id, cert_serial, body_b64, init_key, not_after, last_resort, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(session.actor_id)
                .bind(session.session_id.as_str())
                .bind(session.cert_serial)
                .bind(&kp.body_b64)
                .bind(&kp.init_key)
                .bind(db_ts(kp.not_after))
                .bind(kp.last_resort)
                .bind(db_ts(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict("a KeyPackage with this init key was already uploaded")
                    } else {
                        e.into()
                    }
                })?;
            }
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM key_packages WHERE actor_id = $1 AND session_id = $2",
            )
            .bind(session.actor_id)
            .bind(session.session_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if count(held) > max_per_session {
                return Err(StoreError::LimitReached(format!(
                    "a session may hold at most {max_per_session} KeyPackages; claim or let some expire first"
                )));
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn claim_key_packages(
        &self,
        actor_id: i64,
        now: UnixTimestamp,
        low_watermark: u64,
        low_event: &(dyn Fn(u64, bool) -> Option<PendingEvent> + Sync),
    ) -> StoreResult<Vec<ClaimedKeyPackage>> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            // Claims of one actor run one after the other: a package is handed out once.
            match Self::lock_actor(&mut tx, actor_id).await {
                Err(StoreError::NotFound) => return Ok(Vec::new()),
                other => other?,
            }
            let mut published = Vec::new();
            sqlx::query(
                "DELETE FROM key_packages WHERE actor_id = $1 AND (not_after < $2 OR cert_serial NOT IN (
                    SELECT serial FROM id_certs WHERE actor_id = $1 AND invalidated_at IS NULL AND not_after >= $2))",
            )
            .bind(actor_id)
            .bind(db_ts(now))
            .execute(&mut *tx)
            .await?;
            let sessions = sqlx::query(
                "SELECT session_id, serial FROM id_certs
                 WHERE actor_id = $1 AND invalidated_at IS NULL AND not_after >= $2 ORDER BY id",
            )
            .bind(actor_id)
            .bind(db_ts(now))
            .fetch_all(&mut *tx)
            .await?;
            let mut out = Vec::with_capacity(sessions.len());
            for row in sessions {
                let session: String = row.try_get("session_id")?;
                let serial: i64 = row.try_get("serial")?;
                let regular: Option<String> = sqlx::query_scalar(
                    "DELETE FROM key_packages WHERE id = (
                        SELECT id FROM key_packages
                        WHERE actor_id = $1 AND session_id = $2 AND cert_serial = $3 AND NOT last_resort
                        ORDER BY id LIMIT 1)
                     RETURNING body_b64",
                )
                .bind(actor_id)
                .bind(&session)
                .bind(serial)
                .fetch_optional(&mut *tx)
                .await?;
                let (body, last_resort) = match regular {
                    Some(b) => (Some(b), false),
                    None => {
                        let lr: Option<String> = sqlx::query_scalar(
                            "SELECT body_b64 FROM key_packages
                             WHERE actor_id = $1 AND session_id = $2 AND cert_serial = $3 AND last_resort",
                        )
                        .bind(actor_id)
                        .bind(&session)
                        .bind(serial)
                        .fetch_optional(&mut *tx)
                        .await?;
                        (lr, true)
                    }
                };
                let Some(body) = body else { continue };
                let remaining: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM key_packages
                     WHERE actor_id = $1 AND session_id = $2 AND cert_serial = $3 AND NOT last_resort",
                )
                .bind(actor_id)
                .bind(&session)
                .bind(serial)
                .fetch_one(&mut *tx)
                .await?;
                let remaining = count(remaining);
                if (remaining < low_watermark || last_resort)
                    && let Some(ev) = low_event(remaining, last_resort)
                {
                    sqlx::query(
                        "DELETE FROM events WHERE actor_id = $1 AND session_id = $2 AND n = $3 AND op = $4",
                    )
                    .bind(actor_id)
                    .bind(&session)
                    .bind(ev.n)
                    .bind(i32::from(ev.op))
                    .execute(&mut *tx)
                    .await?;
                    let rows = sqlx::query(
                        "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, actor_id, session_id",
                    )
                    .bind(actor_id)
                    .bind(&session)
                    .bind(ev.n)
                    .bind(i32::from(ev.op))
                    .bind(&ev.d)
                    .bind(db_ts(now))
                    .fetch_all(&mut *tx)
                    .await?;
                    published.extend(returned_events(&rows, &ev)?);
                }
                out.push(ClaimedKeyPackage {
                    session_id: parse_session(&session)?,
                    body_b64: body,
                    last_resort,
                });
            }
            self.commit_announce(tx, Vec::new(), published).await?;
            Ok(out)
        })
        .await
    }

    async fn take_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
    ) -> StoreResult<Vec<(i64, String, u16, String)>> {
        let rows = sqlx::query(
            "DELETE FROM events WHERE actor_id = $1 AND session_id = $2 RETURNING id, n, op, d",
        )
        .bind(actor_id)
        .bind(session_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let op: i32 = r.try_get("op")?;
                Ok((
                    r.try_get("id")?,
                    r.try_get("n")?,
                    parse_op(i64::from(op))?,
                    r.try_get("d")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|e| e.0);
        Ok(out)
    }

    async fn create_operator_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        now: UnixTimestamp,
    ) -> StoreResult<i64> {
        self.insert_actor(fid, password_hash, None, now, true).await
    }

    async fn reset_actor_password(
        &self,
        fid: &FederationId,
        password_hash: &str,
        now: UnixTimestamp,
    ) -> StoreResult<Option<u64>> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM actors WHERE fid = $1")
                .bind(fid.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(id) = id else { return Ok(None) };
            Self::lock_actor(&mut tx, id).await?;
            sqlx::query("UPDATE actors SET password_hash = $1, operator_made = TRUE WHERE id = $2")
                .bind(password_hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let serials: Vec<i64> = sqlx::query_scalar(
                "UPDATE id_certs SET invalidated_at = $1, closed_at = COALESCE(closed_at, $1)
                 WHERE actor_id = $2 AND invalidated_at IS NULL AND not_after >= $1 RETURNING serial",
            )
            .bind(db_ts(now))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE tokens SET revoked_at = $1 WHERE cert_serial = ANY($2) AND revoked_at IS NULL",
            )
            .bind(db_ts(now))
            .bind(&serials)
            .execute(&mut *tx)
            .await?;
            for table in ["key_packages", "events"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE actor_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let notices = if serials.is_empty() {
                Vec::new()
            } else {
                vec![
                    SessionNotice::Revoked(Arc::from(serials.as_slice())),
                    SessionNotice::ActorCertsChanged { actor_id: id },
                ]
            };
            self.commit_announce(tx, notices, Vec::new()).await?;
            Ok(Some(u64::try_from(serials.len()).unwrap_or(u64::MAX)))
        })
        .await
    }

    async fn is_operator_made(&self, actor_id: i64) -> StoreResult<bool> {
        let v: Option<bool> = sqlx::query_scalar("SELECT operator_made FROM actors WHERE id = $1")
            .bind(actor_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(v == Some(true))
    }

    fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EventBatch> {
        self.bus.local.subscribe()
    }

    fn subscribe_sessions(&self) -> tokio::sync::broadcast::Receiver<SessionNotice> {
        self.bus.local.subscribe_sessions()
    }

    fn watch_sessions(&self, hook: NoticeHook) {
        self.bus.local.watch(hook);
    }

    async fn pending_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        cert_serial: i64,
        after: i64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let mut tx = self.pool.begin().await?;
        let now = UnixTimestamp::now();
        if !Self::cert_is_live(&mut tx, actor_id, session_id, cert_serial, now).await? {
            return Err(StoreError::NotFound);
        }
        let rows = sqlx::query(
            "SELECT id, actor_id, session_id, n, op, d FROM events
             WHERE actor_id = $1 AND session_id = $2 AND id > $3 ORDER BY id",
        )
        .bind(actor_id)
        .bind(session_id.as_str())
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(event_row).collect()
    }

    async fn ack_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        cert_serial: i64,
        ids: &[i64],
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let now = UnixTimestamp::now();
        if !Self::cert_is_live(&mut tx, actor_id, session_id, cert_serial, now).await? {
            return Err(StoreError::NotFound);
        }
        let removed = sqlx::query(
            "DELETE FROM events WHERE actor_id = $1 AND session_id = $2 AND id = ANY($3)",
        )
        .bind(actor_id)
        .bind(session_id.as_str())
        .bind(ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    async fn dead_cert_serials(
        &self,
        serials: &[i64],
        now: UnixTimestamp,
    ) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT serial FROM id_certs WHERE serial = ANY($1)
             AND (invalidated_at IS NOT NULL OR not_after < $2)",
        )
        .bind(serials)
        .bind(db_ts(now))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn ack_events_through(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        upto: i64,
    ) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM events WHERE actor_id = $1 AND session_id = $2 AND id <= $3")
                .bind(actor_id)
                .bind(session_id.as_str())
                .bind(upto)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn prune_events(&self, now: UnixTimestamp) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE NOT EXISTS (
                SELECT 1 FROM id_certs c
                WHERE c.actor_id = events.actor_id AND c.session_id = events.session_id
                  AND c.invalidated_at IS NULL AND c.not_after >= $1)",
        )
        .bind(db_ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn queue_event(
        &self,
        actor_id: i64,
        session: Option<&SessionId>,
        event: &PendingEvent,
        now: UnixTimestamp,
    ) -> StoreResult<u64> {
        retrying(|| async move {
            let mut tx = self.pool.begin().await?;
            match Self::lock_actor(&mut tx, actor_id).await {
                Err(StoreError::NotFound) => return Ok(0),
                other => other?,
            }
            let rows = sqlx::query(
                "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
                 SELECT actor_id, session_id, $1, $2, $3, $4 FROM id_certs
                 WHERE actor_id = $5 AND ($6::TEXT IS NULL OR session_id = $6)
                   AND invalidated_at IS NULL AND not_after >= $4
                 ORDER BY id
                 RETURNING id, actor_id, session_id",
            )
            .bind(event.n)
            .bind(i32::from(event.op))
            .bind(&event.d)
            .bind(db_ts(now))
            .bind(actor_id)
            .bind(session.map(SessionId::as_str))
            .fetch_all(&mut *tx)
            .await?;
            let mut queued = returned_events(&rows, event)?;
            queued.sort_by_key(|e| e.id);
            let n = u64::try_from(queued.len()).unwrap_or(u64::MAX);
            self.commit_announce(tx, Vec::new(), queued).await?;
            Ok(n)
        })
        .await
    }

    async fn invite_usable(&self, token_hash: &[u8; 32], now: UnixTimestamp) -> StoreResult<bool> {
        self.invite_usable_impl(token_hash, now).await
    }

    async fn create_invite(
        &self,
        token_hash: &[u8; 32],
        max_uses: u32,
        now: UnixTimestamp,
        expires_at: UnixTimestamp,
    ) -> StoreResult<i64> {
        self.create_invite_impl(token_hash, max_uses, now, expires_at)
            .await
    }

    async fn list_invites(&self) -> StoreResult<Vec<InviteRecord>> {
        self.list_invites_impl().await
    }

    async fn revoke_invite(&self, id: i64, now: UnixTimestamp) -> StoreResult<bool> {
        self.revoke_invite_impl(id, now).await
    }

    async fn create_actor_with_invite(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
        token_hash: &[u8; 32],
    ) -> StoreResult<i64> {
        retrying(|| {
            self.create_actor_with_invite_impl(fid, password_hash, auth_payload, now, token_hash)
        })
        .await
    }

    fn keeps_server_keys(&self) -> bool {
        true
    }

    async fn put_server_key(
        &self,
        serial: i64,
        sealed: &[u8],
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO server_keys (serial, sealed, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial)
        .bind(sealed)
        .bind(db_ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn server_key(&self, serial: i64) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT sealed FROM server_keys WHERE serial = $1")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn lease_job(
        &self,
        job: &str,
        holder: u64,
        now: UnixTimestamp,
        until: UnixTimestamp,
    ) -> StoreResult<bool> {
        // The holder as stored: the same 64 bits, read as a signed number.
        let holder = i64::from_le_bytes(holder.to_le_bytes());
        let got: Option<i64> = sqlx::query_scalar(
            "INSERT INTO job_leases (job, holder, until) VALUES ($1, $2, $4)
             ON CONFLICT (job) DO UPDATE SET holder = $2, until = $4
               WHERE job_leases.holder = $2 OR job_leases.until < $3
             RETURNING holder",
        )
        .bind(job)
        .bind(holder)
        .bind(db_ts(now))
        .bind(db_ts(until))
        .fetch_optional(&self.pool)
        .await?;
        Ok(got == Some(holder))
    }

    async fn count_hits(
        &self,
        keys: &[String],
        window_start: UnixTimestamp,
    ) -> StoreResult<Option<Vec<u64>>> {
        // Sorted: concurrent upserts of the same counters lock them in one order.
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        let rows: Vec<(String, i64)> = retrying(|| {
            let sorted = &sorted;
            async move {
                Ok(sqlx::query_as(
                    "INSERT INTO rate_counters (key, window_start, hits)
                     SELECT k, $2, 1 FROM unnest($1::TEXT[]) AS k
                     ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + 1
                     RETURNING key, hits",
                )
                .bind(sorted)
                .bind(db_ts(window_start))
                .fetch_all(&self.pool)
                .await?)
            }
        })
        .await?;
        let hits: HashMap<String, i64> = rows.into_iter().collect();
        Ok(Some(
            keys.iter()
                .map(|k| count(hits.get(k).copied().unwrap_or(0)))
                .collect(),
        ))
    }

    async fn issue_challenge(
        &self,
        challenge: &ChallengeString,
        network: Network,
        now: UnixTimestamp,
        max_outstanding: u64,
        max_per_network: u64,
    ) -> StoreResult<Result<(), ChallengeStoreFull>> {
        retrying(|| {
            self.issue_challenge_impl(challenge, network, now, max_outstanding, max_per_network)
        })
        .await
    }

    async fn issued_challenge(&self, challenge: &str) -> StoreResult<Option<ChallengeString>> {
        self.issued_challenge_impl(challenge).await
    }

    async fn take_challenge(&self, challenge: &str, now: UnixTimestamp) -> StoreResult<bool> {
        self.take_challenge_impl(challenge, now).await
    }

    async fn prune_challenges(&self, now: UnixTimestamp) -> StoreResult<u64> {
        self.prune_challenges_impl(now).await
    }
}

#[cfg(feature = "test-suite")]
pub mod testing;
