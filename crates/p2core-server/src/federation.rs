//! Talking to foreign home servers: fetching (and caching) their root
//! certificates and checking foreign actors' ID-Certs against them.
//!
//! All outgoing requests go through [`fetch::Fetcher`] (no redirects,
//! timeouts, capped bodies, bounded concurrency in all and per domain, a
//! negative cache of unreachable domains, public addresses only for domains
//! without a `--peer` entry). Concurrent requests for the same domain's root
//! certificate share one fetch (single flight; the map of fetches in flight
//! holds an entry only while a request waits for it, also when requests are
//! cancelled), and the cache of roots is bounded ([`root_cache::RootCache`]).
//! Both the refetch of a current root and the fetch of an older root
//! (`?timestamp=`) happen at most once per [`ROOT_REFRESH_FLOOR`] per domain.

pub mod address;
pub mod domain_slots;
pub mod failure_cache;
pub mod fetch;
pub mod resolver;
pub mod root_cache;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p2core_routes::{actor_idcerts, query::TimestampQuery, server_idcert};
use p2core_types::{DomainName, IdCert, UnixTimestamp};

use crate::settings::{FederationSettings, Peer};
use fetch::{FetchLimits, Fetcher};
use root_cache::RootCache;

/// Why a foreign actor's certificate was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The certificate has no Federation ID in its subject.
    #[error("the ID-Cert has no valid UID (Federation ID) in its subject")]
    NoFederationId,
    /// The home server could not be reached or answered badly. `reason` is
    /// this server's description; it never contains what the upstream sent.
    #[error("the home server {domain} could not be asked: {reason}")]
    Upstream {
        /// Its domain.
        domain: DomainName,
        /// What went wrong.
        reason: String,
    },
    /// The home server's root certificate is not a valid root.
    #[error("the root certificate of {domain} is not valid: {reason}")]
    BadRoot {
        /// Its domain.
        domain: DomainName,
        /// What is wrong with it.
        reason: String,
    },
    /// The actor certificate does not verify against its home server's root.
    #[error("the ID-Cert does not verify against its home server's root certificate: {0}")]
    Invalid(String),
    /// The home server does not list the certificate as a current one of that session.
    #[error("the home server does not list this ID-Cert for the session")]
    UnknownAtHome,
    /// The home server marks the certificate invalidated.
    #[error("the home server has invalidated this ID-Cert")]
    Revoked,
}

/// Client side of federation, shared by all requests.
pub struct Federation {
    fetcher: Fetcher,
    roots: Mutex<RootCache>,
    in_flight: Mutex<HashMap<DomainName, Arc<tokio::sync::Mutex<()>>>>,
    request_timeout: Duration,
}

/// A certificate that does not verify against the cached root makes the root be
/// fetched again, and one that does not verify against the current root makes
/// the root of its issuance time (`?timestamp=`) be fetched, but each not more
/// often than this per domain (so that a stream of bad certificates cannot turn
/// into a stream of fetches).
pub const ROOT_REFRESH_FLOOR: Duration = Duration::from_secs(30);

