-- The supervisor console (#14). Times are Unix seconds.

-- Supervisor accounts: an Argon2id password hash (PHC string), the TOTP secret sealed under
-- the server's DEK (`v1:` + base64, row = the account name), the role (`admin` sees every
-- district and manages accounts; `supervisor` sees the districts in `console_districts`),
-- whether the account may see which watchlist entry a hit matched, and the lockout counters.
CREATE TABLE console_accounts (
    username        TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT NOT NULL,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    role            TEXT NOT NULL,
    watchlist       BIGINT NOT NULL DEFAULT 0,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
CREATE TABLE console_districts (
    username TEXT NOT NULL,
    district TEXT NOT NULL,
    PRIMARY KEY (username, district)
);

-- Sessions, by the SHA-256 of the cookie's token (the token itself is never stored), with the
-- CSRF token of the session and when its second factor was last given.
CREATE TABLE console_sessions (
    token_sha256 TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    totp_at      BIGINT
);
CREATE INDEX console_sessions_user ON console_sessions(username);

-- The console's audit trail: every view of personal data, every action (ids only).
CREATE TABLE console_audit (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    username    TEXT NOT NULL,
    action      TEXT NOT NULL,
    district    TEXT,
    record_kind TEXT,
    record_id   TEXT
);
CREATE INDEX console_audit_at ON console_audit(at);

-- The server-side map from a watchlist tag (hex, as hit reports carry it) to the publisher's
-- entry reference (a case number, never a name or number), uploaded with the package.
CREATE TABLE console_watchlist_entries (
    list_id   TEXT NOT NULL,
    key_epoch BIGINT NOT NULL,
    tag       TEXT NOT NULL,
    entry_ref TEXT NOT NULL,
    PRIMARY KEY (list_id, key_epoch, tag)
);

-- Each device's queue depth per hour (the last it reported in that hour), for the chart.
CREATE TABLE console_queue_samples (
    device_id TEXT NOT NULL,
    hour      BIGINT NOT NULL,
    depth     BIGINT NOT NULL,
    PRIMARY KEY (device_id, hour)
);

-- Which watchlist version each device holds: the watchlist bucket's cursor it last pulled
-- from (it applied everything up to it), and the bucket sequence that carried each version.
CREATE TABLE console_device_lists (
    device_id        TEXT PRIMARY KEY,
    watchlist_cursor BIGINT NOT NULL,
    seen_at          BIGINT NOT NULL
);
CREATE TABLE console_watchlist_seqs (
    list_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (list_id, version)
);
