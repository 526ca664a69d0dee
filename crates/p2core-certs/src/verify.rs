//! Verifying root certificates, actor ID-Certs and ID-CSRs against the
//! polyproto certificate profile.
//!
//! Every check returns the [`CertError`] variant of the rule it enforces.
//! Signatures are checked with strict Ed25519 over the received
//! `TBSCertificate` / `CertificationRequestInfo` bytes.

use der::Decode;
use der::asn1::ObjectIdentifier;
use p2core_types::idcert::OID_ED25519;
use p2core_types::pdn::{Pdn, PdnAttribute, PdnError};
use p2core_types::{DomainName, FederationId, IdCert, IdCsr, SessionId, UnixTimestamp};
use x509_cert::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::{CertError, CertKind};

/// BasicConstraints, 2.5.29.19.
pub const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// KeyUsage, 2.5.29.15.
pub const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// SubjectKeyIdentifier, 2.5.29.14.
pub const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// AuthorityKeyIdentifier, 2.5.29.35.
pub const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// PKCS #9 extensionRequest, 1.2.840.113549.1.9.14.
pub const OID_EXTENSION_REQUEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

/// The Ed25519 signature algorithm: OID 1.3.101.112, parameters absent.
fn check_ed25519_alg(kind: CertKind, alg: &AlgorithmIdentifierOwned) -> Result<(), CertError> {
    if alg.oid != OID_ED25519 {
        return Err(CertError::SignatureAlgorithmNotEd25519 { kind, oid: alg.oid });
    }
    if alg.parameters.is_some() {
        return Err(CertError::SignatureAlgorithmParameters { kind });
    }
    Ok(())
}

/// Outer algorithm is Ed25519 and the TBS `signature` field equals it.
fn check_cert_algorithms(kind: CertKind, cert: &IdCert) -> Result<(), CertError> {
    let c = cert.certificate();
    check_ed25519_alg(kind, c.signature_algorithm())?;
    if c.tbs_certificate().signature() != c.signature_algorithm() {
        return Err(CertError::SignatureAlgorithmMismatch { kind });
    }
    Ok(())
}

/// Positive, at most 20 octets and, if `below_2_63`, below 2^63.
///
/// `bytes` is the minimal two's-complement encoding (DER guarantees minimality).
fn check_serial(kind: CertKind, bytes: &[u8], below_2_63: bool) -> Result<(), CertError> {
    if bytes.len() > 20 {
        return Err(CertError::SerialTooLong {
            kind,
            octets: bytes.len(),
        });
    }
    match bytes.first() {
        None => return Err(CertError::SerialNotPositive { kind }),
        Some(b) if b & 0x80 != 0 => return Err(CertError::SerialNotPositive { kind }),
        Some(_) if bytes.iter().all(|&b| b == 0) => {
            return Err(CertError::SerialNotPositive { kind });
        }
        Some(_) => {}
    }
    // A positive value in minimal two's complement fits 8 octets iff < 2^63.
    if below_2_63 && bytes.len() > 8 {
        return Err(CertError::SerialTooLarge { kind });
    }
    Ok(())
}

/// `now` inside `not_before ..= not_after`.
fn check_time(
    kind: CertKind,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    now: UnixTimestamp,
) -> Result<(), CertError> {
    if now < not_before {
        return Err(CertError::NotYetValid {
            kind,
            not_before,
            now,
        });
    }
    if now > not_after {
        return Err(CertError::Expired {
            kind,
            not_after,
            now,
        });
    }
    Ok(())
}

fn parse_pdn<'a>(
    kind: CertKind,
    field: &'static str,
    name: &'a Name,
) -> Result<Pdn<'a>, CertError> {
    Pdn::parse(name).map_err(|e| match e {
        PdnError::Duplicate(attr) => CertError::DuplicateAttribute { kind, attr },
        source => CertError::InvalidName {
            kind,
            field,
            source,
        },
    })
}

/// What the extensions of a certificate (or a CSR's extension request) say
/// about the two extensions the profile constrains.
#[derive(Default)]
struct Constraints {
    /// (critical, value)
    basic: Option<(bool, BasicConstraints)>,
    /// (critical, value)
    key_usage: Option<(bool, KeyUsage)>,
}

fn malformed(kind: CertKind, oid: ObjectIdentifier, e: der::Error) -> CertError {
    CertError::MalformedExtension {
        kind,
        oid,
        reason: e.to_string(),
    }
}

