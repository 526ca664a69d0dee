//! `CacheableIdCert` of the current polyproto-core revision (v1.0-beta.13):
//! an ID-Cert wrapped with a cache window and a signature by its home server,
//! as `GET /idcert/server` and `GET /idcert/actor/{fid}` answer it and
//! gateway opcode 4 carries it.
//!
//! ```json
//! {"cacheNotValidAfter":"1700043200","cacheNotValidBefore":"1700000000","cacheSignature":"<128 hex>","idCertPem":"-----BEGIN CERTIFICATE-----…","invalidatedAt":"1700021600"}
//! ```
//!
//! The signature is Ed25519 by the home server's identity key over the UTF-8
//! bytes of `"<serial> <cacheNotValidBefore> <cacheNotValidAfter>"`, followed
//! by `" <invalidatedAt>"` when present (decimals, single spaces; the serial
//! as an unsigned decimal integer), written as 128 lowercase hex digits.
//!
//! [`CacheableIdCert::verify`] checks what the official SDK checks (the
//! signature) **and** what it leaves out: the cache window against a given
//! time, a signature of exactly 64 bytes verified strictly, and the
//! `invalidatedAt` time against the time of use ([`CacheableIdCert::valid_for_message_at`]).
//! The certificate chain is checked with `p2core_certs::verify_cacheable`
//! (it needs the certificate profile rules of `p2core-certs`).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{CertParseError, IdCert, UnixTimestamp, jcs};

/// The JSON object (field names and u64-as-string as the current revision spells them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheableIdCert {
    /// The ID-Cert, PEM.
    pub id_cert_pem: String,
    /// When the certificate was revoked early; absent while it is valid.
    #[serde(
        with = "jcs::decimal::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invalidated_at: Option<UnixTimestamp>,
    /// The entry may be used from this time …
    #[serde(with = "jcs::decimal")]
    pub cache_not_valid_before: UnixTimestamp,
    /// … until this time (inclusive).
    #[serde(with = "jcs::decimal")]
    pub cache_not_valid_after: UnixTimestamp,
    /// Ed25519 signature by the home server's identity key, 128 lowercase hex digits.
    pub cache_signature: String,
}

/// Why an entry is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheableError {
    /// The PEM is not an ID-Cert this crate can read.
    #[error("the wrapped certificate does not parse: {0}")]
    Cert(#[from] CertParseError),
    /// The certificate's serial is zero or negative.
    #[error("the certificate's serial is not a positive integer")]
    Serial,
    /// The window is empty (`cacheNotValidBefore` after `cacheNotValidAfter`).
    #[error("the cache window is empty")]
    EmptyWindow,
    /// `now` is before `cacheNotValidBefore`.
    #[error("the cache entry is not valid yet (from {0})")]
    NotYetValid(u64),
    /// `now` is after `cacheNotValidAfter`: evict it.
    #[error("the cache entry expired at {0}")]
    Expired(u64),
    /// `cacheSignature` is not 128 lowercase hex digits.
    #[error("the cache signature is not 64 bytes of lowercase hex")]
    SignatureFormat,
    /// The signature does not verify with the home server's key.
    #[error("the cache signature does not verify with the home server's key")]
    BadSignature,
}

impl CacheableIdCert {
    /// The signed text for `cert` and the given window and invalidation.
    pub fn signed_text(
        serial_decimal: &str,
        not_before: UnixTimestamp,
        not_after: UnixTimestamp,
        invalidated_at: Option<UnixTimestamp>,
    ) -> String {
        match invalidated_at {
            Some(i) => format!("{serial_decimal} {} {} {}", not_before.0, not_after.0, i.0),
            None => format!("{serial_decimal} {} {}", not_before.0, not_after.0),
        }
    }

    /// Wraps `cert` for the cache window `[not_before, not_after]`, signed
    /// with the home server's identity key `key`.
    pub fn sign(
        cert: &IdCert,
        not_before: UnixTimestamp,
        not_after: UnixTimestamp,
        invalidated_at: Option<UnixTimestamp>,
        key: &SigningKey,
    ) -> Result<Self, CacheableError> {
        if not_before > not_after {
            return Err(CacheableError::EmptyWindow);
        }
        let serial = cert.serial_decimal().ok_or(CacheableError::Serial)?;
        let text = Self::signed_text(&serial, not_before, not_after, invalidated_at);
        Ok(Self {
            id_cert_pem: cert.to_pem(),
            invalidated_at,
            cache_not_valid_before: not_before,
            cache_not_valid_after: not_after,
            cache_signature: hex::encode(key.sign(text.as_bytes()).to_bytes()),
        })
    }

