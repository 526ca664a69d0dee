//! The event queue: commit order, reads, acknowledgements, revoked readers, pruning.

use super::*;
use crate::storage::StoreError;

/// Event ids grow in commit order: batches arrive on the bus in id order,
/// even from writers racing on separate threads, and a session reads them
/// in that order.
pub async fn event_ids_in_commit_order_under_concurrent_writers(store: &impl Store) {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 8;
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let mut bus = store.subscribe_events();
    let day = now().saturating_add(DAY);
    on_threads(WRITERS, |w| async move {
        for r in 0..ROUNDS {
            // A new session notifies a (and any other live one); so does its end.
            let c = cert(&format!("session-{w}-{r}"), day);
            store
                .create_session(alice, &c, &token(), now(), &event("new"), u64::MAX)
                .await
                .expect("create");
            store
                .end_session(alice, &c.session_id, now(), &|_| Some(event("gone")))
                .await
                .expect("end");
        }
    });
    let mut published = Vec::new();
    while let Ok(batch) = bus.try_recv() {
        published.extend(batch.iter().map(|e| (e.id, e.session_id.clone())));
    }
    assert!(!published.is_empty());
    assert!(
        published.windows(2).all(|w| w[0].0 < w[1].0),
        "batches published out of id order: {published:?}"
    );
    let to_a: Vec<i64> = published
        .iter()
        .filter(|(_, s)| *s == a.session_id)
        .map(|(id, _)| *id)
        .collect();
    let pending = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(
        pending, to_a,
        "the queue holds exactly what was published, in order"
    );
    assert_eq!(pending.len(), 2 * WRITERS * ROUNDS);
}

/// Reading after a cursor, acknowledging by ids and through a cursor, and
/// taking the queue; ids are never reused after an acknowledgement.
pub async fn event_queue_reads_acks_and_takes(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, bob, "session-b").await;
    for i in 0..5 {
        session(store, alice, &format!("session-{i}")).await;
        session(store, bob, &format!("session-{i}")).await;
    }
    let read = |after| store.pending_events(alice, &a.session_id, a.cert_serial, after);
    let all = ids(&read(0).await.expect("pending"));
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        ids(&read(all[1]).await.expect("pending")),
        all[2..].to_vec()
    );
    assert!(read(all[4]).await.expect("pending").is_empty());
    // Acknowledging another session's ids removes nothing.
    let theirs = ids(&store
        .pending_events(bob, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(
        store
            .ack_events(alice, &a.session_id, a.cert_serial, &theirs)
            .await
            .expect("ack"),
        0
    );
    assert_eq!(
        store
            .ack_events(
                alice,
                &a.session_id,
                a.cert_serial,
                &[all[0], all[2], 999_999]
            )
            .await
            .expect("ack"),
        2
    );
    assert_eq!(
        ids(&read(0).await.expect("pending")),
        vec![all[1], all[3], all[4]]
    );
    assert_eq!(
        store
            .ack_events_through(alice, &a.session_id, all[3])
            .await
            .expect("ack through"),
        2
    );
    assert_eq!(ids(&read(0).await.expect("pending")), vec![all[4]]);
    store
        .ack_events(alice, &a.session_id, a.cert_serial, &[all[4]])
        .await
        .expect("ack");
    // The newest event was removed: the next one still gets a higher id.
    session(store, alice, "session-9").await;
    let next = ids(&read(0).await.expect("pending"));
    assert_eq!(next.len(), 1);
    assert!(
        next[0] > all[4],
        "event id reused: {} after {}",
        next[0],
        all[4]
    );
    // take_events: everything, oldest first, and gone afterwards.
    let taken = store.take_events(bob, &b.session_id).await.expect("take");
    let taken_ids: Vec<i64> = taken.iter().map(|e| e.0).collect();
    assert_eq!(taken_ids, theirs);
    assert!(taken.iter().all(|e| e.1 == "suite" && e.2 == 7));
    assert!(
        store
            .take_events(bob, &b.session_id)
            .await
            .expect("take")
            .is_empty()
    );
}

/// A certificate that is no longer the session's live one cannot read or
/// acknowledge the session's queue (a revoked holder never sees a
/// successor's events); acknowledging nothing is not checked.
pub async fn revoked_certificate_cannot_read_or_ack(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    session(store, alice, "session-b").await;
    let queued = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(queued.len(), 1);
    let nc = cert("session-a", now().saturating_add(DAY));
    store
        .rotate_session(&a, &nc, &token(), now(), &event("r"))
        .await
        .expect("rotate");
    let read = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await;
    assert!(matches!(read, Err(StoreError::NotFound)), "{read:?}");
    let ack = store
        .ack_events(alice, &a.session_id, a.cert_serial, &queued)
        .await;
    assert!(matches!(ack, Err(StoreError::NotFound)), "{ack:?}");
    assert_eq!(
        store
            .ack_events(alice, &a.session_id, a.cert_serial, &[])
            .await
            .expect("empty ack"),
        0
    );
    // Nothing was removed by the refused acknowledgement.
    let still = ids(&store
        .pending_events(alice, &a.session_id, nc.serial, 0)
        .await
        .expect("pending"));
    assert_eq!(still, queued);
    // A serial of another session (or none at all) is refused too.
    let wrong = store.pending_events(alice, &a.session_id, 424_242, 0).await;
    assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
}

/// `dead_cert_serials` reports invalidated and expired certificates only,
/// never a live or unknown serial.
pub async fn dead_cert_serials_reports_only_dead(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (live, _) = session(store, alice, "session-l").await;
    let (ended, _) = session(store, alice, "session-e").await;
    let soon = now().saturating_add(60);
    let (short, _) = session_until(store, alice, "session-s", soon).await;
    store
        .end_session(alice, &ended.session_id, now(), &no_event)
        .await
        .expect("end");
    let asked = [
        live.cert_serial,
        ended.cert_serial,
        short.cert_serial,
        777_777,
    ];
    assert_eq!(
        store.dead_cert_serials(&asked, now()).await.expect("dead"),
        vec![ended.cert_serial]
    );
    let mut later = store
        .dead_cert_serials(&asked, soon.saturating_add(1))
        .await
        .expect("dead");
    later.sort_unstable();
    let mut want = vec![ended.cert_serial, short.cert_serial];
    want.sort_unstable();
    assert_eq!(later, want);
    assert!(
        store
            .dead_cert_serials(&[], now())
            .await
            .expect("dead")
            .is_empty()
    );
}

/// `prune_events` deletes the queues of expired sessions only.
pub async fn prune_events_keeps_live_sessions(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let soon = now().saturating_add(60);
    let (short, _) = session_until(store, alice, "session-s", soon).await;
    let (long, _) = session(store, alice, "session-l").await;
    session(store, alice, "session-x").await; // events for both of them
    let queued_for_short = store
        .pending_events(alice, &short.session_id, short.cert_serial, 0)
        .await
        .expect("pending")
        .len();
    assert_eq!(queued_for_short, 2);
    assert_eq!(store.prune_events(now()).await.expect("prune"), 0);
    assert_eq!(
        store
            .prune_events(soon.saturating_add(1))
            .await
            .expect("prune"),
        2
    );
    let kept = store
        .pending_events(alice, &long.session_id, long.cert_serial, 0)
        .await
        .expect("pending");
    assert_eq!(kept.len(), 1);
    assert!(
        store
            .take_events(alice, &short.session_id)
            .await
            .expect("take")
            .is_empty()
    );
}
