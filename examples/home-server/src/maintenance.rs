//! Background work of a running server: pruning expired challenges and
//! re-checking foreign sessions at their actors' home servers.
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

/// Most foreign sessions re-checked in one round (the rest wait for the next).
const RECHECK_BATCH: u32 = 1000;

/// Starts the background task for `state`.
pub fn spawn<S: Store>(state: &SharedState<S>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(state);
    let prune_every = Duration::from_secs(state.config.challenge_prune_seconds.max(1));
    // Rounds every half interval, re-checking sessions last confirmed at least half an
    // interval ago: no session goes longer than one interval without a check.
    let recheck_every = Duration::from_secs((state.config.foreign_recheck_seconds / 2).max(1));
    tokio::spawn(async move {
        let mut prune = tokio::time::interval(prune_every);
        let mut recheck = tokio::time::interval(recheck_every);
        prune.set_missed_tick_behavior(MissedTickBehavior::Delay);
        recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = prune.tick() => {
                    let Some(state) = weak.upgrade() else { break };
                    let removed = state.challenges.prune(now());
                    if removed > 0 {
                        tracing::debug!(removed, "expired challenges pruned");
                    }
                }
                _ = recheck.tick() => {
                    let Some(state) = weak.upgrade() else { break };
                    recheck_foreign_sessions(&state).await;
                }
            }
        }
    })
}

/// One round: ends foreign sessions whose certificate expired, then asks the
/// home servers about every session that is due.
pub async fn recheck_foreign_sessions<S: Store>(state: &SharedState<S>) {
    let now = now();
    match state.store.end_expired_foreign_sessions(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(ended = n, "foreign sessions ended: certificate expired"),
        Err(e) => tracing::warn!(error = %e, "ending expired foreign sessions failed"),
    }
    let half = state.config.foreign_recheck_seconds / 2;
    let due_before = UnixTimestamp(now.0.saturating_sub(half));
    let due = match state
        .store
        .foreign_sessions_due(due_before, RECHECK_BATCH)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "listing foreign sessions to re-check failed");
            return;
        }
    };
    // Concurrency is bounded by the federation client's request slots.
    let mut checks = JoinSet::new();
    for session in due {
        let state = state.clone();
        checks.spawn(async move { recheck_one(&state, session).await });
    }
    while checks.join_next().await.is_some() {}
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
            let grace = state.config.foreign_recheck_seconds.saturating_mul(2);
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
