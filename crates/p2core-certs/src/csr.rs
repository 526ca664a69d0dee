//! Building ID-CSRs.

use der::Encode;
use ed25519_dalek::SigningKey;
use p2core_types::{FederationId, IdCsr, SessionId, pdn};
use x509_cert::builder::Builder;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::request::RequestBuilder;

use crate::error::CertError;

/// Builds and self-signs an ID-CSR for the session `session_id` of the actor
/// `fid`, with the key `key` (the session's identity key).
///
/// The subject is the actor pDN (DCs of the actor's domain, CN = local name,
/// UID = Federation ID, uniqueIdentifier = session ID); the request asks for
/// the actor capabilities: KeyUsage `digitalSignature` and BasicConstraints
/// `cA=false`, both critical.
pub fn build_csr(
    key: &SigningKey,
    fid: &FederationId,
    session_id: &SessionId,
) -> Result<IdCsr, CertError> {
    let subject =
        pdn::actor_name(fid, session_id).map_err(|e| CertError::build("CSR subject", e))?;
    let mut builder = RequestBuilder::new(subject).map_err(|e| CertError::build("CSR", e))?;
    builder
        .add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))
        .map_err(|e| CertError::build("CSR", e))?;
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(|e| CertError::build("CSR", e))?;
    let req = builder
        .build::<_, ed25519_dalek::Signature>(key)
        .map_err(|e| CertError::build("CSR", e))?;
    let der = req.to_der().map_err(|e| CertError::build("CSR", e))?;
    Ok(IdCsr::from_der_vec(der)?)
}
