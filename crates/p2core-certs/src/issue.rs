//! Issuing actor ID-Certs from ID-CSRs.

use std::time::Duration;

use der::Decode;
use ed25519_dalek::SigningKey;
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, UnixTimestamp, pdn};
use x509_cert::ext::pkix::{KeyUsages, SubjectKeyIdentifier};
use x509_cert::time::Validity;

use crate::builder::{self, MAX_SERIAL};
use crate::error::{CertError, CertKind};
use crate::profile::CertProfile;
use crate::verify::{self, OID_SUBJECT_KEY_ID};

/// Lifetime of an actor ID-Cert when the request names none: 30 days.
pub const DEFAULT_ACTOR_CERT_VALIDITY: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Longest lifetime of an actor ID-Cert: 60 days (longer requests are capped).
pub const MAX_ACTOR_CERT_VALIDITY: Duration = Duration::from_secs(60 * 24 * 60 * 60);

/// A fresh random serial number in `1 ..= 2^63-1`.
///
/// 63 random bits make collisions negligible, but serials must be unique per
/// server: the caller stores issued serials and retries on a clash.
pub fn fresh_serial() -> u64 {
    loop {
        let serial = u64::from_be_bytes(p2core_types::random::bytes::<8>()) & MAX_SERIAL;
        if serial != 0 {
            return serial;
        }
    }
}

/// A home server's certificate authority: its root certificate and the
/// matching signing key.
pub struct Issuer {
    root: IdCert,
    key: SigningKey,
    domain: DomainName,
    /// DER of the root's subject: the issuer field of every issued certificate.
    issuer_name_der: Vec<u8>,
    /// DER of the extensions every issued certificate has: BasicConstraints
    /// `cA=false` and KeyUsage `digitalSignature` (both critical).
    fixed_extensions_der: Vec<u8>,
    /// DER of the AuthorityKeyIdentifier extension (the root's key identifier).
    aki_extension_der: Vec<u8>,
    /// The extension layout of issued certificates.
    profile: CertProfile,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("domain", &self.domain)
            .field("root", &self.root)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer for `root`, signing with `key`.
    ///
    /// `root` must pass the root-certificate profile and its self-signature
    /// must verify (its validity period is not checked here; [`issue`](Self::issue)
    /// refuses to issue once it has expired), and `key` must be the private
    /// key of `root`'s public key ([`CertError::KeyMismatch`]).
    pub fn new(root: IdCert, key: SigningKey) -> Result<Self, CertError> {
        Self::with_profile(root, key, CertProfile::Rfc5280)
    }

