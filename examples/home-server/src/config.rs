//! The command line: one flag per setting (each also an environment
//! variable), mapped onto `p2core_server`'s typed settings by [`Config::builder`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use p2core_certs::CertProfile;
pub use p2core_server::settings::Peer;
use p2core_server::settings::{
    CertSettings, FederationSettings, GatewaySettings, HttpSettings, InvalidSetting,
    KeyEncryptionKey, KeySettings, LimitSettings, RegistrationPolicy, ServerSettings,
};
use p2core_server::storage::postgres::PgSettings;
use p2core_server::storage::sqlite::SqliteSettings;
use p2core_server::{DATABASE_FILE, ServerBuilder};
use p2core_types::{DomainName, FederationId};

/// Who may register over HTTP (`--registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegistrationMode {
    /// Anyone may register.
    Open,
    /// Nobody may register over HTTP.
    Closed,
    /// Only with an invite token made by `admin invite create`.
    Invite,
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
    #[arg(long, env = "P2CORE_ACTOR_CERT_DAYS", default_value_t = 30)]
    pub actor_cert_days: u32,
    /// Lifetime of the server's own (root) certificate, in days, when one is created.
    #[arg(long, env = "P2CORE_ROOT_CERT_DAYS", default_value_t = 730)]
    pub root_cert_days: u32,
    /// Where to reach a foreign home server: DOMAIN=URL. Repeatable. Domains
    /// without an entry are reached at https://DOMAIN.
    #[arg(long = "peer", env = "P2CORE_PEERS", value_delimiter = ',')]
    pub peers: Vec<Peer>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "P2CORE_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Lifetime of challenge strings, in seconds.
    #[arg(long, env = "P2CORE_CHALLENGE_SECONDS", default_value_t = 300)]
    pub challenge_seconds: u64,
    /// Seconds a foreign server's root certificate is cached before it is fetched again.
    #[arg(long, env = "P2CORE_ROOT_CACHE_SECONDS", default_value_t = 3600)]
    pub root_cache_seconds: u64,
    /// Seconds a client has to send a request's complete header (after connecting, or
    /// after the previous response on a kept-alive connection).
    #[arg(long, env = "P2CORE_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Seconds a client has to send a request's complete body (answered 408).
    #[arg(long, env = "P2CORE_BODY_TIMEOUT_SECONDS", default_value_t = 30)]
    pub body_timeout_seconds: u64,
    /// Seconds a whole request (body and handler) may take before it is answered 503.
    #[arg(long, env = "P2CORE_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
    /// Seconds without a byte in either direction, and no request in progress,
    /// after which a connection is closed.
    #[arg(long, env = "P2CORE_IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
    pub idle_timeout_seconds: u64,
    /// Most connections served at once; further ones wait in the listen backlog.
    #[arg(long, env = "P2CORE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: u32,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for in-flight requests before closing.
    #[arg(long, env = "P2CORE_SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,
    /// Most password hashes (argon2id, 19 MiB each) computed at once; 0 means the number of CPUs.
    #[arg(long, env = "P2CORE_ARGON2_CONCURRENCY", default_value_t = 0)]
    pub argon2_concurrency: u32,
    /// Requests per minute and client address to `POST /register` (also the burst); 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_REGISTER", default_value_t = 60)]
    pub rate_register_per_minute: u32,
    /// Requests per minute and client address to `POST /session/trust` (and its legacy path); 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_TRUST", default_value_t = 120)]
    pub rate_trust_per_minute: u32,
    /// Requests per minute and client address to `GET /challenge`; 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_CHALLENGE", default_value_t = 1200)]
    pub rate_challenge_per_minute: u32,
    /// Requests per minute and client address to `POST /session/identify`; 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_IDENTIFY", default_value_t = 600)]
    pub rate_identify_per_minute: u32,
    /// Take the client address for rate limits from `X-Forwarded-For`: the N-th entry from
    /// the right with N = --trusted-proxies (see docs/operations.md). Set this only when
    /// reverse proxies you run append to that header; otherwise clients could pick their
    /// own address.
    #[arg(long, env = "P2CORE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Most KeyPackages (regular and last-resort) one session may have stored.
    #[arg(
        long,
        env = "P2CORE_MAX_KEY_PACKAGES_PER_SESSION",
        default_value_t = 500
    )]
    pub max_key_packages_per_session: u64,
    /// Log a warning every check while the root certificate expires within this many days.
    #[arg(long, env = "P2CORE_ROOT_WARN_DAYS", default_value_t = 60)]
    pub root_warn_days: u32,
    /// Renew the root certificate (new key, history kept, as a key rotation) when it expires
    /// within this many days; 0 turns automatic renewal off (`admin renew-root` does it by hand).
    #[arg(long, env = "P2CORE_ROOT_RENEW_DAYS", default_value_t = 30)]
    pub root_renew_days: u32,
    /// Seconds between two checks of the root certificate's remaining lifetime.
    #[arg(long, env = "P2CORE_ROOT_CHECK_SECONDS", default_value_t = 3600)]
    pub root_check_seconds: u64,
    /// Extension layout of the certificates this server makes: `rfc5280` (default: SKI/AKI, passes
    /// `openssl verify -x509_strict`) or `polyproto-0.21` (only BasicConstraints then KeyUsage, so
    /// verifiers built on the official polyproto 0.21 SDK accept them; see docs/interop.md).
    #[arg(long, env = "P2CORE_CERT_PROFILE", default_value_t = CertProfile::Rfc5280)]
    pub cert_profile: CertProfile,
    /// Most foreign root certificates kept in the cache (least recently used go first).
    #[arg(long, env = "P2CORE_ROOT_CACHE_ENTRIES", default_value_t = 1024)]
    pub root_cache_entries: u64,
    /// Seconds an outgoing federation request may take to connect (TCP + TLS).
    #[arg(
        long,
        env = "P2CORE_FEDERATION_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 3
    )]
    pub federation_connect_timeout_seconds: u64,
    /// Seconds an outgoing federation request may take in all (waiting for a
    /// slot, connecting, sending, reading the whole answer).
    #[arg(long, env = "P2CORE_FEDERATION_TIMEOUT_SECONDS", default_value_t = 5)]
    pub federation_timeout_seconds: u64,
    /// Largest answer accepted from a foreign server, in bytes.
    #[arg(long, env = "P2CORE_FEDERATION_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub federation_max_body_bytes: u64,
    /// Most outgoing federation requests in flight at once.
    #[arg(long, env = "P2CORE_FEDERATION_MAX_CONCURRENT", default_value_t = 32)]
    pub federation_max_concurrent: u64,
    /// Most outgoing federation requests in flight at once to one domain (more
    /// wait, within the request timeout), so one slow server cannot hold every slot.
    #[arg(long, env = "P2CORE_FEDERATION_MAX_PER_DOMAIN", default_value_t = 4)]
    pub federation_max_per_domain: u64,
    /// Seconds a foreign server that could not be reached (connection, TLS or DNS
    /// failure, timeout, HTTP 5xx) is not asked again; 0 turns this off. At most
    /// --root-cache-entries domains are remembered.
    #[arg(
        long,
        env = "P2CORE_FEDERATION_FAILURE_CACHE_SECONDS",
        default_value_t = 30
    )]
    pub federation_failure_cache_seconds: u64,
    /// Seconds between re-checks of each foreign session at its actor's home server.
    #[arg(long, env = "P2CORE_FOREIGN_RECHECK_SECONDS", default_value_t = 300)]
    pub foreign_recheck_seconds: u64,
    /// Most challenges outstanding (issued, unused, unexpired) at once.
    #[arg(long, env = "P2CORE_MAX_CHALLENGES", default_value_t = 100_000)]
    pub max_challenges: u64,
    /// Seconds between sweeps that drop expired challenges.
    #[arg(long, env = "P2CORE_CHALLENGE_PRUNE_SECONDS", default_value_t = 30)]
    pub challenge_prune_seconds: u64,
    /// Most live sessions per actor (local sessions of an actor registered
    /// here; foreign sessions of one foreign actor).
    #[arg(long, env = "P2CORE_MAX_SESSIONS_PER_ACTOR", default_value_t = 32)]
    pub max_sessions_per_actor: u64,
    /// Largest `auth_payload` accepted (its JSON text), in bytes.
    #[arg(long, env = "P2CORE_MAX_AUTH_PAYLOAD_BYTES", default_value_t = 4096)]
    pub max_auth_payload_bytes: u64,
    /// Heartbeat interval the WebSocket gateway announces, in milliseconds. A client
    /// silent for 1.5 intervals gets op 11; still silent one interval later, close 4009.
    #[arg(long, env = "P2CORE_GATEWAY_HEARTBEAT_MS", default_value_t = 30_000)]
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
    /// Milliseconds one write to a gateway client may take; a client that does not
    /// read for that long is disconnected (it can resume; its events stay queued).
    #[arg(
        long,
        env = "P2CORE_GATEWAY_WRITE_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub gateway_write_timeout_ms: u64,
    /// Bytes of event messages a gateway connection keeps un-acknowledged (for re-sends
    /// and Resume); when full, delivery pauses until a heartbeat acknowledges some.
    #[arg(long, env = "P2CORE_GATEWAY_MAX_UNACKED_BYTES", default_value_t = 256 * 1024)]
    pub gateway_max_unacked_bytes: usize,
    /// Most events queued per session; when exceeded the oldest are dropped.
    #[arg(long, env = "P2CORE_MAX_PENDING_EVENTS", default_value_t = 1000)]
    pub max_pending_events: u32,
    /// Number of reverse proxies in front of the server (the connecting peer is the last one;
    /// each appends to `X-Forwarded-For`). With --trust-forwarded-for the client address is the
    /// N-th entry from the right; too few entries or a malformed one among the last N: the
    /// peer address is used.
    #[arg(long, env = "P2CORE_TRUSTED_PROXIES", default_value_t = 1)]
    pub trusted_proxies: u32,
    /// The per-address rate limits also hold for networks: an IPv4 /24 and an IPv6 /56 may
    /// make FACTOR times, an IPv6 /48 FACTOR² times the requests of one address (IPv6: of
    /// one /64).
    #[arg(long, env = "P2CORE_RATE_NETWORK_FACTOR", default_value_t = 4)]
    pub rate_network_factor: u32,
    /// Most addresses, networks or sessions each rate limiter remembers; when full, the entry
    /// closest to a full bucket is forgotten first.
    #[arg(long, env = "P2CORE_RATE_LIMIT_MAX_ENTRIES", default_value_t = 65_536)]
    pub rate_limit_max_entries: u64,
    /// Most outstanding challenges one network (IPv6 /48, IPv4 /24) may hold, so that one
    /// network cannot fill the store (--max-challenges) for everyone.
    #[arg(
        long,
        env = "P2CORE_MAX_CHALLENGES_PER_NETWORK",
        default_value_t = 1000
    )]
    pub max_challenges_per_network: u64,
    /// KeyPackage claims (`GET /keypackage/{fid}`) per minute and calling session (also the
    /// burst); 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_KEYPACKAGE_CLAIMS", default_value_t = 120)]
    pub rate_keypackage_claims_per_minute: u32,
    /// KeyPackage claims per minute of one actor's KeyPackages, by all callers together (also
    /// the burst); 0 = unlimited.
    #[arg(
        long,
        env = "P2CORE_RATE_KEYPACKAGE_CLAIMS_PER_ACTOR",
        default_value_t = 30
    )]
    pub rate_keypackage_claims_per_actor_per_minute: u32,
    /// Authenticated writes (KeyPackage uploads, last-resort replacement, ID-Cert rotation,
    /// `PUT /session/idcert/extern`, `DELETE /session`) per minute and session (also the
    /// burst); 0 = unlimited.
    #[arg(long, env = "P2CORE_RATE_SESSION_WRITES", default_value_t = 60)]
    pub rate_session_writes_per_minute: u32,
    /// Who may register over HTTP (`POST /register`): `open` (anyone), `closed` (nobody:
    /// 403 P2CORE_REGISTRATION_CLOSED; the operator makes accounts with `admin create`) or
    /// `invite` (with a token from `admin invite create`, sent as `auth_payload.invite`; 403
    /// P2CORE_INVALID_INVITE without a usable one).
    #[arg(long, env = "P2CORE_REGISTRATION", value_enum, default_value_t = RegistrationMode::Open)]
    pub registration: RegistrationMode,
    /// Most connections open at once from one client address (IPv6: one /64); further
    /// ones are answered 429 and closed. 0 = no limit. Not applied with
    /// --trust-forwarded-for (every connection then comes from the proxy).
    #[arg(long, env = "P2CORE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: u32,
    /// Most gateway WebSockets open at once (more: 503 before the upgrade). Each also
    /// holds one of --max-connections for its whole life.
    #[arg(long, env = "P2CORE_MAX_GATEWAY_CONNECTIONS", default_value_t = 512)]
    pub max_gateway_connections: u32,
    /// Most gateway WebSockets open at once from one client address (IPv6: one /64;
    /// more: 429 before the upgrade). 0 = no limit.
    #[arg(
        long,
        env = "P2CORE_MAX_GATEWAY_CONNECTIONS_PER_ADDRESS",
        default_value_t = 16
    )]
    pub max_gateway_connections_per_address: u32,
    /// Most gateway WebSockets identified as one session at once (more: close 4008).
    #[arg(
        long,
        env = "P2CORE_MAX_GATEWAY_CONNECTIONS_PER_SESSION",
        default_value_t = 4
    )]
    pub max_gateway_connections_per_session: u32,
    /// Seconds a gateway client has after Hello to identify or resume (else close 4003).
    #[arg(long, env = "P2CORE_GATEWAY_IDENTIFY_SECONDS", default_value_t = 10)]
    pub gateway_identify_seconds: u64,
    /// Bytes of encoded certificate-lookup answers kept in memory (LRU); 0 turns the cache off.
    #[arg(long, env = "P2CORE_RESPONSE_CACHE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub response_cache_bytes: usize,
    /// PostgreSQL database (`postgres://user[:password]@host[:port]/database`) instead of the
    /// SQLite file in --data: several instances given the same URL (and the same
    /// --key-encryption-key-file) serve one home server behind a load balancer. Unset: SQLite.
    #[arg(long, env = "P2CORE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// File with the 64 hex digits of the key-encryption key that seals the server's private
    /// keys in the PostgreSQL database (`openssl rand -hex 32 > kek.hex`, mode 0600). Every
    /// instance of one server needs the same one; required with a postgres:// --database-url.
    #[arg(long, env = "P2CORE_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,
    /// Connections of this instance to PostgreSQL (opened at start and kept; one more listens
    /// for the other instances' notifications).
    #[arg(long, env = "P2CORE_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
}

