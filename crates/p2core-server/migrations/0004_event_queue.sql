-- Gateway events become an acknowledged queue shared by GET /events and the
-- WebSocket gateway (issues 8 and 9).
--
-- AUTOINCREMENT: an event id is never reused, even after the newest event was
-- acknowledged and deleted, so ids grow in commit order and a client's
-- cursor (`GET /events?ack=<s>`) can never acknowledge a later event by mistake.
CREATE TABLE events_queue (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER NOT NULL REFERENCES actors(id),
    session_id TEXT    NOT NULL,
    n          TEXT    NOT NULL,
    op         INTEGER NOT NULL,
    d          TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO events_queue (id, actor_id, session_id, n, op, d, created_at)
    SELECT id, actor_id, session_id, n, op, d, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_queue RENAME TO events;
CREATE INDEX events_recipient ON events(actor_id, session_id, id);
