-- A run's graded diagnosis (pipeline-train's `diagnosis` module), stored
-- like the overfitting summary so `runs` and `--where verdict = …` read it:
-- the primary verdict (`overfitting`, `underfitting`, `still_improving`,
-- `diverged`, `learning_rate_too_high`, `learning_rate_too_low`, `good_fit`,
-- `too_short`), its grade (`slight`, `mild`, `strong` or NULL), every finding
-- that holds (comma-separated `verdict[:grade]`, the primary first) and the
-- numbers the verdict rests on. Runs recorded before: NULL.

ALTER TABLE runs ADD COLUMN verdict TEXT COLLATE "C";
ALTER TABLE runs ADD COLUMN verdict_grade TEXT COLLATE "C";
ALTER TABLE runs ADD COLUMN verdict_findings TEXT COLLATE "C";
ALTER TABLE runs ADD COLUMN val_above_min DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN train_drop DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN val_recent_drop DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN skill DOUBLE PRECISION;
