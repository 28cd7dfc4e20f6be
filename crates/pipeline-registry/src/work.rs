//! The work queue of `pipeline worker` (migration 0014): work submitted
//! with `pipeline run --submit` (a queued run, or each trial of a sweep),
//! claimed by workers under leases, reaped when a worker dies or stalls.
//!
//! - A claim is one statement: on PostgreSQL an `UPDATE … FROM (SELECT …
//!   FOR UPDATE SKIP LOCKED LIMIT 1)`, so workers never wait on each other
//!   or take the same item; on SQLite (single-machine workers) the same
//!   `UPDATE` under SQLite's one writer.
//! - A lease ends at `lease_expires_at`, seconds on the database's clock
//!   (never a worker's), unless renewed; the token names the lease, and the
//!   worker writes the item's run as that token ([`Registry::owned_by`]),
//!   so once the lease is reaped and taken over it writes nothing more.
//! - The reaper (every worker, before it claims) queues expired items
//!   again, counting the attempt, and marks their run crashed; after the
//!   last attempt the item and its run fail.
//!
//! None of this takes the registry's write lock ([`Registry::begin_write`]):
//! each statement is guarded by the item's state and token instead.

use std::time::Duration;

use sqlx::AnyConnection;

use crate::error::RegistryError;
use crate::location::Backend;
use crate::open::{Registry, hostname};
use crate::statement::Fault;
use crate::sweep_types::SweepId;
use crate::types::RunId;
use crate::util::now;

/// What a work item trains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkKind {
    /// A run submitted by `pipeline run --submit`.
    Run(RunId),
    /// Trial `number` of a submitted sweep.
    Trial { sweep: SweepId, number: u32 },
}

/// A claimed work item: what to train, and the lease that allows it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub item: i64,
    pub kind: WorkKind,
    /// The lease's token: the owner the item's run is written as.
    pub token: String,
    /// Leases of this item lost before (its workers died or stalled).
    pub attempts: u32,
    pub max_attempts: u32,
}

/// How a claimed item ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkEnd {
    /// Trained to its end (completed or pruned).
    Done,
    /// Failed on its spec, data or training: never retried.
    Failed(String),
    /// Stopped by its worker (SIGTERM) after saving a checkpoint: queued
    /// again, no attempt counted.
    GiveBack,
    /// Failed on its environment (a full disk, the database): queued again
    /// as a lost attempt, failed after the last.
    Retry(String),
}

/// An item whose lease had expired, queued again or failed by the reaper.
#[derive(Debug, Clone)]
pub struct Reaped {
    pub item: i64,
    /// The worker that held it.
    pub worker: Option<String>,
    /// The run it was training, marked crashed (or failed).
    pub run: Option<RunId>,
    /// Its last attempt: the item and its run failed.
    pub failed: bool,
}

/// A worker as it registers ([`Registry::register_worker`], which adds this
/// process's host and pid).
#[derive(Debug, Clone)]
pub struct NewWorker {
    pub id: String,
    pub device: String,
    pub jobs: u32,
    pub sweep: Option<SweepId>,
}

/// A worker as `pipeline workers` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkerRecord {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub device: String,
    pub jobs: u32,
    pub sweep: Option<String>,
    pub started_at: String,
    /// Seconds since its last heartbeat, on the database's clock.
    pub silent_seconds: f64,
    pub stopped_at: Option<String>,
    /// Items it ended (done or failed).
    pub items_done: u32,
    /// What it trains now: `run ID` or `trial N of sweep ID`, one per job.
    pub current: Vec<String>,
}

/// How many items are in each state (within one sweep, or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub queued: u64,
    pub leased: u64,
    pub done: u64,
    pub failed: u64,
}

/// One claimed row: id, run, sweep, trial, attempts, max attempts.
type ClaimRow = (i64, Option<String>, Option<String>, Option<i64>, i64, i64);

/// One reaped item: its new state, attempts, run, sweep, trial.
type ReapedRow = (String, i64, Option<String>, Option<String>, Option<i64>);

/// One leased item as `workers` reads it: worker, run, sweep, trial.
type LeasedRow = (String, Option<String>, Option<String>, Option<i64>);

/// One worker row: id, host, pid, device, jobs, sweep, started, silent
/// seconds, stopped, items done.
type WorkerRow = (
    String,
    String,
    i64,
    String,
    i64,
    Option<String>,
    String,
    f64,
    Option<String>,
    i64,
);

/// Now on the database's clock, in seconds since 1970 (fractional).
fn db_now(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
        Backend::Sqlite => "((julianday('now') - 2440587.5) * 86400.0)",
    }
}

