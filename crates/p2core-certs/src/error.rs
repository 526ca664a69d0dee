//! [`CertError`]: one variant per certificate rule.

use std::fmt;

use der::asn1::ObjectIdentifier;
use p2core_types::pdn::{PdnAttribute, PdnError};
use p2core_types::{CertParseError, FidError, SessionIdError, UnixTimestamp};

/// Which object a check was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// The home server's self-signed root certificate.
    Root,
    /// An actor's (session's) ID-Cert.
    Actor,
    /// An ID-CSR.
    Csr,
}

impl fmt::Display for CertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Root => "home-server root certificate",
            Self::Actor => "actor ID-Cert",
            Self::Csr => "ID-CSR",
        })
    }
}

/// Why a certificate or CSR was rejected, or could not be made.
///
/// Every rule of the certificate profile has its own variant, so callers and
/// tests can tell exactly which rule an input broke. Variants that apply to
/// more than one kind of object carry a [`CertKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The input is not well-formed (PEM, DER, or an unusable Ed25519 key).
    #[error("malformed input: {0}")]
    Parse(#[from] CertParseError),

    // ----- algorithms and signatures -----
    /// The signature algorithm is not Ed25519 (1.3.101.112).
    #[error("{kind}: the signature algorithm {oid} is not Ed25519 (1.3.101.112)")]
    SignatureAlgorithmNotEd25519 {
        /// The object checked.
        kind: CertKind,
        /// The algorithm found.
        oid: ObjectIdentifier,
    },
    /// The Ed25519 AlgorithmIdentifier carries parameters (RFC 8410: they must be absent).
    #[error("{kind}: the Ed25519 AlgorithmIdentifier has parameters; they must be absent")]
    SignatureAlgorithmParameters {
        /// The object checked.
        kind: CertKind,
    },
    /// The `signature` field inside the TBSCertificate differs from the outer
    /// `signatureAlgorithm`.
    #[error("{kind}: the TBSCertificate signature algorithm differs from the outer one")]
    SignatureAlgorithmMismatch {
        /// The object checked.
        kind: CertKind,
    },
    /// The subject public key is not an Ed25519 key.
    #[error("{kind}: the subject public key is not an Ed25519 key")]
    KeyNotEd25519 {
        /// The object checked.
        kind: CertKind,
    },
    /// The root certificate's self-signature does not verify (strict Ed25519)
    /// over the received TBSCertificate.
    #[error("the root certificate's self-signature is invalid")]
    RootSignatureInvalid,
    /// The actor certificate's signature does not verify (strict Ed25519)
    /// with the root's key over the received TBSCertificate.
    #[error("the actor ID-Cert is not signed by the home server's root key")]
    ActorSignatureInvalid,
    /// The CSR's self-signature does not verify (strict Ed25519) over the
    /// received CertificationRequestInfo: no proof of possession.
    #[error("the ID-CSR's self-signature is invalid (no proof of possession of the key)")]
    CsrSignatureInvalid,

    // ----- basic fields -----
    /// The certificate is not X.509 version 3.
    #[error("{kind}: only X.509 v3 certificates are ID-Certs")]
    NotV3 {
        /// The object checked.
        kind: CertKind,
    },
    /// The serial number is zero or negative.
    #[error("{kind}: the serial number must be positive")]
    SerialNotPositive {
        /// The object checked.
        kind: CertKind,
    },
    /// A serial number to issue is 2^63 or more (issued serials travel as
    /// JSON `u64`). Verification accepts any positive serial of 1–20 octets.
    #[error("{kind}: the serial number to issue must be below 2^63")]
    SerialTooLarge {
        /// The object checked.
        kind: CertKind,
    },
    /// The serial number is longer than 20 octets (RFC 5280 §4.1.2.2).
    #[error("{kind}: the serial number has {octets} octets, at most 20 are allowed")]
    SerialTooLong {
        /// The object checked.
        kind: CertKind,
        /// Its encoded length.
        octets: usize,
    },

    // ----- names -----
    /// A name could not be read as a pDN (unsupported string type, invalid
    /// string, polyproto attribute in a multi-valued RDN).
    #[error("{kind}: the {field} name is not a valid pDN: {source}")]
    InvalidName {
        /// The object checked.
        kind: CertKind,
        /// `subject` or `issuer`.
        field: &'static str,
        /// What is wrong with it.
        source: PdnError,
    },
    /// `CN`, `UID` or `uniqueIdentifier` occurs more than once in the subject.
    #[error("{kind}: the subject has more than one {attr}")]
    DuplicateAttribute {
        /// The object checked.
        kind: CertKind,
        /// The duplicated attribute.
        attr: PdnAttribute,
    },
    /// The name has no `DC` component.
    #[error("{kind}: the {field} name has no domain component (DC)")]
    NoDomainComponents {
        /// The object checked.
        kind: CertKind,
        /// `subject` or `issuer`.
        field: &'static str,
    },
    /// The `DC` components do not form a valid domain name.
    #[error("{kind}: the {field} domain components do not form a valid domain name")]
    InvalidDomainComponents {
        /// The object checked.
        kind: CertKind,
        /// `subject` or `issuer`.
        field: &'static str,
    },

    // ----- root profile -----
    /// The root certificate's subject and issuer differ (it is not self-issued).
    #[error("the root certificate is not self-issued: subject and issuer differ")]
    RootNotSelfIssued,
    /// The root certificate's subject has a `CN`, `UID` or `uniqueIdentifier`.
    #[error("the root certificate's subject must not have a {0}")]
    RootHasActorAttribute(PdnAttribute),
    /// The root certificate's subject has attributes other than `DC`.
    #[error("the root certificate's subject must consist of DC components only")]
    RootSubjectNotDcOnly,
    /// The root certificate has no BasicConstraints or `cA` is false.
    #[error("the root certificate must have BasicConstraints with cA=true")]
    RootNotCa,
    /// The root certificate's BasicConstraints has no pathLenConstraint or it is not 0.
    #[error("the root certificate's pathLenConstraint must be present and 0, found {found:?}")]
    RootPathLen {
        /// The pathLenConstraint found.
        found: Option<u8>,
    },
    /// The root certificate has no KeyUsage or it lacks `keyCertSign`.
    #[error("the root certificate must have KeyUsage with keyCertSign")]
    RootNoKeyCertSign,
    /// The root certificate's KeyUsage has bits other than `keyCertSign` and `cRLSign`.
    #[error("the root certificate's KeyUsage may only have keyCertSign and cRLSign")]
    RootKeyUsageExtraBits,

    // ----- extensions (both profiles) -----
    /// KeyUsage or BasicConstraints is present but not marked critical.
    #[error("{kind}: the {extension} extension must be critical")]
    NotCritical {
        /// The object checked.
        kind: CertKind,
        /// `KeyUsage` or `BasicConstraints`.
        extension: &'static str,
    },
    /// A critical extension that this implementation does not know.
    #[error("{kind}: unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// The object checked.
        kind: CertKind,
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// The same extension occurs twice (RFC 5280 §4.2).
    #[error("{kind}: the extension {oid} occurs more than once")]
    DuplicateExtension {
        /// The object checked.
        kind: CertKind,
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// A known extension's value cannot be decoded.
    #[error("{kind}: the extension {oid} is malformed: {reason}")]
    MalformedExtension {
        /// The object checked.
        kind: CertKind,
        /// The extension's OID.
        oid: ObjectIdentifier,
        /// The decoding error.
        reason: String,
    },

    // ----- actor profile -----
    /// The actor certificate's issuer is not the root certificate's subject.
    #[error("the actor ID-Cert's issuer is not the home server's subject name")]
    IssuerMismatch,
    /// The subject lacks `CN`, `UID` or `uniqueIdentifier`.
    #[error("{kind}: the subject has no {attr}")]
    MissingAttribute {
        /// The object checked.
        kind: CertKind,
        /// The missing attribute.
        attr: PdnAttribute,
    },
    /// The `UID` is not a valid Federation ID.
    #[error("{kind}: the UID {value:?} is not a Federation ID: {reason}")]
    InvalidUid {
        /// The object checked.
        kind: CertKind,
        /// The UID text.
        value: String,
        /// Why it is invalid.
        reason: FidError,
    },
    /// The `uniqueIdentifier` is not a valid session ID (IA5, 1–32 characters).
    #[error("{kind}: the uniqueIdentifier is not a valid session ID: {reason}")]
    InvalidSessionId {
        /// The object checked.
        kind: CertKind,
        /// Why it is invalid.
        reason: SessionIdError,
    },
    /// The `CN` is not the local name of the `UID`.
    #[error("{kind}: the CN {cn:?} is not the local name of the UID {uid:?}")]
    CnUidMismatch {
        /// The object checked.
        kind: CertKind,
        /// The CN.
        cn: String,
        /// The UID.
        uid: String,
    },
    /// The `UID`'s domain is not the domain spelled by the subject's `DC`s.
    ///
    /// `DC`s are read most significant first (`DC=com, DC=example` is
    /// `example.com`); a name written in the other order (`DC=example,
    /// DC=com`, as p2core before 0.2 and some old tools wrote it) spells
    /// another domain and fails here.
    #[error(
        "{kind}: the UID's domain {uid_domain:?} is not the domain {dc_domain:?} spelled by the subject's DCs (DCs are read most significant first: example.com is DC=com, DC=example)"
    )]
    UidDomainMismatch {
        /// The object checked.
        kind: CertKind,
        /// The domain of the UID.
        uid_domain: String,
        /// The domain the `DC`s spell, most significant first (empty if they
        /// do not form a domain name).
        dc_domain: String,
    },
    /// A `DC` follows `CN`, `UID` or `uniqueIdentifier`: an actor's pDN lists
    /// its `DC`s first.
    #[error("{kind}: the subject's DC components must come before CN, UID and uniqueIdentifier")]
    DomainComponentsNotFirst {
        /// The object checked.
        kind: CertKind,
    },
    /// The subject's `DC`s differ from the issuer's (certificate) or from the
    /// home server's domain (CSR), in value or order.
    #[error(
        "{kind}: the subject's DC components differ from the home server's, or are in another order"
    )]
    SubjectDcMismatch {
        /// The object checked.
        kind: CertKind,
    },
    /// The CSR is for another actor than the authenticated one.
    #[error("the ID-CSR is for {found}, but the authenticated actor is {expected}")]
    WrongActor {
        /// The authenticated actor.
        expected: String,
        /// The UID in the CSR.
        found: String,
    },
    /// An actor certificate (or a CSR's extension request) has BasicConstraints `cA=true`.
    #[error("{kind}: an actor certificate must not be a CA (cA=true)")]
    ActorIsCa {
        /// The object checked.
        kind: CertKind,
    },
    /// An actor certificate (or a CSR's extension request) has KeyUsage `keyCertSign`.
    #[error("{kind}: an actor certificate must not have keyCertSign")]
    ActorKeyCertSign {
        /// The object checked.
        kind: CertKind,
    },
    /// An actor certificate has no KeyUsage, or one with neither
    /// `digitalSignature` nor `contentCommitment`.
    #[error("the actor ID-Cert must have KeyUsage with digitalSignature or contentCommitment")]
    ActorNoSigningUsage,
    /// The actor certificate's validity is not inside the root certificate's.
    #[error(
        "the actor ID-Cert's validity {not_before}..{not_after} is not inside the root's {root_not_before}..{root_not_after}"
    )]
    OutsideRootValidity {
        /// Actor notBefore.
        not_before: UnixTimestamp,
        /// Actor notAfter.
        not_after: UnixTimestamp,
        /// Root notBefore.
        root_not_before: UnixTimestamp,
        /// Root notAfter.
        root_not_after: UnixTimestamp,
    },

    // ----- time -----
    /// `now` is after notAfter.
    #[error("{kind}: expired at {not_after}, now is {now}")]
    Expired {
        /// The object checked.
        kind: CertKind,
        /// Its notAfter.
        not_after: UnixTimestamp,
        /// The time of the check.
        now: UnixTimestamp,
    },
    /// `now` is before notBefore.
    #[error("{kind}: not valid before {not_before}, now is {now}")]
    NotYetValid {
        /// The object checked.
        kind: CertKind,
        /// Its notBefore.
        not_before: UnixTimestamp,
        /// The time of the check.
        now: UnixTimestamp,
    },

    // ----- making certificates -----
    /// The signing key given to [`Issuer::new`](crate::Issuer::new) is not the
    /// root certificate's key.
    #[error("the signing key does not belong to the root certificate")]
    KeyMismatch,
    /// A validity period cannot be used: notBefore after notAfter, a zero
    /// requested lifetime, or a date X.509 cannot encode.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),
    /// Encoding or signing failed while building a certificate or CSR.
    #[error("could not build the {what}: {reason}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// The underlying error.
        reason: String,
    },
}

impl CertError {
    pub(crate) fn build(what: &'static str, e: impl fmt::Display) -> Self {
        Self::Build {
            what,
            reason: e.to_string(),
        }
    }
}
