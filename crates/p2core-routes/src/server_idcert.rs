//! `GET /.p2/core/v1/idcert/server` — the server's ID-Cert, now or at `?timestamp=`
//! (seed 004 "Server Public ID-Cert").

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "server_idcert",
    method: Method::GET,
    path: "/.p2/core/v1/idcert/server",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &["timestamp"],
    query_json_body: true,
    response_body: BodyKind::PemText,
    success_status: 200,
    alt_success_status: None,
    errors: &[ErrorCode::BadRequest, ErrorCode::NotFound],
    summary: "The server's root ID-Cert as PEM: the current one, or the one valid at \
              `timestamp`.",
    seed: "seed 004 \"Server Public ID-Cert\"",
    gone: None,
};

// Response: PEM of the server's ID-Cert.
crate::endpoint_marker!(Query, String);

/// Query (or, per seed 004, JSON body): `timestamp`.
pub type Query = crate::query::TimestampQuery;

/// The path with its query string, e.g. `/.p2/core/v1/idcert/server?timestamp=5`.
pub fn path_and_query(query: &Query) -> String {
    format!("{}{}", INFO.path, query.to_query_string())
}
