//! Bounds on expensive or exhausting work: per-client-address rate limits on
//! the unauthenticated routes (hierarchical: an address and the networks
//! around it), per-session limits on KeyPackage claims and authenticated
//! writes (all answered `429` with `Retry-After`), the client address behind
//! trusted reverse proxies, and a cap on concurrent argon2 runs.

pub mod buckets;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use p2core_types::ErrorCode;
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};
use crate::settings::{HttpSettings, LimitSettings};
use crate::storage::{Caller, LocalSession};
use buckets::{Buckets, Level};

/// How long a request waits for an argon2 slot before it is answered 503.
const ARGON2_QUEUE_WAIT: Duration = Duration::from_secs(20);

/// Where the client address of a request is read from.
///
/// Without `--trust-forwarded-for` it is the connecting peer's address. With it,
/// the server sits behind `N = --trusted-proxies` reverse proxies, the connecting
/// peer being the last of them; every proxy appends the address it was
/// connected from to `X-Forwarded-For` (all header lines read as one list, in
/// order). The last N entries were appended by the trusted proxies, so the
/// client is the N-th entry from the right. If there are fewer than N entries,
/// or any of the last N is not an IP address (`a.b.c.d`, an IPv6 address,
/// optionally with a port: `a.b.c.d:p`, `[v6]:p`), the header was not written by
/// the trusted proxies as expected and the peer address is used: an entry to the
/// left of the trusted part (chosen by the client) is never taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddressPolicy {
    /// Number of trusted proxies; 0 = `X-Forwarded-For` is ignored.
    trusted_proxies: u32,
}

impl ClientAddressPolicy {
    /// The policy `http` asks for ([`HttpSettings::trusted_proxies`]).
    pub fn from_settings(http: &HttpSettings) -> Self {
        Self {
            trusted_proxies: http.trusted_proxies.map_or(0, |n| n.max(1)),
        }
    }

    /// Only the connecting peer's address counts.
    #[cfg(test)]
    pub fn peer_only() -> Self {
        Self { trusted_proxies: 0 }
    }

    /// Behind `n` trusted proxies (0: the header is ignored).
    #[cfg(test)]
    pub fn behind_proxies(n: u32) -> Self {
        Self { trusted_proxies: n }
    }

    /// The client address of a request with `headers` from `peer`.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        let n = usize::try_from(self.trusted_proxies).unwrap_or(usize::MAX);
        if n == 0 {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().ok())
            .collect::<Option<Vec<_>>>()
            .map(|vs| vs.into_iter().flat_map(|v| v.split(',')).collect())
            .unwrap_or_default();
        if entries.len() < n {
            return peer;
        }
        let mut trusted = entries[entries.len() - n..].iter().map(|e| parse_entry(e));
        let client = trusted.next().flatten();
        if client.is_none() || trusted.any(|e| e.is_none()) {
            return peer;
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an IP address, optionally with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    e.parse::<IpAddr>()
        .ok()
        .or_else(|| e.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The address a request counts against (see [`ClientAddressPolicy`]).
pub fn client_ip(req: &Request, policy: ClientAddressPolicy) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    policy.client_ip(req.headers(), peer)
}

/// Extractor: the request's client address (see [`ClientAddressPolicy`]); the
/// unspecified address when unknown (requests not served by our listener).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<crate::state::SharedState<S>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::SharedState<S>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        let ip = state
            .client_addresses
            .client_ip(&parts.headers, peer)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(ip))
    }
}

