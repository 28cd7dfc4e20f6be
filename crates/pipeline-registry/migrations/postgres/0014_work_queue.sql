-- Workers (`pipeline worker`): work submitted with `pipeline run --submit`
-- waits here until a worker claims it. An item is a queued run (`run_id`)
-- or one trial of a sweep (`sweep_id`, `trial`; its run is the trial's).
-- A claim is a lease: `lease_token` names it and `lease_expires_at` (seconds
-- since 1970 on the database's clock) ends it unless the worker renews it.
-- A lease that expired is reaped: the item is queued again (or failed after
-- `max_attempts`), and the run it trained is marked crashed.
CREATE TABLE work_items (
    id               BIGSERIAL PRIMARY KEY,
    run_id           TEXT COLLATE "C" REFERENCES runs (id) ON DELETE CASCADE,
    sweep_id         TEXT COLLATE "C" REFERENCES sweeps (id) ON DELETE CASCADE,
    trial            BIGINT,
    state            TEXT COLLATE "C" NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,   -- leases lost (their worker died or stalled)
    max_attempts     BIGINT NOT NULL,
    lease_token      TEXT COLLATE "C",
    worker_id        TEXT COLLATE "C",
    lease_expires_at DOUBLE PRECISION,
    submitted_at     TEXT COLLATE "C" NOT NULL,
    ended_at         TEXT COLLATE "C",
    error            TEXT COLLATE "C",
    CHECK ((run_id IS NOT NULL AND sweep_id IS NULL) OR (sweep_id IS NOT NULL AND trial IS NOT NULL))
);

CREATE UNIQUE INDEX work_items_by_trial ON work_items (sweep_id, trial);
CREATE INDEX work_items_by_state ON work_items (state, id);
CREATE INDEX work_items_by_run ON work_items (run_id);

-- The workers that ever claimed work: who, where, on which device; their
-- heartbeat is on the database's clock like the leases.
CREATE TABLE workers (
    id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    host         TEXT COLLATE "C" NOT NULL,
    pid          BIGINT NOT NULL,
    device       TEXT COLLATE "C" NOT NULL,
    jobs         BIGINT NOT NULL,
    sweep_id     TEXT COLLATE "C",
    started_at   TEXT COLLATE "C" NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    stopped_at   TEXT COLLATE "C",
    trials_done  BIGINT NOT NULL DEFAULT 0
);

-- The process (or worker lease) that may write a running run: every write
-- of a live run requires it, so a process that lost its run (a stalled
-- worker whose lease was reaped, then taken over) writes nothing.
ALTER TABLE runs ADD COLUMN owner TEXT COLLATE "C";
