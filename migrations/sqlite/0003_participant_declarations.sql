-- The participant index, one row per (participant, declaration) instead of one per event.
-- Each data-access event keeps its full participant list (participants_json, hashed with the
-- event). "Who saw this patient" finds the participant's declarations here, then those
-- declarations' events whose list holds the participant. A script that pages through the same
-- rows again and again adds no rows here; one row per participant per event cost more than the
-- rest of the audit write.
CREATE TABLE audit_participant_declarations (
    participant_id TEXT NOT NULL,
    declaration_id INTEGER NOT NULL,
    first_seq      INTEGER NOT NULL REFERENCES audit_events(seq),  -- the first event of the pair
    PRIMARY KEY (participant_id, declaration_id)
) WITHOUT ROWID;

INSERT INTO audit_participant_declarations (participant_id, declaration_id, first_seq)
    SELECT p.participant_id, e.declaration_id, MIN(p.seq)
    FROM audit_participants p JOIN audit_events e ON e.seq = p.seq
    WHERE e.declaration_id IS NOT NULL
    GROUP BY p.participant_id, e.declaration_id;

CREATE TRIGGER audit_participant_declarations_no_update BEFORE UPDATE ON audit_participant_declarations
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_participant_declarations_no_delete BEFORE DELETE ON audit_participant_declarations
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

DROP TRIGGER audit_participants_no_update;
DROP TRIGGER audit_participants_no_delete;
DROP TABLE audit_participants;