/// Removes a domain's single-flight entry when its last waiter is done, also
/// when the waiting request is cancelled (the future dropped mid-await).
struct Flight<'a> {
    map: &'a Mutex<HashMap<DomainName, Arc<tokio::sync::Mutex<()>>>>,
    domain: &'a DomainName,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut map = lock(self.map);
        // The map's reference and ours: nobody else waits (counts change only
        // under the map's lock).
        if Arc::strong_count(&self.turn) == 2 {
            map.remove(self.domain);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Federation {
    /// A federation client using `peers` to locate servers (others: `https://DOMAIN`).
    pub fn new(settings: &FederationSettings) -> Result<Self, String> {
        let limits = FetchLimits {
            connect_timeout: settings.connect_timeout,
            request_timeout: settings.request_timeout,
            max_body_bytes: settings.max_body_bytes,
            max_concurrent: settings.max_concurrent,
            max_per_domain: settings.max_per_domain,
            failure_cache_ttl: settings.failure_cache_ttl.unwrap_or(Duration::ZERO),
            failure_cache_entries: settings.root_cache_entries,
        };
        let peers: &[Peer] = &settings.peers;
        Ok(Self {
            request_timeout: settings.request_timeout,
            fetcher: Fetcher::new(peers, limits)?,
            roots: Mutex::new(RootCache::new(
                settings.root_cache_entries,
                settings.root_cache_ttl,
            )),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// Number of root certificates in the cache.
    pub fn cached_roots(&self) -> usize {
        lock(&self.roots).len()
    }

    /// Number of domains whose root fetch is in flight (single-flight entries).
    pub fn roots_in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }

    /// Number of domains with outgoing requests in flight or waiting for a slot.
    pub fn domains_in_flight(&self) -> usize {
        self.fetcher.domains_in_flight()
    }

    /// Number of domains in the negative cache (recently unreachable).
    pub fn failed_domains(&self) -> usize {
        self.fetcher.failed_domains()
    }

    async fn fetch_root(
        &self,
        domain: &DomainName,
        at: Option<UnixTimestamp>,
    ) -> Result<IdCert, FederationError> {
        let path = server_idcert::path_and_query(&TimestampQuery { timestamp: at });
        let body = self.fetcher.get(domain, &path).await?;
        let bad = |reason: &str| FederationError::BadRoot {
            domain: domain.clone(),
            reason: reason.to_owned(),
        };
        let pem = std::str::from_utf8(&body).map_err(|_| bad("the answer is not UTF-8 text"))?;
        IdCert::from_pem(pem).map_err(|_| bad("the answer is not a PEM ID-Cert"))
    }

    /// The current root of `domain`: from the cache (with `refresh`, only if it was
    /// fetched less than [`ROOT_REFRESH_FLOOR`] ago), else fetched once for all
    /// concurrent callers (single flight).
    async fn current_root(
        &self,
        domain: &DomainName,
        refresh: bool,
    ) -> Result<IdCert, FederationError> {
        let asked = Instant::now();
        let wanted_since = refresh.then(|| asked.checked_sub(ROOT_REFRESH_FLOOR).unwrap_or(asked));
        if let Some(root) = lock(&self.roots).get(domain, wanted_since) {
            return Ok(root);
        }
        let turn = lock(&self.in_flight)
            .entry(domain.clone())
            .or_default()
            .clone();
        let flight = Flight {
            map: &self.in_flight,
            domain,
            turn,
        };
        let _turn = tokio::time::timeout(self.request_timeout, flight.turn.lock())
            .await
            .map_err(|_| FederationError::Upstream {
                domain: domain.clone(),
                reason: "another fetch of its root certificate did not finish in time".to_owned(),
            })?;
        // A fetch that finished while we waited counts as fresh enough.
        if let Some(root) = lock(&self.roots).get(domain, wanted_since) {
            return Ok(root);
        }
        let root = self.fetch_root(domain, None).await?;
        lock(&self.roots).insert(domain.clone(), root.clone());
        Ok(root)
    }

    fn check(cert: &IdCert, root: &IdCert, now: UnixTimestamp) -> Result<(), FederationError> {
        p2core_certs::verify_actor_cert(cert, root, now)
            .map_err(|e| FederationError::Invalid(e.to_string()))
    }

    /// Verifies a foreign actor's ID-Cert: it must chain to its home server's
    /// root certificate (the cached current one, a freshly fetched current
    /// one, or the one the home server had when the certificate was issued),
    /// and the home server must list it, not invalidated, for its session.
    pub async fn verify_foreign_cert(
        &self,
        cert: &IdCert,
        now: UnixTimestamp,
    ) -> Result<(), FederationError> {
        let fid = cert.subject_fid().ok_or(FederationError::NoFederationId)?;
        let domain = fid.domain();

        let cached = lock(&self.roots).get(domain, None);
        let mut last_err = None;
        let mut verified = false;
        if let Some(root) = cached {
            match Self::check(cert, &root, now) {
                Ok(()) => verified = true,
                Err(e) => last_err = Some(e),
            }
        }
        if !verified {
            let current = self.current_root(domain, last_err.is_some()).await?;
            match Self::check(cert, &current, now) {
                Ok(()) => verified = true,
                Err(e) => last_err = Some(e),
            }
        }
        if !verified {
            verified = self.check_older_roots(cert, domain, now).await?;
        }
        if !verified {
            return Err(last_err.unwrap_or_else(|| {
                FederationError::Invalid("no root certificate of its home server fits".to_owned())
            }));
        }
        self.check_listed_at_home(cert).await
    }

    /// Was `cert` issued under an older root of its home server? Checks the
    /// older roots cached for `domain`, then (at most once per
    /// [`ROOT_REFRESH_FLOOR`] per domain) fetches the root of the time the
    /// certificate was issued (`?timestamp=`). `Ok(false)`: no root fits.
    async fn check_older_roots(
        &self,
        cert: &IdCert,
        domain: &DomainName,
        now: UnixTimestamp,
    ) -> Result<bool, FederationError> {
        let older = lock(&self.roots).older_roots(domain);
        if older
            .iter()
            .any(|root| Self::check(cert, root, now).is_ok())
        {
            return Ok(true);
        }
        if !lock(&self.roots).claim_older_fetch(domain, ROOT_REFRESH_FLOOR) {
            return Ok(false);
        }
        let then = self.fetch_root(domain, Some(cert.not_before())).await?;
        let fits = Self::check(cert, &then, now).is_ok();
        lock(&self.roots).add_older_root(domain, then);
        Ok(fits)
    }

    /// Asks the actor's home server whether it lists `cert` for its session,
    /// not invalidated.
    pub async fn check_listed_at_home(&self, cert: &IdCert) -> Result<(), FederationError> {
        let fid = cert.subject_fid().ok_or(FederationError::NoFederationId)?;
        let session = cert.session_id().ok_or(FederationError::NoFederationId)?;
        let domain = fid.domain();
        let query = actor_idcerts::Query {
            timestamp: None,
            session_id: Some(session.clone()),
        };
        let body = self
            .fetcher
            .get(domain, &actor_idcerts::path_and_query(fid, &query))
            .await?;
        let listed: actor_idcerts::Response =
            serde_json::from_slice(&body).map_err(|_| FederationError::Upstream {
                domain: domain.clone(),
                reason: "its answer is not the JSON list of ID-Certs".to_owned(),
            })?;
        let mut found = None;
        for (pem, invalidated) in listed.idcerts.iter().zip(listed.invalidated.iter()) {
            if IdCert::from_pem(pem).is_ok_and(|c| c.as_der() == cert.as_der()) {
                found = Some(*invalidated);
            }
        }
        match found {
            None => Err(FederationError::UnknownAtHome),
            Some(true) => Err(FederationError::Revoked),
            Some(false) => Ok(()),
        }
    }
}
