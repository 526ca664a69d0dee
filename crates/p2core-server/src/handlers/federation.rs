//! Foreign actors: `POST /session/identify` and `PUT /session/idcert/extern`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use p2core_routes::session_identify;
use p2core_types::challenge::{MAX_CHALLENGE_LEN, MIN_CHALLENGE_LEN};
use p2core_types::{CompletedChallenge, ErrorCode, IdCert, UnixTimestamp};

use super::{now, parse_cert, stored_cert};
use crate::auth::{Auth, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PemBody};
use crate::federation::FederationError;
use crate::state::SharedState;
use crate::storage::{Caller, Store};

fn federation_error(e: FederationError) -> ApiError {
    match e {
        FederationError::Upstream { .. } => ApiError::new(ErrorCode::UpstreamFailed, e.to_string()),
        FederationError::BadRoot { .. } => ApiError::new(ErrorCode::UpstreamFailed, e.to_string()),
        FederationError::Revoked | FederationError::UnknownAtHome => {
            ApiError::unauthorized(e.to_string())
        }
        FederationError::NoFederationId | FederationError::Invalid(_) => {
            ApiError::new(ErrorCode::InvalidCertificate, e.to_string())
        }
    }
}

fn foreign_cert<S>(state: &SharedState<S>, pem: &str) -> ApiResult<IdCert> {
    let cert = parse_cert(pem)?;
    let fid = cert.subject_fid().ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidCertificate,
            "the ID-Cert has no Federation ID (UID) in its subject",
        )
    })?;
    if cert.session_id().is_none() {
        return Err(ApiError::new(
            ErrorCode::InvalidCertificate,
            "the ID-Cert has no session ID",
        ));
    }
    if fid.domain() == &state.settings.domain {
        return Err(ApiError::bad_request(
            "actors of this server authenticate with /session/trust, not /session/identify",
        ));
    }
    Ok(cert)
}

/// Longest accepted `id_cert` PEM text, in bytes (an ID-Cert is well under 2 KiB).
const MAX_CERT_PEM_BYTES: usize = 16 * 1024;

/// Cheap checks on the request's sizes, before any parsing or lookup.
fn check_identify_sizes<S>(
    state: &SharedState<S>,
    req: &session_identify::Request,
) -> ApiResult<()> {
    if req.id_cert.len() > MAX_CERT_PEM_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("id_cert is longer than {MAX_CERT_PEM_BYTES} bytes"),
        ));
    }
    super::check_auth_payload(state, req.auth_payload.as_ref())
}

/// Checks the completed challenge's form (after the certificate's, so that a
/// request that is wrong in both gets the certificate error).
fn check_challenge_form(completed: &CompletedChallenge) -> ApiResult<()> {
    if !(MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&completed.challenge.len()) {
        return Err(ApiError::new(
            ErrorCode::ChallengeUnknown,
            "this server did not issue that challenge (wrong length)",
        ));
    }
    // An Ed25519 signature is 64 bytes: 128 hex digits.
    if completed.signature.len() != 128 {
        return Err(ApiError::new(
            ErrorCode::ChallengeFailed,
            "the signature must be 128 hex digits (an Ed25519 signature)",
        ));
    }
    Ok(())
}

/// `POST /session/identify`: a foreign actor proves possession of its ID-Cert's
/// key by signing a challenge this server issued, and gets a session token.
///
/// Everything is checked before anything is used up or stored: sizes, the
/// certificate's form, that the challenge is outstanding and unexpired, the
/// signature, and the certificate at the actor's home server. Only then is
/// the challenge taken (once) and the session stored.
pub async fn session_identify<S: Store>(
    State(state): State<SharedState<S>>,
    JsonBody(req): JsonBody<session_identify::Request>,
) -> ApiResult<(StatusCode, Json<session_identify::Response>)> {
    check_identify_sizes(&state, &req)?;
    let cert = foreign_cert(&state, &req.id_cert)?;
    let (Some(fid), Some(session), Some(key)) =
        (cert.subject_fid(), cert.session_id(), cert.public_key())
    else {
        return Err(ApiError::new(
            ErrorCode::InvalidCertificate,
            "the ID-Cert is not an Ed25519 actor certificate",
        ));
    };
    check_challenge_form(&req.completed_challenge)?;
    let now = now();
    let challenge = &req.completed_challenge.challenge;
    let unknown = || {
        ApiError::new(
            ErrorCode::ChallengeUnknown,
            "this server did not issue that challenge, or it was used already",
        )
    };
    let issued = state
        .store
        .issued_challenge(challenge)
        .await?
        .ok_or_else(unknown)?;
    issued
        .verify_solution(&req.completed_challenge.signature, key, now)
        .map_err(|e| match e {
            p2core_types::ChallengeError::Expired { .. } => {
                ApiError::new(ErrorCode::ChallengeExpired, e.to_string())
            }
            _ => ApiError::new(ErrorCode::ChallengeFailed, e.to_string()),
        })?;
    state
        .federation
        .verify_foreign_cert(&cert, UnixTimestamp::now())
        .await
        .map_err(federation_error)?;
    if !state.store.take_challenge(challenge, now).await? {
        return Err(unknown());
    }
    let (token, hash) = new_token();
    let opened = state
        .store
        .open_foreign_session(
            fid,
            session,
            &cert.to_pem(),
            cert.not_after(),
            &hash,
            now,
            state.settings.limits.max_sessions_per_actor,
        )
        .await?;
    if !opened {
        return Err(super::too_many_sessions(
            state.settings.limits.max_sessions_per_actor,
        ));
    }
    tracing::info!(fid = %fid, "foreign actor identified");
    Ok((
        StatusCode::CREATED,
        Json(session_identify::Response {
            token,
            payload: None,
        }),
    ))
}

/// `PUT /session/idcert/extern`: a session tells this server its new ID-Cert.
pub async fn update_extern_idcert<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    PemBody(pem): PemBody,
) -> ApiResult<StatusCode> {
    state
        .rate_limits
        .sessions
        .write_shared(&state.store, &auth.0)
        .await?;
    match auth.0 {
        Caller::Local(me) => {
            // A local session's certificate is known here already; accept only that one.
            let cert = parse_cert(&pem)?;
            let current = stored_cert(&me.cert_pem)?;
            if cert.as_der() != current.as_der() {
                return Err(ApiError::new(
                    ErrorCode::InvalidCertificate,
                    "this is not the session's current ID-Cert; home-server sessions rotate with POST /session/idcert",
                ));
            }
            Ok(StatusCode::CREATED)
        }
        Caller::Foreign(me) => {
            let cert = foreign_cert(&state, &pem)?;
            if cert.subject_fid() != Some(&me.fid) || cert.session_id() != Some(&me.session_id) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "the ID-Cert must belong to the actor and session of the token",
                ));
            }
            match state.federation.verify_foreign_cert(&cert, now()).await {
                Ok(()) => {
                    state
                        .store
                        .update_foreign_cert(me.id, &cert.to_pem(), cert.not_after(), now())
                        .await?;
                    tracing::info!(fid = %me.fid, "foreign session updated its ID-Cert");
                    Ok(StatusCode::CREATED)
                }
                Err(FederationError::Revoked) => {
                    // The actor announces a revocation: the session ends here too.
                    state.store.end_foreign_session(me.id, now()).await?;
                    tracing::info!(fid = %me.fid, "foreign session ended by revocation notice");
                    Ok(StatusCode::CREATED)
                }
                Err(e) => Err(federation_error(e)),
            }
        }
    }
}
