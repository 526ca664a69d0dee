//! Bounded HTTP GETs to foreign home servers.
//!
//! Every request: no redirects, a connect timeout and a total timeout (which
//! includes waiting for one of the limited concurrency slots, per domain and
//! in all), a negative cache of unreachable domains, a body cap
//! enforced while reading, no proxy from the environment. Domains without a
//! `--peer` entry are reached only at `https://DOMAIN` and only at public
//! addresses ([`super::address`]). Errors describe what failed in this
//! server's own words; nothing the upstream sent ever becomes part of one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use p2core_types::DomainName;
use reqwest::redirect::Policy;
use tokio::sync::Semaphore;
use url::Url;

use super::FederationError;
use super::address::public_url;
use super::domain_slots::DomainSlots;
use super::failure_cache::FailureCache;
use super::resolver::{NotPublic, PublicOnlyResolver};
use crate::settings::Peer;

/// Limits of outgoing federation requests.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Timeout for establishing a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Timeout for a whole request, from waiting for a slot to the last body byte.
    pub request_timeout: Duration,
    /// Largest accepted response body, in bytes.
    pub max_body_bytes: usize,
    /// Most outgoing requests in flight at once (at least 1).
    pub max_concurrent: usize,
    /// Most outgoing requests in flight at once to one domain (at least 1).
    pub max_per_domain: usize,
    /// How long a domain that could not be reached is not asked again (zero: off).
    pub failure_cache_ttl: Duration,
    /// Most domains remembered as failed.
    pub failure_cache_entries: usize,
}

/// Sends the bounded GETs.
pub struct Fetcher {
    peers: HashMap<DomainName, Url>,
    peer_http: reqwest::Client,
    public_http: reqwest::Client,
    slots: Semaphore,
    domain_slots: DomainSlots,
    failures: Mutex<FailureCache>,
    limits: FetchLimits,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn upstream(domain: &DomainName, reason: impl Into<String>) -> FederationError {
    FederationError::Upstream {
        domain: domain.clone(),
        reason: reason.into(),
    }
}

/// Our own description of a failed request (reqwest's text is not used: it
/// may carry details of the peer's answer).
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<NotPublic>() {
            return "it has no --peer entry and its name resolves only to non-public \
                    (loopback, private, link-local, unique-local or CGNAT) addresses"
                .to_owned();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "the request timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

impl Fetcher {
    /// Builds the two HTTP clients (one for `--peer` entries, one for public domains).
    pub fn new(peers: &[Peer], limits: FetchLimits) -> Result<Self, String> {
        let base = || {
            p2core_routes::client::http_client_builder()
                .map_err(|e| e.to_string())
                .map(|b| {
                    b.redirect(Policy::none())
                        .no_proxy()
                        .connect_timeout(limits.connect_timeout)
                        .pool_idle_timeout(Duration::from_secs(30))
                        .pool_max_idle_per_host(4)
                        .user_agent(concat!("p2core-home-server/", env!("CARGO_PKG_VERSION")))
                })
        };
        let peer_http = base()?.build().map_err(|e| e.to_string())?;
        let public_http = base()?
            .https_only(true)
            .dns_resolver(PublicOnlyResolver)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            peers: peers
                .iter()
                .map(|p| (p.domain.clone(), p.url.clone()))
                .collect(),
            peer_http,
            public_http,
            slots: Semaphore::new(limits.max_concurrent.max(1)),
            domain_slots: DomainSlots::new(limits.max_per_domain),
            failures: Mutex::new(FailureCache::new(
                limits.failure_cache_entries,
                limits.failure_cache_ttl,
            )),
            limits,
        })
    }

    /// The URL of `path_and_query` on `domain`'s server and the client to use.
    fn target(
        &self,
        domain: &DomainName,
        path_and_query: &str,
    ) -> Result<(Url, &reqwest::Client), FederationError> {
        if let Some(base) = self.peers.get(domain) {
            let url = Url::parse(&format!(
                "{}{path_and_query}",
                base.as_str().trim_end_matches('/')
            ))
            .map_err(|_| upstream(domain, "no valid URL can be formed for it"))?;
            return Ok((url, &self.peer_http));
        }
        let url = public_url(domain, path_and_query).map_err(|reason| upstream(domain, reason))?;
        Ok((url, &self.public_http))
    }

