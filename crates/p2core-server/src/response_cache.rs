//! Encoded response bodies of the certificate lookups, kept in memory.
//!
//! `GET /idcert/actor/{fid}` (without `timestamp`) and the current
//! `GET /idcert/server` and `GET /key/server` are read by every foreign server
//! that verifies a message, far more often than their answers change. The
//! [`ResponseCache`] keeps the exact bytes the handlers send, so that a
//! repeated lookup is a route match, a hash-map lookup under a read lock and
//! the clone of a [`Bytes`] (no database read, no encoding).
//!
//! # What is cached, under which key
//!
//! * Actor certificate lists, keyed by the actor's Federation ID (lowercase,
//!   as [`FederationId`] normalises it) and the `session_id` filter. Requests
//!   with a `timestamp` filter bypass the cache: a list "as of" a past time
//!   still changes (its `invalidated` flags), and such lookups are rare. The
//!   list without `timestamp` holds the certificates valid *now*, at the
//!   granularity of the stored timestamps (whole seconds), so an entry only
//!   answers requests within the second its list was read for: a certificate
//!   that expires or becomes valid is never served on the wrong side of its
//!   boundary, without parsing certificates. A hot actor costs one database
//!   read per second. Only successful (200) answers are cached; errors (unknown
//!   actor, bad FID) are answered as before, without touching the cache.
//! * The current server certificate (PEM) and the server's public key (PEM),
//!   one entry each; requests with a `timestamp` bypass the cache.
//!
//! # Invalidation, and why an acknowledged write is never served stale
//!
//! Every write that changes an answer announces it on the store's bus
//! ([`crate::storage::bus`]) after its commit:
//! [`SessionNotice::ActorCertsChanged`] (session created, ID-Cert rotated,
//! session ended, password reset ending sessions) and
//! [`SessionNotice::ServerCertChanged`] (root rotation over HTTP, renewal by
//! the running server). The cache receives them through a hook registered
//! with [`Store::watch_sessions`](crate::storage::Store::watch_sessions),
//! which the bus calls synchronously, *before the store's write method
//! returns*: when a write's HTTP response is sent, the entries it made stale
//! are gone.
//!
//! A lookup that read the database *before* the write committed must not put
//! its older answer back afterwards. So a fill takes a [`Ticket`] (the
//! generation of the actor's shard, or of the server documents) before its
//! database read, and [`ResponseCache::put_actor_certs`] /
//! [`ResponseCache::put_server`] store the body only if no invalidation of
//! that shard happened since; generation bump and removal happen under the
//! same lock as the check-and-insert. A read that starts after the write's
//! commit sees the new rows (SQLite WAL: a new read transaction sees every
//! committed one).
//!
//! Writes made by *another process* on the same database (`p2core-home-server
//! admin reset-password` while the server runs) do not reach this process's
//! bus; the one-second lifetime of actor entries bounds how long the running
//! server may still answer the old list (under one second). The server
//! certificate only changes in another process with `admin renew-root`, which
//! refuses to run while the server runs. A store shared by several processes
//! (issue 15: PostgreSQL with `LISTEN/NOTIFY`) feeds the notices of the other
//! instances into each bus, so their caches follow within the notification
//! delay (and within a second for actor lists in any case).
//!
//! # Bound
//!
//! The cache accounts each entry as its body length plus its key length plus
//! [`ENTRY_OVERHEAD_BYTES`] (map slot, key allocation, index and queue slots),
//! and never lets the sum exceed its byte budget (the constructor parameter;
//! [`DEFAULT_RESPONSE_CACHE_BYTES`] by default). When an entry would not fit, the oldest
//! entries are evicted first (insertion order); a body larger than the whole
//! budget is not cached. A budget of 0 disables the cache.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::body::Bytes;
use p2core_types::{FederationId, SessionId, UnixTimestamp};

use crate::storage::SessionNotice;

/// Default byte budget of a [`ResponseCache`]: 16 MiB, a few thousand actor
/// certificate lists (a list with one ID-Cert encodes to about 1 KiB).
pub const DEFAULT_RESPONSE_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Bytes accounted per entry on top of its body and key: the map slot, the
/// key's allocation header, the per-actor index slot and the eviction queue
/// slot, with hash-table slack.
pub const ENTRY_OVERHEAD_BYTES: usize = 192;

