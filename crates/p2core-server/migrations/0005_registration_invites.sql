-- issue 13 item 12 (helper C): registration by invitation (`--registration invite`).
-- Tokens are made with `p2core-home-server admin invite create`; only their
-- SHA-256 is stored. A successful registration uses one of `max_uses` in the
-- same transaction that creates the actor.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    max_uses    INTEGER NOT NULL CHECK (max_uses > 0),
    used        INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= max_uses),
    revoked_at  INTEGER
);
