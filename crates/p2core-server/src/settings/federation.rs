//! [`FederationSettings`]: how this server talks to foreign home servers.

use std::time::Duration;

use p2core_types::DomainName;
use url::Url;

use super::{InvalidSetting, check_range, settings};

/// A foreign home server's domain and the base URL its API is reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The foreign server's domain (the domain of its actors' Federation IDs).
    pub domain: DomainName,
    /// Base URL, e.g. `http://127.0.0.1:3001` (http or https, a host, no
    /// credentials, query or fragment; a path prefix is kept).
    pub url: Url,
}

impl Peer {
    /// Checks and builds a peer entry.
    pub fn new(domain: DomainName, url: &str) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url} must start with http:// or https://"));
        }
        if url.host_str().is_none() {
            return Err(format!("{url} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{url} must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{url} must not have a query or fragment"));
        }
        Ok(Peer { domain, url })
    }
}

impl std::str::FromStr for Peer {
    type Err = String;

    /// Parses `DOMAIN=URL`, e.g. `example.com=https://example.com`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (domain, url) = s.split_once('=').ok_or_else(|| {
            "expected DOMAIN=URL, e.g. example.com=https://example.com".to_owned()
        })?;
        let domain = DomainName::new(domain).map_err(|e| e.to_string())?;
        Peer::new(domain, url)
    }
}

settings! {
    /// Outgoing federation: where foreign servers are, the limits of every
    /// request to them (the fetcher refuses private and loopback addresses
    /// unless a [`Peer`] names them), the root-certificate cache, and how often
    /// foreign sessions are re-checked.
    pub struct FederationSettings {
        /// Explicit addresses of foreign servers; a domain without an entry is
        /// reached at `https://DOMAIN`.
        peers: Vec<Peer> = Vec::new(),
        /// Most foreign root certificates cached, least recently used go first;
        /// also the number of unreachable domains remembered (default 1024).
        root_cache_entries: usize = 1024,
        /// How long a fetched foreign root certificate is reused (default 1 h).
        root_cache_ttl: Duration = Duration::from_secs(3600),
        /// Time an outgoing request may take to connect, TCP + TLS (default 3 s).
        connect_timeout: Duration = Duration::from_secs(3),
        /// Time an outgoing request may take in all: waiting for a slot,
        /// connecting, sending, reading the whole answer (default 5 s).
        request_timeout: Duration = Duration::from_secs(5),
        /// Largest answer accepted from a foreign server, in bytes (default 64 KiB).
        max_body_bytes: usize = 64 * 1024,
        /// Most outgoing requests in flight at once (default 32).
        max_concurrent: usize = 32,
        /// Most outgoing requests in flight at once to one domain, so one slow server
        /// cannot hold every slot (default 4).
        max_per_domain: usize = 4,
        /// How long a server that could not be reached (connection, TLS or DNS failure,
        /// timeout, HTTP 5xx) is not asked again; `None` turns this off (default 30 s).
        failure_cache_ttl: Option<Duration> = Some(Duration::from_secs(30)),
        /// Time between re-checks of each foreign session at its actor's home
        /// server (default 5 min). A session whose home server cannot confirm it
        /// for twice this long ends.
        foreign_recheck_interval: Duration = Duration::from_secs(300),
    }
}

impl FederationSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let s = Duration::from_secs;
        check_range(
            "federation.root_cache_entries",
            self.root_cache_entries,
            1,
            1_000_000,
        )?;
        check_range(
            "federation.connect_timeout",
            self.connect_timeout,
            s(1),
            s(60),
        )?;
        check_range(
            "federation.request_timeout",
            self.request_timeout,
            s(1),
            s(120),
        )?;
        check_range(
            "federation.max_body_bytes",
            self.max_body_bytes,
            1024,
            16 << 20,
        )?;
        check_range("federation.max_concurrent", self.max_concurrent, 1, 1024)?;
        check_range("federation.max_per_domain", self.max_per_domain, 1, 1024)?;
        if let Some(ttl) = self.failure_cache_ttl {
            check_range("federation.failure_cache_ttl", ttl, s(1), s(3600))?;
        }
        check_range(
            "federation.foreign_recheck_interval",
            self.foreign_recheck_interval,
            s(1),
            s(86_400),
        )
    }
}
