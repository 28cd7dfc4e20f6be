//! Sweeps (migration 0010): create a sweep, claim its trial numbers, link
//! each trial to the run that trains it, prune a run, record confirmations;
//! and read a sweep back with its trials in one query, list sweeps, resolve
//! what the user typed to a sweep, pick the best run of a sweep.
//!
//! A trial's state is never stored: it is derived from its run's status
//! ([`TrialState`]), so a process that dies mid-sweep leaves its runs
//! `crashed` (by the usual heartbeat logic) and its trials interrupted.

use crate::location::Backend;
use crate::sql::Sql;
use crate::util::real;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::RegistryError;
use crate::names::check_run_name;
use crate::open::Registry;
use crate::short_ids::{ShortIds, starts_short_id};
use crate::statement::Fault;
use crate::sweep_types::{
    Confirmation, NewConfirmation, NewSweep, PrunedRun, SweepFilter, SweepId, SweepRecord,
    SweepState, SweepSummary, TrialCounts, TrialLink, TrialRecord, TrialState,
};
use crate::types::{RunId, RunSelector, RunStatus, STATUS_SQL};
use crate::util::now;

/// One trial as [`Registry::sweep`] reads it: number, params, run id,
/// attempts, run name, selection value, epochs run, pruned epoch, error,
/// the trial's own error, started, ended, status.
#[derive(serde::Deserialize)]
struct TrialRow(
    i64,
    serde_json::Value,
    Option<String>,
    i64,
    Option<String>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Registry {
    /// Records a new sweep; its trials are claimed one by one with
    /// [`Registry::claim_trial`].
    pub async fn create_sweep(&self, new: &NewSweep) -> Result<SweepId, RegistryError> {
        let seed = i64::try_from(new.seed).map_err(|_| RegistryError::InvalidInput {
            what: "sweep seed".to_owned(),
            reason: format!("{} is larger than {}", new.seed, i64::MAX),
        })?;
        if let Some(name) = &new.name {
            check_run_name(name)?;
        }
        let id = SweepId::new_v7();
        let parameters = new.parameters.to_string();
        let pruner = new.pruner.as_ref().map(ToString::to_string);
        self.within(
            || format!("creating a sweep of {}", new.experiment),
            async {
                sqlx::query(
                    "INSERT INTO sweeps (id, experiment, name, spec_path, source_spec, spec_toml, \
                 method, metric, higher_is_better, budget, jobs, seed, parameters, pruner, \
                 created_at, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(id.as_str())
                .bind(&new.experiment)
                .bind(new.name.as_deref())
                .bind(&new.spec_path)
                .bind(&new.source_spec)
                .bind(&new.spec_toml)
                .bind(&new.method)
                .bind(&new.metric)
                .bind(i64::from(new.higher_is_better))
                .bind(i64::from(new.budget))
                .bind(i64::from(new.jobs))
                .bind(seed)
                .bind(&parameters)
                .bind(pruner.as_deref())
                .bind(now())
                .bind(serde_json::Value::from(new.tags.clone()).to_string())
                .execute(&self.pool)
                .await?;
                Ok(id)
            },
        )
        .await
    }

    /// Claims trial `number` of `sweep` with its parameters (a JSON object):
    /// `false` when that number was claimed already, by this process or
    /// another, so a point is never trained twice.
    pub async fn claim_trial(
        &self,
        sweep: &SweepId,
        number: u32,
        params: &serde_json::Value,
    ) -> Result<bool, RegistryError> {
        self.within(
            || format!("claiming trial {number} of sweep {sweep}"),
            async {
                let mut tx = self.begin_write().await?;
                let claimed = sqlx::query(
                    "INSERT INTO sweep_trials (sweep_id, number, params, claimed_at) \
                 SELECT id, $1, $2, $3 FROM sweeps WHERE id = $4 \
                 ON CONFLICT (sweep_id, number) DO NOTHING",
                )
                .bind(i64::from(number))
                .bind(params.to_string())
                .bind(now())
                .bind(sweep.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if !claimed && !sweep_exists(&mut tx, sweep).await? {
                    return Err(self.no_such_sweep(sweep).into());
                }
                tx.commit().await?;
                Ok(claimed)
            },
        )
        .await
    }

    /// Records that claimed trial `number` failed before a run could be
    /// made for it (its spec or model refused the combination): the trial
    /// reads `failed` with `reason`, and no run is left behind.
    pub async fn fail_trial(
        &self,
        sweep: &SweepId,
        number: u32,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.within(
            || format!("recording the failure of trial {number} of sweep {sweep}"),
            async {
                sqlx::query(
                    "UPDATE sweep_trials SET error = $1, run_id = NULL \
                     WHERE sweep_id = $2 AND number = $3",
                )
                .bind(reason)
                .bind(sweep.as_str())
                .bind(i64::from(number))
                .execute(&self.pool)
                .await?;
                Ok(())
            },
        )
        .await
    }

    /// Ends a running run as pruned by a sweep's pruner: stored `killed`
    /// with `pruned_epoch`, its error the reason, its selection value and
    /// best epoch the best so far; read back as [`RunStatus::Pruned`].
    pub async fn prune_run(&self, run: &RunId, pruned: &PrunedRun) -> Result<(), RegistryError> {
        self.within(|| format!("pruning run {run}"), async {
            let ended = now();
            let mut conn = self.pool.acquire().await?;
            let touched = sqlx::query(
                "UPDATE runs SET status = 'killed', pruned_epoch = $1, error = $2, \
                 selection_value = $3, best_epoch = $4, ended_at = $5, heartbeat_at = $6 \
                 WHERE id = $7 AND status = 'running' AND owner = $8",
            )
            .bind(i64::from(pruned.epoch))
            .bind(&pruned.reason)
            .bind(pruned.value)
            .bind(pruned.best_epoch.map(i64::from))
            .bind(&ended)
            .bind(&ended)
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            self.expect_touched(&mut conn, run, touched).await
        })
        .await
    }

    /// Records (or replaces) the cross-validation of one trial.
    pub async fn record_confirmation(
        &self,
        sweep: &SweepId,
        confirmation: &NewConfirmation,
    ) -> Result<(), RegistryError> {
        let number = confirmation.number;
        self.within(
            || format!("recording the confirmation of trial {number} of sweep {sweep}"),
            async {
                let mut tx = self.begin_write().await?;
                if !sweep_exists(&mut tx, sweep).await? {
                    return Err(self.no_such_sweep(sweep).into());
                }
                sqlx::query(
                    "INSERT INTO sweep_confirmations (sweep_id, number, folds, metric, mean, std, \
                     group_id, test_value, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (sweep_id, number, folds) DO UPDATE SET metric = excluded.metric, \
                     mean = excluded.mean, std = excluded.std, group_id = excluded.group_id, \
                     test_value = excluded.test_value, created_at = excluded.created_at",
                )
                .bind(sweep.as_str())
                .bind(i64::from(number))
                .bind(i64::from(confirmation.folds))
                .bind(&confirmation.metric)
                .bind(confirmation.mean.and_then(real))
                .bind(confirmation.std.and_then(real))
                .bind(&confirmation.group_id)
                .bind(confirmation.test_value.and_then(real))
                .bind(now())
                .execute(&mut *tx)
                .await?;
                Ok(tx.commit().await?)
            },
        )
        .await
    }

    /// One sweep with its trials (one query, joined with their runs) and
    /// confirmations, read in one snapshot.
    pub async fn sweep(&self, id: &SweepId) -> Result<SweepRecord, RegistryError> {
        self.within(|| format!("reading sweep {id}"), async {
            let mut tx = self.pool.begin().await?;
            let row = sqlx::query(
                "SELECT id, experiment, name, spec_path, source_spec, spec_toml, method, metric, \
                 higher_is_better, budget, jobs, seed, parameters, pruner, created_at, archived_at, \
                 tags FROM sweeps WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| self.no_such_sweep(id))?;
            // One row holding every trial as JSON: sqlx hands SQLite's rows
            // from its worker thread one at a time, which cost more than the
            // query itself at 10,000 trials.
            let columns = format!(
                "t.number, {params}, t.run_id, t.attempts, runs.name, runs.selection_value, \
                 runs.epochs_run, runs.pruned_epoch, COALESCE(runs.error, t.error), t.error, \
                 runs.started_at, runs.ended_at, {STATUS_SQL}",
                params = match self.backend {
                    Backend::Sqlite => "json(t.params)",
                    Backend::Postgres => "t.params::json",
                }
            );
            let sql = match self.backend {
                Backend::Sqlite => format!(
                    "SELECT json_group_array(json_array({columns})) FROM \
                     (SELECT * FROM sweep_trials WHERE sweep_id = $1 ORDER BY number) t \
                     LEFT JOIN runs INDEXED BY runs_trial_view ON runs.id = t.run_id"
                ),
                Backend::Postgres => format!(
                    "SELECT COALESCE(json_agg(json_build_array({columns}) ORDER BY t.number), \
                     '[]')::text FROM sweep_trials t LEFT JOIN runs ON runs.id = t.run_id \
                     WHERE t.sweep_id = $1"
                ),
            };
            let trials_json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            let run_ids = crate::short_ids::ids_of(&mut tx, self.backend, "runs").await?;
            let run_short_ids = ShortIds::of(&run_ids);
            let sweep_ids = crate::short_ids::ids_of(&mut tx, self.backend, "sweeps").await?;
            let confirmations = sqlx::query(
                "SELECT number, folds, metric, mean, std, group_id, test_value, created_at \
                 FROM sweep_confirmations WHERE sweep_id = $1 ORDER BY number, folds",
            )
            .bind(id.as_str())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let rows: Vec<TrialRow> = serde_json::from_str(&trials_json)
                .map_err(|e| self.sweep_corrupt(id, format!("unreadable trials: {e}")))?;
            let mut trials = rows
                .into_iter()
                .map(|row| self.decode_trial_row(id, row, &run_short_ids))
                .collect::<Result<Vec<_>, _>>()?;
            trials.sort_by_key(|t| t.number);
            let confirmations = confirmations
                .iter()
                .map(|r| self.decode_confirmation(r))
                .collect::<Result<Vec<_>, _>>()?;
            let seed: i64 = self.get(&row, "seed")?;
            Ok(SweepRecord {
                short_id: ShortIds::of(&sweep_ids).get(&RunId::from_db(id.to_string())),
                id: id.clone(),
                name: self.get(&row, "name")?,
                experiment: self.get(&row, "experiment")?,
                created_at: self.get(&row, "created_at")?,
                archived_at: self.get(&row, "archived_at")?,
                method: self.get(&row, "method")?,
                metric: self.get(&row, "metric")?,
                higher_is_better: self.get::<i64>(&row, "higher_is_better")? != 0,
                budget: self.sweep_u32(&row, "budget")?,
                jobs: self.sweep_u32(&row, "jobs")?,
                seed: u64::try_from(seed)
                    .map_err(|_| self.sweep_corrupt(id, format!("seed {seed}")))?,
                parameters: self.json(&row, "parameters")?,
                pruner: match self.get::<Option<String>>(&row, "pruner")? {
                    Some(text) => Some(self.parse_json(&text, "pruner")?),
                    None => None,
                },
                spec_path: self.get(&row, "spec_path")?,
                source_spec: self.get(&row, "source_spec")?,
                spec_toml: self.get(&row, "spec_toml")?,
                tags: match self.get::<Option<String>>(&row, "tags")? {
                    Some(text) => serde_json::from_str(&text)
                        .map_err(|_| self.sweep_corrupt(id, format!("tags {text}")))?,
                    None => Vec::new(),
                },
                trials,
                confirmations,
            })
        })
        .await
    }

    /// The sweeps (of an experiment, when the filter names one), newest
    /// first, each with its trial counts and best completed value: one
    /// query, aggregated by SQL (a sweep of 10,000 trials is one row).
    /// The counts follow [`TrialState`]'s derivation from the run status.
    pub async fn sweeps(&self, filter: &SweepFilter) -> Result<Vec<SweepSummary>, RegistryError> {
        const PRUNED: &str = "runs.status = 'killed' AND runs.pruned_epoch IS NOT NULL";
        let best = |column: &str| {
            format!(
                "(SELECT {column} FROM sweep_trials b JOIN runs r ON r.id = b.run_id \
                 WHERE b.sweep_id = s.id AND r.status = 'completed' \
                 AND r.selection_value IS NOT NULL ORDER BY CASE WHEN r.selection_higher_is_better = 1 \
                 THEN -r.selection_value ELSE r.selection_value END, b.number LIMIT 1)"
            )
        };
        let mut sql = Sql::new(format!(
            "SELECT s.id, s.experiment, s.name, s.method, s.metric, s.higher_is_better, \
             s.created_at, s.budget, \
             SUM(CASE WHEN t.number IS NOT NULL AND runs.id IS NULL AND t.attempts = 0 \
             AND t.error IS NULL THEN 1 ELSE 0 END) AS pending, \
             SUM(CASE WHEN t.number IS NOT NULL AND runs.id IS NULL AND t.attempts > 0 \
             AND t.error IS NULL THEN 1 ELSE 0 END) AS deleted, \
             SUM(CASE WHEN runs.status IN ('queued', 'running') THEN 1 ELSE 0 END) AS running, \
             SUM(CASE WHEN runs.status = 'completed' THEN 1 ELSE 0 END) AS completed, \
             SUM(CASE WHEN {PRUNED} THEN 1 ELSE 0 END) AS pruned, \
             SUM(CASE WHEN runs.status = 'failed' OR (runs.id IS NULL AND t.error IS NOT NULL) \
             THEN 1 ELSE 0 END) AS failed, \
             SUM(CASE WHEN runs.status = 'crashed' OR (runs.status = 'killed' \
             AND runs.pruned_epoch IS NULL) THEN 1 ELSE 0 END) AS interrupted, \
             {} AS best_trial, {} AS best_value \
             FROM sweeps s LEFT JOIN sweep_trials t ON t.sweep_id = s.id \
             LEFT JOIN runs ON runs.id = t.run_id WHERE 1 = 1",
            best("b.number"),
            best("r.selection_value"),
        ));
        if let Some(experiment) = &filter.experiment {
            sql.push(" AND s.experiment = ")
                .push_bind(experiment.clone());
        }
        sql.push(
            " GROUP BY s.id, s.experiment, s.name, s.method, s.metric, s.higher_is_better, \
             s.created_at, s.budget ORDER BY s.created_at DESC, s.id DESC",
        );
        let (rows, sweep_ids) = self
            .within(|| "listing sweeps", async {
                let mut tx = self.pool.begin().await?;
                let rows = sql.build().fetch_all(&mut *tx).await?;
                let ids = crate::short_ids::ids_of(&mut tx, self.backend, "sweeps").await?;
                tx.commit().await?;
                Ok((rows, ids))
            })
            .await?;
        let short_ids = ShortIds::of(&sweep_ids);
        let mut summaries = Vec::with_capacity(rows.len());
        for row in &rows {
            let sweep = SweepId::from_db(self.get(row, "id")?);
            let count = |column: &str| -> Result<u32, RegistryError> {
                let v: Option<i64> = self.get(row, column)?;
                u32::try_from(v.unwrap_or(0))
                    .map_err(|_| self.sweep_corrupt(&sweep, format!("{column} count")))
            };
            let counts = TrialCounts {
                pending: count("pending")?,
                running: count("running")?,
                completed: count("completed")?,
                pruned: count("pruned")?,
                failed: count("failed")?,
                interrupted: count("interrupted")?,
                deleted: count("deleted")?,
            };
            let budget = self.sweep_u32(row, "budget")?;
            summaries.push(SweepSummary {
                short_id: short_ids.get(&RunId::from_db(sweep.to_string())),
                name: self.get(row, "name")?,
                experiment: self.get(row, "experiment")?,
                method: self.get(row, "method")?,
                metric: self.get(row, "metric")?,
                higher_is_better: self.get::<i64>(row, "higher_is_better")? != 0,
                created_at: self.get(row, "created_at")?,
                budget,
                state: SweepState::of(&counts, budget),
                counts,
                best_value: self.get(row, "best_value")?,
                best_trial: self
                    .get::<Option<i64>>(row, "best_trial")?
                    .map(u32::try_from)
                    .transpose()
                    .map_err(|_| self.sweep_corrupt(&sweep, "best trial".to_owned()))?,
                id: sweep,
            });
        }
        Ok(summaries)
    }

    /// The sweep named by `text`: `latest` (the newest sweep), a full id,
    /// a sweep's name, or the one sweep whose id or short id starts with it
    /// (4 characters at least for a short id).
    pub async fn resolve_sweep(&self, text: &str) -> Result<SweepId, RegistryError> {
        let wanted = text.trim();
        let unknown = |reason: String| RegistryError::UnknownSweep {
            selector: wanted.to_owned(),
            reason,
        };
        if wanted.is_empty() {
            return Err(unknown("an empty sweep id matches nothing".to_owned()));
        }
        let rows: Vec<(String, Option<String>)> = self
            .within(|| "resolving a sweep", async {
                Ok(
                    sqlx::query_as("SELECT id, name FROM sweeps ORDER BY created_at DESC, id DESC")
                        .fetch_all(&self.pool)
                        .await?,
                )
            })
            .await?;
        if wanted == "latest" {
            return rows
                .into_iter()
                .next()
                .map(|(id, _)| SweepId::from_db(id))
                .ok_or_else(|| unknown(format!("no sweep in {}", self.db_path.display())));
        }
        let lower = wanted.to_ascii_lowercase();
        if let Some((id, _)) = rows
            .iter()
            .find(|(id, name)| *id == lower || name.as_deref() == Some(wanted))
        {
            return Ok(SweepId::from_db(id.clone()));
        }
        let mut matches: Vec<&String> = rows
            .iter()
            .map(|(id, _)| id)
            .filter(|id| id.starts_with(&lower) || starts_short_id(id, &lower))
            .collect();
        match matches.len() {
            0 => Err(unknown(format!(
                "no sweep has that name and no sweep id or short id starts with it in {}",
                self.db_path.display()
            ))),
            1 => Ok(SweepId::from_db(matches.remove(0).clone())),
            _ => {
                let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
                let short_ids = ShortIds::of(&ids);
                Err(RegistryError::AmbiguousSweep {
                    prefix: wanted.to_owned(),
                    matches: matches
                        .into_iter()
                        .map(|id| {
                            let short = short_ids.get(&RunId::from_db(id.clone()));
                            format!("{short} ({id})")
                        })
                        .collect(),
                })
            }
        }
    }

    /// The run `selector` names among the trials of `sweep`: `best` is the
    /// best completed trial by its selection value (a pruned one only when
    /// none completed), `best:<metric>` the completed trial with the best
    /// final value of that metric, `latest` the trial run started last;
    /// an id, alias or name resolves as everywhere and must be a trial of
    /// the sweep.
    pub async fn resolve_in_sweep(
        &self,
        selector: &RunSelector,
        sweep: &SweepId,
    ) -> Result<RunId, RegistryError> {
        let unknown = |reason: String| RegistryError::UnknownRun {
            selector: selector.to_string(),
            reason,
        };
        let mut sql = Sql::new("SELECT runs.id FROM sweep_trials t ");
        match selector {
            RunSelector::Best => {
                sql.push(format!(
                    "JOIN runs ON runs.id = t.run_id WHERE {STATUS_SQL} IN ('completed', 'pruned') \
                     AND runs.selection_value IS NOT NULL AND runs.archived_at IS NULL \
                     AND t.sweep_id = "
                ))
                .push_bind(sweep.to_string())
                .push(format!(
                    " ORDER BY {STATUS_SQL} = 'pruned', \
                     CASE WHEN runs.selection_higher_is_better = 1 \
                     THEN -runs.selection_value ELSE runs.selection_value END ASC, \
                     t.number ASC LIMIT 1"
                ));
            }
            RunSelector::BestBy {
                split,
                metric,
                higher_is_better,
            } => {
                sql.push(
                    "JOIN runs ON runs.id = t.run_id JOIN final_metrics f \
                     ON f.run_id = runs.id AND f.split = ",
                )
                .push_bind(split.clone())
                .push(" AND f.metric = ")
                .push_bind(metric.clone())
                .push(
                    " WHERE runs.status = 'completed' AND f.value IS NOT NULL \
                     AND runs.archived_at IS NULL AND t.sweep_id = ",
                )
                .push_bind(sweep.to_string())
                .push(if *higher_is_better {
                    " ORDER BY f.value DESC"
                } else {
                    " ORDER BY f.value ASC"
                })
                .push(", t.number ASC LIMIT 1");
            }
            RunSelector::Latest => {
                sql.push(
                    "JOIN runs ON runs.id = t.run_id WHERE runs.archived_at IS NULL \
                     AND t.sweep_id = ",
                )
                .push_bind(sweep.to_string())
                .push(" ORDER BY runs.started_at DESC, runs.id DESC LIMIT 1");
            }
            RunSelector::Id(_) => {
                let run = self.resolve(selector, None).await?;
                sql.push("JOIN runs ON runs.id = t.run_id WHERE t.sweep_id = ")
                    .push_bind(sweep.to_string())
                    .push(" AND runs.id = ")
                    .push_bind(run.to_string());
            }
        }
        let found: Option<String> = self
            .within(|| format!("resolving {selector} in sweep {sweep}"), async {
                Ok(sql.build_query_scalar().fetch_optional(&self.pool).await?)
            })
            .await?;
        found.map(RunId::from_db).ok_or_else(|| {
            unknown(match selector {
                RunSelector::Id(_) => format!("it is not a trial of sweep {sweep}"),
                RunSelector::BestBy { .. } => {
                    format!("no completed trial of sweep {sweep} recorded that metric")
                }
                _ => format!("no trial of sweep {sweep} has ended with a value yet"),
            })
        })
    }

    /// Each trial's value of the sweep's metric per epoch (from its
    /// current run), by trial number then epoch: what a pruner needs after
    /// a resume. Trials without a run or epochs are left out.
    pub async fn trial_curves(
        &self,
        sweep: &SweepId,
    ) -> Result<Vec<(u32, Vec<(u32, f64)>)>, RegistryError> {
        let rows = self
            .within(|| format!("reading the curves of sweep {sweep}"), async {
                let metric: Option<String> =
                    sqlx::query_scalar("SELECT metric FROM sweeps WHERE id = $1")
                        .bind(sweep.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                let metric = metric.ok_or_else(|| self.no_such_sweep(sweep))?;
                let (split, name) = split_metric(&metric);
                Ok(sqlx::query_as::<_, (i64, i64, Option<f64>)>(
                    "SELECT t.number, e.epoch, e.value FROM sweep_trials t \
                     JOIN epoch_metrics e ON e.run_id = t.run_id \
                     WHERE t.sweep_id = $1 AND e.split = $2 AND e.metric = $3 \
                     ORDER BY t.number, e.epoch",
                )
                .bind(sweep.as_str())
                .bind(split)
                .bind(name)
                .fetch_all(&self.pool)
                .await?)
            })
            .await?;
        let mut curves: Vec<(u32, Vec<(u32, f64)>)> = Vec::new();
        for (number, epoch, value) in rows {
            let number = u32::try_from(number)
                .map_err(|_| self.sweep_corrupt(sweep, format!("trial {number}")))?;
            let epoch = u32::try_from(epoch)
                .map_err(|_| self.sweep_corrupt(sweep, format!("epoch {epoch}")))?;
            let value = value.unwrap_or(f64::NAN);
            match curves.last_mut() {
                Some((n, curve)) if *n == number => curve.push((epoch, value)),
                _ => curves.push((number, vec![(epoch, value)])),
            }
        }
        Ok(curves)
    }

    /// A trial of [`Registry::sweep`]'s JSON (see [`TrialRow`]).
    fn decode_trial_row(
        &self,
        sweep: &SweepId,
        row: TrialRow,
        short_ids: &ShortIds,
    ) -> Result<TrialRecord, RegistryError> {
        let TrialRow(
            number,
            params,
            run_id,
            attempts,
            run_name,
            value,
            epochs,
            pruned_epoch,
            error,
            trial_error,
            started_at,
            ended_at,
            status,
        ) = row;
        let whole = |value: i64, what: &str| {
            u32::try_from(value).map_err(|_| self.sweep_corrupt(sweep, format!("{what} {value}")))
        };
        let status = status
            .map(|s| {
                RunStatus::from_db(&s)
                    .ok_or_else(|| self.sweep_corrupt(sweep, format!("status '{s}'")))
            })
            .transpose()?;
        let attempts = whole(attempts, "attempts")?;
        let run_id = run_id.map(RunId::from_db);
        Ok(TrialRecord {
            number: whole(number, "trial")?,
            params,
            run_short_id: run_id.as_ref().map(|id| short_ids.get(id)),
            run_name,
            state: TrialState::of(status, attempts, trial_error.is_some()),
            value,
            epochs: epochs.map_or(Ok(0), |e| whole(e, "epochs_run"))?,
            pruned_epoch: pruned_epoch.map(|e| whole(e, "pruned_epoch")).transpose()?,
            error,
            started_at,
            ended_at,
            attempts,
            run_id,
        })
    }

    fn decode_confirmation(&self, row: &AnyRow) -> Result<Confirmation, RegistryError> {
        Ok(Confirmation {
            confirmation: NewConfirmation {
                number: self.sweep_u32(row, "number")?,
                folds: self.sweep_u32(row, "folds")?,
                metric: self.get(row, "metric")?,
                mean: self.get(row, "mean")?,
                std: self.get(row, "std")?,
                group_id: self.get(row, "group_id")?,
                test_value: self.get(row, "test_value")?,
            },
            created_at: self.get(row, "created_at")?,
        })
    }

    fn sweep_u32(&self, row: &AnyRow, column: &str) -> Result<u32, RegistryError> {
        let v: i64 = self.get(row, column)?;
        u32::try_from(v).map_err(|_| self.corrupt_sweep_row(&format!("{column} = {v}")))
    }

    fn json(&self, row: &AnyRow, column: &str) -> Result<serde_json::Value, RegistryError> {
        let text: String = self.get(row, column)?;
        self.parse_json(&text, column)
    }

    fn parse_json(&self, text: &str, column: &str) -> Result<serde_json::Value, RegistryError> {
        serde_json::from_str(text)
            .map_err(|e| self.corrupt_sweep_row(&format!("{column} is not JSON ({e})")))
    }

    fn corrupt_sweep_row(&self, detail: &str) -> RegistryError {
        RegistryError::Corrupt {
            path: self.db_path.clone(),
            detail: format!("a sweep row holds {detail}"),
        }
    }

    fn sweep_corrupt(&self, sweep: &SweepId, detail: String) -> RegistryError {
        RegistryError::Corrupt {
            path: self.db_path.clone(),
            detail: format!("sweep {sweep} holds {detail}"),
        }
    }

    fn no_such_sweep(&self, sweep: &SweepId) -> RegistryError {
        RegistryError::UnknownSweep {
            selector: sweep.to_string(),
            reason: format!("no such sweep in {}", self.db_path.display()),
        }
    }
}

/// Links the run `run` just inserted to its trial, in the transaction that
/// inserts it: the trial's current run, one more attempt. A trial that was
/// never claimed is refused (the run is not created).
pub(crate) async fn link_trial(
    conn: &mut AnyConnection,
    trial: &TrialLink,
    run: &RunId,
) -> Result<(), Fault> {
    let touched = sqlx::query(
        "UPDATE sweep_trials SET run_id = $1, attempts = attempts + 1, error = NULL \
         WHERE sweep_id = $2 AND number = $3",
    )
    .bind(run.as_str())
    .bind(trial.sweep.as_str())
    .bind(i64::from(trial.number))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if touched == 0 {
        return Err(RegistryError::InvalidInput {
            what: format!("a run of trial {} of sweep {}", trial.number, trial.sweep),
            reason: "that trial was never claimed (Registry::claim_trial)".to_owned(),
        }
        .into());
    }
    Ok(())
}

async fn sweep_exists(conn: &mut AnyConnection, sweep: &SweepId) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT 1 FROM sweeps WHERE id = $1")
            .bind(sweep.as_str())
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// `val_r2` → (`validation`, `r2`), as epochs are recorded; a name without
/// a split prefix is taken as a validation metric.
fn split_metric(metric: &str) -> (&'static str, &str) {
    for (prefix, split) in [
        ("val_", "validation"),
        ("train_", "train"),
        ("test_", "test"),
    ] {
        if let Some(name) = metric.strip_prefix(prefix) {
            return (split, name);
        }
    }
    ("validation", metric)
}
