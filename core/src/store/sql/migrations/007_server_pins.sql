-- The server's TLS keys this device trusts (JSON array of `sha256/BASE64` pins of their
-- SubjectPublicKeyInfo): given at enrollment, replaced only by a command signed with the
-- pinned command key. NULL (enrolled before pinning) means plain HTTP to loopback only.
ALTER TABLE sync_device ADD COLUMN server_pins TEXT;
