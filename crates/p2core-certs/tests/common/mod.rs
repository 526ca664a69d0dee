//! Test helpers: a hand-rolled DER encoder ("forge") for certificates and
//! CSRs that break exactly one rule. It does not use x509-cert's builders, so
//! the verifier is tested against bytes made by different code than the
//! issuer's.
#![allow(dead_code)]

use std::time::Duration;

use der::asn1::{Any, ObjectIdentifier};
use der::{DateTime, Encode, Tag};
use ed25519_dalek::{Signer, SigningKey};
use p2core_types::pdn::{self, OID_CN, OID_DC, OID_UID, OID_UNIQUE_IDENTIFIER};
use p2core_types::{IdCert, IdCsr};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

/// The "now" of the forged certificates: 2027-01-15T08:00:00Z.
pub const NOW: u64 = 1_800_000_000;
pub const DAY: u64 = 86_400;
pub const ROOT_NB: u64 = NOW - 30 * DAY;
pub const ROOT_NA: u64 = NOW + 365 * DAY;

pub const ED25519_ALG: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
/// Ed25519 OID with explicit NULL parameters (forbidden by RFC 8410).
pub const ED25519_ALG_NULL: &[u8] = &[0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00];
/// Ed448, 1.3.101.113.
pub const ED448_ALG: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71];

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn root_key() -> SigningKey {
    key(1)
}

pub fn actor_key() -> SigningKey {
    key(2)
}

/// DER tag-length-value.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub fn ed25519_spki(key: &SigningKey) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key.verifying_key().as_bytes());
    seq(&[ED25519_ALG, &tlv(0x03, &bits)])
}

pub fn ed448_spki() -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(&[7u8; 57]);
    seq(&[ED448_ALG, &tlv(0x03, &bits)])
}

pub fn atav(oid: ObjectIdentifier, tag: Tag, value: &str) -> AttributeTypeAndValue {
    AttributeTypeAndValue {
        oid,
        value: Any::new(tag, value.as_bytes()).unwrap(),
    }
}

/// The DCs of `domain`, most significant first (`example.com` → `DC=com, DC=example`).
pub fn dcs(domain: &str) -> Vec<AttributeTypeAndValue> {
    domain
        .split('.')
        .rev()
        .map(|l| atav(OID_DC, Tag::Ia5String, l))
        .collect()
}

pub fn name(attrs: Vec<AttributeTypeAndValue>) -> Name {
    pdn::name_from_attributes(attrs).unwrap()
}

/// The usual actor attributes: DCs, UID, CN, uniqueIdentifier.
pub fn actor_attrs(domain: &str, local: &str, session: &str) -> Vec<AttributeTypeAndValue> {
    let mut a = dcs(domain);
    a.push(atav(OID_UID, Tag::Utf8String, &format!("{local}@{domain}")));
    a.push(atav(OID_CN, Tag::Utf8String, local));
    a.push(atav(OID_UNIQUE_IDENTIFIER, Tag::Ia5String, session));
    a
}

pub fn ext(oid: &str, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: der::asn1::OctetString::new(value).unwrap(),
    }
}

pub fn bc(critical: bool, ca: bool, path_len: Option<u8>) -> Extension {
    let v = BasicConstraints {
        ca,
        path_len_constraint: path_len,
    }
    .to_der()
    .unwrap();
    ext("2.5.29.19", critical, &v)
}

/// An extension whose encoding spells out `critical BOOLEAN FALSE`, which DER
/// forbids (the field has `DEFAULT FALSE`): x509-cert decodes it and drops it
/// when it re-encodes, so the received bytes differ from every re-encoding.
pub fn explicit_false_ext(oid: &str, value: &[u8]) -> Vec<u8> {
    let oid = ObjectIdentifier::new_unwrap(oid).to_der().unwrap();
    seq(&[&oid, &[0x01, 0x01, 0x00], &tlv(0x04, value)])
}

