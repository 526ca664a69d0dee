//! `POST /.p2/core/v1/keypackage/@me` — add KeyPackages for the calling session
//! (seeds 000/001 "Add KeyPackage"; optional route).
//!
//! Legacy path: `POST /p2core/keypackage/@me` (seeds 002/003, same body).

use http::Method;
use p2core_types::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::{AuthRequirement, BodyKind, LegacyEncoding, LegacyPath, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "upload_key_packages",
    method: Method::POST,
    path: "/.p2/core/v1/keypackage/@me",
    legacy_paths: &[LegacyPath {
        method: Method::POST,
        path: "/p2core/keypackage/@me",
        encoding: LegacyEncoding::Same,
    }],
    auth: AuthRequirement::Session,
    request_body: BodyKind::Json,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::None,
    success_status: 201,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidKeyPackage,
        ErrorCode::TooManyRequests,
    ],
    summary: "Add one or more MLS KeyPackages (standard Base64 of their TLS encoding) for \
              the ID-Cert of the calling session.",
    seed: "seeds 000/001 \"Add KeyPackage\"; seeds 002/003 (`/p2core/keypackage/@me`)",
    gone: None,
};

crate::endpoint_marker!(Request, ());

/// Request body: a JSON array of standard-Base64 KeyPackages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Request(pub Vec<String>);

impl From<Vec<String>> for Request {
    fn from(v: Vec<String>) -> Self {
        Self(v)
    }
}