/// A network an address belongs to: the address masked to `prefix` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// `addr` masked to its first `prefix` bits (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn of(addr: IpAddr, prefix: u8) -> Self {
        match canonical(addr) {
            IpAddr::V4(v4) => {
                let p = prefix.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                Self {
                    addr: IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask)),
                    prefix: p,
                }
            }
            IpAddr::V6(v6) => {
                let p = prefix.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
                Self {
                    addr: IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask)),
                    prefix: p,
                }
            }
        }
    }

    /// The network whose share of shared stores (e.g. challenges) an address
    /// uses: IPv6 per /48, IPv4 per /24.
    pub fn share_of(addr: IpAddr) -> Self {
        match canonical(addr) {
            a @ IpAddr::V4(_) => Self::of(a, 24),
            a @ IpAddr::V6(_) => Self::of(a, 48),
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, everything else as is.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// Levels of a per-address limit: IPv4 address, IPv4 /24, IPv6 /64, /56, /48.
const V4_HOST: usize = 0;
const V4_NET: usize = 1;
const V6_64: usize = 2;
const V6_56: usize = 3;
const V6_48: usize = 4;

/// The buckets a request from `addr` must find a token in: IPv4 per address and
/// per /24; IPv6 per /64 (one customer's usual allocation), /56 and /48.
fn address_keys(addr: IpAddr) -> Vec<(Network, usize)> {
    match canonical(addr) {
        a @ IpAddr::V4(_) => vec![(Network::of(a, 32), V4_HOST), (Network::of(a, 24), V4_NET)],
        a @ IpAddr::V6(_) => vec![
            (Network::of(a, 64), V6_64),
            (Network::of(a, 56), V6_56),
            (Network::of(a, 48), V6_48),
        ],
    }
}

/// One route group's limiter: hierarchical token buckets per client address.
pub struct RateLimit {
    /// Which routes it guards (for the error message and the log).
    name: &'static str,
    buckets: Buckets<Network>,
    /// Requests per minute of each level (as `buckets`), for the store's shared counters.
    per_minute: [Option<u64>; 5],
    policy: ClientAddressPolicy,
}

impl RateLimit {
    /// `per_minute` requests per minute and address (also the burst), `factor`
    /// times that per IPv4 /24 and IPv6 /56, `factor²` times per IPv6 /48; at most
    /// `max_keys` addresses and networks remembered. `None` for 0 (no limit).
    pub fn new(
        name: &'static str,
        per_minute: u32,
        factor: u32,
        max_keys: usize,
        policy: ClientAddressPolicy,
    ) -> Option<Self> {
        let q = u64::from(per_minute);
        let f = u64::from(factor.max(1));
        let host = Level::per_minute(q)?;
        let net = Level::per_minute(q.saturating_mul(f));
        let wide = Level::per_minute(q.saturating_mul(f).saturating_mul(f));
        let net_q = net.is_some().then(|| q.saturating_mul(f));
        let wide_q = wide
            .is_some()
            .then(|| q.saturating_mul(f).saturating_mul(f));
        Some(Self {
            name,
            buckets: Buckets::new(vec![Some(host), net, Some(host), net, wide], max_keys),
            per_minute: [Some(q), net_q, Some(q), net_q, wide_q],
            policy,
        })
    }

    /// `Ok` if the address (and each network around it) may make one more request
    /// now, else the wait until it may.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        self.buckets.check(&address_keys(addr))
    }

    /// Forgets addresses and networks whose bucket is full again.
    pub fn prune(&self) {
        self.buckets.prune();
    }

    /// Addresses and networks remembered now (at most `--rate-limit-max-entries`).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// The rate limits of the unauthenticated, expensive routes.
pub struct RateLimits {
    /// `POST /register`.
    pub register: Option<Arc<RateLimit>>,
    /// `POST /session/trust` and its legacy path.
    pub trust: Option<Arc<RateLimit>>,
    /// `GET /challenge`.
    pub challenge: Option<Arc<RateLimit>>,
    /// `POST /session/identify`.
    pub identify: Option<Arc<RateLimit>>,
    /// KeyPackage claims and authenticated writes, per session.
    pub sessions: SessionLimits,
}

impl RateLimits {
    /// The limits `limits` asks for, with client addresses taken as `policy` says.
    pub fn from_settings(limits: &LimitSettings, policy: ClientAddressPolicy) -> Self {
        let factor = limits.network_factor;
        let max = limits.max_tracked_clients;
        let make = |name, n: Option<u32>| {
            RateLimit::new(name, n.unwrap_or(0), factor, max, policy).map(Arc::new)
        };
        Self {
            register: make("register", limits.register_per_minute),
            trust: make("session trust", limits.trust_per_minute),
            challenge: make("challenge", limits.challenge_per_minute),
            identify: make("session identify", limits.identify_per_minute),
            sessions: SessionLimits::from_settings(limits),
        }
    }

    /// Entries (addresses and networks) the per-address limiters remember.
    pub fn entries(&self) -> usize {
        [&self.register, &self.trust, &self.challenge, &self.identify]
            .into_iter()
            .flatten()
            .map(|l| l.len())
            .sum()
    }

    /// Forgets idle addresses and sessions of every limiter.
    pub fn prune(&self) {
        for l in [&self.register, &self.trust, &self.challenge, &self.identify]
            .into_iter()
            .flatten()
        {
            l.prune();
        }
        self.sessions.prune();
    }
}

/// A key of the per-session limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum SessionKey {
    /// A session (local: `actor id`, session ID; foreign: FID, session ID). The
    /// session ID survives rotation, so a new token does not mean a new bucket.
    Local(i64, String),
    Foreign(String, String),
    /// The actor whose KeyPackages are claimed.
    Target(i64),
}

fn session_key(caller: &Caller) -> SessionKey {
    match caller {
        Caller::Local(s) => local_key(s),
        Caller::Foreign(s) => SessionKey::Foreign(s.fid.to_string(), s.session_id.to_string()),
    }
}

fn local_key(s: &LocalSession) -> SessionKey {
    SessionKey::Local(s.actor_id, s.session_id.to_string())
}

const CLAIMS_BY_CALLER: usize = 0;
const CLAIMS_OF_TARGET: usize = 1;

/// Per-session limits of authenticated routes: KeyPackage claims (per calling
/// session and per claimed actor) and writes (uploads, certificate rotations
/// and updates, session ends) per session.
pub struct SessionLimits {
    claims: Buckets<SessionKey>,
    writes: Buckets<SessionKey>,
    /// Per minute: claims by a caller, claims of a target, writes (for the store's shared counters).
    per_minute: [Option<u64>; 3],
}

impl SessionLimits {
    /// The per-session limits of `limits`.
    pub fn from_settings(limits: &LimitSettings) -> Self {
        let max = limits.max_tracked_clients;
        let per_minute = |n: Option<u32>| Level::per_minute(u64::from(n.unwrap_or(0)));
        Self {
            claims: Buckets::new(
                vec![
                    per_minute(limits.keypackage_claims_per_minute),
                    per_minute(limits.keypackage_claims_per_actor_per_minute),
                ],
                max,
            ),
            writes: Buckets::new(vec![per_minute(limits.session_writes_per_minute)], max),
            per_minute: [
                limits.keypackage_claims_per_minute,
                limits.keypackage_claims_per_actor_per_minute,
                limits.session_writes_per_minute,
            ]
            .map(|n| n.filter(|n| *n > 0).map(u64::from)),
        }
    }

    /// [`claim`](Self::claim), then the same limits counted in the store
    /// across every instance sharing it (see [`count_shared`]).
    pub async fn claim_shared<S: crate::storage::Store>(
        &self,
        store: &S,
        caller: &Caller,
        target: i64,
    ) -> ApiResult<()> {
        self.claim(caller, target)?;
        let keys = [
            (
                format!("claims|{:?}", session_key(caller)),
                self.per_minute[0],
            ),
            (
                format!("claims|{:?}", SessionKey::Target(target)),
                self.per_minute[1],
            ),
        ];
        count_shared(store, &keys)
            .await
            .map_err(|wait| limited("KeyPackage claim", "for this session or actor", wait))
    }

    /// [`write`](Self::write), then counted in the store across every instance.
    pub async fn write_shared<S: crate::storage::Store>(
        &self,
        store: &S,
        caller: &Caller,
    ) -> ApiResult<()> {
        self.write(caller)?;
        self.write_key_shared(store, session_key(caller)).await
    }

    /// [`write_local`](Self::write_local), then counted in the store across every instance.
    pub async fn write_local_shared<S: crate::storage::Store>(
        &self,
        store: &S,
        session: &LocalSession,
    ) -> ApiResult<()> {
        self.write_local(session)?;
        self.write_key_shared(store, local_key(session)).await
    }

    async fn write_key_shared<S: crate::storage::Store>(
        &self,
        store: &S,
        key: SessionKey,
    ) -> ApiResult<()> {
        count_shared(store, &[(format!("writes|{key:?}"), self.per_minute[2])])
            .await
            .map_err(|wait| limited("write", "from this session", wait))
    }

    /// 429 unless `caller` may claim KeyPackages of the local actor `target` now.
    pub fn claim(&self, caller: &Caller, target: i64) -> ApiResult<()> {
        self.claims
            .check(&[
                (session_key(caller), CLAIMS_BY_CALLER),
                (SessionKey::Target(target), CLAIMS_OF_TARGET),
            ])
            .map_err(|wait| limited("KeyPackage claim", "for this session or actor", wait))
    }

    /// 429 unless `caller`'s session may make one more authenticated write now.
    pub fn write(&self, caller: &Caller) -> ApiResult<()> {
        self.write_key(session_key(caller))
    }

    /// [`write`](Self::write) for a local session.
    pub fn write_local(&self, session: &LocalSession) -> ApiResult<()> {
        self.write_key(local_key(session))
    }

    fn write_key(&self, key: SessionKey) -> ApiResult<()> {
        self.writes
            .check(&[(key, 0)])
            .map_err(|wait| limited("write", "from this session", wait))
    }

    fn prune(&self) {
        self.claims.prune();
        self.writes.prune();
    }
}

/// Whole seconds to wait (at least 1).
fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The 429 error: `P2CORE_TOO_MANY_REQUESTS` with `Retry-After`.
fn limited(what: &str, whose: &str, wait: Duration) -> ApiError {
    let secs = retry_secs(wait);
    let mut e = ApiError::new(
        ErrorCode::TooManyRequests,
        format!("too many {what} requests {whose}; retry in {secs} s"),
    );
    e.retry_after = Some(secs);
    e
}

/// The 429 answer: JSON error body plus `Retry-After` in whole seconds (at least 1).
pub fn too_many_requests(what: &str, wait: Duration) -> Response {
    limited(what, "from this address or network", wait).into_response()
}

/// Counts one hit on each of `keys` (name, limit per minute; `None` = no
/// limit, not counted) in the store's shared counters, in fixed one-minute
/// windows of the clock; the wait until the window ends when any is over its
/// limit. A store that does not count, or fails (logged), lets it through:
/// the instance's in-memory limits still apply.
pub async fn count_shared<S: crate::storage::Store>(
    store: &S,
    keys: &[(String, Option<u64>)],
) -> Result<(), Duration> {
    let (names, limits): (Vec<String>, Vec<u64>) = keys
        .iter()
        .filter_map(|(k, q)| Some((k.clone(), (*q)?)))
        .unzip();
    if names.is_empty() {
        return Ok(());
    }
    let now = p2core_types::UnixTimestamp::now();
    let window = now.0 - now.0 % 60;
    match store
        .count_hits(&names, p2core_types::UnixTimestamp(window))
        .await
    {
        Ok(Some(hits)) if hits.iter().zip(&limits).any(|(h, q)| h > q) => Err(Duration::from_secs(
            (window + 60).saturating_sub(now.0).max(1),
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "the shared rate-limit counters failed; counting in memory only");
            Ok(())
        }
    }
}

/// The limit counted in the store, across every instance sharing it (a
/// store that does not count: always `Ok`). Fixed one-minute windows: at most
/// the limit per minute of the clock in all, whichever instance answers. A
/// store error lets the request through (logged): the in-memory limit of the
/// instance still applies.
pub async fn shared_check<S: crate::storage::Store>(
    store: &S,
    limit: &RateLimit,
    addr: IpAddr,
) -> Result<(), Duration> {
    let keys: Vec<(String, Option<u64>)> = address_keys(addr)
        .into_iter()
        .map(|(net, level)| {
            let q = limit.per_minute.get(level).copied().flatten();
            (format!("{}|{net}", limit.name), q)
        })
        .collect();
    count_shared(store, &keys).await
}

/// Middleware: answers 429 when the client address is over the route's limit
/// (in this instance's memory, then in the store's shared counters).
pub async fn rate_limited<S: crate::storage::Store>(
    State((limit, state)): State<(Arc<RateLimit>, crate::state::SharedState<S>)>,
    req: Request,
    next: Next,
) -> Response {
    // Without a known address (not served by our listener, e.g. in-process
    // tests with `oneshot`) every request shares the unspecified address.
    let ip = client_ip(&req, limit.policy).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match limit.check(ip) {
        Ok(()) => match shared_check(&state.store, &limit, ip).await {
            Ok(()) => next.run(req).await,
            Err(wait) => {
                tracing::debug!(route = limit.name, %ip, "rate limited (shared counters)");
                too_many_requests(limit.name, wait)
            }
        },
        Err(wait) => {
            tracing::debug!(route = limit.name, %ip, "rate limited");
            too_many_requests(limit.name, wait)
        }
    }
}

/// At most N argon2 computations at once, each on a blocking thread.
pub struct PasswordGate {
    permits: Arc<Semaphore>,
}

impl PasswordGate {
    /// A gate for `n` concurrent computations (0: the number of CPUs).
    pub fn new(n: Option<usize>) -> Self {
        let n = n.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Self {
            permits: Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// Runs `f` (an argon2 hash or verification) on a blocking thread once a
    /// slot is free; 503 if none frees up in time.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(ARGON2_QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the server is busy checking passwords; try again later",
                )
            })?
            .map_err(ApiError::internal)?;
        // The permit moves into the blocking task: a caller that gives up
        // (timeout, closed connection) does not free the slot before the work ends.
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_password_gate_never_runs_more_than_n_at_once() {
        let gate = Arc::new(PasswordGate::new(Some(2)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak} ran at once");
    }

    #[test]
    fn a_limit_admits_its_burst_then_names_the_wait() {
        let limit = RateLimit::new("test", 3, 2, 1000, ClientAddressPolicy::peer_only()).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
        }
        let wait = limit.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limit.check(b).is_ok(), "addresses have their own buckets");
        // one IPv6 /64 is one bucket; another /64 is another
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        for _ in 0..3 {
            assert!(limit.check(v6("2001:db8:1:2::1")).is_ok());
        }
        assert!(limit.check(v6("2001:db8:1:2:ffff::9")).is_err());
        assert!(limit.check(v6("2001:db8:1:3::1")).is_ok());
        // an IPv4-mapped address shares the IPv4 address's bucket
        assert!(limit.check(v6("::ffff:192.0.2.1")).is_err());
        assert!(RateLimit::new("off", 0, 2, 1000, ClientAddressPolicy::peer_only()).is_none());
        let resp = too_many_requests("test", Duration::from_millis(1500));
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()[axum::http::header::RETRY_AFTER], "2");
    }

    #[test]
    fn networks_are_limited_as_a_whole() {
        // 2 per address, factor 2: 4 per /24 and /56, 8 per /48
        let limit = RateLimit::new("test", 2, 2, 1000, ClientAddressPolicy::peer_only()).unwrap();
        let ip = |s: String| s.parse::<IpAddr>().unwrap();
        let admitted = (0..100)
            .filter(|i| limit.check(ip(format!("198.51.100.{i}"))).is_ok())
            .count();
        assert_eq!(admitted, 4, "one /24");
        assert!(
            limit.check(ip("198.51.101.1".into())).is_ok(),
            "the next /24"
        );
        // a /48 walked through /64 by /64, and /56 by /56
        let admitted = (0..100u32)
            .filter(|i| limit.check(ip(format!("2001:db8:7:{i:x}00::1"))).is_ok())
            .count();
        assert_eq!(admitted, 8, "one /48");
        assert!(
            limit.check(ip("2001:db8:8::1".into())).is_ok(),
            "the next /48"
        );
        let admitted = (0..100u32)
            .filter(|i| limit.check(ip(format!("2001:db8:9:{i:x}::1"))).is_ok())
            .count();
        assert_eq!(admitted, 4, "one /56");
    }

    #[test]
    fn forwarded_for_takes_the_entry_of_the_outermost_trusted_proxy() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let h = |values: &[&str]| {
            let mut m = HeaderMap::new();
            for v in values {
                m.append("x-forwarded-for", v.parse().unwrap());
            }
            m
        };
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let one = ClientAddressPolicy::behind_proxies(1);
        let two = ClientAddressPolicy::behind_proxies(2);
        // one proxy: its entry is the last; whatever the client wrote before is ignored
        assert_eq!(
            one.client_ip(&h(&["6.6.6.6, 203.0.113.5"]), Some(peer)),
            ip("203.0.113.5")
        );
        assert_eq!(
            one.client_ip(&h(&["6.6.6.6", "203.0.113.5"]), Some(peer)),
            ip("203.0.113.5")
        );
        // two proxies: the second entry from the right
        let hdr = h(&["6.6.6.6, 203.0.113.5, 10.0.0.2"]);
        assert_eq!(two.client_ip(&hdr, Some(peer)), ip("203.0.113.5"));
        assert_eq!(
            two.client_ip(&h(&["[2001:db8::1]:443, 10.0.0.2:80"]), Some(peer)),
            ip("2001:db8::1")
        );
        // malformed in the trusted part, or too few entries: the peer, never an earlier entry
        for bad in [
            &["6.6.6.6, 203.0.113.5, garbage"][..],
            &["6.6.6.6, unknown, 10.0.0.2"],
            &["6.6.6.6, 203.0.113.5, "],
            &["203.0.113.5"],
            &[],
        ] {
            assert_eq!(two.client_ip(&h(bad), Some(peer)), Some(peer), "{bad:?}");
        }
        assert_eq!(
            one.client_ip(&h(&["6.6.6.6, garbage"]), Some(peer)),
            Some(peer)
        );
        // not trusted: the header is ignored
        assert_eq!(
            ClientAddressPolicy::peer_only().client_ip(&hdr, Some(peer)),
            Some(peer)
        );
    }
}
