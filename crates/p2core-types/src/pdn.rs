//! polyproto distinguished names (pDNs): reading and building the X.509
//! subject and issuer names of ID-Certs and ID-CSRs.
//!
//! A pDN is an ordinary X.509 `Name` whose polyproto attributes are found by
//! OID:
//!
//! | attribute | OID | holds | written as |
//! |---|---|---|---|
//! | `CN` (commonName) | 2.5.4.3 | the actor's local name | UTF8String |
//! | `UID` (userId) | 0.9.2342.19200300.100.1.1 | the actor's Federation ID | UTF8String |
//! | `uniqueIdentifier` | 0.9.2342.19200300.100.1.44 | the session ID | IA5String |
//! | `DC` (domainComponent) | 0.9.2342.19200300.100.1.25 | one label of the home server's domain | IA5String |
//!
//! When reading, every value may be a UTF8String, PrintableString or
//! IA5String, because other tools choose differently (OpenSSL writes CN, UID
//! and uniqueIdentifier as UTF8String and DC as IA5String). Whatever the
//! encoding, the checks on the text itself (a session ID must be 1–32 IA5
//! characters, a UID must be a Federation ID) are made by the caller.
//!
//! The `DC` components appear in the encoded RDN sequence **most significant
//! label first**, as X.501 and RFC 5280 list an RDNSequence from the root and
//! RFC 2247 §3 prescribes: `chat.example.com` is encoded `DC=com`,
//! `DC=example`, `DC=chat` (OpenSSL `-subj "/DC=com/DC=example/DC=chat"`,
//! which OpenSSL prints in RFC 2253 order as `DC=chat,DC=example,DC=com`).
//! Only this order is written and accepted: accepting both would let one
//! encoded name mean two domains (`social.chat` and `chat.social`).
//! Names are built from RDNs explicitly; `Name::from_str` is not used because
//! it takes RFC 4514 string order, which is the reverse of the encoded order.

use std::fmt;

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::{DomainName, FederationId, SessionId};

/// `commonName`, 2.5.4.3: the actor's local name.
pub const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// `userId` (`UID`), 0.9.2342.19200300.100.1.1: the actor's Federation ID.
pub const OID_UID: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
/// `uniqueIdentifier`, 0.9.2342.19200300.100.1.44: the session ID.
pub const OID_UNIQUE_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.44");
/// `domainComponent` (`DC`), 0.9.2342.19200300.100.1.25: one domain label.
pub const OID_DC: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25");

/// One of the four attributes a pDN is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PdnAttribute {
    /// `CN`, the local name.
    CommonName,
    /// `UID`, the Federation ID.
    Uid,
    /// `uniqueIdentifier`, the session ID.
    UniqueIdentifier,
    /// `DC`, a domain component.
    DomainComponent,
}

impl PdnAttribute {
    /// The attribute's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::CommonName => OID_CN,
            Self::Uid => OID_UID,
            Self::UniqueIdentifier => OID_UNIQUE_IDENTIFIER,
            Self::DomainComponent => OID_DC,
        }
    }

    /// The attribute for `oid`, if it is one of the four.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        // Compare the encoded arcs directly: this runs for every attribute of
        // every name that is parsed.
        let b = oid.as_bytes();
        if b == OID_CN.as_bytes() {
            Some(Self::CommonName)
        } else if b == OID_UID.as_bytes() {
            Some(Self::Uid)
        } else if b == OID_UNIQUE_IDENTIFIER.as_bytes() {
            Some(Self::UniqueIdentifier)
        } else if b == OID_DC.as_bytes() {
            Some(Self::DomainComponent)
        } else {
            None
        }
    }

    /// The short name used in messages (`CN`, `UID`, `uniqueIdentifier`, `DC`).
    pub fn name(self) -> &'static str {
        match self {
            Self::CommonName => "CN",
            Self::Uid => "UID",
            Self::UniqueIdentifier => "uniqueIdentifier",
            Self::DomainComponent => "DC",
        }
    }
}

impl fmt::Display for PdnAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a name cannot be read as a pDN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdnError {
    /// `CN`, `UID` or `uniqueIdentifier` occurs more than once.
    #[error("the name has more than one {0} attribute")]
    Duplicate(PdnAttribute),
    /// The value is not a UTF8String, PrintableString or IA5String.
    #[error("the {attr} value is a {tag}, expected UTF8String, PrintableString or IA5String")]
    UnsupportedStringType {
        /// The attribute.
        attr: PdnAttribute,
        /// The ASN.1 tag found.
        tag: Tag,
    },
    /// The value's bytes are not valid for its string type (bad UTF-8, a
    /// non-ASCII byte in an IA5String, a character outside PrintableString).
    #[error("the {0} value is not a valid string of its declared ASN.1 type")]
    InvalidString(PdnAttribute),
    /// A polyproto attribute shares its RDN with other attributes, so its
    /// position in the name is ambiguous.
    #[error("the {0} attribute is inside a multi-valued RDN")]
    MultiValuedRdn(PdnAttribute),
}

