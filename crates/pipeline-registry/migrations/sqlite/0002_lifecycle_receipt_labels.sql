-- Lifecycle status 'queued', the reproducibility receipt, the stored
-- overfitting summary, tags, notes and aliases with their history.
--
-- SQLite cannot change a CHECK constraint in place, so `runs` is rebuilt. The
-- child tables are rebuilt first against the new table: dropping the old
-- `runs` while children still reference it would cascade-delete their rows
-- (foreign keys are on). The epoch metrics become WITHOUT ROWID, clustered on
-- their primary key, which halves their size on disk.

CREATE TABLE runs_v2 (
    id                          TEXT PRIMARY KEY NOT NULL,
    experiment                  TEXT NOT NULL,
    status                      TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'killed', 'crashed')),
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
    -- Commit the program was built from ("unknown" outside a git checkout,
    -- "-dirty" appended when it had uncommitted changes).
    git_commit                  TEXT,
    -- 1 when the same spec, data and seed give bit-identical weights here.
    deterministic               INTEGER,
    queued_at                   TEXT,
    started_at                  TEXT NOT NULL,
    ended_at                    TEXT,
    best_epoch                  INTEGER,
    epochs_run                  INTEGER NOT NULL DEFAULT 0,
    selection_metric            TEXT NOT NULL,
    selection_higher_is_better  INTEGER NOT NULL,
    selection_value             REAL,
    -- Overfitting against generalization, computed when the run ends:
    -- validation minus train loss at the best epoch, test minus train loss
    -- of the kept model, and the first epoch after which validation loss
    -- rose while train loss fell for `patience` epochs (NULL: none).
    gap_at_best                 REAL,
    test_train_gap              REAL,
    overfit_onset               INTEGER,
    -- sha256 over the weights' tensors (names, shapes, bytes), without the
    -- file's metadata: equal digests mean bit-identical weights.
    weights_digest              TEXT,
    note                        TEXT,
    pid                         INTEGER,
    pid_started                 INTEGER,
    host                        TEXT,
    heartbeat_at                TEXT
);

INSERT INTO runs_v2 (id, experiment, status, error, spec_toml, spec_hash, source_spec,
    spec_path, data_path, data_sha256, seed, device, program_version, started_at, ended_at,
    best_epoch, epochs_run, selection_metric, selection_higher_is_better, selection_value,
    pid, pid_started, host, heartbeat_at)
SELECT id, experiment, status, error, spec_toml, spec_hash, source_spec,
    spec_path, data_path, data_sha256, seed, device, program_version, started_at, ended_at,
    best_epoch, epochs_run, selection_metric, selection_higher_is_better, selection_value,
    pid, pid_started, host, heartbeat_at
FROM runs;

CREATE TABLE epoch_metrics_v2 (
    run_id  TEXT NOT NULL REFERENCES runs_v2 (id) ON DELETE CASCADE,
    epoch   INTEGER NOT NULL,
    split   TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL,
    PRIMARY KEY (run_id, epoch, split, metric)
) WITHOUT ROWID;
INSERT INTO epoch_metrics_v2 SELECT run_id, epoch, split, metric, value FROM epoch_metrics;

CREATE TABLE final_metrics_v2 (
    run_id  TEXT NOT NULL REFERENCES runs_v2 (id) ON DELETE CASCADE,
    split   TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL,
    PRIMARY KEY (run_id, split, metric)
) WITHOUT ROWID;
INSERT INTO final_metrics_v2 SELECT run_id, split, metric, value FROM final_metrics;

CREATE TABLE artifacts_v2 (
    run_id  TEXT NOT NULL REFERENCES runs_v2 (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('weights', 'preprocessing')),
    path    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind)
);
INSERT INTO artifacts_v2 SELECT run_id, kind, path, sha256, bytes FROM artifacts;

DROP TABLE epoch_metrics;
DROP TABLE final_metrics;
DROP TABLE artifacts;
DROP TABLE runs;

-- Renaming rewrites the children's REFERENCES runs_v2 to runs.
ALTER TABLE runs_v2 RENAME TO runs;
ALTER TABLE epoch_metrics_v2 RENAME TO epoch_metrics;
ALTER TABLE final_metrics_v2 RENAME TO final_metrics;
ALTER TABLE artifacts_v2 RENAME TO artifacts;

CREATE INDEX runs_experiment_status ON runs (experiment, status);
CREATE INDEX runs_started_at ON runs (started_at);
-- Every open looks for queued and running runs to mark crashed.
CREATE INDEX runs_status ON runs (status);
CREATE INDEX final_metrics_by_metric ON final_metrics (split, metric, value);

-- Validation minus train loss at every recorded epoch.
CREATE VIEW epoch_gaps AS
SELECT v.run_id, v.epoch, v.value - t.value AS gap
FROM epoch_metrics v
JOIN epoch_metrics t
  ON t.run_id = v.run_id AND t.epoch = v.epoch AND t.split = 'train' AND t.metric = 'loss'
WHERE v.split = 'validation' AND v.metric = 'loss';

CREATE TABLE run_tags (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);

-- One row per assignment: the current holder of an alias is its row with
-- `unset_at` NULL; earlier rows are its history.
CREATE TABLE aliases (
    name      TEXT NOT NULL,
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    set_at    TEXT NOT NULL,
    unset_at  TEXT
);
CREATE UNIQUE INDEX aliases_current ON aliases (name) WHERE unset_at IS NULL;
CREATE INDEX aliases_by_name ON aliases (name, set_at);
