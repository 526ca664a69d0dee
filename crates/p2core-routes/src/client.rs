//! A typed async HTTP client over every route (feature `client`).
//!
//! One method per route, taking and returning the endpoint modules' types:
//!
//! ```no_run
//! # async fn demo() -> Result<(), p2core_routes::client::ClientError> {
//! use p2core_routes::{client::Client, register};
//!
//! // A base URL as text or as a `url::Url` (re-exported as `p2core_routes::client::Url`).
//! let mut client = Client::new("http://127.0.0.1:3000")?;
//! let created = client.register(&register::Request::new("alice", "s3cr3t")).await?;
//! println!("registered {}", created.fid);
//! let challenge = client.challenge().await?;
//! # let _ = challenge;
//! client.set_token("token from session_trust");
//! let events = client.events().await?;
//! # let _ = events;
//! # Ok(()) }
//! ```
//!
//! A hostile or compromised server cannot send the client elsewhere or exhaust its memory:
//! redirects are not followed (a 3xx is [`ClientError::UnexpectedStatus`]) unless
//! [`ClientBuilder::max_redirects`] allows a few, and every response body is read with a cap
//! ([`DEFAULT_MAX_RESPONSE_BYTES`], see [`ClientBuilder::max_response_bytes`]) that is enforced
//! while the body streams in, whatever its `Content-Length` says
//! ([`ClientError::ResponseTooLarge`]).
//!
//! TLS is rustls with the `ring` provider and the platform's root certificates
//! (`rustls-platform-verifier`); the provider is passed to reqwest explicitly, so no
//! process-wide default provider is installed.
//!
//! [`reqwest`] and [`url`] are re-exported, since [`Client::with_http_client`],
//! [`Client::http`], [`Client::send_raw`] and [`ClientError::Transport`] use reqwest types and
//! base URLs are [`Url`]s.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use p2core_types::{ErrorBody, ErrorCode, FederationId, SessionId, UnixTimestamp, events::Event};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use reqwest;
pub use url::{self, Url};

use crate::query::TimestampQuery;
use crate::{
    BodyKind, RouteInfo, actor_idcerts, challenge, delete_session, events, get_key_packages,
    register, replace_last_resort_key_package, rotate_server_key, rotate_session_idcert,
    server_idcert, server_public_key, session_identify, session_trust, update_extern_idcert,
    upload_key_packages,
};

/// The timeout [`Client::new`] sets for a whole request (body included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body [`Client::new`] reads: 4 MiB. Longer bodies end the request
/// with [`ClientError::ResponseTooLarge`]. Change it with
/// [`ClientBuilder::max_response_bytes`] or [`Client::with_max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Longest part of a non-JSON error body kept in a synthesized [`ErrorBody::message`].
const MAX_SYNTHESIZED_MESSAGE: usize = 512;

/// What can go wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered 4xx/5xx. `body` is the server's `{errcode, error, message}`, or
    /// one synthesized from the status (and the start of the body text as `message`) when
    /// the body was not that JSON.
    #[error("server answered {status}: {body}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error body.
        body: ErrorBody,
    },
    /// The request could not be sent or the response not received (connection refused,
    /// timeout, TLS failure, …).
    #[error("HTTP transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success response whose body is not what the route defines.
    #[error("could not decode the {status} response: {message}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// A status that is neither the route's success status nor an error (e.g. 200 where
    /// 201 was expected, or a 3xx).
    #[error("unexpected status {status} (expected {expected})")]
    UnexpectedStatus {
        /// The HTTP status received.
        status: u16,
        /// The route's success status.
        expected: u16,
    },
    /// The request body could not be serialized.
    #[error("could not encode the request: {0}")]
    Encode(String),
    /// [`Client::new`] or [`Client::with_http_client`] was given an unusable base URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The TLS configuration could not be built (e.g. no root certificates on the system
    /// for an `https` base URL).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The response body (or its announced `Content-Length`) exceeded the client's cap
    /// ([`ClientBuilder::max_response_bytes`]); reading stopped there and the connection
    /// was dropped.
    #[error("the {status} response body is larger than the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The HTTP status of the response.
        status: u16,
        /// The cap, in bytes.
        limit: usize,
    },
}

