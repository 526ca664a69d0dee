//! Registration invites in PostgreSQL (`--registration invite`, `admin invite …`).

use sqlx::Row;

use super::PgStore;
use crate::storage::sql::{db_ts, is_unique_violation, ts};
use crate::storage::{InviteRecord, StoreError, StoreResult};
use p2core_types::{FederationId, UnixTimestamp};

fn record(r: &sqlx::postgres::PgRow) -> StoreResult<InviteRecord> {
    Ok(InviteRecord {
        id: r.try_get("id")?,
        created_at: ts(r.try_get("created_at")?),
        expires_at: ts(r.try_get("expires_at")?),
        max_uses: r.try_get("max_uses")?,
        used: r.try_get("used")?,
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(ts),
    })
}

impl PgStore {
    pub(super) async fn create_invite_impl(
        &self,
        token_hash: &[u8; 32],
        max_uses: u32,
        now: UnixTimestamp,
        expires_at: UnixTimestamp,
    ) -> StoreResult<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO invites (token_hash, created_at, expires_at, max_uses)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .bind(db_ts(expires_at))
        .bind(i64::from(max_uses.max(1)))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub(super) async fn list_invites_impl(&self) -> StoreResult<Vec<InviteRecord>> {
        let rows = sqlx::query(
            "SELECT id, created_at, expires_at, max_uses, used, revoked_at
             FROM invites ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    pub(super) async fn revoke_invite_impl(
        &self,
        id: i64,
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let res =
            sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(db_ts(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(res.rows_affected() == 1)
    }

    pub(super) async fn invite_usable_impl(
        &self,
        token_hash: &[u8; 32],
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invites WHERE token_hash = $1 AND revoked_at IS NULL
             AND expires_at > $2 AND used < max_uses",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .fetch_one(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let used: Option<i64> = sqlx::query_scalar(
            "UPDATE invites SET used = used + 1 WHERE token_hash = $1 AND revoked_at IS NULL
             AND expires_at > $2 AND used < max_uses RETURNING id",
        )
        .bind(&token_hash[..])
        .bind(db_ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        if used.is_none() {
            return Err(StoreError::NotFound);
        }
        let res = sqlx::query_scalar(
            "INSERT INTO actors (local_name, fid, password_hash, auth_payload, created_at, operator_made)
             VALUES ($1, $2, $3, $4, $5, FALSE) RETURNING id",
        )
        .bind(fid.local_name())
        .bind(fid.as_str())
        .bind(password_hash)
        .bind(auth_payload)
        .bind(db_ts(now))
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match res {
            Ok(id) => id,
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