    /// Checks the entry at `now` against the home server's key `home_key`:
    /// the wrapped certificate parses, the window contains `now`, and the
    /// signature (exactly 64 bytes, lowercase hex) verifies strictly over the
    /// rebuilt text. Returns the certificate. The caller still checks the
    /// certificate itself (profile, chain, validity at the time of use:
    /// `p2core_certs::verify_cacheable` does all of it) and
    /// [`valid_for_message_at`](Self::valid_for_message_at).
    pub fn verify(
        &self,
        home_key: &VerifyingKey,
        now: UnixTimestamp,
    ) -> Result<IdCert, CacheableError> {
        let cert = IdCert::from_pem(&self.id_cert_pem)?;
        if self.cache_not_valid_before > self.cache_not_valid_after {
            return Err(CacheableError::EmptyWindow);
        }
        if now < self.cache_not_valid_before {
            return Err(CacheableError::NotYetValid(self.cache_not_valid_before.0));
        }
        if now > self.cache_not_valid_after {
            return Err(CacheableError::Expired(self.cache_not_valid_after.0));
        }
        let sig = &self.cache_signature;
        if sig.len() != 128
            || !sig
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(CacheableError::SignatureFormat);
        }
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(sig, &mut bytes).map_err(|_| CacheableError::SignatureFormat)?;
        let serial = cert.serial_decimal().ok_or(CacheableError::Serial)?;
        let text = Self::signed_text(
            &serial,
            self.cache_not_valid_before,
            self.cache_not_valid_after,
            self.invalidated_at,
        );
        home_key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| CacheableError::BadSignature)?;
        Ok(cert)
    }

    /// `false` for a message at or after `invalidatedAt` (an early revocation).
    pub fn valid_for_message_at(&self, t: UnixTimestamp) -> bool {
        self.invalidated_at.is_none_or(|i| t < i)
    }

    /// The canonical JSON (RFC 8785) of this entry.
    pub fn to_canonical_json(&self) -> String {
        // Strings only: canonicalization cannot fail.
        jcs::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with OpenSSL (a tool we did not write), serial above 2^64:
    /// ```text
    /// openssl genpkey -algorithm ed25519 -out sk.pem
    /// openssl req -new -x509 -key sk.pem -subj "/DC=com/DC=example" \
    ///   -set_serial 0x0123456789abcdef0011 -days 3650 -out sc.pem
    /// printf '5373003642731685150737 1700000000 1700043200' > t1
    /// openssl pkeyutl -sign -rawin -inkey sk.pem -in t1 | xxd -p | tr -d '\n'
    /// printf '5373003642731685150737 1700000000 1700043200 1700021600' > t2   # (same for t2)
    /// ```
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBZzCCARmgAwIBAgIKASNFZ4mrze8AETAFBgMrZXAwLjETMBEGCgmSJomT8ixk
ARkWA2NvbTEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUwHhcNMjYxMjAyMTkwNTA5
WhcNMzYxMTI5MTkwNTA5WjAuMRMwEQYKCZImiZPyLGQBGRYDY29tMRcwFQYKCZIm
iZPyLGQBGRYHZXhhbXBsZTAqMAUGAytlcAMhABnwH0Wt51Y7y8n22Yw+fKgY+zy5
88dBiTuBv97bxH2go1MwUTAdBgNVHQ4EFgQUlNNa6sM9vxrix/9+OYRKCgIwV24w
HwYDVR0jBBgwFoAUlNNa6sM9vxrix/9+OYRKCgIwV24wDwYDVR0TAQH/BAUwAwEB
/zAFBgMrZXADQQALT+/whcRA0s7mc32JfmUMFscHDfHNchMmIZI6f+G35CG3nAmW
+bm5pBUDN35hU0P0n3W/wZ5uBq9KUM8PjC4E
-----END CERTIFICATE-----
";
    const SIG_1: &str = "411300e88e450dcde5f187ad86dd20a8aff756300dbbe1dbc84d6a4bcd4b2f8946278dd2a0811bfebaaeb053ed3fa04ca40e5deec076890aa47aa569b4e59f0b";
    const SIG_2: &str = "6897923c77317a6b29483acbf40e7cbc3ba1af63e038731dee7ee75536c98b972191926b342c119cae78941a2e97e69fdfe735bf202ddcbb48c81ca949ab9309";

    fn entry(sig: &str, invalidated_at: Option<u64>) -> CacheableIdCert {
        CacheableIdCert {
            id_cert_pem: CERT.to_owned(),
            invalidated_at: invalidated_at.map(UnixTimestamp),
            cache_not_valid_before: UnixTimestamp(1_700_000_000),
            cache_not_valid_after: UnixTimestamp(1_700_043_200),
            cache_signature: sig.to_owned(),
        }
    }

    fn key() -> VerifyingKey {
        *IdCert::from_pem(CERT).unwrap().public_key().unwrap()
    }

    #[test]
    fn serials_of_any_length_print_as_unsigned_decimals() {
        let cert = IdCert::from_pem(CERT).unwrap();
        assert_eq!(
            cert.serial_decimal().as_deref(),
            Some("5373003642731685150737")
        );
        assert_eq!(cert.serial_u64(), None, "above 2^64");
    }

    #[test]
    fn entries_signed_by_openssl_verify_within_their_window() {
        let now = UnixTimestamp(1_700_010_000);
        entry(SIG_1, None).verify(&key(), now).unwrap();
        let revoked = entry(SIG_2, Some(1_700_021_600));
        revoked.verify(&key(), now).unwrap();
        assert!(revoked.valid_for_message_at(UnixTimestamp(1_700_021_599)));
        assert!(!revoked.valid_for_message_at(UnixTimestamp(1_700_021_600)));
        // The JSON the current revision sends, canonical, u64 as strings.
        let json = entry(SIG_1, None).to_canonical_json();
        assert!(json.starts_with("{\"cacheNotValidAfter\":\"1700043200\",\"cacheNotValidBefore\":\"1700000000\",\"cacheSignature\":\"4113"));
        assert!(
            !json.contains("invalidatedAt"),
            "absent, never null: {json}"
        );
        assert!(crate::jcs::is_canonical(&json));
        let back: CacheableIdCert = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entry(SIG_1, None));
    }

    #[test]
    fn what_the_sdk_forgets_is_refused() {
        let e = entry(SIG_1, None);
        assert_eq!(
            e.verify(&key(), UnixTimestamp(1_700_043_201)),
            Err(CacheableError::Expired(1_700_043_200))
        );
        assert_eq!(
            e.verify(&key(), UnixTimestamp(1_699_999_999)),
            Err(CacheableError::NotYetValid(1_700_000_000))
        );
        // An invalidation added (or removed) without the home server's signature.
        assert_eq!(
            entry(SIG_1, Some(1_700_021_600)).verify(&key(), UnixTimestamp(1_700_010_000)),
            Err(CacheableError::BadSignature)
        );
        assert_eq!(
            entry(SIG_2, None).verify(&key(), UnixTimestamp(1_700_010_000)),
            Err(CacheableError::BadSignature)
        );
        let now = UnixTimestamp(1_700_010_000);
        let upper = entry(&SIG_1.to_uppercase(), None);
        assert_eq!(
            upper.verify(&key(), now),
            Err(CacheableError::SignatureFormat)
        );
        let short = entry(&SIG_1[..126], None);
        assert_eq!(
            short.verify(&key(), now),
            Err(CacheableError::SignatureFormat)
        );
        let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(e.verify(&other, now), Err(CacheableError::BadSignature));
    }

    #[test]
    fn entries_signed_here_verify() {
        let cert = IdCert::from_pem(CERT).unwrap();
        let key = SigningKey::from_bytes(&[9; 32]);
        let e = CacheableIdCert::sign(
            &cert,
            UnixTimestamp(10),
            UnixTimestamp(20),
            Some(UnixTimestamp(15)),
            &key,
        )
        .unwrap();
        e.verify(&key.verifying_key(), UnixTimestamp(12)).unwrap();
        assert_eq!(
            CacheableIdCert::sign(&cert, UnixTimestamp(21), UnixTimestamp(20), None, &key),
            Err(CacheableError::EmptyWindow)
        );
    }

    #[test]
    fn the_signed_text_is_serial_window_and_invalidation_with_single_spaces() {
        assert_eq!(
            CacheableIdCert::signed_text("123", UnixTimestamp(1234), UnixTimestamp(5678), None),
            "123 1234 5678"
        );
        assert_eq!(
            CacheableIdCert::signed_text(
                "123",
                UnixTimestamp(1234),
                UnixTimestamp(5678),
                Some(UnixTimestamp(1_700_000_000))
            ),
            "123 1234 5678 1700000000"
        );
    }
}
