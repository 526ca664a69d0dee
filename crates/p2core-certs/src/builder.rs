//! Shared plumbing for making certificates with x509-cert's builder: a fixed
//! profile (subject, issuer, extensions chosen by us), time conversion and
//! extension encoding.

use std::cell::Cell;
use std::time::Duration;

use der::DateTime;
use der::asn1::OctetString;
use der::{Encode, referenced::OwnedToRef};
use ed25519_dalek::{Signer, SigningKey};
use p2core_types::{IdCert, UnixTimestamp};
use x509_cert::builder::{Builder, CertificateBuilder, profile::BuilderProfile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::error::{CertError, CertKind};
use crate::verify::{OID_BASIC_CONSTRAINTS, OID_KEY_USAGE};

/// Largest serial accepted: 2^63 - 1.
pub(crate) const MAX_SERIAL: u64 = (1 << 63) - 1;

/// A builder profile that hands out exactly what it was given. The builder
/// asks for each part once, so the parts are moved out, not cloned.
pub(crate) struct FixedProfile {
    subject: Cell<Name>,
    issuer: Cell<Name>,
    extensions: Cell<Vec<Extension>>,
}

impl FixedProfile {
    pub(crate) fn new(subject: Name, issuer: Name, extensions: Vec<Extension>) -> Self {
        Self {
            subject: Cell::new(subject),
            issuer: Cell::new(issuer),
            extensions: Cell::new(extensions),
        }
    }
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.take()
    }

    fn get_subject(&self) -> Name {
        self.subject.take()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.take())
    }
}

pub(crate) fn check_new_serial(serial: u64) -> Result<SerialNumber, CertError> {
    if serial == 0 {
        return Err(CertError::SerialNotPositive {
            kind: CertKind::Actor,
        });
    }
    if serial > MAX_SERIAL {
        return Err(CertError::SerialTooLarge {
            kind: CertKind::Actor,
        });
    }
    Ok(SerialNumber::from(serial))
}

pub(crate) fn to_time(t: UnixTimestamp) -> Result<Time, CertError> {
    DateTime::from_unix_duration(Duration::from_secs(t.as_secs()))
        .map(Time::from)
        .map_err(|_| CertError::InvalidValidity("the date cannot be encoded in X.509 (after 9999)"))
}

pub(crate) fn extension(
    oid: der::asn1::ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, CertError> {
    let bytes = value
        .to_der()
        .map_err(|e| CertError::build("extension", e))?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(bytes).map_err(|e| CertError::build("extension", e))?,
    })
}

pub(crate) fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, CertError> {
    extension(
        OID_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

pub(crate) fn key_usage(
    usage: impl Into<der::flagset::FlagSet<KeyUsages>>,
) -> Result<Extension, CertError> {
    extension(OID_KEY_USAGE, true, &KeyUsage(usage.into()))
}

/// SubjectKeyIdentifier of `spki` (SHA-1 of the key bits, RFC 5280 §4.2.1.2 method 1).
pub(crate) fn subject_key_id(
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<SubjectKeyIdentifier, CertError> {
    SubjectKeyIdentifier::try_from(spki.owned_to_ref())
        .map_err(|e| CertError::build("key identifier", e))
}

pub(crate) fn ski_extension(
    ski: &SubjectKeyIdentifier,
    subject: &Name,
) -> Result<Extension, CertError> {
    ski.to_extension(subject, &[])
        .map_err(|e| CertError::build("extension", e))
}

pub(crate) fn aki_extension(
    issuer_ski: &SubjectKeyIdentifier,
    subject: &Name,
) -> Result<Extension, CertError> {
    AuthorityKeyIdentifier {
        key_identifier: Some(issuer_ski.0.clone()),
        ..Default::default()
    }
    .to_extension(subject, &[])
    .map_err(|e| CertError::build("extension", e))
}

/// DER of the Ed25519 AlgorithmIdentifier: OID 1.3.101.112, no parameters.
pub(crate) const ED25519_ALGORITHM_DER: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Builds, signs (Ed25519) and wraps a certificate.
///
/// The TBSCertificate is encoded once (by the builder), signed, and the
/// certificate's DER is assembled around those very bytes; the result is
/// parsed once into an [`IdCert`].
pub(crate) fn sign_certificate(
    profile: FixedProfile,
    serial: SerialNumber,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    spki: SubjectPublicKeyInfoOwned,
    key: &SigningKey,
) -> Result<IdCert, CertError> {
    if not_before > not_after {
        return Err(CertError::InvalidValidity("notBefore is after notAfter"));
    }
    let validity = Validity::new(to_time(not_before)?, to_time(not_after)?);
    let mut builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| CertError::build("certificate", e))?;
    let tbs = builder
        .finalize(key)
        .map_err(|e| CertError::build("certificate", e))?;
    sign_tbs(&tbs, key)
}

/// Signs DER `tbs` (a TBSCertificate whose `signature` field is Ed25519)
/// and assembles the certificate around exactly those bytes:
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature BIT STRING }`.
pub(crate) fn sign_tbs(tbs: &[u8], key: &SigningKey) -> Result<IdCert, CertError> {
    let signature = key.sign(tbs).to_bytes();
    let content_len = tbs.len() + ED25519_ALGORITHM_DER.len() + 3 + signature.len();
    let mut der = Vec::with_capacity(content_len + 4);
    der.push(0x30);
    push_der_length(&mut der, content_len)?;
    der.extend_from_slice(tbs);
    der.extend_from_slice(&ED25519_ALGORITHM_DER);
    der.extend_from_slice(&[0x03, 0x41, 0x00]); // BIT STRING, 65 octets, 0 unused bits
    der.extend_from_slice(&signature);
    Ok(IdCert::from_der_vec(der)?)
}

/// A DER element: `tag`, definite length, the concatenated `parts`.
pub(crate) fn tlv(tag: u8, parts: &[&[u8]]) -> Result<Vec<u8>, CertError> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 4);
    out.push(tag);
    push_der_length(&mut out, len)?;
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// A positive INTEGER (DER, with tag) holding `value`.
pub(crate) fn integer_u64(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let digits = &bytes[skip..];
    let mut out = Vec::with_capacity(11);
    out.push(0x02);
    if digits[0] & 0x80 != 0 {
        out.push(digits.len() as u8 + 1);
        out.push(0);
    } else {
        out.push(digits.len() as u8);
    }
    out.extend_from_slice(digits);
    out
}

/// SubjectPublicKeyInfo (DER) of an Ed25519 key.
pub(crate) fn ed25519_spki_der(key: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(44);
    out.extend_from_slice(&[0x30, 0x2a]);
    out.extend_from_slice(&ED25519_ALGORITHM_DER);
    out.extend_from_slice(&[0x03, 0x21, 0x00]);
    out.extend_from_slice(key);
    out
}

/// DER of the `[0] EXPLICIT Version v3` field.
pub(crate) const VERSION_V3_DER: [u8; 5] = [0xa0, 0x03, 0x02, 0x01, 0x02];

/// Appends a DER definite length.
fn push_der_length(out: &mut Vec<u8>, len: usize) -> Result<(), CertError> {
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xffff => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => return Err(CertError::build("certificate", "longer than 64 KiB")),
    }
    Ok(())
}
