//! Background work of a running server: pruning expired challenges and
//! re-checking foreign sessions at their actors' home servers.
//!
//! Foreign sessions, with `I` = `--foreign-recheck-seconds`: a round starts
//! every `I/2`. Each round (1) ends the sessions whose ID-Cert expired and
//! those not confirmed by their home server for more than `2·I` (whether the
//! re-check failed or simply did not get to them: this is what makes the
//! interval a bound under load), (2) deletes ended sessions and their tokens
//! (at most [`PURGE_BATCH`] per statement, until none are left), and (3)
//! re-checks the due sessions (last confirmed `I/2` or more ago), least
//! recently confirmed first, in pages of [`RECHECK_BATCH`], until none are
//! left or the round has run for `I/2`; the rest wait for the next round,
//! still oldest first. So a session is used at most about `2·I + I/2` plus one
//! page's duration after its last confirmation, however many there are.
//!
//! The task holds only a weak reference to the state, so it ends by itself
//! once the server has stopped and the state is dropped.

use std::sync::Arc;
use std::time::Duration;

use p2core_types::{IdCert, UnixTimestamp};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::federation::FederationError;
use crate::handlers::now;
use crate::state::SharedState;
use crate::storage::{ForeignSession, Store};

/// Foreign sessions re-checked at once (one page of a round).
pub const RECHECK_BATCH: u32 = 256;

/// Ended foreign sessions deleted per statement.
pub const PURGE_BATCH: u32 = 10_000;

/// `true` if this instance runs the next round of `job`: it holds (or takes)
/// the job's lease in the store for three periods of `every` (at least a
/// minute), renewed at every round. Instances sharing a store run each job's
/// rounds once across all of them; when the holder dies (even in the middle of
/// a round: every round is made of transactions that another instance can
/// repeat), its lease runs out and another instance takes the job over. A
/// store served by one process always grants the lease.
pub async fn lead<S: Store>(state: &SharedState<S>, job: &str, every: Duration) -> bool {
    let now = now();
    let lease = every.saturating_mul(3).max(Duration::from_secs(60));
    let until = now.saturating_add(lease.as_secs());
    match state.store.lease_job(job, state.instance, now, until).await {
        Ok(lead) => lead,
        Err(e) => {
            tracing::warn!(job, error = %e, "could not take the lease of a background job; skipping this round");
            false
        }
    }
}

/// Starts the background task for `state`.
pub fn spawn<S: Store>(state: &SharedState<S>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(state);
    let prune_every = state
        .settings
        .limits
        .challenge_prune_interval
        .max(Duration::from_secs(1));
    // Rounds every half interval, re-checking sessions last confirmed at least half an
    // interval ago: no session goes longer than one interval without a check.
    let recheck_every = Duration::from_secs(
        (state.settings.federation.foreign_recheck_interval.as_secs() / 2).max(1),
    );
    tokio::spawn(async move {
        let mut prune = tokio::time::interval(prune_every);
        let mut recheck = tokio::time::interval(recheck_every);
        prune.set_missed_tick_behavior(MissedTickBehavior::Delay);
        recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = prune.tick() => {
                    let Some(state) = weak.upgrade() else { break };
                    if !lead(&state, "prune", prune_every).await {
                        continue;
                    }
                    match state.store.prune_challenges(now()).await {
                        Ok(0) => {}
                        Ok(removed) => tracing::debug!(removed, "expired challenges pruned"),
                        Err(e) => tracing::warn!(error = %e, "pruning expired challenges failed"),
                    }
                }
                _ = recheck.tick() => {
                    let Some(state) = weak.upgrade() else { break };
                    if !lead(&state, "foreign-recheck", recheck_every).await {
                        continue;
                    }
                    recheck_foreign_sessions(&state).await;
                }
            }
        }
    })
}

