-- A trial that failed before a run could be made for it (its spec or its
-- model refused the combination of parameters): the reason. NULL for every
-- trial that has a run, whose error is its run's.
ALTER TABLE sweep_trials ADD COLUMN error TEXT COLLATE "C";

-- The tags given to `pipeline run --tag` on a sweep spec (a JSON array):
-- every trial's run carries them, also the ones a resume trains.
ALTER TABLE sweeps ADD COLUMN tags TEXT COLLATE "C";

-- What `sweep show` reads of each trial's run (SQLite reads it through
-- `INDEXED BY runs_trial_view`, a covering index). The trials join on `id`
-- alone, so `id` is the key and the other columns ride along in the leaf
-- pages (INCLUDE). Unlike SQLite's, this index leaves out `error`: a B-tree
-- entry holds at most 2704 bytes (after compression), so with `error` in
-- it PostgreSQL would refuse to record a run whose error text exceeds about
-- 2.6 KB (measured with text that hardly compresses), which SQLite stores
-- whatever its length. Each trial's run row is therefore read from the
-- table too; PostgreSQL keeps its long values (the spec texts) out of line,
-- so that row is small. A plain CREATE INDEX (not CONCURRENTLY): sqlx runs
-- each file in a transaction.
CREATE INDEX runs_trial_view ON runs (id)
    INCLUDE (status, pruned_epoch, selection_value, epochs_run, name, started_at, ended_at);
