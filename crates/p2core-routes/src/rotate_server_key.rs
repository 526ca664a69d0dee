//! `PUT /.p2/core/v1/key/server` — rotate the server's identity key (administrators only;
//! seed 004 "Rotate Server Identity Key").

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "rotate_server_key",
    method: Method::PUT,
    path: "/.p2/core/v1/key/server",
    legacy_paths: &[],
    auth: AuthRequirement::Admin,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::PemText,
    success_status: 200,
    alt_success_status: None,
    errors: &[ErrorCode::Unauthorized, ErrorCode::NotAdministrator],
    summary: "Generate a new server identity key and root ID-Cert; returns the new \
              certificate as PEM.",
    seed: "seed 004 \"Rotate Server Identity Key\"",
    gone: None,
};

// Response: PEM of the server's new ID-Cert.
crate::endpoint_marker!((), String);
