//! # p2core-certs
//!
//! Building and verifying polyproto ID-CSRs and ID-Certs (X.509 v3, Ed25519):
//! the home server's self-signed root certificate, actor certificates issued
//! from CSRs, and the checks of the polyproto certificate profile.
//!
//! * [`build_csr`] — a client's self-signed CSR for one session.
//! * [`create_root_cert`] — a home server's root certificate.
//! * [`Issuer`] — verifies a CSR against the authenticated actor and issues.
//! * [`verify_root`], [`verify_actor_cert`], [`verify_csr`] — the checks,
//!   each rule reported by its own [`CertError`] variant.
//!
//! Signatures are always verified with strict Ed25519 over the *received*
//! `TBSCertificate` / `CertificationRequestInfo` bytes (see
//! [`IdCert::tbs_der`](p2core_types::IdCert::tbs_der)).
//!
//! ```
//! use p2core_certs::{Issuer, build_csr, create_root_cert, fresh_serial, verify_actor_cert};
//! use p2core_types::ed25519_dalek::SigningKey;
//! use p2core_types::{DomainName, FederationId, SessionId, UnixTimestamp, random};
//!
//! let now = UnixTimestamp::now();
//! let domain: DomainName = "example.com".parse()?;
//!
//! // the home server, once: a root certificate valid for a year
//! let server_key = SigningKey::from_bytes(&random::bytes::<32>());
//! let root = create_root_cert(&server_key, &domain, now, now.saturating_add(365 * 86400), fresh_serial())?;
//! let issuer = Issuer::new(root.clone(), server_key)?;
//!
//! // a client: one key and one CSR per session
//! let actor: FederationId = "alice@example.com".parse()?;
//! let session_key = SigningKey::from_bytes(&random::bytes::<32>());
//! let csr = build_csr(&session_key, &actor, &SessionId::new("laptop")?)?;
//!
//! // the home server issues (default lifetime 30 days) ...
//! let cert = issuer.issue(&csr, &actor, now, None, fresh_serial())?;
//! assert_eq!(cert.subject_fid(), Some(&actor));
//! assert_eq!(cert.session_id().map(|s| s.as_str()), Some("laptop"));
//!
//! // ... and anybody verifies against the root certificate
//! verify_actor_cert(&cert, &root, now)?;
//! let parsed = p2core_types::IdCert::from_pem(&cert.to_pem())?;
//! assert_eq!(parsed.public_key(), Some(&session_key.verifying_key()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod csr;
mod error;
mod issue;
mod profile;
mod root;
mod verify;

pub use csr::build_csr;
pub use error::{CertError, CertKind};
pub use issue::{DEFAULT_ACTOR_CERT_VALIDITY, Issuer, MAX_ACTOR_CERT_VALIDITY, fresh_serial};
pub use profile::{CertProfile, UnknownCertProfile};
pub use root::{create_root_cert, create_root_cert_with_profile};
pub use verify::{
    OID_AUTHORITY_KEY_ID, OID_BASIC_CONSTRAINTS, OID_EXTENSION_REQUEST, OID_KEY_USAGE,
    OID_SUBJECT_KEY_ID, verify_actor_cert, verify_csr, verify_root,
};
