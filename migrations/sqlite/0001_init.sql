-- Attest schema, SQLite flavour. Times are INTEGER milliseconds since the Unix epoch (UTC);
-- flags are INTEGER 0/1. migrations/postgres/0001_init.sql is the same schema for PostgreSQL.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL UNIQUE,          -- stored lower-cased
    display_name        TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'researcher')),
    max_phi             TEXT NOT NULL CHECK (max_phi IN ('not-phi', 'limited', 'full', 'restricted')),
    password_hash       TEXT NOT NULL,                 -- argon2id PHC string
    disabled            INTEGER NOT NULL DEFAULT 0,
    expires_on          TEXT,                          -- YYYY-MM-DD: last day the account may sign in
    locked_until        INTEGER,
    created_at          INTEGER NOT NULL,
    last_login_at       INTEGER,
    password_changed_at INTEGER NOT NULL
);

-- Failed sign-ins, for the lockout window.
CREATE TABLE failed_logins (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    at      INTEGER NOT NULL
);
CREATE INDEX failed_logins_user_at ON failed_logins (user_id, at);

-- Server-side sessions. The cookie holds a 256-bit random id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash              TEXT PRIMARY KEY,
    user_id              INTEGER NOT NULL REFERENCES users(id),
    acting_user_id       INTEGER REFERENCES users(id),  -- set while an admin impersonates
    declaration_id       INTEGER,                       -- current declaration (of the acting identity)
    saved_declaration_id INTEGER,                       -- the admin's own, restored when impersonation stops
    created_at           INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    ended_at             INTEGER,
    end_reason           TEXT,
    client_ip            TEXT,
    user_agent           TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- What a session declared: activity, IRB, PHI level and the exact terms accepted.
CREATE TABLE declarations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_hash    TEXT NOT NULL REFERENCES sessions(id_hash),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    impersonator_id INTEGER REFERENCES users(id),
    activity        TEXT NOT NULL,
    irb             TEXT,
    phi_level       TEXT NOT NULL,
    terms_text      TEXT NOT NULL,
    terms_hash      TEXT NOT NULL,
    terms_version   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    accepted_at     INTEGER
);

-- Session keys: children of a session, stored only as SHA-256.
CREATE TABLE session_keys (
    id           TEXT PRIMARY KEY,                      -- short, non-secret
    key_hash     TEXT NOT NULL UNIQUE,
    session_hash TEXT NOT NULL REFERENCES sessions(id_hash),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX session_keys_session ON session_keys (session_hash);

-- Site settings: one row.
CREATE TABLE settings (
    id                      INTEGER PRIMARY KEY CHECK (id = 1),
    allow_session_keys      INTEGER NOT NULL DEFAULT 0,
    idle_timeout_mins       INTEGER NOT NULL DEFAULT 30,
    absolute_timeout_mins   INTEGER NOT NULL DEFAULT 720,
    key_use_refreshes_idle  INTEGER NOT NULL DEFAULT 1,
    lockout_attempts        INTEGER NOT NULL DEFAULT 10,
    lockout_window_mins     INTEGER NOT NULL DEFAULT 15,
    lockout_duration_mins   INTEGER NOT NULL DEFAULT 15,
    password_min_length     INTEGER NOT NULL DEFAULT 15,
    inactivity_disable_days INTEGER NOT NULL DEFAULT 0,
    irb_registry_enabled    INTEGER NOT NULL DEFAULT 0,
    checkpoint_interval_mins INTEGER NOT NULL DEFAULT 60,
    updated_at              INTEGER NOT NULL DEFAULT 0
);
INSERT INTO settings (id) VALUES (1);

-- Terms of use: paragraphs, each tagged with the activities and PHI levels it applies to
-- ('*' = all), grouped in published versions.
CREATE TABLE terms_versions (
    version      INTEGER PRIMARY KEY,
    published_at INTEGER NOT NULL,
    published_by INTEGER
);
CREATE TABLE terms_paragraphs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    version    INTEGER NOT NULL REFERENCES terms_versions(version),
    ordinal    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    activities TEXT NOT NULL,   -- comma-separated activity ids, or '*'
    phi_levels TEXT NOT NULL    -- comma-separated PHI levels, or '*'
);

CREATE TABLE irb_protocols (
    number       TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    investigator TEXT NOT NULL,
    approval_end TEXT NOT NULL,  -- YYYY-MM-DD, last day of approval
    created_at   INTEGER NOT NULL
);

-- The catalog: studies, datasets, columns. Physical table and column names are generated
-- (ds_<id>, c<n>) and only ever taken from here, never from a request.
CREATE TABLE studies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE datasets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id           INTEGER NOT NULL REFERENCES studies(id),
    name               TEXT NOT NULL,
    table_name         TEXT NOT NULL UNIQUE,
    participant_column TEXT,
    row_count          INTEGER NOT NULL,
    UNIQUE (study_id, name)
);
CREATE TABLE dataset_columns (
    dataset_id    INTEGER NOT NULL REFERENCES datasets(id),
    ordinal       INTEGER NOT NULL,
    name          TEXT NOT NULL,
    physical_name TEXT NOT NULL,
    data_type     TEXT NOT NULL CHECK (data_type IN ('integer', 'decimal', 'date', 'timestamp', 'text')),
    phi_level     TEXT NOT NULL CHECK (phi_level IN ('not-phi', 'limited', 'full', 'restricted')),
    PRIMARY KEY (dataset_id, ordinal)
);

-- The audit log. Append-only (triggers below), hash-chained: hash = H(0x01 || prev_hash ||
-- H(0x00 || canonical event)). Only src/audit writes here.
CREATE TABLE audit_events (
    seq                INTEGER PRIMARY KEY,
    at                 INTEGER NOT NULL,
    event_type         TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    user_id            INTEGER,
    user_email         TEXT,
    impersonator_id    INTEGER,
    impersonator_email TEXT,
    session_hash       TEXT,
    declaration_id     INTEGER,
    activity           TEXT,
    irb                TEXT,
    phi_level          TEXT,
    key_id             TEXT,
    study              TEXT,
    dataset            TEXT,
    columns_json       TEXT,
    phi_columns_json   TEXT,
    filter_text        TEXT,
    sort_text          TEXT,
    sql_text           TEXT,
    row_count          INTEGER,
    participants_json  TEXT,
    client_ip          TEXT,
    user_agent         TEXT,
    detail_json        TEXT,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
CREATE INDEX audit_events_type ON audit_events (event_type, seq);
CREATE INDEX audit_events_dataset ON audit_events (dataset, seq);
CREATE INDEX audit_events_irb ON audit_events (irb, seq);
CREATE INDEX audit_events_declaration ON audit_events (declaration_id);

-- Which participants each data-access event disclosed: "who saw this patient" is one index.
CREATE TABLE audit_participants (
    participant_id TEXT NOT NULL,
    seq            INTEGER NOT NULL REFERENCES audit_events(seq),
    PRIMARY KEY (participant_id, seq)
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_participants_no_update BEFORE UPDATE ON audit_participants
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_participants_no_delete BEFORE DELETE ON audit_participants
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Writers serialise on this row inside their transaction (it holds no audit data).
CREATE TABLE audit_writer_lock (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    batches INTEGER NOT NULL
);
INSERT INTO audit_writer_lock (id, batches) VALUES (1, 0);
