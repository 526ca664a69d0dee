//! Talking to foreign home servers: fetching (and caching) their root
//! certificates and checking foreign actors' ID-Certs against them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use p2core_routes::client::Client;
use p2core_types::{DomainName, IdCert, UnixTimestamp};

use crate::config::Peer;

/// How long one request to a foreign server may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a foreign actor's certificate was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The certificate has no Federation ID in its subject.
    #[error("the ID-Cert has no valid UID (Federation ID) in its subject")]
    NoFederationId,
    /// The home server could not be reached or answered badly.
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
    peers: HashMap<DomainName, String>,
    cache_ttl: Duration,
    roots: Mutex<HashMap<DomainName, (IdCert, Instant)>>,
    clients: Mutex<HashMap<DomainName, Client>>,
}

async fn with_timeout<T, E: std::fmt::Display>(
    domain: &DomainName,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, FederationError> {
    match tokio::time::timeout(FETCH_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(FederationError::Upstream {
            domain: domain.clone(),
            reason: e.to_string(),
        }),
        Err(_) => Err(FederationError::Upstream {
            domain: domain.clone(),
            reason: "timed out".into(),
        }),
    }
}

impl Federation {
    /// A federation client using `peers` to locate servers (others: `https://DOMAIN`).
    pub fn new(peers: &[Peer], cache_ttl: Duration) -> Self {
        Self {
            peers: peers
                .iter()
                .map(|p| (p.domain.clone(), p.url.clone()))
                .collect(),
            cache_ttl,
            roots: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, domain: &DomainName) -> Result<Client, FederationError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(domain) {
            return Ok(c.clone());
        }
        let url = self
            .peers
            .get(domain)
            .cloned()
            .unwrap_or_else(|| format!("https://{domain}"));
        let client = Client::new(url).map_err(|e| FederationError::Upstream {
            domain: domain.clone(),
            reason: e.to_string(),
        })?;
        clients.insert(domain.clone(), client.clone());
        Ok(client)
    }

    async fn fetch_root(
        &self,
        domain: &DomainName,
        at: Option<UnixTimestamp>,
    ) -> Result<IdCert, FederationError> {
        let client = self.client(domain)?;
        let pem = with_timeout(domain, client.server_idcert(at)).await?;
        let root = IdCert::from_pem(&pem).map_err(|e| FederationError::BadRoot {
            domain: domain.clone(),
            reason: e.to_string(),
        })?;
        if at.is_none() {
            let mut roots = self.roots.lock().unwrap_or_else(|p| p.into_inner());
            roots.insert(domain.clone(), (root.clone(), Instant::now()));
        }
        Ok(root)
    }

    fn cached_root(&self, domain: &DomainName) -> Option<IdCert> {
        let roots = self.roots.lock().unwrap_or_else(|p| p.into_inner());
        roots
            .get(domain)
            .filter(|(_, at)| at.elapsed() < self.cache_ttl)
            .map(|(c, _)| c.clone())
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
        let session = cert.session_id().ok_or(FederationError::NoFederationId)?;
        let domain = fid.domain();

        let mut verified = false;
        let mut last_err = None;
        if let Some(root) = self.cached_root(domain) {
            match Self::check(cert, &root, now) {
                Ok(()) => verified = true,
                Err(e) => last_err = Some(e),
            }
        }
        if !verified {
            let current = self.fetch_root(domain, None).await?;
            match Self::check(cert, &current, now) {
                Ok(()) => verified = true,
                Err(e) => last_err = Some(e),
            }
        }
        if !verified {
            // Issued under an older root of that server?
            let then = self.fetch_root(domain, Some(cert.not_before())).await?;
            if let Err(e) = Self::check(cert, &then, now) {
                return Err(last_err.unwrap_or(e));
            }
        }

        let client = self.client(domain)?;
        let listed = with_timeout(domain, client.actor_idcerts(fid, None, Some(session))).await?;
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
