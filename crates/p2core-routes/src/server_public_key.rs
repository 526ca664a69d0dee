//! `GET /.p2/core/v1/key/server` — the server's public identity key, now or at
//! `?timestamp=` (seed 004 "Server Public Key").

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "server_public_key",
    method: Method::GET,
    path: "/.p2/core/v1/key/server",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &["timestamp"],
    query_json_body: true,
    response_body: BodyKind::PemText,
    success_status: 200,
    alt_success_status: None,
    errors: &[ErrorCode::BadRequest, ErrorCode::NotFound],
    summary: "The server's public identity key as a PEM `SubjectPublicKeyInfo`: the current \
              one, or the one valid at `timestamp`.",
    seed: "seed 004 \"Server Public Key\"",
    gone: None,
};

// Response: PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`).
crate::endpoint_marker!(Query, String);

/// Query (or, per seed 004, JSON body): `timestamp`.
pub type Query = crate::query::TimestampQuery;

/// The path with its query string, e.g. `/.p2/core/v1/key/server?timestamp=5`.
pub fn path_and_query(query: &Query) -> String {
    format!("{}{}", INFO.path, query.to_query_string())
}
