//! Cases: the certificate-change notices caches rely on (`Store::watch_sessions`).

use std::sync::{Arc, Mutex};

use super::*;
use crate::storage::SessionNotice;

/// What a watch hook saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Actor(i64),
    Server,
}

fn recorder(store: &impl Store) -> Arc<Mutex<Vec<Seen>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    store.watch_sessions(Arc::new(move |n: &SessionNotice| {
        let s = match n {
            SessionNotice::ActorCertsChanged { actor_id } => Seen::Actor(*actor_id),
            SessionNotice::ServerCertChanged => Seen::Server,
            _ => return,
        };
        sink.lock().expect("recorder lock").push(s);
    }));
    seen
}

/// Takes what the hook saw so far.
fn take(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    std::mem::take(&mut *seen.lock().expect("recorder lock"))
}

/// Every write that changes an actor's certificate list or the current root
/// certificate has called the watch hooks *before it returns* (the response
/// cache relies on it to never serve a list an acknowledged write changed),
/// and writes that change neither call them with such a notice.
pub async fn certificate_changes_reach_watch_hooks_before_the_write_returns(store: &impl Store) {
    let seen = recorder(store);
    store
        .insert_server_cert(ROOT_SERIAL, "ROOT PEM", "root.key", now(), None)
        .await
        .expect("insert root");
    assert_eq!(take(&seen), vec![Seen::Server], "root inserted");
    let alice = store
        .create_actor(&fid("alice"), "hash", None, now())
        .await
        .expect("create actor");
    let bob = store
        .create_operator_actor(&fid("bob"), "hash", now())
        .await
        .expect("create actor");
    assert_eq!(
        take(&seen),
        vec![],
        "a new actor has no certificates to announce"
    );

    let (a, _) = session(store, alice, "session-a").await;
    assert_eq!(take(&seen), vec![Seen::Actor(alice)], "session created");
    let next = cert("session-a", now().saturating_add(DAY));
    store
        .rotate_session(&a, &next, &token(), now(), &event("rot"))
        .await
        .expect("rotate");
    assert_eq!(take(&seen), vec![Seen::Actor(alice)], "ID-Cert rotated");
    assert!(
        store
            .end_session(alice, &sid("session-a"), now(), &no_event)
            .await
            .expect("end")
    );
    assert_eq!(take(&seen), vec![Seen::Actor(alice)], "session ended");
    assert!(
        !store
            .end_session(alice, &sid("session-a"), now(), &no_event)
            .await
            .expect("end again")
    );
    assert_eq!(take(&seen), vec![], "nothing ended, nothing changed");

    session(store, bob, "session-b").await;
    assert_eq!(take(&seen), vec![Seen::Actor(bob)]);
    let ended = store
        .reset_actor_password(&fid("bob"), "newhash", now())
        .await
        .expect("reset");
    assert_eq!(ended, Some(1));
    assert_eq!(
        take(&seen),
        vec![Seen::Actor(bob)],
        "password reset ended a session"
    );
    store
        .reset_actor_password(&fid("bob"), "newer", now())
        .await
        .expect("reset");
    assert_eq!(take(&seen), vec![], "no session to end, no list changed");

    let event = PendingEvent {
        n: "suite",
        op: 1,
        d: "{}".into(),
    };
    store
        .insert_server_cert(ROOT_SERIAL + 1, "ROOT 2", "root2.key", now(), Some(event))
        .await
        .expect("rotate root");
    assert_eq!(take(&seen), vec![Seen::Server], "root rotated");
}