    /// GETs `path_and_query` from `domain`'s server: the body of a 2xx answer,
    /// at most `max_body_bytes` long.
    ///
    /// Waits (within the request timeout) first for one of the domain's slots,
    /// then for one of the global ones, so requests to one slow server queue
    /// behind each other and not in front of everyone else's. A domain that
    /// failed recently (see [`super::failure_cache`]) is not asked again until
    /// its entry expires.
    pub async fn get(
        &self,
        domain: &DomainName,
        path_and_query: &str,
    ) -> Result<Vec<u8>, FederationError> {
        let (url, http) = self.target(domain, path_and_query)?;
        if let Some((reason, left)) = lock(&self.failures).get(domain) {
            return Err(upstream(
                domain,
                format!(
                    "{reason} (a recent request failed; it is not asked again for {} s)",
                    left.as_secs().max(1)
                ),
            ));
        }
        let deadline = tokio::time::Instant::now() + self.limits.request_timeout;
        let timed_out = || {
            upstream(
                domain,
                format!(
                    "no complete answer within {} s",
                    self.limits.request_timeout.as_secs_f32()
                ),
            )
        };
        let slots = async {
            let domain_slot = self.domain_slots.acquire(domain).await;
            let global = self.slots.acquire().await;
            (domain_slot, global)
        };
        let Ok((_domain_slot, global)) = tokio::time::timeout_at(deadline, slots).await else {
            // Waiting for our own slots is not the domain's fault: not cached.
            return Err(upstream(
                domain,
                format!(
                    "no request slot became free within {} s (too many federation requests in flight)",
                    self.limits.request_timeout.as_secs_f32()
                ),
            ));
        };
        let _global = global.map_err(|_| upstream(domain, "the server is shutting down"))?;
        let outcome =
            match tokio::time::timeout_at(deadline, self.exchange(domain, url, http)).await {
                Ok(outcome) => outcome,
                Err(_) => Err((timed_out(), true)),
            };
        match outcome {
            Ok(body) => {
                lock(&self.failures).remove(domain);
                Ok(body)
            }
            Err((err, unreachable)) => {
                if unreachable && let FederationError::Upstream { reason, .. } = &err {
                    lock(&self.failures).insert(domain.clone(), reason.clone());
                }
                Err(err)
            }
        }
    }

    /// Number of domains with federation requests in flight or waiting.
    pub fn domains_in_flight(&self) -> usize {
        self.domain_slots.domains()
    }

    /// Number of domains in the negative cache.
    pub fn failed_domains(&self) -> usize {
        lock(&self.failures).len()
    }

    /// Sends the request and reads the answer. The error's flag is `true` when
    /// the server could not be reached or failed (connection, TLS, DNS, 5xx):
    /// those are remembered in the negative cache.
    async fn exchange(
        &self,
        domain: &DomainName,
        url: Url,
        http: &reqwest::Client,
    ) -> Result<Vec<u8>, (FederationError, bool)> {
        let max = self.limits.max_body_bytes;
        let mut resp = http
            .get(url)
            .send()
            .await
            .map_err(|e| (upstream(domain, describe(&e)), true))?;
        let status = resp.status();
        if status.is_redirection() {
            return Err((
                upstream(
                    domain,
                    format!(
                        "it answered with a redirect (HTTP {}); redirects are not followed",
                        status.as_u16()
                    ),
                ),
                false,
            ));
        }
        if !status.is_success() {
            return Err((
                upstream(domain, format!("it answered HTTP {}", status.as_u16())),
                status.is_server_error(),
            ));
        }
        let too_large = || {
            (
                upstream(domain, format!("its answer exceeds {max} bytes")),
                false,
            )
        };
        if resp
            .content_length()
            .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| (upstream(domain, describe(&e)), false))?
        {
            if body.len() + chunk.len() > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
