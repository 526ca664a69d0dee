//! Negative cache: domains whose home server recently could not be reached
//! (connection refused, TLS or DNS failure, timeout, HTTP 5xx) are not asked
//! again until the entry expires, so that a dead or tarpit server costs one
//! request per expiry period instead of one per incoming request.
//!
//! Bounded: at most `capacity` entries; when full, expired entries go first,
//! then the one that expires soonest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use p2core_types::DomainName;

/// Recently failed domains with the reason (this server's own words).
pub struct FailureCache {
    capacity: usize,
    ttl: Duration,
    entries: HashMap<DomainName, (Instant, String)>,
}

impl FailureCache {
    /// A cache of at most `capacity` entries (at least 1), each kept for
    /// `ttl` (zero: nothing is cached).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            entries: HashMap::new(),
        }
    }

    /// The reason and the time left if `domain` failed less than the TTL ago.
    pub fn get(&mut self, domain: &DomainName) -> Option<(String, Duration)> {
        let (until, reason) = self.entries.get(domain)?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.entries.remove(domain);
            return None;
        }
        Some((reason.clone(), left))
    }

    /// Records that `domain` failed for `reason`.
    pub fn insert(&mut self, domain: DomainName, reason: String) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        if !self.entries.contains_key(&domain) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, (until, _)| *until > now);
            if self.entries.len() >= self.capacity
                && let Some(soonest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (until, _))| *until)
                    .map(|(d, _)| d.clone())
            {
                self.entries.remove(&soonest);
            }
        }
        self.entries.insert(domain, (now + self.ttl, reason));
    }

    /// Forgets `domain` (it answered).
    pub fn remove(&mut self, domain: &DomainName) {
        self.entries.remove(domain);
    }

    /// Number of entries (expired ones included until they are looked at).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if there are no entries.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DomainName {
        DomainName::new(s).unwrap()
    }

    #[test]
    fn bounded_and_expiring() {
        let mut cache = FailureCache::new(3, Duration::from_secs(60));
        for i in 0..10 {
            cache.insert(d(&format!("d{i}.example")), "down".into());
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        // the newest survive (the soonest-expiring went first)
        assert!(cache.get(&d("d9.example")).is_some());
        assert!(cache.get(&d("d0.example")).is_none());
        cache.remove(&d("d9.example"));
        assert!(cache.get(&d("d9.example")).is_none());

        let mut off = FailureCache::new(3, Duration::ZERO);
        off.insert(d("a.example"), "down".into());
        assert!(off.is_empty());
    }
}
