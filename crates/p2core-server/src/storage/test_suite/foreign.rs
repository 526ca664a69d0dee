//! Foreign sessions and their upkeep jobs.

use super::*;
use crate::storage::StoreError;

async fn foreign(store: &impl Store, t: &[u8]) -> Option<crate::storage::ForeignSession> {
    match store.caller_by_token(t, now()).await.expect("resolve") {
        Some(Caller::Foreign(s)) => Some(s),
        Some(Caller::Local(_)) => panic!("a foreign token resolved to a local session"),
        None => None,
    }
}

/// Opening, re-opening (the old token revoked), the per-actor limit,
/// certificate updates, checks and ends.
pub async fn foreign_session_lifecycle(store: &impl Store) {
    let f = foreign_fid("visitor");
    let day = now().saturating_add(DAY);
    let t1 = token();
    let opened_at = now();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-1"), "PEM 1", day, &t1, opened_at, 2)
            .await
            .expect("open")
    );
    let s1 = foreign(store, &t1).await.expect("token resolves");
    assert_eq!(
        (&s1.fid, s1.session_id.as_str(), s1.cert_pem.as_str()),
        (&f, "session-1", "PEM 1")
    );
    assert_eq!((s1.not_after, s1.checked_at), (day, opened_at));
    // Re-opening the same session ends the old one.
    let t1b = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-1"), "PEM 1b", day, &t1b, now(), 2)
            .await
            .expect("reopen")
    );
    assert!(
        foreign(store, &t1).await.is_none(),
        "the old token still works"
    );
    let s1b = foreign(store, &t1b).await.expect("new token");
    assert_ne!(s1b.id, s1.id);
    let t2 = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-2"), "PEM 2", day, &t2, now(), 2)
            .await
            .expect("open")
    );
    let t3 = token();
    assert!(
        !store
            .open_foreign_session(&f, &sid("session-3"), "PEM 3", day, &t3, now(), 2)
            .await
            .expect("open"),
        "the limit of 2 was exceeded"
    );
    assert!(
        foreign(store, &t3).await.is_none(),
        "a refused open stored a token"
    );
    // Re-opening an existing session is not a new one: allowed at the limit.
    let t2b = token();
    assert!(
        store
            .open_foreign_session(&f, &sid("session-2"), "PEM 2b", day, &t2b, now(), 2)
            .await
            .expect("reopen at the limit")
    );
    // Another actor has its own limit.
    assert!(
        store
            .open_foreign_session(
                &foreign_fid("other"),
                &sid("session-3"),
                "P",
                day,
                &token(),
                now(),
                2
            )
            .await
            .expect("open")
    );

    let later = now().saturating_add(100);
    let longer = now().saturating_add(2 * DAY);
    store
        .update_foreign_cert(s1b.id, "PEM 1c", longer, later)
        .await
        .expect("update");
    let s = foreign(store, &t1b).await.expect("still live");
    assert_eq!(
        (s.cert_pem.as_str(), s.not_after, s.checked_at),
        ("PEM 1c", longer, later)
    );
    let checked = later.saturating_add(100);
    store
        .mark_foreign_checked(s1b.id, checked)
        .await
        .expect("mark");
    assert_eq!(
        foreign(store, &t1b).await.map(|s| s.checked_at),
        Some(checked)
    );
    store.end_foreign_session(s1b.id, now()).await.expect("end");
    assert!(foreign(store, &t1b).await.is_none());
    let ended = store
        .update_foreign_cert(s1b.id, "PEM", longer, now())
        .await;
    assert!(matches!(ended, Err(StoreError::NotFound)), "{ended:?}");
    assert!(matches!(
        store
            .update_foreign_cert(999_999, "PEM", longer, now())
            .await,
        Err(StoreError::NotFound)
    ));
    // An ended session frees its slot.
    assert!(
        store
            .open_foreign_session(&f, &sid("session-3"), "PEM 3", day, &token(), now(), 2)
            .await
            .expect("open")
    );
}

/// Concurrent opens of distinct sessions never exceed the per-actor limit.
pub async fn foreign_session_limit_exact_under_concurrency(store: &impl Store) {
    const MAX: u64 = 3;
    let f = foreign_fid("visitor");
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..12)
        .map(|i| (sid(&format!("session-{i}")), token()))
        .collect();
    let results = on_threads(attempts.len(), |i| {
        let (s, t) = &attempts[i];
        store.open_foreign_session(&f, s, "PEM", day, t, now(), MAX)
    });
    let opened: Vec<bool> = results.into_iter().map(|r| r.expect("open")).collect();
    assert_eq!(opened.iter().filter(|o| **o).count(), 3, "{opened:?}");
    let live = join_all(attempts.iter().map(|(_, t)| foreign(store, t))).await;
    assert_eq!(live.iter().filter(|s| s.is_some()).count(), 3);
}

