-- Checkpoints for `pipeline resume`: artifacts of kind 'checkpoint_last' (the
-- full training state after the last saved epoch) and 'checkpoint_best' (the
-- best epoch's weights).
--
-- SQLite rebuilds `artifacts` to change its CHECK; PostgreSQL replaces the
-- constraint in place.

ALTER TABLE artifacts DROP CONSTRAINT artifacts_kind_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_kind_check
    CHECK (kind IN ('weights', 'preprocessing', 'checkpoint_last', 'checkpoint_best'));