/// Reads BasicConstraints and KeyUsage; rejects duplicated extensions and,
/// if `reject_unknown_critical`, critical extensions other than BC, KU, SKI
/// and AKI. Unknown non-critical extensions are ignored.
fn scan_extensions(
    kind: CertKind,
    extensions: &[Extension],
    reject_unknown_critical: bool,
) -> Result<Constraints, CertError> {
    let mut out = Constraints::default();
    for (i, ext) in extensions.iter().enumerate() {
        let oid = ext.extn_id;
        if extensions[..i].iter().any(|e| e.extn_id == oid) {
            return Err(CertError::DuplicateExtension { kind, oid });
        }
        let value = ext.extn_value.as_bytes();
        if oid == OID_BASIC_CONSTRAINTS {
            let bc = BasicConstraints::from_der(value).map_err(|e| malformed(kind, oid, e))?;
            out.basic = Some((ext.critical, bc));
        } else if oid == OID_KEY_USAGE {
            let ku = KeyUsage::from_der(value).map_err(|e| malformed(kind, oid, e))?;
            out.key_usage = Some((ext.critical, ku));
        } else if oid == OID_SUBJECT_KEY_ID || oid == OID_AUTHORITY_KEY_ID {
            // informational; understood, so accepted whatever their criticality
        } else if ext.critical && reject_unknown_critical {
            return Err(CertError::UnknownCriticalExtension { kind, oid });
        }
    }
    Ok(out)
}

fn certificate_extensions(cert: &IdCert) -> &[Extension] {
    cert.certificate()
        .tbs_certificate()
        .extensions()
        .map_or(&[], |e| e.as_slice())
}

/// Checks the root profile (everything but the self-signature and time) and
/// returns the root subject's pDN.
fn check_root_profile(root: &IdCert) -> Result<Pdn<'_>, CertError> {
    const K: CertKind = CertKind::Root;
    check_cert_algorithms(K, root)?;
    let tbs = root.certificate().tbs_certificate();
    if tbs.version() != Version::V3 {
        return Err(CertError::NotV3 { kind: K });
    }
    check_serial(K, tbs.serial_number().as_bytes(), false)?;
    if root.public_key().is_none() {
        return Err(CertError::KeyNotEd25519 { kind: K });
    }
    let pdn = parse_pdn(K, "subject", root.subject())?;
    for (present, attr) in [
        (pdn.common_name.is_some(), PdnAttribute::CommonName),
        (pdn.uid.is_some(), PdnAttribute::Uid),
        (
            pdn.unique_identifier.is_some(),
            PdnAttribute::UniqueIdentifier,
        ),
    ] {
        if present {
            return Err(CertError::RootHasActorAttribute(attr));
        }
    }
    if pdn.domain_components.is_empty() {
        return Err(CertError::NoDomainComponents {
            kind: K,
            field: "subject",
        });
    }
    if pdn.domain().is_none() {
        return Err(CertError::InvalidDomainComponents {
            kind: K,
            field: "subject",
        });
    }
    if pdn.other_attributes > 0 {
        return Err(CertError::RootSubjectNotDcOnly);
    }
    if root.issuer() != root.subject() {
        return Err(CertError::RootNotSelfIssued);
    }
    let c = scan_extensions(K, certificate_extensions(root), true)?;
    let Some((critical, bc)) = c.basic else {
        return Err(CertError::RootNotCa);
    };
    if !critical {
        return Err(CertError::NotCritical {
            kind: K,
            extension: "BasicConstraints",
        });
    }
    if !bc.ca {
        return Err(CertError::RootNotCa);
    }
    if bc.path_len_constraint != Some(0) {
        return Err(CertError::RootPathLen {
            found: bc.path_len_constraint,
        });
    }
    let Some((critical, ku)) = c.key_usage else {
        return Err(CertError::RootNoKeyCertSign);
    };
    if !critical {
        return Err(CertError::NotCritical {
            kind: K,
            extension: "KeyUsage",
        });
    }
    if !ku.key_cert_sign() {
        return Err(CertError::RootNoKeyCertSign);
    }
    if !(ku.0 - KeyUsages::KeyCertSign - KeyUsages::CRLSign).is_empty() {
        return Err(CertError::RootKeyUsageExtraBits);
    }
    Ok(pdn)
}

/// Verifies a home server's root certificate: the root profile, the
/// self-signature (strict Ed25519 over the received TBSCertificate) and that
/// `now` is inside its validity.
///
/// The self-signature result is remembered inside the [`IdCert`] (see
/// [`IdCert::is_self_signed`]), so verifying a cached root again is cheap.
pub fn verify_root(root: &IdCert, now: UnixTimestamp) -> Result<(), CertError> {
    check_root_profile(root)?;
    if !root.is_self_signed() {
        return Err(CertError::RootSignatureInvalid);
    }
    check_time(CertKind::Root, root.not_before(), root.not_after(), now)
}

