//! # p2core-server
//!
//! The server side of [polyproto-core] as a library: every route of
//! [`p2core_routes`] bound to a handler, federation with an SSRF-safe fetcher,
//! challenges, rate limits, the WebSocket gateway and its event queue, the
//! server's keys and root certificate, background upkeep, and storage behind
//! the [`Store`](storage::Store) trait (SQLite bundled, feature `sqlite`).
//!
//! A [`Server`] is made by a [`ServerBuilder`] from typed [`settings`], one
//! type per part, each with defaults. Then either let it serve
//! ([`Server::start`], [`Server::serve`]: its own accept loop with connection
//! caps and timeouts), or take its routes as an [`axum::Router`]
//! ([`Server::router`]) and merge them with your own. Events of your own
//! namespaces go to the actors' sessions through the same queue and gateway
//! ([`Server::events`]); who may register is a [`RegistrationPolicy`](settings::RegistrationPolicy),
//! custom rules included.
//!
//! ```no_run
//! use p2core_server::Server;
//! use p2core_server::settings::{HttpSettings, KeySettings};
//! use p2core_types::DomainName;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder(DomainName::new("example.com")?)
//!     .keys(KeySettings::new().dir("/var/lib/p2core".into()))
//!     .http(HttpSettings::new().max_connections(4096))
//!     .build()
//!     .await?;
//! let running = server.start("127.0.0.1:3000".parse()?).await?;
//! println!("serving at {}", running.base_url());
//! running.wait().await?;
//! # Ok(()) }
//! ```
//!
//! [polyproto-core]: https://docs.polyphony.chat/Protocol%20Specifications/core/
//!
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod admin;
mod app;
mod auth;
mod challenges;
mod error;
mod events;
mod extract;
mod federation;
mod gateway;
mod handlers;
mod keys;
use storage::SessionNotice;
mod limits;
mod maintenance;
mod response_cache;
mod serve;
pub mod settings;
mod slots;
mod state;
pub mod storage;

pub use events::{EventPublisher, PublishError};
pub use keys::KeyError;

/// Drives gateway connections without a socket, for the fuzz targets
/// (feature `fuzzing`; not a stable API).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::gateway::fuzzing::*;
}

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use axum::Router;
use p2core_types::DomainName;
use tokio::net::TcpListener;
use tokio::sync::{RwLock, watch};
use tokio::task::JoinHandle;

use federation::Federation;
use settings::{
    CertSettings, FederationSettings, GatewaySettings, HttpSettings, InvalidSetting, KeySettings,
    LimitSettings, RegistrationPolicy, ServerSettings,
};
use state::{AppState, SharedState};
use storage::Store;
#[cfg(feature = "sqlite")]
use storage::sqlite::{SqliteSettings, SqliteStore};

