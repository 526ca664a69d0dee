//! `POST /.p2/core/v1/session/trust` — log in: a new session and its ID-Cert
//! (seed 003 "Authenticate Session").
//!
//! Legacy path: `POST /p2core/session/trust`, where `csr` and `id_cert` are Base64 of the
//! PEM text ([`LegacyEncoding::Base64Pem`]).

use http::Method;
use p2core_types::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AuthRequirement, BodyKind, LegacyEncoding, LegacyPath, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "session_trust",
    method: Method::POST,
    path: "/.p2/core/v1/session/trust",
    legacy_paths: &[LegacyPath {
        method: Method::POST,
        path: "/p2core/session/trust",
        encoding: LegacyEncoding::Base64Pem,
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
        ErrorCode::Unauthorized,
        ErrorCode::InvalidCsr,
        ErrorCode::InvalidSessionId,
        ErrorCode::SessionIdTaken,
        ErrorCode::PayloadTooLarge,
        ErrorCode::TooManySessions,
        ErrorCode::TooManyRequests,
    ],
    summary: "Authenticate with username and password and have the CSR of a new session \
              signed: returns the session's ID-Cert and its session token.",
    seed: "seed 003 \"Authenticate Session\" (`/p2core/session/trust`); design §4",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// Request body: `{"username", "csr", "password", "auth_payload"?}`.
///
/// `Debug` prints neither the password nor the `auth_payload`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The actor's local name.
    pub username: String,
    /// PEM of the ID-CSR for the new session (Base64 of the PEM on the legacy path).
    pub csr: String,
    /// The actor's password.
    pub password: String,
    /// Implementation-specific extra data (seed 003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_payload: Option<Value>,
}

/// `201 Created` body: `{"id_cert", "token"}`.
///
/// `Debug` does not print the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// PEM of the new session's ID-Cert (Base64 of the PEM on the legacy path).
    pub id_cert: String,
    /// The session token for this ID-Cert.
    pub token: String,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("username", &self.username)
            .field("csr", &self.csr)
            .field("password", &crate::redact::Redacted)
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
            .field("id_cert", &self.id_cert)
            .field("token", &crate::redact::Redacted)
            .finish()
    }
}
