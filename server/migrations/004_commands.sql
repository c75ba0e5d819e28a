-- The server's Ed25519 command key (PKCS#8, hex), made on first use and shared by every server
-- process on the database; devices pin its public half at enrollment. And the commands issued,
-- for the supervisors' record (the signed copies live in each device's commands bucket).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    pkcs8 TEXT NOT NULL
);
CREATE TABLE commands (
    id        TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    issued_at BIGINT NOT NULL
);
