//! Registration invites.

use super::*;
use crate::storage::StoreError;

/// Invites are used up atomically: concurrent registrations with one
/// invite never exceed its uses; a taken name uses nothing; revoked and
/// expired invites are refused.
pub async fn invites_used_up_atomically(store: &impl Store) {
    setup(store, "taken").await;
    let t0 = now();
    let week = t0.saturating_add(7 * DAY);
    let hash = token();
    let id = store
        .create_invite(&hash, 3, t0, week)
        .await
        .expect("invite");
    assert!(store.invite_usable(&hash, t0).await.expect("usable"));
    assert!(!store.invite_usable(&token(), t0).await.expect("usable"));
    assert!(
        !store.invite_usable(&hash, week).await.expect("usable"),
        "expired"
    );
    let taken = store
        .create_actor_with_invite(&fid("taken"), "h", None, t0, &hash)
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let names: Vec<FederationId> = (0..10).map(|i| fid(&format!("user{i}"))).collect();
    let results = on_threads(names.len(), |i| {
        store.create_actor_with_invite(&names[i], "h", Some("{}"), t0, &hash)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::NotFound)))
    );
    for (f, r) in names.iter().zip(&results) {
        let exists = store.actor_exists(f).await.expect("exists");
        assert_eq!(
            exists,
            r.as_ref().ok().copied(),
            "a refused registration created {f}"
        );
    }
    assert!(!store.invite_usable(&hash, t0).await.expect("usable"));
    let list = store.list_invites().await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id, list[0].max_uses, list[0].used), (id, 3, 3));
    assert_eq!(
        (list[0].created_at, list[0].expires_at, list[0].revoked_at),
        (t0, week, None)
    );

    let second = token();
    let id2 = store
        .create_invite(&second, 5, t0, week)
        .await
        .expect("invite");
    assert!(store.revoke_invite(id2, t0).await.expect("revoke"));
    assert!(
        !store.revoke_invite(id2, t0).await.expect("revoke"),
        "revoked twice"
    );
    assert!(!store.revoke_invite(987_654, t0).await.expect("revoke"));
    assert!(!store.invite_usable(&second, t0).await.expect("usable"));
    let refused = store
        .create_actor_with_invite(&fid("late"), "h", None, t0, &second)
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(
        store.actor_exists(&fid("late")).await.expect("exists"),
        None
    );
    let list = store.list_invites().await.expect("list");
    assert_eq!(list.iter().map(|i| i.id).collect::<Vec<_>>(), vec![id, id2]);
    assert_eq!(list[1].revoked_at, Some(t0));

    // Concurrent revocations of one invite: exactly one reports it revoked.
    let third = token();
    let id3 = store
        .create_invite(&third, 0, t0, week)
        .await
        .expect("invite");
    let revoked = on_threads(10, |_| store.revoke_invite(id3, t0));
    let revoked: Vec<bool> = revoked.into_iter().map(|r| r.expect("revoke")).collect();
    assert_eq!(revoked.iter().filter(|r| **r).count(), 1, "{revoked:?}");
    let list = store.list_invites().await.expect("list");
    assert_eq!(list[2].max_uses, 1, "an invite allows at least one use");
}
