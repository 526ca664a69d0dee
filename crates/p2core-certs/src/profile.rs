//! Which extensions the certificates this crate makes carry.

use std::fmt;
use std::str::FromStr;

/// The extension layout of the certificates p2core makes (roots and issued
/// actor certificates). Verification does not depend on it: every profile's
/// output passes [`verify_root`](crate::verify_root) and
/// [`verify_actor_cert`](crate::verify_actor_cert).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertProfile {
    /// RFC 5280 (the default): BasicConstraints and KeyUsage (both critical),
    /// then SubjectKeyIdentifier, and on actor certificates
    /// AuthorityKeyIdentifier. Passes `openssl verify -x509_strict`.
    #[default]
    Rfc5280,
    /// For verifiers built on the official `polyproto` SDK 0.21: exactly
    /// BasicConstraints then KeyUsage, both critical, and nothing else.
    ///
    /// polyproto 0.21 checks signatures over its own re-encoding of the
    /// TBSCertificate, which keeps only those two extensions (in that order,
    /// both critical); any other extension makes its signature check fail.
    /// Without SubjectKeyIdentifier/AuthorityKeyIdentifier the certificates
    /// break RFC 5280 §4.2.1.1–2, so `openssl verify -x509_strict` rejects
    /// them (plain `openssl verify` accepts them). See `docs/interop.md`.
    Polyproto021,
}

impl CertProfile {
    /// Every profile, for help texts and tests.
    pub const ALL: [CertProfile; 2] = [CertProfile::Rfc5280, CertProfile::Polyproto021];

    /// The profile's name as used on command lines: `rfc5280`, `polyproto-0.21`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rfc5280 => "rfc5280",
            Self::Polyproto021 => "polyproto-0.21",
        }
    }

    /// Whether certificates of this profile carry SubjectKeyIdentifier and
    /// AuthorityKeyIdentifier.
    pub fn has_key_identifiers(self) -> bool {
        matches!(self, Self::Rfc5280)
    }
}

impl fmt::Display for CertProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of [`CertProfile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown certificate profile {0:?}: expected `rfc5280` or `polyproto-0.21`")]
pub struct UnknownCertProfile(pub String);

impl FromStr for CertProfile {
    type Err = UnknownCertProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownCertProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in CertProfile::ALL {
            assert_eq!(p.name().parse::<CertProfile>(), Ok(p));
        }
        assert_eq!(CertProfile::default(), CertProfile::Rfc5280);
        assert!("polyproto".parse::<CertProfile>().is_err());
    }
}
