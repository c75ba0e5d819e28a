-- When a device last replaced its key (POST /v1/device/key), and how far its clock was from
-- the server's at its last accepted request (its timestamp minus the server's, seconds), for
-- the supervisors' device list.
ALTER TABLE devices ADD COLUMN key_rotated_at BIGINT;
ALTER TABLE devices ADD COLUMN clock_skew_secs BIGINT;
