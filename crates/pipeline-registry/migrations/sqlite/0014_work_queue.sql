-- Workers (`pipeline worker`): work submitted with `pipeline run --submit`
-- waits here until a worker claims it. An item is a queued run (`run_id`)
-- or one trial of a sweep (`sweep_id`, `trial`; its run is the trial's).
-- A claim is a lease: `lease_token` names it and `lease_expires_at` (seconds
-- since 1970 on the database's clock) ends it unless the worker renews it.
-- A lease that expired is reaped: the item is queued again (or failed after
-- `max_attempts`), and the run it trained is marked crashed.
CREATE TABLE work_items (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT REFERENCES runs (id) ON DELETE CASCADE,
    sweep_id         TEXT REFERENCES sweeps (id) ON DELETE CASCADE,
    trial            INTEGER,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,   -- leases lost (their worker died or stalled)
    max_attempts     INTEGER NOT NULL,
    lease_token      TEXT,
    worker_id        TEXT,
    lease_expires_at REAL,
    submitted_at     TEXT NOT NULL,
    ended_at         TEXT,
    error            TEXT,
    CHECK ((run_id IS NOT NULL AND sweep_id IS NULL) OR (sweep_id IS NOT NULL AND trial IS NOT NULL))
);

CREATE UNIQUE INDEX work_items_by_trial ON work_items (sweep_id, trial);
CREATE INDEX work_items_by_state ON work_items (state, id);
CREATE INDEX work_items_by_run ON work_items (run_id);

-- The workers that ever claimed work: who, where, on which device; their
-- heartbeat is on the database's clock like the leases.
CREATE TABLE workers (
    id           TEXT PRIMARY KEY NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    device       TEXT NOT NULL,
    jobs         INTEGER NOT NULL,
    sweep_id     TEXT,
    started_at   TEXT NOT NULL,
    heartbeat_at REAL NOT NULL,
    stopped_at   TEXT,
    trials_done  INTEGER NOT NULL DEFAULT 0
);

-- The process (or worker lease) that may write a running run: every write
-- of a live run requires it, so a process that lost its run (a stalled
-- worker whose lease was reaped, then taken over) writes nothing.
ALTER TABLE runs ADD COLUMN owner TEXT;
