-- A run's optional name (`pipeline run --name`, `pipeline name RUN NAME`),
-- selectable wherever a run id is. Unique like a container's name, so a
-- name always selects one run; NULL (every run recorded before) for none,
-- and a unique index allows any number of NULLs in SQLite and PostgreSQL.

ALTER TABLE runs ADD COLUMN name TEXT COLLATE "C";
CREATE UNIQUE INDEX runs_by_name ON runs (name);
