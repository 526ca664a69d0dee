//! `POST /.p2/core/v1/register` — create an identity (seed 003 "Create Identity").
//!
//! Legacy path: `POST /p2core/identity` (same bodies).
//!
//! ```
//! use p2core_routes::register;
//! let req = register::Request::new("alice", "s3cr3t");
//! assert_eq!(
//!     serde_json::to_string(&req).unwrap(),
//!     r#"{"username":"alice","password":"s3cr3t"}"#
//! );
//! ```

use http::Method;
use p2core_types::{ErrorCode, FederationId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AuthRequirement, BodyKind, LegacyEncoding, LegacyPath, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "register",
    method: Method::POST,
    path: "/.p2/core/v1/register",
    legacy_paths: &[LegacyPath {
        method: Method::POST,
        path: "/p2core/identity",
        encoding: LegacyEncoding::Same,
    }],
    auth: AuthRequirement::None,
    request_body: BodyKind::Json,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 201,
    alt_success_status: None,
    errors: &[
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidFederationId,
        ErrorCode::FederationIdTaken,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Forbidden,
        ErrorCode::TooManyRequests,
        ErrorCode::RegistrationClosed,
        ErrorCode::InvalidInvite,
    ],
    summary: "Create an identity (an actor) on this home server with a username and a password.",
    seed: "seed 003 \"Create Identity\" (`/p2core/identity`); design §4",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// Request body: `{"username", "password", "auth_payload"?}`.
///
/// `Debug` prints neither the password nor the `auth_payload`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The preferred local name of the new actor (the part before `@` of its Federation ID).
    pub username: String,
    /// The password (p2core requires it; the server stores only an argon2id hash).
    pub password: String,
    /// Implementation-specific extra data (seed 003), e.g. `{"email": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_payload: Option<Value>,
}

impl Request {
    /// A request without `auth_payload`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            auth_payload: None,
        }
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("username", &self.username)
            .field("password", &crate::redact::Redacted)
            .field(
                "auth_payload",
                &crate::redact::redact_option(&self.auth_payload),
            )
            .finish()
    }
}

/// `201 Created` body: `{"fid", "payload"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The Federation ID of the new identity.
    pub fid: FederationId,
    /// Implementation-specific extra data (seed 003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}
