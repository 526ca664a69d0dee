//! Actors, operator-made actors, password resets and the root certificate history.

use super::*;
use crate::storage::{SessionNotice, StoreError};

/// Actor names are unique; lookups by name and FID find the actor.
pub async fn actors_unique_and_found(store: &impl Store) {
    let id = setup(store, "alice").await;
    let rec = store
        .actor_by_local_name("alice")
        .await
        .expect("lookup")
        .expect("alice exists");
    assert_eq!(rec.id, id);
    assert_eq!(rec.fid, fid("alice"));
    assert_eq!(rec.password_hash, "hash");
    assert_eq!(
        store.actor_exists(&fid("alice")).await.expect("exists"),
        Some(id)
    );
    assert!(
        store
            .actor_by_local_name("bob")
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(store.actor_exists(&fid("bob")).await.expect("exists"), None);
    let again = store
        .create_actor(&fid("alice"), "other", None, now())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let op = store
        .create_operator_actor(&fid("alice"), "other", now())
        .await;
    assert!(matches!(op, Err(StoreError::Conflict(_))), "{op:?}");
    // The taken name kept its first password.
    let rec = store.actor_by_local_name("alice").await.expect("lookup");
    assert_eq!(rec.map(|r| r.password_hash), Some("hash".to_owned()));
    // Concurrent registrations of one name: exactly one wins.
    let carol = fid("carol");
    let results = on_threads(8, |_| store.create_actor(&carol, "h", Some("{}"), now()));
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_))))
    );
}

/// Operator-made actors are flagged; a password reset ends every session.
pub async fn operator_actors_and_password_reset(store: &impl Store) {
    let alice = setup(store, "alice").await;
    assert!(!store.is_operator_made(alice).await.expect("flag"));
    let admin = store
        .create_operator_actor(&fid("admin"), "ophash", now())
        .await
        .expect("create operator actor");
    assert!(store.is_operator_made(admin).await.expect("flag"));

    let (a, ta) = session(store, alice, "session-a").await;
    let (b, tb) = session(store, alice, "session-b").await; // queues one for a
    let mut notices = store.subscribe_sessions();
    let ended = store
        .reset_actor_password(&fid("alice"), "newhash", now())
        .await
        .expect("reset");
    assert_eq!(ended, Some(2));
    assert!(
        store
            .take_events(alice, &a.session_id)
            .await
            .expect("take")
            .is_empty(),
        "the ended sessions' queues survived the reset"
    );
    assert!(local(store, &ta).await.is_none(), "old token still works");
    assert!(local(store, &tb).await.is_none(), "old token still works");
    assert_eq!(
        store.live_session_count(alice, now()).await.expect("count"),
        0
    );
    let rec = store.actor_by_local_name("alice").await.expect("lookup");
    assert_eq!(rec.map(|r| r.password_hash), Some("newhash".to_owned()));
    assert!(store.is_operator_made(alice).await.expect("flag"));
    let mut dead = store
        .dead_cert_serials(&[a.cert_serial, b.cert_serial], now())
        .await
        .expect("dead serials");
    dead.sort_unstable();
    let mut want = vec![a.cert_serial, b.cert_serial];
    want.sort_unstable();
    assert_eq!(dead, want);
    let mut revoked = Vec::new();
    while let Ok(n) = notices.try_recv() {
        if let SessionNotice::Revoked(s) = n {
            revoked.extend(s.iter().copied());
        }
    }
    revoked.sort_unstable();
    assert_eq!(revoked, want, "the gateway must learn of the revocations");
    assert_eq!(
        store
            .reset_actor_password(&fid("nobody"), "x", now())
            .await
            .expect("reset"),
        None
    );
}

/// The current root and the root current at any past time.
pub async fn root_certificate_history(store: &impl Store) {
    assert!(store.current_server_cert().await.expect("read").is_none());
    let t0 = now();
    let t1 = t0.saturating_add(100);
    store
        .insert_server_cert(10, "PEM 10", "k10", t0, None)
        .await
        .expect("first root");
    let alice = store
        .create_actor(&fid("alice"), "h", None, t0)
        .await
        .expect("actor");
    let t = token();
    let mut c = cert("session-a", t0.saturating_add(DAY));
    c.root_serial = 10;
    store
        .create_session(alice, &c, &t, t0, &event("x"), u64::MAX)
        .await
        .expect("session");
    let a = local(store, &t).await.expect("session resolves");
    store
        .insert_server_cert(11, "PEM 11", "k11", t1, Some(event("rotated")))
        .await
        .expect("second root");
    let cur = store
        .current_server_cert()
        .await
        .expect("read")
        .expect("a current root");
    assert_eq!(
        (cur.serial, cur.cert_pem.as_str(), cur.key_file.as_str()),
        (11, "PEM 11", "k11")
    );
    assert_eq!(cur.current_from, t1);
    let at = |t| async move {
        store
            .server_cert_at(t)
            .await
            .expect("read")
            .map(|c| c.serial)
    };
    assert_eq!(at(UnixTimestamp(t0.0 - 1)).await, None);
    assert_eq!(at(t0).await, Some(10));
    assert_eq!(at(UnixTimestamp(t1.0 - 1)).await, Some(10));
    assert_eq!(at(t1).await, Some(11));
    assert_eq!(at(t1.saturating_add(DAY)).await, Some(11));
    // The rotation event reached the live local session.
    let pending = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    assert!(
        pending.iter().any(|e| e.d.contains("rotated")),
        "{pending:?}"
    );
}

