-- Each permit's event log on the server: every event it applied, by whom (a device, or a
-- supervisor's resolution), with the operation that carried it. Append-only; the permit row
-- holds the fold.
CREATE TABLE permit_events (
    permit_id   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    district    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    event       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    op_id       TEXT,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (permit_id, version)
);
CREATE INDEX permit_events_district ON permit_events(district, recorded_at);
