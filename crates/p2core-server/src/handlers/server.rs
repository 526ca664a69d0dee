//! Challenges, the server's certificates and keys, and actor certificate lookup.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::EncodePublicKey;
use p2core_routes::actor_idcerts;
use p2core_routes::query::TimestampQuery;
use p2core_types::{ChallengeString, ErrorCode, FederationId, IdCert, UnixTimestamp};

use super::now;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParam, QueryOrBody};
use crate::keys;
use crate::state::SharedState;
use crate::storage::{ActorCertFilter, ServerCertRecord, Store};

/// A PEM text response.
pub(crate) fn pem_response(status: StatusCode, pem: String) -> Response {
    (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], pem).into_response()
}

/// `GET /challenge`: a fresh single-use challenge string.
pub async fn challenge<S: Store>(
    State(state): State<SharedState<S>>,
    crate::limits::ClientIp(client): crate::limits::ClientIp,
) -> ApiResult<Json<ChallengeString>> {
    let now = now();
    let lifetime = state.settings.limits.challenge_lifetime;
    let c = ChallengeString::generate(now, lifetime);
    state
        .store
        .issue_challenge(
            &c,
            crate::limits::Network::share_of(client),
            now,
            u64::try_from(state.settings.limits.max_challenges).unwrap_or(u64::MAX),
            state.settings.limits.max_challenges_per_network,
        )
        .await?
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("{e}; try again in a moment"),
            )
        })?;
    Ok(Json(c))
}

async fn server_cert_at<S: Store>(
    state: &SharedState<S>,
    at: Option<UnixTimestamp>,
) -> ApiResult<ServerCertRecord> {
    let rec = match at {
        Some(t) => state.store.server_cert_at(t).await?,
        None => state.store.current_server_cert().await?,
    };
    rec.ok_or_else(|| match at {
        Some(t) => ApiError::not_found(format!("this server had no certificate at {t}")),
        None => ApiError::internal("no current server certificate"),
    })
}

/// `GET /idcert/server`: the root certificate (current, or the one current at `timestamp`).
pub async fn server_idcert<S: Store>(
    State(state): State<SharedState<S>>,
    QueryOrBody(p): QueryOrBody<TimestampQuery>,
) -> ApiResult<Response> {
    let rec = server_cert_at(&state, p.timestamp).await?;
    Ok(pem_response(StatusCode::OK, rec.cert_pem))
}

/// `GET /key/server`: the server's public key as a PEM SubjectPublicKeyInfo.
pub async fn server_public_key<S: Store>(
    State(state): State<SharedState<S>>,
    QueryOrBody(p): QueryOrBody<TimestampQuery>,
) -> ApiResult<Response> {
    let rec = server_cert_at(&state, p.timestamp).await?;
    let cert = IdCert::from_pem(&rec.cert_pem).map_err(ApiError::internal)?;
    let key = cert
        .public_key()
        .ok_or_else(|| ApiError::internal("stored root certificate has no Ed25519 key"))?;
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(ApiError::internal)?;
    Ok(pem_response(StatusCode::OK, pem))
}

/// `PUT /key/server`: administrators rotate the server's identity key.
pub async fn rotate_server_key<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
) -> ApiResult<Response> {
    let fid = auth.0.fid().clone();
    // An administrator is an FID given with --admin whose account the operator
    // made (or took over) with `p2core-home-server admin`: an account someone
    // registered over HTTP under that name never qualifies.
    let operator_made = match &auth.0 {
        crate::storage::Caller::Local(s) => state.store.is_operator_made(s.actor_id).await?,
        crate::storage::Caller::Foreign(_) => false,
    };
    if !operator_made || !state.settings.admins.contains(&fid) {
        return Err(ApiError::new(
            ErrorCode::NotAdministrator,
            "only server administrators may rotate the server key",
        ));
    }
    let mut guard = state.keys.write().await;
    let new = keys::rotate(&state.store, &state.settings)
        .await
        .map_err(ApiError::internal)?;
    let pem = new.issuer.root().to_pem();
    *guard = new;
    tracing::info!(admin = %fid, "server key rotated");
    Ok(pem_response(StatusCode::OK, pem))
}

/// `GET /idcert/actor/{fid}`: an actor's ID-Certs with their invalidation flags.
pub async fn actor_idcerts<S: Store>(
    State(state): State<SharedState<S>>,
    PathParam(fid): PathParam,
    QueryOrBody(p): QueryOrBody<actor_idcerts::Query>,
) -> ApiResult<Json<actor_idcerts::Response>> {
    let actor_id = local_actor(&state, &fid).await?;
    let filter = ActorCertFilter {
        at: p.timestamp,
        session_id: p.session_id,
    };
    let certs = state.store.actor_certs(actor_id, &filter, now()).await?;
    let (idcerts, invalidated) = certs.into_iter().unzip();
    Ok(Json(actor_idcerts::Response {
        idcerts,
        invalidated,
    }))
}

/// Resolves a path FID to a local actor's id (404 for foreign or unknown actors).
pub(crate) async fn local_actor<S: Store>(state: &SharedState<S>, fid: &str) -> ApiResult<i64> {
    let fid = FederationId::new(fid).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidFederationId,
            format!("invalid Federation ID: {e}"),
        )
    })?;
    if fid.domain() != &state.settings.domain {
        return Err(ApiError::not_found(format!(
            "{fid} is not an actor of this server"
        )));
    }
    state
        .store
        .actor_exists(&fid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{fid} is not registered here")))
}