fn is_printable(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?')
}

/// The text of a DirectoryString-like value: a UTF8String, PrintableString or
/// IA5String. Returns `None` for any other type or for bytes that are invalid
/// for the declared type. Never allocates.
pub fn directory_string(value: &Any) -> Option<&str> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes).ok(),
        Tag::PrintableString if bytes.iter().all(|&b| is_printable(b)) => {
            std::str::from_utf8(bytes).ok()
        }
        Tag::Ia5String if bytes.is_ascii() => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

fn read_value(attr: PdnAttribute, value: &Any) -> Result<&str, PdnError> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            directory_string(value).ok_or(PdnError::InvalidString(attr))
        }
        tag => Err(PdnError::UnsupportedStringType { attr, tag }),
    }
}

/// The polyproto attributes of a name, borrowed from it.
///
/// Produced by [`Pdn::parse`], which only reads: whether the attributes that
/// are present are the right ones for a home server or an actor is for the
/// verifier to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pdn<'a> {
    /// The `CN` value, if present.
    pub common_name: Option<&'a str>,
    /// The `UID` value, if present (not yet checked to be a Federation ID).
    pub uid: Option<&'a str>,
    /// The `uniqueIdentifier` value, if present (not yet checked to be a session ID).
    pub unique_identifier: Option<&'a str>,
    /// The `DC` values in encoded order.
    pub domain_components: Vec<&'a str>,
    /// How many attributes of other types the name has.
    pub other_attributes: usize,
    /// Whether a `DC` comes after a `CN`, `UID` or `uniqueIdentifier`. An
    /// actor's pDN lists its `DC`s first; the three actor attributes follow
    /// in any order.
    pub dc_after_actor_attribute: bool,
}

impl<'a> Pdn<'a> {
    /// Reads the polyproto attributes of `name` by OID.
    ///
    /// Fails if `CN`, `UID` or `uniqueIdentifier` occurs twice, if a value is
    /// not a UTF8String, PrintableString or IA5String, or if a polyproto
    /// attribute is part of a multi-valued RDN. Other attributes are counted
    /// and otherwise ignored.
    pub fn parse(name: &'a Name) -> Result<Self, PdnError> {
        let mut pdn = Pdn::default();
        for rdn in name.iter_rdn() {
            let multi = rdn.len() > 1;
            for atav in rdn.iter() {
                let Some(attr) = PdnAttribute::from_oid(&atav.oid) else {
                    pdn.other_attributes += 1;
                    continue;
                };
                if multi {
                    return Err(PdnError::MultiValuedRdn(attr));
                }
                let text = read_value(attr, &atav.value)?;
                let slot = match attr {
                    PdnAttribute::CommonName => &mut pdn.common_name,
                    PdnAttribute::Uid => &mut pdn.uid,
                    PdnAttribute::UniqueIdentifier => &mut pdn.unique_identifier,
                    PdnAttribute::DomainComponent => {
                        pdn.dc_after_actor_attribute |= pdn.has_actor_attributes();
                        pdn.domain_components.push(text);
                        continue;
                    }
                };
                if slot.replace(text).is_some() {
                    return Err(PdnError::Duplicate(attr));
                }
            }
        }
        Ok(pdn)
    }

    /// Whether the `DC` values are exactly the labels of `domain`, most
    /// significant first (`DC=com, DC=example` for `example.com`).
    /// Domain labels are compared ASCII-case-insensitively (DNS names are).
    pub fn dcs_match(&self, domain: &DomainName) -> bool {
        let mut labels = domain.labels().rev();
        for dc in &self.domain_components {
            match labels.next() {
                Some(label) if label.eq_ignore_ascii_case(dc) => {}
                _ => return false,
            }
        }
        labels.next().is_none()
    }

