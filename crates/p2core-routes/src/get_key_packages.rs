//! `GET /.p2/core/v1/keypackage/{fid}` — claim KeyPackages of an actor, one per client
//! (seed 004 "KeyPackage(s)"; optional route).

use http::Method;
use p2core_types::{ErrorCode, FederationId};
use serde::{Deserialize, Serialize};

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "get_key_packages",
    method: Method::GET,
    path: "/.p2/core/v1/keypackage/{fid}",
    legacy_paths: &[],
    auth: AuthRequirement::Session,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::InvalidFederationId,
        ErrorCode::NotFound,
        ErrorCode::TooManyRequests,
    ],
    summary: "Hand out one KeyPackage (standard Base64) per client of an actor registered \
              here; regular KeyPackages are used once, the last-resort one is reused.",
    seed: "seed 004 \"KeyPackage(s)\"",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// The path for `fid`, percent-encoded.
///
/// ```
/// let fid = "bob@example.com".parse().unwrap();
/// assert_eq!(p2core_routes::get_key_packages::path(&fid), "/.p2/core/v1/keypackage/bob@example.com");
/// ```
pub fn path(fid: &FederationId) -> String {
    format!(
        "/.p2/core/v1/keypackage/{}",
        crate::path::encode_segment(fid.as_str())
    )
}

/// Everything a client sends: the path parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The actor whose KeyPackages are wanted.
    pub fid: FederationId,
}

/// `200 OK` body: a JSON array of standard-Base64 KeyPackages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Response(pub Vec<String>);
