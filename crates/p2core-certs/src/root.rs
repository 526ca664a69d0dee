//! Making the home server's self-signed root certificate.

use ed25519_dalek::SigningKey;
use p2core_types::{DomainName, IdCert, UnixTimestamp, pdn};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::builder::{self, FixedProfile};
use crate::error::CertError;
use crate::profile::CertProfile;

/// Makes the self-signed root certificate of the home server of `domain`.
///
/// Subject and issuer are the DC components of `domain` (one per label, most
/// significant first: `DC=com, DC=example`, IA5String); extensions are BasicConstraints (critical,
/// `cA=true`, `pathLenConstraint=0`), KeyUsage (critical, `keyCertSign`,
/// `cRLSign`) and a SubjectKeyIdentifier ([`CertProfile::Rfc5280`]). `serial` must be in
/// `1 ..= 2^63-1` (see [`fresh_serial`](crate::fresh_serial)).
pub fn create_root_cert(
    key: &SigningKey,
    domain: &DomainName,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    serial: u64,
) -> Result<IdCert, CertError> {
    create_root_cert_with_profile(
        key,
        domain,
        not_before,
        not_after,
        serial,
        CertProfile::Rfc5280,
    )
}

/// [`create_root_cert`] with the extension layout of `profile`: with
/// [`CertProfile::Polyproto021`] the root carries only BasicConstraints and
/// KeyUsage (both critical, in that order), no SubjectKeyIdentifier.
pub fn create_root_cert_with_profile(
    key: &SigningKey,
    domain: &DomainName,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    serial: u64,
    profile: CertProfile,
) -> Result<IdCert, CertError> {
    let serial = builder::check_new_serial(serial)?;
    let name = pdn::home_server_name(domain).map_err(|e| CertError::build("root name", e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(&key.verifying_key())
        .map_err(|e| CertError::build("root public key", e))?;
    let mut extensions = vec![
        builder::basic_constraints(true, Some(0))?,
        builder::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
    ];
    if profile.has_key_identifiers() {
        let ski = builder::subject_key_id(&spki)?;
        extensions.push(builder::ski_extension(&ski, &name)?);
    }
    let profile = FixedProfile::new(name.clone(), name, extensions);
    builder::sign_certificate(profile, serial, not_before, not_after, spki, key)
}
