//! Query parameter types shared by several routes.

use p2core_types::UnixTimestamp;
use serde::{Deserialize, Serialize};

use crate::path::{QueryError, encode_query, single_values};

/// `?timestamp=<u64>`: ask for what was valid at that time instead of now.
///
/// Used by [`crate::server_idcert`] and [`crate::server_public_key`]. Seed 004 shows the same
/// field as a JSON body (`{"timestamp": "1620000000"}`), so the type also (de)serializes as
/// JSON; the timestamp is accepted as a number or a decimal string.
///
/// ```
/// use p2core_routes::query::TimestampQuery;
/// use p2core_types::UnixTimestamp;
/// let q = TimestampQuery { timestamp: Some(UnixTimestamp(1620000000)) };
/// assert_eq!(q.to_query_string(), "?timestamp=1620000000");
/// assert_eq!(TimestampQuery::from_query_str("timestamp=1620000000").unwrap(), q);
/// assert_eq!(TimestampQuery::default().to_query_string(), "");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimestampQuery {
    /// UNIX timestamp (seconds); `None` means "now".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<UnixTimestamp>,
}

impl TimestampQuery {
    /// The accepted parameter names.
    pub const PARAMS: &'static [&'static str] = &["timestamp"];

    /// The query string, `""` or `?timestamp=…`.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(t) = self.timestamp {
            pairs.push(("timestamp", t.to_string()));
        }
        encode_query(&pairs)
    }

    /// Reads a query string (with or without `?`); unknown parameters are ignored.
    pub fn from_query_str(query: &str) -> Result<Self, QueryError> {
        let timestamp = single_values(query, Self::PARAMS)?.pop().flatten();
        Ok(Self {
            timestamp: timestamp.map(|t| parse_timestamp(&t)).transpose()?,
        })
    }
}

/// Parses a `timestamp` query value (a decimal u64).
pub(crate) fn parse_timestamp(value: &str) -> Result<UnixTimestamp, QueryError> {
    UnixTimestamp::parse_decimal(value).ok_or_else(|| QueryError::Invalid {
        name: "timestamp",
        reason: format!("{value:?} is not a decimal UNIX timestamp"),
    })
}

/// Parses a `session_id` query value.
pub(crate) fn parse_session_id(value: &str) -> Result<p2core_types::SessionId, QueryError> {
    p2core_types::SessionId::new(value).map_err(|e| QueryError::Invalid {
        name: "session_id",
        reason: e.to_string(),
    })
}
