-- Initial registry schema, PostgreSQL translation of sqlite/0001_init.sql.
-- INTEGER -> BIGINT, REAL -> DOUBLE PRECISION, every TEXT column
-- COLLATE "C" (SQLite compares bytes; the C collation keeps equality and
-- order the same whatever the database's locale). The CHECK constraints are
-- named so that later migrations can replace them in place.

CREATE TABLE runs (
    id                          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    experiment                  TEXT COLLATE "C" NOT NULL,
    status                      TEXT COLLATE "C" NOT NULL
        CONSTRAINT runs_status_check
        CHECK (status IN ('running', 'completed', 'failed', 'killed', 'crashed')),
    error                       TEXT COLLATE "C",
    spec_toml                   TEXT COLLATE "C" NOT NULL,
    spec_hash                   TEXT COLLATE "C" NOT NULL,
    source_spec                 TEXT COLLATE "C" NOT NULL,
    spec_path                   TEXT COLLATE "C" NOT NULL,
    data_path                   TEXT COLLATE "C" NOT NULL,
    data_sha256                 TEXT COLLATE "C" NOT NULL,
    seed                        BIGINT NOT NULL,
    device                      TEXT COLLATE "C" NOT NULL,
    program_version             TEXT COLLATE "C" NOT NULL,
    started_at                  TEXT COLLATE "C" NOT NULL,
    ended_at                    TEXT COLLATE "C",
    best_epoch                  BIGINT,
    epochs_run                  BIGINT NOT NULL DEFAULT 0,
    selection_metric            TEXT COLLATE "C" NOT NULL,
    selection_higher_is_better  BIGINT NOT NULL,
    selection_value             DOUBLE PRECISION,
    pid                         BIGINT,
    -- The process's start time (clock ticks since boot, /proc/<pid>/stat field 22):
    -- with pid and host it tells a live run from a reused pid.
    pid_started                 BIGINT,
    host                        TEXT COLLATE "C",
    heartbeat_at                TEXT COLLATE "C"
);

CREATE INDEX runs_experiment_status ON runs (experiment, status);
CREATE INDEX runs_started_at ON runs (started_at);

CREATE TABLE epoch_metrics (
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch   BIGINT NOT NULL,
    split   TEXT COLLATE "C" NOT NULL,
    metric  TEXT COLLATE "C" NOT NULL,
    value   DOUBLE PRECISION,
    PRIMARY KEY (run_id, epoch, split, metric)
);

CREATE TABLE final_metrics (
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split   TEXT COLLATE "C" NOT NULL,
    metric  TEXT COLLATE "C" NOT NULL,
    value   DOUBLE PRECISION,
    PRIMARY KEY (run_id, split, metric)
);

CREATE TABLE artifacts (
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    TEXT COLLATE "C" NOT NULL
        CONSTRAINT artifacts_kind_check
        CHECK (kind IN ('weights', 'preprocessing')),
    path    TEXT COLLATE "C" NOT NULL,
    sha256  TEXT COLLATE "C" NOT NULL,
    bytes   BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind)
);
