//! ID-Cert and ID-CSR wrappers.
//!
//! [`IdCert`] and [`IdCsr`] keep the DER bytes they were parsed from next to
//! the parsed structure, and remember where the signed part (the
//! `TBSCertificate`, the `CertificationRequestInfo`) lies inside those bytes,
//! so that signatures are always checked over the bytes that were received and
//! never over a re-encoding. They also decode, once, what polyproto needs from
//! the subject name (Federation ID, session ID) and the validity period. The
//! Ed25519 public key of a CSR is decoded when it is parsed (checking the
//! proof of possession needs it); that of a certificate on the first call of
//! [`IdCert::public_key`] (verifying a certificate needs its issuer's key, not
//! its own).
//!
//! Parsing only checks that the input is well-formed DER of the right
//! structure (and, if the key is labelled Ed25519, that it has no parameters
//! and 32 bytes; for a CSR also that it is a curve point). Whether a
//! certificate is a valid polyproto ID-Cert is decided by `p2core-certs`.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use der::asn1::ObjectIdentifier;
use der::{Decode, Header, Reader, SliceReader, Tag};
use ed25519_dalek::VerifyingKey;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::pdn::Pdn;
use crate::{FederationId, SessionId, UnixTimestamp};

/// The Ed25519 algorithm OID, 1.3.101.112 (RFC 8410).
pub const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// PEM label of a certificate.
pub const PEM_LABEL_CERTIFICATE: &str = "CERTIFICATE";
/// PEM label of a certification request.
pub const PEM_LABEL_CSR: &str = "CERTIFICATE REQUEST";

/// Why bytes or text could not be parsed as an ID-Cert or ID-CSR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertParseError {
    /// The text is not valid PEM (boundaries, label line, Base64 body).
    #[error("invalid PEM: {0}")]
    Pem(&'static str),
    /// The PEM text holds no block or more than one.
    #[error("expected exactly one PEM block, found {0}")]
    PemBlockCount(usize),
    /// The PEM block has the wrong label.
    #[error("expected a PEM block labelled {expected:?}, found {found:?}")]
    PemLabel {
        /// The label that was expected.
        expected: &'static str,
        /// The label that was found.
        found: String,
    },
    /// The bytes are not the DER encoding of the expected structure.
    #[error("invalid DER: {0}")]
    Der(der::Error),
    /// The public key is labelled Ed25519 (1.3.101.112) but has parameters or
    /// is not 32 bytes long (certificates and CSRs), or is not a curve point
    /// (CSRs).
    #[error("not a valid Ed25519 public key: {0}")]
    NotEd25519(&'static str),
}

impl From<der::Error> for CertParseError {
    fn from(e: der::Error) -> Self {
        Self::Der(e)
    }
}

/// Decodes exactly one PEM block labelled `label` into DER bytes.
///
/// Surrounding whitespace is ignored; explanatory text before the block
/// (RFC 7468 §5.2) is accepted; a second block, text after the block and
/// headers inside it are not. Certificates are public, so the Base64 body is
/// decoded with a fast (not constant-time) decoder.
fn pem_to_der(pem: &str, label: &'static str) -> Result<Vec<u8>, CertParseError> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    const DASHES: &str = "-----";
    let text = pem.trim();
    let blocks = text.matches(BEGIN).count();
    if blocks != 1 {
        return Err(CertParseError::PemBlockCount(blocks));
    }
    let Some(begin) = text.find(BEGIN) else {
        return Err(CertParseError::PemBlockCount(0));
    };
    let start = begin + BEGIN.len();
    let (found, rest) = text[start..].split_once(DASHES).ok_or(CertParseError::Pem(
        "the BEGIN line is not terminated by -----",
    ))?;
    if found != label {
        return Err(CertParseError::PemLabel {
            expected: label,
            found: found.to_owned(),
        });
    }
    let end_at = rest.rfind(END).ok_or(CertParseError::Pem("no END line"))?;
    let (body, end) = rest.split_at(end_at);
    let end_label = end[END.len()..]
        .strip_suffix(DASHES)
        .ok_or(CertParseError::Pem("text after the END line"))?;
    if end_label != label {
        return Err(CertParseError::Pem(
            "the END label differs from the BEGIN label",
        ));
    }
    if !body.starts_with(['\n', '\r']) {
        return Err(CertParseError::Pem(
            "the BEGIN line is not followed by a line break",
        ));
    }
    let mut compact = Vec::with_capacity(body.len());
    for &b in body.as_bytes() {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b':' => return Err(CertParseError::Pem("PEM headers are not supported")),
            _ => compact.push(b),
        }
    }
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &compact)
        .map_err(|_| CertParseError::Pem("the body is not valid Base64"))
}

fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 32);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        // Base64 text is ASCII, so every index is a character boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The byte range of the first element inside the outer SEQUENCE of `der`
/// (the `TBSCertificate` of a certificate, the `CertificationRequestInfo` of
/// a request).
fn first_inner_element(der: &[u8]) -> Result<Range<usize>, CertParseError> {
    let mut reader = SliceReader::new(der)?;
    let outer = Header::decode(&mut reader)?;
    if outer.tag() != Tag::Sequence {
        return Err(CertParseError::Der(der::Error::from(
            der::ErrorKind::TagUnexpected {
                expected: Some(Tag::Sequence),
                actual: outer.tag(),
            },
        )));
    }
    let start = usize::try_from(reader.position())?;
    let inner = reader.tlv_bytes()?;
    Ok(start..start + inner.len())
}

/// The raw Ed25519 public key of `spki`: `Ok(None)` if the key is of another
/// algorithm, an error if it says Ed25519 but has parameters or is not 32 bytes.
fn ed25519_key_bytes(spki: &SubjectPublicKeyInfoOwned) -> Result<Option<[u8; 32]>, CertParseError> {
    if spki.algorithm.oid != OID_ED25519 {
        return Ok(None);
    }
    if spki.algorithm.parameters.is_some() {
        return Err(CertParseError::NotEd25519(
            "the algorithm parameters must be absent (RFC 8410)",
        ));
    }
    spki.subject_public_key
        .as_bytes()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Some)
        .ok_or(CertParseError::NotEd25519("the key is not 32 bytes"))
}

/// Decodes the Ed25519 public key of `spki`: `Ok(None)` if the key is of
/// another algorithm, an error if it says Ed25519 but is not a valid key.
fn ed25519_key(spki: &SubjectPublicKeyInfoOwned) -> Result<Option<VerifyingKey>, CertParseError> {
    match ed25519_key_bytes(spki)? {
        None => Ok(None),
        Some(bytes) => VerifyingKey::from_bytes(&bytes)
            .map(Some)
            .map_err(|_| CertParseError::NotEd25519("the key is not a curve point")),
    }
}

/// The subject's Federation ID (`UID`) and session ID (`uniqueIdentifier`),
/// each only if present exactly once, readable and valid.
fn subject_ids(subject: &Name) -> (Option<FederationId>, Option<SessionId>) {
    match Pdn::parse(subject) {
        Ok(pdn) => (
            pdn.uid.and_then(|u| FederationId::new(u).ok()),
            pdn.unique_identifier.and_then(|s| SessionId::new(s).ok()),
        ),
        Err(_) => (None, None),
    }
}

/// An X.509 certificate as received: the DER bytes, the parsed
/// [`Certificate`] and the location of the signed `TBSCertificate` inside the
/// bytes.
///
/// ```
/// # fn demo(pem: &str) -> Result<(), p2core_types::CertParseError> {
/// use p2core_types::IdCert;
/// let cert = IdCert::from_pem(pem)?;
/// // the signature covers exactly these received bytes
/// let signed: &[u8] = cert.tbs_der();
/// # let _ = signed;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IdCert {
    der: Vec<u8>,
    cert: Certificate,
    tbs: Range<usize>,
    subject_fid: Option<FederationId>,
    session_id: Option<SessionId>,
    /// The raw key if the SPKI is Ed25519; decoded into `public_key` on first use.
    ed25519_bytes: Option<[u8; 32]>,
    public_key: OnceLock<Option<VerifyingKey>>,
    not_before: UnixTimestamp,
    not_after: UnixTimestamp,
    self_signature_ok: OnceLock<bool>,
}

