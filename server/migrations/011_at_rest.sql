-- Personal data at rest (#12). `server_keys` rows are stored wrapped (AES-256-GCM) under the
-- key-encryption key of the server's key source, named here by its id; NULL: a key written
-- in clear before this migration, which the server wraps at its next start. The personal
-- columns (persons.data, person_identifiers.document, registrations.data, dwellings.data and
-- landlord, permits.data, permit_events.event, conflicts.payload, bucket_entries.data) keep
-- their TEXT type and hold `v1:` + base64 sealed values; the server seals the ones still in
-- clear at start-up, in batches (lgt_server::vault::seal_existing).
-- Permit numbers are found by their keyed blind index (`b1:` + hex HMAC-SHA256 under a key
-- derived from the DEK) in permits.number and reserved_numbers.number; a reserved number
-- keeps the number itself sealed beside it (the device is told its pool).
ALTER TABLE server_keys ADD COLUMN kek_id TEXT;
-- House codes likewise, in registrations.house_code, dwellings.house_code and the records
-- buckets' `dwelling:` keys (`dwelling:b1:...`), the key itself sealed beside it.
ALTER TABLE reserved_numbers ADD COLUMN sealed_number TEXT;
ALTER TABLE bucket_entries ADD COLUMN sealed_key TEXT;
