//! `PUT /.p2/core/v1/session/idcert/extern` — tell this (possibly foreign) server about the
//! calling session's new ID-Cert (seed 004 "Update session ID-Cert").

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "update_extern_idcert",
    method: Method::PUT,
    path: "/.p2/core/v1/session/idcert/extern",
    legacy_paths: &[],
    auth: AuthRequirement::Session,
    request_body: BodyKind::PemText,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::None,
    success_status: 201,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidCertificate,
        ErrorCode::Forbidden,
        ErrorCode::UpstreamFailed,
        ErrorCode::TooManyRequests,
    ],
    summary: "Announce the new ID-Cert (PEM) of the calling session; the server verifies it \
              against the actor's home server before accepting it.",
    seed: "seed 004 \"Update session ID-Cert\"",
    gone: None,
};

// Request: PEM of the session's new ID-Cert.
crate::endpoint_marker!(String, ());
