//! Local sessions: creation, rotation, ends, certificate lists and the sessions-per-actor limit.

use super::*;
use crate::storage::{ActorCertFilter, SessionNotice, StoreError};

/// A new session resolves by its token, counts as live, notifies the
/// actor's other sessions (not itself), and its live session ID conflicts.
pub async fn session_create_resolve_and_conflict(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (bobs, _) = session(store, bob, "session-a").await;
    let mut notices = store.subscribe_sessions();
    let t = token();
    let c = cert("session-b", now().saturating_add(DAY));
    store
        .create_session(alice, &c, &t, now(), &event("b-new"), u64::MAX)
        .await
        .expect("second session");
    let b = local(store, &t).await.expect("token resolves");
    assert_eq!(
        (
            b.actor_id,
            &b.fid,
            &b.session_id,
            b.cert_serial,
            b.cert_pem.as_str()
        ),
        (
            alice,
            &fid("alice"),
            &c.session_id,
            c.serial,
            c.cert_pem.as_str()
        )
    );
    assert!(
        store
            .caller_by_token(&token(), now())
            .await
            .expect("resolve")
            .is_none()
    );
    // Past the certificate's end the token resolves to nobody.
    let later = c.not_after.saturating_add(1);
    assert!(
        store
            .caller_by_token(&t, later)
            .await
            .expect("resolve")
            .is_none()
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
    let to_a = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_a.iter().any(|e| e.d.contains("b-new")), "{to_a:?}");
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.is_empty(), "a session is not told of itself: {to_b:?}");
    let to_bob = store
        .pending_events(bob, &bobs.session_id, bobs.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_bob.is_empty(), "another actor was told: {to_bob:?}");
    match notices.try_recv() {
        Ok(SessionNotice::Current {
            actor_id,
            session_id,
            serial,
        }) => assert_eq!(
            (actor_id, session_id, serial),
            (alice, c.session_id.clone(), c.serial)
        ),
        other => panic!("expected a Current notice, got {other:?}"),
    }
    let dup = store
        .create_session(
            alice,
            &cert("session-b", now().saturating_add(DAY)),
            &token(),
            now(),
            &event("dup"),
            u64::MAX,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
}

/// Once a session's certificate expired its ID can be used again, and the
/// new session never sees what was queued for the old one.
pub async fn expired_session_id_is_reused_cleanly(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (other, _) = session(store, alice, "session-o").await;
    let soon = now().saturating_add(5);
    let t_old = token();
    let old = cert("session-x", soon);
    store
        .create_session(alice, &old, &t_old, now(), &event("x"), u64::MAX)
        .await
        .expect("short session");
    // queue something for the old session
    store
        .end_session(alice, &other.session_id, now(), &|_| Some(event("for-x")))
        .await
        .expect("end");
    let after = soon.saturating_add(1);
    assert_eq!(
        store.live_session_count(alice, after).await.expect("count"),
        0
    );
    let t_new = token();
    let new = cert("session-x", now().saturating_add(DAY));
    store
        .create_session(alice, &new, &t_new, after, &event("x2"), u64::MAX)
        .await
        .expect("the expired session ID is free");
    let pending = store
        .pending_events(alice, &new.session_id, new.serial, 0)
        .await
        .expect("pending");
    assert!(pending.is_empty(), "old events handed over: {pending:?}");
    assert!(
        store
            .caller_by_token(&t_old, after)
            .await
            .expect("resolve")
            .is_none()
    );
}

