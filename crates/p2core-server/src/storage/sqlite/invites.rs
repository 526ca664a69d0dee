//! Registration invites in SQLite (`--registration invite`, `admin invite …`).

use sqlx::Row;

use super::{SqliteStore, db_ts, is_unique_violation, ts};
use crate::storage::{InviteRecord, StoreError, StoreResult};
use p2core_types::{FederationId, UnixTimestamp};

fn record(r: &sqlx::sqlite::SqliteRow) -> StoreResult<InviteRecord> {
    Ok(InviteRecord {
        id: r.try_get("id")?,
        created_at: ts(r.try_get("created_at")?),
        expires_at: ts(r.try_get("expires_at")?),
        max_uses: r.try_get("max_uses")?,
        used: r.try_get("used")?,
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(ts),
    })
}

impl SqliteStore {
    pub(super) async fn create_invite_impl(
        &self,
        token_hash: &[u8; 32],
        max_uses: u32,
        now: UnixTimestamp,
        expires_at: UnixTimestamp,
    ) -> StoreResult<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO invites (token_hash, created_at, expires_at, max_uses)
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .bind(db_ts(expires_at))
        .bind(i64::from(max_uses.max(1)))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    pub(super) async fn list_invites_impl(&self) -> StoreResult<Vec<InviteRecord>> {
        let rows = sqlx::query(
            "SELECT id, created_at, expires_at, max_uses, used, revoked_at
             FROM invites ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(record).collect()
    }

    pub(super) async fn revoke_invite_impl(
        &self,
        id: i64,
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let res =
            sqlx::query("UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(db_ts(now))
                .bind(id)
                .execute(&self.writer)
                .await?;
        Ok(res.rows_affected() == 1)
    }

    pub(super) async fn invite_usable_impl(
        &self,
        token_hash: &[u8; 32],
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invites WHERE token_hash = ? AND revoked_at IS NULL
             AND expires_at > ? AND used < max_uses",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .fetch_one(&self.reader)
        .await?;
        Ok(n > 0)
    }

    pub(super) async fn create_actor_with_invite_impl(
        &self,
        fid: &FederationId,
        password_hash: &str,
        auth_payload: Option<&str>,
        now: UnixTimestamp,
        token_hash: &[u8; 32],
    ) -> StoreResult<i64> {
        let mut tx = self.writer.begin().await?;
        let used: Option<i64> = sqlx::query_scalar(
            "UPDATE invites SET used = used + 1 WHERE token_hash = ? AND revoked_at IS NULL
             AND expires_at > ? AND used < max_uses RETURNING id",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        if used.is_none() {
            return Err(StoreError::NotFound);
        }
        let res = sqlx::query(
            "INSERT INTO actors (local_name, fid, password_hash, auth_payload, created_at, operator_made)
             VALUES (?, ?, ?, ?, ?, 0)",
        )
        .bind(fid.local_name())
        .bind(fid.as_str())
        .bind(password_hash)
        .bind(auth_payload)
        .bind(db_ts(now))
        .execute(&mut *tx)
        .await;
        let id = match res {
            Ok(r) => r.last_insert_rowid(),
            // dropping `tx` rolls the use of the invite back
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict("federation ID taken"));
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        Ok(id)
    }
}
