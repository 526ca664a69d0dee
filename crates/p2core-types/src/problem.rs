//! RFC 9457 Problem Details with the `namespace` member, the error body of the
//! current polyproto-core revision (sent as `application/problem+json`, in
//! canonical JSON: [`ProblemDetails::to_canonical_json`]).
//!
//! p2core's machine-readable [`ErrorCode`] rides along as the extension member
//! `errcode`, so a client of either revision can switch on the same codes.

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, jcs};

/// The media type of a Problem Details body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The namespace of polyproto-core's own problems.
pub const CORE_NAMESPACE: &str = "https://polyproto.org/core";

/// An RFC 9457 problem with polyproto's `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDetails {
    /// A URI naming the problem type (`about:blank` when only the status says it).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    /// Short, human-readable summary of the problem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Human-readable explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI for this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The polyproto namespace the problem belongs to (required by the current revision).
    pub namespace: String,
    /// p2core's error code (extension member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<String>,
}

impl ProblemDetails {
    /// A core problem for p2core's `code`: its status, the code as title and
    /// `errcode`, `detail` as given, namespace [`CORE_NAMESPACE`].
    pub fn core(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            problem_type: Some("about:blank".to_owned()),
            title: Some(code.as_str().to_owned()),
            status: Some(code.status()),
            detail: Some(detail.into()),
            instance: None,
            namespace: CORE_NAMESPACE.to_owned(),
            errcode: Some(code.as_str().to_owned()),
        }
    }

    /// The body in canonical JSON (RFC 8785), as the current revision sends it.
    pub fn to_canonical_json(&self) -> String {
        // Strings and a small integer only: canonicalization cannot fail.
        jcs::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_problem_is_canonical_with_status_namespace_and_code() {
        let p = ProblemDetails::core(ErrorCode::NotFound, "no such actor");
        assert_eq!(
            p.to_canonical_json(),
            r#"{"detail":"no such actor","errcode":"P2CORE_NOT_FOUND","namespace":"https://polyproto.org/core","status":404,"title":"P2CORE_NOT_FOUND","type":"about:blank"}"#
        );
        let back: ProblemDetails = serde_json::from_str(&p.to_canonical_json()).unwrap();
        assert_eq!(back, p);
        // Only `namespace` is required.
        let min: ProblemDetails = serde_json::from_str(r#"{"namespace":"x"}"#).unwrap();
        assert_eq!(min.status, None);
        assert!(serde_json::from_str::<ProblemDetails>(r#"{"status":400}"#).is_err());
    }
}
