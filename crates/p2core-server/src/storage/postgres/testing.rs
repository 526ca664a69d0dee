//! Fresh PostgreSQL databases for tests (feature `test-suite`).
//!
//! [`TestDatabase::create`] makes a new, empty database on the server named by
//! `P2CORE_TEST_POSTGRES` (default `postgres://root@127.0.0.1:5432/postgres`,
//! the server every machine of this project runs) and drops it (with every
//! connection to it) when the value is dropped. It **panics** with a clear
//! message when the server cannot be reached: a test that needs PostgreSQL
//! fails, it never skips itself.

use sqlx::{Connection, Executor, PgConnection};

/// Environment variable naming the maintenance database URL tests connect to.
pub const ENV: &str = "P2CORE_TEST_POSTGRES";

/// The maintenance database tests use when [`ENV`] is not set.
pub const DEFAULT_URL: &str = "postgres://root@127.0.0.1:5432/postgres";

/// A database that exists while this value lives.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// The maintenance URL (from [`ENV`] or [`DEFAULT_URL`]).
pub fn admin_url() -> String {
    std::env::var(ENV).unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/db → keep up to the last '/' after the authority.
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl TestDatabase {
    /// Creates a new database with a random name.
    ///
    /// # Panics
    ///
    /// When the PostgreSQL server cannot be reached or refuses to create the
    /// database: the message says which URL was tried and how to change it.
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let mut conn = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed by this test and is not reachable at {admin_url} ({e}). \
                 Start it (`.ci/run` does: pg_ctlcluster 15 main start) or point {ENV} at a server."
            )
        });
        let name = format!(
            "p2core_test_{}",
            hex::encode(p2core_types::random::bytes::<8>())
        );
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} at {admin_url}: {e}"));
        let _ = conn.close().await;
        let url = with_database(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside any runtime guarantee: a thread of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin_url).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                let _ = conn.close().await;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: test database {} was not dropped", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/postgres", "x"),
            "postgres://root@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://root@localhost/postgres?sslmode=disable", "x"),
            "postgres://root@localhost/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://root@localhost", "x"),
            "postgres://root@localhost/x"
        );
    }
}
