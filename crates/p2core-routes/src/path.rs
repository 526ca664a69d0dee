//! Percent-encoding of path parameters and the small `application/x-www-form-urlencoded`
//! codec used for query strings.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters escaped in a path segment: everything except RFC 3986 `unreserved` and the
/// sub-delimiters/`:`/`@` that `pchar` allows, so `alice@example.com` stays readable.
pub const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Characters escaped in a query name or value: everything except RFC 3986 `unreserved`.
pub const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (a `/` in the value becomes `%2F`).
///
/// ```
/// assert_eq!(p2core_routes::path::encode_segment("a b/c@d"), "a%20b%2Fc@d");
/// ```
pub fn encode_segment(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, PATH_SEGMENT).into()
}

/// Percent-decodes one path segment; `None` if the result is not UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// Why a query string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A name or value is not valid UTF-8 after percent-decoding.
    #[error("query parameter is not UTF-8 after percent-decoding")]
    NotUtf8,
    /// A parameter appeared more than once.
    #[error("query parameter `{0}` given more than once")]
    Duplicate(String),
    /// A parameter value is invalid.
    #[error("query parameter `{name}`: {reason}")]
    Invalid {
        /// The parameter name.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// A required parameter is missing.
    #[error("query parameter `{0}` is required")]
    Missing(&'static str),
}

/// Builds a query string (`?a=1&b=x`) from pairs; the empty string when there are none.
///
/// ```
/// use p2core_routes::path::encode_query;
/// assert_eq!(encode_query(&[("timestamp", "5".into())]), "?timestamp=5");
/// assert_eq!(encode_query(&[]), "");
/// ```
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.extend(utf8_percent_encode(name, QUERY_COMPONENT));
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY_COMPONENT));
    }
    out
}

/// Splits a query string (with or without the leading `?`) into decoded pairs.
///
/// `+` is read as a space, as in HTML forms; empty pieces (`a=1&&b=2`) are skipped.
/// Repeated names are kept; [`single_values`] rejects them.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut out = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        out.push((decode_component(name)?, decode_component(value)?));
    }
    Ok(out)
}

/// Reads the parameters in `known` from a query string, rejecting repeats of them; other
/// parameters are ignored. The result has one entry per `known` name, in that order.
pub fn single_values(
    query: &str,
    known: &[&'static str],
) -> Result<Vec<Option<String>>, QueryError> {
    let mut values: Vec<Option<String>> = vec![None; known.len()];
    for (name, value) in parse_query(query)? {
        if let Some(i) = known.iter().position(|k| *k == name) {
            if values[i].is_some() {
                return Err(QueryError::Duplicate(name));
            }
            values[i] = Some(value);
        }
    }
    Ok(values)
}

fn decode_component(s: &str) -> Result<String, QueryError> {
    let s = s.replace('+', " ");
    percent_decode_str(&s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| QueryError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for s in [
            "alice@example.com",
            "a b",
            "x/y",
            "ünï",
            "%41",
            "a?b#c",
            "{x}",
        ] {
            let e = encode_segment(s);
            assert!(!e.contains('/') && !e.contains('?') && !e.contains('#'));
            assert_eq!(decode_segment(&e).unwrap(), s);
        }
        assert_eq!(encode_segment("alice@example.com"), "alice@example.com");
    }

    #[test]
    fn query_round_trip() {
        let q = encode_query(&[
            ("session_id", "a b&c=d/é".into()),
            ("timestamp", "1".into()),
        ]);
        assert_eq!(q, "?session_id=a%20b%26c%3Dd%2F%C3%A9&timestamp=1");
        let parsed = parse_query(&q).unwrap();
        assert_eq!(parsed[0], ("session_id".into(), "a b&c=d/é".into()));
        assert_eq!(
            parse_query("a+b=c+d&&x").unwrap(),
            vec![("a b".into(), "c d".into()), ("x".into(), String::new())]
        );
        assert_eq!(
            single_values("t=1&t=2", &["t"]),
            Err(QueryError::Duplicate("t".into()))
        );
        assert_eq!(
            single_values("other=1&other=2&t=3", &["t"]).unwrap(),
            vec![Some("3".into())]
        );
        assert_eq!(parse_query("%FF=1"), Err(QueryError::NotUtf8));
    }
}
