-- Lifecycle status 'queued', the reproducibility receipt, the stored
-- overfitting summary, tags, notes and aliases with their history.
--
-- SQLite rebuilds `runs` and its child tables to change the status CHECK
-- (and makes the epoch metrics WITHOUT ROWID); PostgreSQL changes the
-- constraint and adds the columns in place, which gives the same final
-- schema and keeps every row, index and foreign key as it is. The new
-- columns are NULL for existing runs, as the SQLite copy leaves them.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'killed', 'crashed'));

-- Commit the program was built from ("unknown" outside a git checkout,
-- "-dirty" appended when it had uncommitted changes).
ALTER TABLE runs ADD COLUMN git_commit TEXT COLLATE "C";
-- 1 when the same spec, data and seed give bit-identical weights here.
ALTER TABLE runs ADD COLUMN deterministic BIGINT;
ALTER TABLE runs ADD COLUMN queued_at TEXT COLLATE "C";
-- Overfitting against generalization, computed when the run ends:
-- validation minus train loss at the best epoch, test minus train loss
-- of the kept model, and the first epoch after which validation loss
-- rose while train loss fell for `patience` epochs (NULL: none).
ALTER TABLE runs ADD COLUMN gap_at_best DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN test_train_gap DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN overfit_onset BIGINT;
-- sha256 over the weights' tensors (names, shapes, bytes), without the
-- file's metadata: equal digests mean bit-identical weights.
ALTER TABLE runs ADD COLUMN weights_digest TEXT COLLATE "C";
ALTER TABLE runs ADD COLUMN note TEXT COLLATE "C";

-- runs_experiment_status and runs_started_at (0001) survive in place.
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
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tag     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, tag)
);
CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);

-- One row per assignment: the current holder of an alias is its row with
-- `unset_at` NULL; earlier rows are its history. `rowid` stands for
-- SQLite's implicit rowid (insertion order), so that `ORDER BY set_at,
-- rowid` reads the same on both backends.
CREATE TABLE aliases (
    rowid     BIGSERIAL,
    name      TEXT COLLATE "C" NOT NULL,
    run_id    TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    set_at    TEXT COLLATE "C" NOT NULL,
    unset_at  TEXT COLLATE "C"
);
CREATE UNIQUE INDEX aliases_current ON aliases (name) WHERE unset_at IS NULL;
CREATE INDEX aliases_by_name ON aliases (name, set_at);
