//! Registration, session trust, ID-Cert rotation and session deletion.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ed25519_dalek::Signer;
use p2core_routes::{register, rotate_session_idcert, session_trust};
use p2core_types::events::{ActorCertificateInvalidation, NewSession};
use p2core_types::{ErrorCode, FederationId, IdCsr, SessionId, UnixTimestamp};
use serde::Deserialize;

use super::{days, now, parse_csr};
use crate::auth::{Auth, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryOrBody};
use crate::settings::{RegistrationPolicy, RegistrationRequest};
use crate::state::SharedState;
use crate::storage::{Caller, LocalSession, NewIdCert, PendingEvent, Store, StoreError};

/// Longest accepted password, in bytes.
const MAX_PASSWORD_LEN: usize = 1024;

fn check_password(password: &str) -> ApiResult<()> {
    if password.is_empty() {
        return Err(ApiError::bad_request("the password must not be empty"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "the password is longer than {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

fn local_fid<S>(state: &SharedState<S>, username: &str) -> ApiResult<FederationId> {
    FederationId::from_parts(username, &state.settings.domain).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidFederationId,
            format!("invalid username: {e}"),
        )
    })
}

/// `POST /register`: creates an actor with an argon2id password hash.
///
/// With `--registration closed` it answers 403 `P2CORE_REGISTRATION_CLOSED`; with
/// `--registration invite` it needs `auth_payload: {"invite": "<token>"}` (403
/// `P2CORE_INVALID_INVITE` otherwise) and uses one use of the invite in the same
/// transaction that creates the actor. The token is not stored with the actor.
pub async fn register<S: Store>(
    State(state): State<SharedState<S>>,
    crate::limits::ClientIp(client): crate::limits::ClientIp,
    JsonBody(req): JsonBody<register::Request>,
) -> ApiResult<(StatusCode, Json<register::Response>)> {
    let invite = registration_invite(&state, req.auth_payload.as_ref())?;
    let fid = local_fid(&state, &req.username)?;
    check_password(&req.password)?;
    if state.settings.admins.contains(&fid) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{fid} is reserved for a server administrator; the operator creates it \
                 with `p2core-home-server admin create`"
            ),
        ));
    }
    super::check_auth_payload(&state, req.auth_payload.as_ref())?;
    if let RegistrationPolicy::Custom(hook) = &state.settings.registration {
        let request = RegistrationRequest {
            fid: fid.clone(),
            auth_payload: req.auth_payload.clone(),
            client,
        };
        if let Err(refused) = hook.check(request).await {
            return Err(ApiError::new(ErrorCode::Forbidden, refused.message));
        }
    }
    if state.store.actor_exists(&fid).await?.is_some() {
        return Err(ApiError::new(
            ErrorCode::FederationIdTaken,
            format!("{fid} is already registered"),
        ));
    }
    // (checked before the expensive hash; used up atomically with the insert below)
    if let Some(token_hash) = &invite
        && !state.store.invite_usable(token_hash, now()).await?
    {
        return Err(invalid_invite());
    }
    let st = state.clone();
    let password = req.password;
    let hash = state
        .passwords
        .run(move || hash_password(&st.argon2, &password))
        .await?
        .map_err(ApiError::internal)?;
    let payload = match invite {
        Some(_) => without_invite(req.auth_payload),
        None => req.auth_payload,
    }
    .map(|v| v.to_string());
    let created = match &invite {
        None => {
            state
                .store
                .create_actor(&fid, &hash, payload.as_deref(), now())
                .await
        }
        Some(token_hash) => {
            state
                .store
                .create_actor_with_invite(&fid, &hash, payload.as_deref(), now(), token_hash)
                .await
        }
    };
    match created {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                ErrorCode::FederationIdTaken,
                format!("{fid} is already registered"),
            ));
        }
        Err(StoreError::NotFound) if invite.is_some() => return Err(invalid_invite()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(fid = %fid, "registered actor");
    Ok((
        StatusCode::CREATED,
        Json(register::Response { fid, payload: None }),
    ))
}

