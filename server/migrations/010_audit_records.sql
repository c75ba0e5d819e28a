-- Each device's audit records (#12), as the phone uploads them (POST /v1/audit/records): who
-- (account id), what, when, which record (kind and id), never a personal value, with the
-- public hash chain that links them (hex SHA-256 of lgt_protocol::audit_chain_input over the
-- previous record's chain hash and the record). A row is stored only if it extends the chain
-- held, and never changed; the head signature (hex Ed25519 by the device key named beside
-- it, over lgt_protocol::audit_head_signing_message) is set on the record a device signed as
-- the head of its chain. They outlive the phone: a lost phone's history stays here.
CREATE TABLE audit_records (
    device_id       TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    record_kind     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    prev_chain_hash TEXT NOT NULL,
    chain_hash      TEXT NOT NULL,
    head_signature  TEXT,
    head_key        TEXT,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
-- The head of the chain held per device (its last stored record), and when an upload was
-- first found not to extend it: the history was rewritten, or the store replaced.
ALTER TABLE devices ADD COLUMN audit_chain_seq BIGINT;
ALTER TABLE devices ADD COLUMN audit_chain_hash TEXT;
ALTER TABLE devices ADD COLUMN audit_rewritten_at BIGINT;
