-- Version 2: residence permits as state machines with an append-only event log.
CREATE TABLE permits (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id),
    state        TEXT NOT NULL
                 CHECK (state IN ('accepted', 'issued', 'delivered', 'suspended', 'cancelled')),
    version      INTEGER NOT NULL,
    number_blind BLOB UNIQUE,
    updated_at   TEXT NOT NULL,
    sealed       BLOB NOT NULL
) STRICT;
CREATE INDEX permits_person ON permits(person_id);

CREATE TABLE permit_events (
    permit_id   TEXT NOT NULL REFERENCES permits(id),
    version     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    PRIMARY KEY (permit_id, version)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER permit_events_no_update BEFORE UPDATE ON permit_events
BEGIN SELECT RAISE(ABORT, 'permit_events is append-only'); END;
CREATE TRIGGER permit_events_no_delete BEFORE DELETE ON permit_events
BEGIN SELECT RAISE(ABORT, 'permit_events is append-only'); END;
