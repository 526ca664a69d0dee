//! # p2core-home-server
//!
//! The example polyproto-core home server: the [`p2core_server`] library
//! behind a command line ([`Config`]: one flag per setting) with operator
//! commands ([`admin`]). Run it with `cargo run -p p2core-home-server`;
//! `--help` lists the flags.
#![forbid(unsafe_code)]

pub mod admin;
pub mod config;

pub use config::Config;
pub use p2core_server::{StartError, settings, storage};

use p2core_server::ServerBuilder;
use p2core_server::storage::postgres::PgStore;
use p2core_server::storage::sqlite::SqliteStore;

/// The running example server (SQLite store).
pub type RunningServer = p2core_server::RunningServer<SqliteStore>;

/// The running example server on the store --database-url chooses.
pub enum Running {
    /// On the SQLite file in --data.
    Sqlite(RunningServer),
    /// On PostgreSQL (one of possibly several instances).
    Postgres(p2core_server::RunningServer<PgStore>),
}

impl Running {
    /// `http://ADDR` of the listener.
    pub fn base_url(&self) -> String {
        match self {
            Running::Sqlite(r) => r.base_url(),
            Running::Postgres(r) => r.base_url(),
        }
    }

    /// Waits until the server stopped (after a signal or a stop request).
    pub async fn wait(self) -> std::io::Result<()> {
        match self {
            Running::Sqlite(r) => r.wait().await,
            Running::Postgres(r) => r.wait().await,
        }
    }
}

/// Builds the server `config` asks for on the store --database-url chooses
/// (SQLite in --data when unset), binds `--listen` and serves in a background
/// task; with `ctrl_c`, Ctrl-C or SIGTERM stops it gracefully.
pub async fn start_any(config: Config, ctrl_c: bool) -> Result<Running, StartError> {
    match config.database()? {
        config::Database::Sqlite(_) => Ok(Running::Sqlite(start(config, ctrl_c).await?)),
        config::Database::Postgres(pg) => {
            let settings = config.settings_with_keys()?;
            let store = PgStore::open_with(&pg).await?;
            let server = ServerBuilder::from_settings(settings)
                .build_with_store(store)
                .await?;
            let running = server.start(config.listen).await?;
            if ctrl_c {
                let stop = running.stop_handle();
                tokio::spawn(async move {
                    p2core_server::shutdown_signal().await;
                    stop.stop();
                });
            }
            Ok(Running::Postgres(running))
        }
    }
}

/// Builds the server `config` asks for, binds `--listen` and serves in a
/// background task; with `ctrl_c`, Ctrl-C or SIGTERM stops it gracefully.
pub async fn start(config: Config, ctrl_c: bool) -> Result<RunningServer, StartError> {
    let settings = config.settings_with_keys()?;
    let server = ServerBuilder::from_settings(settings)
        .sqlite(config.builder().sqlite_settings())
        .build()
        .await?;
    let running = server.start(config.listen).await?;
    if ctrl_c {
        let stop = running.stop_handle();
        tokio::spawn(async move {
            p2core_server::shutdown_signal().await;
            stop.stop();
        });
    }
    Ok(running)
}

/// The Rust examples in the README, compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
