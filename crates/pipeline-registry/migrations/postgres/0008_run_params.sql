-- Each run's resolved spec flattened to `key = value` rows (the keys
-- `--set` takes: `optimizer.learning_rate`, `model.layers.0.units`), so
-- that `runs --where`, `--sort` and `--columns` read spec keys with an
-- index instead of parsing every spec. `num` holds numbers (for numeric
-- comparison and order), `text` every value as the spec writes it.
CREATE TABLE run_params (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    num DOUBLE PRECISION,
    text TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE INDEX run_params_key_num ON run_params (key, num);

-- Runs recorded before this migration: their rows are filled once, by the
-- next process that opens the registry for writing, which then deletes
-- them from here.
CREATE TABLE run_params_pending (
    run_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE
);

INSERT INTO run_params_pending (run_id) SELECT id FROM runs;
