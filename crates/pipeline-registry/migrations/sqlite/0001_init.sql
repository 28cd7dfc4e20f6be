-- Initial registry schema. Keep it portable: TEXT / INTEGER / REAL only, so the
-- same shape can later be created on PostgreSQL.

CREATE TABLE runs (
    id                          TEXT PRIMARY KEY NOT NULL,
    experiment                  TEXT NOT NULL,
    status                      TEXT NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'killed', 'crashed')),
    error                       TEXT,
    spec_toml                   TEXT NOT NULL,
    spec_hash                   TEXT NOT NULL,
    source_spec                 TEXT NOT NULL,
    spec_path                   TEXT NOT NULL,
    data_path                   TEXT NOT NULL,
    data_sha256                 TEXT NOT NULL,
    seed                        INTEGER NOT NULL,
    device                      TEXT NOT NULL,
    program_version             TEXT NOT NULL,
    started_at                  TEXT NOT NULL,
    ended_at                    TEXT,
    best_epoch                  INTEGER,
    epochs_run                  INTEGER NOT NULL DEFAULT 0,
    selection_metric            TEXT NOT NULL,
    selection_higher_is_better  INTEGER NOT NULL,
    selection_value             REAL,
    pid                         INTEGER,
    -- The process's start time (clock ticks since boot, /proc/<pid>/stat field 22):
    -- with pid and host it tells a live run from a reused pid.
    pid_started                 INTEGER,
    host                        TEXT,
    heartbeat_at                TEXT
);

CREATE INDEX runs_experiment_status ON runs (experiment, status);
CREATE INDEX runs_started_at ON runs (started_at);

CREATE TABLE epoch_metrics (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch   INTEGER NOT NULL,
    split   TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL,
    PRIMARY KEY (run_id, epoch, split, metric)
);

CREATE TABLE final_metrics (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split   TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL,
    PRIMARY KEY (run_id, split, metric)
);

CREATE TABLE artifacts (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('weights', 'preprocessing')),
    path    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind)
);
