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
