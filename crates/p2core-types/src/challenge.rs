//! Challenge strings: proof that a client holds the private key of an ID-Cert.
//!
//! A server issues a random string with an expiry; the client signs the UTF-8
//! bytes of the string with its Ed25519 identity key and returns the signature
//! as lowercase hex. The server checks the solution with
//! [`ChallengeString::verify_solution`].

use std::time::Duration;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::UnixTimestamp;

/// Shortest challenge accepted on parse, in characters.
pub const MIN_CHALLENGE_LEN: usize = 32;
/// Longest challenge accepted on parse, in characters.
pub const MAX_CHALLENGE_LEN: usize = 256;
/// Length of the challenges [`ChallengeString::generate`] makes.
pub const GENERATED_CHALLENGE_LEN: usize = 64;
/// Default lifetime of a generated challenge (five minutes).
pub const DEFAULT_CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Why a challenge or its solution was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The challenge text is shorter than 32 or longer than 256 characters.
    #[error("a challenge string has 32 to 256 characters, this one has {0}")]
    Length(usize),
    /// The current time is past `expires`.
    #[error("the challenge expired at {expires}, it is now {now}")]
    Expired {
        /// When the challenge expired.
        expires: UnixTimestamp,
        /// The time of the check.
        now: UnixTimestamp,
    },
    /// The solution is not 128 lowercase-or-uppercase hex digits.
    #[error("the solution must be a 64-byte Ed25519 signature in hex")]
    MalformedSolution,
    /// The signature does not verify (strictly) with the given key.
    #[error("the signature over the challenge does not verify with the certificate's key")]
    BadSignature,
}

/// A challenge string and its expiry, as sent by `GET /.p2/core/v1/challenge`.
///
/// ```
/// use p2core_types::{ChallengeString, UnixTimestamp};
/// use ed25519_dalek::SigningKey;
///
/// let key = SigningKey::from_bytes(&[7u8; 32]);
/// let challenge = ChallengeString::generate(UnixTimestamp::now(), ChallengeString::default_lifetime());
/// let solution = challenge.solve(&key);
/// challenge.verify_solution(&solution, &key.verifying_key(), UnixTimestamp::now()).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawChallenge")]
pub struct ChallengeString {
    challenge: String,
    expires: UnixTimestamp,
}

#[derive(Deserialize)]
struct RawChallenge {
    challenge: String,
    expires: UnixTimestamp,
}

impl TryFrom<RawChallenge> for ChallengeString {
    type Error = ChallengeError;
    fn try_from(raw: RawChallenge) -> Result<Self, Self::Error> {
        Self::new(raw.challenge, raw.expires)
    }
}

impl ChallengeString {
    /// Wraps a received challenge, checking its length (32–256 characters).
    pub fn new(challenge: String, expires: UnixTimestamp) -> Result<Self, ChallengeError> {
        check_len(&challenge)?;
        Ok(Self { challenge, expires })
    }

    /// The default lifetime, [`DEFAULT_CHALLENGE_LIFETIME`].
    pub fn default_lifetime() -> Duration {
        DEFAULT_CHALLENGE_LIFETIME
    }

    /// A fresh challenge of 64 characters from `[A-Za-z0-9]` with at least one
    /// lowercase letter, one uppercase letter and one digit, expiring at
    /// `now + lifetime`.
    pub fn generate(now: UnixTimestamp, lifetime: Duration) -> Self {
        loop {
            let s = crate::random::from_alphabet(ALPHABET, GENERATED_CHALLENGE_LEN);
            let has = |f: fn(&u8) -> bool| s.as_bytes().iter().any(f);
            if has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_digit)
            {
                return Self {
                    challenge: s,
                    expires: now.saturating_add(lifetime.as_secs()),
                };
            }
        }
    }

    /// The challenge text.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// When the challenge expires.
    pub fn expires(&self) -> UnixTimestamp {
        self.expires
    }

    /// `true` when `now` is past the expiry (`now > expires`).
    pub fn is_expired(&self, now: UnixTimestamp) -> bool {
        now > self.expires
    }

    /// Signs the challenge: the lowercase hex of the Ed25519 signature over its UTF-8 bytes.
    pub fn solve(&self, key: &SigningKey) -> String {
        hex::encode(key.sign(self.challenge.as_bytes()).to_bytes())
    }

    /// Checks that the challenge has not expired at `now` and that `solution`
    /// is a valid strict Ed25519 signature over the challenge by `key`.
    pub fn verify_solution(
        &self,
        solution: &str,
        key: &VerifyingKey,
        now: UnixTimestamp,
    ) -> Result<(), ChallengeError> {
        if self.is_expired(now) {
            return Err(ChallengeError::Expired {
                expires: self.expires,
                now,
            });
        }
        verify_hex_signature(self.challenge.as_bytes(), solution, key)
    }
}

