-- The review filters by e-mail (the acting or the impersonating user).
CREATE INDEX audit_events_user_email ON audit_events (user_email, seq);
CREATE INDEX audit_events_impersonator ON audit_events (impersonator_email, seq);
