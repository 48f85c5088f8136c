-- The SQLite store's tables as rainbow 0.1.0 made them (schema version 1, before versions were recorded).
CREATE TABLE IF NOT EXISTS clusters (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS graphs (
    cluster   TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    subsystem TEXT NOT NULL,
    jgf       TEXT NOT NULL,
    created   REAL NOT NULL,
    PRIMARY KEY (cluster, subsystem)
);
CREATE TABLE IF NOT EXISTS states (
    cluster TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster   TEXT NOT NULL,
    name      TEXT NOT NULL,
    jobspec   TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    submitted REAL NOT NULL,
    accepted  REAL,
    retired   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_cluster_state ON jobs (cluster, state, id);
