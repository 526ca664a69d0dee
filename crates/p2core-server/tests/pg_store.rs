//! The Store conformance suite (`storage::test_suite`) run against the
//! PostgreSQL store: every case gets a database of its own on the server
//! named by `P2CORE_TEST_POSTGRES` (default: the local PostgreSQL 15 every
//! machine of this project runs), dropped afterwards. The cases fail, never
//! skip, when it cannot be reached.

use p2core_server::storage::postgres::PgStore;
use p2core_server::storage::postgres::testing::TestDatabase;

/// A fresh, migrated PostgreSQL store and the database behind it (dropped
/// when the case drops the guard, after the store).
async fn fresh_store() -> (PgStore, TestDatabase) {
    let db = TestDatabase::create().await;
    let store = PgStore::open(db.url())
        .await
        .expect("open a fresh PostgreSQL store");
    (store, db)
}

p2core_server::store_test_suite!();

/// What only a store shared by several processes does: job leases, shared
/// counters, sealed keys, and recovering from a lost notification channel.
mod shared_by_instances {
    use std::time::Duration;

    use p2core_server::storage::postgres::PgStore;
    use p2core_server::storage::{SessionNotice, Store};
    use p2core_types::UnixTimestamp;

    use super::fresh_store;

    /// One holder at a time; it renews its own lease; another takes over
    /// once the lease ran out (its holder died).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_lease_has_one_holder_until_it_runs_out() {
        let (store, _db) = fresh_store().await;
        let t = UnixTimestamp(1_000_000);
        let until = UnixTimestamp(t.0 + 60);
        assert!(store.lease_job("prune", 1, t, until).await.unwrap());
        assert!(
            !store.lease_job("prune", 2, t, until).await.unwrap(),
            "held by 1"
        );
        assert!(
            store.lease_job("other-job", 2, t, until).await.unwrap(),
            "per job"
        );
        let later = UnixTimestamp(t.0 + 30);
        assert!(
            store
                .lease_job("prune", 1, later, UnixTimestamp(later.0 + 60))
                .await
                .unwrap(),
            "the holder renews"
        );
        assert!(
            !store
                .lease_job("prune", 2, UnixTimestamp(t.0 + 80), until)
                .await
                .unwrap()
        );
        // 1 died: its lease (renewed until t+90) runs out.
        let after = UnixTimestamp(t.0 + 91);
        assert!(
            store
                .lease_job("prune", 2, after, UnixTimestamp(after.0 + 60))
                .await
                .unwrap()
        );
        assert!(
            !store
                .lease_job("prune", 1, after, UnixTimestamp(after.0 + 60))
                .await
                .unwrap()
        );
    }

    /// Concurrent hits on one counter from two stores (two instances) are all
    /// counted: the counts handed out are exactly 1..=N.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_counters_count_every_hit_of_every_instance() {
        let (a, db) = fresh_store().await;
        let b = PgStore::open(db.url()).await.unwrap();
        let w = UnixTimestamp(600);
        let keys = vec![
            "register|10.0.0.0/24".to_owned(),
            "register|10.0.0.1/32".to_owned(),
        ];
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (store, keys) = (if i % 2 == 0 { a.clone() } else { b.clone() }, keys.clone());
            tasks.push(tokio::spawn(async move {
                store.count_hits(&keys, w).await.unwrap().unwrap()
            }));
        }
        let mut firsts = Vec::new();
        for t in tasks {
            let hits = t.await.unwrap();
            assert_eq!(hits.len(), 2);
            assert_eq!(hits[0], hits[1], "both counters counted together");
            firsts.push(hits[0]);
        }
        firsts.sort_unstable();
        assert_eq!(firsts, (1..=40).collect::<Vec<u64>>());
        // Another window starts from 1.
        assert_eq!(
            a.count_hits(&keys[..1], UnixTimestamp(660)).await.unwrap(),
            Some(vec![1])
        );
    }

    /// Sealed keys are kept per serial; storing one twice keeps the first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sealed_keys_are_kept_per_root() {
        let (store, _db) = fresh_store().await;
        assert!(store.keeps_server_keys());
        assert_eq!(store.server_key(7).await.unwrap(), None);
        store
            .put_server_key(7, b"sealed-7", UnixTimestamp(1))
            .await
            .unwrap();
        store
            .put_server_key(7, b"other", UnixTimestamp(2))
            .await
            .unwrap();
        assert_eq!(
            store.server_key(7).await.unwrap().as_deref(),
            Some(&b"sealed-7"[..])
        );
    }

    /// The listening connection is killed (as a database restart or a network
    /// cut would): the store announces `Resync`, reconnects, and the
    /// notifications of later writes arrive again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_notification_channel_is_announced_and_recovered() {
        let (store, db) = fresh_store().await;
        let other = PgStore::open(db.url()).await.unwrap();
        let mut notices = store.subscribe_sessions();
        let killed: i64 = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .fetch_one(other.pool())
        .await
        .unwrap();
        assert!(killed >= 1, "the listeners were found");
        let resync = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match notices.recv().await {
                    Ok(SessionNotice::Resync) => return,
                    Ok(_) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await;
        assert!(
            resync.is_ok(),
            "Resync announced after the channel was lost"
        );
        // A write at the other store reaches this one again (it reconnected).
        let mut again = store.subscribe_sessions();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut serial = 9_000;
        loop {
            serial += 1;
            other
                .insert_server_cert(serial, "PEM", "k", UnixTimestamp::now(), None)
                .await
                .unwrap();
            match tokio::time::timeout(Duration::from_millis(500), again.recv()).await {
                Ok(Ok(SessionNotice::ServerCertChanged)) => break,
                _ => assert!(
                    std::time::Instant::now() < deadline,
                    "no notification from the other store after the reconnect"
                ),
            }
        }
    }
}
