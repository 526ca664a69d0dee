//! `GET /.p2/core/v1/gateway/ws` — the WebSocket gateway (polyproto-core §3.2).
//!
//! A WebSocket upgrade (`101 Switching Protocols`); a plain `GET` answers `400`.
//! Messages are [`p2core_types::gateway::Envelope`]s in text frames: the server
//! sends Hello, the client Identify (or Resume) with its session token, the
//! server Identify ACK (or Resumed), then heartbeats and events. Authentication
//! happens inside the socket, not with an `Authorization` header. With feature
//! `gateway`, [`crate::gateway_client`] is a client for it.

use http::Method;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "gateway_ws",
    method: Method::GET,
    path: "/.p2/core/v1/gateway/ws",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::None,
    success_status: 101,
    alt_success_status: None,
    errors: &[],
    summary: "The WebSocket gateway (upgrade; `101`). Hello → Identify/Resume (session token) → \
              Identify ACK/Resumed, heartbeats, events; see \
              `docs/protocol-choices.md` (\"Gateway\").",
    seed: "polyproto-core §3.2 \"WebSockets\"; polyproto 0.21 (op 12)",
    gone: None,
};

crate::endpoint_marker!((), ());
