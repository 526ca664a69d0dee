//! `cargo run -p p2core-home-server -- --help`
#![forbid(unsafe_code)]

use clap::Parser;
use p2core_home_server::{Config, start};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .init();
    let config = Config::parse();
    let domain = config.domain.clone();
    let data = config.data.clone();
    let server = match start(config, true).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("could not start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "serving {domain} at {} (data in {})",
        server.base_url(),
        data.display()
    );
    match server.wait().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