fn check_len(challenge: &str) -> Result<(), ChallengeError> {
    let n = challenge.chars().count();
    if (MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&n) {
        Ok(())
    } else {
        Err(ChallengeError::Length(n))
    }
}

/// Strictly verifies a hex-encoded Ed25519 signature over `message`.
pub fn verify_hex_signature(
    message: &[u8],
    signature_hex: &str,
    key: &VerifyingKey,
) -> Result<(), ChallengeError> {
    let mut sig = [0u8; 64];
    hex::decode_to_slice(signature_hex, &mut sig).map_err(|_| ChallengeError::MalformedSolution)?;
    key.verify_strict(message, &Signature::from_bytes(&sig))
        .map_err(|_| ChallengeError::BadSignature)
}

/// A solved challenge, as sent to `POST /.p2/core/v1/session/identify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedChallenge {
    /// The challenge text that was issued.
    pub challenge: String,
    /// Lowercase hex of the Ed25519 signature over the challenge's UTF-8 bytes.
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    #[test]
    fn generated_shape() {
        for _ in 0..50 {
            let c = ChallengeString::generate(UnixTimestamp(1000), Duration::from_secs(300));
            assert_eq!(c.challenge().len(), 64);
            assert!(c.challenge().bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(c.challenge().bytes().any(|b| b.is_ascii_lowercase()));
            assert!(c.challenge().bytes().any(|b| b.is_ascii_uppercase()));
            assert!(c.challenge().bytes().any(|b| b.is_ascii_digit()));
            assert_eq!(c.expires(), UnixTimestamp(1300));
        }
    }

    #[test]
    fn expiry_is_now_greater_than_expires() {
        let c = ChallengeString::generate(UnixTimestamp(1000), Duration::from_secs(300));
        assert!(!c.is_expired(UnixTimestamp(1299)));
        assert!(!c.is_expired(UnixTimestamp(1300)));
        assert!(c.is_expired(UnixTimestamp(1301)));
        let sol = c.solve(&key(1));
        assert!(
            c.verify_solution(&sol, &key(1).verifying_key(), UnixTimestamp(1300))
                .is_ok()
        );
        assert!(matches!(
            c.verify_solution(&sol, &key(1).verifying_key(), UnixTimestamp(1301)),
            Err(ChallengeError::Expired { .. })
        ));
    }

    #[test]
    fn solutions() {
        let c = ChallengeString::generate(UnixTimestamp(0), Duration::from_secs(60));
        let sol = c.solve(&key(1));
        assert_eq!(sol.len(), 128);
        assert_eq!(
            c.verify_solution(&sol, &key(2).verifying_key(), UnixTimestamp(0)),
            Err(ChallengeError::BadSignature)
        );
        assert_eq!(
            c.verify_solution("zz", &key(1).verifying_key(), UnixTimestamp(0)),
            Err(ChallengeError::MalformedSolution)
        );
        let mut flipped = sol.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            c.verify_solution(&flipped, &key(1).verifying_key(), UnixTimestamp(0)),
            Err(ChallengeError::BadSignature)
        );
    }

    #[test]
    fn parse_lengths() {
        let ok = "a".repeat(32);
        assert!(ChallengeString::new(ok, UnixTimestamp(1)).is_ok());
        assert_eq!(
            ChallengeString::new("a".repeat(31), UnixTimestamp(1)),
            Err(ChallengeError::Length(31))
        );
        assert!(ChallengeString::new("ä".repeat(256), UnixTimestamp(1)).is_ok());
        assert!(ChallengeString::new("a".repeat(257), UnixTimestamp(1)).is_err());
        let json = r#"{"challenge":"UH675678rbnFGNHJV2ijcnr3ghjHV74jahXX","expires":"1620000000"}"#;
        let c: ChallengeString = serde_json::from_str(json).unwrap();
        assert_eq!(c.expires(), UnixTimestamp(1_620_000_000));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"challenge":"UH675678rbnFGNHJV2ijcnr3ghjHV74jahXX","expires":1620000000}"#
        );
        assert!(
            serde_json::from_str::<ChallengeString>(r#"{"challenge":"short","expires":1}"#)
                .is_err()
        );
    }
}
