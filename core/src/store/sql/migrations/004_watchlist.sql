-- Version 4: the offline watchlist. Rows hold only stretched 16-byte tags and details sealed
-- under keys that only the listed identifier yields; see watchlist/mod.rs.
CREATE TABLE watchlist_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    manifest   BLOB NOT NULL,      -- the signed manifest of the version in use, as received
    applied_at TEXT NOT NULL
) STRICT;

CREATE TABLE watchlist_entries (
    tag  BLOB PRIMARY KEY,
    kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3))
) STRICT, WITHOUT ROWID;

CREATE TABLE watchlist_details (
    tag    BLOB PRIMARY KEY,
    sealed BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE watchlist_alerts (
    id           TEXT PRIMARY KEY,
    person_id    TEXT REFERENCES persons(id),
    tag          BLOB NOT NULL,
    list_version INTEGER NOT NULL,
    raised_at    TEXT NOT NULL,
    cleared_at   TEXT,
    sealed       BLOB NOT NULL
) STRICT;
CREATE INDEX watchlist_alerts_person ON watchlist_alerts(person_id) WHERE cleared_at IS NULL;
