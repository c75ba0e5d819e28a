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
-- An enrollment sent and not yet answered: the key made for it (sealed) and the code's
-- SHA-256. Asking again with the same code reuses the key, so a lost answer gets the same
-- device from the server instead of "code already used".
CREATE TABLE sync_enrolling (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    code_sha256 BLOB NOT NULL,
    signing_key BLOB NOT NULL
) STRICT;
