-- When a run was archived (`pipeline archive`): hidden from `runs`, `best`,
-- `best:<metric>`, `latest` and rankings, still resolved by id or alias.
-- NULL: not archived (every run recorded before).

ALTER TABLE runs ADD COLUMN archived_at TEXT COLLATE "C";
