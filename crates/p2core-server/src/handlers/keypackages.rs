//! MLS KeyPackages: upload, last-resort replacement and claiming.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use p2core_types::ErrorCode;
use p2core_types::events::LowKeyPackages;
use p2core_types::keypackage::KeyPackage;

use super::{now, stored_cert};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathParam};
use crate::handlers::server::local_actor;
use crate::state::SharedState;
use crate::storage::{LocalSession, NewKeyPackage, PendingEvent, Store, StoreError};

/// Most KeyPackages accepted in one upload.
pub const MAX_UPLOAD: usize = 100;
/// Below this many regular KeyPackages a session is told to upload more.
pub const LOW_WATERMARK: u64 = 5;

fn validate(
    session: &LocalSession,
    b64: &[String],
    force_last_resort: bool,
) -> ApiResult<Vec<NewKeyPackage>> {
    let cert = stored_cert(&session.cert_pem)?;
    let key = cert
        .public_key()
        .ok_or_else(|| ApiError::internal("session certificate without an Ed25519 key"))?;
    b64.iter()
        .enumerate()
        .map(|(i, s)| {
            let kp = KeyPackage::parse_for_session(s, &session.fid, key).map_err(|e| {
                ApiError::new(ErrorCode::InvalidKeyPackage, format!("KeyPackage {i}: {e}"))
            })?;
            Ok(NewKeyPackage {
                body_b64: kp.to_base64(),
                init_key: kp.init_key().to_vec(),
                not_after: kp.not_after(),
                last_resort: force_last_resort || kp.has_last_resort_extension(),
            })
        })
        .collect()
}

async fn store<S: Store>(
    state: &SharedState<S>,
    session: &LocalSession,
    kps: &[NewKeyPackage],
) -> ApiResult<()> {
    let max = state.settings.limits.max_key_packages_per_session;
    match state.store.add_key_packages(session, kps, now(), max).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(m)) => Err(ApiError::new(ErrorCode::InvalidKeyPackage, m)),
        Err(StoreError::LimitReached(m)) => Err(ApiError::new(ErrorCode::PayloadTooLarge, m)),
        Err(StoreError::NotFound) => Err(ApiError::unauthorized(
            "the session's ID-Cert changed meanwhile; upload KeyPackages for the new one",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /keypackage/@me`: adds KeyPackages to the caller's session (all or none).
pub async fn upload_key_packages<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    JsonBody(body): JsonBody<Vec<String>>,
) -> ApiResult<StatusCode> {
    let session = auth.local()?;
    state
        .rate_limits
        .sessions
        .write_local_shared(&state.store, &session)
        .await?;
    if body.is_empty() {
        return Err(ApiError::bad_request("send at least one KeyPackage"));
    }
    if body.len() > MAX_UPLOAD {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("at most {MAX_UPLOAD} KeyPackages per upload"),
        ));
    }
    let kps = validate(&session, &body, false)?;
    if kps.iter().filter(|k| k.last_resort).count() > 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidKeyPackage,
            "at most one last-resort KeyPackage",
        ));
    }
    store(&state, &session, &kps).await?;
    Ok(StatusCode::CREATED)
}

/// `PUT /keypackage_lr`: replaces the session's last-resort KeyPackage.
pub async fn replace_last_resort_key_package<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    JsonBody(body): JsonBody<String>,
) -> ApiResult<StatusCode> {
    let session = auth.local()?;
    state
        .rate_limits
        .sessions
        .write_local_shared(&state.store, &session)
        .await?;
    let kps = validate(&session, std::slice::from_ref(&body), true)?;
    store(&state, &session, &kps).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /keypackage/{fid}`: one KeyPackage per live session of a local actor.
///
/// Claims are rate limited per calling session and per claimed actor (429), so
/// that no caller can drain the KeyPackages of every actor.
pub async fn get_key_packages<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    PathParam(fid): PathParam,
) -> ApiResult<Json<Vec<String>>> {
    let actor_id = local_actor(&state, &fid).await?;
    state
        .rate_limits
        .sessions
        .claim_shared(&state.store, &auth.0, actor_id)
        .await?;
    let low = |remaining: u64, last_resort_used: bool| {
        PendingEvent::new(&LowKeyPackages {
            remaining,
            last_resort_used,
        })
        .ok()
    };
    let claimed = state
        .store
        .claim_key_packages(actor_id, now(), LOW_WATERMARK, &low)
        .await?;
    Ok(Json(claimed.into_iter().map(|c| c.body_b64).collect()))
}
