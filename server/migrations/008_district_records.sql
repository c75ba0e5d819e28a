-- District records (#11): persons, the identity numbers they hold or held, the merges of
-- phones' local persons into district persons, registrations and dwellings. Each lives in one
-- district and carries a version that grows with every change; the columns queried are typed,
-- the record as the phone sent it is kept as JSON beside them. Identity numbers are found by
-- their blind index only (HMAC-SHA256 under the server's `id_number_blind` key, hex): no index
-- holds a number in clear.

-- District persons: one per identity number per district; `id_blind` is the current number's.
CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    district   TEXT NOT NULL,
    version    BIGINT NOT NULL,
    id_blind   TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX persons_district ON persons(district, id_blind);

-- Every number a district person holds or held (the registration's, and former or new ones
-- added later), each held by one person of the district at most.
CREATE TABLE person_identifiers (
    district      TEXT NOT NULL,
    id_blind      TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    ordinal       BIGINT NOT NULL,
    identifier_id TEXT,
    document      TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    added_at      BIGINT NOT NULL,
    PRIMARY KEY (district, id_blind)
);
CREATE INDEX person_identifiers_person ON person_identifiers(person_id, ordinal);

-- The audit trail of merges: a phone's local person id, the district person it was merged
-- into (its number was already held), by which operation of which device, and when.
CREATE TABLE person_aliases (
    local_id  TEXT PRIMARY KEY,
    district  TEXT NOT NULL,
    person_id TEXT NOT NULL,
    op_id     TEXT NOT NULL,
    device_id TEXT NOT NULL,
    merged_at BIGINT NOT NULL
);
CREATE INDEX person_aliases_district ON person_aliases(district, merged_at);
CREATE INDEX person_aliases_person ON person_aliases(person_id);

-- Registrations (居住登记), attached to the district person; `closed_by` is the registration
-- that closed this one (the person left the area).
CREATE TABLE registrations (
    id         TEXT PRIMARY KEY,
    district   TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    house_code TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    device_id  TEXT NOT NULL,
    closed_by  TEXT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX registrations_person ON registrations(district, person_id);
CREATE INDEX registrations_dwelling ON registrations(district, house_code, status);

-- Dwellings, by house code (from the door-plate QR): the address and housing type as last
-- registered, and for rented housing (出租屋) the landlord's contact.
CREATE TABLE dwellings (
    district     TEXT NOT NULL,
    house_code   TEXT NOT NULL,
    version      BIGINT NOT NULL,
    housing_type TEXT NOT NULL,
    data         TEXT NOT NULL,
    landlord     TEXT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (district, house_code)
);

-- Permits: their state and holder (the district person) typed. Rows written before this
-- migration get them with their next event.
ALTER TABLE permits ADD COLUMN state TEXT;
ALTER TABLE permits ADD COLUMN person_id TEXT;
CREATE INDEX permits_district_state ON permits(district, state);
CREATE INDEX permits_person ON permits(person_id);
