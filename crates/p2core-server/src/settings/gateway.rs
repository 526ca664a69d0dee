//! [`GatewaySettings`]: the WebSocket gateway's timers, sizes and caps.

use std::time::Duration;

use super::{InvalidSetting, check_range, settings};

settings! {
    /// The WebSocket gateway (`/.p2/core/v1/gateway/ws`).
    pub struct GatewaySettings {
        /// Heartbeat interval announced in Hello. A client silent for 1.5 intervals
        /// gets op 11; still silent one interval later, close 4009 (default 30 s).
        heartbeat_interval: Duration = Duration::from_secs(30),
        /// Largest message accepted from a client, in bytes; larger: close 1009 (default 16 KiB).
        max_message_bytes: usize = 16 * 1024,
        /// Messages a client may send per 10 seconds; more: close 4008 (default 120).
        rate_limit: u32 = 120,
        /// How long after a connection ends it can be resumed with op 5 (default 5 min).
        resume_window: Duration = Duration::from_secs(300),
        /// Time one write to a client may take; a client that does not read for that
        /// long is disconnected (it can resume; its events stay queued). Default 10 s.
        write_timeout: Duration = Duration::from_secs(10),
        /// Bytes of event messages a connection keeps unacknowledged (for re-sends
        /// and Resume); when full, delivery pauses until a heartbeat acknowledges
        /// some (default 256 KiB).
        max_unacked_bytes: usize = 256 * 1024,
        /// Most gateway sockets open at once; more: 503 before the upgrade (default 512).
        /// Each also holds one of [`HttpSettings::max_connections`](super::HttpSettings::max_connections)
        /// for its whole life. Also bounds the resume records kept.
        max_connections: usize = 512,
        /// Most gateway sockets open at once from one client address (IPv6: one /64);
        /// more: 429 before the upgrade. `None`: no cap (default 16).
        max_connections_per_address: Option<usize> = Some(16),
        /// Most sockets identified as one session at once; more: close 4008 (default 4).
        max_connections_per_session: usize = 4,
        /// Time a client has after Hello to identify or resume; later: close 4003 (default 10 s).
        identify_timeout: Duration = Duration::from_secs(10),
    }
}

impl GatewaySettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let ms = Duration::from_millis;
        check_range(
            "gateway.heartbeat_interval",
            self.heartbeat_interval,
            ms(50),
            ms(600_000),
        )?;
        check_range(
            "gateway.max_message_bytes",
            self.max_message_bytes,
            256,
            16 << 20,
        )?;
        check_range("gateway.rate_limit", self.rate_limit, 1, 1_000_000)?;
        check_range(
            "gateway.resume_window",
            self.resume_window,
            ms(0),
            ms(86_400_000),
        )?;
        check_range(
            "gateway.write_timeout",
            self.write_timeout,
            ms(10),
            ms(600_000),
        )?;
        check_range(
            "gateway.max_unacked_bytes",
            self.max_unacked_bytes,
            1024,
            64 << 20,
        )?;
        check_range(
            "gateway.max_connections",
            self.max_connections,
            1,
            1_000_000,
        )?;
        if let Some(n) = self.max_connections_per_address {
            check_range("gateway.max_connections_per_address", n, 1, 1_000_000)?;
        }
        check_range(
            "gateway.max_connections_per_session",
            self.max_connections_per_session,
            1,
            10_000,
        )?;
        check_range(
            "gateway.identify_timeout",
            self.identify_timeout,
            ms(1000),
            ms(600_000),
        )
    }
}
