//! Federation IDs (`actor@example.com`) and the domain names inside them.
//!
//! Validation follows the regex of the polyproto-core specification,
//! `([a-z0-9._%+-]+)@([a-z0-9-]+(\.[a-z0-9-]+)*)`, matched against the *whole*
//! string (fully anchored, unlike the spec's `\b…$`), after lowercasing, because
//! Federation IDs are case-insensitive. The checks are hand-written byte scans:
//! nothing is compiled per call and nothing is allocated except the result.
//!
//! A domain whose last label is all digits or a hexadecimal number (`0x…`) is
//! refused ([`FidError::NumericDomain`]): URL parsers (the WHATWG URL standard,
//! the `url` crate, browsers) read such a host as an IPv4 address, so
//! `2130706433`, `127.1`, `0x7f.1` and `0177.0.0.1` would all reach
//! `127.0.0.1`. This also refuses dotted-quad IP literals; the spec's regex
//! accepts them (see docs/protocol-choices.md).
//!
//! Length limits (the spec sets none, so these are p2core's documented choices):
//! the local name is at most [`MAX_LOCAL_NAME_LEN`] characters (the RFC 5321
//! local-part limit); the domain follows DNS limits, each label at most
//! [`MAX_LABEL_LEN`] and the whole name at most [`MAX_DOMAIN_LEN`] characters.

use std::fmt;
use std::str::FromStr;

/// Longest accepted local name, in characters (RFC 5321 local-part limit).
pub const MAX_LOCAL_NAME_LEN: usize = 64;
/// Longest accepted DNS label, in characters.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest accepted domain name, in characters.
pub const MAX_DOMAIN_LEN: usize = 253;

/// Why a string is not a valid Federation ID, local name or domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FidError {
    /// The string has no `@`, or more than one.
    #[error("a Federation ID has exactly one '@' between local name and domain")]
    MissingOrExtraAt,
    /// The local name is empty.
    #[error("the local name is empty")]
    EmptyLocalName,
    /// The local name is longer than [`MAX_LOCAL_NAME_LEN`].
    #[error("the local name is longer than {MAX_LOCAL_NAME_LEN} characters")]
    LocalNameTooLong,
    /// The local name contains a character outside `a-z 0-9 . _ % + -`.
    #[error("the local name contains {0:?}; allowed are a-z, 0-9 and . _ % + -")]
    InvalidLocalNameChar(char),
    /// The domain is empty.
    #[error("the domain name is empty")]
    EmptyDomain,
    /// The domain is longer than [`MAX_DOMAIN_LEN`].
    #[error("the domain name is longer than {MAX_DOMAIN_LEN} characters")]
    DomainTooLong,
    /// A domain label is empty (leading, trailing or doubled dot).
    #[error("the domain name has an empty label")]
    EmptyLabel,
    /// A domain label is longer than [`MAX_LABEL_LEN`].
    #[error("a domain label is longer than {MAX_LABEL_LEN} characters")]
    LabelTooLong,
    /// The domain contains a character outside `a-z 0-9 -` and the dot.
    #[error("the domain name contains {0:?}; allowed are a-z, 0-9, '-' and '.'")]
    InvalidDomainChar(char),
    /// The last label is all digits or a hexadecimal number (`0x…`): URL
    /// parsers would read the name as an IPv4 address (`127.1`, `2130706433`,
    /// `0x7f.1`, `0177.0.0.1`, `10.0.0.1`).
    #[error(
        "the domain name ends in a number (URL parsers read it as an IP address); \
         IP addresses are not domain names"
    )]
    NumericDomain,
}

fn is_local_byte(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_label_byte(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-')
}

/// Lowercases ASCII and reports the first offending character, if any, of `s`
/// (which may contain any Unicode). Non-ASCII characters are always invalid.
fn lowercase_checked(s: &str, ok: fn(u8) -> bool) -> Result<String, char> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let lower = c.to_ascii_lowercase();
        if !lower.is_ascii() || !ok(lower as u8) {
            return Err(c);
        }
        out.push(lower);
    }
    Ok(out)
}

fn check_local_name(local: &str) -> Result<String, FidError> {
    if local.is_empty() {
        return Err(FidError::EmptyLocalName);
    }
    let lower = lowercase_checked(local, is_local_byte).map_err(FidError::InvalidLocalNameChar)?;
    if lower.len() > MAX_LOCAL_NAME_LEN {
        return Err(FidError::LocalNameTooLong);
    }
    Ok(lower)
}

