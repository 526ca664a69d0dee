//! Challenges of the PostgreSQL store: a table every instance shares, so a
//! challenge issued by one instance can be answered at another, once in all.
//!
//! Issuance is serialized by a transaction-level advisory lock so that the
//! bounds (in all, per network) are exact under concurrent issues from every
//! instance; taking is one `DELETE … RETURNING`, which only one of concurrent
//! takers can win.

use super::{CHALLENGE_LOCK, PgStore};
use crate::challenges::ChallengeStoreFull;
use crate::limits::Network;
use crate::storage::StoreResult;
use crate::storage::sql::{db_ts, ts};
use p2core_types::{ChallengeString, UnixTimestamp};

/// Outstanding challenges in all and of `network`.
async fn counts(tx: &mut sqlx::PgConnection, network: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), COUNT(*) FILTER (WHERE network = $1) FROM challenges")
        .bind(network)
        .fetch_one(tx)
        .await
}

impl PgStore {
    pub(super) async fn issue_challenge_impl(
        &self,
        challenge: &ChallengeString,
        network: Network,
        now: UnixTimestamp,
        max_outstanding: u64,
        max_per_network: u64,
    ) -> StoreResult<Result<(), ChallengeStoreFull>> {
        let max = i64::try_from(max_outstanding.max(1)).unwrap_or(i64::MAX);
        let per_network = i64::try_from(max_per_network.max(1)).unwrap_or(i64::MAX);
        let network = network.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHALLENGE_LOCK)
            .execute(&mut *tx)
            .await?;
        let (mut all, mut held) = counts(&mut tx, &network).await?;
        if all >= max || held >= per_network {
            sqlx::query("DELETE FROM challenges WHERE expires < $1")
                .bind(db_ts(now))
                .execute(&mut *tx)
                .await?;
            (all, held) = counts(&mut tx, &network).await?;
        }
        if held >= per_network {
            return Ok(Err(ChallengeStoreFull::Network));
        }
        if all >= max {
            return Ok(Err(ChallengeStoreFull::Store));
        }
        // Issuing the same text twice keeps the first.
        sqlx::query(
            "INSERT INTO challenges (challenge, network, expires) VALUES ($1, $2, $3)
             ON CONFLICT (challenge) DO NOTHING",
        )
        .bind(challenge.challenge())
        .bind(&network)
        .bind(db_ts(challenge.expires()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub(super) async fn issued_challenge_impl(
        &self,
        challenge: &str,
    ) -> StoreResult<Option<ChallengeString>> {
        let expires: Option<i64> =
            sqlx::query_scalar("SELECT expires FROM challenges WHERE challenge = $1")
                .bind(challenge)
                .fetch_optional(&self.pool)
                .await?;
        Ok(expires.and_then(|e| ChallengeString::new(challenge.to_owned(), ts(e)).ok()))
    }

    pub(super) async fn take_challenge_impl(
        &self,
        challenge: &str,
        now: UnixTimestamp,
    ) -> StoreResult<bool> {
        let taken: Option<i64> = sqlx::query_scalar(
            "DELETE FROM challenges WHERE challenge = $1 AND expires >= $2 RETURNING expires",
        )
        .bind(challenge)
        .bind(db_ts(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.is_some())
    }

    pub(super) async fn prune_challenges_impl(&self, now: UnixTimestamp) -> StoreResult<u64> {
        // The shared rate-limit counters of windows that ended an hour ago go too
        // (no limit's window is longer than an hour).
        sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(db_ts(now).saturating_sub(3600))
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query("DELETE FROM challenges WHERE expires < $1")
            .bind(db_ts(now))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
