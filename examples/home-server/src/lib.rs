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

use p2core_server::storage::sqlite::SqliteStore;

/// The running example server (SQLite store).
pub type RunningServer = p2core_server::RunningServer<SqliteStore>;

/// Builds the server `config` asks for, binds `--listen` and serves in a
/// background task; with `ctrl_c`, Ctrl-C or SIGTERM stops it gracefully.
pub async fn start(config: Config, ctrl_c: bool) -> Result<RunningServer, StartError> {
    let server = config.builder().build().await?;
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
