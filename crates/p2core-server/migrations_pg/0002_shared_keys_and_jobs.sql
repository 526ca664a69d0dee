-- Issue 15: what several instances share besides the data.

-- The server's private keys, sealed with the key-encryption key every instance
-- is given (ChaCha20-Poly1305; see src/keys.rs for the format). `server_certs.key_file`
-- is `db:<serial>` for a key kept here.
CREATE TABLE server_keys (
    serial     BIGINT PRIMARY KEY,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- Leases of the background jobs: one instance runs a job's round at a time; a
-- lease that is not renewed (its instance died) expires and another takes over.
CREATE TABLE job_leases (
    job    TEXT   PRIMARY KEY,
    holder BIGINT NOT NULL,
    until  BIGINT NOT NULL
);

-- Fixed-window rate limit counters shared by every instance.
CREATE TABLE rate_counters (
    key          TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