    /// Whether both names have the same `DC` values in the same order
    /// (ASCII-case-insensitively).
    pub fn same_dcs(&self, other: &Pdn<'_>) -> bool {
        self.domain_components.len() == other.domain_components.len()
            && self
                .domain_components
                .iter()
                .zip(&other.domain_components)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// The domain the `DC` values name, read most significant first
    /// (`DC=com, DC=example` is `example.com`), if they form a valid domain name.
    pub fn domain(&self) -> Option<DomainName> {
        if self.domain_components.is_empty() {
            return None;
        }
        let mut text = String::new();
        for (i, dc) in self.domain_components.iter().rev().enumerate() {
            if i > 0 {
                text.push('.');
            }
            text.push_str(dc);
        }
        DomainName::new(&text).ok()
    }

    /// Whether any of `CN`, `UID` or `uniqueIdentifier` is present.
    pub fn has_actor_attributes(&self) -> bool {
        self.common_name.is_some() || self.uid.is_some() || self.unique_identifier.is_some()
    }
}

/// The ASN.1 string type to write an attribute value as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// UTF8String.
    Utf8,
    /// IA5String (ASCII only).
    Ia5,
    /// PrintableString (a restricted ASCII subset).
    Printable,
}

impl StringKind {
    fn tag(self) -> Tag {
        match self {
            Self::Utf8 => Tag::Utf8String,
            Self::Ia5 => Tag::Ia5String,
            Self::Printable => Tag::PrintableString,
        }
    }
}

/// One attribute of a name, with its value written as `kind`.
///
/// Fails if `value` cannot be written as `kind` (a non-ASCII character in an
/// IA5String, a character outside PrintableString).
pub fn attribute(
    oid: ObjectIdentifier,
    kind: StringKind,
    value: &str,
) -> Result<AttributeTypeAndValue, der::Error> {
    let ok = match kind {
        StringKind::Utf8 => true,
        StringKind::Ia5 => value.is_ascii(),
        StringKind::Printable => value.bytes().all(is_printable),
    };
    if !ok {
        return Err(der::Error::from(kind.tag().value_error()));
    }
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::new(kind.tag(), value.as_bytes())?,
    })
}

/// A name made of `attributes` in this order, one attribute per RDN.
pub fn name_from_attributes(
    attributes: impl IntoIterator<Item = AttributeTypeAndValue>,
) -> Result<Name, der::Error> {
    let mut rdns = RdnSequence::default();
    for atav in attributes {
        rdns.push(RelativeDistinguishedName::try_from(vec![atav])?);
    }
    // `Name` has no public constructor from an `RdnSequence` (outside
    // x509-cert's `hazmat` feature); both share one encoding, so go through DER.
    Name::from_der(&rdns.to_der()?)
}

fn dc_attributes(
    domain: &DomainName,
) -> impl Iterator<Item = Result<AttributeTypeAndValue, der::Error>> + '_ {
    domain
        .labels()
        .rev()
        .map(|label| attribute(OID_DC, StringKind::Ia5, label))
}

/// The pDN of a home server: one `DC` per label of `domain`, most significant
/// first (`example.com` → `DC=com, DC=example`), as IA5Strings, and nothing else.
///
/// ```
/// use p2core_types::{DomainName, pdn};
/// let name = pdn::home_server_name(&"example.com".parse::<DomainName>()?)?;
/// let parsed = pdn::Pdn::parse(&name)?;
/// assert_eq!(parsed.domain_components, ["com", "example"]);
/// assert_eq!(parsed.domain().unwrap().as_str(), "example.com");
/// assert!(!parsed.has_actor_attributes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn home_server_name(domain: &DomainName) -> Result<Name, der::Error> {
    name_from_attributes(dc_attributes(domain).collect::<Result<Vec<_>, _>>()?)
}

/// The pDN of an actor's session: the `DC`s of the actor's domain, most
/// significant first (IA5String), then `UID` = Federation ID and `CN` = local
/// name (UTF8String), then `uniqueIdentifier` = session ID (IA5String).
///
/// This is the order the official `polyproto` SDK rebuilds when it verifies,
/// and the order OpenSSL produces for
/// `-subj "/DC=com/DC=example/UID=alice@example.com/CN=alice/uniqueIdentifier=s1"`.
/// Readers ([`Pdn::parse`]) accept `UID`, `CN` and `uniqueIdentifier` in any order.
///
/// ```
/// use p2core_types::{FederationId, SessionId, pdn};
/// let fid: FederationId = "alice@example.com".parse()?;
/// let name = pdn::actor_name(&fid, &SessionId::new("s1")?)?;
/// let parsed = pdn::Pdn::parse(&name)?;
/// assert_eq!(parsed.common_name, Some("alice"));
/// assert_eq!(parsed.uid, Some("alice@example.com"));
/// assert_eq!(parsed.unique_identifier, Some("s1"));
/// assert_eq!(parsed.domain_components, ["com", "example"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn actor_name(fid: &FederationId, session_id: &SessionId) -> Result<Name, der::Error> {
    let mut attrs = dc_attributes(fid.domain()).collect::<Result<Vec<_>, _>>()?;
    attrs.push(attribute(OID_UID, StringKind::Utf8, fid.as_str())?);
    attrs.push(attribute(OID_CN, StringKind::Utf8, fid.local_name())?);
    attrs.push(attribute(
        OID_UNIQUE_IDENTIFIER,
        StringKind::Ia5,
        session_id.as_str(),
    )?);
    name_from_attributes(attrs)
}

