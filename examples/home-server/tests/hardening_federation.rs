//! Outgoing federation requests against a misbehaving "foreign home server"
//! (a raw TCP fake on loopback): no redirect is followed, nothing the fake
//! sends is echoed, huge or endless bodies and stalls end quickly in a JSON
//! 502, memory stays bounded, roots are fetched once for concurrent callers,
//! and concurrent outgoing requests are bounded.

mod common;

use std::time::{Duration, Instant};

use common::fake::{self, Behavior};
use common::*;
use ed25519_dalek::SigningKey;
use p2core_certs::Issuer;
use p2core_types::{DomainName, ErrorCode, FederationId, IdCert, SessionId, UnixTimestamp};

/// A self-made home server identity for `domain`: its root and an actor cert
/// (key, PEM) for alice@domain, session "s1".
struct Foreign {
    root: IdCert,
    key: SigningKey,
    cert_pem: String,
}

fn foreign(domain: &str) -> Foreign {
    let root_key = new_key();
    let domain_name = DomainName::new(domain).unwrap();
    let now = UnixTimestamp::now();
    let root = p2core_certs::create_root_cert(
        &root_key,
        &domain_name,
        UnixTimestamp(now.0 - 60),
        UnixTimestamp(now.0 + 86_400),
        11,
    )
    .unwrap();
    let issuer = Issuer::new(root.clone(), root_key).unwrap();
    let fid = FederationId::new(&format!("alice@{domain}")).unwrap();
    let key = new_key();
    let csr = p2core_certs::build_csr(&key, &fid, &SessionId::new("s1").unwrap()).unwrap();
    let cert = issuer.issue(&csr, &fid, now, None, 12).unwrap();
    Foreign {
        root,
        key,
        cert_pem: cert.to_pem(),
    }
}

fn listing(cert_pem: &str) -> String {
    serde_json::json!({"idcerts": [cert_pem], "invalidated": [false]}).to_string()
}

/// Identifies at `base` with `f`'s certificate; returns (status, body, elapsed).
async fn identify_raw(base: &str, f: &Foreign) -> (u16, serde_json::Value, Duration) {
    let started = Instant::now();
    let res = client(base).identify(&f.key, &f.cert_pem, None).await;
    let elapsed = started.elapsed();
    match res {
        Ok(r) => (201, serde_json::json!({"token": r.token}), elapsed),
        Err(e) => {
            let body = e.error_body().expect("a JSON error body");
            (
                e.status().unwrap(),
                serde_json::json!({"error": body.error.as_str(), "message": body.message}),
                elapsed,
            )
        }
    }
}

/// B with one peer `evil.localhost` at `url`, 2 s federation timeouts.
async fn home_b(
    dir: &std::path::Path,
    url: String,
    tweak: impl FnOnce(&mut p2core_home_server::Config),
) -> p2core_home_server::RunningServer {
    spawn_with(dir, "b.localhost", &[], &[("evil.localhost", url)], |c| {
        c.federation_timeout_seconds = 2;
        c.federation_connect_timeout_seconds = 1;
        tweak(c);
    })
    .await
}

