-- When a device last replaced its key (POST /v1/device/key), and how far its clock was from
-- the server's at its last accepted request (its timestamp minus the server's, seconds), for
-- the supervisors' device list. And the head of its audit chain as last anchored
-- (POST /v1/audit/anchor), with when a rollback of its store was first suspected.
ALTER TABLE devices ADD COLUMN key_rotated_at BIGINT;
ALTER TABLE devices ADD COLUMN clock_skew_secs BIGINT;
ALTER TABLE devices ADD COLUMN audit_seq BIGINT;
ALTER TABLE devices ADD COLUMN audit_mac TEXT;
ALTER TABLE devices ADD COLUMN audit_suspect_at BIGINT;
