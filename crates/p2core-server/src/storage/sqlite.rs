//! SQLite implementation of [`Store`] (WAL mode, `synchronous = FULL`).
//!
//! Writes go through a pool of exactly one connection, so write transactions
//! never race each other for the lock (no `SQLITE_BUSY` upgrades); reads use a
//! separate pool of read-only connections that WAL lets run concurrently.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::sql::{db_ts, is_unique_violation, parse_fid, parse_op, parse_session, ts};
use super::*;

mod challenges;
mod invites;

/// The embedded migrations (`crates/p2core-server/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// SQLite-backed store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Where committed events are announced.
    bus: LocalEventBus,
    /// Held from the start of an event-producing transaction until its events
    /// are published, so batches are published in commit (= id) order.
    publish_order: Arc<tokio::sync::Mutex<()>>,
    /// Most events kept per session; older ones are dropped first.
    max_pending_events: i64,
    /// Outstanding challenges, in memory (see `sqlite/challenges.rs`); shared by clones.
    challenges: Arc<crate::challenges::ChallengeStore>,
}

/// Default of [`SqliteStore::with_max_pending_events`].
pub const DEFAULT_MAX_PENDING_EVENTS: u32 = 1000;

/// `RETURNING` rows of an event insert, with the payload they all share.
fn returned_events(
    rows: &[sqlx::sqlite::SqliteRow],
    ev: &PendingEvent,
) -> StoreResult<Vec<StoredEvent>> {
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

/// Settings of the bundled SQLite store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteSettings {
    /// The database file (created with the schema on first open).
    pub path: PathBuf,
    /// Most events kept per session; when a new one would exceed it, the
    /// session's oldest are dropped (default 1000).
    pub max_pending_events: u32,
}

