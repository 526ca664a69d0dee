//! A bounded cache of foreign servers' current root certificates: entries
//! expire after a TTL, and when it is full the least recently used one goes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use p2core_types::{DomainName, IdCert};

struct Entry {
    cert: IdCert,
    fetched: Instant,
    last_used: u64,
}

/// LRU + TTL cache keyed by domain.
pub struct RootCache {
    capacity: usize,
    ttl: Duration,
    clock: u64,
    entries: HashMap<DomainName, Entry>,
}

impl RootCache {
    /// A cache of at most `capacity` entries (at least 1), each fresh for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The cached root of `domain` if it is fresh and was fetched at or after
    /// `not_before` (when given); marks it used.
    pub fn get(&mut self, domain: &DomainName, not_before: Option<Instant>) -> Option<IdCert> {
        self.clock += 1;
        let now = self.clock;
        let ttl = self.ttl;
        let entry = self.entries.get_mut(domain)?;
        if entry.fetched.elapsed() >= ttl {
            self.entries.remove(domain);
            return None;
        }
        if not_before.is_some_and(|t| entry.fetched < t) {
            return None;
        }
        entry.last_used = now;
        Some(entry.cert.clone())
    }

    /// Stores `cert` as the root of `domain`, evicting expired entries and then
    /// the least recently used one if the cache is full.
    pub fn insert(&mut self, domain: DomainName, cert: IdCert) {
        self.clock += 1;
        if !self.entries.contains_key(&domain) && self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries.retain(|_, e| e.fetched.elapsed() < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(d, _)| d.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(
            domain,
            Entry {
                cert,
                fetched: Instant::now(),
                last_used: self.clock,
            },
        );
    }

    /// Number of cached roots.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p2core_types::UnixTimestamp;

    fn root(domain: &str) -> (DomainName, IdCert) {
        let key = ed25519_dalek::SigningKey::from_bytes(&p2core_types::random::bytes::<32>());
        let d = DomainName::new(domain).unwrap();
        let now = UnixTimestamp::now();
        let cert =
            p2core_certs::create_root_cert(&key, &d, now, UnixTimestamp(now.0 + 3600), 5).unwrap();
        (d, cert)
    }

    #[test]
    fn least_recently_used_goes_first_and_ttl_applies() {
        let mut cache = RootCache::new(2, Duration::from_secs(3600));
        let (a, ra) = root("a.example");
        let (b, rb) = root("b.example");
        let (c, rc) = root("c.example");
        cache.insert(a.clone(), ra.clone());
        cache.insert(b.clone(), rb);
        assert_eq!(cache.get(&a, None).unwrap().as_der(), ra.as_der()); // a is now the newest
        cache.insert(c.clone(), rc);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b, None).is_none(), "b was least recently used");
        assert!(cache.get(&a, None).is_some() && cache.get(&c, None).is_some());
        // an entry fetched before the wanted instant does not count
        assert!(cache.get(&a, Some(Instant::now())).is_none());

        let mut expired = RootCache::new(2, Duration::ZERO);
        expired.insert(a.clone(), ra);
        assert!(expired.get(&a, None).is_none() && expired.is_empty());
    }
}