/// One round (see the module documentation): ends expired and long
/// unconfirmed foreign sessions, deletes ended ones, then re-checks the due
/// ones at their home servers.
pub async fn recheck_foreign_sessions<S: Store>(state: &SharedState<S>) {
    let started = tokio::time::Instant::now();
    let round_budget = Duration::from_secs(
        (state.settings.federation.foreign_recheck_interval.as_secs() / 2).max(1),
    );
    let now = now();
    match state.store.end_expired_foreign_sessions(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(ended = n, "foreign sessions ended: certificate expired"),
        Err(e) => tracing::warn!(error = %e, "ending expired foreign sessions failed"),
    }
    let grace = state
        .settings
        .federation
        .foreign_recheck_interval
        .as_secs()
        .saturating_mul(2);
    let unconfirmed_before = UnixTimestamp(now.0.saturating_sub(grace));
    match state
        .store
        .end_unconfirmed_foreign_sessions(unconfirmed_before, now)
        .await
    {
        Ok(ended) if ended.is_empty() => {}
        Ok(ended) => tracing::info!(
            ended = ended.len(),
            "foreign sessions ended: not confirmed by their home servers within twice the re-check interval"
        ),
        Err(e) => tracing::warn!(error = %e, "ending unconfirmed foreign sessions failed"),
    }
    purge_ended_foreign_sessions(state).await;

    let half = state.settings.federation.foreign_recheck_interval.as_secs() / 2;
    let due_before = UnixTimestamp(now.0.saturating_sub(half));
    let mut after = None;
    while started.elapsed() < round_budget {
        let due = match state
            .store
            .foreign_sessions_due(due_before, after, RECHECK_BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "listing foreign sessions to re-check failed");
                return;
            }
        };
        let Some(last) = due.last() else { break };
        after = Some((last.checked_at, last.id));
        let full_page = due.len() == usize::try_from(RECHECK_BATCH).unwrap_or(usize::MAX);
        // Concurrency is bounded by the federation client's request slots.
        let mut checks = JoinSet::new();
        for session in due {
            let state = state.clone();
            checks.spawn(async move { recheck_one(&state, session).await });
        }
        while checks.join_next().await.is_some() {}
        if !full_page {
            break;
        }
    }
}

/// Deletes every ended foreign session and its tokens, a batch at a time.
pub async fn purge_ended_foreign_sessions<S: Store>(state: &SharedState<S>) {
    loop {
        match state.store.delete_ended_foreign_sessions(PURGE_BATCH).await {
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(deleted = n, "ended foreign sessions deleted");
                }
                if n < u64::from(PURGE_BATCH) {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting ended foreign sessions failed");
                return;
            }
        }
    }
}

async fn recheck_one<S: Store>(state: &SharedState<S>, session: ForeignSession) {
    let now = now();
    let verdict = match IdCert::from_pem(&session.cert_pem) {
        Ok(cert) => state.federation.verify_foreign_cert(&cert, now).await,
        Err(_) => Err(FederationError::Invalid(
            "the stored ID-Cert cannot be read".to_owned(),
        )),
    };
    let end = match verdict {
        Ok(()) => {
            if let Err(e) = state.store.mark_foreign_checked(session.id, now).await {
                tracing::warn!(error = %e, "recording a foreign session re-check failed");
            }
            return;
        }
        Err(e @ (FederationError::Upstream { .. } | FederationError::BadRoot { .. })) => {
            // The home server could not answer: the session survives a short outage,
            // but not one longer than twice the re-check interval.
            let grace = state
                .settings
                .federation
                .foreign_recheck_interval
                .as_secs()
                .saturating_mul(2);
            let unconfirmed_for = now.0.saturating_sub(session.checked_at.0);
            tracing::warn!(fid = %session.fid, error = %e, unconfirmed_for, "foreign session re-check failed");
            unconfirmed_for > grace
        }
        Err(e) => {
            tracing::info!(fid = %session.fid, reason = %e, "foreign session ended by re-check");
            true
        }
    };
    if end && let Err(e) = state.store.end_foreign_session(session.id, now).await {
        tracing::warn!(error = %e, "ending a foreign session failed");
    }
}
