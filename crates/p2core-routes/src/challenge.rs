//! `GET /.p2/core/v1/challenge` — get a challenge string to prove possession of a key
//! (seed 004 "Challenge string").

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "challenge",
    method: Method::GET,
    path: "/.p2/core/v1/challenge",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: None,
    errors: &[ErrorCode::TooManyRequests],
    summary: "Issue a single-use challenge string `{challenge, expires}`; its solution is \
              sent to `POST /session/identify`.",
    seed: "seed 004 \"Challenge string\"",
    gone: None,
};

crate::endpoint_marker!((), Response);

/// `200 OK` body: `{"challenge", "expires"}` (`expires` read as number or decimal string).
pub type Response = p2core_types::ChallengeString;