    /// [`new`](Self::new), issuing certificates with the extension layout of
    /// `profile` (see [`CertProfile`]). A root made for polyproto 0.21
    /// verifiers should itself be made with the same profile
    /// ([`create_root_cert_with_profile`](crate::create_root_cert_with_profile)).
    pub fn with_profile(
        root: IdCert,
        key: SigningKey,
        profile: CertProfile,
    ) -> Result<Self, CertError> {
        let domain = {
            let pdn = verify::verify_root_at_any_time(&root)?;
            pdn.domain().ok_or(CertError::InvalidDomainComponents {
                kind: CertKind::Root,
                field: "subject",
            })?
        };
        if root.public_key() != Some(&key.verifying_key()) {
            return Err(CertError::KeyMismatch);
        }
        let tbs = root.certificate().tbs_certificate();
        let declared = tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == OID_SUBJECT_KEY_ID)
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok());
        let root_key_id = match declared {
            Some(ski) => ski,
            None => builder::subject_key_id(tbs.subject_public_key_info())?,
        };
        let issuer_name_der = verify::to_der("issuer name", root.subject())?;
        let mut fixed_extensions_der =
            verify::to_der("extension", &builder::basic_constraints(false, None)?)?;
        fixed_extensions_der.extend(verify::to_der(
            "extension",
            &builder::key_usage(KeyUsages::DigitalSignature)?,
        )?);
        let aki_extension_der = verify::to_der(
            "extension",
            &builder::aki_extension(&root_key_id, root.subject())?,
        )?;
        Ok(Self {
            root,
            key,
            domain,
            issuer_name_der,
            fixed_extensions_der,
            aki_extension_der,
            profile,
        })
    }

    /// The extension layout of the certificates this issuer makes.
    pub fn profile(&self) -> CertProfile {
        self.profile
    }

    /// The root certificate.
    pub fn root(&self) -> &IdCert {
        &self.root
    }

    /// The home server's domain, as spelled by the root's DC components.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The validity period an actor certificate issued at `now` gets.
    ///
    /// Lifetime: `requested` or [`DEFAULT_ACTOR_CERT_VALIDITY`], capped at
    /// [`MAX_ACTOR_CERT_VALIDITY`]; starts at `now` but never before the root's
    /// notBefore; ends never after the root's notAfter.
    pub fn validity_for(
        &self,
        now: UnixTimestamp,
        requested: Option<Duration>,
    ) -> Result<(UnixTimestamp, UnixTimestamp), CertError> {
        let lifetime = requested.unwrap_or(DEFAULT_ACTOR_CERT_VALIDITY);
        if lifetime.as_secs() == 0 {
            return Err(CertError::InvalidValidity(
                "the requested lifetime is shorter than one second",
            ));
        }
        let lifetime = lifetime.min(MAX_ACTOR_CERT_VALIDITY).as_secs();
        if now > self.root.not_after() {
            return Err(CertError::Expired {
                kind: CertKind::Root,
                not_after: self.root.not_after(),
                now,
            });
        }
        let not_before = now.max(self.root.not_before());
        let not_after = not_before
            .saturating_add(lifetime)
            .min(self.root.not_after());
        Ok((not_before, not_after))
    }

    /// Verifies `csr` for the authenticated actor `expected_actor` (see
    /// [`verify_csr`](crate::verify_csr)) and issues an actor ID-Cert for it
    /// with serial number `serial` (`1 ..= 2^63-1`, unique on this server).
    ///
    /// The validity is chosen by [`validity_for`](Self::validity_for). The
    /// subject is re-encoded canonically from `expected_actor` and the CSR's
    /// session ID; the extensions are BasicConstraints `cA=false` and KeyUsage
    /// `digitalSignature` (both critical), then, in the default
    /// [`CertProfile::Rfc5280`], SubjectKeyIdentifier and
    /// AuthorityKeyIdentifier. The issued certificate passes
    /// [`verify_actor_cert`](crate::verify_actor_cert) and `openssl verify`
    /// (and `openssl verify -x509_strict` in the default profile).
    pub fn issue(
        &self,
        csr: &IdCsr,
        expected_actor: &FederationId,
        now: UnixTimestamp,
        requested_validity: Option<Duration>,
        serial: u64,
    ) -> Result<IdCert, CertError> {
        builder::check_new_serial(serial)?;
        let session = verify::verify_csr_parts(csr, expected_actor, &self.domain)?;
        let (not_before, not_after) = self.validity_for(now, requested_validity)?;
        // The requested subject is reused when it already is the canonical
        // encoding (as `build_csr` makes it); otherwise it is written canonically.
        let subject_der = if pdn::is_canonical_actor_name(csr.subject(), expected_actor, &session) {
            verify::to_der("actor subject", csr.subject())?
        } else {
            let name = pdn::actor_name(expected_actor, &session)
                .map_err(|e| CertError::build("actor subject", e))?;
            verify::to_der("actor subject", &name)?
        };
        let key = csr.public_key().ok_or(CertError::KeyNotEd25519 {
            kind: CertKind::Csr,
        })?;
        let spki_der = builder::ed25519_spki_der(key.as_bytes());
        let ski_der = if self.profile.has_key_identifiers() {
            let ski = builder::subject_key_id(&csr.request().info.public_key)?;
            verify::to_der("extension", &builder::ski_extension(&ski, csr.subject())?)?
        } else {
            Vec::new()
        };
        let aki_der: &[u8] = if self.profile.has_key_identifiers() {
            &self.aki_extension_der
        } else {
            &[]
        };
        let validity = Validity::<x509_cert::certificate::Rfc5280>::new(
            builder::to_time(not_before)?,
            builder::to_time(not_after)?,
        );
        let validity_der = verify::to_der("validity", &validity)?;
        // TBSCertificate, written field by field (RFC 5280 §4.1):
        // version, serialNumber, signature, issuer, validity, subject,
        // subjectPublicKeyInfo, [3] extensions.
        let extensions = builder::tlv(0x30, &[&self.fixed_extensions_der, &ski_der, aki_der])?;
        let tbs = builder::tlv(
            0x30,
            &[
                &builder::VERSION_V3_DER,
                &builder::integer_u64(serial),
                &builder::ED25519_ALGORITHM_DER,
                &self.issuer_name_der,
                &validity_der,
                &subject_der,
                &spki_der,
                &builder::tlv(0xa3, &[&extensions])?,
            ],
        )?;
        builder::sign_tbs(&tbs, &self.key)
    }
}
