//! The JSON error body every p2core endpoint answers 4xx/5xx with, and its codes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal), )*) => {
        /// Error codes: the three from the seed pages and p2core's own documented ones.
        ///
        /// Codes received from other implementations that p2core does not know
        /// are kept verbatim in [`ErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this crate does not know, kept as received.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire string, e.g. `P2CORE_FEDERATION_ID_TAKEN`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Other(s) => s,
                }
            }

            /// The HTTP status this code is sent with (500 for unknown codes).
            pub fn status(&self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                    ErrorCode::Other(_) => 500,
                }
            }

            /// Maps a wire string to a code.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $($code => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// 409: the requested username / Federation ID is already registered (seed 003).
    FederationIdTaken = ("P2CORE_FEDERATION_ID_TAKEN", 409),
    /// 409: the session ID is already used by a valid ID-Cert of this actor (seed 003).
    SessionIdTaken = ("P2CORE_SESSION_ID_TAKEN", 409),
    /// 403: the route is for server administrators only.
    NotAdministrator = ("P2CORE_NOT_ADMINISTRATOR", 403),
    /// 401: no, an unknown, a revoked or a malformed session token; or bad credentials.
    Unauthorized = ("P2CORE_UNAUTHORIZED", 401),
    /// 403: authenticated, but not allowed to touch this resource (e.g. another actor's session).
    Forbidden = ("P2CORE_FORBIDDEN", 403),
    /// 400: the CSR is not a valid ID-CSR for this actor and server.
    InvalidCsr = ("P2CORE_INVALID_CSR", 400),
    /// 400: the ID-Cert is malformed or does not verify.
    InvalidCertificate = ("P2CORE_INVALID_CERTIFICATE", 400),
    /// 400: the string is not a valid Federation ID or local name.
    InvalidFederationId = ("P2CORE_INVALID_FEDERATION_ID", 400),
    /// 400: the session ID is not an IA5String of 1–32 characters.
    InvalidSessionId = ("P2CORE_INVALID_SESSION_ID", 400),
    /// 400: the KeyPackage is not valid for this session.
    InvalidKeyPackage = ("P2CORE_INVALID_KEY_PACKAGE", 400),
    /// 401: the challenge has expired.
    ChallengeExpired = ("P2CORE_CHALLENGE_EXPIRED", 401),
    /// 401: the challenge is unknown (never issued here, or already used).
    ChallengeUnknown = ("P2CORE_CHALLENGE_UNKNOWN", 401),
    /// 403: the challenge solution does not verify.
    ChallengeFailed = ("P2CORE_CHALLENGE_FAILED", 403),
    /// 404: no such actor, session, certificate or KeyPackage.
    NotFound = ("P2CORE_NOT_FOUND", 404),
    /// 405: the path exists but not with this method.
    MethodNotAllowed = ("P2CORE_METHOD_NOT_ALLOWED", 405),
    /// 410: the route was removed; the message names its successor.
    Gone = ("P2CORE_GONE", 410),
    /// 413: the request body is larger than the server accepts.
    PayloadTooLarge = ("P2CORE_PAYLOAD_TOO_LARGE", 413),
    /// 415: the request needs a different `Content-Type`.
    UnsupportedMediaType = ("P2CORE_UNSUPPORTED_MEDIA_TYPE", 415),
    /// 400: malformed JSON, wrong types, missing fields or bad parameters.
    BadRequest = ("P2CORE_BAD_REQUEST", 400),
    /// 502: another server (e.g. a foreign home server) could not be reached or answered badly.
    UpstreamFailed = ("P2CORE_UPSTREAM_FAILED", 502),
    /// 409: the actor already has as many live sessions as the server allows.
    TooManySessions = ("P2CORE_TOO_MANY_SESSIONS", 409),
    /// 500: an internal error; details are in the server log, not in the response.
    Internal = ("P2CORE_INTERNAL", 500),
    /// 408: the client did not send the request (header or body) in time.
    RequestTimeout = ("P2CORE_REQUEST_TIMEOUT", 408),
    /// 429: too many requests from this client; retry after the `Retry-After` seconds.
    TooManyRequests = ("P2CORE_TOO_MANY_REQUESTS", 429),
    /// 503: the server cannot serve this now (overloaded, at a capacity limit such as
    /// outstanding challenges, shutting down, or its own certificate needs the operator);
    /// retry later, details are in the server log.
    Unavailable = ("P2CORE_UNAVAILABLE", 503),
    /// 403: this server does not accept registrations (`--registration closed`).
    RegistrationClosed = ("P2CORE_REGISTRATION_CLOSED", 403),
    /// 403: this server registers by invitation only, and no invite token, or one
    /// that is unknown, expired, revoked or used up, was sent (`auth_payload.invite`).
    InvalidInvite = ("P2CORE_INVALID_INVITE", 403),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::from_wire(&s))
    }
}

/// The error body: `{"errcode": <http status>, "error": "<CODE>", "message": "<text>"}`.
///
/// `message` is optional on receipt, because the seed pages show bodies with
/// only `errcode` and `error`.
///
/// ```
/// use p2core_types::{ErrorBody, ErrorCode};
/// let body = ErrorBody::new(ErrorCode::FederationIdTaken, "alice is taken");
/// assert_eq!(body.errcode, 409);
/// let seed: ErrorBody =
///     serde_json::from_str(r#"{"errcode": 409, "error": "P2CORE_FEDERATION_ID_TAKEN"}"#).unwrap();
/// assert_eq!(seed.error, ErrorCode::FederationIdTaken);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub errcode: u16,
    /// The machine-readable code.
    pub error: ErrorCode,
    /// A human-readable explanation.
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// A body for `code` with its usual status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            errcode: code.status(),
            error: code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.errcode, self.error)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(&ErrorCode::from_wire(code.as_str()), code);
            assert!((400..=599).contains(&code.status()));
            assert!(code.as_str().starts_with("P2CORE_"));
        }
        assert_eq!(
            ErrorCode::from_wire("M_UNKNOWN"),
            ErrorCode::Other("M_UNKNOWN".into())
        );
    }

    #[test]
    fn seed_bodies() {
        for (json, code) in [
            (
                r#"{"errcode": 409, "error": "P2CORE_FEDERATION_ID_TAKEN"}"#,
                ErrorCode::FederationIdTaken,
            ),
            (
                r#"{"errcode": 409, "error": "P2CORE_SESSION_ID_TAKEN"}"#,
                ErrorCode::SessionIdTaken,
            ),
        ] {
            let b: ErrorBody = serde_json::from_str(json).unwrap();
            assert_eq!((b.errcode, b.error), (409, code));
        }
        let b = ErrorBody::new(ErrorCode::NotAdministrator, "no");
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({"errcode": 403, "error": "P2CORE_NOT_ADMINISTRATOR", "message": "no"})
        );
    }
}
