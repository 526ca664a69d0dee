//! Challenges of the SQLite store: kept in memory, not in the database.
//!
//! One process serves a SQLite database, so an in-process map is shared by
//! every request that can answer a challenge, and `GET /challenge` costs no
//! write. A restart forgets the outstanding challenges (clients fetch new
//! ones). The [`Store`](crate::storage::Store) challenge methods delegate to
//! [`ChallengeStore`].

use super::SqliteStore;
use crate::challenges::ChallengeStore;

impl SqliteStore {
    /// The in-memory challenge map behind the store's challenge methods
    /// (shared by clones of this store; for inspection and tests).
    pub fn challenges(&self) -> &ChallengeStore {
        &self.challenges
    }
}