/// Why a server could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is out of range, or settings contradict each other.
    #[error("invalid setting {0}")]
    Settings(#[from] InvalidSetting),
    /// The federation client could not be set up (e.g. a peer URL).
    #[error("federation client: {0}")]
    Federation(String),
    /// The database could not be opened or read.
    #[error(transparent)]
    Store(#[from] storage::StoreError),
    /// The key directory, the server key or the root certificate.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The listening socket failed.
    #[error("listening on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// Builds a [`Server`]: the settings of every part (each has defaults), then
/// the store (the bundled SQLite one with [`build`](Self::build), any
/// [`Store`] with [`build_with_store`](Self::build_with_store)).
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder {
    settings: ServerSettings,
    #[cfg(feature = "sqlite")]
    sqlite: Option<SqliteSettings>,
}

impl ServerBuilder {
    /// A builder for a home server of `domain`, every setting at its default.
    pub fn new(domain: DomainName) -> Self {
        Self::from_settings(ServerSettings::new(domain))
    }

    /// A builder starting from complete settings.
    pub fn from_settings(settings: ServerSettings) -> Self {
        Self {
            settings,
            #[cfg(feature = "sqlite")]
            sqlite: None,
        }
    }

    /// The server's administrators (Federation IDs of its domain).
    pub fn admins(mut self, admins: impl IntoIterator<Item = p2core_types::FederationId>) -> Self {
        self.settings.admins = admins.into_iter().collect();
        self
    }

    /// The HTTP side: connection caps, timeouts, body size, client addresses.
    pub fn http(mut self, http: HttpSettings) -> Self {
        self.settings.http = http;
        self
    }

    /// The certificates issued to actors (profile, lifetime).
    pub fn certs(mut self, certs: CertSettings) -> Self {
        self.settings.certs = certs;
        self
    }

    /// The server's key directory and root certificate lifetime.
    pub fn keys(mut self, keys: KeySettings) -> Self {
        self.settings.keys = keys;
        self
    }

    /// Outgoing federation.
    pub fn federation(mut self, federation: FederationSettings) -> Self {
        self.settings.federation = federation;
        self
    }

    /// Rate limits and caps.
    pub fn limits(mut self, limits: LimitSettings) -> Self {
        self.settings.limits = limits;
        self
    }

    /// The WebSocket gateway.
    pub fn gateway(mut self, gateway: GatewaySettings) -> Self {
        self.settings.gateway = gateway;
        self
    }

    /// Who may register over HTTP.
    pub fn registration(mut self, registration: RegistrationPolicy) -> Self {
        self.settings.registration = registration;
        self
    }

    /// Settings of the bundled SQLite store (default: `p2core.sqlite3` in the
    /// key directory, [`SqliteSettings::new`]'s defaults).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(mut self, sqlite: SqliteSettings) -> Self {
        self.sqlite = Some(sqlite);
        self
    }

    /// The settings as they stand.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// The SQLite settings [`build`](Self::build) uses.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_settings(&self) -> SqliteSettings {
        self.sqlite
            .clone()
            .unwrap_or_else(|| SqliteSettings::new(self.settings.keys.dir.join(DATABASE_FILE)))
    }

    /// Checks the settings, locks the key directory, opens the SQLite store
    /// and builds the server (see [`build_with_store`](Self::build_with_store)).
    #[cfg(feature = "sqlite")]
    pub async fn build(self) -> Result<Server<SqliteStore>, StartError> {
        self.settings.validate()?;
        let sqlite = self.sqlite_settings();
        let lock = keys::lock_data_dir(&self.settings.keys.dir)?;
        keys::secure_data_dir(&self.settings.keys.dir, &sqlite.path)?;
        let store = SqliteStore::open_with(&sqlite).await?;
        self.build_locked(store, lock).await
    }

    /// Checks the settings, locks the key directory and builds the server on
    /// `store`: loads the server's key and root certificate (making both on the
    /// first start), and starts the background work (gateway delivery and
    /// upkeep, challenge pruning, foreign-session re-checks, root renewal),
    /// which runs until the server and every router made from it are dropped.
    pub async fn build_with_store<S: Store>(self, store: S) -> Result<Server<S>, StartError> {
        self.settings.validate()?;
        let lock = keys::lock_data_dir(&self.settings.keys.dir)?;
        keys::secure_data_dir(
            &self.settings.keys.dir,
            &self.settings.keys.dir.join(DATABASE_FILE),
        )?;
        self.build_locked(store, lock).await
    }

    async fn build_locked<S: Store>(
        self,
        store: S,
        lock: std::fs::File,
    ) -> Result<Server<S>, StartError> {
        let settings = self.settings;
        store
            .prune_events(p2core_types::UnixTimestamp::now())
            .await?;
        let keys = keys::load_or_create(&store, &settings).await?;
        let federation = Federation::new(&settings.federation).map_err(StartError::Federation)?;
        let client_addresses = limits::ClientAddressPolicy::from_settings(&settings.http);
        let passwords = limits::PasswordGate::new(settings.limits.argon2_concurrency);
        let rate_limits = limits::RateLimits::from_settings(&settings.limits, client_addresses);
        let hub = Arc::new(gateway::Hub::new(gateway::HubLimits::from_settings(
            &settings.gateway,
        )));
        hub.spawn_dispatcher(store.subscribe_events(), store.subscribe_sessions());
        let gateway_config = gateway::GatewayConfig::from_settings(&settings.gateway);
        // Encoded certificate-lookup answers, invalidated synchronously by the
        // store's notices before a write returns.
        let response_cache = Arc::new(response_cache::ResponseCache::new(
            settings.limits.response_cache_bytes,
        ));
        let hook = response_cache.clone();
        store.watch_sessions(Arc::new(move |n| hook.on_notice(n)));
        // A root rotated by another instance sharing the store (or by `admin`):
        // reload the keys before the next signature.
        let keys_stale = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stale = keys_stale.clone();
        store.watch_sessions(Arc::new(move |n| {
            if matches!(n, SessionNotice::ServerCertChanged | SessionNotice::Resync) {
                stale.store(true, std::sync::atomic::Ordering::Release);
            }
        }));
        let state = Arc::new(AppState {
            store,
            settings,
            client_addresses,
            keys: RwLock::new(keys),
            keys_stale,
            instance: u64::from_le_bytes(p2core_types::random::bytes::<8>()),
            federation,
            argon2: Argon2::default(),
            passwords,
            rate_limits,
            gateway: hub,
            gateway_config,
            response_cache,
        });
        keys::check_root(&state).await?;
        maintenance::spawn(&state);
        gateway::spawn_housekeeping(&state, Duration::from_secs(600));
        gateway::spawn_revalidation(&state);
        spawn_root_and_rate_limit_upkeep(&state);
        Ok(Server {
            state,
            _lock: Arc::new(lock),
        })
    }
}