fn check_domain(domain: &str) -> Result<String, FidError> {
    if domain.is_empty() {
        return Err(FidError::EmptyDomain);
    }
    let lower = lowercase_checked(domain, |b| b == b'.' || is_label_byte(b))
        .map_err(FidError::InvalidDomainChar)?;
    if lower.len() > MAX_DOMAIN_LEN {
        return Err(FidError::DomainTooLong);
    }
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(FidError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(FidError::LabelTooLong);
        }
    }
    if lower.rsplit('.').next().is_some_and(reads_as_ipv4_number) {
        return Err(FidError::NumericDomain);
    }
    Ok(lower)
}

/// `true` if a (lowercase) last label makes a URL parser treat the whole host
/// as an IPv4 address: the WHATWG URL standard's "ends in a number" test, which
/// the `url` crate implements. That is a label of only decimal digits (octal
/// `0177` included), or `0x` followed by zero or more hex digits.
fn reads_as_ipv4_number(label: &str) -> bool {
    if !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    label
        .strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A validated, lowercase domain name such as `example.com` or `localhost`.
///
/// ```
/// use p2core_types::DomainName;
/// let d: DomainName = "Chat.Example.COM".parse().unwrap();
/// assert_eq!(d.as_str(), "chat.example.com");
/// assert_eq!(d.labels().collect::<Vec<_>>(), ["chat", "example", "com"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    /// Validates and lowercases `domain`.
    pub fn new(domain: &str) -> Result<Self, FidError> {
        check_domain(domain).map(Self)
    }

    /// The canonical (lowercase) text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels from left to right (`chat`, `example`, `com`). In an X.509
    /// name these are the `dc` components in the same order.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DomainName {
    type Err = FidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A Federation ID: `local_name@domain`, stored in canonical lowercase form.
///
/// ```
/// use p2core_types::FederationId;
/// let fid: FederationId = "Alice@Example.com".parse().unwrap();
/// assert_eq!(fid.as_str(), "alice@example.com");
/// assert_eq!(fid.local_name(), "alice");
/// assert_eq!(fid.domain().as_str(), "example.com");
/// assert!("alice@exa mple.com".parse::<FederationId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FederationId {
    full: String,
    at: usize,
    domain: DomainName,
}

impl FederationId {
    /// Parses and validates a Federation ID (case-insensitive; stored lowercase).
    pub fn new(fid: &str) -> Result<Self, FidError> {
        let mut parts = fid.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FidError::MissingOrExtraAt);
        };
        Self::from_parts(local, &DomainName::new(domain)?)
    }

    /// Builds a Federation ID from a local name and a domain.
    pub fn from_parts(local_name: &str, domain: &DomainName) -> Result<Self, FidError> {
        let local = check_local_name(local_name)?;
        let at = local.len();
        let mut full = local;
        full.push('@');
        full.push_str(domain.as_str());
        Ok(Self {
            full,
            at,
            domain: domain.clone(),
        })
    }

    /// Checks a local name (the part before `@`) on its own and returns it lowercased.
    pub fn validate_local_name(local_name: &str) -> Result<String, FidError> {
        check_local_name(local_name)
    }

    /// The whole canonical Federation ID.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The local name (the actor's name on its home server).
    pub fn local_name(&self) -> &str {
        &self.full[..self.at]
    }

    /// The domain of the actor's home server.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }
}

impl fmt::Display for FederationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl FromStr for FederationId {
    type Err = FidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for FederationId {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

macro_rules! string_serde {
    ($ty:ty, $what:literal) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <$ty as ::std::str::FromStr>::from_str(&s).map_err(|e| {
                    <D::Error as ::serde::de::Error>::custom(format_args!("invalid {}: {e}", $what))
                })
            }
        }
    };
}
pub(crate) use string_serde;