/// A rotation swaps certificate and token, drops the session's
/// KeyPackages, keeps its queue, tells the other sessions, and a stale
/// rotation fails with `NotFound`.
pub async fn rotation_replaces_certificate_and_token(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, ta) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await; // queues an event for a
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(&a, &[key_package("a1", day, false)], now(), 100)
        .await
        .expect("upload");
    let queued = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert!(!queued.is_empty());
    let mut notices = store.subscribe_sessions();
    let tn = token();
    let nc = cert("session-a", day);
    store
        .rotate_session(&a, &nc, &tn, now(), &event("rotated-a"))
        .await
        .expect("rotate");
    assert!(
        local(store, &ta).await.is_none(),
        "the old token still works"
    );
    let a2 = local(store, &tn).await.expect("the new token resolves");
    assert_eq!((a2.cert_serial, &a2.session_id), (nc.serial, &a.session_id));
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        2
    );
    let still = ids(&store
        .pending_events(alice, &a.session_id, nc.serial, 0)
        .await
        .expect("pending"));
    assert_eq!(still, queued, "a rotation keeps the session's queue");
    let claimed = store
        .claim_key_packages(alice, now(), 0, &no_low_event)
        .await
        .expect("claim");
    assert!(
        claimed.is_empty(),
        "KeyPackages of the old certificate survived: {claimed:?}"
    );
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.iter().any(|e| e.d.contains("rotated-a")), "{to_b:?}");
    let mut saw_revoked = false;
    while let Ok(n) = notices.try_recv() {
        if let SessionNotice::Revoked(s) = n {
            saw_revoked |= s.contains(&a.cert_serial);
        }
    }
    assert!(saw_revoked, "no Revoked notice for the old certificate");
    let stale = store
        .rotate_session(
            &a,
            &cert("session-a", day),
            &token(),
            now(),
            &event("again"),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
    let certs = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert!(certs.contains(&(a.cert_pem.clone(), true)), "{certs:?}");
    assert!(certs.contains(&(nc.cert_pem.clone(), false)), "{certs:?}");
}

/// Concurrent rotations of one certificate: exactly one wins; concurrent
/// ends of one session: exactly one reports it ended.
pub async fn rotation_and_end_are_single_use_under_concurrency(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..10).map(|_| (cert("session-a", day), token())).collect();
    let ev = event("r");
    let results = on_threads(attempts.len(), |i| {
        let (c, t) = &attempts[i];
        store.rotate_session(&a, c, t, now(), &ev)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::NotFound)))
    );
    let live: Vec<_> = join_all(attempts.iter().map(|(_, t)| local(store, t))).await;
    assert_eq!(
        live.iter().filter(|s| s.is_some()).count(),
        1,
        "tokens that work"
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        1
    );

    let ends = on_threads(10, |_| {
        store.end_session(alice, &a.session_id, now(), &no_event)
    });
    let ended: Vec<bool> = ends.into_iter().map(|r| r.expect("end")).collect();
    assert_eq!(ended.iter().filter(|e| **e).count(), 1, "{ended:?}");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        0
    );
}

/// Ending a session revokes its token and certificate, deletes its
/// KeyPackages and queue, and queues `make_event(serial)` for the others.
pub async fn end_session_removes_everything(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, ta) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await; // queues one for a
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(&a, &[key_package("a1", day, true)], now(), 10)
        .await
        .expect("upload");
    let seen = std::sync::Mutex::new(Vec::new());
    let make = |serial: i64| {
        seen.lock().expect("lock").push(serial);
        Some(event("a-ended"))
    };
    let ended = store
        .end_session(alice, &a.session_id, now(), &make)
        .await
        .expect("end");
    assert!(ended);
    assert_eq!(*seen.lock().expect("lock"), vec![a.cert_serial]);
    assert!(local(store, &ta).await.is_none());
    let gone = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let to_b = store
        .pending_events(alice, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert!(to_b.iter().any(|e| e.d.contains("a-ended")), "{to_b:?}");
    let claimed = store
        .claim_key_packages(alice, now(), 0, &no_low_event)
        .await
        .expect("claim");
    assert!(claimed.is_empty(), "{claimed:?}");
    assert_eq!(
        store
            .dead_cert_serials(&[a.cert_serial], now())
            .await
            .expect("dead"),
        vec![a.cert_serial]
    );
    let unknown = store
        .end_session(alice, &sid("session-z"), now(), &no_event)
        .await
        .expect("end");
    assert!(!unknown);
    // The ended session's ID is free again, with an empty queue.
    let (a2, _) = session(store, alice, "session-a").await;
    let pending = store
        .pending_events(alice, &a2.session_id, a2.cert_serial, 0)
        .await
        .expect("pending");
    assert!(pending.is_empty(), "{pending:?}");
}

