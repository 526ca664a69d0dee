//! Counted slots per key: the per-address connection caps of the listener
//! (`--max-connections-per-address`) and of the gateway
//! (`--max-gateway-connections-per-address`).
//!
//! A [`KeyedSlots`] hands out at most `max` [`KeyedSlot`]s per key; a slot
//! gives its place back when dropped. The map holds only keys with a slot out,
//! so it never has more entries than slots are held (bounded by the global
//! connection caps).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The key a client address counts against: an IPv4 address as is (also when
/// it arrives IPv4-mapped in IPv6), an IPv6 address by its /64 (one host is
/// routinely given a whole /64, so a per-address cap must not count its
/// addresses one by one).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let net = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(net))
            }
        },
    }
}

/// At most `max` slots per key (0 = no limit).
#[derive(Debug)]
pub struct KeyedSlots<K: Eq + Hash> {
    max: usize,
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> KeyedSlots<K> {
    /// A table allowing `max` slots per key; 0 turns the limit off.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `key`, or `None` when `key` already holds `max`.
    pub fn try_acquire(self: &Arc<Self>, key: K) -> Option<KeyedSlot<K>> {
        if self.max == 0 {
            return Some(KeyedSlot { table: None, key });
        }
        let mut held = lock(&self.held);
        let n = held.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(KeyedSlot {
            table: Some(self.clone()),
            key,
        })
    }

    /// Slots held by `key` right now.
    #[cfg(test)]
    pub fn held_by(&self, key: &K) -> usize {
        lock(&self.held).get(key).copied().unwrap_or(0)
    }

    /// Keys with at least one slot out (the map's size).
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        lock(&self.held).len()
    }

    fn release(&self, key: &K) {
        let mut held = lock(&self.held);
        if let Some(n) = held.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(key);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain counters behind; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One slot of a [`KeyedSlots`]; released when dropped.
#[derive(Debug)]
pub struct KeyedSlot<K: Eq + Hash + Clone> {
    table: Option<Arc<KeyedSlots<K>>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Drop for KeyedSlot<K> {
    fn drop(&mut self) {
        if let Some(t) = &self.table {
            t.release(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_per_key_and_released_on_drop() {
        let t = KeyedSlots::new(2);
        let a1 = t.try_acquire("a").unwrap();
        let _a2 = t.try_acquire("a").unwrap();
        assert!(t.try_acquire("a").is_none());
        let _b = t.try_acquire("b").unwrap();
        drop(a1);
        assert_eq!(t.held_by(&"a"), 1);
        let _a3 = t.try_acquire("a").unwrap();
        assert_eq!(t.keys(), 2);
    }

    #[test]
    fn map_forgets_keys_without_slots() {
        let t = KeyedSlots::new(1);
        drop(t.try_acquire(1u32).unwrap());
        assert_eq!(t.keys(), 0);
    }

    #[test]
    fn zero_means_unlimited() {
        let t = KeyedSlots::new(0);
        let held: Vec<_> = (0..100).map(|_| t.try_acquire(7u8).unwrap()).collect();
        assert_eq!(held.len(), 100);
        assert_eq!(t.keys(), 0);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let m: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(m), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
