//! Helpers shared by the SQL stores (SQLite and PostgreSQL): timestamps as
//! signed 64-bit seconds, error conversions, reading stored identifiers back.

use p2core_types::{FederationId, SessionId, UnixTimestamp};

use super::{StoreError, StoreResult};

/// A stored timestamp (negative ones, which this server never writes, read as 0).
pub(crate) fn ts(v: i64) -> UnixTimestamp {
    UnixTimestamp(u64::try_from(v).unwrap_or(0))
}

/// A timestamp as stored (times past `i64::MAX` seconds saturate).
pub(crate) fn db_ts(t: UnixTimestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

/// `true` if the database refused a write for a unique index.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// A stored Federation ID.
pub(crate) fn parse_fid(s: &str) -> StoreResult<FederationId> {
    FederationId::new(s).map_err(|e| StoreError::Corrupt(format!("stored FID {s:?}: {e}")))
}

/// A stored session ID.
pub(crate) fn parse_session(s: &str) -> StoreResult<SessionId> {
    SessionId::new(s).map_err(|e| StoreError::Corrupt(format!("stored session ID {s:?}: {e}")))
}

/// A stored opcode.
pub(crate) fn parse_op(op: i64) -> StoreResult<u16> {
    u16::try_from(op).map_err(|_| StoreError::Corrupt(format!("opcode {op}")))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e.to_string())
    }
}
