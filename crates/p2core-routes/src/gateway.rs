//! `GET /.p2/core/v1/gateway` — where and how to connect to the WebSocket gateway
//! (p2core; the spec leaves gateway discovery open).
//!
//! The body is [`GatewayInfo`]:
//! `{"path": "/.p2/core/v1/gateway/ws", "heartbeatInterval": "30000",
//! "maxMessageBytes": "16384", "services": []}` — the WebSocket path on this
//! server (same host and port, `ws://` for `http://`, `wss://` for `https://`),
//! the heartbeat interval Hello will announce (milliseconds), the largest
//! message the server accepts and the service channels it offers. Integers are
//! decimal strings, as in the gateway's own messages.

use http::Method;

use crate::{AuthRequirement, BodyKind, RouteInfo};

pub use p2core_types::gateway::GatewayInfo;

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "gateway",
    method: Method::GET,
    path: "/.p2/core/v1/gateway",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: None,
    errors: &[],
    summary: "Gateway discovery: `{path, heartbeatInterval, maxMessageBytes, services}` — the \
              WebSocket path on this server and the parameters its Hello will announce.",
    seed: "p2core (docs/protocol-choices.md \"Gateway\"); the spec defines no discovery route",
    gone: None,
};

crate::endpoint_marker!((), Response);

/// `200 OK` body.
pub type Response = GatewayInfo;
