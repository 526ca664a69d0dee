//! [`HttpSettings`]: the listener's caps and timeouts, bodies, client addresses.

use std::time::Duration;

use super::{InvalidSetting, check_range, settings};

settings! {
    /// The HTTP side: connection caps, timeouts, body size, and whether client
    /// addresses come from `X-Forwarded-For`.
    ///
    /// The connection caps and the header/idle timeouts are enforced by the
    /// server's own accept loop ([`Server::serve`](crate::Server::serve),
    /// [`Server::start`](crate::Server::start)); an embedder serving
    /// [`Server::router`](crate::Server::router) with its own loop must set
    /// its own. Body size and the body/request timeouts are layers of the
    /// router and hold everywhere.
    pub struct HttpSettings {
        /// Largest accepted request body, in bytes (default 256 KiB).
        max_body_bytes: usize = 256 * 1024,
        /// Time a client has to send a request's complete header, after connecting
        /// or after the previous response on a kept-alive connection (default 10 s:
        /// a slow-header client holds a slot at most this long).
        header_timeout: Duration = Duration::from_secs(10),
        /// Time a client has to send a request's complete body; later: 408 (default 30 s).
        body_timeout: Duration = Duration::from_secs(30),
        /// Time a whole request (body and handler) may take; later: 503 (default 60 s).
        request_timeout: Duration = Duration::from_secs(60),
        /// Time without a byte in either direction, and no request in progress,
        /// after which a connection is closed (default 60 s).
        idle_timeout: Duration = Duration::from_secs(60),
        /// Most connections served at once; further ones wait in the listen backlog (default 1024).
        max_connections: usize = 1024,
        /// Most connections open at once from one client address (IPv6: one /64);
        /// further ones are answered 429 and closed. `None`: no per-address cap.
        /// Not applied when [`trusted_proxies`](Self::trusted_proxies) is set (every
        /// connection then comes from a proxy). Default 64.
        max_connections_per_address: Option<usize> = Some(64),
        /// How long a shutdown waits for in-flight requests before closing (default 30 s).
        shutdown_grace: Duration = Duration::from_secs(30),
        /// Take the client address (for rate limits and caps) from `X-Forwarded-For`:
        /// `Some(n)` with n reverse proxies of yours in front, each appending to the
        /// header; the address is then the n-th entry from the right (too few entries,
        /// or a malformed one among the last n: the peer address). `None` (default):
        /// the header is ignored, the peer address counts.
        trusted_proxies: Option<u32> = None,
    }
}

impl HttpSettings {
    /// Checks the ranges (every duration and cap at least 1; at most 16 proxies).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let second = Duration::from_secs(1);
        let day = Duration::from_secs(86_400);
        check_range("http.header_timeout", self.header_timeout, second, day)?;
        check_range("http.body_timeout", self.body_timeout, second, day)?;
        check_range("http.request_timeout", self.request_timeout, second, day)?;
        check_range("http.idle_timeout", self.idle_timeout, second, day)?;
        check_range(
            "http.shutdown_grace",
            self.shutdown_grace,
            Duration::ZERO,
            day,
        )?;
        check_range("http.max_connections", self.max_connections, 1, 1_000_000)?;
        check_range("http.max_body_bytes", self.max_body_bytes, 64, 1 << 30)?;
        if let Some(n) = self.max_connections_per_address {
            check_range("http.max_connections_per_address", n, 1, 1_000_000)?;
        }
        if let Some(n) = self.trusted_proxies {
            check_range("http.trusted_proxies", n, 1, 16)?;
        }
        Ok(())
    }
}
