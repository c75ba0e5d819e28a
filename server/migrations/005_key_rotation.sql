-- When a device last replaced its key (POST /v1/device/key), for the supervisors' device list.
ALTER TABLE devices ADD COLUMN key_rotated_at BIGINT;
