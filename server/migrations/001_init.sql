-- The sync server's schema, version 1. Written in the SQL that SQLite and PostgreSQL share
-- (TEXT, BIGINT, ON CONFLICT), so one file serves both backends. Times are Unix seconds.

-- One-time enrollment codes, stored as their SHA-256 only.
CREATE TABLE enrollment_codes (
    code_sha256 TEXT PRIMARY KEY,
    coordinator TEXT NOT NULL,
    district    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- How long the device may go without syncing before it locks its personal data.
    max_offline_secs BIGINT NOT NULL,
    used_by     TEXT
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    public_key     TEXT NOT NULL UNIQUE,
    coordinator    TEXT NOT NULL,
    district       TEXT NOT NULL,
    client_version TEXT NOT NULL,
    enrolled_at    BIGINT NOT NULL,
    last_contact   BIGINT,
    -- The outbox as the device last reported it (with each pull).
    queue_depth    BIGINT,
    oldest_pending TEXT,
    revoked_at     BIGINT
);

-- Nonces seen inside the clock-skew window: a second use is a replay.
CREATE TABLE nonces (
    device_id TEXT NOT NULL,
    nonce     TEXT NOT NULL,
    seen_at   BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_seen_at ON nonces(seen_at);

-- The exactly-once ledger: op id -> payload hash and the result it got the first time.
CREATE TABLE ledger (
    op_id          TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    received_at    BIGINT NOT NULL
);
CREATE INDEX ledger_device ON ledger(device_id, received_at);

-- Permits: the server-authoritative state machines (data: the permit as JSON).
CREATE TABLE permits (
    id         TEXT PRIMARY KEY,
    district   TEXT NOT NULL,
    version    BIGINT NOT NULL,
    number     TEXT UNIQUE,
    data       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Divergences kept for a supervisor, never dropped.
CREATE TABLE conflicts (
    id          TEXT PRIMARY KEY,
    op_id       TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT,
    resolution  TEXT
);

-- Buckets: the latest value (or tombstone) of each key, numbered by a per-bucket sequence
-- whose head row also serialises writers, so sequence order is commit order.
CREATE TABLE bucket_heads (
    bucket   TEXT PRIMARY KEY,
    seq      BIGINT NOT NULL,
    checksum BIGINT NOT NULL
);
CREATE TABLE bucket_entries (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    data   TEXT,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX bucket_entries_seq ON bucket_entries(bucket, seq);
