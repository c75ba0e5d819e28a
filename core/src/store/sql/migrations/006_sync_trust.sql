-- What an enrolled device trusts in what the server sends: the watchlist roots the shell
-- pinned (JSON: hex root keys and the least stretching cost), against which every package of
-- the `watchlist` bucket is verified before it is imported.
ALTER TABLE sync_device ADD COLUMN watchlist_policy TEXT;
-- The server's command key (hex Ed25519 public key), pinned at enrollment: only commands it
-- signed are obeyed. A wipe ordered by one (its command id) locks personal data until the
-- shell has wiped; a minimum client version stops sync until the app is updated.
ALTER TABLE sync_device ADD COLUMN command_key TEXT;
ALTER TABLE sync_device ADD COLUMN wipe_ordered TEXT;
ALTER TABLE sync_device ADD COLUMN min_client_version TEXT;
