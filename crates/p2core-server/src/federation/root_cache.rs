//! A bounded cache of foreign servers' current root certificates: entries
//! expire after a TTL, and when it is full the least recently used one goes.
//! Each entry also keeps up to [`MAX_OLDER_ROOTS`] older roots of that server
//! (fetched with `?timestamp=`) and when the last of those was fetched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use p2core_types::{DomainName, IdCert};

/// Most older roots kept per domain (the oldest goes first).
pub const MAX_OLDER_ROOTS: usize = 4;

struct Entry {
    cert: IdCert,
    fetched: Instant,
    last_used: u64,
    older: Vec<IdCert>,
    older_fetched: Option<Instant>,
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
        let clock = self.clock;
        let now = Instant::now();
        let entry = self.entries.entry(domain).or_insert_with(|| Entry {
            cert: cert.clone(),
            fetched: now,
            last_used: clock,
            older: Vec::new(),
            older_fetched: None,
        });
        entry.cert = cert;
        entry.fetched = now;
        entry.last_used = clock;
    }

    /// The older roots kept for `domain` (none if its current root is not cached).
    pub fn older_roots(&self, domain: &DomainName) -> Vec<IdCert> {
        self.entries
            .get(domain)
            .map(|e| e.older.clone())
            .unwrap_or_default()
    }

    /// `true` (and the time recorded) if an older root of `domain` may be
    /// fetched now: its current root is cached and no older root was fetched
    /// less than `floor` ago.
    pub fn claim_older_fetch(&mut self, domain: &DomainName, floor: Duration) -> bool {
        let Some(entry) = self.entries.get_mut(domain) else {
            return false;
        };
        if entry.older_fetched.is_some_and(|t| t.elapsed() < floor) {
            return false;
        }
        entry.older_fetched = Some(Instant::now());
        true
    }

    /// Keeps `root` as an older root of `domain` (if its entry still exists).
    pub fn add_older_root(&mut self, domain: &DomainName, root: IdCert) {
        if let Some(entry) = self.entries.get_mut(domain)
            && !entry.older.iter().any(|r| r.as_der() == root.as_der())
        {
            if entry.older.len() >= MAX_OLDER_ROOTS {
                entry.older.remove(0);
            }
            entry.older.push(root);
        }
    }

    /// Number of cached roots.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if nothing is cached.
    #[cfg(test)]
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

        // older roots: claimed at most once per floor, bounded per domain
        assert!(cache.claim_older_fetch(&a, Duration::from_secs(30)));
        assert!(!cache.claim_older_fetch(&a, Duration::from_secs(30)));
        assert!(
            !cache.claim_older_fetch(&b, Duration::from_secs(30)),
            "b is not cached"
        );
        for i in 0..6 {
            cache.add_older_root(&a, root(&format!("o{i}.example")).1);
        }
        assert_eq!(cache.older_roots(&a).len(), MAX_OLDER_ROOTS);

        let mut expired = RootCache::new(2, Duration::ZERO);
        expired.insert(a.clone(), ra);
        assert!(expired.get(&a, None).is_none() && expired.is_empty());
    }
}
