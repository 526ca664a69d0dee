//! Route handlers, one module per group of routes.

pub mod events;
pub mod federation;
pub mod identity;
pub mod keypackages;
pub mod legacy;
pub mod server;

use std::time::Duration;

use p2core_types::{ErrorCode, IdCert, IdCsr, UnixTimestamp};

use crate::error::ApiError;

/// Parses a PEM ID-CSR with a 400 `P2CORE_INVALID_CSR` on failure.
pub(crate) fn parse_csr(pem: &str) -> Result<IdCsr, ApiError> {
    IdCsr::from_pem(pem)
        .map_err(|e| ApiError::new(ErrorCode::InvalidCsr, format!("invalid CSR: {e}")))
}

/// Parses a PEM ID-Cert with a 400 `P2CORE_INVALID_CERTIFICATE` on failure.
pub(crate) fn parse_cert(pem: &str) -> Result<IdCert, ApiError> {
    IdCert::from_pem(pem).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidCertificate,
            format!("invalid ID-Cert: {e}"),
        )
    })
}

/// Parses a certificate this server stored itself; failure is an internal error.
pub(crate) fn stored_cert(pem: &str) -> Result<IdCert, ApiError> {
    IdCert::from_pem(pem).map_err(ApiError::internal)
}

/// Days as a [`Duration`].
pub(crate) fn days(d: u32) -> Duration {
    Duration::from_secs(u64::from(d) * 86_400)
}

/// The current time.
pub(crate) fn now() -> UnixTimestamp {
    UnixTimestamp::now()
}

/// 413 `P2CORE_PAYLOAD_TOO_LARGE` if `auth_payload`'s JSON text is longer than
/// `--max-auth-payload-bytes`.
pub(crate) fn check_auth_payload<S>(
    state: &crate::state::SharedState<S>,
    auth_payload: Option<&serde_json::Value>,
) -> Result<(), ApiError> {
    let max = state.settings.limits.max_auth_payload_bytes;
    let len = auth_payload.map_or(0, |v| v.to_string().len());
    if len > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("auth_payload is {len} bytes long; this server accepts at most {max}"),
        ));
    }
    Ok(())
}

/// 409 `P2CORE_TOO_MANY_SESSIONS` if the local actor has `--max-sessions-per-actor`
/// live sessions already: an early answer before a certificate is issued; the
/// exact check is [`Store::create_session`](crate::storage::Store::create_session)'s,
/// in the insert's transaction.
pub(crate) async fn check_session_limit<S: crate::storage::Store>(
    state: &crate::state::SharedState<S>,
    actor_id: i64,
) -> Result<(), ApiError> {
    let max = state.settings.limits.max_sessions_per_actor;
    if state.store.live_session_count(actor_id, now()).await? >= max {
        return Err(too_many_sessions(max));
    }
    Ok(())
}

/// The 409 `P2CORE_TOO_MANY_SESSIONS` error.
pub(crate) fn too_many_sessions(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TooManySessions,
        format!(
            "this actor has {max} live sessions here, the most this server allows; end one first"
        ),
    )
}
