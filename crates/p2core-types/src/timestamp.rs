//! UNIX timestamps (seconds) as they appear on the wire.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds since the UNIX epoch, as a u64.
///
/// The seed pages show timestamps both as JSON numbers and as decimal strings
/// (`"expires": "1620000000"`), so both are accepted when deserializing; they
/// are always written as numbers.
///
/// ```
/// use p2core_types::UnixTimestamp;
/// let a: UnixTimestamp = serde_json::from_str("1620000000").unwrap();
/// let b: UnixTimestamp = serde_json::from_str("\"1620000000\"").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(serde_json::to_string(&a).unwrap(), "1620000000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UnixTimestamp(pub u64);

impl UnixTimestamp {
    /// The current time (0 if the clock is before 1970).
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// The seconds value.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// This timestamp as a [`SystemTime`], saturating at the latest time the
    /// platform can represent (it never panics, whatever the value).
    ///
    /// ```
    /// use p2core_types::UnixTimestamp;
    /// let t = UnixTimestamp(u64::MAX).to_system_time(); // no panic
    /// assert!(t > UnixTimestamp(4_000_000_000).to_system_time());
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        if let Some(t) = self.checked_to_system_time() {
            return t;
        }
        // The largest representable number of seconds, by binary search:
        // `lo` is always representable, `hi` never.
        let (mut lo, mut hi) = (0u64, self.0);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if UNIX_EPOCH.checked_add(Duration::from_secs(mid)).is_some() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        UNIX_EPOCH + Duration::from_secs(lo)
    }

    /// This timestamp as a [`SystemTime`], or `None` if the platform cannot
    /// represent it.
    pub fn checked_to_system_time(self) -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(Duration::from_secs(self.0))
    }

    /// `self + secs`, saturating at `u64::MAX`.
    pub fn saturating_add(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Parses a decimal string of digits only (no sign, no spaces).
    pub fn parse_decimal(s: &str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(Self)
    }
}

impl From<SystemTime> for UnixTimestamp {
    fn from(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

impl From<u64> for UnixTimestamp {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl fmt::Display for UnixTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for UnixTimestamp {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_decimal(s).ok_or("a UNIX timestamp is a decimal u64")
    }
}

impl Serialize for UnixTimestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for UnixTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = UnixTimestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UNIX timestamp as a u64 number or a decimal string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(UnixTimestamp(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(UnixTimestamp)
                    .map_err(|_| E::custom("a UNIX timestamp cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                UnixTimestamp::parse_decimal(v)
                    .ok_or_else(|| E::custom("a UNIX timestamp string must be a decimal u64"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_or_string() {
        let n: UnixTimestamp = serde_json::from_str("42").unwrap();
        let s: UnixTimestamp = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(n, UnixTimestamp(42));
        assert_eq!(s, UnixTimestamp(42));
        let max: UnixTimestamp = serde_json::from_str("\"18446744073709551615\"").unwrap();
        assert_eq!(max.0, u64::MAX);
        for bad in [
            "-1",
            "\"-1\"",
            "\" 1\"",
            "\"1e3\"",
            "1.5",
            "\"\"",
            "null",
            "\"18446744073709551616\"",
        ] {
            assert!(serde_json::from_str::<UnixTimestamp>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&UnixTimestamp(7)).unwrap(), "7");
    }

    #[test]
    fn to_system_time_never_panics_and_saturates() {
        // Regression: `UNIX_EPOCH + Duration::from_secs(u64::MAX)` panicked.
        let max = UnixTimestamp(u64::MAX).to_system_time();
        for v in [
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            i64::MAX as u64 + 1,
            1 << 62,
        ] {
            let t = UnixTimestamp(v).to_system_time();
            assert!(t <= max, "{v}");
            assert!(t >= UnixTimestamp(4_102_444_800).to_system_time(), "{v}");
        }
        // in range: exact, and round-trips
        for v in [0, 1, 1_620_000_000, 4_102_444_800] {
            let t = UnixTimestamp(v).to_system_time();
            assert_eq!(UnixTimestamp::from(t), UnixTimestamp(v));
            assert_eq!(UnixTimestamp(v).checked_to_system_time(), Some(t));
        }
        // monotone up to the saturation point
        assert!(UnixTimestamp(u64::MAX).checked_to_system_time().is_none());
        assert_eq!(UnixTimestamp::from(max).to_system_time(), max);
    }
}