/// A new root certificate queues its event for every live local session of
/// every actor, and for no expired or ended one; without an event, nothing
/// is queued.
pub async fn root_rotation_event_reaches_every_live_local_session(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a1, _) = session(store, alice, "session-1").await;
    let (a2, _) = session(store, alice, "session-2").await;
    let (b1, _) = session(store, bob, "session-1").await;
    let soon = now().saturating_add(30);
    let (short, _) = session_until(store, bob, "session-s", soon).await;
    let (gone, _) = session(store, bob, "session-g").await;
    store
        .end_session(bob, &gone.session_id, now(), &no_event)
        .await
        .expect("end");
    let read = |s: LocalSession| async move {
        store
            .pending_events(s.actor_id, &s.session_id, s.cert_serial, 0)
            .await
            .expect("pending")
            .iter()
            .filter(|e| e.d.contains("root-"))
            .map(|e| e.d.to_string())
            .collect::<Vec<_>>()
    };
    store
        .insert_server_cert(2, "PEM 2", "k2", now(), None)
        .await
        .expect("a root without event");
    for s in [&a1, &a2, &b1, &short] {
        assert!(
            read(s.clone()).await.is_empty(),
            "an event nobody asked for"
        );
    }
    // At a time the short session has expired.
    let later = soon.saturating_add(1);
    store
        .insert_server_cert(3, "PEM 3", "k3", later, Some(event("root-3")))
        .await
        .expect("a root with event");
    for s in [&a1, &a2, &b1] {
        assert_eq!(
            read(s.clone()).await,
            vec!["{\"tag\":\"root-3\"}".to_owned()],
            "{} of actor {}",
            s.session_id.as_str(),
            s.actor_id
        );
    }
    assert!(
        read(short.clone()).await.is_empty(),
        "an expired session was told"
    );
    assert!(
        store
            .take_events(bob, &gone.session_id)
            .await
            .expect("take")
            .is_empty(),
        "an ended session was told"
    );
}

/// Root rotations racing each other (two instances renewing at once) leave
/// exactly one current root, and every rotation in the history.
pub async fn concurrent_root_rotations_leave_one_current_root(store: &impl Store) {
    const ROTATIONS: usize = 8;
    setup(store, "alice").await;
    let t = now();
    on_threads(ROTATIONS, |i| async move {
        let serial = 500 + i64::try_from(i).expect("small");
        store
            .insert_server_cert(serial, &format!("PEM {serial}"), "k", t, None)
            .await
            .expect("rotation");
    });
    let current = store
        .current_server_cert()
        .await
        .expect("read")
        .expect("a current root");
    assert!((500..500 + 8).contains(&current.serial), "{current:?}");
    // The current one is what a lookup at the rotation time answers.
    assert_eq!(
        store
            .server_cert_at(t)
            .await
            .expect("read")
            .map(|c| c.serial),
        Some(current.serial)
    );
}

/// A certificate signed with a root that is no longer current (another
/// instance rotated it meanwhile) is refused with the `Conflict`
/// [`ROOT_NOT_CURRENT`](crate::storage::ROOT_NOT_CURRENT), for new sessions and
/// rotations alike, and nothing is stored; with the current root it is taken.
pub async fn certificates_of_a_rotated_out_root_are_refused(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    store
        .insert_server_cert(ROOT_SERIAL + 1, "NEW ROOT", "k", now(), Some(event("root")))
        .await
        .expect("rotation");
    let day = now().saturating_add(DAY);
    let stale = cert("session-b", day);
    let t = token();
    match store
        .create_session(alice, &stale, &t, now(), &event("b"), u64::MAX)
        .await
    {
        Err(crate::storage::StoreError::Conflict(m)) => {
            assert_eq!(m, crate::storage::ROOT_NOT_CURRENT)
        }
        other => panic!("a session signed by the old root: {other:?}"),
    }
    assert!(local(store, &t).await.is_none(), "nothing stored");
    let mut stale = cert("session-a", day);
    stale.session_id = a.session_id.clone();
    match store
        .rotate_session(&a, &stale, &token(), now(), &event("rot"))
        .await
    {
        Err(crate::storage::StoreError::Conflict(m)) => {
            assert_eq!(m, crate::storage::ROOT_NOT_CURRENT)
        }
        other => panic!("a rotation signed by the old root: {other:?}"),
    }
    assert!(
        store
            .dead_cert_serials(&[a.cert_serial], now())
            .await
            .expect("read")
            .is_empty(),
        "the refused rotation left the old certificate live"
    );
    let mut fresh = cert("session-b", day);
    fresh.root_serial = ROOT_SERIAL + 1;
    store
        .create_session(alice, &fresh, &token(), now(), &event("b"), u64::MAX)
        .await
        .expect("a session signed by the current root");
}
