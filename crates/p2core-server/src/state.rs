//! Shared state of a running server.

use std::sync::Arc;

use argon2::Argon2;
use tokio::sync::RwLock;

use crate::federation::Federation;
use crate::keys::ServerKeys;
use crate::limits::{ClientAddressPolicy, PasswordGate, RateLimits};
use crate::settings::ServerSettings;

/// Everything handlers share. Cheap to clone through the `Arc`.
pub(crate) struct AppState<S> {
    /// Persistent storage.
    pub store: S,
    /// The settings the server was built with.
    pub settings: ServerSettings,
    /// Where client addresses come from (the peer, or `X-Forwarded-For`).
    pub client_addresses: ClientAddressPolicy,
    /// The current server key and root certificate (replaced on rotation).
    pub keys: RwLock<ServerKeys>,
    /// Set when the store announces a new root (perhaps rotated by another
    /// instance): [`crate::keys::current`] reloads `keys` before using them.
    pub keys_stale: Arc<std::sync::atomic::AtomicBool>,
    /// Random id of this server instance (holder of background-job leases).
    pub instance: u64,
    /// Client for foreign home servers, with a root-certificate cache.
    pub federation: Federation,
    /// Password hashing (argon2id, default parameters).
    pub argon2: Argon2<'static>,
    /// Bounds concurrent argon2 runs.
    pub passwords: PasswordGate,
    /// Per-client-address rate limits of the expensive unauthenticated routes.
    pub rate_limits: RateLimits,
    /// Live gateway connections by session (routes committed events to them).
    pub gateway: Arc<crate::gateway::Hub>,
    /// Gateway parameters.
    pub gateway_config: crate::gateway::GatewayConfig,
    // response cache (issue 14 item 4)
    /// Encoded certificate-lookup responses, invalidated through the store's bus.
    pub response_cache: Arc<crate::response_cache::ResponseCache>,
}

/// The state as handlers receive it.
pub(crate) type SharedState<S> = Arc<AppState<S>>;
