//! # p2core-home-server
//!
//! An example polyproto-core home server built from the p2core crates:
//! axum for HTTP, SQLite (through the [`storage::Store`] trait) for state,
//! `p2core-certs` for issuing and verifying ID-Certs, `p2core-types` for
//! KeyPackages and events, and `p2core-routes` for the route table and the
//! client used to talk to foreign servers.
//!
//! Run it with `cargo run -p p2core-home-server`; `--help` lists the flags.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod challenges;
pub mod config;
pub mod error;
pub mod extract;
pub mod federation;
pub mod gateway;
pub mod handlers;
pub mod keys;
pub mod limits;
pub mod maintenance;
pub mod response_cache;
pub mod serve;
pub mod slots;
pub mod state;
pub mod storage;

use argon2::Argon2;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{RwLock, oneshot};
use tokio::task::JoinHandle;

use challenges::ChallengeStore;
pub use config::Config;
use federation::{Federation, FederationSettings};
use state::AppState;
use storage::Store as _;
use storage::sqlite::SqliteStore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Invalid configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// The data directory or database could not be opened.
    #[error(transparent)]
    Store(#[from] storage::StoreError),
    /// The server key could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The listening socket failed.
    #[error("listening on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// Opens the data directory and builds the shared state.
pub async fn build_state(config: Config) -> Result<Arc<AppState<SqliteStore>>, StartError> {
    config.validate().map_err(StartError::Config)?;
    keys::secure_data_dir(&config.data, &config.database_path())?;
    let store = SqliteStore::open(&config.database_path())
        .await?
        .with_max_pending_events(config.max_pending_events);
    store
        .prune_events(p2core_types::UnixTimestamp::now())
        .await?;
    let keys = keys::load_or_create(&store, &config).await?;
    let federation = Federation::new(&config.peers, FederationSettings::from_config(&config))
        .map_err(|e| StartError::Config(format!("federation client: {e}")))?;
    let challenges = ChallengeStore::new(
        usize::try_from(config.max_challenges).unwrap_or(usize::MAX),
        config.max_challenges_per_network,
    );
    let passwords = limits::PasswordGate::new(config.argon2_concurrency);
    let rate_limits = limits::RateLimits::from_config(&config);
    let hub = Arc::new(gateway::Hub::new(gateway::HubLimits::from_config(&config)));
    hub.spawn_dispatcher(store.subscribe_events(), store.subscribe_sessions());
    let gateway_config = gateway::GatewayConfig::from_config(&config);
    // response cache (issue 14 item 4): invalidated synchronously by the store's notices.
    let response_cache = Arc::new(response_cache::ResponseCache::new(
        response_cache::DEFAULT_RESPONSE_CACHE_BYTES,
    ));
    let hook = response_cache.clone();
    store.watch_sessions(Arc::new(move |n| hook.on_notice(n)));
    let state = Arc::new(AppState {
        store,
        config,
        keys: RwLock::new(keys),
        federation,
        argon2: Argon2::default(),
        passwords,
        rate_limits,
        challenges,
        gateway: hub,
        gateway_config,
        response_cache,
    });
    keys::check_root(&state).await?;
    maintenance::spawn(&state);
    gateway::spawn_housekeeping(&state, Duration::from_secs(600));
    gateway::spawn_revalidation(&state);
    Ok(state)
}

/// A server running in a background task (used by `main` and by tests).
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    state: Arc<AppState<SqliteStore>>,
    /// The data directory's lock, released when the server is dropped.
    _lock: std::fs::File,
}

impl RunningServer {
    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's shared state (for tests and tools that embed the server).
    pub fn state(&self) -> &Arc<AppState<SqliteStore>> {
        &self.state
    }

    /// Stops accepting connections, finishes in-flight requests and closes the database.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let res = (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.state.store.close().await;
        res
    }

    /// Waits until the server task ends (it ends on Ctrl-C when started by [`start`] with `ctrl_c = true`).
    pub async fn wait(mut self) -> std::io::Result<()> {
        let res = (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.state.store.close().await;
        res
    }
}

/// Opens the data, binds `config.listen` and serves in a background task.
/// With `ctrl_c`, Ctrl-C / SIGTERM stops the server gracefully.
pub async fn start(config: Config, ctrl_c: bool) -> Result<RunningServer, StartError> {
    let listen = config.listen;
    let lock = keys::lock_data_dir(&config.data)?;
    let state = build_state(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen(listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(listen, e))?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = app::router(state.clone());
    let opts = serve::ServeOptions::from_config(&state.config);
    let timers = tokio::spawn(root_and_rate_limit_upkeep(state.clone()));
    let task = tokio::spawn(async move {
        let res = serve::serve(listener, app, opts, async move {
            if ctrl_c {
                tokio::select! {
                    _ = rx => {}
                    _ = shutdown_signal() => {}
                }
            } else {
                let _ = rx.await;
            }
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;
        timers.abort();
        let _ = timers.await;
        res
    });
    Ok(RunningServer {
        addr,
        stop: Some(tx),
        task,
        state,
        _lock: lock,
    })
}

/// Periodic work of a running server: the root certificate's lifetime check
/// (warn, renew) and forgetting idle rate-limit entries. (Challenge pruning
/// and foreign-session re-checks run in [`maintenance`].)
async fn root_and_rate_limit_upkeep(state: Arc<AppState<SqliteStore>>) {
    let every = Duration::from_secs(state.config.root_check_seconds);
    let mut root_tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut prune_tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = root_tick.tick() => {
                if let Err(e) = keys::check_root(&state).await {
                    tracing::error!(error = %e, "checking the root certificate's lifetime failed");
                }
            }
            _ = prune_tick.tick() => state.rate_limits.prune(),
        }
    }
}

async fn shutdown_signal() {
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