pub fn ku(critical: bool, usage: impl Into<der::flagset::FlagSet<KeyUsages>>) -> Extension {
    let v = KeyUsage(usage.into()).to_der().unwrap();
    ext("2.5.29.15", critical, &v)
}

fn time(t: u64) -> Time {
    Time::from(DateTime::from_unix_duration(Duration::from_secs(t)).unwrap())
}

/// Every field of a certificate, freely settable.
#[derive(Clone)]
pub struct Forge {
    /// `Some(2)` = v3; `None` omits the field (v1).
    pub version: Option<u8>,
    /// Content octets of the serial INTEGER (two's complement).
    pub serial: Vec<u8>,
    pub tbs_alg: Vec<u8>,
    pub outer_alg: Vec<u8>,
    pub issuer: Name,
    pub not_before: u64,
    pub not_after: u64,
    pub subject: Name,
    pub spki: Vec<u8>,
    /// Empty: the field is omitted.
    pub extensions: Vec<Extension>,
    /// When set, the DER of the `Extensions` SEQUENCE, used verbatim instead
    /// of encoding [`extensions`](Self::extensions) (for encodings that
    /// x509-cert would not produce, such as an explicit `critical FALSE`).
    pub raw_extensions: Option<Vec<u8>>,
    pub signer: SigningKey,
    pub tamper_signature: bool,
}

impl Forge {
    /// A root certificate that passes every rule.
    pub fn root(domain: &str) -> Self {
        let key = root_key();
        let n = name(dcs(domain));
        Forge {
            version: Some(2),
            serial: vec![0x01],
            tbs_alg: ED25519_ALG.to_vec(),
            outer_alg: ED25519_ALG.to_vec(),
            issuer: n.clone(),
            not_before: ROOT_NB,
            not_after: ROOT_NA,
            subject: n,
            spki: ed25519_spki(&key),
            extensions: vec![
                bc(true, true, Some(0)),
                ku(true, KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            ],
            raw_extensions: None,
            signer: key,
            tamper_signature: false,
        }
    }

    /// An actor certificate for `local@example.com`, session `s1`, issued by
    /// [`Forge::root("example.com")`], that passes every rule.
    pub fn actor() -> Self {
        Forge {
            version: Some(2),
            serial: vec![0x30, 0x39],
            tbs_alg: ED25519_ALG.to_vec(),
            outer_alg: ED25519_ALG.to_vec(),
            issuer: name(dcs("example.com")),
            not_before: NOW - DAY,
            not_after: NOW + 29 * DAY,
            subject: name(actor_attrs("example.com", "alice", "s1")),
            spki: ed25519_spki(&actor_key()),
            extensions: vec![bc(true, false, None), ku(true, KeyUsages::DigitalSignature)],
            raw_extensions: None,
            signer: root_key(),
            tamper_signature: false,
        }
    }

    pub fn tbs_der(&self) -> Vec<u8> {
        let version = match self.version {
            Some(v) => tlv(0xa0, &tlv(0x02, &[v])),
            None => vec![],
        };
        let validity = Validity::<x509_cert::certificate::Rfc5280>::new(
            time(self.not_before),
            time(self.not_after),
        )
        .to_der()
        .unwrap();
        let exts = if let Some(raw) = &self.raw_extensions {
            tlv(0xa3, raw)
        } else if self.extensions.is_empty() {
            vec![]
        } else {
            tlv(0xa3, &self.extensions.to_der().unwrap())
        };
        seq(&[
            &version,
            &tlv(0x02, &self.serial),
            &self.tbs_alg,
            &self.issuer.to_der().unwrap(),
            &validity,
            &self.subject.to_der().unwrap(),
            &self.spki,
            &exts,
        ])
    }

    pub fn der(&self) -> Vec<u8> {
        self.der_signed_over(&self.tbs_der())
    }

    /// The certificate with this forge's TBS, but its signature computed over
    /// `signed` (which may differ from the TBS that is sent).
    pub fn der_signed_over(&self, signed: &[u8]) -> Vec<u8> {
        let tbs = self.tbs_der();
        let mut sig = self.signer.sign(signed).to_bytes();
        if self.tamper_signature {
            sig[10] ^= 1;
        }
        let mut bits = vec![0u8];
        bits.extend_from_slice(&sig);
        seq(&[&tbs, &self.outer_alg, &tlv(0x03, &bits)])
    }

    pub fn cert(&self) -> IdCert {
        IdCert::from_der(&self.der()).expect("forged certificate parses")
    }
}

/// A root IdCert that passes every rule (domain example.com).
pub fn good_root() -> IdCert {
    Forge::root("example.com").cert()
}

/// Every field of a PKCS #10 request, freely settable.
#[derive(Clone)]
pub struct CsrForge {
    pub subject: Name,
    pub spki: Vec<u8>,
    /// Extensions for an extensionRequest attribute; `None` = no attribute.
    pub requested: Option<Vec<Extension>>,
    /// When set, the content of the `[0] attributes` field, used verbatim
    /// instead of the extensionRequest made from [`requested`](Self::requested)
    /// (for encodings x509-cert would not produce, such as an unsorted SET OF).
    pub raw_attributes: Option<Vec<u8>>,
    pub alg: Vec<u8>,
    pub signer: SigningKey,
    pub tamper_signature: bool,
}

impl CsrForge {
    /// A CSR of alice@example.com, session s1, that passes every rule.
    pub fn alice() -> Self {
        CsrForge {
            subject: name(actor_attrs("example.com", "alice", "s1")),
            spki: ed25519_spki(&actor_key()),
            requested: Some(vec![ku(true, KeyUsages::DigitalSignature)]),
            raw_attributes: None,
            alg: ED25519_ALG.to_vec(),
            signer: actor_key(),
            tamper_signature: false,
        }
    }

