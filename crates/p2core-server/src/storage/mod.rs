//! Persistent state of the home server behind the [`Store`] trait.
//!
//! The SQLite implementation ([`sqlite::SqliteStore`]) is the embedded
//! default; the trait keeps the handlers independent of it so that another
//! backend (e.g. PostgreSQL) can be added. Every method is one transaction
//! that is committed before it returns: a write the API acknowledges is durable.

pub mod bus;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(test, feature = "test-suite"))]
pub mod test_suite;

use std::future::Future;

use p2core_types::events::EventPayload;
use p2core_types::{ChallengeString, FederationId, SessionId, UnixTimestamp};
use tokio::sync::broadcast;

pub use crate::auth::hash_token;
pub use bus::{EventBatch, EventBus, LocalEventBus, NoticeHook, SessionNotice, StoredEvent};
// Challenges are part of the storage contract (issue 14 item 2).
pub use crate::challenges::{ChallengeStore, ChallengeStoreFull};
pub use crate::limits::Network;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (the caller maps it to a 409 / 400).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A referenced row does not exist.
    #[error("not found")]
    NotFound,
    /// The database (or whatever the backend uses) failed; the backend's own
    /// error is inside.
    #[error("database error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// A row holds data this server cannot read back (corruption or a bug).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database schema could not be brought up to date.
    #[error("migration error: {0}")]
    Migrate(String),
    /// A configured bound would be exceeded (the message says which; the caller answers 4xx).
    #[error("limit reached: {0}")]
    LimitReached(String),
}

/// The message of the [`StoreError::Conflict`] a store answers when a new
/// ID-Cert was signed by a root that is no longer the current one (another
/// instance sharing the store rotated it meanwhile): sign again with the new root.
pub const ROOT_NOT_CURRENT: &str =
    "the root certificate that signed this ID-Cert is no longer current";

/// Shorthand result type.
pub type StoreResult<T> = Result<T, StoreError>;

/// A registered actor.
#[derive(Debug, Clone)]
pub struct ActorRecord {
    /// Row id.
    pub id: i64,
    /// The actor's Federation ID.
    pub fid: FederationId,
    /// PHC string of the argon2id password hash.
    pub password_hash: String,
}

/// One of the home server's root certificates.
#[derive(Debug, Clone)]
pub struct ServerCertRecord {
    /// Certificate serial.
    pub serial: i64,
    /// PEM text.
    pub cert_pem: String,
    /// File (relative to the data dir) holding its private key.
    pub key_file: String,
    /// Since when it is the server's certificate.
    pub current_from: UnixTimestamp,
}

/// A session of a local actor, identified by its live ID-Cert.
#[derive(Debug, Clone)]
pub struct LocalSession {
    /// The actor's row id.
    pub actor_id: i64,
    /// The actor.
    pub fid: FederationId,
    /// The session.
    pub session_id: SessionId,
    /// Serial of the session's current ID-Cert.
    pub cert_serial: i64,
    /// PEM of the session's current ID-Cert.
    pub cert_pem: String,
}

/// A session a foreign actor opened on this server.
#[derive(Debug, Clone)]
pub struct ForeignSession {
    /// Row id.
    pub id: i64,
    /// The foreign actor.
    pub fid: FederationId,
    /// Its session ID.
    pub session_id: SessionId,
    /// PEM of the ID-Cert it authenticated with (or updated to).
    pub cert_pem: String,
    /// End of that ID-Cert's validity: the session ends then at the latest.
    pub not_after: UnixTimestamp,
    /// When the actor's home server last confirmed the ID-Cert.
    pub checked_at: UnixTimestamp,
}

/// Who a session token belongs to.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A session of an actor registered here.
    Local(LocalSession),
    /// A session of a foreign actor.
    Foreign(ForeignSession),
}

impl Caller {
    /// The caller's Federation ID.
    pub fn fid(&self) -> &FederationId {
        match self {
            Caller::Local(s) => &s.fid,
            Caller::Foreign(s) => &s.fid,
        }
    }
}

