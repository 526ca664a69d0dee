#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cacheable_cert;
pub mod challenge;
pub mod error;
pub mod events;
pub mod fid;
pub mod gateway;
pub mod idcert;
pub mod jcs;
#[cfg(feature = "mls")]
pub mod keypackage;
pub mod pdn;
pub mod problem;
pub mod random;
pub mod session_id;
pub mod timestamp;
#[cfg(feature = "chrono")]
mod timestamp_chrono;

pub use cacheable_cert::{CacheableError, CacheableIdCert};
pub use challenge::{ChallengeError, ChallengeString, CompletedChallenge};
pub use error::{ErrorBody, ErrorCode};
pub use events::Event;
pub use fid::{DomainName, FederationId, FidError};
pub use idcert::{CertParseError, IdCert, IdCsr};
pub use session_id::{SessionId, SessionIdError};
pub use timestamp::UnixTimestamp;
#[cfg(feature = "chrono")]
pub use timestamp_chrono::TimestampRangeError;

/// Re-exported: `keypackage::KeyPackageError::Base64` (feature `mls`) holds a
/// [`base64::DecodeError`].
pub use base64;
/// Re-exported: [`UnixTimestamp`] converts to and from `chrono::DateTime<Utc>`.
#[cfg(feature = "chrono")]
pub use chrono;
/// Re-exported: DER types (e.g. [`der::asn1::ObjectIdentifier`], [`der::Error`])
/// appear in this crate's API.
pub use der;
/// Re-exported so users name the same key types as this crate.
pub use ed25519_dalek;
/// Re-exported: the KeyPackage API takes and returns openmls types
/// (`Ciphersuite`, `Lifetime`, `KeyPackage`, `OpenMlsProvider`, …).
#[cfg(feature = "mls")]
pub use openmls;
/// Re-exported: a ready-made openmls provider for
/// [`keypackage::generate_key_packages_with`].
#[cfg(feature = "mls")]
pub use openmls_rust_crypto;
/// Re-exported: `SubjectPublicKeyInfo` types appear in this crate's API.
pub use spki;
/// Re-exported: [`keypackage::KeyPackageError::Tls`] holds a [`tls_codec::Error`].
#[cfg(feature = "mls")]
pub use tls_codec;
/// Re-exported so users name the same X.509 types as this crate.
pub use x509_cert;