/// The `auth_payload` field that carries an invite token (`--registration invite`).
pub const INVITE_FIELD: &str = "invite";

fn invalid_invite() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInvite,
        format!(
            "this server registers by invitation only: send a valid invite token as \
             auth_payload.{INVITE_FIELD} (the operator makes them with \
             `p2core-home-server admin invite create`)"
        ),
    )
}

/// Applies the [`RegistrationPolicy`]: 403 when closed; in invite mode the hash of the
/// token in `auth_payload.invite` (403 without one); `None` when open.
fn registration_invite<S>(
    state: &SharedState<S>,
    auth_payload: Option<&serde_json::Value>,
) -> ApiResult<Option<[u8; 32]>> {
    match &state.settings.registration {
        RegistrationPolicy::Open | RegistrationPolicy::Custom(_) => Ok(None),
        RegistrationPolicy::Closed => Err(ApiError::new(
            ErrorCode::RegistrationClosed,
            "this server does not accept registrations; ask its operator for an account",
        )),
        RegistrationPolicy::Invite => {
            let token = auth_payload
                .and_then(|p| p.get(INVITE_FIELD))
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty() && t.len() <= 256)
                .ok_or_else(invalid_invite)?;
            Ok(Some(crate::auth::hash_token(token)))
        }
    }
}

/// The `auth_payload` as stored with an actor registered by invitation: without the token.
fn without_invite(auth_payload: Option<serde_json::Value>) -> Option<serde_json::Value> {
    match auth_payload {
        Some(serde_json::Value::Object(mut m)) => {
            let had_invite = m.remove(INVITE_FIELD).is_some();
            (!(had_invite && m.is_empty())).then_some(serde_json::Value::Object(m))
        }
        other => other,
    }
}

