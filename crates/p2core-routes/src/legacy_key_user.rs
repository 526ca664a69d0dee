//! `POST /p2core/key/user/@me` — removed (seed 002). It took a PGP-style public key and has
//! no successor with the same body; servers answer `410 P2CORE_GONE` naming
//! `/.p2/core/v1/session/idcert`.

use http::Method;
use p2core_types::ErrorCode;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The successor a client should use instead.
pub const SUCCESSOR: &str = "/.p2/core/v1/session/idcert";

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "legacy_key_user",
    method: Method::POST,
    path: "/p2core/key/user/@me",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::Json,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 410,
    alt_success_status: None,
    errors: &[ErrorCode::Gone],
    summary: "Removed PGP-style key upload of seed 002; always answers 410 naming \
              `POST /.p2/core/v1/session/idcert` (send an ID-CSR there instead).",
    seed: "seed 002 \"Rotate session ID-Cert\" (`/p2core/key/user/@me`); design §4",
    gone: Some(SUCCESSOR),
};

// Request: Seed 002's body: a JSON string holding an ASCII-armoured public key (never accepted).
// Response: Never sent: the route only answers 410 with an error body.
crate::endpoint_marker!(String, ());

/// The message of the 410 error body.
pub fn gone_message() -> String {
    format!("POST /p2core/key/user/@me was removed; send an ID-CSR to POST {SUCCESSOR}")
}
