//! The event queue: commit order, reads, acknowledgements, revoked readers, pruning.

use super::*;
use crate::storage::{SessionNotice, StoreError};

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

/// The tag of a suite event's payload (`{"tag": …}`).
fn tag(e: &crate::storage::StoredEvent) -> String {
    serde_json::from_str::<serde_json::Value>(&e.d)
        .ok()
        .and_then(|v| v.get("tag").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Ids follow commit order as a reader sees it: a reader that reads a
/// session's queue after a cursor (the id of the last event it saw) while
/// writers race never misses an event (an id below the cursor committed
/// later would be skipped); the bus delivers each batch after its commit
/// (its events can be read by then) and in id order.
pub async fn cursor_reader_never_misses_events_of_concurrent_writers(store: &impl Store) {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 10;
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let bus = std::sync::Mutex::new(Some(store.subscribe_events()));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let day = now().saturating_add(DAY);
    let outcome = on_threads(WRITERS + 1, |w| {
        let (bus, done, a) = (&bus, &done, &a);
        async move {
            if w < WRITERS {
                for r in 0..ROUNDS {
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
                done.fetch_add(1, Ordering::SeqCst);
                return (Vec::new(), Vec::new());
            }
            // The reader: bus batches and cursor reads, until the writers are done.
            let mut rx = bus
                .lock()
                .expect("lock")
                .take()
                .expect("one reader takes the receiver");
            let (mut cursor, mut seen, mut on_bus, mut last_on_bus) =
                (0, Vec::new(), Vec::new(), 0);
            loop {
                let finished = done.load(Ordering::SeqCst) == WRITERS;
                let received =
                    tokio::time::timeout(std::time::Duration::from_millis(20), rx.recv()).await;
                let timed_out = received.is_err();
                let mut fresh = Vec::new();
                match received {
                    Ok(Ok(batch)) => {
                        for e in batch.iter() {
                            assert!(
                                e.id > last_on_bus,
                                "the bus delivered {} after {last_on_bus}",
                                e.id
                            );
                            last_on_bus = e.id;
                            if e.session_id == a.session_id {
                                fresh.push(e.id);
                            }
                        }
                    }
                    // A lagging subscriber reads what it missed from the queue.
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                    Ok(Err(e)) => panic!("the bus closed: {e}"),
                    Err(_) => {}
                }
                let got = ids(&store
                    .pending_events(alice, &a.session_id, a.cert_serial, cursor)
                    .await
                    .expect("pending"));
                assert!(
                    got.first().is_none_or(|f| *f > cursor) && got.windows(2).all(|p| p[0] < p[1]),
                    "read after {cursor}: {got:?}"
                );
                cursor = got.last().copied().unwrap_or(cursor);
                seen.extend(got);
                for id in &fresh {
                    assert!(
                        seen.contains(id),
                        "event {id} was published before it could be read"
                    );
                }
                on_bus.extend(fresh);
                if finished && timed_out {
                    return (seen, on_bus);
                }
            }
        }
    });
    let (seen, on_bus) = outcome.into_iter().last().expect("the reader's result");
    let all = ids(&store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending"));
    assert_eq!(all.len(), 2 * WRITERS * ROUNDS);
    assert_eq!(
        seen, all,
        "the cursor reader missed events committed with a lower id after a higher one"
    );
    assert!(on_bus.iter().all(|id| all.contains(id)));
}

/// A `SessionNotice` reaches a subscriber before any event batch committed
/// after it: whoever reads the notices first never routes a later event to
/// a revoked or replaced certificate. Writers create, rotate and end
/// sessions concurrently; each operation queues an event naming the serial
/// it revoked (or made current), and when the subscriber receives that
/// event, the notice must already be there.
pub async fn session_notices_precede_later_events(store: &impl Store) {
    const WRITERS: usize = 6;
    const ROTATIONS: usize = 5;
    let alice = setup(store, "alice").await;
    session(store, alice, "session-listener").await;
    let events = std::sync::Mutex::new(Some(store.subscribe_events()));
    let notices = std::sync::Mutex::new(Some(store.subscribe_sessions()));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let day = now().saturating_add(DAY);
    let checked = on_threads(WRITERS + 1, |w| {
        let (events, notices, done) = (&events, &notices, &done);
        async move {
            if w < WRITERS {
                let c = cert(&format!("session-{w}"), day);
                let t = token();
                store
                    .create_session(
                        alice,
                        &c,
                        &t,
                        now(),
                        &event(&format!("new-{}", c.serial)),
                        u64::MAX,
                    )
                    .await
                    .expect("create");
                let mut s = local(store, &t).await.expect("the new session resolves");
                for _ in 0..ROTATIONS {
                    let (nc, nt) = (cert(&format!("session-{w}"), day), token());
                    store
                        .rotate_session(
                            &s,
                            &nc,
                            &nt,
                            now(),
                            &event(&format!("revoked-{}", s.cert_serial)),
                        )
                        .await
                        .expect("rotate");
                    s = local(store, &nt)
                        .await
                        .expect("the rotated session resolves");
                }
                store
                    .end_session(alice, &s.session_id, now(), &|serial| {
                        Some(event(&format!("revoked-{serial}")))
                    })
                    .await
                    .expect("end");
                done.fetch_add(1, Ordering::SeqCst);
                return 0;
            }
            let mut ev_rx = events.lock().expect("lock").take().expect("one subscriber");
            let mut notice_rx = notices
                .lock()
                .expect("lock")
                .take()
                .expect("one subscriber");
            let mut revoked = HashSet::new();
            let mut current = HashSet::new();
            let mut checked = 0;
            loop {
                let finished = done.load(Ordering::SeqCst) == WRITERS;
                let received =
                    tokio::time::timeout(std::time::Duration::from_millis(20), ev_rx.recv()).await;
                let batch = match received {
                    Ok(Ok(batch)) => batch,
                    Ok(Err(e)) => panic!("the event bus failed the subscriber: {e}"),
                    Err(_) if finished => return checked,
                    Err(_) => continue,
                };
                // Read the notices first, as the gateway does.
                loop {
                    match notice_rx.try_recv() {
                        Ok(SessionNotice::Revoked(serials)) => {
                            revoked.extend(serials.iter().copied())
                        }
                        Ok(SessionNotice::Current { serial, .. }) => {
                            current.insert(serial);
                        }
                        // Certificate-change notices (response cache) carry no serial.
                        Ok(
                            SessionNotice::ActorCertsChanged { .. }
                            | SessionNotice::ServerCertChanged,
                        ) => {}
                        Ok(SessionNotice::Resync) => {
                            panic!("the store lost notices (Resync) under an ordinary load")
                        }
                        Err(tokio::sync::broadcast::error::TryRecvError::Empty) => break,
                        Err(e) => panic!("the notice bus failed the subscriber: {e}"),
                    }
                }
                for e in batch.iter() {
                    let tag = tag(e);
                    if let Some(serial) = tag.strip_prefix("revoked-") {
                        let serial: i64 = serial.parse().expect("a serial");
                        assert!(
                            revoked.contains(&serial),
                            "event {} (committed with or after the revocation of {serial}) arrived before its notice",
                            e.id
                        );
                        checked += 1;
                    } else if let Some(serial) = tag.strip_prefix("new-") {
                        let serial: i64 = serial.parse().expect("a serial");
                        assert!(
                            current.contains(&serial),
                            "event {} arrived before the notice that {serial} is current",
                            e.id
                        );
                        checked += 1;
                    }
                }
            }
        }
    });
    // Each writer's create, rotations and end reached the listener at least.
    let checked = checked.last().copied().unwrap_or(0);
    assert!(
        checked >= WRITERS * (ROTATIONS + 2),
        "only {checked} events were checked"
    );
}

/// Acknowledged events are gone for good: under concurrent writers, a
/// reader that acknowledges (by ids and through a cursor) never reads an
/// acknowledged id again, each acknowledgement removes exactly the events
/// it names that were still queued, and nothing else of the session or of
/// another session is removed.
pub async fn acked_events_never_read_again(store: &impl Store) {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 12;
    let alice = setup(store, "alice").await;
    let bob = setup(store, "bob").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, bob, "session-b").await;
    session(store, bob, "session-c").await; // one event for b
    let done = std::sync::atomic::AtomicUsize::new(0);
    let day = now().saturating_add(DAY);
    let outcome = on_threads(WRITERS + 1, |w| {
        let (done, a) = (&done, &a);
        async move {
            if w < WRITERS {
                for r in 0..ROUNDS {
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
                done.fetch_add(1, Ordering::SeqCst);
                return (HashSet::new(), 0);
            }
            let mut acked: HashSet<i64> = HashSet::new();
            let mut round = 0u32;
            loop {
                let finished = done.load(Ordering::SeqCst) == WRITERS;
                let got = ids(&store
                    .pending_events(alice, &a.session_id, a.cert_serial, 0)
                    .await
                    .expect("pending"));
                assert!(
                    got.iter().all(|id| !acked.contains(id)),
                    "acknowledged events read again: {got:?}"
                );
                if finished && got.is_empty() {
                    return (acked, round);
                }
                round += 1;
                if round.is_multiple_of(3) {
                    // Through a cursor: everything up to the newest event read.
                    if let Some(&upto) = got.last() {
                        let removed = store
                            .ack_events_through(alice, &a.session_id, upto)
                            .await
                            .expect("ack through");
                        assert_eq!(
                            removed,
                            got.len() as u64,
                            "an acknowledgement through {upto} removed events the reader never saw"
                        );
                        acked.extend(got);
                    }
                } else {
                    // By ids: every other event read, plus one already acknowledged.
                    let mut pick: Vec<i64> = got.iter().step_by(2).copied().collect();
                    let fresh = pick.len() as u64;
                    pick.extend(acked.iter().next().copied());
                    let removed = store
                        .ack_events(alice, &a.session_id, a.cert_serial, &pick)
                        .await
                        .expect("ack");
                    assert_eq!(removed, fresh, "acknowledged {pick:?}");
                    acked.extend(pick);
                }
                if !finished {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
        }
    });
    let (acked, rounds) = outcome.into_iter().last().expect("the reader's result");
    assert!(rounds > 1, "the reader never raced the writers");
    assert_eq!(
        acked.len(),
        2 * WRITERS * ROUNDS,
        "every event was read and acknowledged once"
    );
    assert!(
        store
            .pending_events(alice, &a.session_id, a.cert_serial, 0)
            .await
            .expect("pending")
            .is_empty()
    );
    // Another actor's session kept its queue.
    let to_b = store
        .pending_events(bob, &b.session_id, b.cert_serial, 0)
        .await
        .expect("pending");
    assert_eq!(to_b.len(), 1, "{to_b:?}");
}
