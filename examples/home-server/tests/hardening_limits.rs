//! Limits against one network, spoofed client addresses and KeyPackage drains
//! (issue 13 items 8, 10, 11), over real sockets. Many client addresses are
//! simulated with `--trust-forwarded-for` and `X-Forwarded-For`, as a reverse
//! proxy in front of the server would send them.

mod common;

use std::collections::HashMap;

use common::*;
use p2core_routes::client::Client;
use p2core_types::keypackage::generate_key_packages;
use p2core_types::{ErrorCode, FederationId};

/// `GET /challenge` as the client `xff` (the `X-Forwarded-For` header sent);
/// returns (status, Retry-After, JSON body).
async fn challenge_as(
    http: &Client,
    base: &str,
    xff: &str,
) -> (u16, Option<u64>, serde_json::Value) {
    let resp = http
        .http()
        .get(format!("{base}{}", p2core_routes::challenge::INFO.path))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .expect("answered");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: serde_json::Value = resp.json().await.expect("a JSON body");
    if status >= 400 {
        assert_eq!(body["errcode"], status, "{body}");
    }
    (status, retry, body)
}

/// Counts statuses.
fn tally(statuses: &[u16]) -> HashMap<u16, usize> {
    let mut t = HashMap::new();
    for s in statuses {
        *t.entry(*s).or_insert(0) += 1;
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ipv6_48_cannot_exhaust_the_challenge_store_or_another_networks_limits() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.trust_forwarded_for = true;
        c.max_challenges = 200;
        c.max_challenges_per_network = 50;
        // 5 per /64 (and IPv4 address), 20 per /56 (and IPv4 /24), 80 per /48
        c.rate_challenge_per_minute = 5;
        c.rate_network_factor = 4;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);

    // the attacker's /48 walks through 300 of its /56 and /64 networks
    let mut statuses = Vec::new();
    for i in 0..300u32 {
        let addr = format!("2001:db8:a:{:x}::1", ((i % 256) << 8) | (i / 256));
        let (status, retry, body) = challenge_as(&http, &base, &addr).await;
        match status {
            200 => {}
            503 => assert_eq!(body["error"], ErrorCode::Unavailable.as_str()),
            429 => {
                assert_eq!(body["error"], ErrorCode::TooManyRequests.as_str());
                assert!(retry.is_some_and(|r| (1..=60).contains(&r)), "{retry:?}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
        statuses.push(status);
    }
    let t = tally(&statuses);
    assert_eq!(
        t.get(&200),
        Some(&50),
        "the network's share of the store: {t:?}"
    );
    // the /48 as a whole gets 80 a minute (plus what refills while the test runs)
    assert!(t.get(&429).copied().unwrap_or(0) >= 200, "{t:?}");
    assert_eq!(
        server
            .server()
            .store()
            .challenges()
            .len_for("2001:db8:a::1".parse().unwrap()),
        50
    );

    // another /48 and an IPv4 client are served as if nothing happened
    for _ in 0..5 {
        assert_eq!(challenge_as(&http, &base, "2001:db8:b::1").await.0, 200);
    }
    assert_eq!(
        challenge_as(&http, &base, "2001:db8:b::1").await.0,
        429,
        "its own /64 limit"
    );
    assert_eq!(challenge_as(&http, &base, "2001:db8:b:1::1").await.0, 200);
    assert_eq!(challenge_as(&http, &base, "192.0.2.10").await.0, 200);
    assert!(server.server().store().challenges().len() <= 57);

    // an IPv4 /24 is one network too
    let mut statuses = Vec::new();
    for i in 0..100u32 {
        statuses.push(
            challenge_as(&http, &base, &format!("203.0.113.{i}"))
                .await
                .0,
        );
    }
    let t = tally(&statuses);
    let ok = t.get(&200).copied().unwrap_or(0);
    assert!((20..=23).contains(&ok), "20 a minute per /24: {t:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_memory_is_bounded_and_keeps_its_debtors() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.trust_forwarded_for = true;
        c.rate_challenge_per_minute = 5;
        c.rate_limit_max_entries = 64;
        c.max_challenges_per_network = 1000;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);
    // a client that used its burst
    for _ in 0..5 {
        assert_eq!(challenge_as(&http, &base, "198.51.100.1").await.0, 200);
    }
    assert_eq!(challenge_as(&http, &base, "198.51.100.1").await.0, 429);
    // 300 clients from 300 networks: at most 64 addresses and networks are remembered
    let entries = || server.server().stats().rate_limit_entries;
    for i in 0..300u32 {
        let addr = format!("10.{}.{}.1", i / 256, i % 256);
        assert_eq!(challenge_as(&http, &base, &addr).await.0, 200);
        assert!(entries() <= 64, "{} entries", entries());
    }
    assert_eq!(entries(), 64, "driven to the bound");
    // the client with the most debt was not forgotten
    assert_eq!(challenge_as(&http, &base, "198.51.100.1").await.0, 429);
    server.stop().await.unwrap();
}

/// A bogus login (answered 401 or 429) as the client `xff`.
async fn login_as(http: &Client, base: &str, xff: &str) -> u16 {
    let body = serde_json::json!({"username": "nobody", "password": "x", "csr": "x"});
    http.http()
        .post(format!("{base}/.p2/core/v1/session/trust"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", xff)
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarded_for_entries_never_choose_the_bucket() {
    // one trusted proxy: it appends the client's address as the last entry
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.trust_forwarded_for = true;
        c.trusted_proxies = 1;
        c.rate_trust_per_minute = 1;
        c.rate_network_factor = 1000;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);
    // the client wrote entries of its own before the proxy's: they do not count
    assert_ne!(
        login_as(&http, &base, "203.0.113.1, 198.51.100.7").await,
        429
    );
    assert_eq!(
        login_as(&http, &base, "203.0.113.2, 198.51.100.7").await,
        429
    );
    // a malformed entry where the proxy's should be: the peer's address counts, not
    // an earlier (attacker-chosen) entry; so these all share one bucket
    let statuses: Vec<u16> =
        futures_statuses(&http, &base, |i| format!("203.0.113.{i}, not-an-address")).await;
    assert_eq!(
        statuses.iter().filter(|s| **s != 429).count(),
        1,
        "{statuses:?}"
    );
    server.stop().await.unwrap();

    // two trusted proxies: the client is the second entry from the right
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.trust_forwarded_for = true;
        c.trusted_proxies = 2;
        c.rate_trust_per_minute = 1;
        c.rate_network_factor = 1000;
    })
    .await;
    let base = server.base_url();
    let http = client(&base);
    assert_ne!(
        login_as(&http, &base, "6.6.6.6, 198.51.100.8, 10.0.0.2").await,
        429
    );
    assert_eq!(
        login_as(&http, &base, "6.6.6.7, 198.51.100.8, 10.0.0.3").await,
        429
    );
    assert_ne!(login_as(&http, &base, "198.51.100.9, 10.0.0.2").await, 429);
    // too few entries (the request did not pass both proxies) or garbage in the
    // trusted part: the peer address, one bucket for all of these
    let statuses = futures_statuses(&http, &base, |i| match i % 3 {
        0 => format!("203.0.113.{i}"),
        1 => format!("203.0.113.{i}, garbage"),
        _ => format!("203.0.113.{i}, , 10.0.0.2"),
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s != 429).count(),
        1,
        "{statuses:?}"
    );
    server.stop().await.unwrap();
}

/// Ten bogus logins, one after the other, with the headers `xff(i)`.
async fn futures_statuses(http: &Client, base: &str, xff: impl Fn(u32) -> String) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..10 {
        out.push(login_as(http, base, &xff(i)).await);
    }
    out
}

fn kps(s: &Session, n: usize) -> Vec<String> {
    generate_key_packages(&s.key, &s.fid, n, false)
        .unwrap()
        .iter()
        .map(|k| k.to_base64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keypackage_drain_hits_429_and_other_actors_keep_their_packages() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_local_with(dir.path(), |c| {
        c.rate_keypackage_claims_per_minute = 10;
        c.rate_keypackage_claims_per_actor_per_minute = 5;
        c.rate_session_writes_per_minute = 3;
    })
    .await;
    let base = server.base_url();
    let mut victims = Vec::new();
    for name in ["v1", "v2", "v3"] {
        let fid = register(&base, name, "pw").await;
        let s = trust(&base, &fid, "pw", "phone").await;
        s.client.upload_key_packages(&kps(&s, 20)).await.unwrap();
        victims.push(s);
    }
    let mallory = register(&base, "mallory", "pw").await;
    let m = trust(&base, &mallory, "pw", "drain").await;

    // the drainer claims one victim's packages as fast as it can: 5, then 429
    let mut got = Vec::new();
    let mut limited = None;
    for _ in 0..20 {
        match m.client.get_key_packages(&victims[0].fid).await {
            Ok(kps) => got.extend(kps),
            Err(e) => {
                limited = Some(e);
                break;
            }
        }
    }
    assert_eq!(got.len(), 5, "per claimed actor");
    let (status, retry, body) = claim_raw(&base, &m.token, &victims[0].fid).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("P2CORE_TOO_MANY_REQUESTS"))
    );
    assert!(retry.is_some_and(|r| (1..=60).contains(&r)), "{retry:?}");
    assert_api_error(
        Err::<(), _>(limited.unwrap()),
        429,
        ErrorCode::TooManyRequests,
    );
    // other callers are limited on that actor too (the actor's own limit)...
    let other = trust(&base, &victims[1].fid, "pw", "laptop").await;
    assert_eq!(claim_raw(&base, &other.token, &victims[0].fid).await.0, 429);
    // ...and the drainer runs into its own per-session limit on the next actors
    let mut claimed = 0;
    for v in &victims[1..] {
        for _ in 0..5 {
            if m.client.get_key_packages(&v.fid).await.is_ok() {
                claimed += 1;
            }
        }
    }
    assert_eq!(claimed, 5, "10 claims a minute per calling session");
    // authenticated writes are limited per session: 3 a minute, then 429
    let s = &victims[2];
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(match s.client.upload_key_packages(&kps(s, 1)).await {
            Ok(()) => 201,
            Err(e) => e.status().unwrap_or(0),
        });
    }
    // (its first upload above was the first of the 3)
    assert_eq!(statuses, [201, 201, 429, 429, 429]);
    // ...rotation and last-resort replacement share that session's budget
    let csr = p2core_certs::build_csr(&s.key, &s.fid, &s.session_id).unwrap();
    assert_api_error(
        s.client
            .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request {
                csr: csr.to_pem(),
            })
            .await,
        429,
        ErrorCode::TooManyRequests,
    );
    let lr = generate_key_packages(&s.key, &s.fid, 1, true).unwrap()[0].to_base64();
    assert_api_error(
        s.client.replace_last_resort_key_package(&lr).await,
        429,
        ErrorCode::TooManyRequests,
    );
    assert_api_error(
        s.client.update_extern_idcert(&s.cert_pem).await,
        429,
        ErrorCode::TooManyRequests,
    );
    assert_api_error(
        s.client.delete_session(&s.session_id).await,
        429,
        ErrorCode::TooManyRequests,
    );
    // another session of the same actor has its own budget
    let v3b = trust(&base, &s.fid, "pw", "tablet").await;
    v3b.client.upload_key_packages(&kps(&v3b, 1)).await.unwrap();
    server.stop().await.unwrap();

    // the packages nobody could claim are all still there: restarted without claim
    // limits, claims hand out v1: 20 - 5, v2: 20 - 5, v3: 20 + 2 + 1 (tablet)
    let server = spawn_local_with(dir.path(), |c| {
        c.rate_keypackage_claims_per_minute = 0;
        c.rate_keypackage_claims_per_actor_per_minute = 0;
    })
    .await;
    let base = server.base_url();
    let claimer = trust(&base, &mallory, "pw", "count").await;
    let mut left = Vec::new();
    for v in &victims {
        let mut n = 0;
        loop {
            let got = claimer.client.get_key_packages(&v.fid).await.unwrap();
            if got.is_empty() {
                break;
            }
            n += got.len();
            assert!(n <= 100, "claims never end");
        }
        left.push(n);
    }
    assert_eq!(left, [15, 15, 23]);
    server.stop().await.unwrap();
}

/// `GET /keypackage/{fid}` with `token`: (status, Retry-After, JSON body).
async fn claim_raw(
    base: &str,
    token: &str,
    fid: &FederationId,
) -> (u16, Option<u64>, serde_json::Value) {
    let resp = client(base)
        .http()
        .get(format!(
            "{base}{}",
            p2core_routes::get_key_packages::path(fid)
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, retry, resp.json().await.unwrap_or_default())
}
