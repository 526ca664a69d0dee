-- Issue 7 (items 2 and 3): foreign sessions end at their certificate's notAfter and
-- are re-checked at the actor's home server; challenges move to memory.

-- When the foreign session's ID-Cert expires (the session ends then at the latest) and
-- when its home server last confirmed it. Sessions opened before this migration get 0:
-- they count as expired, and their actors identify again.
ALTER TABLE foreign_sessions ADD COLUMN not_after  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE foreign_sessions ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX foreign_sessions_due ON foreign_sessions(checked_at) WHERE ended_at IS NULL;

-- Outstanding challenges live in a bounded in-memory store now (no fsync'd write per
-- GET /challenge); the table of issued and used challenges is no longer written.
DROP TABLE challenges;
