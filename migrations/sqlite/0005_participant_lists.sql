-- A data-access event's participant list, when longer than a few ids, is stored once here and
-- the event names it by the SHA-256 of its text (participants_list). A script that pages
-- through the same rows again and again writes each page's list once, and an event row stays
-- within one database page: the list was most of every event's bytes, written to the WAL,
-- copied back at each checkpoint and made durable by each commit's fsync. The chain still
-- covers the list's full text (readers put it back in place of participants_json), so an
-- edited list breaks verification like an edited event.
CREATE TABLE audit_participant_lists (
    hash      TEXT PRIMARY KEY,  -- SHA-256 (hex) of list_json
    list_json TEXT NOT NULL
);

ALTER TABLE audit_events ADD COLUMN participants_list TEXT REFERENCES audit_participant_lists(hash);

CREATE TRIGGER audit_participant_lists_no_update BEFORE UPDATE ON audit_participant_lists
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_participant_lists_no_delete BEFORE DELETE ON audit_participant_lists
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
