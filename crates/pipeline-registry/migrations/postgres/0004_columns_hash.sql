-- The resolved input columns' fingerprint: a short hash of the feature
-- columns' names and types as the run trained on them (see
-- pipeline-data's fingerprint.rs), beside the data file's sha256. Runs
-- recorded before have none (NULL) and predict as they always did.

ALTER TABLE runs ADD COLUMN columns_hash TEXT COLLATE "C";
