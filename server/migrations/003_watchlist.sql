-- Watchlist versions published through the `watchlist` bucket (the packages themselves live
-- in the bucket's entries), and the hit reports phones send when a listed person alerts.
CREATE TABLE watchlist_versions (
    list_id      TEXT NOT NULL,
    version      BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    entry_count  BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, version)
);
-- One row per hit report, written with its ledger row (so exactly once). Ids, versions and
-- the stretched tag only: the server knows which entry a tag belongs to, nobody else does.
CREATE TABLE watchlist_hits (
    op_id        TEXT PRIMARY KEY,
    alert_id     TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    person_id    TEXT,
    list_id      TEXT NOT NULL,
    list_version BIGINT NOT NULL,
    key_epoch    BIGINT NOT NULL,
    tag          TEXT NOT NULL,
    matched_on   TEXT NOT NULL,
    score        BIGINT NOT NULL,
    raised_at    TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX watchlist_hits_received ON watchlist_hits(received_at);