/// Strict Ed25519 verification of a signature BIT STRING over `message`.
/// `false` if the BIT STRING has unused bits or is not 64 bytes long.
fn ed25519_verify_bits(
    key: &VerifyingKey,
    message: &[u8],
    signature: &der::asn1::BitString,
) -> bool {
    let Some(bytes) = signature.as_bytes() else {
        return false;
    };
    let Ok(bytes) = <&[u8; 64]>::try_from(bytes) else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(bytes))
        .is_ok()
}

impl IdCert {
    /// Parses a DER-encoded certificate (the whole input must be one certificate).
    pub fn from_der(der: &[u8]) -> Result<Self, CertParseError> {
        Self::from_der_vec(der.to_vec())
    }

    /// Parses a DER-encoded certificate, taking ownership of the bytes.
    pub fn from_der_vec(der: Vec<u8>) -> Result<Self, CertParseError> {
        let cert = Certificate::from_der(&der)?;
        let tbs = first_inner_element(&der)?;
        let tbs_cert = cert.tbs_certificate();
        let ed25519_bytes = ed25519_key_bytes(tbs_cert.subject_public_key_info())?;
        let (subject_fid, session_id) = subject_ids(tbs_cert.subject());
        let validity = tbs_cert.validity();
        let not_before = UnixTimestamp(validity.not_before.to_unix_duration().as_secs());
        let not_after = UnixTimestamp(validity.not_after.to_unix_duration().as_secs());
        Ok(Self {
            der,
            cert,
            tbs,
            subject_fid,
            session_id,
            ed25519_bytes,
            public_key: OnceLock::new(),
            not_before,
            not_after,
            self_signature_ok: OnceLock::new(),
        })
    }

