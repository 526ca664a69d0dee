//! `GET /.p2/core/v1/idcert/actor/{fid}` — an actor's ID-Certs and whether each was
//! invalidated (seed 004 "Actor ID-Cert(s)").
//!
//! ```
//! use p2core_routes::actor_idcerts::{self, Query, Response};
//! use p2core_types::{FederationId, SessionId, UnixTimestamp};
//!
//! let fid: FederationId = "alice@example.com".parse().unwrap();
//! assert_eq!(actor_idcerts::path(&fid), "/.p2/core/v1/idcert/actor/alice@example.com");
//! let q = Query { timestamp: Some(UnixTimestamp(7)), session_id: Some(SessionId::new("phone").unwrap()) };
//! assert_eq!(
//!     actor_idcerts::path_and_query(&fid, &q),
//!     "/.p2/core/v1/idcert/actor/alice@example.com?timestamp=7&session_id=phone"
//! );
//!
//! let r = Response::from_pairs([("PEM-1".to_owned(), false), ("PEM-2".to_owned(), true)]);
//! assert_eq!(r.iter().filter(|(_, invalid)| *invalid).count(), 1);
//! ```

use http::Method;
use p2core_types::{ErrorCode, FederationId, SessionId, UnixTimestamp};
use serde::{Deserialize, Serialize};

use crate::path::{QueryError, encode_query, single_values};
use crate::query::{parse_session_id, parse_timestamp};
use crate::{AuthRequirement, BodyKind, RouteInfo};

/// The route's metadata.
pub const INFO: RouteInfo = RouteInfo {
    name: "actor_idcerts",
    method: Method::GET,
    path: "/.p2/core/v1/idcert/actor/{fid}",
    legacy_paths: &[],
    auth: AuthRequirement::None,
    request_body: BodyKind::None,
    query: &["timestamp", "session_id"],
    query_json_body: true,
    response_body: BodyKind::Json,
    success_status: 200,
    alt_success_status: None,
    errors: &[
        ErrorCode::BadRequest,
        ErrorCode::InvalidFederationId,
        ErrorCode::NotFound,
    ],
    summary: "The ID-Certs of an actor registered here (optionally only those valid at \
              `timestamp` and/or of `session_id`), each with an `invalidated` flag.",
    seed: "seed 004 \"Actor ID-Cert(s)\"",
    gone: None,
};

crate::endpoint_marker!(Request, Response);

/// The path for `fid`, percent-encoded.
pub fn path(fid: &FederationId) -> String {
    format!(
        "/.p2/core/v1/idcert/actor/{}",
        crate::path::encode_segment(fid.as_str())
    )
}

/// The path for `fid` with the query string of `query`.
pub fn path_and_query(fid: &FederationId, query: &Query) -> String {
    format!("{}{}", path(fid), query.to_query_string())
}

/// Everything a client sends: the path parameter and the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The actor whose ID-Certs are wanted.
    pub fid: FederationId,
    /// Optional filters.
    pub query: Query,
}

impl Request {
    /// Path and query string for this request.
    pub fn path_and_query(&self) -> String {
        path_and_query(&self.fid, &self.query)
    }
}

/// Query (or, per seed 004, JSON body): `timestamp`, `session_id`, both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Only ID-Certs valid at this UNIX time (number or decimal string in JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<UnixTimestamp>,
    /// Only the ID-Cert(s) of this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
}

impl Query {
    /// The accepted parameter names.
    pub const PARAMS: &'static [&'static str] = &["timestamp", "session_id"];

    /// The query string, `""` when empty.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(t) = self.timestamp {
            pairs.push(("timestamp", t.to_string()));
        }
        if let Some(s) = &self.session_id {
            pairs.push(("session_id", s.as_str().to_owned()));
        }
        encode_query(&pairs)
    }

    /// Reads a query string (with or without `?`); unknown parameters are ignored.
    pub fn from_query_str(query: &str) -> Result<Self, QueryError> {
        let mut values = single_values(query, Self::PARAMS)?.into_iter();
        let timestamp = values.next().flatten();
        let session_id = values.next().flatten();
        Ok(Self {
            timestamp: timestamp.as_deref().map(parse_timestamp).transpose()?,
            session_id: session_id.as_deref().map(parse_session_id).transpose()?,
        })
    }
}

/// `200 OK` body: `{"idcerts": [PEM…], "invalidated": [bool…]}`, two parallel arrays.
///
/// Build it with [`Response::from_pairs`] or [`Response::push`] to keep the arrays the same
/// length; deserialization rejects arrays of different lengths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawResponse")]
pub struct Response {
    /// PEM of each ID-Cert.
    pub idcerts: Vec<String>,
    /// `invalidated[i]`: whether `idcerts[i]` was invalidated before its expiry.
    pub invalidated: Vec<bool>,
}

#[derive(Deserialize)]
struct RawResponse {
    idcerts: Vec<String>,
    invalidated: Vec<bool>,
}

/// The two arrays of a [`Response`] have different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`idcerts` has {idcerts} entries but `invalidated` has {invalidated}")]
pub struct LengthMismatch {
    /// Length of `idcerts`.
    pub idcerts: usize,
    /// Length of `invalidated`.
    pub invalidated: usize,
}

impl TryFrom<RawResponse> for Response {
    type Error = LengthMismatch;
    fn try_from(raw: RawResponse) -> Result<Self, Self::Error> {
        Self::new(raw.idcerts, raw.invalidated)
    }
}

impl Response {
    /// Pairs up the two arrays; they must have the same length.
    pub fn new(idcerts: Vec<String>, invalidated: Vec<bool>) -> Result<Self, LengthMismatch> {
        if idcerts.len() == invalidated.len() {
            Ok(Self {
                idcerts,
                invalidated,
            })
        } else {
            Err(LengthMismatch {
                idcerts: idcerts.len(),
                invalidated: invalidated.len(),
            })
        }
    }

    /// Builds the arrays from `(pem, invalidated)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, bool)>) -> Self {
        let (idcerts, invalidated) = pairs.into_iter().unzip();
        Self {
            idcerts,
            invalidated,
        }
    }

    /// Appends one certificate and its flag.
    pub fn push(&mut self, pem: String, invalidated: bool) {
        self.idcerts.push(pem);
        self.invalidated.push(invalidated);
    }

    /// `(pem, invalidated)` pairs; stops at the shorter array if the public fields were
    /// changed to different lengths.
    pub fn iter(&self) -> impl Iterator<Item = (&str, bool)> {
        self.idcerts
            .iter()
            .map(String::as_str)
            .zip(self.invalidated.iter().copied())
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.idcerts.len()
    }

    /// Whether there are no certificates.
    pub fn is_empty(&self) -> bool {
        self.idcerts.is_empty()
    }
}

impl FromIterator<(String, bool)> for Response {
    fn from_iter<I: IntoIterator<Item = (String, bool)>>(iter: I) -> Self {
        Self::from_pairs(iter)
    }
}
