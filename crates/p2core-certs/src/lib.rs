#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod cacheable;
mod csr;
mod error;
mod issue;
mod profile;
mod root;
mod verify;

pub use cacheable::{CacheableVerifyError, verify_cacheable};
pub use csr::build_csr;
pub use error::{CertError, CertKind};
pub use issue::{DEFAULT_ACTOR_CERT_VALIDITY, Issuer, MAX_ACTOR_CERT_VALIDITY, fresh_serial};
pub use profile::{CertProfile, UnknownCertProfile};
pub use root::{create_root_cert, create_root_cert_with_profile};
pub use verify::{
    OID_AUTHORITY_KEY_ID, OID_BASIC_CONSTRAINTS, OID_EXTENSION_REQUEST, OID_KEY_USAGE,
    OID_SUBJECT_KEY_ID, verify_actor_cert, verify_csr, verify_root,
};

/// Re-exported: this crate's API takes and returns `p2core-types` values
/// ([`IdCert`](p2core_types::IdCert), [`FederationId`](p2core_types::FederationId), …).
pub use p2core_types;
/// Re-exported: the `OID_*` constants are [`der::asn1::ObjectIdentifier`]s.
pub use p2core_types::der;
/// Re-exported: [`Issuer::new`], [`build_csr`] and [`create_root_cert`] take
/// [`ed25519_dalek::SigningKey`]s.
pub use p2core_types::ed25519_dalek;
/// Re-exported: [`IdCert::certificate`](p2core_types::IdCert::certificate) and
/// the names in [`CertError`] are `x509-cert` types.
pub use p2core_types::x509_cert;