/// A freshly issued actor ID-Cert to store.
#[derive(Debug, Clone)]
pub struct NewIdCert {
    /// Serial (unique across the server).
    pub serial: i64,
    /// Session ID in the subject.
    pub session_id: SessionId,
    /// PEM text.
    pub cert_pem: String,
    /// Validity start.
    pub not_before: UnixTimestamp,
    /// Validity end.
    pub not_after: UnixTimestamp,
    /// Serial of the root certificate that signed it.
    pub root_serial: i64,
}

/// A stored gateway event before it gets a sequence number.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// Namespace.
    pub n: &'static str,
    /// Opcode.
    pub op: u16,
    /// JSON payload.
    pub d: String,
}

impl PendingEvent {
    /// Serializes a typed payload.
    pub fn new<P: EventPayload>(payload: &P) -> Result<Self, serde_json::Error> {
        Ok(Self {
            n: P::NAMESPACE,
            op: P::OPCODE,
            d: serde_json::to_string(payload)?,
        })
    }
}

/// A validated KeyPackage to store.
#[derive(Debug, Clone)]
pub struct NewKeyPackage {
    /// Standard Base64 of the TLS encoding, exactly as received.
    pub body_b64: String,
    /// HPKE init key (unique across the server).
    pub init_key: Vec<u8>,
    /// End of its lifetime.
    pub not_after: UnixTimestamp,
    /// `true` for the session's last-resort KeyPackage.
    pub last_resort: bool,
}

/// Filters of `GET /idcert/actor/{fid}`.
#[derive(Debug, Clone, Default)]
pub struct ActorCertFilter {
    /// Only certificates valid at this time.
    pub at: Option<UnixTimestamp>,
    /// Only this session's certificates.
    pub session_id: Option<SessionId>,
}

/// Result of claiming KeyPackages for one session of an actor.
#[derive(Debug, Clone)]
pub struct ClaimedKeyPackage {
    /// Session the KeyPackage belongs to.
    pub session_id: SessionId,
    /// Base64 KeyPackage.
    pub body_b64: String,
    /// `true` if it was the (reused) last-resort KeyPackage.
    pub last_resort: bool,
}

/// A registration invite (`admin invite list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRecord {
    /// Row id (what `admin invite revoke` takes).
    pub id: i64,
    /// When it was made.
    pub created_at: UnixTimestamp,
    /// It cannot be used from this time on.
    pub expires_at: UnixTimestamp,
    /// Registrations it allows in all.
    pub max_uses: i64,
    /// Registrations made with it.
    pub used: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTimestamp>,
}