/// Invalidation generations of actor entries are kept per shard (actor id
/// modulo this), so an invalidation only spoils concurrent fills of the
/// actors in its shard.
const GENERATION_SHARDS: usize = 256;

/// Which document of the server a [`ResponseCache::server`] entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerDoc {
    /// The current root certificate (`GET /idcert/server`), PEM.
    Cert,
    /// The current root certificate's public key (`GET /key/server`), PEM.
    PublicKey,
}

impl ServerDoc {
    fn index(self) -> usize {
        match self {
            ServerDoc::Cert => 0,
            ServerDoc::PublicKey => 1,
        }
    }
}

/// The invalidation generation a fill started from (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a ticket is handed to a put after the database read"]
pub struct Ticket {
    /// Shard of the actor, `None` for the server documents.
    shard: Option<usize>,
    generation: u64,
}

/// A cached actor certificate list.
#[derive(Debug)]
struct ActorEntry {
    body: Bytes,
    actor_id: i64,
    /// The second (Unix time) whose list this is.
    second: u64,
    /// Position in the eviction queue.
    seq: u64,
    /// Accounted bytes.
    cost: usize,
}

#[derive(Debug)]
struct Inner {
    max_bytes: usize,
    used: usize,
    actors: HashMap<Arc<str>, ActorEntry>,
    /// Keys of each actor's entries (for invalidation by actor id).
    by_actor: HashMap<i64, HashSet<Arc<str>>>,
    /// Insertion order: (key, seq); records whose seq no longer matches the
    /// entry (replaced or removed) are skipped and compacted away.
    order: VecDeque<(Arc<str>, u64)>,
    next_seq: u64,
    actor_generations: Vec<u64>,
    server: [Option<Bytes>; 2],
    server_generation: u64,
}

impl Inner {
    fn server_cost(body: &Bytes) -> usize {
        body.len().saturating_add(ENTRY_OVERHEAD_BYTES)
    }

    fn remove_actor_key(&mut self, key: &str) {
        if let Some(e) = self.actors.remove(key) {
            self.used = self.used.saturating_sub(e.cost);
            if let Some(set) = self.by_actor.get_mut(&e.actor_id) {
                set.remove(key);
                if set.is_empty() {
                    self.by_actor.remove(&e.actor_id);
                }
            }
        }
    }

    /// Evicts the oldest actor entries (then the server documents) until
    /// `extra` more bytes fit; `false` if they cannot fit at all.
    fn make_room(&mut self, extra: usize) -> bool {
        if extra > self.max_bytes {
            return false;
        }
        while self.used.saturating_add(extra) > self.max_bytes {
            match self.order.pop_front() {
                Some((key, seq)) => {
                    if self.actors.get(&key).is_some_and(|e| e.seq == seq) {
                        self.remove_actor_key(&key);
                    }
                }
                None => {
                    // Only the server documents are left.
                    for slot in &mut self.server {
                        if let Some(b) = slot.take() {
                            self.used = self.used.saturating_sub(Self::server_cost(&b));
                        }
                    }
                    // Nothing else holds accounted bytes.
                    self.used = 0;
                    break;
                }
            }
        }
        true
    }

    /// Drops queue records of entries that were replaced or removed once they
    /// outnumber the live entries, so the queue stays proportional to them.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.actors.len() + 64 {
            let actors = &self.actors;
            self.order
                .retain(|(k, seq)| actors.get(k).is_some_and(|e| e.seq == *seq));
        }
    }

    fn invalidate_actor(&mut self, actor_id: i64) {
        let shard = shard_of(actor_id);
        self.actor_generations[shard] = self.actor_generations[shard].wrapping_add(1);
        if let Some(keys) = self.by_actor.remove(&actor_id) {
            for k in keys {
                if let Some(e) = self.actors.remove(&k) {
                    self.used = self.used.saturating_sub(e.cost);
                }
            }
        }
        self.compact_order();
    }

    fn invalidate_server(&mut self) {
        self.server_generation = self.server_generation.wrapping_add(1);
        for slot in &mut self.server {
            if let Some(b) = slot.take() {
                self.used = self.used.saturating_sub(Self::server_cost(&b));
            }
        }
    }
}

fn shard_of(actor_id: i64) -> usize {
    // rem_euclid of a positive modulus is in 0..GENERATION_SHARDS.
    usize::try_from(actor_id.rem_euclid(GENERATION_SHARDS as i64)).unwrap_or(0)
}