/// File name of the bundled SQLite store's database in the key directory.
pub const DATABASE_FILE: &str = "p2core.sqlite3";

/// A polyproto-core home server: its state, store and background work.
///
/// Serve it with [`start`](Self::start) or [`serve`](Self::serve), or take
/// its routes with [`router`](Self::router).
pub struct Server<S: Store> {
    state: SharedState<S>,
    /// The key directory's lock, released when the last clone is dropped.
    _lock: Arc<std::fs::File>,
}

impl<S: Store> Clone for Server<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            _lock: self._lock.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("domain", &self.state.settings.domain)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "sqlite")]
impl Server<SqliteStore> {
    /// A [`ServerBuilder`] for a home server of `domain` (same as [`ServerBuilder::new`]).
    pub fn builder(domain: DomainName) -> ServerBuilder {
        ServerBuilder::new(domain)
    }
}

impl<S: Store> Server<S> {
    /// Every polyproto-core route (seed revision, with the legacy paths and the
    /// gateway) with its layers: body limit, body and request timeouts, panic
    /// catching, tracing, and the rate limits of its routes. It has no fallback
    /// and no state left to give, so it merges into any app:
    /// `Router::new().route(..).merge(server.router()).with_state(yours)`.
    pub fn router<T: Clone + Send + Sync + 'static>(&self) -> Router<T> {
        app::routes(self.state.clone())
    }

    /// [`router`](Self::router) with JSON answers for unknown paths (404
    /// `P2CORE_NOT_FOUND`) and methods (405): what [`serve`](Self::serve) and
    /// [`start`](Self::start) answer with.
    pub fn app(&self) -> Router {
        app::with_fallbacks(self.router())
    }

    /// A handle that queues events of the embedder's own namespaces for actors'
    /// sessions, delivered through the same queue and gateway as the core events.
    pub fn events(&self) -> EventPublisher<S> {
        EventPublisher::new(self.state.clone())
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.state.store
    }

    /// The settings the server was built with.
    pub fn settings(&self) -> &ServerSettings {
        &self.state.settings
    }

    /// Counters of what the server holds now (for metrics and tests).
    pub fn stats(&self) -> ServerStats {
        let s = &self.state;
        ServerStats {
            gateway_connections: s.gateway.live_connections(),
            gateway_resume_records: s.gateway.resume_records(),
            rate_limit_entries: s.rate_limits.entries(),
            cached_foreign_roots: s.federation.cached_roots(),
            outbound_domains_in_flight: s.federation.domains_in_flight(),
            response_cache_bytes: s.response_cache.used_bytes(),
            response_cache_actor_lists: s.response_cache.actor_entries(),
            response_cache_hits: s.response_cache.hits(),
            response_cache_misses: s.response_cache.misses(),
            foreign_root_fetches_in_flight: s.federation.roots_in_flight(),
            unreachable_domains: s.federation.failed_domains(),
        }
    }

    /// Serves [`app`](Self::app) on `listener` with the server's accept loop
    /// (connection caps, header and idle timeouts of [`HttpSettings`]) until
    /// `shutdown` completes, then lets in-flight requests finish (at most
    /// [`HttpSettings::shutdown_grace`]).
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_router(listener, self.app(), shutdown).await
    }

    /// Like [`serve`](Self::serve), for a router of the embedder's that
    /// contains [`router`](Self::router): the accept loop's caps and timeouts
    /// then hold for the embedder's routes too, and gateway sockets keep their
    /// connection slot for their whole life.
    pub async fn serve_router(
        &self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let opts = serve::ServeOptions::from_settings(&self.state.settings.http);
        serve::serve(listener, app, opts, shutdown).await
    }

    /// Binds `listen` and serves [`app`](Self::app) in a background task.
    pub async fn start(self, listen: SocketAddr) -> Result<RunningServer<S>, StartError> {
        let app = self.app();
        self.start_router(listen, app).await
    }

    /// Binds `listen` and serves `app` (a router containing
    /// [`router`](Self::router)) in a background task.
    pub async fn start_router(
        self,
        listen: SocketAddr,
        app: Router,
    ) -> Result<RunningServer<S>, StartError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| StartError::Listen(listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen(listen, e))?;
        let (tx, mut rx) = watch::channel(false);
        let server = self.clone();
        let task = tokio::spawn(async move {
            server
                .serve_router(listener, app, async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                    tracing::info!("shutting down: finishing in-flight requests");
                })
                .await
        });
        Ok(RunningServer {
            addr,
            stop: StopHandle(Arc::new(tx)),
            task,
            server: self,
        })
    }
}

