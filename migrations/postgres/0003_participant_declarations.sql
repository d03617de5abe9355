-- The participant index, one row per (participant, declaration) instead of one per event.
-- Each data-access event keeps its full participant list (participants_json, hashed with the
-- event). "Who saw this patient" finds the participant's declarations here, then those
-- declarations' events whose list holds the participant. A script that pages through the same
-- rows again and again adds no rows here; one row per participant per event cost more than the
-- rest of the audit write.
CREATE TABLE audit_participant_declarations (
    participant_id TEXT NOT NULL,
    declaration_id BIGINT NOT NULL,
    first_seq      BIGINT NOT NULL REFERENCES audit_events(seq),  -- the first event of the pair
    PRIMARY KEY (participant_id, declaration_id)
);

INSERT INTO audit_participant_declarations (participant_id, declaration_id, first_seq)
    SELECT p.participant_id, e.declaration_id, MIN(p.seq)
    FROM audit_participants p JOIN audit_events e ON e.seq = p.seq
    WHERE e.declaration_id IS NOT NULL
    GROUP BY p.participant_id, e.declaration_id;

CREATE TRIGGER audit_participant_declarations_append_only BEFORE UPDATE OR DELETE ON audit_participant_declarations
    FOR EACH ROW EXECUTE FUNCTION attest_audit_append_only();
CREATE TRIGGER audit_participant_declarations_no_truncate BEFORE TRUNCATE ON audit_participant_declarations
    FOR EACH STATEMENT EXECUTE FUNCTION attest_audit_append_only();

DROP TABLE audit_participants;
