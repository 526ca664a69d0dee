//! `DELETE /.p2/core/v1/session` — invalidate a session of the caller's own actor
//! (seed 004 "Delete Session").
//!
//! The session ID comes as a JSON body `{"session_id": …}` (seed 004) or as the query
//! parameter `?session_id=` (the later form of the route).

use http::Method;
use p2core_types::{ErrorCode, SessionId};
use serde::{Deserialize, Serialize};

use crate::path::{QueryError, encode_query, single_values};
use crate::query::parse_session_id;
use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "delete_session",
    method: Method::DELETE,
    path: "/.p2/core/v1/session",
    legacy_paths: &[],
    auth: AuthRequirement::Session,
    request_body: BodyKind::Json,
    query: &["session_id"],
    query_json_body: false,
    response_body: BodyKind::None,
    success_status: 204,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::BadRequest,
        ErrorCode::NotFound,
        ErrorCode::TooManyRequests,
    ],
    summary: "Invalidate one of the caller's own actor's sessions (its ID-Cert and token); \
              `session_id` as JSON body or query parameter.",
    seed: "seed 004 \"Delete Session\"",
    gone: None,
};

crate::endpoint_marker!(Request, ());

/// Request body `{"session_id"}` (also accepted as `?session_id=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The session to invalidate.
    pub session_id: SessionId,
}

impl Request {
    /// The query-string form, `?session_id=…`.
    pub fn to_query_string(&self) -> String {
        encode_query(&[("session_id", self.session_id.as_str().to_owned())])
    }

    /// Reads `session_id` from a query string; `Ok(None)` when it is absent.
    pub fn from_query_str(query: &str) -> Result<Option<Self>, QueryError> {
        single_values(query, &["session_id"])?
            .pop()
            .flatten()
            .map(|s| {
                Ok(Self {
                    session_id: parse_session_id(&s)?,
                })
            })
            .transpose()
    }
}
