//! Per-domain limit of outgoing federation requests in flight, so that one
//! slow (or tarpit) home server cannot hold every request slot of the
//! federation client.
//!
//! The map holds an entry only while some request for that domain holds or
//! waits for one of its slots: the guard's `Drop` removes the entry when it
//! is the last user, so a request that is cancelled (its future dropped, e.g.
//! because the client hung up) leaves nothing behind. The map therefore never
//! holds more entries than there are federation requests in progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use p2core_types::DomainName;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The per-domain semaphores.
pub struct DomainSlots {
    per_domain: usize,
    map: Arc<Mutex<HashMap<DomainName, Arc<Semaphore>>>>,
}

/// A claim on a domain's entry; its permit (once acquired) is one of the
/// domain's slots. Dropping it releases both.
pub struct DomainSlot {
    domain: DomainName,
    semaphore: Arc<Semaphore>,
    map: Arc<Mutex<HashMap<DomainName, Arc<Semaphore>>>>,
    permit: Option<OwnedSemaphorePermit>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DomainSlots {
    /// At most `per_domain` (at least 1) requests in flight per domain.
    pub fn new(per_domain: usize) -> Self {
        Self {
            per_domain: per_domain.max(1),
            map: Arc::default(),
        }
    }

    /// Waits for one of `domain`'s slots. Cancellation-safe: dropping the
    /// future (or the returned slot) cleans up the domain's entry.
    pub async fn acquire(&self, domain: &DomainName) -> DomainSlot {
        let semaphore = lock(&self.map)
            .entry(domain.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_domain)))
            .clone();
        let mut slot = DomainSlot {
            domain: domain.clone(),
            semaphore: semaphore.clone(),
            map: self.map.clone(),
            permit: None,
        };
        // The semaphore is never closed, so this does not fail.
        slot.permit = semaphore.acquire_owned().await.ok();
        slot
    }

    /// Number of domains with requests in flight or waiting (for tests and metrics).
    pub fn domains(&self) -> usize {
        lock(&self.map).len()
    }
}

impl Drop for DomainSlot {
    fn drop(&mut self) {
        self.permit = None;
        let mut map = lock(&self.map);
        // Users are the map itself plus one per live guard (ours included); the
        // count only changes under the lock, so this is exact.
        if Arc::strong_count(&self.semaphore) == 2 {
            map.remove(&self.domain);
        }
    }
}
