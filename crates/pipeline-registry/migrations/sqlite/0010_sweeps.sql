-- Hyperparameter sweeps (`[sweep]` in a spec). A sweep is its base spec and
-- search space; each trial is one numbered point of that space and, once
-- started, one ordinary run. A trial's state is never stored: it is derived
-- from its run's status, so a process killed mid-sweep leaves nothing that
-- claims to be running (its runs become `crashed` like any other).

CREATE TABLE sweeps (
    id               TEXT PRIMARY KEY NOT NULL,  -- a UUID v7, like a run's id
    experiment       TEXT NOT NULL,
    name             TEXT,
    spec_path        TEXT NOT NULL,
    source_spec      TEXT NOT NULL,              -- the file with [sweep], as written
    spec_toml        TEXT NOT NULL,              -- the resolved base spec, [sweep] included
    method           TEXT NOT NULL,              -- grid | random | tpe
    metric           TEXT NOT NULL,              -- the trials' selection metric, e.g. val_r2
    higher_is_better INTEGER NOT NULL,
    budget           INTEGER NOT NULL,           -- trials to run (grid: every point)
    jobs             INTEGER NOT NULL,
    seed             INTEGER NOT NULL,
    parameters       TEXT NOT NULL,              -- JSON: the space, for display
    pruner           TEXT,                       -- JSON: the pruner, for display; NULL: none
    created_at       TEXT NOT NULL,
    archived_at      TEXT
);

CREATE UNIQUE INDEX sweeps_by_name ON sweeps (name);
CREATE INDEX sweeps_created_at ON sweeps (created_at);

-- One row per trial number claimed: a claim is the INSERT, so a number is
-- never run twice, even by two processes. `run_id` is the trial's latest
-- run (NULL until one is created, or after that run was deleted);
-- `attempts` counts the runs created for it.
CREATE TABLE sweep_trials (
    sweep_id   TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    params     TEXT NOT NULL,                    -- JSON object: parameter key -> value
    run_id     TEXT REFERENCES runs (id) ON DELETE SET NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (sweep_id, number)
);

CREATE INDEX sweep_trials_run_id ON sweep_trials (run_id);

-- A trial re-trained by cross-validation (`pipeline sweep confirm`): the
-- mean and spread of its folds' metric, the tag that groups the folds'
-- runs, and its test score when known.
CREATE TABLE sweep_confirmations (
    sweep_id   TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    folds      INTEGER NOT NULL,
    metric     TEXT NOT NULL,
    mean       REAL,
    std        REAL,
    group_id   TEXT NOT NULL,
    test_value REAL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sweep_id, number, folds)
);

-- A run stopped by a sweep's pruner: the epoch it was stopped after. Its
-- status stays 'killed' (SQLite cannot change the status CHECK without
-- rebuilding `runs` and every table that references it); every read maps
-- a killed run with a pruned_epoch to the status `pruned`. NULL for every
-- other run, and for all runs recorded before.
ALTER TABLE runs ADD COLUMN pruned_epoch INTEGER;
