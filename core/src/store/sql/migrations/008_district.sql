-- The district replica: the persons, registrations, dwellings and permits of the district,
-- pulled from the server, live in the same tables as this phone's own.

-- A person this phone registered whom the server merged into an earlier district person
-- (same identity number) answers to that person's id.
CREATE TABLE person_aliases (
    alias_id  TEXT PRIMARY KEY,
    person_id TEXT NOT NULL
) STRICT;

-- Registrations by dwelling: the blind index of the house code (NULL for rows written
-- before this version until the first dwelling look-up fills it).
ALTER TABLE registrations ADD COLUMN house_blind BLOB;
CREATE INDEX registrations_house ON registrations(house_blind);

-- Dwellings as the district knows them: address, housing type, and for rented housing
-- the landlord (sealed; context `dwellings:<row id>`).
CREATE TABLE dwellings (
    id          TEXT PRIMARY KEY,
    house_blind BLOB NOT NULL UNIQUE,
    version     INTEGER NOT NULL,
    sealed      BLOB NOT NULL
) STRICT;
