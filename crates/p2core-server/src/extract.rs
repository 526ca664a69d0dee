//! Request extractors whose every rejection is the JSON error body.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use p2core_types::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::serve::BodyDeadline;

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let deadline = req.extensions().get::<BodyDeadline>().copied();
    let read = Bytes::from_request(req, state);
    let res = match deadline {
        Some(BodyDeadline(at)) => tokio::time::timeout_at(at, read).await.map_err(|_| {
            ApiError::new(
                ErrorCode::RequestTimeout,
                "the request body did not arrive in time",
            )
        })?,
        None => read.await,
    };
    res.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
        } else {
            ApiError::bad_request(format!("could not read the request body: {rej}"))
        }
    })
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

fn is_json(mt: &str) -> bool {
    mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON body (`Content-Type: application/json` required).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match media_type(req.headers()) {
            Some(mt) if is_json(&mt) => {}
            Some(mt) => {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    format!("expected application/json, got {mt}"),
                ));
            }
            None => {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "expected a Content-Type: application/json body",
                ));
            }
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A PEM document as a body: `text/plain` (or `application/x-pem-file`) with
/// the PEM text, or `application/json` with the PEM as a JSON string.
pub struct PemBody(pub String);

impl<S: Send + Sync> FromRequest<S> for PemBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mt = media_type(req.headers()).unwrap_or_else(|| "text/plain".into());
        let bytes = read_body(req, state).await?;
        if is_json(&mt) {
            return parse_json::<String>(&bytes).map(PemBody);
        }
        if !matches!(
            mt.as_str(),
            "text/plain" | "application/x-pem-file" | "application/pem-certificate-chain"
        ) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("expected text/plain PEM or a JSON string, got {mt}"),
            ));
        }
        String::from_utf8(bytes.to_vec())
            .map(PemBody)
            .map_err(|_| ApiError::bad_request("the PEM body is not UTF-8"))
    }
}

/// Optional parameters of a GET route: taken from the query string, or, for
/// compatibility with the seed pages (which put them in a JSON body of a GET),
/// from a JSON body when the query string is empty.
pub struct QueryOrBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for QueryOrBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(q) = req.uri().query().filter(|q| !q.is_empty()) {
            return serde_urlencoded::from_str(q)
                .map(QueryOrBody)
                .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")));
        }
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(QueryOrBody(T::default()));
        }
        parse_json(&bytes).map(QueryOrBody)
    }
}

/// A single path parameter, with a JSON error on failure.
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request(format!("invalid path parameter: {e}")))
    }
}
