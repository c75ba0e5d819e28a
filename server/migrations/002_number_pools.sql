-- Permit numbers reserved for devices to issue offline. Numbers come from their district's
-- sequence, each exactly once, so no number is reserved (or issued) twice; an expired or
-- unused number is never handed out again.
CREATE TABLE number_sequences (
    district TEXT PRIMARY KEY,
    next     BIGINT NOT NULL
);
CREATE TABLE reserved_numbers (
    number      TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    reserved_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_by     TEXT
);
CREATE INDEX reserved_numbers_device ON reserved_numbers(device_id, expires_at);
