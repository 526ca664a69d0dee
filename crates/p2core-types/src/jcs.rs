//! JSON Canonicalization Scheme (RFC 8785), as the current polyproto-core
//! revision requires for its JSON bodies.
//!
//! [`to_string`] writes any `Serialize` value canonically: object members
//! sorted by the UTF-16 code units of their names, no whitespace, strings
//! with only the escapes RFC 8785 §3.2.2.2 prescribes (`\"`, `\\`, `\b`, `\f`,
//! `\n`, `\r`, `\t`, other control characters as `\u00xx` with lowercase hex;
//! `/` and non-ASCII characters as they are), integers in decimal.
//!
//! Numbers: p2core writes every u64 of the current revision as a decimal
//! *string* (see [`decimal`]), so the only numbers in its bodies are small
//! integers. As RFC 8785 requires, a number is an IEEE 754 double printed as
//! ECMAScript prints it: integers up to 2^53 exactly, larger ones as their
//! nearest double (`18446744073709551615` → `18446744073709552000`), and
//! other doubles in ECMAScript's shortest form. Doubles that ECMAScript prints
//! with an exponent (below 1e-6 or from 1e21 on) are refused with
//! [`JcsError::Float`]. `interop/tests/cacheable_cert.rs` compares the output
//! with `serde_json_canonicalizer`.

use serde::Serialize;
use serde_json::Value;

/// Why a value has no canonical form here.
#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    /// The value could not be turned into JSON.
    #[error("not serializable as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A number ECMAScript would print with an exponent (not supported; see the module docs).
    #[error("{0} needs an exponent; this JCS writer does not print those")]
    Float(f64),
}

/// The canonical JSON text of `value`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, JcsError> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    write_value(&value, &mut out)?;
    Ok(out)
}

/// The canonical JSON text of an already parsed value.
pub fn value_to_string(value: &Value) -> Result<String, JcsError> {
    let mut out = String::new();
    write_value(value, &mut out)?;
    Ok(out)
}

/// `true` if `text` is JSON and exactly its own canonical form (what the
/// official SDK checks on certificate lookups).
pub fn is_canonical(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| value_to_string(&v).ok())
        .is_some_and(|c| c == text)
}

