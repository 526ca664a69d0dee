//! Challenges of `GET /challenge`: single use, expiry, the bounds, pruning.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use p2core_types::ChallengeString;

use super::*;
use crate::storage::{ChallengeStoreFull, Network};

/// The network of the IPv4 address `a.b.c.1`.
fn network(a: u8, b: u8, c: u8) -> Network {
    Network::share_of(IpAddr::V4(Ipv4Addr::new(a, b, c, 1)))
}

fn challenge_at(t: UnixTimestamp, lifetime: u64) -> ChallengeString {
    ChallengeString::generate(t, Duration::from_secs(lifetime))
}

/// A challenge is used once: the second take fails, as does a take of an
/// unknown or expired challenge. Until it is taken (or pruned), it can be
/// read back as issued, also after its expiry (the caller tells "expired"
/// from "unknown" by it); a challenge is still accepted at its expiry second.
pub async fn challenges_single_use_and_expiry(store: &impl Store) {
    let t0 = now();
    let net = network(192, 0, 2);
    let issue = |c: ChallengeString| async move {
        store
            .issue_challenge(&c, net, t0, 100, 100)
            .await
            .expect("issue")
    };
    let a = challenge_at(t0, 60);
    assert_eq!(issue(a.clone()).await, Ok(()));
    let read = store
        .issued_challenge(a.challenge())
        .await
        .expect("read")
        .expect("the issued challenge is outstanding");
    assert_eq!(
        (read.challenge(), read.expires()),
        (a.challenge(), a.expires())
    );
    assert!(
        store
            .issued_challenge(a.challenge())
            .await
            .expect("read")
            .is_some(),
        "reading does not use it up"
    );
    assert!(store.take_challenge(a.challenge(), t0).await.expect("take"));
    assert!(
        !store.take_challenge(a.challenge(), t0).await.expect("take"),
        "a challenge was accepted twice"
    );
    assert!(
        store
            .issued_challenge(a.challenge())
            .await
            .expect("read")
            .is_none(),
        "a used challenge is still outstanding"
    );
    let unknown = challenge_at(t0, 60);
    assert!(
        !store
            .take_challenge(unknown.challenge(), t0)
            .await
            .expect("take")
    );
    assert!(
        store
            .issued_challenge(unknown.challenge())
            .await
            .expect("read")
            .is_none()
    );

    // Expiry: accepted at the expiry second, never after it.
    let b = challenge_at(t0, 10);
    let c = challenge_at(t0, 10);
    issue(b.clone()).await.expect("issued");
    issue(c.clone()).await.expect("issued");
    let past = b.expires().saturating_add(1);
    assert!(
        !store
            .take_challenge(b.challenge(), past)
            .await
            .expect("take"),
        "an expired challenge was accepted"
    );
    assert!(
        !store
            .take_challenge(b.challenge(), past)
            .await
            .expect("take"),
        "an expired challenge was accepted"
    );
    let expired = store
        .issued_challenge(b.challenge())
        .await
        .expect("read")
        .expect("an expired challenge reads back until pruned");
    assert!(expired.is_expired(past));
    assert!(
        store
            .take_challenge(c.challenge(), c.expires())
            .await
            .expect("take"),
        "a challenge is valid through its expiry second"
    );

    // Issuing the same challenge twice does not make it usable twice.
    let d = challenge_at(t0, 60);
    issue(d.clone()).await.expect("issued");
    issue(d.clone()).await.expect("issued again");
    assert!(store.take_challenge(d.challenge(), t0).await.expect("take"));
    assert!(!store.take_challenge(d.challenge(), t0).await.expect("take"));
}

/// Many concurrent takes of one challenge (50 threads, five challenges):
/// exactly one take of each succeeds.
pub async fn challenges_single_use_under_concurrency(store: &impl Store) {
    const TAKERS: usize = 50;
    let t0 = now();
    let challenges: Vec<ChallengeString> = (0..5).map(|_| challenge_at(t0, 60)).collect();
    for c in &challenges {
        store
            .issue_challenge(c, network(192, 0, 2), t0, 1000, 1000)
            .await
            .expect("issue")
            .expect("issued");
    }
    let results = on_threads(TAKERS, |i| {
        let challenges = &challenges;
        async move {
            let mut won = Vec::new();
            // Each taker goes through the challenges in its own order.
            for k in 0..challenges.len() {
                let c = &challenges[(i + k) % challenges.len()];
                if store.take_challenge(c.challenge(), t0).await.expect("take") {
                    won.push(c.challenge().to_owned());
                }
            }
            won
        }
    });
    for c in &challenges {
        let winners = results
            .iter()
            .flatten()
            .filter(|w| *w == c.challenge())
            .count();
        assert_eq!(winners, 1, "takes of one challenge that succeeded");
    }
}

