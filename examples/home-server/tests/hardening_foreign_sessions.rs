//! Foreign sessions end when the actor's home server stops vouching for them:
//! B re-checks every foreign session at A at least every
//! `--foreign-recheck-seconds`, and a session deleted at A, or a certificate
//! invalidated at A, ends the session on B at the next re-check.

mod common;

use std::time::{Duration, Instant};

use common::*;
use p2core_types::ErrorCode;

/// Polls `events` with the token until it answers 401 (true) or `within` passes (false).
async fn ends_within(base: &str, token: &str, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        match authed(base, token).events().await {
            Err(e) if e.status() == Some(401) => return true,
            Ok(_) => {}
            Err(e) => panic!("unexpected answer: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_sessions_end_at_the_next_recheck_after_the_home_server_ends_them() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let dir_b = tempfile::tempdir().unwrap();
    let b = spawn_with(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
        |c| c.foreign_recheck_seconds = 2,
    )
    .await;
    let (base_a, base_b) = (a.base_url(), b.base_url());
    let alice = register(&base_a, "alice", "pw-alice").await;
    let laptop = trust(&base_a, &alice, "pw-alice", "laptop").await;
    let phone = trust(&base_a, &alice, "pw-alice", "phone").await;
    let desk = trust(&base_a, &alice, "pw-alice", "desk").await;
    let on_b_laptop = client(&base_b)
        .identify(&laptop.key, &laptop.cert_pem, None)
        .await
        .unwrap()
        .token;
    let on_b_phone = client(&base_b)
        .identify(&phone.key, &phone.cert_pem, None)
        .await
        .unwrap()
        .token;
    let on_b_desk = client(&base_b)
        .identify(&desk.key, &desk.cert_pem, None)
        .await
        .unwrap()
        .token;

    // sessions A still vouches for survive several re-checks
    assert!(
        !ends_within(&base_b, &on_b_laptop, Duration::from_secs(5)).await,
        "a session its home server still lists was ended"
    );

    // the laptop session is deleted at A; the phone's certificate is invalidated at A
    // (rotated there without telling B)
    laptop
        .client
        .delete_session(&laptop.session_id)
        .await
        .unwrap();
    let csr = p2core_certs::build_csr(&new_key(), &alice, &phone.session_id).unwrap();
    phone
        .client
        .rotate_session_idcert(&p2core_routes::rotate_session_idcert::Request { csr: csr.to_pem() })
        .await
        .unwrap();

    // the next re-check (every 2 s here) ends both on B; generous bound against load
    assert!(
        ends_within(&base_b, &on_b_laptop, Duration::from_secs(60)).await,
        "the deleted session still works on B"
    );
    assert!(
        ends_within(&base_b, &on_b_phone, Duration::from_secs(60)).await,
        "the session with the invalidated certificate still works on B"
    );
    assert_api_error(
        authed(&base_b, &on_b_phone).events().await,
        401,
        ErrorCode::Unauthorized,
    );
    // the untouched session is still fine
    assert!(authed(&base_b, &on_b_desk).events().await.is_ok());

    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

// ---- issue 13 item 7: ended foreign sessions are deleted; the interval is a bound ----

/// Opens B's database file next to the running server (WAL: readers do not block it).
async fn open_db(path: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the server's database opens")
}

/// (foreign session rows, tokens of foreign sessions) in the database.
async fn foreign_rows(db: &sqlx::SqlitePool) -> (i64, i64) {
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM foreign_sessions")
        .fetch_one(db)
        .await
        .unwrap();
    let tokens: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE foreign_session_id IS NOT NULL")
            .fetch_one(db)
            .await
            .unwrap();
    (sessions, tokens)
}

async fn rows_become(db: &sqlx::SqlitePool, want: (i64, i64), within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if foreign_rows(db).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    foreign_rows(db).await == want
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_foreign_sessions_and_their_tokens_are_deleted() {
    let dir_a = tempfile::tempdir().unwrap();
    let a = spawn(dir_a.path(), "a.localhost", &[], &[]).await;
    let dir_b = tempfile::tempdir().unwrap();
    let b = spawn_with(
        dir_b.path(),
        "b.localhost",
        &[],
        &[("a.localhost", a.base_url())],
        |c| c.foreign_recheck_seconds = 2,
    )
    .await;
    let (base_a, base_b) = (a.base_url(), b.base_url());
    let alice = register(&base_a, "alice", "pw-alice").await;
    let laptop = trust(&base_a, &alice, "pw-alice", "laptop").await;
    let desk = trust(&base_a, &alice, "pw-alice", "desk").await;
    let mut ended = Vec::new();
    // the same session identifies three times (each ends the one before), then is deleted at A
    for _ in 0..3 {
        ended.push(
            client(&base_b)
                .identify(&laptop.key, &laptop.cert_pem, None)
                .await
                .unwrap()
                .token,
        );
    }
    let on_b_desk = client(&base_b)
        .identify(&desk.key, &desk.cert_pem, None)
        .await
        .unwrap()
        .token;
    let db = open_db(
        &b.server()
            .settings()
            .keys
            .dir
            .join(p2core_server::DATABASE_FILE),
    )
    .await;
    laptop
        .client
        .delete_session(&laptop.session_id)
        .await
        .unwrap();
    for token in &ended {
        assert!(
            ends_within(&base_b, token, Duration::from_secs(60)).await,
            "an ended session still works on B"
        );
    }
    // only the desk session (and its token) is left in B's database
    assert!(
        rows_become(&db, (1, 1), Duration::from_secs(30)).await,
        "ended foreign sessions are still stored: (sessions, tokens) = {:?}",
        foreign_rows(&db).await
    );
    assert!(authed(&base_b, &on_b_desk).events().await.is_ok());
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_unconfirmed_beyond_twice_the_interval_end_however_many_are_due() {
    use common::fake::{self, Behavior};
    // a home server that never answers: re-checks of its sessions hang until the timeout
    let tarpit = fake::start(
        Behavior::Stall(Duration::from_secs(120)),
        Behavior::Stall(Duration::from_secs(120)),
        Behavior::Stall(Duration::from_secs(120)),
        Duration::ZERO,
    )
    .await;
    let dir_b = tempfile::tempdir().unwrap();
    let peers = [("evil.localhost", tarpit.url())];
    let tweak = |c: &mut p2core_home_server::Config| {
        c.foreign_recheck_seconds = 100;
        c.federation_timeout_seconds = 60;
    };
    let b = spawn_with(dir_b.path(), "b.localhost", &[], &peers, tweak).await;
    let db_path = b
        .server()
        .settings()
        .keys
        .dir
        .join(p2core_server::DATABASE_FILE);
    b.stop().await.unwrap();

    // 600 sessions of the tarpit's actors, last confirmed 1000 s ago (> 2 × 100 s),
    // and one confirmed just now
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let alice = register_cert_pem();
    let db = open_db(&db_path).await;
    for i in 0..601_i64 {
        let checked = if i == 600 { now } else { now - 1000 };
        let id = sqlx::query(
            "INSERT INTO foreign_sessions (fid, session_id, cert_pem, created_at, updated_at, not_after, checked_at)
             VALUES ('alice@evil.localhost', ?, ?, ?, ?, ?, ?)",
        )
        .bind(format!("s{i}"))
        .bind(&alice)
        .bind(now - 1000)
        .bind(now - 1000)
        .bind(now + 86_400)
        .bind(checked)
        .execute(&db)
        .await
        .unwrap()
        .last_insert_rowid();
        sqlx::query(
            "INSERT INTO tokens (token_hash, foreign_session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(p2core_types::random::bytes::<32>().to_vec())
        .bind(id)
        .bind(now - 1000)
        .execute(&db)
        .await
        .unwrap();
    }
    assert_eq!(foreign_rows(&db).await, (601, 601));

    // the first round (right at the start) ends and deletes all 600 at once,
    // without waiting for their home server; the confirmed one stays
    let b = spawn_with(dir_b.path(), "b.localhost", &[], &peers, tweak).await;
    assert!(
        rows_become(&db, (1, 1), Duration::from_secs(20)).await,
        "stale foreign sessions survive the round: (sessions, tokens) = {:?}",
        foreign_rows(&db).await
    );
    b.stop().await.unwrap();
}

/// A PEM actor certificate of `alice@evil.localhost` (session "s0").
fn register_cert_pem() -> String {
    use p2core_types::{DomainName, FederationId, SessionId, UnixTimestamp};
    let root_key = new_key();
    let domain = DomainName::new("evil.localhost").unwrap();
    let now = UnixTimestamp::now();
    let root = p2core_certs::create_root_cert(
        &root_key,
        &domain,
        UnixTimestamp(now.0 - 60),
        UnixTimestamp(now.0 + 86_400),
        11,
    )
    .unwrap();
    let issuer = p2core_certs::Issuer::new(root, root_key).unwrap();
    let fid = FederationId::new("alice@evil.localhost").unwrap();
    let csr = p2core_certs::build_csr(&new_key(), &fid, &SessionId::new("s0").unwrap()).unwrap();
    issuer.issue(&csr, &fid, now, None, 12).unwrap().to_pem()
}
