-- Sync: the device's enrollment and signing key, and its replica of the server's buckets.
-- The signing key is sealed under the store's data key (which the platform wraps), so the
-- device key is exactly as safe as the personal data it authenticates.
CREATE TABLE sync_device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    coordinator TEXT NOT NULL,
    district    TEXT NOT NULL,
    signing_key BLOB NOT NULL,
    enrolled_at TEXT NOT NULL,
    -- Seconds without a successful sync after which personal data is locked.
    max_offline_secs INTEGER NOT NULL,
    last_success TEXT,
    last_error   TEXT
) STRICT;

-- Per bucket: the last applied sequence (the cursor).
CREATE TABLE sync_buckets (
    bucket TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL
) STRICT;

-- The replica: the latest value of each key of each bucket, sealed, with the digest that
-- makes up the bucket's checksum.
CREATE TABLE sync_entries (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    digest BLOB NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;

-- Permit numbers the server reserved for this device, to issue offline (not yet linked to
-- anyone, so kept in clear; a used one is recognised by the permits' blind index).
CREATE TABLE sync_numbers (
    number     TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
