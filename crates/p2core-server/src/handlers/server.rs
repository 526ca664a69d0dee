//! Challenges, the server's certificates and keys, and actor certificate lookup.

use axum::Json;
use axum::body::Bytes;
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
use crate::response_cache::ServerDoc;
use crate::state::SharedState;
use crate::storage::{ActorCertFilter, ServerCertRecord, Store};

/// A PEM text response.
pub(crate) fn pem_response(status: StatusCode, pem: String) -> Response {
    (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], pem).into_response()
}

/// A 200 PEM text response from cached (or to be cached) bytes: the same
/// status, headers and body as [`pem_response`].
fn pem_bytes_response(pem: Bytes) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        pem,
    )
        .into_response()
}

/// A 200 JSON response from encoded bytes: the same status, headers and body
/// as axum's `Json` of the value they encode.
fn json_bytes_response(json: Bytes) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], json).into_response()
}

/// The current server document `doc` from the response cache, or built by
/// `build` from the current certificate and cached (see [`crate::response_cache`]).
async fn current_server_doc<S: Store>(
    state: &SharedState<S>,
    doc: ServerDoc,
    build: impl FnOnce(ServerCertRecord) -> ApiResult<String>,
) -> ApiResult<Response> {
    if let Some(body) = state.response_cache.server(doc) {
        return Ok(pem_bytes_response(body));
    }
    // Taken before the read: a rotation committing meanwhile spoils the put.
    let ticket = state.response_cache.server_ticket();
    let rec = server_cert_at(state, None).await?;
    let body = Bytes::from(build(rec)?);
    state.response_cache.put_server(ticket, doc, body.clone());
    Ok(pem_bytes_response(body))
}

/// The public key of a stored root certificate as PEM SubjectPublicKeyInfo.
fn public_key_pem(rec: ServerCertRecord) -> ApiResult<String> {
    let cert = IdCert::from_pem(&rec.cert_pem).map_err(ApiError::internal)?;
    let key = cert
        .public_key()
        .ok_or_else(|| ApiError::internal("stored root certificate has no Ed25519 key"))?;
    key.to_public_key_pem(LineEnding::LF)
        .map_err(ApiError::internal)
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
    if p.timestamp.is_none() {
        return current_server_doc(&state, ServerDoc::Cert, |rec| Ok(rec.cert_pem)).await;
    }
    let rec = server_cert_at(&state, p.timestamp).await?;
    Ok(pem_response(StatusCode::OK, rec.cert_pem))
}

/// `GET /key/server`: the server's public key as a PEM SubjectPublicKeyInfo.
pub async fn server_public_key<S: Store>(
    State(state): State<SharedState<S>>,
    QueryOrBody(p): QueryOrBody<TimestampQuery>,
) -> ApiResult<Response> {
    if p.timestamp.is_none() {
        return current_server_doc(&state, ServerDoc::PublicKey, public_key_pem).await;
    }
    let rec = server_cert_at(&state, p.timestamp).await?;
    Ok(pem_response(StatusCode::OK, public_key_pem(rec)?))
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
///
/// Without `timestamp`, answered from the response cache when it holds the
/// list for this second (see [`crate::response_cache`]).
pub async fn actor_idcerts<S: Store>(
    State(state): State<SharedState<S>>,
    PathParam(fid): PathParam,
    QueryOrBody(p): QueryOrBody<actor_idcerts::Query>,
) -> ApiResult<Response> {
    let fid = local_fid(&state, &fid)?;
    let cache = &state.response_cache;
    // One `now` for the lookup, the read and the entry: the list is the one valid at it.
    let now = now();
    let cacheable = p.timestamp.is_none();
    if cacheable && let Some(body) = cache.actor_certs(&fid, p.session_id.as_ref(), now) {
        return Ok(json_bytes_response(body));
    }
    let actor_id = registered_actor(&state, &fid).await?;
    // Taken before the read: a write committing meanwhile spoils the put.
    let ticket = cache.actor_ticket(actor_id);
    let filter = ActorCertFilter {
        at: p.timestamp,
        session_id: p.session_id,
    };
    let certs = state.store.actor_certs(actor_id, &filter, now).await?;
    let (idcerts, invalidated) = certs.into_iter().unzip();
    let body = serde_json::to_vec(&actor_idcerts::Response {
        idcerts,
        invalidated,
    })
    .map_err(ApiError::internal)?;
    let body = Bytes::from(body);
    if cacheable {
        cache.put_actor_certs(
            ticket,
            &fid,
            filter.session_id.as_ref(),
            actor_id,
            now,
            body.clone(),
        );
    }
    Ok(json_bytes_response(body))
}

/// Resolves a path FID to a local actor's id (404 for foreign or unknown actors).
pub(crate) async fn local_actor<S: Store>(state: &SharedState<S>, fid: &str) -> ApiResult<i64> {
    let fid = local_fid(state, fid)?;
    registered_actor(state, &fid).await
}

/// The id of the registered actor `fid` (404 if there is none).
async fn registered_actor<S: Store>(state: &SharedState<S>, fid: &FederationId) -> ApiResult<i64> {
    state
        .store
        .actor_exists(fid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{fid} is not registered here")))
}

/// Parses a path FID of this server's domain (400 if invalid, 404 if foreign).
fn local_fid<S>(state: &SharedState<S>, fid: &str) -> ApiResult<FederationId> {
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
    Ok(fid)
}