    /// Whether the signature verifies (strict Ed25519) with `key` over the
    /// received TBSCertificate bytes. Checks the signature only, not the
    /// algorithm identifiers.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        ed25519_verify_bits(key, self.tbs_der(), self.cert.signature())
    }

    /// Whether the certificate is signed by its own Ed25519 key (as a root
    /// certificate is), checked like [`is_signed_by`](Self::is_signed_by).
    ///
    /// The answer is computed once per `IdCert` value and then remembered, so
    /// a cached root certificate costs one signature check in its lifetime.
    pub fn is_self_signed(&self) -> bool {
        *self
            .self_signature_ok
            .get_or_init(|| self.public_key().is_some_and(|k| self.is_signed_by(k)))
    }

    /// Parses exactly one PEM block labelled `CERTIFICATE`.
    pub fn from_pem(pem: &str) -> Result<Self, CertParseError> {
        Self::from_der_vec(pem_to_der(pem, PEM_LABEL_CERTIFICATE)?)
    }

    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`, LF line endings),
    /// made from the received bytes.
    pub fn to_pem(&self) -> String {
        der_to_pem(PEM_LABEL_CERTIFICATE, &self.der)
    }

    /// The received DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The received `TBSCertificate` bytes (a slice of [`as_der`](Self::as_der),
    /// never re-encoded): what the issuer's signature covers.
    pub fn tbs_der(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// The signature bytes (the content of the signature BIT STRING; for
    /// Ed25519, 64 bytes).
    pub fn signature_bytes(&self) -> &[u8] {
        self.cert.signature().raw_bytes()
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    /// The subject's Federation ID, from its `UID` attribute, if present once
    /// and a valid Federation ID.
    pub fn subject_fid(&self) -> Option<&FederationId> {
        self.subject_fid.as_ref()
    }

    /// The session ID, from the subject's `uniqueIdentifier` attribute, if
    /// present once and a valid session ID.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.session_id.as_ref()
    }

    /// The serial number as an unsigned decimal integer of any length (what
    /// the current revision signs in a `CacheableIdCert`); `None` for a
    /// negative or zero serial.
    pub fn serial_decimal(&self) -> Option<String> {
        let bytes = self.cert.tbs_certificate().serial_number().as_bytes();
        let (&first, _) = bytes.split_first()?;
        if first & 0x80 != 0 {
            return None;
        }
        // Repeated division by 10 of the big-endian magnitude.
        let mut digits = Vec::new();
        let mut n: Vec<u8> = bytes.to_vec();
        while n.iter().any(|&b| b != 0) {
            let mut rem = 0u16;
            for b in &mut n {
                let cur = (rem << 8) | u16::from(*b);
                *b = u8::try_from(cur / 10).unwrap_or(0);
                rem = cur % 10;
            }
            digits.push(char::from(b'0' + u8::try_from(rem).unwrap_or(0)));
        }
        if digits.is_empty() {
            return None;
        }
        Some(digits.into_iter().rev().collect())
    }

    /// The serial number if it is a positive integer below 2^64.
    pub fn serial_u64(&self) -> Option<u64> {
        serial_to_u64(self.cert.tbs_certificate().serial_number().as_bytes())
    }

    /// The start of the validity period.
    pub fn not_before(&self) -> UnixTimestamp {
        self.not_before
    }

    /// The end of the validity period (the certificate is still valid at this second).
    pub fn not_after(&self) -> UnixTimestamp {
        self.not_after
    }

    /// The subject's Ed25519 public key; `None` if the key is of another
    /// algorithm or is not a valid Ed25519 point.
    ///
    /// The point is decoded on the first call and remembered (verifying a
    /// certificate's chain does not need the subject's own key, so parsing
    /// does not pay for decoding it).
    pub fn public_key(&self) -> Option<&VerifyingKey> {
        self.public_key
            .get_or_init(|| {
                self.ed25519_bytes
                    .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            })
            .as_ref()
    }

    /// Whether the SubjectPublicKeyInfo is an Ed25519 key: OID 1.3.101.112,
    /// no parameters, 32 key bytes. (Whether those bytes are a valid point is
    /// seen by [`public_key`](Self::public_key).)
    pub fn has_ed25519_key(&self) -> bool {
        self.ed25519_bytes.is_some()
    }

    /// The subject name.
    pub fn subject(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    /// The issuer name.
    pub fn issuer(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }
}

/// A positive two's-complement big-endian INTEGER below 2^64 as a `u64`.
fn serial_to_u64(bytes: &[u8]) -> Option<u64> {
    let (&first, _) = bytes.split_first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    let digits = if first == 0 { &bytes[1..] } else { bytes };
    if digits.len() > 8 {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (value != 0).then_some(value)
}

impl fmt::Debug for IdCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCert")
            .field("subject", &self.subject().to_string())
            .field("issuer", &self.issuer().to_string())
            .field("serial", &self.cert.tbs_certificate().serial_number())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl PartialEq for IdCert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for IdCert {}

/// A PKCS #10 certification request as received: the DER bytes, the parsed
/// [`CertReq`] and the location of the signed `CertificationRequestInfo`.
#[derive(Clone)]
pub struct IdCsr {
    der: Vec<u8>,
    req: CertReq,
    info: Range<usize>,
    subject_fid: Option<FederationId>,
    session_id: Option<SessionId>,
    public_key: Option<VerifyingKey>,
}

impl IdCsr {
    /// Parses a DER-encoded certification request.
    pub fn from_der(der: &[u8]) -> Result<Self, CertParseError> {
        Self::from_der_vec(der.to_vec())
    }

    /// Parses a DER-encoded certification request, taking ownership of the bytes.
    pub fn from_der_vec(der: Vec<u8>) -> Result<Self, CertParseError> {
        let req = CertReq::from_der(&der)?;
        let info = first_inner_element(&der)?;
        let public_key = ed25519_key(&req.info.public_key)?;
        let (subject_fid, session_id) = subject_ids(&req.info.subject);
        Ok(Self {
            der,
            req,
            info,
            subject_fid,
            session_id,
            public_key,
        })
    }

    /// Parses exactly one PEM block labelled `CERTIFICATE REQUEST`.
    pub fn from_pem(pem: &str) -> Result<Self, CertParseError> {
        Self::from_der_vec(pem_to_der(pem, PEM_LABEL_CSR)?)
    }

    /// The request as PEM (`-----BEGIN CERTIFICATE REQUEST-----`), made from
    /// the received bytes.
    pub fn to_pem(&self) -> String {
        der_to_pem(PEM_LABEL_CSR, &self.der)
    }

    /// The received DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The received `CertificationRequestInfo` bytes (never re-encoded): what
    /// the request's self-signature covers.
    pub fn info_der(&self) -> &[u8] {
        &self.der[self.info.clone()]
    }

    /// The signature bytes (content of the signature BIT STRING).
    pub fn signature_bytes(&self) -> &[u8] {
        self.req.signature.raw_bytes()
    }

    /// Whether the self-signature verifies (strict Ed25519) with the
    /// request's own key over the received CertificationRequestInfo bytes
    /// (proof of possession). Checks the signature only, not the algorithm
    /// identifier. `false` if the key is not Ed25519.
    pub fn is_self_signed(&self) -> bool {
        self.public_key
            .as_ref()
            .is_some_and(|k| ed25519_verify_bits(k, self.info_der(), &self.req.signature))
    }

    /// The parsed request.
    pub fn request(&self) -> &CertReq {
        &self.req
    }

    /// The requested subject name.
    pub fn subject(&self) -> &Name {
        &self.req.info.subject
    }

    /// The Federation ID in the subject's `UID`, if present once and valid.
    pub fn subject_fid(&self) -> Option<&FederationId> {
        self.subject_fid.as_ref()
    }

    /// The session ID in the subject's `uniqueIdentifier`, if present once and valid.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.session_id.as_ref()
    }

    /// The Ed25519 public key to be certified; `None` if of another algorithm.
    pub fn public_key(&self) -> Option<&VerifyingKey> {
        self.public_key.as_ref()
    }
}

impl fmt::Debug for IdCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCsr")
            .field("subject", &self.subject().to_string())
            .finish_non_exhaustive()
    }
}

impl PartialEq for IdCsr {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for IdCsr {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(serial_to_u64(&[]), None);
        assert_eq!(serial_to_u64(&[0]), None);
        assert_eq!(serial_to_u64(&[0x80]), None);
        assert_eq!(serial_to_u64(&[0xff, 0x01]), None);
        assert_eq!(serial_to_u64(&[1]), Some(1));
        assert_eq!(serial_to_u64(&[0x00, 0x80]), Some(128));
        assert_eq!(
            serial_to_u64(&[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Some(u64::MAX)
        );
        assert_eq!(serial_to_u64(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn pem_block_rules() {
        assert_eq!(
            IdCert::from_pem("nothing here").unwrap_err(),
            CertParseError::PemBlockCount(0)
        );
        let two = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\
                   -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            IdCert::from_pem(two).unwrap_err(),
            CertParseError::PemBlockCount(2)
        );
        let csr_label =
            "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n";
        assert!(matches!(
            IdCert::from_pem(csr_label).unwrap_err(),
            CertParseError::PemLabel { .. }
        ));
        let garbage_der = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            IdCert::from_pem(garbage_der).unwrap_err(),
            CertParseError::Der(_)
        ));
        assert!(matches!(
            IdCsr::from_der(&[0x30, 0x00]).unwrap_err(),
            CertParseError::Der(_)
        ));
    }
}