/// Persistent state. See the module docs for the durability contract.
pub trait Store: Send + Sync + 'static {
    /// Releases the backend's connections (a running server calls it when it
    /// stops). The default does nothing.
    fn close(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Creates an actor; `Conflict` if the local name is taken.
    fn create_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Looks up an actor by local name.
    fn actor_by_local_name(
        &self,
        local_name: &str,
    ) -> impl Future<Output = StoreResult<Option<ActorRecord>>> + Send;

    /// `true` if an actor with this Federation ID is registered.
    fn actor_exists(
        &self,
        fid: &FederationId,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;

    /// The current root certificate, if any.
    fn current_server_cert(
        &self,
    ) -> impl Future<Output = StoreResult<Option<ServerCertRecord>>> + Send;

    /// The root certificate that was current at `at`.
    fn server_cert_at(
        &self,
        at: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Option<ServerCertRecord>>> + Send;

    /// Makes `cert` the current root (closing the previous one at `now`) and
    /// queues `event` for every live local session.
    fn insert_server_cert(
        &self,
        serial: i64,
        cert_pem: &str,
        key_file: &str,
        now: UnixTimestamp,
        event: Option<PendingEvent>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a new session: its ID-Cert and token; queues `event` for the
    /// actor's other live sessions. `Conflict` if the session ID is live;
    /// `LimitReached` (nothing stored) if the actor already has `max_sessions`
    /// live sessions. The limit is checked in the same transaction as the
    /// insert, so concurrent creations never overshoot it.
    fn create_session(
        &self,
        actor_id: i64,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
        event: &PendingEvent,
        max_sessions: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Replaces a session's ID-Cert and token: the old cert is invalidated,
    /// the old token revoked, the session's KeyPackages deleted, and `event`
    /// is queued for the actor's other live sessions.
    fn rotate_session(
        &self,
        session: &LocalSession,
        cert: &NewIdCert,
        token_hash: &[u8],
        now: UnixTimestamp,
        event: &PendingEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Ends a live session of `actor_id`: invalidates its cert, revokes its
    /// token, deletes its KeyPackages and pending events, and queues the event
    /// that `make_event(serial)` returns for the actor's other sessions.
    /// Returns `false` if there is no such live session.
    fn end_session(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        now: UnixTimestamp,
        make_event: &(dyn Fn(i64) -> Option<PendingEvent> + Sync),
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Resolves a token hash to its live session.
    fn caller_by_token(
        &self,
        token_hash: &[u8],
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Option<Caller>>> + Send;

    /// The ID-Certs of a local actor (PEM, invalidated flag), oldest first.
    fn actor_certs(
        &self,
        actor_id: i64,
        filter: &ActorCertFilter,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Vec<(String, bool)>>> + Send;

    /// Opens (or re-opens) a foreign session, confirmed by its home server at
    /// `now` and ending at `not_after` at the latest, and stores its token; a
    /// previous live session with the same FID and session ID is ended.
    /// Returns `false` (and stores nothing) if the actor already has
    /// `max_sessions` other live foreign sessions here.
    #[allow(clippy::too_many_arguments)]
    fn open_foreign_session(
        &self,
        fid: &FederationId,
        session_id: &SessionId,
        cert_pem: &str,
        not_after: UnixTimestamp,
        token_hash: &[u8],
        now: UnixTimestamp,
        max_sessions: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Replaces the certificate of a foreign session (confirmed at `now`).
    fn update_foreign_cert(
        &self,
        id: i64,
        cert_pem: &str,
        not_after: UnixTimestamp,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Live foreign sessions last confirmed at or before `checked_before`, least
    /// recently confirmed first (ties by row ID), at most `limit`; with `after`
    /// = `(checked_at, id)` of the last session of the previous page, only those
    /// after it in that order (keyset paging through one round's due sessions).
    fn foreign_sessions_due(
        &self,
        checked_before: UnixTimestamp,
        after: Option<(UnixTimestamp, i64)>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ForeignSession>>> + Send;

    /// Ends the live foreign sessions last confirmed before `checked_before`
    /// (revoking their tokens); returns their row IDs.
    fn end_unconfirmed_foreign_sessions(
        &self,
        checked_before: UnixTimestamp,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;

    /// Deletes up to `limit` ended foreign sessions and all their tokens;
    /// returns how many sessions went.
    fn delete_ended_foreign_sessions(
        &self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Records that the home server confirmed a foreign session at `now`.
    fn mark_foreign_checked(
        &self,
        id: i64,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Ends the live foreign sessions whose ID-Cert expired before `now`
    /// (revoking their tokens); returns how many.
    fn end_expired_foreign_sessions(
        &self,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Number of live sessions (valid, not invalidated ID-Certs) of a local actor.
    fn live_session_count(
        &self,
        actor_id: i64,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Ends a foreign session and revokes its token.
    fn end_foreign_session(
        &self,
        id: i64,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds KeyPackages to a session (all or nothing), bound to the session's
    /// certificate `session.cert_serial`. In the same transaction: `NotFound` if
    /// that certificate is no longer the session's live one (an upload racing a
    /// rotation cannot survive it), `LimitReached` if the session would hold more
    /// than `max_per_session` KeyPackages, `Conflict` on a reused init key.
    fn add_key_packages(
        &self,
        session: &LocalSession,
        packages: &[NewKeyPackage],
        now: UnixTimestamp,
        max_per_session: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Hands out one KeyPackage per live session of the actor, only among the
    /// packages bound to the session's current certificate: a regular one
    /// (deleted on the way out) or else the last-resort one (kept). Queues a
    /// low-KeyPackages event (built by `low_event(remaining, last_resort_used)`)
    /// for sessions that run low (replacing a notice still pending).
    fn claim_key_packages(
        &self,
        actor_id: i64,
        now: UnixTimestamp,
        low_watermark: u64,
        low_event: &(dyn Fn(u64, bool) -> Option<PendingEvent> + Sync),
    ) -> impl Future<Output = StoreResult<Vec<ClaimedKeyPackage>>> + Send;

    /// Removes and returns the pending events of a session, oldest first, with their ids.
    fn take_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
    ) -> impl Future<Output = StoreResult<Vec<(i64, String, u16, String)>>> + Send;

    // ---- operator-made administrators (issue 7 item 4) ----

    /// Creates an actor on the operator's behalf (`admin create`); `Conflict` if the name is taken.
    fn create_operator_actor(
        &self,
        fid: &FederationId,
        password_hash: &str,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Sets an actor's password on the operator's behalf (`admin reset-password`),
    /// marks it operator-made, and ends all its live sessions (certificates
    /// invalidated, tokens revoked, KeyPackages and pending events deleted).
    /// Returns the number of sessions ended, `None` if there is no such actor.
    fn reset_actor_password(
        &self,
        fid: &FederationId,
        password_hash: &str,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;

    /// `true` if the actor was created or last reset by the operator.
    fn is_operator_made(&self, actor_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    // --- Event queue (gateway and GET /events) ---

    /// Every batch of events committed from now on (see [`bus`]).
    fn subscribe_events(&self) -> broadcast::Receiver<EventBatch>;

    /// Every session change committed from now on (see [`bus`]).
    fn subscribe_sessions(&self) -> broadcast::Receiver<SessionNotice>;

    /// Calls `hook` with every [`SessionNotice`] from now on, synchronously:
    /// a write method that changes what a notice announces calls it after
    /// its commit and before it returns ([`EventBus::watch`]). Among others,
    /// [`SessionNotice::ActorCertsChanged`] from `create_session`,
    /// `rotate_session`, `end_session` and `reset_actor_password` (when it
    /// ended a session), and [`SessionNotice::ServerCertChanged`] from
    /// `insert_server_cert`.
    fn watch_sessions(&self, hook: NoticeHook);

    /// The pending events of a session with an id above `after`, oldest first
    /// (not removed), read by a holder of the certificate `cert_serial`:
    /// `NotFound` (and nothing read) once that certificate is no longer the
    /// session's live one, so a revoked holder never sees a successor's events.
    fn pending_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        cert_serial: i64,
        after: i64,
    ) -> impl Future<Output = StoreResult<Vec<StoredEvent>>> + Send;

    /// Removes the acknowledged events `ids` of a session on behalf of the
    /// holder of certificate `cert_serial`; returns how many were removed.
    /// `NotFound` (and nothing removed) once that certificate is no longer the
    /// session's live one (not checked when `ids` is empty: nothing to remove).
    fn ack_events(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        cert_serial: i64,
        ids: &[i64],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The serials among `serials` whose certificates are no longer live
    /// (invalidated, or expired at `now`): the gateway's periodic
    /// re-validation, which also sees revocations made by another process
    /// (`admin reset-password`). Asks for the dead ones, so a serial the
    /// query cannot see is never reported.
    fn dead_cert_serials(
        &self,
        serials: &[i64],
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;

    /// Removes every event of a session with an id up to `upto` (a cursor acknowledgement).
    fn ack_events_through(
        &self,
        actor_id: i64,
        session_id: &SessionId,
        upto: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Deletes the events of sessions that ended or expired; returns how many.
    fn prune_events(&self, now: UnixTimestamp) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Queues `event` for the live local sessions of the actor `actor_id` (only
    /// `session` when given) in one transaction, publishes what it committed
    /// on the bus, and returns how many sessions it was queued for (0 when the
    /// actor has no live session, or `session` is not live). Queues over the
    /// per-session bound lose their oldest events, as with every other event.
    fn queue_event(
        &self,
        actor_id: i64,
        session: Option<&SessionId>,
        event: &PendingEvent,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    // ---- registration invites (issue 13 item 12) ----
    /// `true` if the invite with this token hash exists, is not revoked, not
    /// expired and not used up.
    fn invite_usable(
        &self,
        token_hash: &[u8; 32],
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Stores a new invite (only the token's hash) allowing `max_uses`
    /// registrations (at least 1) until `expires_at`; returns its id.
    fn create_invite(
        &self,
        token_hash: &[u8; 32],
        max_uses: u32,
        now: UnixTimestamp,
        expires_at: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Every invite, oldest first.
    fn list_invites(&self) -> impl Future<Output = StoreResult<Vec<InviteRecord>>> + Send;

    /// Revokes an invite; `false` if there is no such invite or it was revoked already.
    fn revoke_invite(
        &self,
        id: i64,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Creates an actor and uses one use of the invite, in one transaction:
    /// `NotFound` (nothing created) if the invite is not usable, `Conflict` (the
    /// invite not used) if the local name is taken.
    fn create_actor_with_invite(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
        token_hash: &[u8; 32],
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    // ---- what several instances of one server share (issue 15) ----

    /// `true` if the store keeps the server's private keys itself (sealed with
    /// the key-encryption key), so that every instance sharing it signs with
    /// the same keys; `false` (the default) leaves them to files in the
    /// server's key directory.
    fn keeps_server_keys(&self) -> bool {
        false
    }

    /// Stores the sealed private key of the root certificate `serial` (before
    /// the certificate itself is stored). A store that does not keep keys
    /// answers `NotFound`.
    fn put_server_key(
        &self,
        serial: i64,
        sealed: &[u8],
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        let _ = (serial, sealed, now);
        async { Err(StoreError::NotFound) }
    }

    /// The sealed private key of the root certificate `serial`, if the store keeps it.
    fn server_key(&self, serial: i64) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send {
        let _ = serial;
        async { Ok(None) }
    }

    /// Takes (or renews) the lease of the background job `job` for `holder`
    /// until `until`: `true` if `holder` may run the job's round now (no other
    /// holder's lease is running at `now`). The default, for a store served by
    /// one process, always grants it.
    fn lease_job(
        &self,
        job: &str,
        holder: u64,
        now: UnixTimestamp,
        until: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        let _ = (job, holder, now, until);
        async { Ok(true) }
    }

    /// Counts one hit on each of the rate-limit counters `keys` in the fixed
    /// window starting at `window_start` and returns each counter's hits in
    /// that window so far (this one included, in the order of `keys`), counted
    /// across every instance sharing the store; `None` (the default) when the
    /// store does not count and the server's in-memory limits are the only ones.
    fn count_hits(
        &self,
        keys: &[String],
        window_start: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<Option<Vec<u64>>>> + Send {
        let _ = (keys, window_start);
        async { Ok(None) }
    }

    // ---- challenges of `GET /challenge` (issue 14 item 2) ----
    //
    // Part of the store so that server instances sharing one backend share
    // them: a challenge issued by one instance can be answered at another,
    // once in all. A backend serving one process may keep them in memory
    // (the SQLite store does: no write per `GET /challenge`); a restart may
    // forget them (clients then fetch a new one).

    /// Records `challenge` as issued to a client of `network` at `now`. When
    /// `max_outstanding` challenges (at least 1) are outstanding in all, or
    /// `max_per_network` (at least 1) for `network`, expired ones are dropped
    /// first; if a bound is still reached, nothing is stored and the inner
    /// result says which bound (`Network` when both are). The bounds are exact
    /// under concurrent issues. Issuing the same text twice keeps the first.
    fn issue_challenge(
        &self,
        challenge: &ChallengeString,
        network: Network,
        now: UnixTimestamp,
        max_outstanding: u64,
        max_per_network: u64,
    ) -> impl Future<Output = StoreResult<Result<(), ChallengeStoreFull>>> + Send;

    /// The challenge as issued (text and expiry) while it is outstanding:
    /// not taken and not pruned, expired or not (so that the caller can tell
    /// an expired challenge from an unknown one). Does not use it up.
    fn issued_challenge(
        &self,
        challenge: &str,
    ) -> impl Future<Output = StoreResult<Option<ChallengeString>>> + Send;

    /// Uses a challenge up: `true` for exactly one caller (also among
    /// concurrent ones) if it is outstanding and not expired at `now`
    /// (`now` > expiry); `false` otherwise, and an expired challenge is never
    /// accepted.
    fn take_challenge(
        &self,
        challenge: &str,
        now: UnixTimestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Drops the challenges that expired before `now` (and only those);
    /// returns how many.
    fn prune_challenges(&self, now: UnixTimestamp)
    -> impl Future<Output = StoreResult<u64>> + Send;
}