#[track_caller]
fn assert_upstream_failed(answer: &(u16, serde_json::Value, Duration), forbidden: &[&str]) {
    assert_eq!(answer.0, 502, "{}", answer.1);
    assert_eq!(
        answer.1["error"],
        ErrorCode::UpstreamFailed.as_str(),
        "{}",
        answer.1
    );
    let message = answer.1["message"].as_str().unwrap();
    assert!(
        message.contains("evil.localhost"),
        "names the upstream: {message}"
    );
    for word in forbidden {
        assert!(!message.contains(word), "echoes {word:?}: {message}");
    }
    // generous bound (the federation timeout is 2 s): no request hangs
    assert!(answer.2 < Duration::from_secs(20), "took {:?}", answer.2);
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_never_followed_at_either_step() {
    let f = foreign("evil.localhost");
    // an "internal service" the redirect points at: it must never be contacted
    let secret = fake::start(
        Behavior::Ok("SECRET-INTERNAL".into()),
        Behavior::Ok("SECRET-INTERNAL".into()),
        Behavior::Ok("SECRET-INTERNAL".into()),
        Duration::ZERO,
    )
    .await;
    let to_secret = format!("{}/admin?token=SECRET-INTERNAL", secret.url());

    // the root fetch is redirected
    let evil = fake::start(
        Behavior::Redirect(to_secret.clone()),
        Behavior::Redirect(to_secret.clone()),
        Behavior::Redirect(to_secret.clone()),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |_| {}).await;
    let answer = identify_raw(&b.base_url(), &f).await;
    assert_upstream_failed(
        &answer,
        &[
            "SECRET",
            "REDIRECT-BODY",
            "admin",
            &secret.addr.port().to_string(),
        ],
    );
    assert!(answer.1["message"].as_str().unwrap().contains("redirect"));
    assert_eq!(evil.root_hits(), 1);
    b.stop().await.unwrap();

    // the root is fine, the actor-cert check at home is redirected
    let evil = fake::start(
        Behavior::Ok(f.root.to_pem()),
        Behavior::Redirect(to_secret.clone()),
        Behavior::Redirect(to_secret),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |_| {}).await;
    let answer = identify_raw(&b.base_url(), &f).await;
    assert_upstream_failed(&answer, &["SECRET", "REDIRECT-BODY", "admin"]);
    assert_eq!(evil.actor_hits(), 1);
    b.stop().await.unwrap();

    let contacted = secret.root_hits() + secret.actor_hits() + secret.other_hits();
    assert_eq!(contacted, 0, "the redirect target was contacted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_endless_bodies_are_cut_off_and_memory_stays_bounded() {
    let f = foreign("evil.localhost");
    for behavior in [Behavior::Endless, Behavior::HugeLength] {
        let evil = fake::start(behavior.clone(), behavior.clone(), behavior, Duration::ZERO).await;
        let dir = tempfile::tempdir().unwrap();
        let b = home_b(dir.path(), evil.url(), |_| {}).await;
        let base = b.base_url();
        let before = rss_bytes();
        // 16 at once; before the fix two such requests took the RSS from 15 MB to 755 MB
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let base = base.clone();
            let f = Foreign {
                root: f.root.clone(),
                key: f.key.clone(),
                cert_pem: f.cert_pem.clone(),
            };
            tasks.push(tokio::spawn(async move { identify_raw(&base, &f).await }));
        }
        for t in tasks {
            let answer = t.await.unwrap();
            assert_upstream_failed(&answer, &["AAAA"]);
            assert!(
                answer.1["message"]
                    .as_str()
                    .unwrap()
                    .contains("exceeds 65536 bytes"),
                "{}",
                answer.1
            );
        }
        let grown = rss_bytes().saturating_sub(before);
        assert!(grown < 96 << 20, "RSS grew by {} MiB", grown >> 20);
        b.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalls_time_out_and_garbage_is_not_echoed() {
    let f = foreign("evil.localhost");
    let cases = [
        (
            Behavior::Stall(Duration::from_secs(60)),
            "no complete answer",
        ),
        (
            Behavior::NotHttp(b"SSH-2.0-OpenSSH_9.6 GARBAGE-BANNER\r\n".to_vec()),
            "could not be asked",
        ),
        (
            Behavior::Ok("GARBAGE-NOT-A-CERT \u{1F4A9}".into()),
            "not a PEM",
        ),
        (
            Behavior::Status(500, "GARBAGE-STACKTRACE at db.internal:5432".into()),
            "HTTP 500",
        ),
        (Behavior::Status(404, "GARBAGE-404 page".into()), "HTTP 404"),
    ];
    for (behavior, expect) in cases {
        let evil = fake::start(behavior.clone(), behavior.clone(), behavior, Duration::ZERO).await;
        let dir = tempfile::tempdir().unwrap();
        let b = home_b(dir.path(), evil.url(), |_| {}).await;
        let answer = identify_raw(&b.base_url(), &f).await;
        assert_upstream_failed(&answer, &["GARBAGE", "SSH", "db.internal", "\u{1F4A9}"]);
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains(expect), "{expect:?} not in {message}");
        b.stop().await.unwrap();
    }

    // garbage at the actor-cert check (the root is fine)
    let evil = fake::start(
        Behavior::Ok(f.root.to_pem()),
        Behavior::Json("{\"GARBAGE\": true}".into()),
        Behavior::Status(404, String::new()),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |_| {}).await;
    let answer = identify_raw(&b.base_url(), &f).await;
    assert_upstream_failed(&answer, &["GARBAGE"]);
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("not the JSON list")
    );
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_without_a_peer_entry_never_reach_non_public_addresses() {
    // "localhost" has no --peer entry on B: it would be https://localhost, which resolves
    // to loopback and is refused before any connection
    let f = foreign("localhost");
    let dir = tempfile::tempdir().unwrap();
    let b = spawn_with(dir.path(), "b.localhost", &[], &[], |c| {
        c.federation_timeout_seconds = 2;
    })
    .await;
    let answer = identify_raw(&b.base_url(), &f).await;
    assert_eq!(answer.0, 502, "{}", answer.1);
    let message = answer.1["message"].as_str().unwrap();
    assert!(message.contains("non-public"), "{message}");
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_root_fetch_and_outgoing_requests_are_bounded() {
    let f = foreign("evil.localhost");
    // a slow but honest foreign server
    let evil = fake::start(
        Behavior::Ok(f.root.to_pem()),
        Behavior::Json(listing(&f.cert_pem)),
        Behavior::Status(404, String::new()),
        Duration::from_millis(500),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |c| {
        c.federation_max_concurrent = 2;
        c.federation_timeout_seconds = 30;
    })
    .await;
    let base = b.base_url();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let base = base.clone();
        let f = Foreign {
            root: f.root.clone(),
            key: f.key.clone(),
            cert_pem: f.cert_pem.clone(),
        };
        tasks.push(tokio::spawn(async move { identify_raw(&base, &f).await }));
    }
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!(answer.0, 201, "{}", answer.1);
    }
    assert_eq!(
        evil.root_hits(),
        1,
        "the root is fetched once for all callers"
    );
    assert_eq!(evil.actor_hits(), 12, "each identify asks the home server");
    assert!(
        evil.max_open() <= 2,
        "{} connections at once",
        evil.max_open()
    );
    b.stop().await.unwrap();
}

// ---- issue 13 item 6: per-domain slots, negative cache, older-root floor, single flight ----

/// B with peers `evil.localhost` and `good.localhost`.
async fn home_b2(
    dir: &std::path::Path,
    evil: String,
    good: String,
    tweak: impl FnOnce(&mut p2core_home_server::Config),
) -> p2core_home_server::RunningServer {
    spawn_with(
        dir,
        "b.localhost",
        &[],
        &[("evil.localhost", evil), ("good.localhost", good)],
        tweak,
    )
    .await
}

/// Sends an identify for `f` by hand over a new connection and returns the
/// connection (so that the test can hang up while the request waits).
async fn identify_by_hand(
    b: &p2core_home_server::RunningServer,
    f: &Foreign,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let challenge = client(&b.base_url()).challenge().await.unwrap();
    let body = serde_json::to_vec(&p2core_routes::session_identify::Request {
        completed_challenge: p2core_types::CompletedChallenge {
            challenge: challenge.challenge().to_owned(),
            signature: challenge.solve(&f.key),
        },
        id_cert: f.cert_pem.clone(),
        auth_payload: None,
    })
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(b.addr()).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: b.localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        p2core_routes::session_identify::INFO.path,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body).await.unwrap();
    conn
}