/// Counters of what a [`Server`] holds ([`Server::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Gateway sockets open now.
    pub gateway_connections: u64,
    /// Ended gateway connections kept for Resume.
    pub gateway_resume_records: usize,
    /// Clients (addresses and networks) the per-address rate limits remember now.
    pub rate_limit_entries: usize,
    /// Foreign root certificates in the cache.
    pub cached_foreign_roots: usize,
    /// Domains with outgoing federation requests in flight or waiting for a slot.
    pub outbound_domains_in_flight: usize,
    /// Domains whose root certificate is being fetched now.
    pub foreign_root_fetches_in_flight: usize,
    /// Domains remembered as unreachable (not asked again for a while).
    pub unreachable_domains: usize,
    /// Accounted bytes of the certificate-lookup cache (at most
    /// [`LimitSettings::response_cache_bytes`]).
    pub response_cache_bytes: usize,
    /// Actor certificate lists in that cache.
    pub response_cache_actor_lists: usize,
    /// Lookups answered from that cache so far.
    pub response_cache_hits: u64,
    /// Lookups that cache could not answer so far.
    pub response_cache_misses: u64,
}

/// Asks a [`RunningServer`] to stop (from anywhere; cheap to clone).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    /// Stops accepting connections; in-flight requests finish.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// A server serving in a background task ([`Server::start`]).
pub struct RunningServer<S: Store> {
    addr: SocketAddr,
    stop: StopHandle,
    task: JoinHandle<std::io::Result<()>>,
    server: Server<S>,
}

impl<S: Store> RunningServer<S> {
    /// The address it listens on (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server.
    pub fn server(&self) -> &Server<S> {
        &self.server
    }

    /// A handle that stops this server from another task.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops accepting connections, finishes in-flight requests and closes the store.
    pub async fn stop(self) -> std::io::Result<()> {
        self.stop.stop();
        self.wait().await
    }

    /// Waits until serving ends (after [`stop`](Self::stop) or a fatal
    /// listener error), then closes the store.
    pub async fn wait(mut self) -> std::io::Result<()> {
        let res = (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.server.state.store.close().await;
        res
    }
}

/// Completes on Ctrl-C, and on Unix also on SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Periodic work: the root certificate's lifetime check (warn, renew) and
/// forgetting idle rate-limit entries; ends when the server is dropped.
fn spawn_root_and_rate_limit_upkeep<S: Store>(state: &SharedState<S>) {
    let weak = Arc::downgrade(state);
    let every = state.settings.keys.root_check_interval;
    tokio::spawn(async move {
        let mut root_tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut prune_tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            let root = tokio::select! {
                _ = root_tick.tick() => true,
                _ = prune_tick.tick() => false,
            };
            let Some(state) = weak.upgrade() else { return };
            if root {
                if !maintenance::lead(&state, "root-check", every).await {
                    continue;
                }
                if let Err(e) = keys::check_root(&state).await {
                    tracing::error!(error = %e, "checking the root certificate's lifetime failed");
                }
            } else {
                state.rate_limits.prune();
            }
        }
    });
}
