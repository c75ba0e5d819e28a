-- Pulled entries an applier could not take yet (a permit whose holder has not arrived): the
-- sync engine keeps their keys so the applier retries just those at the next sync.
CREATE TABLE sync_deferred (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;
