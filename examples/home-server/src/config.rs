//! Command-line flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use p2core_types::{DomainName, FederationId};
use url::Url;

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

fn parse_peer(s: &str) -> Result<Peer, String> {
    let (domain, url) = s
        .split_once('=')
        .ok_or_else(|| "expected DOMAIN=URL, e.g. example.com=https://example.com".to_owned())?;
    let domain = DomainName::new(domain).map_err(|e| e.to_string())?;
    Peer::new(domain, url)
}

/// The example polyproto-core home server.
///
/// With no arguments it serves `localhost` on 127.0.0.1:3000 and keeps its
/// data in ./p2core-data, creating the server's key and root certificate on
/// the first start.
#[derive(Debug, Clone, Parser)]
#[command(name = "p2core-home-server", version, about, long_about = None)]
pub struct Config {
    /// Domain of this home server. Actors registered here get Federation IDs
    /// `NAME@DOMAIN`, and the server's certificates carry DOMAIN as DC components.
    #[arg(long, env = "P2CORE_DOMAIN", default_value = "localhost")]
    pub domain: DomainName,

    /// Address and port to listen on (HTTP). Put a TLS-terminating proxy in front in production.
    #[arg(long, env = "P2CORE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Directory for the SQLite database and the server's private keys (created with mode 0700/0600).
    #[arg(long, env = "P2CORE_DATA", default_value = "./p2core-data")]
    pub data: PathBuf,

    /// Federation ID of a server administrator (may rotate the server key). Repeat for several.
    #[arg(long = "admin", env = "P2CORE_ADMINS", value_delimiter = ',')]
    pub admins: Vec<FederationId>,

    /// Lifetime of the actor ID-Certs this server issues, in days (1 to 60).
    #[arg(long, env = "P2CORE_ACTOR_CERT_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub actor_cert_days: u32,

    /// Lifetime of the server's own (root) certificate, in days, when one is created.
    #[arg(long, env = "P2CORE_ROOT_CERT_DAYS", default_value_t = 730,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub root_cert_days: u32,

    /// Where to reach a foreign home server: DOMAIN=URL. Repeatable. Domains
    /// without an entry are reached at https://DOMAIN.
    #[arg(long = "peer", env = "P2CORE_PEERS", value_delimiter = ',', value_parser = parse_peer)]
    pub peers: Vec<Peer>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "P2CORE_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Lifetime of challenge strings, in seconds.
    #[arg(long, env = "P2CORE_CHALLENGE_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub challenge_seconds: u64,

    /// Seconds a foreign server's root certificate is cached before it is fetched again.
    #[arg(long, env = "P2CORE_ROOT_CACHE_SECONDS", default_value_t = 3600)]
    pub root_cache_seconds: u64,

    // --- Federation and challenge hardening (issue 7 items 1-3) ---
    /// Most foreign root certificates kept in the cache (least recently used go first).
    #[arg(long, env = "P2CORE_ROOT_CACHE_ENTRIES", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub root_cache_entries: u64,

    /// Seconds an outgoing federation request may take to connect (TCP + TLS).
    #[arg(long, env = "P2CORE_FEDERATION_CONNECT_TIMEOUT_SECONDS", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub federation_connect_timeout_seconds: u64,

    /// Seconds an outgoing federation request may take in all (waiting for a
    /// slot, connecting, sending, reading the whole answer).
    #[arg(long, env = "P2CORE_FEDERATION_TIMEOUT_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub federation_timeout_seconds: u64,

    /// Largest answer accepted from a foreign server, in bytes.
    #[arg(long, env = "P2CORE_FEDERATION_MAX_BODY_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=16 * 1024 * 1024))]
    pub federation_max_body_bytes: u64,

    /// Most outgoing federation requests in flight at once.
    #[arg(long, env = "P2CORE_FEDERATION_MAX_CONCURRENT", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub federation_max_concurrent: u64,

    /// Seconds between re-checks of each foreign session at its actor's home server.
    #[arg(long, env = "P2CORE_FOREIGN_RECHECK_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub foreign_recheck_seconds: u64,

    /// Most challenges outstanding (issued, unused, unexpired) at once.
    #[arg(long, env = "P2CORE_MAX_CHALLENGES", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_challenges: u64,

    /// Seconds between sweeps that drop expired challenges.
    #[arg(long, env = "P2CORE_CHALLENGE_PRUNE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub challenge_prune_seconds: u64,

    /// Most live sessions per actor (local sessions of an actor registered
    /// here; foreign sessions of one foreign actor).
    #[arg(long, env = "P2CORE_MAX_SESSIONS_PER_ACTOR", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_sessions_per_actor: u64,

    /// Largest `auth_payload` accepted (its JSON text), in bytes.
    #[arg(long, env = "P2CORE_MAX_AUTH_PAYLOAD_BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(0..=1024 * 1024))]
    pub max_auth_payload_bytes: u64,
}

impl Config {
    /// The defaults (as with no arguments), with data in `data`.
    pub fn with_data_dir(data: impl Into<PathBuf>) -> Self {
        let mut c = Config::parse_from(["p2core-home-server"]);
        c.data = data.into();
        c
    }

    /// Checks cross-field rules.
    pub fn validate(&self) -> Result<(), String> {
        for admin in &self.admins {
            if admin.domain() != &self.domain {
                return Err(format!(
                    "administrator {admin} is not an actor of this server's domain {}",
                    self.domain
                ));
            }
        }
        Ok(())
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.data.join("p2core.sqlite3")
    }
}
