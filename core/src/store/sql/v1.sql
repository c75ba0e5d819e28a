-- Schema version 1, as first released. Kept verbatim: the upgrade test builds a database
-- from this file and migrates it to the current schema. Never edit it.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- Personal values live only inside `sealed` (AES-256-GCM); look-ups go through keyed
-- blind indexes. Ids are UUIDv7 strings; times are RFC 3339 UTC.
CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sealed     BLOB NOT NULL
) STRICT;

-- A person holds several identity numbers over time; the number is never the key.
CREATE TABLE person_identifiers (
    id            TEXT PRIMARY KEY,
    person_id     TEXT NOT NULL REFERENCES persons(id),
    blind         BLOB NOT NULL,
    sealed        BLOB NOT NULL,
    recorded_at   TEXT NOT NULL,
    superseded_at TEXT
) STRICT;
CREATE INDEX person_identifiers_blind ON person_identifiers(blind);
CREATE INDEX person_identifiers_person ON person_identifiers(person_id);

CREATE TABLE person_names (
    person_id TEXT NOT NULL REFERENCES persons(id),
    blind     BLOB NOT NULL,
    PRIMARY KEY (person_id, blind)
) STRICT, WITHOUT ROWID;
CREATE INDEX person_names_blind ON person_names(blind);

CREATE TABLE registrations (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES persons(id),
    status     TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    created_at TEXT NOT NULL,
    closed_at  TEXT,
    sealed     BLOB NOT NULL
) STRICT;
CREATE INDEX registrations_person ON registrations(person_id);

-- Every domain change enqueues its operation here in the same transaction.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id        TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    payload      BLOB NOT NULL,
    payload_hash BLOB NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'in_flight', 'acknowledged', 'quarantined', 'superseded')),
    created_at   TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
) STRICT;
CREATE INDEX outbox_state ON outbox(state, seq);

-- Append-only, MAC-chained audit trail: who, what, when, which record; never a personal value.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    mac         BLOB NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
