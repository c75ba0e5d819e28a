-- The server's TLS keys this device trusts (JSON array of `sha256/BASE64` pins of their
-- SubjectPublicKeyInfo): given at enrollment, replaced only by a command signed with the
-- pinned command key. NULL (enrolled before pinning) means plain HTTP to loopback only.
ALTER TABLE sync_device ADD COLUMN server_pins TEXT;
-- A device key made on a signed rotation order and not yet confirmed by the server (sealed
-- like the key in use); it replaces that key once the server holds it.
ALTER TABLE sync_device ADD COLUMN pending_signing_key BLOB;
-- Commands already obeyed, by id: a bucket recovery brings them again, and a key rotation
-- must not happen twice.
CREATE TABLE sync_commands_obeyed (
    command_id TEXT PRIMARY KEY,
    obeyed_at  TEXT NOT NULL
);