/// Whether `name` is byte for byte what [`actor_name`] makes for `fid` and
/// `session_id` (same attributes, order, string types and values). Lets an
/// issuer reuse a requested subject without re-encoding it. Never allocates.
pub fn is_canonical_actor_name(name: &Name, fid: &FederationId, session_id: &SessionId) -> bool {
    let expected = fid
        .domain()
        .labels()
        .rev()
        .map(|l| (OID_DC, Tag::Ia5String, l))
        .chain([
            (OID_UID, Tag::Utf8String, fid.as_str()),
            (OID_CN, Tag::Utf8String, fid.local_name()),
            (OID_UNIQUE_IDENTIFIER, Tag::Ia5String, session_id.as_str()),
        ]);
    let mut rdns = name.iter_rdn();
    for (oid, tag, value) in expected {
        let Some(rdn) = rdns.next() else {
            return false;
        };
        let mut atavs = rdn.iter();
        let (Some(atav), None) = (atavs.next(), atavs.next()) else {
            return false;
        };
        if atav.oid != oid || atav.value.tag() != tag || atav.value.value() != value.as_bytes() {
            return false;
        }
    }
    rdns.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atav(oid: ObjectIdentifier, tag: Tag, v: &[u8]) -> AttributeTypeAndValue {
        AttributeTypeAndValue {
            oid,
            value: Any::new(tag, v).unwrap(),
        }
    }

    #[test]
    fn builds_most_significant_first_with_the_right_string_types() {
        let fid: FederationId = "alice@chat.example.com".parse().unwrap();
        let name = actor_name(&fid, &SessionId::new("s1").unwrap()).unwrap();
        let found: Vec<(ObjectIdentifier, Tag, Vec<u8>)> = name
            .iter()
            .map(|a| (a.oid, a.value.tag(), a.value.value().to_vec()))
            .collect();
        assert_eq!(
            found,
            vec![
                (OID_DC, Tag::Ia5String, b"com".to_vec()),
                (OID_DC, Tag::Ia5String, b"example".to_vec()),
                (OID_DC, Tag::Ia5String, b"chat".to_vec()),
                (OID_UID, Tag::Utf8String, b"alice@chat.example.com".to_vec()),
                (OID_CN, Tag::Utf8String, b"alice".to_vec()),
                (OID_UNIQUE_IDENTIFIER, Tag::Ia5String, b"s1".to_vec()),
            ]
        );
        // one attribute per RDN
        assert!(name.iter_rdn().all(|rdn| rdn.len() == 1));
        let sid = SessionId::new("s1").unwrap();
        assert!(is_canonical_actor_name(&name, &fid, &sid));
        assert!(!is_canonical_actor_name(
            &name,
            &fid,
            &SessionId::new("s2").unwrap()
        ));
        let other: FederationId = "alice@example.com".parse().unwrap();
        assert!(!is_canonical_actor_name(&name, &other, &sid));
        // same text, other string type: not canonical
        let mut attrs: Vec<_> = name.iter().cloned().collect();
        let last = attrs.len() - 1;
        attrs[last] = atav(OID_UNIQUE_IDENTIFIER, Tag::Utf8String, b"s1");
        assert!(!is_canonical_actor_name(
            &name_from_attributes(attrs).unwrap(),
            &fid,
            &sid
        ));
    }

    #[test]
    fn reads_every_accepted_string_type() {
        for tag in [Tag::Utf8String, Tag::PrintableString, Tag::Ia5String] {
            let name = name_from_attributes([
                atav(OID_DC, tag, b"com"),
                atav(OID_DC, tag, b"example"),
                atav(OID_CN, tag, b"alice"),
                atav(OID_UNIQUE_IDENTIFIER, tag, b"s1"),
            ])
            .unwrap();
            let pdn = Pdn::parse(&name).unwrap();
            assert_eq!(pdn.common_name, Some("alice"), "{tag}");
            assert_eq!(pdn.unique_identifier, Some("s1"));
            assert!(pdn.dcs_match(&"example.com".parse().unwrap()));
            // the old, least-significant-first reading names another domain
            assert!(!pdn.dcs_match(&"com.example".parse().unwrap()));
            assert!(!pdn.dcs_match(&"example.com.org".parse().unwrap()));
            assert!(!pdn.dcs_match(&"org.example.com".parse().unwrap()));
            assert_eq!(pdn.domain().unwrap().as_str(), "example.com");
        }
    }

    #[test]
    fn rejects_other_string_types_and_bad_bytes() {
        let name = name_from_attributes([atav(OID_CN, Tag::BmpString, b"\0a")]).unwrap();
        assert!(matches!(
            Pdn::parse(&name),
            Err(PdnError::UnsupportedStringType {
                attr: PdnAttribute::CommonName,
                ..
            })
        ));
        let name = name_from_attributes([atav(OID_UID, Tag::Utf8String, b"\xff")]).unwrap();
        assert_eq!(
            Pdn::parse(&name),
            Err(PdnError::InvalidString(PdnAttribute::Uid))
        );
        let name =
            name_from_attributes([atav(OID_UNIQUE_IDENTIFIER, Tag::Ia5String, "é".as_bytes())])
                .unwrap();
        assert_eq!(
            Pdn::parse(&name),
            Err(PdnError::InvalidString(PdnAttribute::UniqueIdentifier))
        );
        let name = name_from_attributes([atav(OID_DC, Tag::PrintableString, b"a_b")]).unwrap();
        assert_eq!(
            Pdn::parse(&name),
            Err(PdnError::InvalidString(PdnAttribute::DomainComponent))
        );
    }

    #[test]
    fn duplicates_and_multi_valued_rdns() {
        let name = name_from_attributes([
            atav(OID_CN, Tag::Utf8String, b"a"),
            atav(OID_CN, Tag::Utf8String, b"b"),
        ])
        .unwrap();
        assert_eq!(
            Pdn::parse(&name),
            Err(PdnError::Duplicate(PdnAttribute::CommonName))
        );
        let rdn = RelativeDistinguishedName::try_from(vec![
            atav(OID_DC, Tag::Ia5String, b"example"),
            atav(OID_DC, Tag::Ia5String, b"com"),
        ])
        .unwrap();
        let mut seq = RdnSequence::default();
        seq.push(rdn);
        let name = Name::from_der(&seq.to_der().unwrap()).unwrap();
        assert_eq!(
            Pdn::parse(&name),
            Err(PdnError::MultiValuedRdn(PdnAttribute::DomainComponent))
        );
    }

    #[test]
    fn actor_attributes_in_any_order_after_the_dcs() {
        let dc = |v: &[u8]| atav(OID_DC, Tag::Ia5String, v);
        let cn = atav(OID_CN, Tag::Utf8String, b"alice");
        let uid = atav(OID_UID, Tag::Utf8String, b"alice@example.com");
        let sid = atav(OID_UNIQUE_IDENTIFIER, Tag::Utf8String, b"s1");
        for tail in [
            [cn.clone(), uid.clone(), sid.clone()],
            [sid.clone(), cn.clone(), uid.clone()],
            [uid.clone(), sid.clone(), cn.clone()],
        ] {
            let mut attrs = vec![dc(b"com"), dc(b"example")];
            attrs.extend(tail);
            let name = name_from_attributes(attrs).unwrap();
            let pdn = Pdn::parse(&name).unwrap();
            assert!(!pdn.dc_after_actor_attribute);
            assert_eq!(pdn.uid, Some("alice@example.com"));
        }
        let name =
            name_from_attributes([dc(b"com"), cn.clone(), dc(b"example"), uid, sid]).unwrap();
        assert!(Pdn::parse(&name).unwrap().dc_after_actor_attribute);
    }

    #[test]
    fn other_attributes_are_counted() {
        let o = ObjectIdentifier::new_unwrap("2.5.4.10");
        let name = name_from_attributes([
            atav(o, Tag::Utf8String, b"Org"),
            atav(OID_DC, Tag::Ia5String, b"localhost"),
        ])
        .unwrap();
        let pdn = Pdn::parse(&name).unwrap();
        assert_eq!(pdn.other_attributes, 1);
        assert_eq!(pdn.domain().unwrap().as_str(), "localhost");
    }

    #[test]
    fn attribute_refuses_unrepresentable_text() {
        assert!(attribute(OID_DC, StringKind::Ia5, "é").is_err());
        assert!(attribute(OID_CN, StringKind::Printable, "a@b").is_err());
        assert!(attribute(OID_CN, StringKind::Utf8, "é").is_ok());
    }
}
