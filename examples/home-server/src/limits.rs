//! Bounds on expensive unauthenticated work: per-client-address rate limits
//! (answered `429` with `Retry-After`) and a cap on concurrent argon2 runs.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use p2core_types::ErrorCode;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

/// How long a request waits for an argon2 slot before it is answered 503.
const ARGON2_QUEUE_WAIT: Duration = Duration::from_secs(20);

/// One route group's limiter: a token bucket per client address.
pub struct RateLimit {
    /// Which routes it guards (for the error message and the log).
    name: &'static str,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl RateLimit {
    /// `per_minute` requests per minute and address, all of them allowed in one
    /// burst; `None` for 0 (no limit).
    pub fn new(name: &'static str, per_minute: u32, trust_forwarded_for: bool) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self {
            name,
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)),
            trust_forwarded_for,
        })
    }

    /// `Ok` if the address may make one more request now, else the wait until it may.
    /// IPv6 addresses count per /64 network (one customer's usual allocation), so
    /// that walking through one's own prefix does not multiply the limit.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&bucket(addr))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets addresses whose bucket is full again (keeps memory bounded).
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The bucket an address counts against: IPv4 as is (also IPv4-mapped IPv6),
/// IPv6 by its /64 prefix.
fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from_bits(
                v6.to_bits() & !((1u128 << 64) - 1),
            )),
        },
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
}

impl RateLimits {
    /// The limits `config` asks for.
    pub fn from_config(config: &Config) -> Self {
        let xff = config.trust_forwarded_for;
        let make = |name, n| RateLimit::new(name, n, xff).map(Arc::new);
        Self {
            register: make("register", config.rate_register_per_minute),
            trust: make("session trust", config.rate_trust_per_minute),
            challenge: make("challenge", config.rate_challenge_per_minute),
            identify: make("session identify", config.rate_identify_per_minute),
        }
    }

    /// Forgets idle addresses of every limiter.
    pub fn prune(&self) {
        for l in [&self.register, &self.trust, &self.challenge, &self.identify]
            .into_iter()
            .flatten()
        {
            l.prune();
        }
    }
}

/// The address a request counts against: the peer address, or with
/// `trust_forwarded_for` the last (proxy-appended) `X-Forwarded-For` entry.
pub fn client_ip(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(ip);
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// The 429 answer: JSON error body plus `Retry-After` in whole seconds (at least 1).
pub fn too_many_requests(what: &str, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut resp = ApiError::new(
        ErrorCode::TooManyRequests,
        format!("too many {what} requests from this address; retry in {secs} s"),
    )
    .into_response();
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// Middleware: answers 429 when the client address is over the route's limit.
pub async fn rate_limited(
    State(limit): State<Arc<RateLimit>>,
    req: Request,
    next: Next,
) -> Response {
    // Without a known address (not served by our listener, e.g. in-process
    // tests with `oneshot`) every request shares the unspecified address.
    let ip = client_ip(&req, limit.trust_forwarded_for)
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    match limit.check(ip) {
        Ok(()) => next.run(req).await,
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
    pub fn new(n: u32) -> Self {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            usize::try_from(n).unwrap_or(usize::MAX)
        };
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
        let gate = Arc::new(PasswordGate::new(2));
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
        let limit = RateLimit::new("test", 3, false).unwrap();
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
        assert!(RateLimit::new("off", 0, false).is_none());
        let resp = too_many_requests("test", Duration::from_millis(1500));
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()[RETRY_AFTER], "2");
    }
}