/// Where the data lives, as the flags say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The SQLite file in --data.
    Sqlite(SqliteSettings),
    /// A PostgreSQL database (--database-url).
    Postgres(PgSettings),
}

/// `0` means "off" on the command line; the settings say it with `None`.
fn nonzero<T: PartialEq + Default>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

fn size(v: impl TryInto<usize>) -> usize {
    v.try_into().unwrap_or(usize::MAX)
}

impl Config {
    /// The defaults (as with no arguments), with data in `data`.
    pub fn with_data_dir(data: impl Into<PathBuf>) -> Self {
        let mut c = Config::parse_from(["p2core-home-server"]);
        c.data = data.into();
        c
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.data.join(DATABASE_FILE)
    }

    /// The typed settings these flags ask for.
    pub fn settings(&self) -> ServerSettings {
        let secs = Duration::from_secs;
        let ms = Duration::from_millis;
        let mut s = ServerSettings::new(self.domain.clone());
        s.admins.clone_from(&self.admins);
        s.http = HttpSettings::new()
            .max_body_bytes(self.max_body_bytes)
            .header_timeout(secs(self.header_timeout_seconds))
            .body_timeout(secs(self.body_timeout_seconds))
            .request_timeout(secs(self.request_timeout_seconds))
            .idle_timeout(secs(self.idle_timeout_seconds))
            .max_connections(size(self.max_connections))
            .max_connections_per_address(nonzero(size(self.max_connections_per_address)))
            .shutdown_grace(secs(self.shutdown_grace_seconds))
            .trusted_proxies(self.trust_forwarded_for.then_some(self.trusted_proxies));
        s.certs = CertSettings::new()
            .profile(self.cert_profile)
            .actor_cert_days(self.actor_cert_days);
        s.keys = KeySettings::new()
            .dir(self.data.clone())
            .root_cert_days(self.root_cert_days)
            .root_warn_days(self.root_warn_days)
            .root_renew_days(nonzero(self.root_renew_days))
            .root_check_interval(secs(self.root_check_seconds));
        s.federation = FederationSettings::new()
            .peers(self.peers.clone())
            .root_cache_entries(size(self.root_cache_entries))
            .root_cache_ttl(secs(self.root_cache_seconds))
            .connect_timeout(secs(self.federation_connect_timeout_seconds))
            .request_timeout(secs(self.federation_timeout_seconds))
            .max_body_bytes(size(self.federation_max_body_bytes))
            .max_concurrent(size(self.federation_max_concurrent))
            .max_per_domain(size(self.federation_max_per_domain))
            .failure_cache_ttl(nonzero(self.federation_failure_cache_seconds).map(secs))
            .foreign_recheck_interval(secs(self.foreign_recheck_seconds));
        s.limits = LimitSettings::new()
            .register_per_minute(nonzero(self.rate_register_per_minute))
            .trust_per_minute(nonzero(self.rate_trust_per_minute))
            .challenge_per_minute(nonzero(self.rate_challenge_per_minute))
            .identify_per_minute(nonzero(self.rate_identify_per_minute))
            .keypackage_claims_per_minute(nonzero(self.rate_keypackage_claims_per_minute))
            .keypackage_claims_per_actor_per_minute(nonzero(
                self.rate_keypackage_claims_per_actor_per_minute,
            ))
            .session_writes_per_minute(nonzero(self.rate_session_writes_per_minute))
            .network_factor(self.rate_network_factor)
            .max_tracked_clients(size(self.rate_limit_max_entries))
            .argon2_concurrency(nonzero(size(self.argon2_concurrency)))
            .max_sessions_per_actor(self.max_sessions_per_actor)
            .max_key_packages_per_session(self.max_key_packages_per_session)
            .max_auth_payload_bytes(size(self.max_auth_payload_bytes))
            .max_challenges(size(self.max_challenges))
            .max_challenges_per_network(self.max_challenges_per_network)
            .challenge_lifetime(secs(self.challenge_seconds))
            .challenge_prune_interval(secs(self.challenge_prune_seconds))
            .response_cache_bytes(self.response_cache_bytes);
        s.gateway = GatewaySettings::new()
            .heartbeat_interval(ms(self.gateway_heartbeat_ms))
            .max_message_bytes(self.gateway_max_message_bytes)
            .rate_limit(self.gateway_rate_limit)
            .resume_window(secs(self.gateway_resume_seconds))
            .write_timeout(ms(self.gateway_write_timeout_ms))
            .max_unacked_bytes(self.gateway_max_unacked_bytes)
            .max_connections(size(self.max_gateway_connections))
            .max_connections_per_address(nonzero(size(self.max_gateway_connections_per_address)))
            .max_connections_per_session(size(self.max_gateway_connections_per_session))
            .identify_timeout(secs(self.gateway_identify_seconds));
        s.registration = match self.registration {
            RegistrationMode::Open => RegistrationPolicy::Open,
            RegistrationMode::Closed => RegistrationPolicy::Closed,
            RegistrationMode::Invite => RegistrationPolicy::Invite,
        };
        s
    }

