//! Bounded HTTP GETs to foreign home servers.
//!
//! Every request: no redirects, a connect timeout and a total timeout (which
//! includes waiting for one of the limited concurrency slots), a body cap
//! enforced while reading, no proxy from the environment. Domains without a
//! `--peer` entry are reached only at `https://DOMAIN` and only at public
//! addresses ([`super::address`]). Errors describe what failed in this
//! server's own words; nothing the upstream sent ever becomes part of one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use p2core_types::DomainName;
use reqwest::redirect::Policy;
use tokio::sync::Semaphore;
use url::Url;

use super::FederationError;
use super::address::{NotPublic, PublicOnlyResolver, is_public};
use crate::config::Peer;

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
}

/// Sends the bounded GETs.
pub struct Fetcher {
    peers: HashMap<DomainName, Url>,
    peer_http: reqwest::Client,
    public_http: reqwest::Client,
    slots: Semaphore,
    limits: FetchLimits,
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
            limits,
        })
    }

    /// The URL of `path_and_query` on `domain`'s server and the client to use.
    fn target(
        &self,
        domain: &DomainName,
        path_and_query: &str,
    ) -> Result<(Url, &reqwest::Client), FederationError> {
        let (base, http) = match self.peers.get(domain) {
            Some(url) => (url.as_str().to_owned(), &self.peer_http),
            None => {
                // An IP literal is never resolved, so the resolver cannot filter it.
                let host = domain
                    .as_str()
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                if let Ok(ip) = host.parse::<IpAddr>()
                    && !is_public(ip)
                {
                    return Err(upstream(
                        domain,
                        "it has no --peer entry and is a non-public IP address",
                    ));
                }
                (format!("https://{domain}"), &self.public_http)
            }
        };
        let url = Url::parse(&format!("{}{path_and_query}", base.trim_end_matches('/')))
            .map_err(|_| upstream(domain, "no valid URL can be formed for it"))?;
        Ok((url, http))
    }

    /// GETs `path_and_query` from `domain`'s server: the body of a 2xx answer,
    /// at most `max_body_bytes` long.
    pub async fn get(
        &self,
        domain: &DomainName,
        path_and_query: &str,
    ) -> Result<Vec<u8>, FederationError> {
        let (url, http) = self.target(domain, path_and_query)?;
        let max = self.limits.max_body_bytes;
        let request = async {
            let _slot = self
                .slots
                .acquire()
                .await
                .map_err(|_| upstream(domain, "the server is shutting down"))?;
            let mut resp = http
                .get(url)
                .send()
                .await
                .map_err(|e| upstream(domain, describe(&e)))?;
            let status = resp.status();
            if status.is_redirection() {
                return Err(upstream(
                    domain,
                    format!(
                        "it answered with a redirect (HTTP {}); redirects are not followed",
                        status.as_u16()
                    ),
                ));
            }
            if !status.is_success() {
                return Err(upstream(
                    domain,
                    format!("it answered HTTP {}", status.as_u16()),
                ));
            }
            let too_large = || upstream(domain, format!("its answer exceeds {max} bytes"));
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
                .map_err(|e| upstream(domain, describe(&e)))?
            {
                if body.len() + chunk.len() > max {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        match tokio::time::timeout(self.limits.request_timeout, request).await {
            Ok(result) => result,
            Err(_) => Err(upstream(
                domain,
                format!(
                    "no complete answer within {} s",
                    self.limits.request_timeout.as_secs_f32()
                ),
            )),
        }
    }
}