/// A new argon2id PHC string for `password` (blocking: run it through the password gate).
pub fn hash_password(argon2: &Argon2<'_>, password: &str) -> Result<String, String> {
    let salt =
        SaltString::encode_b64(&p2core_types::random::bytes::<16>()).map_err(|e| e.to_string())?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Maps an issuance failure: the server's own expired root is a server-side
/// 503 for the operator, anything else is the CSR's fault.
fn issue_error(e: p2core_certs::CertError) -> ApiError {
    match e {
        p2core_certs::CertError::Expired {
            kind: p2core_certs::CertKind::Root,
            ..
        } => {
            tracing::error!(
                error = %e,
                "cannot issue certificates: this server's root certificate has expired; \
                 stop the server and run `p2core-home-server admin renew-root`"
            );
            ApiError::new(
                ErrorCode::Unavailable,
                "this server's root certificate has expired; the operator must renew it",
            )
        }
        // documented for session_trust: the CSR's session ID itself is invalid
        e @ p2core_certs::CertError::InvalidSessionId { .. } => {
            ApiError::new(ErrorCode::InvalidSessionId, e.to_string())
        }
        other => ApiError::new(ErrorCode::InvalidCsr, other.to_string()),
    }
}

/// A PHC string for a password nobody has, so that unknown usernames cost the
/// same argon2 work as known ones (no username oracle through timing).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2nLtQjV0pd/w3cz4QI0yPp3w3xgC2bWkl2wzmi5GcTE";

async fn check_credentials<S: Store>(
    state: &SharedState<S>,
    username: &str,
    password: &str,
) -> ApiResult<(i64, FederationId)> {
    let fid = local_fid(state, username)
        .map_err(|_| ApiError::unauthorized("unknown username or wrong password"))?;
    check_password(password)?;
    let actor = state.store.actor_by_local_name(fid.local_name()).await?;
    let stored = actor
        .as_ref()
        .map_or(DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
    let st = state.clone();
    let password = password.to_owned();
    let ok = state
        .passwords
        .run(move || {
            PasswordHash::new(&stored)
                .map(|h| st.argon2.verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await?;
    match actor {
        Some(a) if ok => Ok((a.id, a.fid)),
        _ => Err(ApiError::unauthorized("unknown username or wrong password")),
    }
}

/// Issues an ID-Cert for `csr` (checked against `fid` and this server) and
/// stores it through `persist`, holding the key lock so a concurrent server
/// key rotation cannot slip between signing and storing.
async fn issue_and_store<S, F, Fut>(
    state: &SharedState<S>,
    csr: &IdCsr,
    fid: &FederationId,
    persist: F,
) -> ApiResult<(String, String)>
where
    S: Store,
    F: Fn(NewIdCert, [u8; 32]) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    // A second attempt only when the root was rotated (at another instance)
    // between loading the keys and storing: the store refuses a certificate
    // of a root that is no longer current, and the keys are reloaded.
    for attempt in 0..2 {
        let keys = crate::keys::current(state)
            .await
            .map_err(ApiError::internal)?;
        let now = now();
        let serial = p2core_certs::fresh_serial();
        let cert = keys
            .issuer
            .issue(
                csr,
                fid,
                now,
                Some(days(state.settings.certs.actor_cert_days)),
                serial,
            )
            .map_err(issue_error)?;
        let session_id = cert
            .session_id()
            .cloned()
            .ok_or_else(|| ApiError::internal("issued certificate without a session ID"))?;
        let pem = cert.to_pem();
        let (token, hash) = new_token();
        let record = NewIdCert {
            serial: i64::try_from(serial).map_err(ApiError::internal)?,
            session_id,
            cert_pem: pem.clone(),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            root_serial: keys.serial,
        };
        return match persist(record, hash).await {
            Ok(()) => Ok((pem, token)),
            Err(StoreError::Conflict(m)) if m == crate::storage::ROOT_NOT_CURRENT => {
                drop(keys);
                state
                    .keys_stale
                    .store(true, std::sync::atomic::Ordering::Release);
                if attempt == 0 {
                    continue;
                }
                Err(ApiError::new(
                    ErrorCode::Unavailable,
                    "the server's root certificate changed twice while this request was served; send it again",
                ))
            }
            Err(StoreError::Conflict(_)) => Err(ApiError::new(
                ErrorCode::SessionIdTaken,
                "this session ID is used by a valid ID-Cert of this actor; choose another",
            )),
            Err(StoreError::NotFound) => Err(ApiError::unauthorized("the session ended meanwhile")),
            // The store's exact check (a concurrent trust took the last slot).
            Err(StoreError::LimitReached(_)) => Err(super::too_many_sessions(
                state.settings.limits.max_sessions_per_actor,
            )),
            Err(e) => Err(e.into()),
        };
    }
    Err(ApiError::internal("unreachable: issue_and_store loop"))
}

/// Shared by `POST /session/trust` and its legacy alias: returns (PEM, token).
pub async fn trust_inner<S: Store>(
    state: &SharedState<S>,
    username: &str,
    password: &str,
    csr_pem: &str,
) -> ApiResult<(String, String)> {
    let (actor_id, fid) = check_credentials(state, username, password).await?;
    super::check_session_limit(state, actor_id).await?;
    let csr = parse_csr(csr_pem)?;
    let out = issue_and_store(state, &csr, &fid, |cert, hash| {
        let event = PendingEvent::new(&NewSession {
            cert: cert.cert_pem.clone(),
        });
        let store = &state.store;
        async move {
            let event = event.map_err(|e| StoreError::Corrupt(e.to_string()))?;
            store
                .create_session(
                    actor_id,
                    &cert,
                    &hash,
                    now(),
                    &event,
                    state.settings.limits.max_sessions_per_actor,
                )
                .await
        }
    })
    .await?;
    tracing::info!(fid = %fid, "trusted a new session");
    Ok(out)
}

/// `POST /session/trust`: password + CSR → ID-Cert and session token.
pub async fn session_trust<S: Store>(
    State(state): State<SharedState<S>>,
    JsonBody(req): JsonBody<session_trust::Request>,
) -> ApiResult<(StatusCode, Json<session_trust::Response>)> {
    super::check_auth_payload(&state, req.auth_payload.as_ref())?;
    let (id_cert, token) = trust_inner(&state, &req.username, &req.password, &req.csr).await?;
    Ok((
        StatusCode::CREATED,
        Json(session_trust::Response { id_cert, token }),
    ))
}

/// Builds the op-4 event for an invalidated certificate, signed by the server key.
fn invalidation_event(key: &ed25519_dalek::SigningKey, serial: i64) -> Option<PendingEvent> {
    let serial = u64::try_from(serial).ok()?;
    let now = UnixTimestamp::now();
    let msg = ActorCertificateInvalidation::signed_message(serial, now);
    PendingEvent::new(&ActorCertificateInvalidation {
        serial,
        invalid_since: now,
        signature: hex::encode(key.sign(&msg).to_bytes()),
    })
    .ok()
}

/// Shared by `POST /session/idcert` and its legacy alias: returns (PEM, token).
pub async fn rotate_inner<S: Store>(
    state: &SharedState<S>,
    session: LocalSession,
    csr_pem: &str,
) -> ApiResult<(String, String)> {
    state
        .rate_limits
        .sessions
        .write_local_shared(&state.store, &session)
        .await?;
    let csr = parse_csr(csr_pem)?;
    if csr.session_id() != Some(&session.session_id) {
        return Err(ApiError::new(
            ErrorCode::InvalidCsr,
            format!(
                "the CSR's session ID must be the session of the token ({})",
                session.session_id
            ),
        ));
    }
    let event = {
        let keys = crate::keys::current(state)
            .await
            .map_err(ApiError::internal)?;
        invalidation_event(&keys.signing_key, session.cert_serial)
            .ok_or_else(|| ApiError::internal("could not build the invalidation event"))?
    };
    let fid = session.fid.clone();
    let out = issue_and_store(state, &csr, &fid, |cert, hash| {
        let store = &state.store;
        let session = &session;
        let event = &event;
        async move {
            store
                .rotate_session(session, &cert, &hash, now(), event)
                .await
        }
    })
    .await?;
    tracing::info!(fid = %fid, "rotated a session's ID-Cert");
    Ok(out)
}

/// `POST /session/idcert`: a new ID-Cert (and token) for the caller's session.
pub async fn rotate_session_idcert<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    JsonBody(req): JsonBody<rotate_session_idcert::Request>,
) -> ApiResult<(StatusCode, Json<rotate_session_idcert::Response>)> {
    let session = auth.local()?;
    let (id_cert, token) = rotate_inner(&state, session, &req.csr).await?;
    Ok((
        StatusCode::CREATED,
        Json(rotate_session_idcert::Response { id_cert, token }),
    ))
}

/// Body or query of `DELETE /session` (the session ID is optional in the
/// query form only so the two can be merged; it is required in the end).
#[derive(Debug, Default, Deserialize)]
pub struct DeleteSessionParams {
    session_id: Option<SessionId>,
}

/// `DELETE /session`: ends one of the caller's actor's sessions.
pub async fn delete_session<S: Store>(
    State(state): State<SharedState<S>>,
    auth: Auth,
    QueryOrBody(params): QueryOrBody<DeleteSessionParams>,
) -> ApiResult<StatusCode> {
    let target = params.session_id.ok_or_else(|| {
        ApiError::bad_request("missing session_id (JSON body or query parameter)")
    })?;
    state
        .rate_limits
        .sessions
        .write_shared(&state.store, &auth.0)
        .await?;
    match auth.0 {
        Caller::Local(me) => {
            let key = crate::keys::current(&state)
                .await
                .map_err(ApiError::internal)?
                .signing_key
                .clone();
            let make = move |serial: i64| invalidation_event(&key, serial);
            let ended = state
                .store
                .end_session(me.actor_id, &target, now(), &make)
                .await?;
            if !ended {
                return Err(ApiError::not_found(format!(
                    "{} has no live session {target}",
                    me.fid
                )));
            }
            tracing::info!(fid = %me.fid, "ended a session");
            Ok(StatusCode::NO_CONTENT)
        }
        Caller::Foreign(me) => {
            if me.session_id != target {
                return Err(ApiError::not_found(format!(
                    "{} has no session {target} here",
                    me.fid
                )));
            }
            state.store.end_foreign_session(me.id, now()).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}
