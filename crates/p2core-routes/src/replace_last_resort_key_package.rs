//! `PUT /.p2/core/v1/keypackage_lr` — replace the calling session's last-resort KeyPackage
//! (seeds 000/001; optional route).
//!
//! Legacy path: `PUT /p2core/keypackage_lr` (seeds 002/003, same body).

use http::Method;
use p2core_types::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::{AuthRequirement, BodyKind, LegacyEncoding, LegacyPath, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "replace_last_resort_key_package",
    method: Method::PUT,
    path: "/.p2/core/v1/keypackage_lr",
    legacy_paths: &[LegacyPath {
        method: Method::PUT,
        path: "/p2core/keypackage_lr",
        encoding: LegacyEncoding::Same,
    }],
    auth: AuthRequirement::Session,
    request_body: BodyKind::Json,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::None,
    success_status: 204,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidKeyPackage,
        ErrorCode::TooManyRequests,
    ],
    summary: "Replace the last-resort KeyPackage of the calling session's ID-Cert.",
    seed: "seeds 000/001 \"Replace Last Resort KeyPackage\"; seeds 002/003 (`/p2core/keypackage_lr`)",
    gone: None,
};

crate::endpoint_marker!(Request, ());

/// Request body: one KeyPackage as a JSON string (standard Base64 of its TLS encoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Request(pub String);

impl From<String> for Request {
    fn from(v: String) -> Self {
        Self(v)
    }
}