/// The key of an actor list: the FID alone without a session filter, else
/// `session@fid` (a FID holds exactly one `@`, so the two never collide).
fn actor_key<'a>(fid: &'a FederationId, session: Option<&SessionId>) -> std::borrow::Cow<'a, str> {
    match session {
        None => std::borrow::Cow::Borrowed(fid.as_str()),
        Some(s) => std::borrow::Cow::Owned(format!("{}@{}", s.as_str(), fid.as_str())),
    }
}

/// Bounded in-memory cache of encoded certificate-lookup responses; see the module docs.
#[derive(Debug)]
pub struct ResponseCache {
    inner: RwLock<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(DEFAULT_RESPONSE_CACHE_BYTES)
    }
}

impl ResponseCache {
    /// An empty cache that accounts at most `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: RwLock::new(Inner {
                max_bytes,
                used: 0,
                actors: HashMap::new(),
                by_actor: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
                actor_generations: vec![0; GENERATION_SHARDS],
                server: [None, None],
                server_generation: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something did, the
        // accounting is still consistent enough to go on.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, hit: bool) {
        let c = if hit { &self.hits } else { &self.misses };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The cached list of `fid` (with the `session` filter) for the second `now`.
    pub fn actor_certs(
        &self,
        fid: &FederationId,
        session: Option<&SessionId>,
        now: UnixTimestamp,
    ) -> Option<Bytes> {
        let key = actor_key(fid, session);
        let found = self
            .read()
            .actors
            .get(key.as_ref())
            .filter(|e| e.second == now.0)
            .map(|e| e.body.clone());
        self.count(found.is_some());
        found
    }

    /// The ticket to take before reading the certificates of `actor_id` from the store.
    pub fn actor_ticket(&self, actor_id: i64) -> Ticket {
        let shard = shard_of(actor_id);
        Ticket {
            shard: Some(shard),
            generation: self.read().actor_generations[shard],
        }
    }

    /// Stores the list of `actor_id` (FID `fid`, filter `session`) read for the
    /// second `now`, unless an invalidation of the actor's shard happened since
    /// `ticket` was taken or the body does not fit the budget. Returns whether
    /// it was stored.
    pub fn put_actor_certs(
        &self,
        ticket: Ticket,
        fid: &FederationId,
        session: Option<&SessionId>,
        actor_id: i64,
        now: UnixTimestamp,
        body: Bytes,
    ) -> bool {
        let shard = shard_of(actor_id);
        let key: Arc<str> = Arc::from(actor_key(fid, session).as_ref());
        let cost = body
            .len()
            .saturating_add(key.len())
            .saturating_add(ENTRY_OVERHEAD_BYTES);
        let mut inner = self.write();
        if ticket.shard != Some(shard) || inner.actor_generations[shard] != ticket.generation {
            return false;
        }
        inner.remove_actor_key(&key);
        if !inner.make_room(cost) {
            inner.compact_order();
            return false;
        }
        let seq = inner.next_seq;
        inner.next_seq = seq.wrapping_add(1);
        inner.used = inner.used.saturating_add(cost);
        inner.order.push_back((key.clone(), seq));
        inner
            .by_actor
            .entry(actor_id)
            .or_default()
            .insert(key.clone());
        inner.actors.insert(
            key,
            ActorEntry {
                body,
                actor_id,
                second: now.0,
                seq,
                cost,
            },
        );
        inner.compact_order();
        true
    }

    /// The cached server document `doc`.
    pub fn server(&self, doc: ServerDoc) -> Option<Bytes> {
        let found = self.read().server[doc.index()].clone();
        self.count(found.is_some());
        found
    }

    /// The ticket to take before reading the current server certificate from the store.
    pub fn server_ticket(&self) -> Ticket {
        Ticket {
            shard: None,
            generation: self.read().server_generation,
        }
    }

    /// Stores a server document unless the server certificate changed since
    /// `ticket` was taken or it does not fit the budget; returns whether it was stored.
    pub fn put_server(&self, ticket: Ticket, doc: ServerDoc, body: Bytes) -> bool {
        let cost = Inner::server_cost(&body);
        let mut inner = self.write();
        if ticket.shard.is_some() || inner.server_generation != ticket.generation {
            return false;
        }
        if let Some(old) = inner.server[doc.index()].take() {
            inner.used = inner.used.saturating_sub(Inner::server_cost(&old));
        }
        if !inner.make_room(cost) {
            return false;
        }
        inner.used = inner.used.saturating_add(cost);
        inner.server[doc.index()] = Some(body);
        true
    }

