-- Nothing in the file confirms a guessed personal value: no unkeyed digest of sealed data.
-- The outbox's payload hash (the protocol's `payload_sha256`) is computed from the opened
-- payload when it is pushed; the replica's per-entry digests give way to one running
-- checksum per bucket, sealed (context `sync_buckets:<bucket>:checksum`; NULL until the next
-- checkpoint, for a file upgraded from an earlier version: computed from the sealed entries).
-- The store vacuums the file after this upgrade, so the old values leave the freed pages.
ALTER TABLE outbox DROP COLUMN payload_hash;
ALTER TABLE sync_entries DROP COLUMN digest;
ALTER TABLE sync_buckets ADD COLUMN checksum BLOB;
