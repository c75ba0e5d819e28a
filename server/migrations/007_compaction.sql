-- When each bucket entry was last written (Unix seconds): `lgt-server compact` deletes the
-- tombstones written before its horizon. NULL: written before this column existed.
ALTER TABLE bucket_entries ADD COLUMN written_at BIGINT;