impl Registry {
    /// Queues trials `0..budget` of `sweep` for workers (each its own item,
    /// claimed in number order); numbers already queued are left as they are.
    pub async fn submit_trials(
        &self,
        sweep: &SweepId,
        budget: u32,
        max_attempts: u32,
    ) -> Result<(), RegistryError> {
        self.within(|| format!("queueing the trials of sweep {sweep}"), async {
            let mut tx = self.pool.begin().await?;
            let submitted = now();
            for number in 0..budget {
                sqlx::query(
                    "INSERT INTO work_items (sweep_id, trial, state, max_attempts, submitted_at) \
                     VALUES ($1, $2, 'queued', $3, $4) ON CONFLICT (sweep_id, trial) DO NOTHING",
                )
                .bind(sweep.as_str())
                .bind(i64::from(number))
                .bind(i64::from(max_attempts))
                .bind(&submitted)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Records a worker starting (or starting again under the same id).
    pub async fn register_worker(&self, worker: &NewWorker) -> Result<(), RegistryError> {
        let clock = db_now(self.backend);
        let sql = format!(
            "INSERT INTO workers (id, host, pid, device, jobs, sweep_id, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, {clock}) \
             ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, heartbeat_at = excluded.heartbeat_at, \
             stopped_at = NULL"
        );
        self.within(|| format!("registering worker {}", worker.id), async {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&worker.id)
                .bind(hostname())
                .bind(i64::from(std::process::id()))
                .bind(&worker.device)
                .bind(i64::from(worker.jobs))
                .bind(worker.sweep.as_ref().map(SweepId::as_str))
                .bind(now())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Refreshes a worker's heartbeat; `stopped` records that it exited.
    pub async fn worker_alive(&self, worker: &str, stopped: bool) -> Result<(), RegistryError> {
        let clock = db_now(self.backend);
        let sql =
            format!("UPDATE workers SET heartbeat_at = {clock}, stopped_at = $1 WHERE id = $2");
        self.within(|| format!("refreshing worker {worker}"), async {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(stopped.then(now))
                .bind(worker)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Queues again every item whose lease expired on the database's clock
    /// (failing those on their last attempt) and marks the runs they were
    /// training crashed (or failed). Safe with any number of reapers: an
    /// item is reaped by one.
    pub async fn reap_expired(&self) -> Result<Vec<Reaped>, RegistryError> {
        let clock = db_now(self.backend);
        let expired: Vec<(i64, Option<String>)> = self
            .within(|| "looking for expired leases", async {
                let sql = format!(
                    "SELECT id, worker_id FROM work_items \
                     WHERE state = 'leased' AND lease_expires_at <= {clock}"
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?)
            })
            .await?;
        let mut reaped = Vec::with_capacity(expired.len());
        for (item, worker) in expired {
            if let Some(one) = self.reap(item, worker, clock).await? {
                reaped.push(one);
            }
        }
        Ok(reaped)
    }

    /// Reaps item `item` if its lease is still expired.
    async fn reap(
        &self,
        item: i64,
        worker: Option<String>,
        clock: &str,
    ) -> Result<Option<Reaped>, RegistryError> {
        let holder = worker.clone().unwrap_or_else(|| "unknown".to_owned());
        self.within(|| format!("reaping work item {item}"), async {
            let mut tx = self.pool.begin().await?;
            let message = format!(
                "worker {holder} lost its lease (no renewal before it expired): it died or stalled"
            );
            let sql = format!(
                "UPDATE work_items SET \
                 state = CASE WHEN attempts + 1 >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 ended_at = CASE WHEN attempts + 1 >= max_attempts THEN $1 ELSE NULL END, \
                 attempts = attempts + 1, lease_token = NULL, worker_id = NULL, \
                 lease_expires_at = NULL, error = $2 \
                 WHERE id = $3 AND state = 'leased' AND lease_expires_at <= {clock} \
                 RETURNING state, attempts, run_id, sweep_id, trial"
            );
            let row: Option<ReapedRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(now())
                    .bind(&message)
                    .bind(item)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((state, attempts, run, sweep, trial)) = row else {
                return Ok(None);
            };
            let run = match (run, sweep, trial) {
                (Some(run), ..) => Some(run),
                (None, Some(sweep), Some(trial)) => trial_run(&mut tx, &sweep, trial).await?,
                _ => None,
            };
            let failed = state == "failed";
            if let Some(run) = &run {
                let (status, error) = if failed {
                    (
                        "failed",
                        format!("{message}; gave up after {attempts} lost lease(s)"),
                    )
                } else {
                    ("crashed", message.clone())
                };
                sqlx::query(
                    "UPDATE runs SET status = $1, error = $2, ended_at = COALESCE(heartbeat_at, $3) \
                     WHERE id = $4 AND status IN ('queued', 'running', 'crashed')",
                )
                .bind(status)
                .bind(&error)
                .bind(now())
                .bind(run)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Some(Reaped {
                item,
                worker,
                run: run.map(RunId::from_db),
                failed,
            }))
        })
        .await
    }

    /// Claims the oldest queued item (of `sweep` only, when given) for
    /// `worker` under a new lease of `lease`; `None` when none is queued.
    pub async fn claim_work(
        &self,
        worker: &str,
        lease: Duration,
        sweep: Option<&SweepId>,
    ) -> Result<Option<Claimed>, RegistryError> {
        let clock = db_now(self.backend);
        let scope = if sweep.is_some() {
            "AND sweep_id = $4"
        } else {
            ""
        };
        let sql = match self.backend {
            Backend::Postgres => format!(
                "UPDATE work_items SET state = 'leased', lease_token = $1, worker_id = $2, \
                 lease_expires_at = {clock} + $3 \
                 FROM (SELECT id FROM work_items WHERE state = 'queued' {scope} \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) AS next \
                 WHERE work_items.id = next.id \
                 RETURNING work_items.id, work_items.run_id, work_items.sweep_id, \
                 work_items.trial, work_items.attempts, work_items.max_attempts"
            ),
            Backend::Sqlite => format!(
                "UPDATE work_items SET state = 'leased', lease_token = $1, worker_id = $2, \
                 lease_expires_at = {clock} + $3 \
                 WHERE id = (SELECT id FROM work_items WHERE state = 'queued' {scope} \
                 ORDER BY id LIMIT 1) AND state = 'queued' \
                 RETURNING id, run_id, sweep_id, trial, attempts, max_attempts"
            ),
        };
        let token = format!("lease:{}", uuid::Uuid::now_v7().simple());
        let row: Option<ClaimRow> = self
            .within(|| format!("claiming work for worker {worker}"), async {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(&token)
                    .bind(worker)
                    .bind(lease.as_secs_f64());
                if let Some(sweep) = sweep {
                    query = query.bind(sweep.as_str());
                }
                Ok(query.fetch_optional(&self.pool).await?)
            })
            .await?;
        let Some((item, run, sweep, trial, attempts, max_attempts)) = row else {
            return Ok(None);
        };
        let kind = match (run, sweep, trial) {
            (Some(run), None, _) => WorkKind::Run(RunId::from_db(run)),
            (_, Some(sweep), Some(number)) => WorkKind::Trial {
                sweep: SweepId::from_db(sweep),
                number: u32::try_from(number).unwrap_or(u32::MAX),
            },
            _ => {
                return Err(RegistryError::Corrupt {
                    path: self.db_path.clone(),
                    detail: format!("work item {item} names neither a run nor a trial"),
                });
            }
        };
        Ok(Some(Claimed {
            item,
            kind,
            token,
            attempts: u32::try_from(attempts).unwrap_or(0),
            max_attempts: u32::try_from(max_attempts).unwrap_or(0),
        }))
    }

    /// Extends the lease `token` of item `item` by `lease` from now on the
    /// database's clock: `false` when the lease was lost (reaped, taken
    /// over, or ended), after which its worker writes nothing more.
    pub async fn renew_lease(
        &self,
        item: i64,
        token: &str,
        lease: Duration,
    ) -> Result<bool, RegistryError> {
        let clock = db_now(self.backend);
        let sql = format!(
            "UPDATE work_items SET lease_expires_at = {clock} + $1 \
             WHERE id = $2 AND lease_token = $3 AND state = 'leased'"
        );
        self.within(
            || format!("renewing the lease of work item {item}"),
            async {
                let touched = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(lease.as_secs_f64())
                    .bind(item)
                    .bind(token)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(touched > 0)
            },
        )
        .await
    }

    /// Ends lease `token` of item `item` as `end` says (`worker` counts the
    /// items it ended): `false` when the lease was lost before, and nothing
    /// was written.
    pub async fn end_work(
        &self,
        item: i64,
        token: &str,
        worker: &str,
        end: &WorkEnd,
    ) -> Result<bool, RegistryError> {
        let (state, error, counted, ended) = match end {
            WorkEnd::Done => ("'done'", None, "attempts", true),
            WorkEnd::Failed(error) => ("'failed'", Some(error.as_str()), "attempts", true),
            WorkEnd::GiveBack => ("'queued'", None, "attempts", false),
            WorkEnd::Retry(error) => (
                "CASE WHEN attempts + 1 >= max_attempts THEN 'failed' ELSE 'queued' END",
                Some(error.as_str()),
                "attempts + 1",
                false,
            ),
        };
        let sql = format!(
            "UPDATE work_items SET state = {state}, error = COALESCE($1, error), \
             attempts = {counted}, ended_at = $2, lease_token = NULL, worker_id = NULL, \
             lease_expires_at = NULL WHERE id = $3 AND lease_token = $4 AND state = 'leased'"
        );
        self.within(|| format!("ending work item {item}"), async {
            let mut tx = self.pool.begin().await?;
            let touched = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(error)
                .bind(ended.then(now))
                .bind(item)
                .bind(token)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if touched > 0 && ended {
                sqlx::query("UPDATE workers SET trials_done = trials_done + 1 WHERE id = $1")
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(touched > 0)
        })
        .await
    }

    /// Counts the items in each state (of `sweep` only, when given).
    pub async fn queue_counts(
        &self,
        sweep: Option<&SweepId>,
    ) -> Result<QueueCounts, RegistryError> {
        let scope = if sweep.is_some() {
            "WHERE sweep_id = $1"
        } else {
            ""
        };
        let sql = format!("SELECT state, COUNT(*) FROM work_items {scope} GROUP BY state");
        let rows: Vec<(String, i64)> = self
            .within(|| "counting the work queue", async {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                if let Some(sweep) = sweep {
                    query = query.bind(sweep.as_str());
                }
                Ok(query.fetch_all(&self.pool).await?)
            })
            .await?;
        let mut counts = QueueCounts::default();
        for (state, count) in rows {
            let count = u64::try_from(count).unwrap_or(0);
            match state.as_str() {
                "queued" => counts.queued = count,
                "leased" => counts.leased = count,
                "done" => counts.done = count,
                _ => counts.failed += count,
            }
        }
        Ok(counts)
    }

    /// Every worker that registered, the most recently heard from first,
    /// with what each trains now.
    pub async fn workers(&self) -> Result<Vec<WorkerRecord>, RegistryError> {
        let clock = db_now(self.backend);
        let sql = format!(
            "SELECT id, host, pid, device, jobs, sweep_id, started_at, \
             {clock} - heartbeat_at, stopped_at, trials_done FROM workers \
             ORDER BY heartbeat_at DESC, id"
        );
        let (rows, leased) = self
            .within(|| "listing the workers", async {
                let rows: Vec<WorkerRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?;
                let leased: Vec<LeasedRow> = sqlx::query_as(
                    "SELECT worker_id, run_id, sweep_id, trial FROM work_items \
                         WHERE state = 'leased' AND worker_id IS NOT NULL ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok((rows, leased))
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, host, pid, device, jobs, sweep, started_at, silent, stopped_at, done)| {
                    let current = leased
                        .iter()
                        .filter(|(worker, ..)| *worker == id)
                        .map(|(_, run, sweep, trial)| match (run, sweep, trial) {
                            (Some(run), None, _) => format!("run {run}"),
                            (_, Some(sweep), Some(trial)) => {
                                format!("trial {trial} of sweep {sweep}")
                            }
                            _ => "?".to_owned(),
                        })
                        .collect();
                    WorkerRecord {
                        id,
                        host,
                        pid: u32::try_from(pid).unwrap_or(0),
                        device,
                        jobs: u32::try_from(jobs).unwrap_or(0),
                        sweep,
                        started_at,
                        silent_seconds: silent.max(0.0),
                        stopped_at,
                        items_done: u32::try_from(done).unwrap_or(0),
                        current,
                    }
                },
            )
            .collect())
    }
}

/// The work item of a submitted run, in the transaction that records it.
pub(crate) async fn insert_run_item(
    conn: &mut AnyConnection,
    run: &RunId,
    max_attempts: u32,
    submitted: &str,
) -> Result<(), Fault> {
    sqlx::query(
        "INSERT INTO work_items (run_id, state, max_attempts, submitted_at) \
         VALUES ($1, 'queued', $2, $3)",
    )
    .bind(run.as_str())
    .bind(i64::from(max_attempts))
    .bind(submitted)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The latest run of trial `number` of `sweep`.
async fn trial_run(
    conn: &mut AnyConnection,
    sweep: &str,
    number: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT run_id FROM sweep_trials WHERE sweep_id = $1 AND number = $2",
    )
    .bind(sweep)
    .bind(number)
    .fetch_optional(conn)
    .await?
    .flatten())
}
