-- Version 11: the watchlist's tags are kept in the store's keyed form (HMAC of the list's tag
-- under a key derived from the data key) and each entry's details sealed again under the
-- store's key, so the file alone confirms no guess. The tables keep their shape; the rows
-- are re-keyed by the store at open, where the key is at hand (`schema::key_watchlist_tags`),
-- and the file is then vacuumed so the old tags leave the freed pages.
SELECT 1;
