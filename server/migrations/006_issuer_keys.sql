-- Permit-issuer public keys devices published (issuer.key operations), bound to the device
-- that pushed them; also listed in the `issuers` bucket every device pulls.
CREATE TABLE issuer_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    added_at   BIGINT NOT NULL,
    revoked_at BIGINT
);