/// `true` if the server has not answered on `conn` yet.
fn unanswered(conn: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(conn.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Polls `cond` every 50 ms for up to `within`.
async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tarpit_home_server_does_not_hold_every_fetch_slot() {
    let evil_f = foreign("evil.localhost");
    let good_f = foreign("good.localhost");
    // the tarpit answers its root but never answers the actor check
    let tarpit = fake::start(
        Behavior::Ok(evil_f.root.to_pem()),
        Behavior::Stall(Duration::from_secs(120)),
        Behavior::Stall(Duration::from_secs(120)),
        Duration::ZERO,
    )
    .await;
    let good = fake::start(
        Behavior::Ok(good_f.root.to_pem()),
        Behavior::Json(listing(&good_f.cert_pem)),
        Behavior::Status(404, String::new()),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b2(dir.path(), tarpit.url(), good.url(), |c| {
        c.federation_max_concurrent = 2;
        c.federation_max_per_domain = 1;
        c.federation_timeout_seconds = 60;
    })
    .await;
    let base = b.base_url();
    // the attacker's actors at the tarpit: more requests than all the global slots
    let mut stuck = Vec::new();
    for _ in 0..4 {
        stuck.push(identify_by_hand(&b, &evil_f).await);
    }
    assert!(
        eventually(Duration::from_secs(10), || tarpit.actor_hits() >= 1).await,
        "the tarpit was never asked"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        tarpit.actor_hits(),
        1,
        "more than --federation-max-per-domain requests went to one domain"
    );
    // an honest actor of another server is still identified while the tarpit holds on
    let answer = identify_raw(&base, &good_f).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert!(
        stuck.iter().all(unanswered),
        "a tarpit request was answered first: the honest one had to wait for it"
    );
    // the attacker gives up (hangs up): nothing stays behind
    drop(stuck);
    let federation = b.server();
    assert!(
        eventually(Duration::from_secs(10), || federation
            .stats()
            .outbound_domains_in_flight
            == 0
            && federation.stats().foreign_root_fetches_in_flight == 0)
        .await,
        "{} domains still hold request slots after every request was cancelled",
        federation.stats().outbound_domains_in_flight
    );
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_home_server_is_not_asked_again_for_a_while() {
    let f = foreign("evil.localhost");
    let evil = fake::start(
        Behavior::Status(503, "down".into()),
        Behavior::Status(503, "down".into()),
        Behavior::Status(503, "down".into()),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |c| {
        c.federation_failure_cache_seconds = 600;
        c.root_cache_entries = 4;
    })
    .await;
    for round in 0..5 {
        let answer = identify_raw(&b.base_url(), &f).await;
        assert_upstream_failed(&answer, &["down"]);
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains("HTTP 503"), "{message}");
        if round > 0 {
            assert!(message.contains("not asked again"), "{message}");
        }
    }
    assert_eq!(evil.root_hits(), 1, "the failing server was asked again");
    assert_eq!(b.server().stats().unreachable_domains, 1);
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_root_fetches_are_under_the_refetch_floor() {
    let f = foreign("evil.localhost");
    // the home server's root is not the one that signed the certificate, for
    // any timestamp: every identify would fetch `?timestamp=` again
    let other = foreign("evil.localhost");
    let evil = fake::start(
        Behavior::Ok(other.root.to_pem()),
        Behavior::Json(listing(&f.cert_pem)),
        Behavior::Status(404, String::new()),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |_| {}).await;
    for _ in 0..6 {
        let answer = identify_raw(&b.base_url(), &f).await;
        assert_eq!(answer.0, 400, "{}", answer.1);
        assert_eq!(
            answer.1["error"],
            ErrorCode::InvalidCertificate.as_str(),
            "{}",
            answer.1
        );
    }
    assert_eq!(
        evil.root_hits(),
        2,
        "one current and one older root fetch within the floor, not one per request"
    );
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_leaves_no_single_flight_entry() {
    let f = foreign("evil.localhost");
    // slow but honest
    let evil = fake::start(
        Behavior::Ok(f.root.to_pem()),
        Behavior::Json(listing(&f.cert_pem)),
        Behavior::Status(404, String::new()),
        Duration::from_secs(2),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let b = home_b(dir.path(), evil.url(), |c| {
        c.federation_timeout_seconds = 30
    })
    .await;
    let base = b.base_url();
    let conn = identify_by_hand(&b, &f).await;
    assert!(
        eventually(Duration::from_secs(10), || evil.root_hits() == 1).await,
        "the root was never fetched"
    );
    assert_eq!(b.server().stats().foreign_root_fetches_in_flight, 1);
    drop(conn); // the client hangs up while its request waits for the root
    let federation = b.server();
    assert!(
        eventually(Duration::from_secs(10), || federation
            .stats()
            .foreign_root_fetches_in_flight
            == 0
            && federation.stats().outbound_domains_in_flight == 0)
        .await,
        "a cancelled request left {} single-flight entries",
        federation.stats().foreign_root_fetches_in_flight
    );
    // and the next request is not blocked by anything it left
    let answer = identify_raw(&base, &f).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert_eq!(federation.stats().foreign_root_fetches_in_flight, 0);
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_negative_cache_holds_at_most_root_cache_entries_domains() {
    // domains without a --peer entry under .localhost resolve to loopback only:
    // each fails (non-public) and is remembered, up to the bound
    let dir = tempfile::tempdir().unwrap();
    let b = spawn_with(dir.path(), "b.localhost", &[], &[], |c| {
        c.root_cache_entries = 4;
        c.federation_failure_cache_seconds = 600;
    })
    .await;
    for i in 0..10 {
        let f = foreign(&format!("x{i}.localhost"));
        let answer = identify_raw(&b.base_url(), &f).await;
        assert_eq!(answer.0, 502, "{}", answer.1);
        assert!(b.server().stats().unreachable_domains <= 4);
    }
    assert_eq!(b.server().stats().unreachable_domains, 4);
    // the newest failure is remembered
    let answer = identify_raw(&b.base_url(), &foreign("x9.localhost")).await;
    let message = answer.1["message"].as_str().unwrap();
    assert!(message.contains("not asked again"), "{message}");
    b.stop().await.unwrap();
}
