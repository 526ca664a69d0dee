//! Session tokens: generation, hashing and the bearer-token extractor.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p2core_types::{ErrorCode, UnixTimestamp};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::SharedState;
use crate::storage::{Caller, LocalSession, Store};

/// A new session token (32 random bytes, base64url without padding) and the
/// SHA-256 hash that is all the database stores.
pub fn new_token() -> (String, [u8; 32]) {
    let token = URL_SAFE_NO_PAD.encode(p2core_types::random::bytes::<32>());
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256 of a token's text.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated caller of a route that needs a session token.
pub struct Auth(pub Caller);

impl Auth {
    /// The caller's local session, or 403 if it is a foreign actor's session.
    pub fn local(self) -> Result<LocalSession, ApiError> {
        match self.0 {
            Caller::Local(s) => Ok(s),
            Caller::Foreign(_) => Err(ApiError::new(
                ErrorCode::Forbidden,
                "this route is only for actors registered on this server",
            )),
        }
    }
}

impl<S: Store> FromRequestParts<SharedState<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState<S>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("this route needs an Authorization: Bearer <token> header")
        })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthorized(
                    "the Authorization header must be 'Bearer <token>'",
                ));
            }
        };
        if token.is_empty() || token.len() > 256 {
            return Err(ApiError::unauthorized("invalid session token"));
        }
        let caller = state
            .store
            .caller_by_token(&hash_token(token), UnixTimestamp::now())
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("the session token is unknown, revoked or expired")
            })?;
        Ok(Auth(caller))
    }
}
