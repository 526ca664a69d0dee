//! Command-line flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use p2core_types::{DomainName, FederationId};

/// A foreign home server's domain and the base URL its API is reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The foreign server's domain (the domain of its actors' Federation IDs).
    pub domain: DomainName,
    /// Base URL, e.g. `http://127.0.0.1:3001`.
    pub url: String,
}

fn parse_peer(s: &str) -> Result<Peer, String> {
    let (domain, url) = s
        .split_once('=')
        .ok_or_else(|| "expected DOMAIN=URL, e.g. example.com=https://example.com".to_owned())?;
    let domain = DomainName::new(domain).map_err(|e| e.to_string())?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} must start with http:// or https://"));
    }
    Ok(Peer {
        domain,
        url: url.trim_end_matches('/').to_owned(),
    })
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

    // --- Gateway and event queue (helper G) ---
    /// Heartbeat interval the WebSocket gateway announces, in milliseconds. A client
    /// silent for 1.5 intervals gets op 11; still silent one interval later, close 4009.
    #[arg(long, env = "P2CORE_GATEWAY_HEARTBEAT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(50..=600_000))]
    pub gateway_heartbeat_ms: u64,

    /// Largest gateway message accepted from a client, in bytes (larger: close 1009).
    #[arg(long, env = "P2CORE_GATEWAY_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024)]
    pub gateway_max_message_bytes: usize,

    /// Messages a gateway client may send per 10 seconds (more: close 4008).
    #[arg(long, env = "P2CORE_GATEWAY_RATE_LIMIT", default_value_t = 120)]
    pub gateway_rate_limit: u32,

    /// Seconds after a gateway connection ends during which it can be resumed (op 5).
    #[arg(long, env = "P2CORE_GATEWAY_RESUME_SECONDS", default_value_t = 300)]
    pub gateway_resume_seconds: u64,

    /// Most events queued per session; when exceeded the oldest are dropped.
    #[arg(long, env = "P2CORE_MAX_PENDING_EVENTS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pending_events: u32,
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
