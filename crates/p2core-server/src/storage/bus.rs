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
}

/// In-process [`EventBus`]: tokio broadcast channels.
#[derive(Debug, Clone)]
pub struct LocalEventBus {
    tx: broadcast::Sender<EventBatch>,
    sessions: broadcast::Sender<SessionNotice>,
}

impl LocalEventBus {
    /// A bus that buffers up to `capacity` batches (and as many notices) for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
            sessions: broadcast::channel(capacity.max(1)).0,
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
        // No subscriber: no gateway socket to close.
        let _ = self.sessions.send(notice);
    }

    fn subscribe_sessions(&self) -> broadcast::Receiver<SessionNotice> {
        self.sessions.subscribe()
    }
}