impl ClientError {
    /// The HTTP status, for [`Api`](Self::Api), [`Decode`](Self::Decode),
    /// [`UnexpectedStatus`](Self::UnexpectedStatus) and
    /// [`ResponseTooLarge`](Self::ResponseTooLarge) errors (and transport errors that have one).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::Decode { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::ResponseTooLarge { status, .. } => Some(*status),
            Self::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The error code of an [`Api`](Self::Api) error.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        self.error_body().map(|b| &b.error)
    }

    /// The error body of an [`Api`](Self::Api) error.
    pub fn error_body(&self) -> Option<&ErrorBody> {
        match self {
            Self::Api { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// The error code a status stands for when the server sent no p2core error body.
pub fn error_code_for_status(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        410 => ErrorCode::Gone,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        502 => ErrorCode::UpstreamFailed,
        503 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        other => ErrorCode::Other(format!("HTTP_{other}")),
    }
}

/// A request body, already encoded.
enum Body {
    None,
    Json(Vec<u8>),
    Pem(String),
}

impl Body {
    fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ClientError> {
        serde_json::to_vec(value)
            .map(Self::Json)
            .map_err(|e| ClientError::Encode(e.to_string()))
    }
}

/// A base URL for [`Client::new`]: a [`Url`] (owned or borrowed), or text that is parsed as
/// one (`&str`, `String`, `&String`).
///
/// The URL must be `http` or `https`, have a host and no query or fragment; a path (e.g.
/// `https://host/api`) is kept, and route paths are appended to it. This trait is sealed.
pub trait IntoBaseUrl: sealed::Sealed {
    /// Converts `self` into a checked base URL.
    #[doc(hidden)]
    fn into_base_url(self) -> Result<Url, ClientError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Url {}
    impl Sealed for &super::Url {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
}

impl IntoBaseUrl for Url {
    fn into_base_url(self) -> Result<Url, ClientError> {
        check_base_url(self)
    }
}

impl IntoBaseUrl for &Url {
    fn into_base_url(self) -> Result<Url, ClientError> {
        check_base_url(self.clone())
    }
}

impl IntoBaseUrl for &str {
    fn into_base_url(self) -> Result<Url, ClientError> {
        parse_base_url(self)
    }
}

impl IntoBaseUrl for String {
    fn into_base_url(self) -> Result<Url, ClientError> {
        parse_base_url(&self)
    }
}

impl IntoBaseUrl for &String {
    fn into_base_url(self) -> Result<Url, ClientError> {
        parse_base_url(self)
    }
}

/// A typed polyproto-core client for one server.
///
/// Cloning is cheap (the connection pool is shared). `Debug` prints neither the token nor
/// a password in the base URL.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The checked base URL (a non-root path without its trailing `/`).
    base: Url,
    /// `base` as text without a trailing `/`: route paths are appended to it.
    base_url: String,
    token: Option<String>,
    /// The largest response body read.
    max_response_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut base = self.base.clone();
        if base.password().is_some() {
            // `set_password` only fails for URLs that cannot have one, and this one has one.
            let _ = base.set_password(Some("redacted"));
        }
        f.debug_struct("Client")
            .field("base_url", &base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Settings for a [`Client`]: the timeout, the response size cap and the redirect policy.
/// Made by [`Client::builder`].
///
/// ```no_run
/// # fn demo() -> Result<(), p2core_routes::client::ClientError> {
/// use std::time::Duration;
/// use p2core_routes::client::Client;
///
/// let client = Client::builder()
///     .timeout(Duration::from_secs(10))
///     .max_response_bytes(256 * 1024)
///     .build("https://h.example")?;
/// # let _ = client;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    timeout: Duration,
    max_response_bytes: usize,
    max_redirects: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: 0,
        }
    }
}

impl ClientBuilder {
    /// The timeout for a whole request, from connecting until the last byte of the body
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`]);
    /// error responses are capped as well. A longer body, or a `Content-Length` above it,
    /// ends the request with [`ClientError::ResponseTooLarge`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How many redirects a request follows (default 0: a 3xx answer is returned as
    /// [`ClientError::UnexpectedStatus`] and its `Location` is not visited). A redirect may
    /// point anywhere, another host or port included, so only enable this for servers
    /// you trust to redirect sensibly.
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Builds the client for the server at `base_url` (see [`Client::new`]).
    pub fn build(self, base_url: impl IntoBaseUrl) -> Result<Client, ClientError> {
        let base = base_url.into_base_url()?;
        let tls = tls_config(base.scheme() == "https")?;
        let redirect = if self.max_redirects == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::limited(self.max_redirects)
        };
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .redirect(redirect)
            .build()?;
        Ok(Client::from_parts(http, base).with_max_response_bytes(self.max_response_bytes))
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `"http://127.0.0.1:3000"` or a [`Url`];
    /// a path prefix such as `https://host/api` is kept and route paths are appended to
    /// it), with [`DEFAULT_TIMEOUT`], responses capped at [`DEFAULT_MAX_RESPONSE_BYTES`],
    /// no redirects followed and no token. [`Client::builder`] changes these.
    pub fn new(base_url: impl IntoBaseUrl) -> Result<Self, ClientError> {
        Self::builder().build(base_url)
    }

    /// Settings for a client other than [`Client::new`]'s defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client using a `reqwest::Client` configured by the caller, whose redirect policy
    /// and timeouts apply ([`http_client_builder`] starts with redirects off). Response
    /// bodies are capped at [`DEFAULT_MAX_RESPONSE_BYTES`]
    /// ([`with_max_response_bytes`](Self::with_max_response_bytes) changes it).
    pub fn with_http_client(
        base_url: impl IntoBaseUrl,
        http: reqwest::Client,
    ) -> Result<Self, ClientError> {
        Ok(Self::from_parts(http, base_url.into_base_url()?))
    }

    fn from_parts(http: reqwest::Client, base: Url) -> Self {
        Self {
            http,
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            base,
            token: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// This client with another response size cap, in bytes (see
    /// [`ClientBuilder::max_response_bytes`]).
    #[must_use]
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The largest response body this client reads, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// This client with a session token, sent as `Authorization: Bearer <token>` on
    /// routes that need authentication.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets the session token.
    pub fn set_token(&mut self, token: impl Into<String>) {
        self.token = Some(token.into());
    }

    /// Forgets the session token.
    pub fn clear_token(&mut self) {
        self.token = None;
    }

    /// The session token, if one is set.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The underlying reqwest client, for requests outside the typed API.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The base URL. Route paths are appended to its path (see [`url`](Self::url)).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The full URL for `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url, path_and_query)
    }

    /// Sends an arbitrary request (e.g. a malformed one, in tests) and returns the raw
    /// response. The token, if set, is sent; `content_type` is set when given. The body
    /// is not read, so the size cap does not apply: read it with [`read_body`].
    pub async fn send_raw(
        &self,
        method: Method,
        path_and_query: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Result<reqwest::Response, ClientError> {
        let mut req = self.http.request(method, self.url(path_and_query));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        Ok(req.body(body.into()).send().await?)
    }

    // ----- routes -----

    /// `POST /register`: create an identity.
    pub async fn register(
        &self,
        request: &register::Request,
    ) -> Result<register::Response, ClientError> {
        let (status, bytes) = self
            .call(&register::INFO, register::INFO.path, Body::json(request)?)
            .await?;
        decode_json(status, &bytes)
    }

    /// `POST /session/trust`: log in with a CSR for a new session; returns its ID-Cert and
    /// token. The token is not stored in the client; call [`set_token`](Self::set_token).
    pub async fn session_trust(
        &self,
        request: &session_trust::Request,
    ) -> Result<session_trust::Response, ClientError> {
        let info = &session_trust::INFO;
        let (status, bytes) = self.call(info, info.path, Body::json(request)?).await?;
        decode_json(status, &bytes)
    }

    /// `POST /session/idcert`: rotate the current session's key with a new CSR (PEM).
    /// The returned token replaces the old one, which stops working; the client keeps
    /// the old token until [`set_token`](Self::set_token) is called.
    pub async fn rotate_session_idcert(
        &self,
        request: &rotate_session_idcert::Request,
    ) -> Result<rotate_session_idcert::Response, ClientError> {
        let info = &rotate_session_idcert::INFO;
        let (status, bytes) = self.call(info, info.path, Body::json(request)?).await?;
        decode_json(status, &bytes)
    }

    /// `POST /keypackage/@me`: upload KeyPackages (standard Base64 of their TLS encoding).
    pub async fn upload_key_packages(&self, key_packages: &[String]) -> Result<(), ClientError> {
        let info = &upload_key_packages::INFO;
        self.call(info, info.path, Body::json(key_packages)?)
            .await
            .map(drop)
    }

    /// `PUT /keypackage_lr`: replace the last-resort KeyPackage (standard Base64).
    pub async fn replace_last_resort_key_package(
        &self,
        key_package: &str,
    ) -> Result<(), ClientError> {
        let info = &replace_last_resort_key_package::INFO;
        self.call(info, info.path, Body::json(key_package)?)
            .await
            .map(drop)
    }

    /// `GET /challenge`: a fresh challenge string.
    pub async fn challenge(&self) -> Result<challenge::Response, ClientError> {
        let info = &challenge::INFO;
        let (status, bytes) = self.call(info, info.path, Body::None).await?;
        decode_json(status, &bytes)
    }

    /// `PUT /key/server` (administrators): rotate the server key; returns the new root
    /// ID-Cert as PEM.
    pub async fn rotate_server_key(&self) -> Result<String, ClientError> {
        let info = &rotate_server_key::INFO;
        let (status, bytes) = self.call(info, info.path, Body::None).await?;
        decode_text(status, bytes)
    }

    /// `GET /idcert/server`: the server's ID-Cert (PEM), now or at `timestamp`.
    pub async fn server_idcert(
        &self,
        timestamp: Option<UnixTimestamp>,
    ) -> Result<String, ClientError> {
        let path = server_idcert::path_and_query(&TimestampQuery { timestamp });
        let (status, bytes) = self.call(&server_idcert::INFO, &path, Body::None).await?;
        decode_text(status, bytes)
    }

    /// `GET /key/server`: the server's public key (PEM `SubjectPublicKeyInfo`), now or at
    /// `timestamp`.
    pub async fn server_public_key(
        &self,
        timestamp: Option<UnixTimestamp>,
    ) -> Result<String, ClientError> {
        let path = server_public_key::path_and_query(&TimestampQuery { timestamp });
        let (status, bytes) = self
            .call(&server_public_key::INFO, &path, Body::None)
            .await?;
        decode_text(status, bytes)
    }

    /// `GET /idcert/actor/{fid}`: an actor's ID-Certs with their `invalidated` flags.
    pub async fn actor_idcerts(
        &self,
        fid: &FederationId,
        timestamp: Option<UnixTimestamp>,
        session_id: Option<&SessionId>,
    ) -> Result<actor_idcerts::Response, ClientError> {
        let query = actor_idcerts::Query {
            timestamp,
            session_id: session_id.cloned(),
        };
        let path = actor_idcerts::path_and_query(fid, &query);
        let (status, bytes) = self.call(&actor_idcerts::INFO, &path, Body::None).await?;
        decode_json(status, &bytes)
    }

    /// `PUT /session/idcert/extern`: announce the current session's new ID-Cert (PEM).
    pub async fn update_extern_idcert(&self, id_cert_pem: &str) -> Result<(), ClientError> {
        let info = &update_extern_idcert::INFO;
        self.call(info, info.path, Body::Pem(id_cert_pem.to_owned()))
            .await
            .map(drop)
    }

    /// `DELETE /session`: invalidate one of the own actor's sessions (sent as JSON body).
    pub async fn delete_session(&self, session_id: &SessionId) -> Result<(), ClientError> {
        let info = &delete_session::INFO;
        let body = Body::json(&delete_session::Request {
            session_id: session_id.clone(),
        })?;
        self.call(info, info.path, body).await.map(drop)
    }

    /// `GET /keypackage/{fid}`: claim KeyPackages (standard Base64) of an actor.
    pub async fn get_key_packages(&self, fid: &FederationId) -> Result<Vec<String>, ClientError> {
        let path = get_key_packages::path(fid);
        let (status, bytes) = self
            .call(&get_key_packages::INFO, &path, Body::None)
            .await?;
        decode_json::<get_key_packages::Response>(status, &bytes).map(|r| r.0)
    }

    /// `GET /events`: events missed by the current session; empty on `204`.
    pub async fn events(&self) -> Result<Vec<Event>, ClientError> {
        let info = &events::INFO;
        let (status, bytes) = self.call(info, info.path, Body::None).await?;
        if status == 204 {
            return Ok(Vec::new());
        }
        decode_json::<events::Response>(status, &bytes).map(|r| r.0)
    }

    /// `GET /events?ack=<s>`: removes the caller's events up to `s` (the `s` of the last
    /// event processed; `0` the first time) and returns the rest, which stay queued until
    /// a later acknowledgement — at-least-once delivery. Empty on `204`.
    pub async fn events_after(&self, ack: u64) -> Result<Vec<Event>, ClientError> {
        let info = &events::INFO;
        let path = format!(
            "{}{}",
            info.path,
            events::Query { ack: Some(ack) }.to_query_string()
        );
        let (status, bytes) = self.call(info, &path, Body::None).await?;
        if status == 204 {
            return Ok(Vec::new());
        }
        decode_json::<events::Response>(status, &bytes).map(|r| r.0)
    }

    /// `GET /challenge` + `POST /session/identify`: proves to *this* server that the caller
    /// holds the key of the ID-Cert `id_cert_pem` and gets a session token here.
    ///
    /// The challenge is fetched from this client's own base URL and signed with `key`
    /// right here; the client offers no way to sign a challenge obtained elsewhere, so a
    /// malicious server cannot get a signature over another server's challenge through
    /// it (challenge relay, see `docs/protocol-choices.md`).
    pub async fn identify(
        &self,
        key: &p2core_types::ed25519_dalek::SigningKey,
        id_cert_pem: &str,
        auth_payload: Option<serde_json::Value>,
    ) -> Result<session_identify::Response, ClientError> {
        let challenge = self.challenge().await?;
        let request = session_identify::Request {
            completed_challenge: p2core_types::CompletedChallenge {
                challenge: challenge.challenge().to_owned(),
                signature: challenge.solve(key),
            },
            id_cert: id_cert_pem.to_owned(),
            auth_payload,
        };
        let info = &session_identify::INFO;
        let (status, bytes) = self.call(info, info.path, Body::json(&request)?).await?;
        decode_json(status, &bytes)
    }

    /// Sends one request for `info` and checks the status.
    async fn call(
        &self,
        info: &RouteInfo,
        path_and_query: &str,
        body: Body,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut req = self
            .http
            .request(info.method.clone(), self.url(path_and_query));
        if info.auth.needs_token()
            && let Some(token) = &self.token
        {
            req = req.bearer_auth(token);
        }
        req = match body {
            Body::None => req,
            Body::Json(bytes) => req
                .header(
                    http::header::CONTENT_TYPE,
                    BodyKind::Json.content_type().unwrap_or_default(),
                )
                .body(bytes),
            Body::Pem(text) => req
                .header(
                    http::header::CONTENT_TYPE,
                    BodyKind::PemText.content_type().unwrap_or_default(),
                )
                .body(text),
        };
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = read_body(resp, self.max_response_bytes).await?;
        if status == info.success_status || Some(status) == info.alt_success_status {
            Ok((status, bytes))
        } else if status >= 400 {
            Err(ClientError::Api {
                status,
                body: error_body(status, &bytes),
            })
        } else {
            Err(ClientError::UnexpectedStatus {
                status,
                expected: info.success_status,
            })
        }
    }
}

/// Reads `response`'s body, at most `limit` bytes: a `Content-Length` above the limit is
/// refused before reading, and the body is counted chunk by chunk as it arrives (a missing
/// or lying `Content-Length`, or a chunked body, changes nothing). Past the limit the
/// response is dropped, which closes its connection, and
/// [`ClientError::ResponseTooLarge`] is returned.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let status = response.status().as_u16();
    let too_large = || ClientError::ResponseTooLarge { status, limit };
    if response
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > limit))
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The server's error body, or one synthesized from the status.
fn error_body(status: u16, bytes: &[u8]) -> ErrorBody {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) {
        return body;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut message: String = text.trim().chars().take(MAX_SYNTHESIZED_MESSAGE).collect();
    if message.is_empty() {
        message = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_owned();
    }
    ErrorBody {
        errcode: status,
        error: error_code_for_status(status),
        message,
    }
}

fn decode_json<T: DeserializeOwned>(status: u16, bytes: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(bytes).map_err(|e| ClientError::Decode {
        status,
        message: e.to_string(),
    })
}

fn decode_text(status: u16, bytes: Vec<u8>) -> Result<String, ClientError> {
    String::from_utf8(bytes).map_err(|_| ClientError::Decode {
        status,
        message: "body is not UTF-8 text".to_owned(),
    })
}

fn parse_base_url(base_url: &str) -> Result<Url, ClientError> {
    let url = Url::parse(base_url).map_err(|e| ClientError::InvalidBaseUrl {
        url: base_url.to_owned(),
        reason: e.to_string(),
    })?;
    check_base_url(url)
}

/// Checks that `url` can be a base URL and removes a trailing `/` from a non-root path.
fn check_base_url(mut url: Url) -> Result<Url, ClientError> {
    let invalid = |url: &Url, reason: &str| ClientError::InvalidBaseUrl {
        url: url.to_string(),
        reason: reason.to_owned(),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&url, "the scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(&url, "a base URL has no query or fragment"));
    }
    if url.host_str().is_none() {
        return Err(invalid(&url, "no host"));
    }
    let path = url.path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/').to_owned();
        url.set_path(if trimmed.is_empty() { "/" } else { &trimmed });
    }
    Ok(url)
}

