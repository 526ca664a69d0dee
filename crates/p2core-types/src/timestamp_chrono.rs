//! Conversions between [`UnixTimestamp`] and `chrono::DateTime<Utc>` (feature `chrono`).
//!
//! Both directions can fail, so both are `TryFrom`: chrono cannot represent
//! every `u64` second (its range ends in the year 262143), and a
//! `UnixTimestamp` cannot be before 1970. Sub-second parts are dropped
//! (rounded towards the past), as the wire format has whole seconds.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::UnixTimestamp;

/// A time that one side of a [`UnixTimestamp`] ↔ `chrono::DateTime<Utc>`
/// conversion cannot represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampRangeError {
    /// The `DateTime` is before 1970-01-01T00:00:00Z.
    BeforeEpoch,
    /// The timestamp is past the last second `chrono` can represent.
    BeyondChrono,
}

impl fmt::Display for TimestampRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BeforeEpoch => "a UNIX timestamp cannot be before 1970-01-01T00:00:00Z",
            Self::BeyondChrono => "the UNIX timestamp is beyond the range of chrono::DateTime",
        })
    }
}

impl std::error::Error for TimestampRangeError {}

impl TryFrom<UnixTimestamp> for DateTime<Utc> {
    type Error = TimestampRangeError;

    fn try_from(t: UnixTimestamp) -> Result<Self, Self::Error> {
        i64::try_from(t.0)
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or(TimestampRangeError::BeyondChrono)
    }
}

impl TryFrom<DateTime<Utc>> for UnixTimestamp {
    type Error = TimestampRangeError;

    fn try_from(dt: DateTime<Utc>) -> Result<Self, Self::Error> {
        u64::try_from(dt.timestamp())
            .map(UnixTimestamp)
            .map_err(|_| TimestampRangeError::BeforeEpoch)
    }
}

impl UnixTimestamp {
    /// This timestamp as a `chrono::DateTime<Utc>`, or `None` past chrono's
    /// range (feature `chrono`). The `TryFrom` conversions in both
    /// directions report which limit was hit ([`TimestampRangeError`]).
    ///
    /// ```
    /// use p2core_types::chrono::{DateTime, TimeZone, Utc};
    /// use p2core_types::UnixTimestamp;
    ///
    /// let t = UnixTimestamp(1_620_000_000);
    /// let dt = DateTime::<Utc>::try_from(t)?;
    /// assert_eq!(dt, Utc.with_ymd_and_hms(2021, 5, 3, 0, 0, 0).unwrap());
    /// assert_eq!(UnixTimestamp::try_from(dt)?, t);
    ///
    /// let before_1970 = Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap();
    /// assert!(UnixTimestamp::try_from(before_1970).is_err());
    /// assert!(DateTime::<Utc>::try_from(UnixTimestamp(u64::MAX)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_chrono(self) -> Option<DateTime<Utc>> {
        DateTime::try_from(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_and_limits() {
        for secs in [
            0,
            1,
            1_620_000_000,
            253_402_300_799, /* 9999-12-31T23:59:59Z */
        ] {
            let t = UnixTimestamp(secs);
            let dt = DateTime::<Utc>::try_from(t).unwrap();
            assert_eq!(dt.timestamp(), secs as i64);
            assert_eq!(UnixTimestamp::try_from(dt), Ok(t));
            assert_eq!(t.to_chrono(), Some(dt));
        }
        assert_eq!(
            DateTime::<Utc>::try_from(UnixTimestamp(0)).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()
        );
        // The last second chrono can hold converts; the next one does not.
        let max = DateTime::<Utc>::MAX_UTC.timestamp() as u64;
        assert!(DateTime::<Utc>::try_from(UnixTimestamp(max)).is_ok());
        assert_eq!(
            DateTime::<Utc>::try_from(UnixTimestamp(max + 1)),
            Err(TimestampRangeError::BeyondChrono)
        );
        assert_eq!(
            DateTime::<Utc>::try_from(UnixTimestamp(u64::MAX)),
            Err(TimestampRangeError::BeyondChrono)
        );
        assert_eq!(UnixTimestamp(u64::MAX).to_chrono(), None);
        // Sub-second parts are dropped towards the past; before 1970 is an error.
        let frac = DateTime::from_timestamp(5, 999_999_999).unwrap();
        assert_eq!(UnixTimestamp::try_from(frac), Ok(UnixTimestamp(5)));
        let neg = DateTime::from_timestamp(-1, 500_000_000).unwrap();
        assert_eq!(
            UnixTimestamp::try_from(neg),
            Err(TimestampRangeError::BeforeEpoch)
        );
    }
}
