//! The ceiling for the load test in `docs/benchmarks.md`: an axum server on
//! the same runtime setup that answers a fixed small body, with no storage,
//! no crypto and no middleware.
//!
//! `cargo run --release -p p2core-home-server --example bare_axum -- 127.0.0.1:3199`

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3199".to_owned());
    let app = Router::new().route(
        "/bare",
        get(|| async { r#"{"challenge":"bare","expires":0}"# }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