fn write_value(value: &Value, out: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(n: &serde_json::Number, out: &mut String) -> Result<(), JcsError> {
    // RFC 8785 numbers are IEEE 754 doubles printed as ECMAScript does.
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT) {
        out.push_str(&u.to_string());
        return Ok(());
    }
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        out.push_str(&i.to_string());
        return Ok(());
    }
    // Larger integers become the nearest double, as in ECMAScript; then the
    // double is printed. Rust's shortest round-trip `Display` of an f64 is
    // ECMAScript's `Number.prototype.toString` wherever the latter uses no
    // exponent: 0 and 1e-6 <= |x| < 1e21. Outside that range: refused.
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f == 0.0 {
        out.push('0'); // also -0, as ECMAScript prints it
        return Ok(());
    }
    if f.is_finite() && (1e-6..1e21).contains(&f.abs()) {
        out.push_str(&format!("{f}"));
        return Ok(());
    }
    Err(JcsError::Float(f))
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Serde helpers for the current revision's rule "every u64 is a decimal
/// string": `#[serde(with = "p2core_types::jcs::decimal")]` on a `u64` or a
/// [`UnixTimestamp`](crate::UnixTimestamp) field writes `"1700000000"`, and
/// reads a decimal string or (tolerated on input) a JSON number.
/// [`decimal::option`] does the same for an `Option`, together with
/// `#[serde(default, skip_serializing_if = "Option::is_none")]`.
pub mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::UnixTimestamp;

    /// A value with a decimal form (`u64`, [`UnixTimestamp`]).
    pub trait Decimal: Sized {
        /// The value as a u64.
        fn to_u64(&self) -> u64;
        /// The value from a u64.
        fn from_u64(v: u64) -> Self;
    }

    impl Decimal for u64 {
        fn to_u64(&self) -> u64 {
            *self
        }
        fn from_u64(v: u64) -> Self {
            v
        }
    }

    impl Decimal for UnixTimestamp {
        fn to_u64(&self) -> u64 {
            self.0
        }
        fn from_u64(v: u64) -> Self {
            UnixTimestamp(v)
        }
    }

    /// Writes the value as a decimal string.
    pub fn serialize<T: Decimal, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&v.to_u64())
    }

    /// Reads a decimal string (or a JSON number).
    pub fn deserialize<'de, T: Decimal, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        // UnixTimestamp reads both forms and refuses signs, fractions and overflow.
        Ok(T::from_u64(UnixTimestamp::deserialize(d)?.0))
    }

    /// The same for `Option<T>` (absent or `null` is `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::Decimal;
        use crate::UnixTimestamp;

        /// Writes `Some(v)` as a decimal string, `None` as `null` (skip it with
        /// `skip_serializing_if = "Option::is_none"`).
        pub fn serialize<T: Decimal, S: Serializer>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(&v.to_u64()),
                None => s.serialize_none(),
            }
        }

        /// Reads a decimal string, a JSON number, or `null`.
        pub fn deserialize<'de, T: Decimal, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            Ok(Option::<UnixTimestamp>::deserialize(d)?.map(|t| T::from_u64(t.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8785 §3.2.2.2 ("Serialization of Strings") and §3.2.3 ("Sorting of
    /// Object Properties"): the sample whose property names sort by UTF-16
    /// code units (`\r` < `1` < `\u0080` < `ö` < `€` < `😀` < `דּ`), with the
    /// expected text taken from the RFC (its numbers left out: this writer
    /// formats integers only).
    #[test]
    fn rfc_8785_property_sorting_and_string_escapes() {
        let v = json!({
            "\u{20ac}": "Euro Sign",
            "\r": "Carriage Return",
            "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\u{1f600}": "Emoji: Grinning Face",
            "\u{80}": "Control",
            "\u{f6}": "Latin Small Letter O With Diaeresis"
        });
        assert_eq!(
            value_to_string(&v).unwrap(),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785 §3.2.2.2: the string of its example, escaped minimally
    /// (`\u000f` in lowercase hex, `/` and non-ASCII untouched).
    #[test]
    fn rfc_8785_string_example() {
        let v = json!({"string": "\u{20ac}$\u{f}\nA'B\"\\\\\"/"});
        assert_eq!(
            value_to_string(&v).unwrap(),
            "{\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    #[test]
    fn literals_integers_nesting_and_the_canonical_check() {
        let v = json!({"b": [true, false, null, 0, -5, 18446744073709551615u64], "a": {"z": 1, "y": []}});
        let text = value_to_string(&v).unwrap();
        assert_eq!(
            text,
            r#"{"a":{"y":[],"z":1},"b":[true,false,null,0,-5,18446744073709552000]}"#
        );
        assert!(is_canonical(&text));
        assert!(!is_canonical(r#"{"b":1,"a":2}"#), "unsorted");
        assert!(!is_canonical(r#"{"a": 2}"#), "whitespace");
        assert!(!is_canonical(r#"{"a":"\/"}"#), "needless escape");
        assert!(!is_canonical("not json"));
        assert_eq!(value_to_string(&json!(1.0)).unwrap(), "1");
        assert_eq!(value_to_string(&json!(-0.0)).unwrap(), "0");
        assert_eq!(value_to_string(&json!(0.5)).unwrap(), "0.5");
        // RFC 8785 Appendix B samples that need no exponent.
        assert_eq!(
            value_to_string(&json!(333_333_333.333_333_3)).unwrap(),
            "333333333.3333333"
        );
        assert_eq!(value_to_string(&json!(4.50)).unwrap(), "4.5");
        assert_eq!(value_to_string(&json!(0.002)).unwrap(), "0.002");
        assert!(matches!(
            value_to_string(&json!(1e300)),
            Err(JcsError::Float(_))
        ));
        assert!(matches!(
            value_to_string(&json!(1e-7)),
            Err(JcsError::Float(_))
        ));
    }

    #[test]
    fn u64_fields_are_decimal_strings() {
        #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
        struct T {
            #[serde(with = "decimal")]
            n: u64,
            #[serde(
                with = "decimal::option",
                default,
                skip_serializing_if = "Option::is_none"
            )]
            t: Option<crate::UnixTimestamp>,
        }
        let v = T {
            n: u64::MAX,
            t: None,
        };
        assert_eq!(to_string(&v).unwrap(), r#"{"n":"18446744073709551615"}"#);
        let back: T = serde_json::from_str(r#"{"n":"7","t":"9"}"#).unwrap();
        assert_eq!(
            back,
            T {
                n: 7,
                t: Some(crate::UnixTimestamp(9))
            }
        );
        let lenient: T = serde_json::from_str(r#"{"n":7}"#).unwrap();
        assert_eq!(lenient.n, 7);
        assert!(serde_json::from_str::<T>(r#"{"n":"-1"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n":"18446744073709551616"}"#).is_err());
    }
}