/// A `reqwest::ClientBuilder` with this crate's TLS setup (rustls, `ring`, the platform's
/// roots) and redirects off, for callers that set their own policies (redirects, timeouts,
/// DNS). On a system without root certificates every TLS handshake fails; plain `http`
/// still works.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, ClientError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(false)?)
        .redirect(reqwest::redirect::Policy::none()))
}

/// rustls with `ring` and the platform's roots. Without any system roots this fails for
/// `https` base URLs; for plain-`http` ones a verifier that rejects every certificate is
/// used instead, since TLS is never negotiated with that server anyway.
fn tls_config(https: bool) -> Result<rustls::ClientConfig, ClientError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    match builder.clone().with_platform_verifier() {
        Ok(b) => Ok(b.with_no_client_auth()),
        Err(e) if https => Err(ClientError::Tls(e.to_string())),
        Err(_) => Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RejectAll(provider)))
            .with_no_client_auth()),
    }
}

/// Rejects every server certificate (used only when there are no system roots).
#[derive(Debug)]
struct RejectAll(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for RejectAll {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(
            "no root certificates are installed on this system".to_owned(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let prefix = |u: &str| Client::new(u).unwrap().url("/x");
        assert_eq!(prefix("http://127.0.0.1:3000"), "http://127.0.0.1:3000/x");
        assert_eq!(prefix("http://127.0.0.1:3000/"), "http://127.0.0.1:3000/x");
        assert_eq!(prefix("https://h.example/api/"), "https://h.example/api/x");
        assert_eq!(prefix("https://h.example/api//"), "https://h.example/api/x");
        assert_eq!(
            parse_base_url("https://h.example/api/").unwrap().as_str(),
            "https://h.example/api"
        );
        // A `Url`, owned or borrowed, and `String`s are accepted as well.
        let url = Url::parse("http://h.example:8080/p/").unwrap();
        let client = Client::new(&url).unwrap();
        assert_eq!(client.base_url().as_str(), "http://h.example:8080/p");
        assert_eq!(
            Client::new(url).unwrap().url("/y"),
            "http://h.example:8080/p/y"
        );
        let text = String::from("http://h.example");
        assert_eq!(
            Client::new(&text).unwrap().base_url().as_str(),
            "http://h.example/"
        );
        assert!(Client::new(text).is_ok());
        let ftp = Url::parse("ftp://h.example/").unwrap();
        assert!(matches!(
            Client::new(ftp),
            Err(ClientError::InvalidBaseUrl { .. })
        ));
        for bad in [
            "",
            "127.0.0.1:3000",
            "ftp://x",
            "http://x/?a=b",
            "http://x/#f",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(ClientError::InvalidBaseUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let client = Client::new("http://user:hunter2@h.example/api")
            .unwrap()
            .with_token("tok3n-s3cret");
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("tok3n"), "{dbg}");
        assert!(
            dbg.contains("h.example/api") && dbg.contains("<redacted>"),
            "{dbg}"
        );
    }

    #[test]
    fn synthesized_bodies() {
        let b = error_body(404, b"");
        assert_eq!(
            (b.errcode, &b.error, b.message.as_str()),
            (404, &ErrorCode::NotFound, "Not Found")
        );
        let b = error_body(502, b"<html>bad gateway</html>");
        assert_eq!(b.error, ErrorCode::UpstreamFailed);
        assert_eq!(b.message, "<html>bad gateway</html>");
        let b = error_body(
            409,
            br#"{"errcode": 409, "error": "P2CORE_FEDERATION_ID_TAKEN"}"#,
        );
        assert_eq!(b.error, ErrorCode::FederationIdTaken);
        assert_eq!(
            error_code_for_status(418),
            ErrorCode::Other("HTTP_418".into())
        );
        let long = vec![b'x'; 10_000];
        assert_eq!(
            error_body(500, &long).message.len(),
            MAX_SYNTHESIZED_MESSAGE
        );
    }

    #[test]
    fn tls_configs_build() {
        tls_config(false).unwrap();
        Client::new("http://127.0.0.1:1").unwrap();
    }
}
