//! Publishing events after their transaction commits.
//!
//! Every [`Store`](super::Store) method that queues events hands the rows it
//! committed to an [`EventBus`]; the gateway subscribes to the bus and
//! delivers them to the connections of the sessions they concern. The bus
//! only carries *notifications*: the queue itself is the `events` table, so a
//! subscriber that falls behind ([`broadcast::error::RecvError::Lagged`])
//! reads what it missed from the store.
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

/// Fan-out of committed events to the gateway.
pub trait EventBus: Send + Sync + 'static {
    /// Announces a committed batch (called after the commit, in commit order).
    fn publish(&self, batch: EventBatch);
    /// A receiver of every batch published from now on.
    fn subscribe(&self) -> broadcast::Receiver<EventBatch>;
}

/// In-process [`EventBus`]: a tokio broadcast channel.
#[derive(Debug, Clone)]
pub struct LocalEventBus {
    tx: broadcast::Sender<EventBatch>,
}

impl LocalEventBus {
    /// A bus that buffers up to `capacity` batches for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
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
}
