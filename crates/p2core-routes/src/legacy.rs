//! The legacy `/p2core/…` body encoding of seed 003: `csr` and `id_cert` carry standard
//! Base64 of the PEM text ([`LegacyEncoding::Base64Pem`](crate::LegacyEncoding::Base64Pem)).
//!
//! ```
//! use p2core_routes::legacy::{base64_to_pem, pem_to_base64};
//! let pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
//! let b64 = pem_to_base64(pem);
//! assert!(b64.starts_with("LS0tLS1CRUdJTi"));
//! assert_eq!(base64_to_pem(&b64).unwrap(), pem);
//! ```

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::Value;

/// The JSON fields that hold PEM text and are Base64-wrapped on legacy paths.
pub const PEM_FIELDS: &[&str] = &["csr", "id_cert"];

/// Standard alphabet; padding optional on input.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a legacy Base64-of-PEM value could not be turned into PEM text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyDecodeError {
    /// Not standard Base64.
    #[error("legacy field is not standard Base64: {0}")]
    Base64(String),
    /// The decoded bytes are not UTF-8 text.
    #[error("legacy field does not decode to UTF-8 text")]
    NotUtf8,
    /// The decoded text is not a PEM block (`-----BEGIN …-----` … `-----END …-----`).
    #[error("legacy field does not decode to PEM text")]
    NotPem,
    /// A field in [`PEM_FIELDS`] is present but not a JSON string.
    #[error("legacy field `{0}` is not a string")]
    NotAString(&'static str),
}

/// Standard Base64 (with padding) of the PEM text, as legacy paths send it.
pub fn pem_to_base64(pem: &str) -> String {
    STANDARD.encode(pem.as_bytes())
}

/// Decodes a legacy value back into PEM text.
///
/// ASCII whitespace (line breaks of wrapped Base64) is ignored and padding is optional.
/// The result must be UTF-8 and look like a PEM block; its contents are not parsed here.
pub fn base64_to_pem(value: &str) -> Result<String, LegacyDecodeError> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = LENIENT
        .decode(compact.as_bytes())
        .map_err(|e| LegacyDecodeError::Base64(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| LegacyDecodeError::NotUtf8)?;
    if looks_like_pem(&text) {
        Ok(text)
    } else {
        Err(LegacyDecodeError::NotPem)
    }
}

/// Whether `text` is shaped like a PEM block: it starts (after whitespace) with
/// `-----BEGIN ` and has a matching `-----END ` line.
pub fn looks_like_pem(text: &str) -> bool {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("-----BEGIN ") else {
        return false;
    };
    let Some((label, _)) = rest.split_once("-----") else {
        return false;
    };
    t.ends_with(&format!("-----END {label}-----"))
}

/// Rewrites the [`PEM_FIELDS`] of a legacy request body from Base64 to PEM in place.
///
/// Fields that are absent are left alone.
pub fn decode_request_value(body: &mut Value) -> Result<(), LegacyDecodeError> {
    let Some(obj) = body.as_object_mut() else {
        return Ok(());
    };
    for field in PEM_FIELDS {
        if let Some(v) = obj.get_mut(*field) {
            let s = v.as_str().ok_or(LegacyDecodeError::NotAString(field))?;
            *v = Value::String(base64_to_pem(s)?);
        }
    }
    Ok(())
}

/// Rewrites the [`PEM_FIELDS`] of a response body from PEM to Base64 in place, for sending
/// on a legacy path. Non-string values are left alone.
pub fn encode_response_value(body: &mut Value) {
    if let Some(obj) = body.as_object_mut() {
        for field in PEM_FIELDS {
            if let Some(Value::String(s)) = obj.get_mut(*field) {
                *s = pem_to_base64(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n";

    #[test]
    fn round_trip_and_leniency() {
        let b = pem_to_base64(PEM);
        assert_eq!(base64_to_pem(&b).unwrap(), PEM);
        let unpadded = b.trim_end_matches('=');
        assert_eq!(base64_to_pem(unpadded).unwrap(), PEM);
        let wrapped: String = b
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(base64_to_pem(&wrapped).unwrap(), PEM);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            base64_to_pem("!!!"),
            Err(LegacyDecodeError::Base64(_))
        ));
        assert_eq!(
            base64_to_pem(&STANDARD.encode([0xff, 0xfe])),
            Err(LegacyDecodeError::NotUtf8)
        );
        assert_eq!(
            base64_to_pem(&STANDARD.encode("hello")),
            Err(LegacyDecodeError::NotPem)
        );
        assert_eq!(
            base64_to_pem(&STANDARD.encode("-----BEGIN A-----\nx\n-----END B-----")),
            Err(LegacyDecodeError::NotPem)
        );
        // Already PEM (a client that ignored the legacy encoding) is not Base64.
        assert!(base64_to_pem(PEM).is_err());
    }

    #[test]
    fn json_values() {
        let mut req = serde_json::json!({"username": "alice", "csr": pem_to_base64(PEM)});
        decode_request_value(&mut req).unwrap();
        assert_eq!(req["csr"], PEM);
        assert_eq!(req["username"], "alice");
        let mut bad = serde_json::json!({"csr": 5});
        assert_eq!(
            decode_request_value(&mut bad),
            Err(LegacyDecodeError::NotAString("csr"))
        );
        let mut resp = serde_json::json!({"id_cert": PEM, "token": "t"});
        encode_response_value(&mut resp);
        assert_eq!(resp["id_cert"], pem_to_base64(PEM));
        assert_eq!(resp["token"], "t");
    }
}