/// The bounds on outstanding challenges, in all and per network, are exact
/// under concurrent issues; the refusal names the bound, stores nothing,
/// and a used or expired challenge frees its slot.
pub async fn challenge_bounds_exact_under_concurrency(store: &impl Store) {
    const ISSUERS: usize = 40;
    let t0 = now();
    // One network's share: 5 of 40 concurrent issues, the rest refused.
    let crowded = network(198, 51, 100);
    let tries: Vec<ChallengeString> = (0..ISSUERS).map(|_| challenge_at(t0, 60)).collect();
    let results = on_threads(ISSUERS, |i| {
        store.issue_challenge(&tries[i], crowded, t0, 1000, 5)
    });
    let results: Vec<_> = results.into_iter().map(|r| r.expect("issue")).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        5,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(ChallengeStoreFull::Network))),
        "{results:?}"
    );
    for (c, r) in tries.iter().zip(&results) {
        let stored = store
            .issued_challenge(c.challenge())
            .await
            .expect("read")
            .is_some();
        assert_eq!(stored, r.is_ok(), "a refused challenge was stored");
    }
    // Another network is not affected.
    let other = challenge_at(t0, 60);
    assert_eq!(
        store
            .issue_challenge(&other, network(198, 51, 101), t0, 1000, 5)
            .await
            .expect("issue"),
        Ok(())
    );

    // The bound in all: 6 are outstanding; with 20 in all, 14 of 40
    // concurrent issues from 40 networks succeed.
    let tries: Vec<ChallengeString> = (0..ISSUERS).map(|_| challenge_at(t0, 60)).collect();
    let results = on_threads(ISSUERS, |i| {
        let net = network(10, u8::try_from(i).unwrap_or(u8::MAX), 0);
        store.issue_challenge(&tries[i], net, t0, 20, 100)
    });
    let results: Vec<_> = results.into_iter().map(|r| r.expect("issue")).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        14,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(ChallengeStoreFull::Store))),
        "{results:?}"
    );
    let extra = challenge_at(t0, 60);
    assert_eq!(
        store
            .issue_challenge(&extra, network(10, 200, 0), t0, 20, 100)
            .await
            .expect("issue"),
        Err(ChallengeStoreFull::Store)
    );
    // A used challenge frees its slot (and only one).
    assert!(
        store
            .take_challenge(other.challenge(), t0)
            .await
            .expect("take")
    );
    assert_eq!(
        store
            .issue_challenge(&extra, network(10, 200, 0), t0, 20, 100)
            .await
            .expect("issue"),
        Ok(())
    );
    assert_eq!(
        store
            .issue_challenge(&challenge_at(t0, 60), network(10, 201, 0), t0, 20, 100)
            .await
            .expect("issue"),
        Err(ChallengeStoreFull::Store)
    );
    // Once they expired, a full store and a full network make room.
    let later = t0.saturating_add(61);
    assert_eq!(
        store
            .issue_challenge(&challenge_at(later, 60), crowded, later, 20, 5)
            .await
            .expect("issue"),
        Ok(())
    );
    assert_eq!(
        store
            .issue_challenge(&challenge_at(later, 60), network(10, 202, 0), later, 20, 5)
            .await
            .expect("issue"),
        Ok(())
    );
}

/// `prune_challenges` drops the challenges that expired before `now` and
/// nothing else (not one at its expiry second, not an unexpired one).
pub async fn prune_challenges_removes_only_expired(store: &impl Store) {
    let t0 = now();
    let net = network(192, 0, 2);
    let a = challenge_at(t0, 10);
    let b = challenge_at(t0, 20);
    let c = challenge_at(t0, 30);
    for x in [&a, &b, &c] {
        store
            .issue_challenge(x, net, t0, 100, 100)
            .await
            .expect("issue")
            .expect("issued");
    }
    assert_eq!(
        store.prune_challenges(a.expires()).await.expect("prune"),
        0,
        "a challenge at its expiry second is not expired"
    );
    assert_eq!(
        store
            .prune_challenges(b.expires().saturating_add(1))
            .await
            .expect("prune"),
        2
    );
    for gone in [&a, &b] {
        assert!(
            store
                .issued_challenge(gone.challenge())
                .await
                .expect("read")
                .is_none(),
            "a pruned challenge is still outstanding"
        );
    }
    assert!(
        store
            .issued_challenge(c.challenge())
            .await
            .expect("read")
            .is_some(),
        "an unexpired challenge was pruned"
    );
    assert_eq!(
        store
            .prune_challenges(b.expires().saturating_add(1))
            .await
            .expect("prune"),
        0
    );
    assert!(
        store
            .take_challenge(c.challenge(), b.expires().saturating_add(1))
            .await
            .expect("take")
    );
}