    /// The database the flags choose: PostgreSQL with a `postgres://` (or
    /// `postgresql://`) --database-url, else SQLite in --data.
    pub fn database(&self) -> Result<Database, InvalidSetting> {
        match &self.database_url {
            None => Ok(Database::Sqlite(self.builder().sqlite_settings())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(
                    PgSettings::new(url.clone())
                        .max_connections(self.database_max_connections)
                        .max_pending_events(self.max_pending_events),
                ))
            }
            Some(_) => Err(InvalidSetting {
                setting: "database_url",
                reason:
                    "only postgres:// URLs are understood (leave it unset for SQLite in --data)"
                        .into(),
            }),
        }
    }

    /// [`settings`](Self::settings) with the key-encryption key of
    /// --key-encryption-key-file read in.
    pub fn settings_with_keys(&self) -> Result<ServerSettings, InvalidSetting> {
        let mut s = self.settings();
        if let Some(path) = &self.key_encryption_key_file {
            let kek = KeyEncryptionKey::from_file(path).map_err(|e| InvalidSetting {
                setting: "key_encryption_key_file",
                reason: e.to_string(),
            })?;
            s.keys.encryption_key = Some(kek);
        }
        Ok(s)
    }

    /// A server builder with [`settings`](Self::settings) and the SQLite database in `--data`.
    pub fn builder(&self) -> ServerBuilder {
        ServerBuilder::from_settings(self.settings()).sqlite(
            SqliteSettings::new(self.database_path()).max_pending_events(self.max_pending_events),
        )
    }
}