    /// The extensionRequest attribute made from [`requested`](Self::requested).
    pub fn extension_request_der(&self) -> Vec<u8> {
        match &self.requested {
            Some(exts) => {
                // Attribute ::= SEQUENCE { type OID, values SET OF ANY }
                let oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14")
                    .to_der()
                    .unwrap();
                seq(&[&oid, &tlv(0x31, &exts.to_der().unwrap())])
            }
            None => vec![],
        }
    }

    pub fn info_der(&self) -> Vec<u8> {
        let attrs = match &self.raw_attributes {
            Some(raw) => raw.clone(),
            None => self.extension_request_der(),
        };
        seq(&[
            &tlv(0x02, &[0]),
            &self.subject.to_der().unwrap(),
            &self.spki,
            &tlv(0xa0, &attrs),
        ])
    }

    pub fn der(&self) -> Vec<u8> {
        self.der_signed_over(&self.info_der())
    }

    /// The CSR with this forge's request info, but its signature computed
    /// over `signed` (which may differ from the info that is sent).
    pub fn der_signed_over(&self, signed: &[u8]) -> Vec<u8> {
        let info = self.info_der();
        let mut sig = self.signer.sign(signed).to_bytes();
        if self.tamper_signature {
            sig[10] ^= 1;
        }
        let mut bits = vec![0u8];
        bits.extend_from_slice(&sig);
        seq(&[&info, &self.alg, &tlv(0x03, &bits)])
    }

    pub fn csr(&self) -> IdCsr {
        IdCsr::from_der(&self.der()).expect("forged CSR parses")
    }
}

/// Runs the `openssl` command line tool in `dir`; returns (success, stdout +
/// stderr). Panics with a clear message when `openssl` cannot be started: the
/// tests that need it fail, never skip (`.ci/run` installs it).
pub fn openssl(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`openssl` is not installed or not on PATH ({e}); these tests need it \
                 (Debian: apt-get install openssl; `.ci/run` installs it)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
