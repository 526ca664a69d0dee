//! Keyed token buckets with several levels and a hard bound on their number.
//!
//! Each key belongs to a level (e.g. an IPv6 /64, the /56 around it and the
//! /48 around that); a request names one key per level and is admitted only if
//! every one of them has a token left, and then takes a token from each (all
//! or nothing, under one lock). A bucket is a GCRA "theoretical arrival time":
//! a key whose time has passed holds a full bucket and is forgotten.
//!
//! Memory is bounded: at most `max_keys` keys are held. Keys are also kept in
//! an expiry-ordered index, so forgetting full buckets and, when the bound is
//! reached, evicting the key with the least debt (the one closest to a full
//! bucket; it only gets its full bucket a little early) both cost O(log n)
//! per key, never a scan of the whole map.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One level's quota: `per_minute` tokens per minute, all of them available in one burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Nanoseconds between two tokens.
    interval_ns: u64,
    /// Nanoseconds of debt a full burst amounts to (`per_minute × interval`).
    tolerance_ns: u64,
}

impl Level {
    /// `per_minute` tokens per minute (and the burst); `None` for 0 (no limit on this level).
    pub fn per_minute(per_minute: u64) -> Option<Self> {
        if per_minute == 0 {
            return None;
        }
        let interval_ns = (60_000_000_000 / per_minute).max(1);
        Some(Self {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(per_minute),
        })
    }
}

#[derive(Debug)]
struct Inner<K> {
    /// Key → theoretical arrival time (ns since `base`).
    tat: HashMap<K, u64>,
    /// The same entries ordered by time, for expiry and eviction.
    order: BTreeSet<(u64, K)>,
}

/// Bounded multi-level keyed token buckets.
#[derive(Debug)]
pub struct Buckets<K> {
    levels: Vec<Option<Level>>,
    max_keys: usize,
    base: Instant,
    inner: Mutex<Inner<K>>,
}

impl<K: Hash + Eq + Ord + Clone> Buckets<K> {
    /// Buckets with the given levels (`None`: unlimited level, its keys are ignored)
    /// holding at most `max_keys` keys (at least 16).
    pub fn new(levels: Vec<Option<Level>>, max_keys: usize) -> Self {
        Self {
            levels,
            max_keys: max_keys.max(16),
            base: Instant::now(),
            inner: Mutex::new(Inner {
                tat: HashMap::new(),
                order: BTreeSet::new(),
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner<K>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes one token from each `(key, level)` if all have one; else the wait
    /// until they all will (nothing is taken then).
    pub fn check(&self, keys: &[(K, usize)]) -> Result<(), Duration> {
        self.check_at(keys, self.now_ns())
    }

    fn check_at(&self, keys: &[(K, usize)], now: u64) -> Result<(), Duration> {
        let mut inner = self.inner();
        expire(&mut inner, now);
        let mut wait = 0u64;
        let mut updates = Vec::with_capacity(keys.len());
        for (key, level) in keys {
            let Some(Some(l)) = self.levels.get(*level) else {
                continue;
            };
            let tat = inner.tat.get(key).copied().unwrap_or(now).max(now);
            let new = tat.saturating_add(l.interval_ns);
            let debt = new - now;
            if debt > l.tolerance_ns {
                wait = wait.max(debt - l.tolerance_ns);
            } else {
                updates.push((key, new));
            }
        }
        if wait > 0 {
            return Err(Duration::from_nanos(wait));
        }
        for (key, new) in updates {
            match inner.tat.get(key).copied() {
                Some(old) => {
                    inner.order.remove(&(old, key.clone()));
                }
                None => {
                    while inner.tat.len() >= self.max_keys {
                        let Some((_, evicted)) = inner.order.pop_first() else {
                            break;
                        };
                        inner.tat.remove(&evicted);
                    }
                }
            }
            inner.tat.insert(key.clone(), new);
            inner.order.insert((new, key.clone()));
        }
        Ok(())
    }

    /// Forgets keys whose bucket is full again; returns how many.
    pub fn prune(&self) -> usize {
        let now = self.now_ns();
        let mut inner = self.inner();
        let n = expire(&mut inner, now);
        if inner.tat.capacity() > 2 * inner.tat.len().max(1024) {
            inner.tat.shrink_to_fit();
        }
        n
    }

    /// Number of keys held (at most the bound given to [`new`](Self::new), at least 16).
    pub fn len(&self) -> usize {
        self.inner().tat.len()
    }

    /// `true` if no key is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound on [`len`](Self::len).
    #[cfg(test)]
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }
}

/// Drops the entries whose time has come (their bucket is full): O(log n) each.
fn expire<K: Hash + Eq + Ord + Clone>(inner: &mut Inner<K>, now: u64) -> usize {
    let mut n = 0;
    while let Some((t, _)) = inner.order.first() {
        if *t > now {
            break;
        }
        if let Some((_, key)) = inner.order.pop_first() {
            inner.tat.remove(&key);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn every_level_must_pass_and_a_refusal_takes_nothing() {
        // level 0: 2 per minute per key; level 1: 3 per minute for the group
        let b = Buckets::new(vec![Level::per_minute(2), Level::per_minute(3)], 100);
        let req = |k: &'static str| [(k, 0), ("group", 1)];
        assert!(b.check_at(&req("a"), 0).is_ok());
        assert!(b.check_at(&req("a"), 0).is_ok());
        assert!(b.check_at(&req("a"), 0).is_err(), "a's own bucket is empty");
        assert!(b.check_at(&req("b"), 0).is_ok(), "the group has one left");
        let wait = b.check_at(&req("c"), 0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20), "one group token per 20 s");
        // c's refusal did not take c's token: after 20 s c gets in at once
        assert!(b.check_at(&req("c"), 20 * SEC).is_ok());
        assert!(
            b.check_at(&req("c"), 20 * SEC).is_err(),
            "the group is empty again"
        );
        // after a minute everything is full again and forgotten
        assert_eq!(b.check_at(&[("x", 0)], 200 * SEC).map(|_| b.len()), Ok(1));
    }

    #[test]
    fn the_key_count_never_exceeds_the_bound_and_debtors_are_kept() {
        let b = Buckets::new(vec![Level::per_minute(60)], 16);
        // a debtor that took its whole burst (a minute of debt)
        for _ in 0..60 {
            assert!(b.check_at(&[(u32::MAX, 0)], 0).is_ok());
        }
        assert!(b.check_at(&[(u32::MAX, 0)], 0).is_err());
        for k in 0..10_000u32 {
            assert!(b.check_at(&[(k, 0)], u64::from(k)).is_ok());
            assert!(b.len() <= 16, "{} keys", b.len());
        }
        assert_eq!(b.len(), 16);
        // the debtor's entry was among those with the most debt: still limited
        assert!(b.check_at(&[(u32::MAX, 0)], 10_001).is_err());
        assert_eq!(b.max_keys(), 16);
        // unlimited levels are ignored
        let off: Buckets<u8> = Buckets::new(vec![None], 16);
        for _ in 0..1000 {
            assert!(off.check(&[(1, 0)]).is_ok());
        }
        assert!(off.is_empty());
    }
}
