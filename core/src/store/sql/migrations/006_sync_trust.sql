-- What an enrolled device trusts in what the server sends: the watchlist roots the shell
-- pinned (JSON: hex root keys and the least stretching cost), against which every package of
-- the `watchlist` bucket is verified before it is imported.
ALTER TABLE sync_device ADD COLUMN watchlist_policy TEXT;