    /// Forgets the lists of `actor_id` and spoils fills of its shard in flight.
    pub fn invalidate_actor(&self, actor_id: i64) {
        self.write().invalidate_actor(actor_id);
    }

    /// Forgets the server documents and spoils their fills in flight.
    pub fn invalidate_server(&self) {
        self.write().invalidate_server();
    }

    /// Forgets everything and spoils every fill in flight (for a bus that
    /// lost notices, e.g. a lagging `LISTEN` connection).
    pub fn invalidate_all(&self) {
        let mut inner = self.write();
        for g in &mut inner.actor_generations {
            *g = g.wrapping_add(1);
        }
        inner.actors.clear();
        inner.by_actor.clear();
        inner.order.clear();
        inner.used = 0;
        inner.invalidate_server();
    }

    /// Acts on a store notice: the hook the server builder registers with
    /// [`Store::watch_sessions`](crate::storage::Store::watch_sessions).
    pub fn on_notice(&self, notice: &SessionNotice) {
        match notice {
            SessionNotice::ActorCertsChanged { actor_id } => self.invalidate_actor(*actor_id),
            SessionNotice::ServerCertChanged => self.invalidate_server(),
            SessionNotice::Resync => self.invalidate_all(),
            // Token changes: the matching ActorCertsChanged follows them.
            _ => {}
        }
    }

    /// Changes the byte budget, evicting the oldest entries down to it.
    #[cfg(test)]
    pub fn set_max_bytes(&self, max_bytes: usize) {
        let mut inner = self.write();
        inner.max_bytes = max_bytes;
        inner.make_room(0);
        inner.compact_order();
    }

    /// The accounted size of what is cached (never above the budget).
    pub fn used_bytes(&self) -> usize {
        self.read().used
    }

    /// Number of cached actor lists.
    pub fn actor_entries(&self) -> usize {
        self.read().actors.len()
    }

