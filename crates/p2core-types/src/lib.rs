//! # p2core-types
//!
//! The data types of [polyproto-core](https://polyproto.org): Federation IDs,
//! session IDs, challenge strings, UNIX timestamps, ID-Cert and ID-CSR
//! wrappers that keep the received DER bytes, the JSON error body, gateway
//! event envelopes and (feature `mls`, on by default) MLS KeyPackage wrappers.
//!
//! Everything that parses input validates it completely and returns a typed
//! error; nothing here panics on input.
//!
//! ```
//! use p2core_types::{FederationId, SessionId, ErrorBody, ErrorCode};
//!
//! let fid: FederationId = "Xenia@Example.com".parse()?;
//! assert_eq!(fid.to_string(), "xenia@example.com");
//! assert_eq!(fid.local_name(), "xenia");
//!
//! let session = SessionId::new("phone")?;
//! assert_eq!(session.as_str(), "phone");
//!
//! let body = ErrorBody::new(ErrorCode::FederationIdTaken, "xenia is taken");
//! assert_eq!(
//!     serde_json::to_string(&body)?,
//!     r#"{"errcode":409,"error":"P2CORE_FEDERATION_ID_TAKEN","message":"xenia is taken"}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod challenge;
pub mod error;
pub mod events;
pub mod fid;
pub mod gateway;
pub mod idcert;
#[cfg(feature = "mls")]
pub mod keypackage;
pub mod pdn;
pub mod random;
pub mod session_id;
pub mod timestamp;

pub use challenge::{ChallengeError, ChallengeString, CompletedChallenge};
pub use error::{ErrorBody, ErrorCode};
pub use events::Event;
pub use fid::{DomainName, FederationId, FidError};
pub use idcert::{CertParseError, IdCert, IdCsr};
pub use session_id::{SessionId, SessionIdError};
pub use timestamp::UnixTimestamp;

/// Re-exported so users name the same key types as this crate.
pub use ed25519_dalek;
/// Re-exported so users name the same X.509 types as this crate.
pub use x509_cert;
