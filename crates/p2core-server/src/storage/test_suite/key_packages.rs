//! KeyPackage uploads and claims.

use super::*;
use crate::storage::StoreError;

/// Uploads are all or nothing: over the limit `LimitReached`, a reused init
/// key `Conflict`, a stale certificate `NotFound`; nothing is stored then.
pub async fn key_package_uploads_all_or_nothing(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    store
        .add_key_packages(
            &a,
            &[key_package("1", day, false), key_package("2", day, false)],
            now(),
            3,
        )
        .await
        .expect("upload");
    let over = store
        .add_key_packages(
            &a,
            &[key_package("3", day, false), key_package("4", day, false)],
            now(),
            3,
        )
        .await;
    assert!(matches!(over, Err(StoreError::LimitReached(_))), "{over:?}");
    let reused = store
        .add_key_packages(
            &a,
            &[key_package("5", day, false), key_package("1", day, false)],
            now(),
            100,
        )
        .await;
    assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");
    let mut bodies = HashSet::new();
    for _ in 0..5 {
        for c in store
            .claim_key_packages(alice, now(), 0, &no_low_event)
            .await
            .expect("claim")
        {
            bodies.insert(c.body_b64);
        }
    }
    let want: HashSet<String> = ["kp-1", "kp-2"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(bodies, want, "a refused upload stored something");
    // A certificate rotated away cannot upload.
    store
        .rotate_session(&a, &cert("session-a", day), &token(), now(), &event("r"))
        .await
        .expect("rotate");
    let stale = store
        .add_key_packages(&a, &[key_package("6", day, false)], now(), 100)
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
}

/// Claims hand out one package per live session: regular ones first (each
/// once), then the last-resort one (kept); expired ones never; the
/// low-KeyPackages notice stays one per session.
pub async fn key_package_claims_regular_then_last_resort(store: &impl Store) {
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let (b, _) = session(store, alice, "session-b").await;
    let day = now().saturating_add(DAY);
    let soon = now().saturating_add(30);
    store
        .add_key_packages(
            &a,
            &[
                key_package("a1", day, false),
                key_package("a2", day, false),
                key_package("a-old", soon, false),
                key_package("a-lr", day, true),
            ],
            now(),
            100,
        )
        .await
        .expect("upload a");
    store
        .add_key_packages(&b, &[key_package("b1", day, false)], now(), 100)
        .await
        .expect("upload b");
    let low_calls = std::sync::Mutex::new(Vec::new());
    let low = |remaining: u64, last_resort: bool| {
        low_calls
            .lock()
            .expect("lock")
            .push((remaining, last_resort));
        Some(event(&format!("low-{remaining}-{last_resort}")))
    };
    let later = soon.saturating_add(1);
    let claim = || async {
        let mut c = store
            .claim_key_packages(alice, later, 2, &low)
            .await
            .expect("claim");
        c.sort_by(|x, y| x.session_id.as_str().cmp(y.session_id.as_str()));
        c.into_iter()
            .map(|c| (c.session_id.as_str().to_owned(), c.body_b64, c.last_resort))
            .collect::<Vec<_>>()
    };
    let first = claim().await;
    assert_eq!(first.len(), 2, "one per live session: {first:?}");
    assert_eq!((first[0].0.as_str(), first[0].2), ("session-a", false));
    assert_eq!(
        first[1],
        ("session-b".to_owned(), "kp-b1".to_owned(), false)
    );
    let second = claim().await;
    assert_eq!(second.len(), 1, "b has nothing left: {second:?}");
    assert!(!second[0].2);
    let mut regular: Vec<String> = vec![first[0].1.clone(), second[0].1.clone()];
    regular.sort();
    assert_eq!(regular, vec!["kp-a1".to_owned(), "kp-a2".to_owned()]);
    for _ in 0..2 {
        let lr = claim().await;
        assert_eq!(
            lr,
            vec![("session-a".to_owned(), "kp-a-lr".to_owned(), true)]
        );
    }
    let calls = low_calls.lock().expect("lock").clone();
    assert!(calls.contains(&(0, true)), "{calls:?}");
    // One pending low notice per session, carrying the latest state.
    let to_a = store
        .pending_events(alice, &a.session_id, a.cert_serial, 0)
        .await
        .expect("pending");
    let lows: Vec<&str> = to_a
        .iter()
        .filter(|e| e.d.contains("low-"))
        .map(|e| &*e.d)
        .collect();
    assert_eq!(lows, vec!["{\"tag\":\"low-0-true\"}"], "{to_a:?}");
}

/// Many concurrent claims: every regular KeyPackage is handed out exactly
/// once, none twice, and the count is exact.
pub async fn key_package_claims_never_duplicate_under_concurrency(store: &impl Store) {
    const PACKAGES: usize = 20;
    let alice = setup(store, "alice").await;
    let (a, _) = session(store, alice, "session-a").await;
    let day = now().saturating_add(DAY);
    let packages: Vec<_> = (0..PACKAGES)
        .map(|i| key_package(&format!("p{i}"), day, false))
        .collect();
    store
        .add_key_packages(&a, &packages, now(), 1000)
        .await
        .expect("upload");
    let claims = on_threads(PACKAGES * 2, |_| {
        store.claim_key_packages(alice, now(), 0, &no_low_event)
    });
    let mut handed = Vec::new();
    for c in claims {
        handed.extend(c.expect("claim").into_iter().map(|c| c.body_b64));
    }
    let unique: HashSet<&String> = handed.iter().collect();
    assert_eq!(
        unique.len(),
        handed.len(),
        "a KeyPackage was handed out twice"
    );
    assert_eq!(handed.len(), PACKAGES, "{handed:?}");
}

/// An upload racing a rotation of its certificate never survives it: each
/// upload either fails with `NotFound` or is deleted by the rotation, so no
/// claim hands out a package of the old certificate; uploads with the new
/// certificate work.
pub async fn key_package_upload_racing_rotation_never_survives(store: &impl Store) {
    const UPLOADERS: usize = 8;
    let alice = setup(store, "alice").await;
    let day = now().saturating_add(DAY);
    for round in 0..4 {
        let id = format!("session-{round}");
        let (a, _) = session(store, alice, &id).await;
        let (nc, nt) = (cert(&id, day), token());
        let packages: Vec<NewKeyPackage> = (0..UPLOADERS)
            .map(|i| key_package(&format!("{round}-{i}"), day, false))
            .collect();
        let ev = event("r");
        let results = on_threads(UPLOADERS + 1, |i| {
            let (a, nc, nt, ev, packages) = (&a, &nc, &nt, &ev, &packages);
            async move {
                if i == UPLOADERS {
                    store.rotate_session(a, nc, nt, now(), ev).await
                } else {
                    store
                        .add_key_packages(a, &packages[i..=i], now(), 1000)
                        .await
                }
            }
        });
        assert!(results[UPLOADERS].is_ok(), "{results:?}");
        assert!(
            results[..UPLOADERS]
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(StoreError::NotFound))),
            "{results:?}"
        );
        let claimed = store
            .claim_key_packages(alice, now(), 0, &no_low_event)
            .await
            .expect("claim");
        assert!(
            claimed.is_empty(),
            "a package of the rotated-away certificate survived: {claimed:?}"
        );
        let a2 = local(store, &nt).await.expect("the new token resolves");
        store
            .add_key_packages(
                &a2,
                &[key_package(&format!("{round}-new"), day, false)],
                now(),
                1000,
            )
            .await
            .expect("upload with the new certificate");
        let claimed = store
            .claim_key_packages(alice, now(), 0, &no_low_event)
            .await
            .expect("claim");
        assert_eq!(
            claimed
                .iter()
                .map(|c| c.body_b64.as_str())
                .collect::<Vec<_>>(),
            vec![format!("kp-{round}-new").as_str()]
        );
        store
            .end_session(alice, &a2.session_id, now(), &no_event)
            .await
            .expect("end");
    }
}