/// `actor_certs`: certificates valid at the time asked (now by default),
/// invalidated ones flagged, oldest first, optionally of one session.
pub async fn actor_certs_filters(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await;
    session(store, bob, "session-a").await;
    let all = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert_eq!(
        all,
        vec![(a.cert_pem.clone(), false), (b.cert_pem.clone(), false)]
    );
    let only_b = store
        .actor_certs(
            alice,
            &ActorCertFilter {
                at: None,
                session_id: Some(b.session_id.clone()),
            },
            now(),
        )
        .await
        .expect("certs");
    assert_eq!(only_b, vec![(b.cert_pem.clone(), false)]);
    let before = store
        .actor_certs(
            alice,
            &ActorCertFilter {
                at: Some(UnixTimestamp(now().0 - 3600)),
                session_id: None,
            },
            now(),
        )
        .await
        .expect("certs");
    assert!(before.is_empty(), "{before:?}");
    store
        .end_session(alice, &a.session_id, now(), &no_event)
        .await
        .expect("end");
    let all = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert_eq!(
        all,
        vec![(a.cert_pem.clone(), true), (b.cert_pem.clone(), false)]
    );
}

/// The sessions-per-actor limit is exact under concurrent creations, and
/// ended sessions free their slot.
pub async fn session_limit_exact_under_concurrency(store: &impl Store) {
    const MAX: u64 = 3;
    let alice = setup(store, "alice").await;
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..12)
        .map(|i| (cert(&format!("session-{i}"), day), token()))
        .collect();
    let ev = event("n");
    let results = on_threads(attempts.len(), |i| {
        let (c, t) = &attempts[i];
        store.create_session(alice, c, t, now(), &ev, MAX)
    });
    let made = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 3, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::LimitReached(_)))),
        "{results:?}"
    );
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        MAX
    );
    // A refused creation stored nothing: its token resolves to nobody.
    for ((_, t), r) in attempts.iter().zip(&results) {
        assert_eq!(local(store, t).await.is_some(), r.is_ok());
    }
    let (i, _) = results
        .iter()
        .enumerate()
        .find(|(_, r)| r.is_ok())
        .expect("one was made");
    store
        .end_session(alice, &attempts[i].0.session_id, now(), &no_event)
        .await
        .expect("end");
    store
        .create_session(
            alice,
            &cert("session-new", day),
            &token(),
            now(),
            &event("n"),
            MAX,
        )
        .await
        .expect("an ended session frees its slot");
    // Another actor's sessions do not count.
    let bob = setup(store, "bob").await;
    store
        .create_session(
            bob,
            &cert("session-b", day),
            &token(),
            now(),
            &event("n"),
            MAX,
        )
        .await
        .expect("bob has his own limit");
}

/// Concurrent creations of one session ID: exactly one succeeds, the others
/// get `Conflict` and store nothing.
pub async fn session_id_conflict_exact_under_concurrency(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let day = now().saturating_add(DAY);
    let attempts: Vec<_> = (0..10).map(|_| (cert("session-x", day), token())).collect();
    let ev = event("n");
    let results = on_threads(attempts.len(), |i| {
        let (c, t) = &attempts[i];
        store.create_session(alice, c, t, now(), &ev, u64::MAX)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_)))),
        "{results:?}"
    );
    for ((c, t), r) in attempts.iter().zip(&results) {
        let resolved = local(store, t).await;
        assert_eq!(
            resolved.is_some(),
            r.is_ok(),
            "a refused creation stored its token"
        );
        if let Some(s) = resolved {
            assert_eq!(s.cert_serial, c.serial);
        }
    }
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        1
    );
    let certs = store
        .actor_certs(alice, &ActorCertFilter::default(), now())
        .await
        .expect("certs");
    assert_eq!(certs.len(), 1, "a refused creation stored its certificate");
}
