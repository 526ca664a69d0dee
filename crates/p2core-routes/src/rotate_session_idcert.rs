//! `POST /.p2/core/v1/session/idcert` — rotate the calling session's key
//! (seed 001 "Rotate session ID-Cert").
//!
//! The CSR's session ID must be the one of the session token used. The old ID-Cert is
//! invalidated and its token stops working. Legacy path: `POST /p2core/session/idcert`
//! (seed 003), with `csr`/`id_cert` as Base64 of the PEM ([`LegacyEncoding::Base64Pem`]).

use http::Method;
use p2core_types::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::{AuthRequirement, BodyKind, LegacyEncoding, LegacyPath, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "rotate_session_idcert",
    method: Method::POST,
    path: "/.p2/core/v1/session/idcert",
    legacy_paths: &[LegacyPath {
        method: Method::POST,
        path: "/p2core/session/idcert",
        encoding: LegacyEncoding::Base64Pem,
    }],
    auth: AuthRequirement::Session,
    request_body: BodyKind::Json,
    query: &[],
    query_json_body: false,
    response_body: BodyKind::Json,
    success_status: 201,
    alt_success_status: None,
    errors: &[
        ErrorCode::Unauthorized,
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidCsr,
        ErrorCode::Forbidden,
        ErrorCode::TooManyRequests,
    ],
    summary: "Replace the calling session's ID-Cert with one for a new key: the old \
              ID-Cert is invalidated and its token dies; returns the new ID-Cert and token.",
    seed: "seed 001 \"Rotate session ID-Cert\"; seed 003 (`/p2core/session/idcert`); design §4",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// Request body: `{"csr"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// PEM of an ID-CSR with the new public key and the calling session's ID.
    pub csr: String,
}

/// `201 Created` body: `{"id_cert", "token"}`.
///
/// `Debug` does not print the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// PEM of the new ID-Cert.
    pub id_cert: String,
    /// The new session token (the old one no longer works).
    pub token: String,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("id_cert", &self.id_cert)
            .field("token", &crate::redact::Redacted)
            .finish()
    }
}
