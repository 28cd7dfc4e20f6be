-- A run's graded diagnosis (pipeline-train's `diagnosis` module), stored
-- like the overfitting summary so `runs` and `--where verdict = …` read it:
-- the primary verdict (`overfitting`, `underfitting`, `still_improving`,
-- `diverged`, `learning_rate_too_high`, `learning_rate_too_low`, `good_fit`,
-- `too_short`), its grade (`slight`, `mild`, `strong` or NULL), every finding
-- that holds (comma-separated `verdict[:grade]`, the primary first) and the
-- numbers the verdict rests on. Runs recorded before: NULL.

ALTER TABLE runs ADD COLUMN verdict TEXT;
ALTER TABLE runs ADD COLUMN verdict_grade TEXT;
ALTER TABLE runs ADD COLUMN verdict_findings TEXT;
ALTER TABLE runs ADD COLUMN val_above_min REAL;
ALTER TABLE runs ADD COLUMN train_drop REAL;
ALTER TABLE runs ADD COLUMN val_recent_drop REAL;
ALTER TABLE runs ADD COLUMN skill REAL;