/// The root profile and self-signature, without the time check (used when
/// setting up an issuer, whose root may be used to issue at other times).
pub(crate) fn verify_root_at_any_time(root: &IdCert) -> Result<Pdn<'_>, CertError> {
    let pdn = check_root_profile(root)?;
    if !root.is_self_signed() {
        return Err(CertError::RootSignatureInvalid);
    }
    Ok(pdn)
}

/// The checks an actor subject pDN must pass on its own: exactly one CN, UID
/// and uniqueIdentifier; a valid session ID; a valid Federation ID whose
/// local part is the CN and whose domain is spelled by the DCs.
fn check_actor_subject<'a>(
    kind: CertKind,
    subject: &'a Name,
) -> Result<(Pdn<'a>, FederationId, SessionId), CertError> {
    let pdn = parse_pdn(kind, "subject", subject)?;
    let missing = |attr| CertError::MissingAttribute { kind, attr };
    let cn = pdn
        .common_name
        .ok_or_else(|| missing(PdnAttribute::CommonName))?;
    let uid = pdn.uid.ok_or_else(|| missing(PdnAttribute::Uid))?;
    let session = pdn
        .unique_identifier
        .ok_or_else(|| missing(PdnAttribute::UniqueIdentifier))?;
    if pdn.domain_components.is_empty() {
        return Err(CertError::NoDomainComponents {
            kind,
            field: "subject",
        });
    }
    if pdn.dc_after_actor_attribute {
        return Err(CertError::DomainComponentsNotFirst { kind });
    }
    let session =
        SessionId::new(session).map_err(|reason| CertError::InvalidSessionId { kind, reason })?;
    let fid = FederationId::new(uid).map_err(|reason| CertError::InvalidUid {
        kind,
        value: uid.to_owned(),
        reason,
    })?;
    if !cn.eq_ignore_ascii_case(fid.local_name()) {
        return Err(CertError::CnUidMismatch {
            kind,
            cn: cn.to_owned(),
            uid: uid.to_owned(),
        });
    }
    if !pdn.dcs_match(fid.domain()) {
        return Err(CertError::UidDomainMismatch {
            kind,
            uid_domain: fid.domain().to_string(),
            dc_domain: pdn.domain().map(|d| d.to_string()).unwrap_or_default(),
        });
    }
    Ok((pdn, fid, session))
}

/// Verifies an actor's ID-Cert against its home server's root certificate
/// at time `now`.
///
/// Checks, in this order: the root ([`verify_root`]: profile, self-signature,
/// validity at `now`); the certificate's algorithms (Ed25519, TBS field equal
/// to the outer one); v3; serial (positive, 1–20 octets); an Ed25519
/// SubjectPublicKeyInfo (the point itself is decoded on the first call of
/// [`IdCert::public_key`]); issuer equal to the root's subject; the subject pDN (CN, UID,
/// uniqueIdentifier once each, UID local part = CN, UID domain = DCs = the
/// issuer's DCs in the same order); extensions (no duplicates, no unknown
/// critical ones, BasicConstraints absent or `cA=false` and critical, KeyUsage
/// critical with `digitalSignature` or `contentCommitment` and without
/// `keyCertSign`); validity inside the root's; the signature by the root key
/// (strict Ed25519 over the received TBSCertificate); and `now` inside the
/// certificate's validity.
pub fn verify_actor_cert(
    cert: &IdCert,
    root: &IdCert,
    now: UnixTimestamp,
) -> Result<(), CertError> {
    verify_root(root, now)?;
    let root_key = root.public_key().ok_or(CertError::KeyNotEd25519 {
        kind: CertKind::Root,
    })?;
    verify_actor_profile(cert, root)?;
    if !cert.is_signed_by(root_key) {
        return Err(CertError::ActorSignatureInvalid);
    }
    check_time(CertKind::Actor, cert.not_before(), cert.not_after(), now)
}

