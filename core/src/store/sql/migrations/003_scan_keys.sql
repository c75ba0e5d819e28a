-- Version 3: keys for signed permit QR codes.
-- This device's own secrets (its Ed25519 issuer key, the holder-reference key), sealed.
CREATE TABLE scan_keys (
    name       TEXT PRIMARY KEY CHECK (name IN ('issuer_signing', 'holder_reference')),
    created_at TEXT NOT NULL,
    sealed     BLOB NOT NULL
) STRICT;

-- Public keys whose permit QR codes this device accepts: its own, and those the sync engine
-- (or an administrator) adds for other phones and offices. Revoked keys stay, marked.
CREATE TABLE trusted_issuers (
    key_id     TEXT PRIMARY KEY,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    label      TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
