//! The legacy `/p2core/…` paths of seeds 002/003, served as aliases of their
//! successors with the legacy encodings (`csr` and `id_cert` as Base64 of the PEM text).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use p2core_types::ErrorCode;
use serde::{Deserialize, Serialize};

use super::identity::{rotate_inner, trust_inner};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::SharedState;
use crate::storage::Store;

fn decode(field: &str, b64: &str) -> ApiResult<String> {
    p2core_routes::legacy::base64_to_pem(b64).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("{field} must be Base64 of the PEM text on this legacy route: {e}"),
        )
    })
}

/// Body of the legacy `POST /p2core/session/trust`.
#[derive(Debug, Deserialize)]
pub struct LegacyTrustRequest {
    username: String,
    csr: String,
    password: String,
}

/// Response of the legacy trust/rotate routes: the ID-Cert as Base64 of its PEM, plus the token.
#[derive(Debug, Serialize)]
pub struct LegacyCertResponse {
    id_cert: String,
    token: String,
}

/// `POST /p2core/session/trust`.
pub async fn session_trust<S: Store>(
    State(state): State<SharedState<S>>,
    JsonBody(req): JsonBody<LegacyTrustRequest>,
) -> ApiResult<(StatusCode, Json<LegacyCertResponse>)> {
    let csr = decode("csr", &req.csr)?;
    let (pem, token) = trust_inner(&state, &req.username, &req.password, &csr).await?;
    Ok((
        StatusCode::CREATED,
        Json(LegacyCertResponse {
            id_cert: p2core_routes::legacy::pem_to_base64(&pem),
            token,
        }),
    ))
}

/// Body of the legacy `POST /p2core/session/idcert`.
#[derive(Debug, Deserialize)]
pub struct LegacyRotateRequest {
    csr: String,
}

/// `POST /p2core/session/idcert`.
pub async fn rotate_session_idcert<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    JsonBody(req): JsonBody<LegacyRotateRequest>,
) -> ApiResult<(StatusCode, Json<LegacyCertResponse>)> {
    let session = auth.local()?;
    let csr = decode("csr", &req.csr)?;
    let (pem, token) = rotate_inner(&state, session, &csr).await?;
    Ok((
        StatusCode::CREATED,
        Json(LegacyCertResponse {
            id_cert: p2core_routes::legacy::pem_to_base64(&pem),
            token,
        }),
    ))
}

/// `POST /p2core/key/user/@me`: the PGP-key upload of seed 002 has no successor with the same body.
pub async fn gone(successor: &'static str) -> ApiError {
    ApiError::new(
        ErrorCode::Gone,
        format!("this route was removed; request an ID-Cert with a CSR at {successor}"),
    )
}
