//! `GET /.p2/core/v1/events` — gateway events the calling session missed
//! (seed 004 "Events"; optional route).
//!
//! `200` with a JSON array, or `204 No Content` when there are none (seed 004 says
//! "409 No Content", read as 204).
//!
//! Acknowledgement (p2core): without parameters the answer is the seed's — the
//! returned events are removed at once (lost if the response is lost). With
//! `?ack=<s>` the server first removes every event of the session whose `s` is at
//! most `<s>`, then returns the rest *without* removing them; a client that always
//! sends the `s` of the last event it processed (`ack=0` the first time) receives
//! every event at least once. Events delivered over the WebSocket gateway and
//! acknowledged there by heartbeats are gone from this route too (one queue).

use http::Method;
use p2core_types::{ErrorCode, events::Event};
use serde::{Deserialize, Serialize};

use crate::path::{QueryError, encode_query, single_values};
use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "events",
    method: Method::GET,
    path: "/.p2/core/v1/events",
    legacy_paths: &[],
    auth: AuthRequirement::Session,
    request_body: BodyKind::None,
    query: Query::PARAMS,
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: Some(204),
    errors: &[ErrorCode::Unauthorized],
    summary: "Gateway events queued for the calling session (`200` array), or `204` when \
              there are none. Without `ack` they are removed as they are returned (seed); \
              `?ack=<s>` removes those up to `s` and returns the rest without removing them.",
    seed: "seed 004 \"Events\" (its \"409 No Content\" read as 204)",
    gone: None,
};

crate::endpoint_marker!((), Response);

/// `200 OK` body: a JSON array of event envelopes `{n, op, d, s}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Response(pub Vec<Event>);

/// `?ack=<s>`: acknowledge (remove) every event up to `s`, return the rest without
/// removing them.
///
/// ```
/// use p2core_routes::events::Query;
/// let q = Query { ack: Some(41) };
/// assert_eq!(q.to_query_string(), "?ack=41");
/// assert_eq!(Query::from_query_str("ack=41").unwrap(), q);
/// assert_eq!(Query::from_query_str("").unwrap(), Query::default());
/// assert!(Query::from_query_str("ack=-1").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// The `s` of the last event processed; `None` for the seed behaviour (remove on read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<u64>,
}

impl Query {
    /// The accepted parameter names.
    pub const PARAMS: &'static [&'static str] = &["ack"];

    /// The query string, `""` or `?ack=…`.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(a) = self.ack {
            pairs.push(("ack", a.to_string()));
        }
        encode_query(&pairs)
    }

    /// Reads a query string (with or without `?`); unknown parameters are ignored.
    pub fn from_query_str(query: &str) -> Result<Self, QueryError> {
        let ack = single_values(query, Self::PARAMS)?.pop().flatten();
        let ack = ack
            .map(|a| {
                if a.is_empty() || a.len() > 20 || !a.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(QueryError::Invalid {
                        name: "ack",
                        reason: format!("{a:?} is not a decimal sequence number"),
                    });
                }
                a.parse::<u64>().map_err(|_| QueryError::Invalid {
                    name: "ack",
                    reason: format!("{a:?} does not fit in 64 bits"),
                })
            })
            .transpose()?;
        Ok(Self { ack })
    }
}