    /// Lookups answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups the cache could not answer so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(n: usize) -> FederationId {
        FederationId::new(&format!("actor{n}@example.com")).expect("valid FID")
    }

    fn body(n: usize, len: usize) -> Bytes {
        let mut v = format!("{{\"actor\":{n},\"pad\":\"").into_bytes();
        v.resize(len.saturating_sub(2), b'x');
        v.extend_from_slice(b"\"}");
        Bytes::from(v)
    }

    /// Recomputes the accounting from the entries, to check `used` against it.
    fn recount(c: &ResponseCache) -> usize {
        let inner = c.read();
        let actors: usize = inner.actors.values().map(|e| e.cost).sum();
        let server: usize = inner.server.iter().flatten().map(Inner::server_cost).sum();
        actors + server
    }

    #[test]
    fn many_actors_stay_within_the_budget_and_answer_correctly() {
        const BUDGET: usize = 256 * 1024;
        let cache = ResponseCache::new(BUDGET);
        let now = UnixTimestamp(1_000);
        let t = cache.server_ticket();
        assert!(cache.put_server(t, ServerDoc::Cert, Bytes::from_static(b"ROOT PEM")));
        let mut stored = 0;
        for n in 0..20_000 {
            let actor_id = i64::try_from(n).expect("small");
            let len = 200 + (n * 37) % 1800;
            let ticket = cache.actor_ticket(actor_id);
            if cache.put_actor_certs(ticket, &fid(n), None, actor_id, now, body(n, len)) {
                stored += 1;
            }
            let used = cache.used_bytes();
            assert!(used <= BUDGET, "accounted {used} bytes > budget {BUDGET}");
            if n % 997 == 0 {
                assert_eq!(used, recount(&cache));
                let inner = cache.read();
                assert!(inner.order.len() <= 2 * inner.actors.len() + 64);
            }
            // The newest entry is always there and right.
            assert_eq!(cache.actor_certs(&fid(n), None, now), Some(body(n, len)));
        }
        assert_eq!(stored, 20_000, "every body fits the budget on its own");
        // It holds a good share of the budget, and only recent actors.
        assert!(cache.used_bytes() > BUDGET / 2);
        let entries = cache.actor_entries();
        assert!(entries > 50 && entries < 20_000, "{entries}");
        assert_eq!(cache.actor_certs(&fid(0), None, now), None);
        for n in (20_000 - entries)..20_000 {
            let len = 200 + (n * 37) % 1800;
            assert_eq!(cache.actor_certs(&fid(n), None, now), Some(body(n, len)));
        }
        // Shrinking the budget evicts down to it.
        cache.set_max_bytes(10_000);
        assert!(cache.used_bytes() <= 10_000);
        assert_eq!(cache.used_bytes(), recount(&cache));
        assert!(cache.actor_certs(&fid(19_999), None, now).is_some());
        // A body larger than the whole budget is not cached.
        let t = cache.actor_ticket(1);
        assert!(!cache.put_actor_certs(t, &fid(1), None, 1, now, body(1, 20_000)));
        assert!(cache.used_bytes() <= 10_000);
        // A zero budget disables the cache.
        cache.set_max_bytes(0);
        assert_eq!(cache.used_bytes(), 0);
        let t = cache.actor_ticket(2);
        assert!(!cache.put_actor_certs(t, &fid(2), None, 2, now, body(2, 10)));
        assert_eq!(cache.actor_certs(&fid(2), None, now), None);
    }

    #[test]
    fn many_session_filters_of_one_actor_are_bounded_and_invalidated_together() {
        let cache = ResponseCache::new(64 * 1024);
        let now = UnixTimestamp(5);
        let f = fid(7);
        for n in 0..5_000 {
            let s = SessionId::new(&format!("s{n}")).expect("valid session ID");
            let t = cache.actor_ticket(7);
            assert!(cache.put_actor_certs(t, &f, Some(&s), 7, now, body(n, 100)));
            assert!(cache.used_bytes() <= 64 * 1024);
        }
        let s = SessionId::new("s4999").expect("valid");
        assert_eq!(cache.actor_certs(&f, Some(&s), now), Some(body(4_999, 100)));
        assert_eq!(cache.actor_certs(&f, None, now), None);
        cache.invalidate_actor(7);
        assert_eq!(cache.actor_entries(), 0);
        assert_eq!(cache.used_bytes(), 0);
        assert_eq!(cache.actor_certs(&f, Some(&s), now), None);
    }

    #[test]
    fn an_entry_answers_only_within_its_second() {
        let cache = ResponseCache::new(4096);
        let t = cache.actor_ticket(1);
        assert!(cache.put_actor_certs(t, &fid(1), None, 1, UnixTimestamp(10), body(1, 50)));
        assert!(
            cache
                .actor_certs(&fid(1), None, UnixTimestamp(10))
                .is_some()
        );
        assert_eq!(cache.actor_certs(&fid(1), None, UnixTimestamp(11)), None);
        assert_eq!(cache.actor_certs(&fid(1), None, UnixTimestamp(9)), None);
    }

    /// The handler's fill protocol against the real SQLite store and its bus:
    /// a list read before a write commits is refused by the put after it, for
    /// every write that changes the list; a read after the write is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_read_before_a_store_write_is_never_cached_after_it() {
        use crate::storage::sqlite::SqliteStore;
        use crate::storage::{ActorCertFilter, NewIdCert, PendingEvent, Store};

        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("p2core.db"))
            .await
            .expect("open store");
        let cache = Arc::new(ResponseCache::new(DEFAULT_RESPONSE_CACHE_BYTES));
        let hook = cache.clone();
        store.watch_sessions(Arc::new(move |n| hook.on_notice(n)));
        let now = UnixTimestamp::now();
        store
            .insert_server_cert(1, "ROOT 1", "root1.key", now, None)
            .await
            .expect("root");
        let alice = FederationId::new("alice@example.com").expect("FID");
        let actor = store
            .create_actor(&alice, "hash", None, now)
            .await
            .expect("actor");
        let ev = PendingEvent {
            n: "test",
            op: 1,
            d: "{}".into(),
        };
        let mut serial = 100;
        let mut cert = |session: &str| {
            serial += 1;
            NewIdCert {
                serial,
                session_id: SessionId::new(session).expect("session ID"),
                cert_pem: format!("PEM {serial}"),
                not_before: UnixTimestamp(now.0.saturating_sub(10)),
                not_after: now.saturating_add(3_600),
                root_serial: 1,
            }
        };
        let read = |store: SqliteStore| async move {
            let list = store
                .actor_certs(actor, &ActorCertFilter::default(), now)
                .await
                .expect("read");
            Bytes::from(format!("{list:?}"))
        };
        // Each write, run between a fill's ticket+read and its put.
        for step in 0..4 {
            let ticket = cache.actor_ticket(actor);
            let before = read(store.clone()).await;
            match step {
                0 => store
                    .create_session(actor, &cert("a"), b"t0", now, &ev, u64::MAX)
                    .await
                    .expect("create"),
                1 => {
                    let caller = store.caller_by_token(b"t0", now).await.expect("resolve");
                    let Some(crate::storage::Caller::Local(s)) = caller else {
                        panic!("no local session");
                    };
                    store
                        .rotate_session(&s, &cert("a"), b"t1", now, &ev)
                        .await
                        .expect("rotate");
                }
                2 => {
                    let sid = SessionId::new("a").expect("session ID");
                    let ended = store
                        .end_session(actor, &sid, now, &|_| None)
                        .await
                        .expect("end");
                    assert!(ended);
                    store
                        .create_session(actor, &cert("b"), b"t2", now, &ev, u64::MAX)
                        .await
                        .expect("create");
                }
                _ => {
                    let ended = store
                        .reset_actor_password(&alice, "new", now)
                        .await
                        .expect("reset");
                    assert_eq!(ended, Some(1));
                }
            }
            assert!(
                !cache.put_actor_certs(ticket, &alice, None, actor, now, before.clone()),
                "step {step}: a list read before the write was cached after it"
            );
            assert_eq!(cache.actor_certs(&alice, None, now), None);
            let ticket = cache.actor_ticket(actor);
            let after = read(store.clone()).await;
            assert_ne!(after, before, "step {step} changed the list");
            assert!(cache.put_actor_certs(ticket, &alice, None, actor, now, after.clone()));
            assert_eq!(cache.actor_certs(&alice, None, now), Some(after));
        }
        // The root certificate.
        let ticket = cache.server_ticket();
        store
            .insert_server_cert(2, "ROOT 2", "root2.key", now, None)
            .await
            .expect("root");
        assert!(!cache.put_server(ticket, ServerDoc::Cert, Bytes::from_static(b"ROOT 1")));
        assert_eq!(cache.server(ServerDoc::Cert), None);
        store.close().await;
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_not_stored() {
        let cache = ResponseCache::new(4096);
        let now = UnixTimestamp(10);
        // Read before the write, put after its notice: refused.
        let t = cache.actor_ticket(3);
        cache.on_notice(&SessionNotice::ActorCertsChanged { actor_id: 3 });
        assert!(!cache.put_actor_certs(t, &fid(3), None, 3, now, body(3, 50)));
        assert_eq!(cache.actor_certs(&fid(3), None, now), None);
        // Another actor's notice in another shard does not spoil the fill.
        let t = cache.actor_ticket(3);
        cache.on_notice(&SessionNotice::ActorCertsChanged { actor_id: 4 });
        assert!(cache.put_actor_certs(t, &fid(3), None, 3, now, body(3, 50)));
        // The server documents.
        let t = cache.server_ticket();
        cache.on_notice(&SessionNotice::ServerCertChanged);
        assert!(!cache.put_server(t, ServerDoc::PublicKey, Bytes::from_static(b"K")));
        let t = cache.server_ticket();
        assert!(cache.put_server(t, ServerDoc::PublicKey, Bytes::from_static(b"K")));
        assert_eq!(
            cache.server(ServerDoc::PublicKey).as_deref(),
            Some(&b"K"[..])
        );
        assert_eq!(cache.server(ServerDoc::Cert), None);
        cache.on_notice(&SessionNotice::ServerCertChanged);
        assert_eq!(cache.server(ServerDoc::PublicKey), None);
        assert!(cache.actor_certs(&fid(3), None, now).is_some());
        // An actor ticket is no server ticket and vice versa.
        let t = cache.actor_ticket(3);
        assert!(!cache.put_server(t, ServerDoc::Cert, Bytes::from_static(b"X")));
        cache.invalidate_all();
        assert_eq!(cache.used_bytes(), 0);
        assert_eq!(cache.actor_certs(&fid(3), None, now), None);
    }
}
