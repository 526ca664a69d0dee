//! Outstanding challenge strings, kept in memory.
//!
//! Issuing a challenge is a map insert under a short lock: no database write,
//! no fsync. The map is bounded (`--max-challenges`); expired entries are
//! dropped by a periodic sweep ([`ChallengeStore::prune`]) and, when the map
//! is full, right away. A challenge is removed when it is used, so it can be
//! used once. A restart forgets every outstanding challenge: clients then get
//! `P2CORE_CHALLENGE_UNKNOWN` and fetch a new one (see docs/protocol-choices.md).

use std::collections::HashMap;
use std::sync::Mutex;

use p2core_types::{ChallengeString, UnixTimestamp};

/// The store is full of unexpired challenges.
#[derive(Debug, thiserror::Error)]
#[error("too many challenges are outstanding")]
pub struct ChallengeStoreFull;

/// Bounded map from challenge text to its expiry.
#[derive(Debug)]
pub struct ChallengeStore {
    max: usize,
    map: Mutex<HashMap<String, UnixTimestamp>>,
}

impl ChallengeStore {
    /// A store holding at most `max` challenges (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, UnixTimestamp>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an issued challenge. When the store is full, expired entries
    /// are dropped first; if it is still full, the challenge is refused.
    pub fn insert(
        &self,
        challenge: &ChallengeString,
        now: UnixTimestamp,
    ) -> Result<(), ChallengeStoreFull> {
        let mut map = self.map();
        if map.len() >= self.max {
            map.retain(|_, expires| *expires >= now);
            if map.len() >= self.max {
                return Err(ChallengeStoreFull);
            }
        }
        map.insert(challenge.challenge().to_owned(), challenge.expires());
        Ok(())
    }

    /// The challenge as issued (with its expiry), if it is outstanding. Does not use it up.
    pub fn get(&self, challenge: &str) -> Option<ChallengeString> {
        let expires = *self.map().get(challenge)?;
        ChallengeString::new(challenge.to_owned(), expires).ok()
    }

    /// Uses a challenge up: `true` for exactly one caller if it was outstanding.
    pub fn take(&self, challenge: &str) -> bool {
        self.map().remove(challenge).is_some()
    }

    /// Drops the challenges that expired before `now`; returns how many.
    pub fn prune(&self, now: UnixTimestamp) -> usize {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, expires| *expires >= now);
        let removed = before - map.len();
        if map.capacity() > 2 * map.len().max(1024) {
            map.shrink_to_fit();
        }
        removed
    }

    /// Number of outstanding challenges (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// `true` if no challenge is outstanding.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn single_use_bounded_and_pruned() {
        let store = ChallengeStore::new(2);
        let now = UnixTimestamp(1000);
        let a = ChallengeString::generate(now, Duration::from_secs(10));
        let b = ChallengeString::generate(now, Duration::from_secs(20));
        store.insert(&a, now).unwrap();
        store.insert(&b, now).unwrap();
        let c = ChallengeString::generate(now, Duration::from_secs(10));
        assert!(
            store.insert(&c, now).is_err(),
            "full of unexpired challenges"
        );
        assert_eq!(store.get(a.challenge()).unwrap().expires(), a.expires());
        assert!(store.take(a.challenge()));
        assert!(!store.take(a.challenge()), "a challenge is used once");
        assert!(store.get(a.challenge()).is_none());
        // once b expired, a full store makes room by dropping it
        store.insert(&c, now).unwrap();
        let later = UnixTimestamp(1025);
        let d = ChallengeString::generate(later, Duration::from_secs(10));
        store.insert(&d, later).unwrap();
        assert_eq!(store.len(), 1, "b and c expired and were dropped");
        assert_eq!(store.prune(UnixTimestamp(2000)), 1);
        assert!(store.is_empty());
    }
}
