//! `POST /.p2/core/v1/session/identify` — a (foreign) actor proves possession of an
//! ID-Cert's key by a solved challenge and gets a session token here (design §4,
//! reference §2.4).

use http::Method;
use p2core_types::{CompletedChallenge, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "session_identify",
    method: Method::POST,
    path: "/.p2/core/v1/session/identify",
    legacy_paths: &[],
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
        ErrorCode::ChallengeUnknown,
        ErrorCode::ChallengeExpired,
        ErrorCode::ChallengeFailed,
        ErrorCode::InvalidCertificate,
        ErrorCode::UpstreamFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::TooManySessions,
        ErrorCode::TooManyRequests,
    ],
    summary: "Exchange a solved challenge (issued here, unexpired, unused) plus an ID-Cert \
              that verifies against its home server's root for a session token.",
    seed: "design §4 (reference §2.4 `/session/identify`)",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// Request body: `{"completed_challenge": {"challenge", "signature"}, "id_cert", "auth_payload"?}`.
///
/// `Debug` does not print the `auth_payload`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The challenge from `GET /challenge` and the hex Ed25519 signature over it.
    pub completed_challenge: CompletedChallenge,
    /// PEM of the ID-Cert whose key signed the challenge.
    pub id_cert: String,
    /// Implementation-specific extra data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_payload: Option<Value>,
}

/// `201 Created` body: `{"token", "payload"?}`.
///
/// `Debug` does not print the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The session token for this server.
    pub token: String,
    /// Implementation-specific extra data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("completed_challenge", &self.completed_challenge)
            .field("id_cert", &self.id_cert)
            .field(
                "auth_payload",
                &crate::redact::redact_option(&self.auth_payload),
            )
            .finish()
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("token", &crate::redact::Redacted)
            .field("payload", &self.payload)
            .finish()
    }
}
