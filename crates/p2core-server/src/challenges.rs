//! Outstanding challenge strings, kept in memory.
//!
//! Challenges belong to the storage contract ([`Store::issue_challenge`] and
//! its siblings), so that a backend shared by several server instances can
//! share them too. [`ChallengeStore`] is the in-process implementation the
//! SQLite store uses: one process serves the database, so memory is shared by
//! every request it answers.
//!
//! Issuing a challenge is a map insert under a short lock: no database write,
//! no fsync. The map is bounded (`--max-challenges`), and so is each network's
//! share of it (`--max-challenges-per-network`, per IPv6 /48 or IPv4 /24), so one
//! network cannot fill the store for everyone; the bounds are passed with each
//! insert. Entries are also kept in an
//! expiry-ordered index: dropping expired challenges (by the periodic sweep,
//! [`ChallengeStore::prune`], and right away when the store or a network's share
//! is full) costs O(log n) per dropped entry, never a scan under the lock. A
//! challenge is removed when it is used, so it can be used once. A restart
//! forgets every outstanding challenge: clients then get
//! `P2CORE_CHALLENGE_UNKNOWN` and fetch a new one (see docs/protocol-choices.md).
//!
//! [`Store::issue_challenge`]: crate::storage::Store::issue_challenge

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;

use p2core_types::{ChallengeString, UnixTimestamp};

use crate::limits::Network;

/// Why a challenge was not issued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChallengeStoreFull {
    /// The store is full of unexpired challenges.
    #[error("too many challenges are outstanding")]
    Store,
    /// The client's network holds its whole share of the store.
    #[error("too many challenges are outstanding for this network")]
    Network,
}

#[derive(Debug)]
struct Entry {
    expires: UnixTimestamp,
    network: Network,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Entry>,
    /// (expiry, challenge) of every entry of `map`.
    by_expiry: BTreeSet<(UnixTimestamp, String)>,
    /// Outstanding challenges per network (no entry for 0).
    per_network: HashMap<Network, u64>,
}

impl Inner {
    fn remove(&mut self, challenge: &str) -> Option<Entry> {
        let entry = self.map.remove(challenge)?;
        self.by_expiry
            .remove(&(entry.expires, challenge.to_owned()));
        if let Some(n) = self.per_network.get_mut(&entry.network) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_network.remove(&entry.network);
            }
        }
        Some(entry)
    }

    /// Drops the challenges that expired before `now`, oldest first.
    fn expire(&mut self, now: UnixTimestamp) -> usize {
        let mut removed = 0;
        while let Some((expires, _)) = self.by_expiry.first() {
            if *expires >= now {
                break;
            }
            let Some((_, c)) = self.by_expiry.pop_first() else {
                break;
            };
            // (`remove` finds the index entry already gone)
            self.remove(&c);
            removed += 1;
        }
        removed
    }
}

/// Bounded map from challenge text to its expiry and the network it was issued to.
#[derive(Debug, Default)]
pub struct ChallengeStore {
    inner: Mutex<Inner>,
}