impl SqliteSettings {
    /// The database at `path`, other settings at their defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_pending_events: DEFAULT_MAX_PENDING_EVENTS,
        }
    }

    /// Sets [`max_pending_events`](Self::max_pending_events) (at least 1).
    #[must_use]
    pub fn max_pending_events(mut self, max: u32) -> Self {
        self.max_pending_events = max.max(1);
        self
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database of `settings` and runs the migrations.
    pub async fn open_with(settings: &SqliteSettings) -> StoreResult<Self> {
        Ok(Self::open(&settings.path)
            .await?
            .with_max_pending_events(settings.max_pending_events))
    }

    /// Opens (creating if needed) the database file and runs the migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self {
            writer,
            reader,
            bus: LocalEventBus::default(),
            publish_order: Arc::new(tokio::sync::Mutex::new(())),
            max_pending_events: i64::from(DEFAULT_MAX_PENDING_EVENTS),
            challenges: Arc::default(),
        })
    }

    /// The pool of read-only connections (for `admin copy-to-postgres`).
    #[cfg(feature = "postgres")]
    pub(crate) fn reader_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// Keeps at most `max` pending events per session (at least 1); when a
    /// new event would exceed it, the session's oldest events are dropped.
    pub fn with_max_pending_events(mut self, max: u32) -> Self {
        self.max_pending_events = i64::from(max.max(1));
        self
    }

    /// Drops the oldest events of the sessions in `events` that are above the limit.
    async fn trim_queues(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        events: &[StoredEvent],
    ) -> StoreResult<()> {
        let mut actors: Vec<i64> = events.iter().map(|e| e.actor_id).collect();
        actors.sort_unstable();
        actors.dedup();
        for chunk in actors.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT actor_id, session_id FROM events WHERE actor_id IN ({marks})
                 GROUP BY actor_id, session_id HAVING COUNT(*) > ?"
            );
            let mut q = sqlx::query(&sql);
            for a in chunk {
                q = q.bind(a);
            }
            let over = q.bind(self.max_pending_events).fetch_all(&mut **tx).await?;
            for row in over {
                let actor: i64 = row.try_get("actor_id")?;
                let session: String = row.try_get("session_id")?;
                sqlx::query(
                    "DELETE FROM events WHERE actor_id = ?1 AND session_id = ?2 AND id <= (
                        SELECT id FROM events WHERE actor_id = ?1 AND session_id = ?2
                        ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                )
                .bind(actor)
                .bind(&session)
                .bind(self.max_pending_events)
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Trims, commits, then announces `events`. The caller holds `publish_order`.
    async fn commit_and_publish(
        &self,
        tx: Transaction<'_, Sqlite>,
        events: Vec<StoredEvent>,
    ) -> StoreResult<()> {
        self.commit_announce_publish(tx, Vec::new(), events).await
    }

    /// Trims, commits, then announces `notices` and after them `events`.
    /// The caller holds `publish_order`.
    async fn commit_announce_publish(
        &self,
        mut tx: Transaction<'_, Sqlite>,
        notices: Vec<SessionNotice>,
        events: Vec<StoredEvent>,
    ) -> StoreResult<()> {
        if !events.is_empty() {
            self.trim_queues(&mut tx, &events).await?;
        }
        tx.commit().await?;
        for n in notices {
            self.bus.announce(n);
        }
        self.bus.publish(events.into());
        Ok(())
    }

    /// `true` if certificate `serial` is the live one of the session (not
    /// invalidated, not expired at `now`), read inside `tx`.
    async fn cert_is_live(
        tx: &mut Transaction<'_, Sqlite>,
        actor_id: i64,
        session_id: &SessionId,
        serial: i64,
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM id_certs WHERE serial = ? AND actor_id = ? AND session_id = ?
             AND invalidated_at IS NULL AND not_after >= ?",
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
        tx: &mut Transaction<'_, Sqlite>,
        actor_id: i64,
        except: &str,
        event: &PendingEvent,
        now: UnixTimestamp,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
             SELECT actor_id, session_id, ?, ?, ?, ? FROM id_certs
             WHERE actor_id = ? AND session_id <> ? AND invalidated_at IS NULL AND not_after >= ?
             RETURNING id, actor_id, session_id",
        )
        .bind(event.n)
        .bind(i64::from(event.op))
        .bind(&event.d)
        .bind(db_ts(now))
        .bind(actor_id)
        .bind(except)
        .bind(db_ts(now))
        .fetch_all(&mut **tx)
        .await?;
        returned_events(&rows, event)
    }

    /// Revokes the live token of an actor certificate.
    async fn revoke_cert_token(
        tx: &mut Transaction<'_, Sqlite>,
        serial: i64,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = ? WHERE cert_serial = ? AND revoked_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(serial)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Revokes the live token of a foreign session.
    async fn revoke_foreign_token(
        tx: &mut Transaction<'_, Sqlite>,
        id: i64,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = ? WHERE foreign_session_id = ? AND revoked_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Certs whose validity ended without an invalidation still hold the
    /// session ID; close them (not invalidate: they merely expired) so the
    /// session ID can be reused, and purge the KeyPackages of the old session.
    async fn retire_expired(
        tx: &mut Transaction<'_, Sqlite>,
        actor_id: i64,
        session_id: &str,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE id_certs SET closed_at = not_after
             WHERE actor_id = ? AND session_id = ? AND closed_at IS NULL AND not_after < ?",
        )
        .bind(actor_id)
        .bind(session_id)
        .bind(db_ts(now))
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM key_packages WHERE actor_id = ? AND session_id = ?")
            .bind(actor_id)
            .bind(session_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn insert_cert_and_token(
        tx: &mut Transaction<'_, Sqlite>,
        actor_id: i64,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        // Only the current root signs (a process that rotated meanwhile, e.g.
        // `admin renew-root`, made another one current).
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT serial FROM server_certs WHERE serial = ? AND current_until IS NULL",
        )
        .bind(cert.root_serial)
        .fetch_optional(&mut **tx)
        .await?;
        if current.is_none() {
            return Err(StoreError::Conflict(ROOT_NOT_CURRENT));
        }
        sqlx::query(
            "INSERT INTO id_certs (serial, actor_id, session_id, cert_pem, not_before, not_after, root_serial, issued_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        sqlx::query("INSERT INTO tokens (token_hash, cert_serial, created_at) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(cert.serial)
            .bind(db_ts(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

fn server_cert_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<ServerCertRecord> {
    Ok(ServerCertRecord {
        serial: row.try_get("serial")?,
        cert_pem: row.try_get("cert_pem")?,
        key_file: row.try_get("key_file")?,
        current_from: ts(row.try_get("current_from")?),
    })
}

impl SqliteStore {
    /// Inserts an actor; `Conflict` if the Federation ID is taken.
    async fn insert_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
        operator_made: bool,
    ) -> StoreResult<i64> {
        let res = sqlx::query(
            "INSERT INTO actors (local_name, fid, password_hash, auth_payload, created_at, operator_made)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(fid.local_name())
        .bind(fid.as_str())
        .bind(password_hash)
        .bind(auth_payload)
        .bind(db_ts(now))
        .bind(i64::from(operator_made))
        .execute(&self.writer)
        .await;
        match res {
            Ok(r) => Ok(r.last_insert_rowid()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("federation ID taken")),
            Err(e) => Err(e.into()),
        }
    }
}

impl Store for SqliteStore {
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
        let row = sqlx::query("SELECT id, fid, password_hash FROM actors WHERE local_name = ?")
            .bind(local_name)
            .fetch_optional(&self.reader)
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
        Ok(sqlx::query_scalar("SELECT id FROM actors WHERE fid = ?")
            .bind(fid.as_str())
            .fetch_optional(&self.reader)
            .await?)
    }

    async fn current_server_cert(&self) -> StoreResult<Option<ServerCertRecord>> {
        let row = sqlx::query(
            "SELECT serial, cert_pem, key_file, current_from FROM server_certs
             WHERE current_until IS NULL ORDER BY current_from DESC, rowid DESC LIMIT 1",
        )
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(server_cert_row).transpose()
    }

    async fn server_cert_at(&self, at: UnixTimestamp) -> StoreResult<Option<ServerCertRecord>> {
        let row = sqlx::query(
            "SELECT serial, cert_pem, key_file, current_from FROM server_certs
             WHERE current_from <= ?1 AND (current_until IS NULL OR current_until > ?1)
             ORDER BY current_from DESC, rowid DESC LIMIT 1",
        )
        .bind(db_ts(at))
        .fetch_optional(&self.reader)
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
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE server_certs SET current_until = ? WHERE current_until IS NULL")
            .bind(db_ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO server_certs (serial, cert_pem, key_file, current_from) VALUES (?, ?, ?, ?)",
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
                 SELECT actor_id, session_id, ?, ?, ?, ? FROM id_certs
                 WHERE invalidated_at IS NULL AND not_after >= ?
                 RETURNING id, actor_id, session_id",
            )
            .bind(ev.n)
            .bind(i64::from(ev.op))
            .bind(&ev.d)
            .bind(db_ts(now))
            .bind(db_ts(now))
            .fetch_all(&mut *tx)
            .await?;
            published = returned_events(&rows, &ev)?;
        }
        self.commit_announce_publish(tx, vec![SessionNotice::ServerCertChanged], published)
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
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        // Counted in the write transaction: concurrent creations see each
        // other's inserts (one writer connection), so the limit is exact.
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM id_certs WHERE actor_id = ? AND invalidated_at IS NULL AND not_after >= ?",
        )
        .bind(actor_id)
        .bind(db_ts(now))
        .fetch_one(&mut *tx)
        .await?;
        if u64::try_from(live).unwrap_or(u64::MAX) >= max_sessions {
            return Err(StoreError::LimitReached(format!(
                "this actor has {max_sessions} live sessions here, the most this server allows"
            )));
        }
        Self::retire_expired(&mut tx, actor_id, cert.session_id.as_str(), now).await?;
        Self::insert_cert_and_token(&mut tx, actor_id, cert, token_hash, now).await?;
        // Whatever is still queued under this session ID belongs to an earlier,
        // ended or expired session that used the same ID: never hand it over.
        sqlx::query("DELETE FROM events WHERE actor_id = ? AND session_id = ?")
            .bind(actor_id)
            .bind(cert.session_id.as_str())
            .execute(&mut *tx)
            .await?;
        let published =
            Self::queue_for_other_sessions(&mut tx, actor_id, cert.session_id.as_str(), event, now)
                .await?;
        let current = SessionNotice::Current {
            actor_id,
            session_id: cert.session_id.clone(),
            serial: cert.serial,
        };
        let changed = SessionNotice::ActorCertsChanged { actor_id };
        self.commit_announce_publish(tx, vec![current, changed], published)
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
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query(
            "UPDATE id_certs SET invalidated_at = ? WHERE serial = ? AND invalidated_at IS NULL",
        )
        .bind(db_ts(now))
        .bind(session.cert_serial)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            // Rotated or ended concurrently: the caller's token is no longer valid.
            return Err(StoreError::NotFound);
        }
        Self::revoke_cert_token(&mut tx, session.cert_serial, now).await?;
        sqlx::query("DELETE FROM key_packages WHERE actor_id = ? AND session_id = ?")
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
        self.commit_announce_publish(tx, notices, published).await
    }

    async fn end_session(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        now: UnixTimestamp,
        make_event: &(dyn Fn(i64) -> Option<PendingEvent> + Sync),
    ) -> StoreResult<bool> {
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        let serial: Option<i64> = sqlx::query_scalar(
            "UPDATE id_certs SET invalidated_at = ?
             WHERE actor_id = ? AND session_id = ? AND invalidated_at IS NULL AND not_after >= ?
             RETURNING serial",
        )
        .bind(db_ts(now))
        .bind(actor_id)
        .bind(session_id.as_str())
        .bind(db_ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(serial) = serial else {
            return Ok(false);
        };
        Self::revoke_cert_token(&mut tx, serial, now).await?;
        for table in ["key_packages", "events"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE actor_id = ? AND session_id = ?"
            ))
            .bind(actor_id)
            .bind(session_id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let mut published = Vec::new();
        if let Some(ev) = make_event(serial) {
            published =
                Self::queue_for_other_sessions(&mut tx, actor_id, session_id.as_str(), &ev, now)
                    .await?;
        }
        let revoked = SessionNotice::Revoked(Arc::from([serial]));
        let changed = SessionNotice::ActorCertsChanged { actor_id };
        self.commit_announce_publish(tx, vec![revoked, changed], published)
            .await?;
        Ok(true)
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
             WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
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
        // Without a timestamp: the certificates valid now (invalidated ones included,
        // flagged, so that foreign servers learn about early revocations).
        let at = db_ts(filter.at.unwrap_or(now));
        let rows = sqlx::query(
            "SELECT cert_pem, invalidated_at FROM id_certs
             WHERE actor_id = ?1 AND not_before <= ?2 AND not_after >= ?2
               AND (?3 IS NULL OR session_id = ?3)
             ORDER BY not_before, id",
        )
        .bind(actor_id)
        .bind(at)
        .bind(filter.session_id.as_ref().map(|s| s.as_str()))
        .fetch_all(&self.reader)
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
        let mut tx = self.writer.begin().await?;
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM foreign_sessions
             WHERE fid = ? AND session_id <> ? AND ended_at IS NULL AND not_after >= ?",
        )
        .bind(fid.as_str())
        .bind(session_id.as_str())
        .bind(db_ts(now))
        .fetch_one(&mut *tx)
        .await?;
        if u64::try_from(others).unwrap_or(0) >= max_sessions {
            return Ok(false);
        }
        let old: Option<i64> = sqlx::query_scalar(
            "UPDATE foreign_sessions SET ended_at = ? WHERE fid = ? AND session_id = ? AND ended_at IS NULL RETURNING id",
        )
        .bind(db_ts(now))
        .bind(fid.as_str())
        .bind(session_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(old) = old {
            Self::revoke_foreign_token(&mut tx, old, now).await?;
        }
        let id = sqlx::query(
            "INSERT INTO foreign_sessions (fid, session_id, cert_pem, created_at, updated_at, not_after, checked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(fid.as_str())
        .bind(session_id.as_str())
        .bind(cert_pem)
        .bind(db_ts(now))
        .bind(db_ts(now))
        .bind(db_ts(not_after))
        .bind(db_ts(now))
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        sqlx::query(
            "INSERT INTO tokens (token_hash, foreign_session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(db_ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_foreign_cert(
        &self,
        id: i64,
        cert_pem: &str,
        not_after: UnixTimestamp,
        now: UnixTimestamp,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE foreign_sessions SET cert_pem = ?, not_after = ?, updated_at = ?, checked_at = ?
             WHERE id = ? AND ended_at IS NULL",
        )
        .bind(cert_pem)
        .bind(db_ts(not_after))
        .bind(db_ts(now))
        .bind(db_ts(now))
        .bind(id)
        .execute(&self.writer)
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
             WHERE ended_at IS NULL AND checked_at <= ?1
               AND (checked_at > ?2 OR (checked_at = ?2 AND id > ?3))
             ORDER BY checked_at, id LIMIT ?4",
        )
        .bind(db_ts(checked_before))
        .bind(after_checked)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
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
        let mut tx = self.writer.begin().await?;
        let ended: Vec<i64> = sqlx::query_scalar(
            "UPDATE foreign_sessions SET ended_at = ?1 WHERE ended_at IS NULL AND checked_at < ?2 RETURNING id",
        )
        .bind(db_ts(now))
        .bind(db_ts(checked_before))
        .fetch_all(&mut *tx)
        .await?;
        for id in &ended {
            Self::revoke_foreign_token(&mut tx, *id, now).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    async fn delete_ended_foreign_sessions(&self, limit: u32) -> StoreResult<u64> {
        // One pass over `tokens` per call (no per-session lookups: revoked tokens
        // are outside the partial index on foreign_session_id).
        const ENDED: &str =
            "SELECT id FROM foreign_sessions WHERE ended_at IS NOT NULL ORDER BY id LIMIT ?1";
        let mut tx = self.writer.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM tokens WHERE foreign_session_id IN ({ENDED})"
        ))
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query(&format!(
            "DELETE FROM foreign_sessions WHERE id IN ({ENDED})"
        ))
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    async fn mark_foreign_checked(&self, id: i64, now: UnixTimestamp) -> StoreResult<()> {
        sqlx::query("UPDATE foreign_sessions SET checked_at = ? WHERE id = ? AND ended_at IS NULL")
            .bind(db_ts(now))
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn end_expired_foreign_sessions(&self, now: UnixTimestamp) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await?;
        let ended: Vec<i64> = sqlx::query_scalar(
            "UPDATE foreign_sessions SET ended_at = ?1 WHERE ended_at IS NULL AND not_after < ?1 RETURNING id",
        )
        .bind(db_ts(now))
        .fetch_all(&mut *tx)
        .await?;
        for id in &ended {
            Self::revoke_foreign_token(&mut tx, *id, now).await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(ended.len()).unwrap_or(u64::MAX))
    }

    async fn live_session_count(&self, actor_id: i64, now: UnixTimestamp) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM id_certs WHERE actor_id = ? AND invalidated_at IS NULL AND not_after >= ?",
        )
        .bind(actor_id)
        .bind(db_ts(now))
        .fetch_one(&self.reader)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn end_foreign_session(&self, id: i64, now: UnixTimestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE foreign_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
            .bind(db_ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Self::revoke_foreign_token(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_key_packages(
        &self,
        session: &LocalSession,
        packages: &[NewKeyPackage],
        now: UnixTimestamp,
        max_per_session: u64,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // The certificate the packages were checked against must still be the
        // session's live one (a rotation in between deleted the session's packages
        // and must not be undone by this upload).
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM id_certs WHERE serial = ? AND invalidated_at IS NULL AND not_after >= ?",
        )
        .bind(session.cert_serial)
        .bind(db_ts(now))
        .fetch_one(&mut *tx)
        .await?;
        if live != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "DELETE FROM key_packages WHERE actor_id = ? AND session_id = ? AND (not_after < ? OR cert_serial <> ?)",
        )
        .bind(session.actor_id)
        .bind(session.session_id.as_str())
        .bind(db_ts(now))
        .bind(session.cert_serial)
        .execute(&mut *tx)
        .await?;
        for kp in packages {
            if kp.last_resort {
                sqlx::query("DELETE FROM key_packages WHERE actor_id = ? AND session_id = ? AND last_resort = 1")
                    .bind(session.actor_id)
                    .bind(session.session_id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO key_packages (actor_id, session_id, cert_serial, body_b64, init_key, not_after, last_resort, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
            "SELECT COUNT(*) FROM key_packages WHERE actor_id = ? AND session_id = ?",
        )
        .bind(session.actor_id)
        .bind(session.session_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if u64::try_from(held).unwrap_or(u64::MAX) > max_per_session {
            // dropping `tx` rolls the whole upload back
            return Err(StoreError::LimitReached(format!(
                "a session may hold at most {max_per_session} KeyPackages; claim or let some expire first"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_key_packages(
        &self,
        actor_id: i64,
        now: UnixTimestamp,
        low_watermark: u64,
        low_event: &(dyn Fn(u64, bool) -> Option<PendingEvent> + Sync),
    ) -> StoreResult<Vec<ClaimedKeyPackage>> {
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        let mut published = Vec::new();
        // Expired packages, and packages bound to a certificate that is no
        // longer live (rotated, ended, expired), are never handed out.
        sqlx::query(
            "DELETE FROM key_packages WHERE actor_id = ?1 AND (not_after < ?2 OR cert_serial NOT IN (
                SELECT serial FROM id_certs WHERE actor_id = ?1 AND invalidated_at IS NULL AND not_after >= ?2))",
        )
        .bind(actor_id)
        .bind(db_ts(now))
        .execute(&mut *tx)
        .await?;
        let sessions = sqlx::query(
            "SELECT session_id, serial FROM id_certs WHERE actor_id = ? AND invalidated_at IS NULL AND not_after >= ?
             ORDER BY id",
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
                    SELECT id FROM key_packages WHERE actor_id = ? AND session_id = ? AND cert_serial = ?
                      AND last_resort = 0
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
                        "SELECT body_b64 FROM key_packages WHERE actor_id = ? AND session_id = ? AND cert_serial = ?
                           AND last_resort = 1",
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
                "SELECT COUNT(*) FROM key_packages WHERE actor_id = ? AND session_id = ? AND cert_serial = ?
                   AND last_resort = 0",
            )
            .bind(actor_id)
            .bind(&session)
            .bind(serial)
            .fetch_one(&mut *tx)
            .await?;
            let remaining = u64::try_from(remaining).unwrap_or(0);
            if (remaining < low_watermark || last_resort)
                && let Some(ev) = low_event(remaining, last_resort)
            {
                // One pending notice per session, carrying the latest state.
                sqlx::query(
                    "DELETE FROM events WHERE actor_id = ? AND session_id = ? AND n = ? AND op = ?",
                )
                .bind(actor_id)
                .bind(&session)
                .bind(ev.n)
                .bind(i64::from(ev.op))
                .execute(&mut *tx)
                .await?;
                let rows = sqlx::query(
                    "INSERT INTO events (actor_id, session_id, n, op, d, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     RETURNING id, actor_id, session_id",
                )
                .bind(actor_id)
                .bind(&session)
                .bind(ev.n)
                .bind(i64::from(ev.op))
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
        self.commit_and_publish(tx, published).await?;
        Ok(out)
    }

    async fn take_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
    ) -> StoreResult<Vec<(i64, String, u16, String)>> {
        let rows = sqlx::query(
            "DELETE FROM events WHERE actor_id = ? AND session_id = ? RETURNING id, n, op, d",
        )
        .bind(actor_id)
        .bind(session_id.as_str())
        .fetch_all(&self.writer)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let op: i64 = r.try_get("op")?;
                Ok((
                    r.try_get("id")?,
                    r.try_get("n")?,
                    parse_op(op)?,
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
        let mut tx = self.writer.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE actors SET password_hash = ?, operator_made = 1 WHERE fid = ? RETURNING id",
        )
        .bind(password_hash)
        .bind(fid.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let serials: Vec<i64> = sqlx::query_scalar(
            "UPDATE id_certs SET invalidated_at = ?
             WHERE actor_id = ? AND invalidated_at IS NULL AND not_after >= ? RETURNING serial",
        )
        .bind(db_ts(now))
        .bind(id)
        .bind(db_ts(now))
        .fetch_all(&mut *tx)
        .await?;
        for serial in &serials {
            Self::revoke_cert_token(&mut tx, *serial, now).await?;
        }
        for table in ["key_packages", "events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE actor_id = ?"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // In this process the gateway closes the sockets at once; a server
        // running in another process finds out by its periodic re-validation.
        if !serials.is_empty() {
            self.bus
                .announce(SessionNotice::Revoked(Arc::from(serials.as_slice())));
            self.bus
                .announce(SessionNotice::ActorCertsChanged { actor_id: id });
        }
        Ok(Some(u64::try_from(serials.len()).unwrap_or(u64::MAX)))
    }

    async fn is_operator_made(&self, actor_id: i64) -> StoreResult<bool> {
        let v: Option<i64> = sqlx::query_scalar("SELECT operator_made FROM actors WHERE id = ?")
            .bind(actor_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(v == Some(1))
    }

    fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EventBatch> {
        self.bus.subscribe()
    }

    fn subscribe_sessions(&self) -> tokio::sync::broadcast::Receiver<SessionNotice> {
        self.bus.subscribe_sessions()
    }

    fn watch_sessions(&self, hook: NoticeHook) {
        self.bus.watch(hook);
    }

    async fn pending_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        cert_serial: i64,
        after: i64,
    ) -> StoreResult<Vec<StoredEvent>> {
        // The writer sees every commit at once (a reader could lag behind a
        // commit whose batch was already published). One transaction: the
        // certificate check and the read see the same snapshot.
        let mut tx = self.writer.begin().await?;
        let now = UnixTimestamp::now();
        if !Self::cert_is_live(&mut tx, actor_id, session_id, cert_serial, now).await? {
            return Err(StoreError::NotFound);
        }
        let rows = sqlx::query(
            "SELECT id, n, op, d FROM events WHERE actor_id = ? AND session_id = ? AND id > ?
             ORDER BY id",
        )
        .bind(actor_id)
        .bind(session_id.as_str())
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                let op: i64 = r.try_get("op")?;
                let n: String = r.try_get("n")?;
                let d: String = r.try_get("d")?;
                Ok(StoredEvent {
                    id: r.try_get("id")?,
                    actor_id,
                    session_id: session_id.clone(),
                    n: Arc::from(n),
                    op: parse_op(op)?,
                    d: Arc::from(d),
                })
            })
            .collect()
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
        let mut tx = self.writer.begin().await?;
        let now = UnixTimestamp::now();
        if !Self::cert_is_live(&mut tx, actor_id, session_id, cert_serial, now).await? {
            return Err(StoreError::NotFound);
        }
        let mut removed = 0;
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "DELETE FROM events WHERE actor_id = ? AND session_id = ? AND id IN ({marks})"
            );
            let mut q = sqlx::query(&sql).bind(actor_id).bind(session_id.as_str());
            for id in chunk {
                q = q.bind(id);
            }
            removed += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn ack_events_through(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        upto: i64,
    ) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM events WHERE actor_id = ? AND session_id = ? AND id <= ?")
                .bind(actor_id)
                .bind(session_id.as_str())
                .bind(upto)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }

    async fn dead_cert_serials(
        &self,
        serials: &[i64],
        now: UnixTimestamp,
    ) -> StoreResult<Vec<i64>> {
        let mut dead = Vec::new();
        for chunk in serials.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT serial FROM id_certs WHERE serial IN ({marks})
                 AND (invalidated_at IS NOT NULL OR not_after < ?)"
            );
            let mut q = sqlx::query_scalar(&sql);
            for s in chunk {
                q = q.bind(s);
            }
            // The writer: a reader may not see the newest commits yet.
            let rows: Vec<i64> = q.bind(db_ts(now)).fetch_all(&self.writer).await?;
            dead.extend(rows);
        }
        Ok(dead)
    }

    /// Closes both pools (checkpointing the WAL).
    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn queue_event(
        &self,
        actor_id: i64,
        session: Option<&SessionId>,
        event: &PendingEvent,
        now: UnixTimestamp,
    ) -> StoreResult<u64> {
        let _order = self.publish_order.lock().await;
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query(
            "INSERT INTO events (actor_id, session_id, n, op, d, created_at)
             SELECT actor_id, session_id, ?1, ?2, ?3, ?4 FROM id_certs
             WHERE actor_id = ?5 AND (?6 IS NULL OR session_id = ?6)
               AND invalidated_at IS NULL AND not_after >= ?4
             RETURNING id, actor_id, session_id",
        )
        .bind(event.n)
        .bind(i64::from(event.op))
        .bind(&event.d)
        .bind(db_ts(now))
        .bind(actor_id)
        .bind(session.map(SessionId::as_str))
        .fetch_all(&mut *tx)
        .await?;
        let queued = returned_events(&rows, event)?;
        let n = u64::try_from(queued.len()).unwrap_or(u64::MAX);
        self.commit_and_publish(tx, queued).await?;
        Ok(n)
    }

    async fn prune_events(&self, now: UnixTimestamp) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE NOT EXISTS (
                SELECT 1 FROM id_certs c
                WHERE c.actor_id = events.actor_id AND c.session_id = events.session_id
                  AND c.invalidated_at IS NULL AND c.not_after >= ?)",
        )
        .bind(db_ts(now))
        .execute(&self.writer)
        .await?
        .rows_affected())
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
        self.create_actor_with_invite_impl(fid, password_hash, auth_payload, now, token_hash)
            .await
    }

    async fn issue_challenge(
        &self,
        challenge: &ChallengeString,
        network: Network,
        now: UnixTimestamp,
        max_outstanding: u64,
        max_per_network: u64,
    ) -> StoreResult<Result<(), ChallengeStoreFull>> {
        Ok(self
            .challenges
            .insert(challenge, network, now, max_outstanding, max_per_network))
    }

    async fn issued_challenge(&self, challenge: &str) -> StoreResult<Option<ChallengeString>> {
        Ok(self.challenges.get(challenge))
    }

    async fn take_challenge(&self, challenge: &str, now: UnixTimestamp) -> StoreResult<bool> {
        Ok(self.challenges.take(challenge, now))
    }

    async fn prune_challenges(&self, now: UnixTimestamp) -> StoreResult<u64> {
        Ok(u64::try_from(self.challenges.prune(now)).unwrap_or(u64::MAX))
    }
}
