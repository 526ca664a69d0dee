//! Session IDs: the `uniqueIdentifier` of an actor's ID-Cert.

use std::fmt;
use std::str::FromStr;

use crate::fid::string_serde;

/// Shortest session ID, in characters.
pub const MIN_SESSION_ID_LEN: usize = 1;
/// Longest session ID, in characters.
pub const MAX_SESSION_ID_LEN: usize = 32;

/// Why a string is not a valid session ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionIdError {
    /// Empty or longer than [`MAX_SESSION_ID_LEN`] characters.
    #[error("a session ID has 1 to 32 characters, this one has {0}")]
    Length(usize),
    /// Contains a character that is not in IA5 (7-bit ASCII).
    #[error("a session ID is an IA5String; {0:?} is not ASCII")]
    NotIa5(char),
}

/// A session ID chosen by the actor: an ASN.1 IA5String of 1–32 characters.
///
/// ```
/// use p2core_types::SessionId;
/// let s: SessionId = "laptop-1".parse().unwrap();
/// assert_eq!(s.as_str(), "laptop-1");
/// assert!("".parse::<SessionId>().is_err());
/// assert!("é".parse::<SessionId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// Validates a session ID (case is kept: session IDs are case-sensitive).
    pub fn new(id: &str) -> Result<Self, SessionIdError> {
        if let Some(c) = id.chars().find(|c| !c.is_ascii()) {
            return Err(SessionIdError::NotIa5(c));
        }
        if !(MIN_SESSION_ID_LEN..=MAX_SESSION_ID_LEN).contains(&id.len()) {
            return Err(SessionIdError::Length(id.len()));
        }
        Ok(Self(id.to_owned()))
    }

    /// A fresh random session ID of 32 characters from `[a-z0-9]`.
    pub fn random() -> Self {
        Self(crate::random::alphanumeric_lower(MAX_SESSION_ID_LEN))
    }

    /// The session ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionId {
    type Err = SessionIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

string_serde!(SessionId, "session ID");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(SessionId::new(""), Err(SessionIdError::Length(0)));
        assert!(SessionId::new("a").is_ok());
        assert!(SessionId::new(&"a".repeat(32)).is_ok());
        assert_eq!(
            SessionId::new(&"a".repeat(33)),
            Err(SessionIdError::Length(33))
        );
        // the UUID in the seed examples is 36 characters: too long
        assert!(SessionId::new("593b30d8-0c98-4393-9331-988281b46782").is_err());
        assert_eq!(SessionId::new("ü"), Err(SessionIdError::NotIa5('ü')));
    }

    #[test]
    fn random_is_valid_and_distinct() {
        let a = SessionId::random();
        let b = SessionId::random();
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, b);
        assert!(SessionId::new(a.as_str()).is_ok());
    }
}
