//! Making the home server's self-signed root certificate.

use ed25519_dalek::SigningKey;
use p2core_types::{DomainName, IdCert, UnixTimestamp, pdn};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::builder::{self, FixedProfile};
use crate::error::CertError;

/// Makes the self-signed root certificate of the home server of `domain`.
///
/// Subject and issuer are the DC components of `domain` (one per label, in
/// label order, IA5String); extensions are BasicConstraints (critical,
/// `cA=true`, `pathLenConstraint=0`), KeyUsage (critical, `keyCertSign`,
/// `cRLSign`) and a SubjectKeyIdentifier. `serial` must be in
/// `1 ..= 2^63-1` (see [`fresh_serial`](crate::fresh_serial)).
pub fn create_root_cert(
    key: &SigningKey,
    domain: &DomainName,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    serial: u64,
) -> Result<IdCert, CertError> {
    let serial = builder::check_new_serial(serial)?;
    let name = pdn::home_server_name(domain).map_err(|e| CertError::build("root name", e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(&key.verifying_key())
        .map_err(|e| CertError::build("root public key", e))?;
    let ski = builder::subject_key_id(&spki)?;
    let extensions = vec![
        builder::basic_constraints(true, Some(0))?,
        builder::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
        builder::ski_extension(&ski, &name)?,
    ];
    let profile = FixedProfile::new(name.clone(), name, extensions);
    builder::sign_certificate(profile, serial, not_before, not_after, spki, key)
}
