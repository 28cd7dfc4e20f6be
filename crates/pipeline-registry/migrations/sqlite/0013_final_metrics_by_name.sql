-- `runs --where "test_r2 > 0.5"` reads the runs holding a final metric
-- in a range as one set (an index range), not one lookup per run.
CREATE INDEX final_metrics_by_name ON final_metrics (split, metric, value);

-- `runs --where "optimizer.learning_rate > 0.005"`: the runs of a spec
-- key's range straight from the index, without reading the table.
CREATE INDEX run_params_key_num_run ON run_params (key, num, run_id);
DROP INDEX run_params_key_num;
