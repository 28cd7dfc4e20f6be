-- A trial that failed before a run could be made for it (its spec or its
-- model refused the combination of parameters): the reason. NULL for every
-- trial that has a run, whose error is its run's.
ALTER TABLE sweep_trials ADD COLUMN error TEXT;

-- The tags given to `pipeline run --tag` on a sweep spec (a JSON array):
-- every trial's run carries them, also the ones a resume trains.
ALTER TABLE sweeps ADD COLUMN tags TEXT;
