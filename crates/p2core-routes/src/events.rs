//! `GET /.p2/core/v1/events` — gateway events the calling session missed
//! (seed 004 "Events"; optional route).
//!
//! `200` with a JSON array, or `204 No Content` when there are none (seed 004 says
//! "409 No Content", read as 204).

use http::Method;
use p2core_types::{ErrorCode, events::Event};
use serde::{Deserialize, Serialize};

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "events",
    method: Method::GET,
    path: "/.p2/core/v1/events",
    legacy_paths: &[],
    auth: AuthRequirement::Session,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: Some(204),
    errors: &[ErrorCode::Unauthorized],
    summary: "Gateway events queued for the calling session since the last fetch (`200` \
              array), or `204` when there are none.",
    seed: "seed 004 \"Events\" (its \"409 No Content\" read as 204)",
    gone: None,
};

crate::endpoint_marker!((), Response);

/// `200 OK` body: a JSON array of event envelopes `{n, op, d, s}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Response(pub Vec<Event>);