/// Everything about an actor certificate except the root, the signature and `now`.
fn verify_actor_profile(cert: &IdCert, root: &IdCert) -> Result<(), CertError> {
    const K: CertKind = CertKind::Actor;
    check_cert_algorithms(K, cert)?;
    let tbs = cert.certificate().tbs_certificate();
    if tbs.version() != Version::V3 {
        return Err(CertError::NotV3 { kind: K });
    }
    // Issuers here write serials below 2^63, but any positive serial of 1–20
    // octets is accepted (RFC 5280 §4.1.2.2): OpenSSL and others use 20.
    check_serial(K, tbs.serial_number().as_bytes(), false)?;
    // The subject key's shape only: the chain does not need the point, which
    // is decoded (and checked) on first use of `public_key()`.
    if !cert.has_ed25519_key() {
        return Err(CertError::KeyNotEd25519 { kind: K });
    }
    if cert.issuer() != root.subject() {
        return Err(CertError::IssuerMismatch);
    }
    let (pdn, _, _) = check_actor_subject(K, cert.subject())?;
    // The issuer equals the (already checked) root subject, whose pDN parses.
    let issuer_pdn = parse_pdn(K, "issuer", cert.issuer())?;
    if !pdn.same_dcs(&issuer_pdn) {
        return Err(CertError::SubjectDcMismatch { kind: K });
    }
    let c = scan_extensions(K, certificate_extensions(cert), true)?;
    check_actor_constraints(K, &c, true)?;
    if cert.not_before() < root.not_before() || cert.not_after() > root.not_after() {
        return Err(CertError::OutsideRootValidity {
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            root_not_before: root.not_before(),
            root_not_after: root.not_after(),
        });
    }
    Ok(())
}

/// BasicConstraints absent or `cA=false`; no `keyCertSign`; for certificates
/// (`full`), both critical when present and KeyUsage present with
/// `digitalSignature` or `contentCommitment`.
fn check_actor_constraints(kind: CertKind, c: &Constraints, full: bool) -> Result<(), CertError> {
    if let Some((critical, bc)) = &c.basic {
        if full && !critical {
            return Err(CertError::NotCritical {
                kind,
                extension: "BasicConstraints",
            });
        }
        if bc.ca {
            return Err(CertError::ActorIsCa { kind });
        }
    }
    match &c.key_usage {
        Some((critical, ku)) => {
            if full && !critical {
                return Err(CertError::NotCritical {
                    kind,
                    extension: "KeyUsage",
                });
            }
            if ku.key_cert_sign() {
                return Err(CertError::ActorKeyCertSign { kind });
            }
            if full && !ku.digital_signature() && !ku.non_repudiation() {
                return Err(CertError::ActorNoSigningUsage);
            }
        }
        None if full => return Err(CertError::ActorNoSigningUsage),
        None => {}
    }
    Ok(())
}

/// Verifies an ID-CSR sent by the authenticated actor `expected_actor` to the
/// home server of `domain`.
///
/// Checks: the signature algorithm is Ed25519 without parameters; the key is
/// Ed25519; the self-signature verifies (strict Ed25519 over the received
/// CertificationRequestInfo; proof of possession); the subject pDN (CN, UID,
/// uniqueIdentifier once each, valid session ID, UID = `expected_actor`, CN =
/// its local name, DCs = `domain` in order); and, if the request carries an
/// extensionRequest, that it asks for neither `cA=true` nor `keyCertSign`.
pub fn verify_csr(
    csr: &IdCsr,
    expected_actor: &FederationId,
    domain: &DomainName,
) -> Result<(), CertError> {
    verify_csr_parts(csr, expected_actor, domain).map(|_| ())
}

/// [`verify_csr`], returning the verified session ID.
pub(crate) fn verify_csr_parts(
    csr: &IdCsr,
    expected_actor: &FederationId,
    domain: &DomainName,
) -> Result<SessionId, CertError> {
    const K: CertKind = CertKind::Csr;
    check_ed25519_alg(K, &csr.request().algorithm)?;
    if csr.public_key().is_none() {
        return Err(CertError::KeyNotEd25519 { kind: K });
    }
    if !csr.is_self_signed() {
        return Err(CertError::CsrSignatureInvalid);
    }
    let (pdn, fid, session) = check_actor_subject(K, csr.subject())?;
    if !pdn.dcs_match(domain) {
        return Err(CertError::SubjectDcMismatch { kind: K });
    }
    if &fid != expected_actor {
        return Err(CertError::WrongActor {
            expected: expected_actor.to_string(),
            found: fid.to_string(),
        });
    }
    for attr in csr.request().info.attributes.iter() {
        if attr.oid != OID_EXTENSION_REQUEST {
            continue;
        }
        for value in attr.values.iter() {
            let extensions: Vec<Extension> = value
                .decode_as()
                .map_err(|e| malformed(K, OID_EXTENSION_REQUEST, e))?;
            let c = scan_extensions(K, &extensions, false)?;
            check_actor_constraints(K, &c, false)?;
        }
    }
    Ok(session)
}

/// DER of a value, mapped to a build error.
pub(crate) fn to_der(what: &'static str, value: &impl der::Encode) -> Result<Vec<u8>, CertError> {
    value.to_der().map_err(|e| CertError::build(what, e))
}
