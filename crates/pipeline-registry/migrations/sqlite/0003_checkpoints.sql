-- Checkpoints for `pipeline resume`: artifacts of kind 'checkpoint_last' (the
-- full training state after the last saved epoch) and 'checkpoint_best' (the
-- best epoch's weights).
--
-- SQLite cannot change a CHECK constraint in place, so `artifacts` is
-- rebuilt. Nothing references it, so dropping the old table loses nothing
-- but its own rows, which are copied first.

CREATE TABLE artifacts_v3 (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL
        CHECK (kind IN ('weights', 'preprocessing', 'checkpoint_last', 'checkpoint_best')),
    path    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind)
);
INSERT INTO artifacts_v3 (run_id, kind, path, sha256, bytes)
SELECT run_id, kind, path, sha256, bytes FROM artifacts;

DROP TABLE artifacts;
ALTER TABLE artifacts_v3 RENAME TO artifacts;