string_serde!(FederationId, "Federation ID");
string_serde!(DomainName, "domain name");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_canonicalises() {
        for (input, canon) in [
            ("alice@example.com", "alice@example.com"),
            ("ALICE@Example.COM", "alice@example.com"),
            (
                "a.b_c%d+e-f@sub.example.co.uk",
                "a.b_c%d+e-f@sub.example.co.uk",
            ),
            ("bob@localhost", "bob@localhost"),
            ("x@a-b.c", "x@a-b.c"),
        ] {
            assert_eq!(FederationId::new(input).unwrap().as_str(), canon, "{input}");
        }
    }

    #[test]
    fn rejects_what_an_unanchored_regex_would_let_through() {
        // Each of these contains a valid FID as a substring; the spec regex with
        // only `\b…$` would accept some of them.
        for bad in [
            "evil alice@example.com",
            "<x>alice@example.com",
            "alice@example.com\n",
            " alice@example.com",
            "alice@example.com ",
            "alice@@example.com",
            "al@ice@example.com",
            "alice@example..com",
            "alice@.example.com",
            "alice@example.com.",
            "alice@exam_ple.com",
            "alicé@example.com",
            "@example.com",
            "alice@",
            "alice",
            "",
        ] {
            assert!(FederationId::new(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(FederationId::new("alice"), Err(FidError::MissingOrExtraAt));
        assert_eq!(FederationId::new("@x"), Err(FidError::EmptyLocalName));
        assert_eq!(
            FederationId::new("a b@x"),
            Err(FidError::InvalidLocalNameChar(' '))
        );
        assert_eq!(
            FederationId::new("a@x_y"),
            Err(FidError::InvalidDomainChar('_'))
        );
        assert_eq!(FederationId::new("a@x..y"), Err(FidError::EmptyLabel));
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(FederationId::new(&format!("{local64}@x.y")).is_ok());
        assert_eq!(
            FederationId::new(&format!("a{local64}@x.y")),
            Err(FidError::LocalNameTooLong)
        );
        let label63 = "b".repeat(63);
        assert!(DomainName::new(&format!("{label63}.com")).is_ok());
        assert_eq!(
            DomainName::new(&format!("b{label63}.com")),
            Err(FidError::LabelTooLong)
        );
        // 4 labels of 63 + 3 dots = 255 > 253
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(DomainName::new(&long), Err(FidError::DomainTooLong));
        let ok = format!("{}.{}.{}.{}", label63, label63, label63, "c".repeat(61));
        assert_eq!(ok.len(), 253);
        assert!(DomainName::new(&ok).is_ok());
    }

    #[test]
    fn numeric_spellings_of_ip_addresses_are_not_domains() {
        // Each of these is an IPv4 address to a WHATWG URL parser (most of them
        // 127.0.0.1), so a fetch of https://DOMAIN would bypass name resolution.
        for bad in [
            "2130706433",
            "127.1",
            "127.0.1",
            "127.0.0.1",
            "0x7f.1",
            "0x7f000001",
            "0X7F.1",
            "0177.0.0.1",
            "0177.1",
            "017700000001",
            "0x7f.0x0.0x0.0x1",
            "10.0.0.1",
            "169.254.169.254",
            "0",
            "0x",
            "example.0x",
            "example.0xff",
            "example.123",
            "1.1.1.1",
            "08",
            "a.b.09",
        ] {
            assert_eq!(
                DomainName::new(bad),
                Err(FidError::NumericDomain),
                "accepted {bad:?}"
            );
            assert_eq!(
                FederationId::new(&format!("alice@{bad}")),
                Err(FidError::NumericDomain),
                "accepted alice@{bad}"
            );
        }
        // Digits elsewhere, or a last label that is not a number, are fine.
        for good in [
            "127.0.0.1a",
            "1a",
            "0xg",
            "x0",
            "0x1.example",
            "123.example.com",
            "a1.b2.c3d",
            "localhost",
            "3com.com",
        ] {
            assert!(DomainName::new(good).is_ok(), "refused {good:?}");
        }
    }

    #[test]
    fn accessors_and_serde() {
        let fid = FederationId::new("Xenia@Chat.Example.com").unwrap();
        assert_eq!(fid.local_name(), "xenia");
        assert_eq!(
            fid.domain().labels().collect::<Vec<_>>(),
            ["chat", "example", "com"]
        );
        let json = serde_json::to_string(&fid).unwrap();
        assert_eq!(json, "\"xenia@chat.example.com\"");
        let back: FederationId = serde_json::from_str("\"XENIA@chat.example.com\"").unwrap();
        assert_eq!(back, fid);
        assert!(serde_json::from_str::<FederationId>("\"nope\"").is_err());
        assert!(serde_json::from_str::<FederationId>("42").is_err());
    }
}