/// The upkeep jobs: due sessions paged least recently checked first,
/// unconfirmed and expired sessions ended (tokens revoked), ended ones deleted.
pub async fn foreign_session_upkeep(store: &impl Store) {
    let t0 = now();
    let day = t0.saturating_add(DAY);
    let mut sessions = Vec::new();
    for i in 0..5u64 {
        let t = token();
        let opened_at = UnixTimestamp(t0.0 - 1000 + i * 10);
        let not_after = if i == 4 { t0.saturating_add(50) } else { day };
        assert!(
            store
                .open_foreign_session(
                    &foreign_fid(&format!("v{i}")),
                    &sid("session-1"),
                    "PEM",
                    not_after,
                    &t,
                    opened_at,
                    10,
                )
                .await
                .expect("open")
        );
        sessions.push((foreign(store, &t).await.expect("resolves"), t));
    }
    let all: Vec<i64> = sessions.iter().map(|(s, _)| s.id).collect();
    // Session 0 confirmed again recently: it is due last.
    store
        .mark_foreign_checked(all[0], UnixTimestamp(t0.0 - 500))
        .await
        .expect("mark");
    let page1 = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 400), None, 2)
        .await
        .expect("due");
    let p1: Vec<i64> = page1.iter().map(|s| s.id).collect();
    assert_eq!(p1, vec![all[1], all[2]]);
    let last = page1.last().map(|s| (s.checked_at, s.id));
    let page2 = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 400), last, 10)
        .await
        .expect("due");
    let p2: Vec<i64> = page2.iter().map(|s| s.id).collect();
    assert_eq!(p2, vec![all[3], all[4], all[0]]);
    let none_due = store
        .foreign_sessions_due(UnixTimestamp(t0.0 - 2000), None, 10)
        .await
        .expect("due");
    assert!(none_due.is_empty());

    // Last confirmed before t0-975: sessions 1 (t0-990) and 2 (t0-980).
    let mut unconfirmed = store
        .end_unconfirmed_foreign_sessions(UnixTimestamp(t0.0 - 975), t0)
        .await
        .expect("end unconfirmed");
    unconfirmed.sort_unstable();
    assert_eq!(unconfirmed, vec![all[1], all[2]]);
    assert!(foreign(store, &sessions[1].1).await.is_none());
    assert!(foreign(store, &sessions[3].1).await.is_some());
    let due = store.foreign_sessions_due(t0, None, 10).await.expect("due");
    assert!(
        due.iter().all(|s| s.id != all[1] && s.id != all[2]),
        "ended sessions are not due"
    );

    let expired = store
        .end_expired_foreign_sessions(t0.saturating_add(51))
        .await
        .expect("end expired");
    assert_eq!(expired, 1);
    assert!(
        store
            .caller_by_token(&sessions[4].1, t0)
            .await
            .expect("resolve")
            .is_none(),
        "an expired session's token was not revoked"
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(2)
            .await
            .expect("delete"),
        2
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(10)
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        store
            .delete_ended_foreign_sessions(10)
            .await
            .expect("delete"),
        0
    );
    assert!(
        foreign(store, &sessions[0].1).await.is_some(),
        "a live session was deleted"
    );
}

/// Concurrent re-opens of one foreign session (same FID and session ID):
/// each ends the previous one, so exactly one stays live, and none counts
/// against the per-actor limit as another session.
pub async fn foreign_reopen_leaves_one_live_session_under_concurrency(store: &impl Store) {
    let f = foreign_fid("visitor");
    let s = sid("session-1");
    let day = now().saturating_add(DAY);
    let tokens: Vec<[u8; 32]> = (0..10).map(|_| token()).collect();
    let results = on_threads(tokens.len(), |i| {
        store.open_foreign_session(&f, &s, "PEM", day, &tokens[i], now(), 1)
    });
    let opened: Vec<bool> = results.into_iter().map(|r| r.expect("open")).collect();
    assert!(
        opened.iter().all(|o| *o),
        "a re-open was refused: {opened:?}"
    );
    let live = join_all(tokens.iter().map(|t| foreign(store, t))).await;
    assert_eq!(
        live.iter().filter(|s| s.is_some()).count(),
        1,
        "live sessions of one foreign session ID"
    );
    // The actor holds one session: a second session ID is over the limit of 1.
    assert!(
        !store
            .open_foreign_session(&f, &sid("session-2"), "PEM", day, &token(), now(), 1)
            .await
            .expect("open")
    );
}
