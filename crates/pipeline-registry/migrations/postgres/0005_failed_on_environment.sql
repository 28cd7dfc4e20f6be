-- A failed run that stopped on its environment (a full disk, an I/O or
-- registry error), not on its spec or data: 1, and `pipeline resume`
-- continues it from its checkpoint like a killed or crashed run. Its status
-- stays 'failed' (with the whole cause in `error`), so `runs --where
-- status=failed` still lists it. Runs recorded before have 0.

ALTER TABLE runs ADD COLUMN failed_on_environment BIGINT NOT NULL DEFAULT 0;
