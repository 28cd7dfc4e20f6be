-- Hyperparameter sweeps (`[sweep]` in a spec). A sweep is its base spec and
-- search space; each trial is one numbered point of that space and, once
-- started, one ordinary run. A trial's state is never stored: it is derived
-- from its run's status, so a process killed mid-sweep leaves nothing that
-- claims to be running (its runs become `crashed` like any other).

CREATE TABLE sweeps (
    id               TEXT COLLATE "C" PRIMARY KEY NOT NULL,  -- a UUID v7, like a run's id
    experiment       TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C",
    spec_path        TEXT COLLATE "C" NOT NULL,
    source_spec      TEXT COLLATE "C" NOT NULL,              -- the file with [sweep], as written
    spec_toml        TEXT COLLATE "C" NOT NULL,              -- the resolved base spec, [sweep] included
    method           TEXT COLLATE "C" NOT NULL,              -- grid | random | tpe
    metric           TEXT COLLATE "C" NOT NULL,              -- the trials' selection metric, e.g. val_r2
    higher_is_better BIGINT NOT NULL,
    budget           BIGINT NOT NULL,                        -- trials to run (grid: every point)
    jobs             BIGINT NOT NULL,
    seed             BIGINT NOT NULL,
    parameters       TEXT COLLATE "C" NOT NULL,              -- JSON: the space, for display
    pruner           TEXT COLLATE "C",                       -- JSON: the pruner, for display; NULL: none
    created_at       TEXT COLLATE "C" NOT NULL,
    archived_at      TEXT COLLATE "C"
);

CREATE UNIQUE INDEX sweeps_by_name ON sweeps (name);
CREATE INDEX sweeps_created_at ON sweeps (created_at);

-- One row per trial number claimed: a claim is the INSERT, so a number is
-- never run twice, even by two processes. `run_id` is the trial's latest
-- run (NULL until one is created, or after that run was deleted);
-- `attempts` counts the runs created for it.
CREATE TABLE sweep_trials (
    sweep_id   TEXT COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number     BIGINT NOT NULL,
    params     TEXT COLLATE "C" NOT NULL,                    -- JSON object: parameter key -> value
    run_id     TEXT COLLATE "C" REFERENCES runs (id) ON DELETE SET NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    claimed_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (sweep_id, number)
);

CREATE INDEX sweep_trials_run_id ON sweep_trials (run_id);

-- A trial re-trained by cross-validation (`pipeline sweep confirm`): the
-- mean and spread of its folds' metric, the tag that groups the folds'
-- runs, and its test score when known.
CREATE TABLE sweep_confirmations (
    sweep_id   TEXT COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number     BIGINT NOT NULL,
    folds      BIGINT NOT NULL,
    metric     TEXT COLLATE "C" NOT NULL,
    mean       DOUBLE PRECISION,
    std        DOUBLE PRECISION,
    group_id   TEXT COLLATE "C" NOT NULL,
    test_value DOUBLE PRECISION,
    created_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (sweep_id, number, folds)
);

-- A run stopped by a sweep's pruner: the epoch it was stopped after. Its
-- status stays 'killed' (as on SQLite, which cannot change the status CHECK
-- without rebuilding `runs`; both backends keep one meaning); every read maps
-- a killed run with a pruned_epoch to the status `pruned`. NULL for every
-- other run, and for all runs recorded before.
ALTER TABLE runs ADD COLUMN pruned_epoch BIGINT;
