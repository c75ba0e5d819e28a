-- The audit trail's public hash chain (#12): each record's `chain_hash` is the SHA-256 of the
-- previous record's chain hash and the record's own fields (lgt_protocol::audit_chain_input),
-- so the sync server, which holds no key of this store, can check that the records it is sent
-- extend the ones it holds. The keyed MAC chain stays the phone's own integrity check. The
-- audit rows hold no personal value, so an unkeyed hash of them confirms none.
ALTER TABLE audit_log ADD COLUMN chain_hash BLOB;

-- Rows written before this version get their hash once, in order, in the upgrade's
-- transaction (store/schema.rs): the one update the trail allows is setting a hash not yet
-- set, leaving every other column as it was. Rows written from now on carry theirs.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.chain_hash IS NOT NULL OR NEW.chain_hash IS NULL
  OR NEW.seq IS NOT OLD.seq OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
  OR NEW.action IS NOT OLD.action OR NEW.record_kind IS NOT OLD.record_kind
  OR NEW.record_id IS NOT OLD.record_id OR NEW.mac IS NOT OLD.mac
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The last audit record the sync server said it holds: where the next upload starts. Only a
-- shortcut (the server answers where it stands, and checks any record it is sent again).
ALTER TABLE sync_device ADD COLUMN audit_uploaded INTEGER;
