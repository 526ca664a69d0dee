//! Publishing events after their transaction commits.
//!
//! Every [`Store`](super::Store) method that queues events hands the rows it
//! committed to an [`EventBus`]; the gateway subscribes to the bus and
//! delivers them to the connections of the sessions they concern. The bus
//! only carries *notifications*: the queue itself is the `events` table, so a
//! subscriber that falls behind ([`broadcast::error::RecvError::Lagged`])
//! reads what it missed from the store.
//!
//! The bus also carries [`SessionNotice`]s: which certificate generations of
//! local sessions stopped authenticating (revoked tokens) or became a session
//! ID's current one. The gateway closes the sockets of revoked generations at
//! once (close 4004). Notices are announced before any later event batch, so
//! a subscriber that reads notices first never routes a later event to a
//! socket of a replaced generation.
//!
//! The bus carries two more notices that no socket cares about but caches
//! do: [`SessionNotice::ActorCertsChanged`] (a local actor's ID-Cert list
//! changed: a certificate was issued or invalidated) and
//! [`SessionNotice::ServerCertChanged`] (the root certificate was replaced).
//! Besides the asynchronous receivers, [`EventBus::watch`] registers hooks
//! that [`EventBus::announce`] calls *synchronously*, before it returns: a
//! store announces after its commit and before its write method returns, so
//! a hook has acted before the write is acknowledged to anyone; the server's
//! response cache relies on it to never serve a list that an acknowledged
//! write changed.
//!
//! [`LocalEventBus`] is the in-process implementation (a tokio broadcast
//! channel) used by the SQLite store. A backend shared by several server
//! processes would implement [`EventBus`] on top of its own fan-out (e.g.
//! PostgreSQL `LISTEN/NOTIFY`), feeding a local broadcast channel on each
//! process; the gateway code stays the same.

use std::sync::Arc;

use p2core_types::SessionId;
use tokio::sync::broadcast;

/// One event row as committed.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Its id in the queue (increases in commit order; never reused).
    pub id: i64,
    /// Recipient actor.
    pub actor_id: i64,
    /// Recipient session.
    pub session_id: SessionId,
    /// Namespace.
    pub n: Arc<str>,
    /// Opcode.
    pub op: u16,
    /// JSON payload text.
    pub d: Arc<str>,
}

/// The events one transaction committed, in id order.
pub type EventBatch = Arc<[StoredEvent]>;

/// A committed change to which ID-Cert (by serial) a local session's tokens belong to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionNotice {
    /// The tokens of these certificates were revoked (session ended, ID-Cert
    /// rotated, password reset): they authenticate nobody any more.
    Revoked(Arc<[i64]>),
    /// The session ID `session_id` of actor `actor_id` now belongs to the
    /// certificate `serial` (a new session reusing the ID, or a rotation):
    /// whatever was authenticated by another certificate of it is stale.
    Current {
        /// The actor's row id.
        actor_id: i64,
        /// The session ID.
        session_id: SessionId,
        /// Serial of the session's current certificate.
        serial: i64,
    },
    /// The ID-Cert list of the local actor `actor_id` changed: a certificate
    /// was issued (new session, rotation) or invalidated (rotation, session
    /// end, password reset). What `GET /idcert/actor/{fid}` answers changed.
    ActorCertsChanged {
        /// The actor's row id.
        actor_id: i64,
    },
    /// The server's current root certificate was replaced (rotation, renewal):
    /// what `GET /idcert/server` and `GET /key/server` answer changed.
    ServerCertChanged,
    /// Notices or event batches may have been missed (a backend shared by
    /// several processes lost its notification channel for a moment): every
    /// subscriber re-reads what it holds from the store (the gateway re-reads
    /// every socket's queue and re-validates every socket, caches drop
    /// everything).
    Resync,
}

/// A hook [`EventBus::announce`] calls synchronously with every notice (see the module docs).
pub type NoticeHook = Arc<dyn Fn(&SessionNotice) + Send + Sync>;

/// The hooks of a bus (shared by its clones).
#[derive(Clone, Default)]
struct Hooks(Arc<std::sync::RwLock<Vec<NoticeHook>>>);

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map_or(0, |h| h.len());
        f.debug_struct("Hooks").field("count", &n).finish()
    }
}

impl Hooks {
    fn add(&self, hook: NoticeHook) {
        // A poisoned lock only means a hook panicked while being added or run:
        // the list itself is intact.
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(hook);
    }

    fn run(&self, notice: &SessionNotice) {
        let hooks = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for h in hooks.iter() {
            h(notice);
        }
    }
}

/// Fan-out of committed events to the gateway.
pub trait EventBus: Send + Sync + 'static {
    /// Announces a committed batch (called after the commit, in commit order).
    fn publish(&self, batch: EventBatch);
    /// A receiver of every batch published from now on.
    fn subscribe(&self) -> broadcast::Receiver<EventBatch>;
    /// Announces a committed session change (after the commit, before the
    /// event batches of later commits).
    fn announce(&self, notice: SessionNotice);
    /// A receiver of every notice announced from now on.
    fn subscribe_sessions(&self) -> broadcast::Receiver<SessionNotice>;
    /// Registers `hook`, which [`announce`](Self::announce) calls with every
    /// notice from now on, synchronously, before it returns (hooks must be
    /// quick and must not block). A backend shared by several processes calls
    /// the hooks of each process for notices from the others too, as they
    /// arrive.
    fn watch(&self, hook: NoticeHook);
}

/// In-process [`EventBus`]: tokio broadcast channels.
#[derive(Debug, Clone)]
pub struct LocalEventBus {
    tx: broadcast::Sender<EventBatch>,
    sessions: broadcast::Sender<SessionNotice>,
    hooks: Hooks,
}

impl LocalEventBus {
    /// A bus that buffers up to `capacity` batches (and as many notices) for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
            sessions: broadcast::channel(capacity.max(1)).0,
            hooks: Hooks::default(),
        }
    }
}

impl Default for LocalEventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl EventBus for LocalEventBus {
    fn publish(&self, batch: EventBatch) {
        if !batch.is_empty() {
            // No subscriber is not an error: the events stay queued in the store.
            let _ = self.tx.send(batch);
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<EventBatch> {
        self.tx.subscribe()
    }

    fn announce(&self, notice: SessionNotice) {
        // The hooks first: they have acted when the store's write returns.
        self.hooks.run(&notice);
        // No subscriber: no gateway socket to close.
        let _ = self.sessions.send(notice);
    }

    fn subscribe_sessions(&self) -> broadcast::Receiver<SessionNotice> {
        self.sessions.subscribe()
    }

    fn watch(&self, hook: NoticeHook) {
        self.hooks.add(hook);
    }
}