impl ChallengeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a challenge issued to a client of `network`, keeping at most
    /// `max` challenges (at least 1) in all and `max_per_network` (at least 1)
    /// for one network. When the store or the network's share is full,
    /// expired entries are dropped first; if it is still full, the challenge
    /// is refused.
    pub fn insert(
        &self,
        challenge: &ChallengeString,
        network: Network,
        now: UnixTimestamp,
        max: u64,
        max_per_network: u64,
    ) -> Result<(), ChallengeStoreFull> {
        let max = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
        let max_per_network = max_per_network.max(1);
        let mut inner = self.inner();
        let held = |i: &Inner| i.per_network.get(&network).copied().unwrap_or(0);
        if inner.map.len() >= max || held(&inner) >= max_per_network {
            inner.expire(now);
        }
        if held(&inner) >= max_per_network {
            return Err(ChallengeStoreFull::Network);
        }
        if inner.map.len() >= max {
            return Err(ChallengeStoreFull::Store);
        }
        let text = challenge.challenge().to_owned();
        if inner.map.contains_key(&text) {
            // (a random 32-character string issued twice: keep the first)
            return Ok(());
        }
        inner.by_expiry.insert((challenge.expires(), text.clone()));
        inner.map.insert(
            text,
            Entry {
                expires: challenge.expires(),
                network,
            },
        );
        *inner.per_network.entry(network).or_insert(0) += 1;
        Ok(())
    }

    /// The challenge as issued (with its expiry), if it is outstanding. Does not use it up.
    pub fn get(&self, challenge: &str) -> Option<ChallengeString> {
        let expires = self.inner().map.get(challenge)?.expires;
        ChallengeString::new(challenge.to_owned(), expires).ok()
    }

    /// Uses a challenge up: `true` for exactly one caller if it is
    /// outstanding and not expired at `now` (an expired one is left for
    /// [`prune`](Self::prune)).
    pub fn take(&self, challenge: &str, now: UnixTimestamp) -> bool {
        let mut inner = self.inner();
        match inner.map.get(challenge) {
            Some(e) if e.expires >= now => inner.remove(challenge).is_some(),
            _ => false,
        }
    }

    /// Drops the challenges that expired before `now`; returns how many.
    pub fn prune(&self, now: UnixTimestamp) -> usize {
        let mut inner = self.inner();
        let removed = inner.expire(now);
        if inner.map.capacity() > 2 * inner.map.len().max(1024) {
            inner.map.shrink_to_fit();
            inner.per_network.shrink_to_fit();
        }
        removed
    }

    /// Number of outstanding challenges (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.inner().map.len()
    }

    /// Outstanding challenges of the network `client` belongs to.
    pub fn len_for(&self, client: IpAddr) -> u64 {
        let network = Network::share_of(client);
        self.inner().per_network.get(&network).copied().unwrap_or(0)
    }

    /// `true` if no challenge is outstanding.
    pub fn is_empty(&self) -> bool {
        self.inner().map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn net(ip: IpAddr) -> Network {
        Network::share_of(ip)
    }

    #[test]
    fn single_use_bounded_and_pruned() {
        let store = ChallengeStore::new();
        let ins = |c: &ChallengeString, ip: IpAddr, now| store.insert(c, net(ip), now, 2, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let now = UnixTimestamp(1000);
        let a = ChallengeString::generate(now, Duration::from_secs(10));
        let b = ChallengeString::generate(now, Duration::from_secs(20));
        ins(&a, ip, now).unwrap();
        ins(&b, ip, now).unwrap();
        let c = ChallengeString::generate(now, Duration::from_secs(10));
        assert_eq!(
            ins(&c, ip, now),
            Err(ChallengeStoreFull::Store),
            "full of unexpired challenges"
        );
        assert_eq!(store.get(a.challenge()).unwrap().expires(), a.expires());
        assert!(store.take(a.challenge(), now));
        assert!(!store.take(a.challenge(), now), "a challenge is used once");
        assert!(store.get(a.challenge()).is_none());
        assert!(
            !store.take(b.challenge(), UnixTimestamp(1021)),
            "an expired challenge is not accepted"
        );
        assert!(store.get(b.challenge()).is_some(), "but kept for pruning");
        // once b expired, a full store makes room by dropping it
        ins(&c, ip, now).unwrap();
        let later = UnixTimestamp(1025);
        let d = ChallengeString::generate(later, Duration::from_secs(10));
        ins(&d, ip, later).unwrap();
        assert_eq!(store.len(), 1, "b and c expired and were dropped");
        assert_eq!(store.len_for(ip), 1);
        assert_eq!(store.prune(UnixTimestamp(2000)), 1);
        assert!(store.is_empty());
        assert_eq!(store.len_for(ip), 0);
    }

    #[test]
    fn one_network_gets_only_its_share() {
        let store = ChallengeStore::new();
        let now = UnixTimestamp(1000);
        let ip = |s: String| s.parse::<IpAddr>().unwrap();
        let issue = |client: IpAddr| {
            store.insert(
                &ChallengeString::generate(now, Duration::from_secs(60)),
                net(client),
                now,
                100,
                3,
            )
        };
        // many addresses of one /48 (and of one IPv4 /24): three challenges in all
        let v6 = (0..50u32)
            .filter(|i| issue(ip(format!("2001:db8:5:{i:x}::{i:x}"))).is_ok())
            .count();
        assert_eq!(v6, 3);
        assert_eq!(
            issue(ip("2001:db8:5:ffff::1".into())),
            Err(ChallengeStoreFull::Network)
        );
        let v4 = (0..50u32)
            .filter(|i| issue(ip(format!("198.51.100.{i}"))).is_ok())
            .count();
        assert_eq!(v4, 3);
        // other networks are not affected, and IPv4-mapped addresses count as IPv4
        assert!(issue(ip("2001:db8:6::1".into())).is_ok());
        assert!(issue(ip("198.51.101.1".into())).is_ok());
        assert_eq!(
            issue(ip("::ffff:198.51.100.77".into())),
            Err(ChallengeStoreFull::Network)
        );
        assert_eq!(store.len(), 8);
    }

    #[test]
    fn a_full_store_drops_only_expired_entries_in_expiry_order() {
        let store = ChallengeStore::new();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.3.1".parse().unwrap();
        for i in 0..1000u64 {
            let t = UnixTimestamp(i);
            let c = ChallengeString::generate(t, Duration::from_secs(10));
            store
                .insert(&c, net(if i % 2 == 0 { ip } else { other }), t, 1000, 1000)
                .unwrap();
        }
        // at t = 1005 the challenges issued before t = 995 have expired: 995 of them;
        // one insert drops exactly those
        let t = UnixTimestamp(1005);
        store
            .insert(
                &ChallengeString::generate(t, Duration::from_secs(10)),
                net(ip),
                t,
                1000,
                1000,
            )
            .unwrap();
        assert_eq!(store.len(), 6);
        assert_eq!(store.len_for(ip) + store.len_for(other), 6);
    }
}
