-- p2core example home server: initial schema.
-- Every table keeps history: certificates are never deleted, only marked.

CREATE TABLE actors (
    id            INTEGER PRIMARY KEY,
    local_name    TEXT    NOT NULL UNIQUE,
    fid           TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    auth_payload  TEXT,
    created_at    INTEGER NOT NULL
);

-- The home server's root certificates, oldest first. `current_from`/`current_until`
-- say when each one was the server's certificate (answers `?timestamp=` queries).
CREATE TABLE server_certs (
    serial        INTEGER PRIMARY KEY,
    cert_pem      TEXT    NOT NULL,
    key_file      TEXT    NOT NULL,
    current_from  INTEGER NOT NULL,
    current_until INTEGER
);

-- Actor ID-Certs issued by this server (serials are unique across all of them).
CREATE TABLE id_certs (
    id             INTEGER PRIMARY KEY,            -- issuance order
    serial         INTEGER NOT NULL UNIQUE,
    actor_id       INTEGER NOT NULL REFERENCES actors(id),
    session_id     TEXT    NOT NULL,
    cert_pem       TEXT    NOT NULL,
    not_before     INTEGER NOT NULL,
    not_after      INTEGER NOT NULL,
    root_serial    INTEGER NOT NULL REFERENCES server_certs(serial),
    issued_at      INTEGER NOT NULL,
    invalidated_at INTEGER
);
-- No two valid certificates for one session ID of an actor.
CREATE UNIQUE INDEX id_certs_live_session ON id_certs(actor_id, session_id) WHERE invalidated_at IS NULL;
CREATE INDEX id_certs_actor ON id_certs(actor_id, not_before);

-- Sessions that foreign actors opened here with POST /session/identify.
CREATE TABLE foreign_sessions (
    id          INTEGER PRIMARY KEY,
    fid         TEXT    NOT NULL,
    session_id  TEXT    NOT NULL,
    cert_pem    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE UNIQUE INDEX foreign_sessions_live ON foreign_sessions(fid, session_id) WHERE ended_at IS NULL;

-- Session tokens, stored only as SHA-256 hashes. Exactly one of the two owners is set.
CREATE TABLE tokens (
    token_hash         BLOB    PRIMARY KEY,
    cert_serial        INTEGER REFERENCES id_certs(serial),
    foreign_session_id INTEGER REFERENCES foreign_sessions(id),
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    CHECK ((cert_serial IS NULL) <> (foreign_session_id IS NULL))
);
CREATE UNIQUE INDEX tokens_live_cert ON tokens(cert_serial) WHERE revoked_at IS NULL AND cert_serial IS NOT NULL;
CREATE UNIQUE INDEX tokens_live_foreign ON tokens(foreign_session_id) WHERE revoked_at IS NULL AND foreign_session_id IS NOT NULL;

-- Issued challenge strings; kept after use (with who used them and the solution) for transparency.
CREATE TABLE challenges (
    challenge  TEXT    PRIMARY KEY,
    expires    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT,
    solution   TEXT
);
CREATE INDEX challenges_expires ON challenges(expires) WHERE used_at IS NULL;

-- MLS KeyPackages of local sessions. A regular one is handed out once and deleted;
-- the last-resort one (at most one per session) is reused.
CREATE TABLE key_packages (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL REFERENCES actors(id),
    session_id  TEXT    NOT NULL,
    cert_serial INTEGER NOT NULL REFERENCES id_certs(serial),
    body_b64    TEXT    NOT NULL,
    init_key    BLOB    NOT NULL UNIQUE,
    not_after   INTEGER NOT NULL,
    last_resort INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX key_packages_session ON key_packages(actor_id, session_id, last_resort, id);
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages(actor_id, session_id) WHERE last_resort = 1;

-- Gateway events waiting for a session of a local actor (fetched once via GET /events).
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    actor_id   INTEGER NOT NULL REFERENCES actors(id),
    session_id TEXT    NOT NULL,
    n          TEXT    NOT NULL,
    op         INTEGER NOT NULL,
    d          TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_recipient ON events(actor_id, session_id, id);
