//! The read side: listing runs, resolving what the user typed ("latest",
//! "best", an id prefix) to one run id, and loading a run with its epochs,
//! final metrics and artifacts. Rows are decoded by hand with checked
//! conversions so a hand-edited database gives an error, not a panic.

use crate::sql::Sql;
use sqlx::any::AnyRow;
use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Row};

use crate::error::RegistryError;
use crate::labels::FOLD_TAG_PREFIX;
use crate::open::Registry;
use crate::short_ids::{ShortIds, starts_short_id};
use crate::statement::Fault;
use crate::types::{
    ArchivedRuns, ArtifactKind, ArtifactRecord, EpochMetric, MetricValue, Overfitting, RunFilter,
    RunId, RunRecord, RunSelector, RunStatus, RunSummary, STATUS_SQL, StoredDiagnosis,
};

/// Columns of `runs` in the order [`Registry::decode_record`] reads them.
const RUN_COLUMNS: &str = "id, experiment, error, spec_toml, spec_hash, source_spec, \
     spec_path, data_path, data_sha256, columns_hash, seed, device, program_version, \
     git_commit, deterministic, queued_at, started_at, ended_at, best_epoch, epochs_run, selection_metric, \
     selection_higher_is_better, selection_value, gap_at_best, test_train_gap, overfit_onset, \
     verdict, verdict_grade, verdict_findings, val_above_min, train_drop, val_recent_drop, skill, \
     weights_digest, note, pid, host, heartbeat_at, failed_on_environment, archived_at, name";

/// How many ids one `IN (…)` list binds.
const IN_CHUNK: usize = 500;

/// Newest first; the id (UUID v7) breaks ties within one millisecond.
const NEWEST_FIRST: &str = " ORDER BY started_at DESC, id DESC";

/// Which per-epoch metrics a run is read with ([`Registry::run_with`]): a
/// run of 20,000 epochs has 220,000 such rows, 1.5 s to read them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epochs {
    /// Every recorded metric of every epoch.
    All,
    /// The `loss` rows of each split: what learning curves and gaps need.
    Losses,
    /// None (`epochs` empty): what predicting, resuming or rerunning needs.
    None,
}

impl Registry {
    /// Runs matching the filter, newest first, each with its final metrics
    /// and tags (read with one query per 500 runs, not one per run).
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>, RegistryError> {
        let context = "listing runs";
        let mut sql = Sql::new(
            "SELECT id, experiment, started_at, ended_at, epochs_run, best_epoch, \
             selection_metric, selection_value, gap_at_best, test_train_gap, overfit_onset, \
             verdict, verdict_grade, verdict_findings, val_above_min, train_drop, val_recent_drop, skill, \
             archived_at, name, note, ",
        );
        sql.push(STATUS_SQL).push(" AS status FROM runs");
        if let Some(key) = &filter.sort {
            key.push_join(&mut sql);
        }
        sql.push(" WHERE 1 = 1");
        sql.push(match filter.archived {
            ArchivedRuns::Hidden => " AND archived_at IS NULL",
            ArchivedRuns::Only => " AND archived_at IS NOT NULL",
            ArchivedRuns::Included => "",
        });
        let keys = crate::filter::spec_key_uses(filter.condition.as_ref(), filter.sort.as_ref());
        if let Some(experiment) = &filter.experiment {
            sql.push(" AND experiment = ").push_bind(experiment.clone());
        }
        if let Some(status) = filter.status {
            sql.push(" AND ");
            crate::filter::push_status_is(&mut sql, status.as_str());
        }
        for tag in &filter.tags {
            sql.push(" AND EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.tag = ")
                .push_bind(tag.clone())
                .push(")");
        }
        if let Some(condition) = &filter.condition {
            sql.push(" AND ");
            condition.push_sql(&mut sql);
        }
        match &filter.sort {
            Some(key) => key.push_sql(&mut sql),
            None => {
                sql.push(NEWEST_FIRST);
            }
        }
        if let Some(limit) = filter.limit {
            sql.push(" LIMIT ").push_bind(i64::from(limit));
        }
        self.within(|| context, async {
            let mut conn = self.pool.begin().await?;
            self.check_spec_keys(&mut conn, &keys).await?;
            let rows = sql.build().fetch_all(&mut *conn).await?;
            let all_ids = crate::short_ids::ids_of(&mut conn, self.backend, "runs").await?;
            let short_ids = ShortIds::of(&all_ids);
            let runs = self.summaries(&mut conn, &rows, &short_ids).await?;
            conn.commit().await?;
            Ok(runs)
        })
        .await
    }

    /// The runs of `rows` (read by [`Registry::list_runs`]) with their
    /// final metrics and tags.
    async fn summaries(
        &self,
        conn: &mut AnyConnection,
        rows: &[AnyRow],
        short_ids: &ShortIds,
    ) -> Result<Vec<RunSummary>, RegistryError> {
        let ids: Vec<String> = rows
            .iter()
            .map(|row| self.get::<String>(row, "id"))
            .collect::<Result<_, _>>()?;
        let mut metrics = self.final_metrics_of(conn, &ids).await?;
        let mut tags = self.tags_of(conn, &ids).await?;
        let mut params = self.params_of(conn, &ids).await?;
        let mut runs = Vec::with_capacity(rows.len());
        for (row, id) in rows.iter().zip(ids) {
            let final_metrics = metrics.remove(&id).unwrap_or_default();
            let run_tags = tags.remove(&id).unwrap_or_default();
            let run_params = params.remove(&id).unwrap_or_default();
            let id = RunId::from_db(id);
            runs.push(RunSummary {
                short_id: short_ids.get(&id),
                name: self.get(row, "name")?,
                note: self.get(row, "note")?,
                status: self.status(row, &id)?,
                experiment: self.get(row, "experiment")?,
                started_at: self.get(row, "started_at")?,
                ended_at: self.get(row, "ended_at")?,
                epochs_run: self.get_u32(row, "epochs_run")?,
                best_epoch: self.get_opt_u32(row, "best_epoch")?,
                selection_metric: self.get(row, "selection_metric")?,
                selection_value: self.get(row, "selection_value")?,
                overfitting: self.overfitting(row)?,
                tags: run_tags,
                final_metrics,
                archived_at: self.get(row, "archived_at")?,
                params: run_params,
                id,
            });
        }
        Ok(runs)
    }

    /// Final metrics of the given runs, by run id, each ordered by split and
    /// metric.
    async fn final_metrics_of(
        &self,
        conn: &mut AnyConnection,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<MetricValue>>, RegistryError> {
        let select = "SELECT run_id, split, metric, value FROM final_metrics WHERE run_id IN (";
        let order = ") ORDER BY run_id, split, metric";
        let rows = self
            .within(
                || "reading final metrics",
                self.rows_of_runs(conn, ids, select, order),
            )
            .await?;
        let mut by_run: HashMap<String, Vec<MetricValue>> = HashMap::new();
        for r in &rows {
            by_run
                .entry(self.get(r, "run_id")?)
                .or_default()
                .push(MetricValue {
                    split: self.get(r, "split")?,
                    metric: self.get(r, "metric")?,
                    value: self.get_value(r)?,
                });
        }
        Ok(by_run)
    }

    /// Tags of the given runs, by run id, each sorted.
    async fn tags_of(
        &self,
        conn: &mut AnyConnection,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, RegistryError> {
        let select = "SELECT run_id, tag FROM run_tags WHERE run_id IN (";
        let order = ") ORDER BY run_id, tag";
        let rows = self
            .within(
                || "reading tags",
                self.rows_of_runs(conn, ids, select, order),
            )
            .await?;
        let mut by_run: HashMap<String, Vec<String>> = HashMap::new();
        for r in &rows {
            by_run
                .entry(self.get(r, "run_id")?)
                .or_default()
                .push(self.get(r, "tag")?);
        }
        Ok(by_run)
    }

    /// The rows of `select` (which ends `run_id IN (`) for the runs `ids`,
    /// [`IN_CHUNK`] ids a statement, each statement closed by `order`.
    pub(crate) async fn rows_of_runs(
        &self,
        conn: &mut AnyConnection,
        ids: &[String],
        select: &'static str,
        order: &'static str,
    ) -> Result<Vec<AnyRow>, Fault> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let mut sql = Sql::new(select);
            let mut list = sql.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            sql.push(order);
            rows.extend(sql.build().fetch_all(&mut *conn).await?);
        }
        Ok(rows)
    }

    fn overfitting(&self, row: &AnyRow) -> Result<Overfitting, RegistryError> {
        Ok(Overfitting {
            gap_at_best: self.get(row, "gap_at_best")?,
            test_train_gap: self.get(row, "test_train_gap")?,
            onset: self.get_opt_u32(row, "overfit_onset")?,
            diagnosis: StoredDiagnosis {
                verdict: self.get(row, "verdict")?,
                verdict_grade: self.get(row, "verdict_grade")?,
                verdict_findings: self
                    .get::<Option<String>>(row, "verdict_findings")?
                    .map(|f| f.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                val_above_min: self.get(row, "val_above_min")?,
                train_drop: self.get(row, "train_drop")?,
                val_recent_drop: self.get(row, "val_recent_drop")?,
                skill: self.get(row, "skill")?,
            },
        })
    }

    /// Resolves a selector to one run id.
    ///
    /// * `Latest`: the most recently started run (any status, not archived).
    /// * `Best`: the completed run with the best `selection_value`, honouring
    ///   each run's `selection_higher_is_better`, among the runs selected by
    ///   the same metric as the newest completed one; newest wins ties. Without an
    ///   experiment, fails with `AmbiguousExperiment` when completed runs of
    ///   several experiments exist. Never the run of a cross-validation's
    ///   fold (tagged [`FOLD_TAG_PREFIX`]`I/K`), nor is `BestBy`.
    /// * `Id`: an exact id, an alias or a run's name (whatever `experiment`
    ///   says), else the one run of `experiment` (all runs when `None`)
    ///   whose id or short id ([`ShortIds`], 4 digits at least) starts with
    ///   it.
    ///
    /// Both `Latest` and `Best` stay within `experiment` when it is given,
    /// and neither (nor `BestBy`) picks an archived run; an `Id` or an
    /// alias names an archived run all the same.
    pub async fn resolve(
        &self,
        selector: &RunSelector,
        experiment: Option<&str>,
    ) -> Result<RunId, RegistryError> {
        let lookup = Lookup {
            selector,
            experiment,
            within: match experiment {
                Some(name) => format!("experiment '{name}'"),
                None => format!("{}", self.db_path.display()),
            },
        };
        match selector {
            RunSelector::Latest => self.resolve_latest(&lookup).await,
            RunSelector::Best => self.resolve_best(&lookup).await,
            RunSelector::BestBy {
                split,
                metric,
                higher_is_better,
            } => {
                self.resolve_best_by(&lookup, split, metric, *higher_is_better)
                    .await
            }
            RunSelector::Id(raw) => self.resolve_id(&lookup, raw).await,
        }
    }

    /// `latest`: the most recently started run of the lookup's scope,
    /// whatever its status, unless archived.
    async fn resolve_latest(&self, lookup: &Lookup<'_>) -> Result<RunId, RegistryError> {
        let mut sql = Sql::new("SELECT id FROM runs WHERE archived_at IS NULL");
        push_experiment(&mut sql, lookup.experiment);
        sql.push(NEWEST_FIRST).push(" LIMIT 1");
        self.first_id(&mut sql, "resolving 'latest'")
            .await?
            .ok_or_else(|| lookup.unknown(format!("no run in {}", lookup.within)))
    }

    /// `best`: the completed run (no fold) with the best selection value
    /// among those chosen by the ranking metric; fails when no experiment is
    /// named and several have candidates.
    async fn resolve_best(&self, lookup: &Lookup<'_>) -> Result<RunId, RegistryError> {
        let experiment = lookup.experiment;
        // The runs `best` picks from: completed, with a selection value, no
        // fold.
        let candidates = |select: &str| {
            let mut sql = Sql::new(format!(
                "SELECT {select} FROM runs \
                 WHERE status = 'completed' AND selection_value IS NOT NULL \
                 AND archived_at IS NULL AND NOT "
            ));
            push_is_fold(&mut sql);
            sql
        };
        if experiment.is_none() {
            let mut sql = candidates("DISTINCT experiment");
            sql.push(" ORDER BY experiment");
            self.one_experiment(lookup, &mut sql, "resolving 'best'")
                .await?;
        }
        // Values of different metrics do not compare: only runs chosen
        // by the ranking metric can be best.
        let mut sql = candidates("id");
        push_experiment(&mut sql, experiment);
        sql.push(" AND selection_metric = ");
        push_ranking_metric(&mut sql, experiment);
        push_rank_order(&mut sql, experiment);
        sql.push(" LIMIT 1");
        self.first_id(&mut sql, "resolving 'best'")
            .await?
            .ok_or_else(|| {
                lookup.unknown(format!(
                    "no completed run in {} (the folds of a cross-validation, \
                     tagged {FOLD_TAG_PREFIX}I/K, are never `best`: name one by id)",
                    lookup.within
                ))
            })
    }

    /// `best:<split>_<metric>`: the completed run (no fold) with the best
    /// final value of that metric, in its direction; fails when no
    /// experiment is named and several recorded it.
    async fn resolve_best_by(
        &self,
        lookup: &Lookup<'_>,
        split: &str,
        metric: &str,
        higher_is_better: bool,
    ) -> Result<RunId, RegistryError> {
        let experiment = lookup.experiment;
        // The completed runs (no fold) that recorded the metric, `f` its
        // final value.
        let candidates = |select: &str| {
            let mut sql = Sql::new(format!(
                "SELECT {select} FROM runs JOIN final_metrics f \
                 ON f.run_id = runs.id AND f.split = "
            ));
            sql.push_bind(split.to_owned())
                .push(" AND f.metric = ")
                .push_bind(metric.to_owned())
                .push(
                    " WHERE runs.status = 'completed' AND f.value IS NOT NULL \
                     AND runs.archived_at IS NULL AND NOT ",
                );
            push_is_fold(&mut sql);
            sql
        };
        // A metric's values compare within one experiment only.
        if experiment.is_none() {
            let mut sql = candidates("DISTINCT runs.experiment");
            sql.push(" ORDER BY runs.experiment");
            self.one_experiment(lookup, &mut sql, "resolving 'best:'")
                .await?;
        }
        let mut sql = candidates("runs.id");
        push_experiment(&mut sql, experiment);
        sql.push(if higher_is_better {
            " ORDER BY f.value DESC"
        } else {
            " ORDER BY f.value ASC"
        });
        sql.push(", runs.started_at DESC, runs.id DESC LIMIT 1");
        self.first_id(&mut sql, "resolving 'best:'")
            .await?
            .ok_or_else(|| {
                lookup.unknown(format!(
                    "no completed run in {} recorded that metric",
                    lookup.within
                ))
            })
    }

    /// An id as typed: the exact id (in any experiment), else an alias,
    /// else the one run of the lookup's scope whose id starts with it.
    async fn resolve_id(&self, lookup: &Lookup<'_>, raw: &str) -> Result<RunId, RegistryError> {
        let wanted = raw.trim().to_ascii_lowercase();
        if wanted.is_empty() {
            return Err(lookup.unknown("an empty run id matches nothing".to_owned()));
        }
        let mut sql = Sql::new("SELECT id FROM runs WHERE id = ");
        sql.push_bind(wanted.clone());
        if let Some(id) = self.fetch_ids(&mut sql, "resolving a run id").await?.pop() {
            return Ok(RunId::from_db(id));
        }
        if let Some(id) = self.alias_target(raw.trim()).await? {
            return Ok(id);
        }
        if let Some(id) = self.named(raw.trim()).await? {
            return Ok(id);
        }
        self.resolve_prefix(lookup, wanted).await
    }

    /// The one run of the lookup's scope whose id or short id starts with
    /// `wanted` (lowercase): none or several are errors, which name every
    /// candidate by its short id.
    async fn resolve_prefix(
        &self,
        lookup: &Lookup<'_>,
        wanted: String,
    ) -> Result<RunId, RegistryError> {
        let mut sql = Sql::new("SELECT id FROM runs WHERE 1 = 1");
        push_experiment(&mut sql, lookup.experiment);
        sql.push(" ORDER BY id");
        let mut matches: Vec<String> = self
            .fetch_ids(&mut sql, "resolving a run id")
            .await?
            .into_iter()
            .filter(|id| id.starts_with(&wanted) || starts_short_id(id, &wanted))
            .collect();
        match matches.len() {
            0 => Err(lookup.unknown(format!(
                "no alias or run has that name and no run id or short id starts with it in {}",
                lookup.within
            ))),
            1 => Ok(RunId::from_db(matches.remove(0))),
            _ => {
                let short_ids = self.short_ids().await?;
                Err(RegistryError::AmbiguousRun {
                    prefix: lookup.selector.to_string(),
                    matches: matches
                        .into_iter()
                        .map(|id| {
                            let id = RunId::from_db(id);
                            format!("{} ({id})", short_ids.get(&id))
                        })
                        .collect(),
                })
            }
        }
    }

    /// The first id `sql` gives, if any.
    async fn first_id(&self, sql: &mut Sql, context: &str) -> Result<Option<RunId>, RegistryError> {
        Ok(self
            .fetch_ids(sql, context)
            .await?
            .into_iter()
            .next()
            .map(RunId::from_db))
    }

    /// Fails with `AmbiguousExperiment` when `sql` (a list of experiment
    /// names) gives more than one.
    async fn one_experiment(
        &self,
        lookup: &Lookup<'_>,
        sql: &mut Sql,
        context: &str,
    ) -> Result<(), RegistryError> {
        let experiments = self.fetch_ids(sql, context).await?;
        if experiments.len() > 1 {
            return Err(RegistryError::AmbiguousExperiment {
                selector: lookup.selector.to_string(),
                experiments,
            });
        }
        Ok(())
    }

    /// The completed runs of `experiment`, best first: the order `best`
    /// picks from (see [`Registry::resolve`]), with runs chosen by another
    /// metric or without a selection value after the rest. A
    /// cross-validation's folds are left out: each validated on its own
    /// slice of the data; archived runs too.
    pub async fn ranked_runs(&self, experiment: &str) -> Result<Vec<RunId>, RegistryError> {
        let mut sql = Sql::new(
            "SELECT id FROM runs WHERE status = 'completed' AND archived_at IS NULL AND NOT ",
        );
        push_is_fold(&mut sql);
        push_experiment(&mut sql, Some(experiment));
        push_rank_order(&mut sql, Some(experiment));
        Ok(self
            .fetch_ids(&mut sql, "ranking runs")
            .await?
            .into_iter()
            .map(RunId::from_db)
            .collect())
    }

    /// Everything recorded about one run, read in one snapshot.
    pub async fn run(&self, id: &RunId) -> Result<RunRecord, RegistryError> {
        self.run_with(id, Epochs::All).await
    }

    /// One run, read in one snapshot, with the per-epoch metrics `with`
    /// says (`epochs` holds those rows).
    pub async fn run_with(&self, id: &RunId, with: Epochs) -> Result<RunRecord, RegistryError> {
        self.within(|| format!("reading run {id}"), async {
            let mut conn = self.pool.begin().await?;
            let record = self.read_run(&mut conn, id, with).await?;
            conn.commit().await?;
            Ok(record)
        })
        .await
    }

    /// [`Registry::run_with`] inside its read transaction.
    async fn read_run(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
        with: Epochs,
    ) -> Result<RunRecord, Fault> {
        let sql = format!("SELECT {RUN_COLUMNS}, {STATUS_SQL} AS status FROM runs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| self.no_such_run(id))?;
        let epochs = match with {
            Epochs::None => Vec::new(),
            _ => self.epochs(conn, id, with).await?,
        };
        let final_metrics = self.final_metrics(conn, id).await?;
        let ids = [id.as_str().to_owned()];
        let tags = self.tags_of(conn, &ids).await?.remove(id.as_str());
        let aliases: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM aliases WHERE run_id = $1 AND unset_at IS NULL ORDER BY name",
        )
        .bind(id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let artifacts = self.artifacts(conn, id).await?;
        let mut record = self.decode_record(&row, epochs, final_metrics, artifacts)?;
        record.tags = tags.unwrap_or_default();
        record.aliases = aliases;
        Ok(record)
    }

    /// The per-epoch metrics of run `id` that `with` asks for.
    async fn epochs(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
        with: Epochs,
    ) -> Result<Vec<EpochMetric>, Fault> {
        let rows = sqlx::query(
            "SELECT epoch, split, metric, value FROM epoch_metrics WHERE run_id = $1 \
             AND ($2 OR metric = 'loss') ORDER BY epoch, split, metric",
        )
        .bind(id.as_str())
        .bind(with == Epochs::All)
        .fetch_all(&mut *conn)
        .await?;
        let mut epochs = Vec::with_capacity(rows.len());
        for r in &rows {
            epochs.push(EpochMetric {
                epoch: self.get_u32(r, "epoch")?,
                split: self.get(r, "split")?,
                metric: self.get(r, "metric")?,
                value: self.get_value(r)?,
            });
        }
        Ok(epochs)
    }

    /// The artifact rows of run `id`, by kind.
    async fn artifacts(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
    ) -> Result<Vec<ArtifactRecord>, Fault> {
        let rows = sqlx::query(
            "SELECT kind, path, sha256, bytes, store FROM artifacts WHERE run_id = $1 ORDER BY kind",
        )
        .bind(id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let mut artifacts = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = self.get(r, "kind")?;
            let kind = ArtifactKind::from_db(&kind).ok_or_else(|| {
                self.corrupt(format!("run {id} has an artifact of kind '{kind}'"))
            })?;
            let bytes: i64 = self.get(r, "bytes")?;
            artifacts.push(ArtifactRecord {
                kind,
                path: self.get(r, "path")?,
                sha256: self.get(r, "sha256")?,
                bytes: u64::try_from(bytes).map_err(|_| {
                    self.corrupt(format!("run {id} has an artifact of size {bytes}"))
                })?,
                store: self.get(r, "store")?,
            });
        }
        Ok(artifacts)
    }

    fn decode_record(
        &self,
        row: &AnyRow,
        epochs: Vec<EpochMetric>,
        final_metrics: Vec<MetricValue>,
        artifacts: Vec<ArtifactRecord>,
    ) -> Result<RunRecord, RegistryError> {
        let id = RunId::from_db(self.get(row, "id")?);
        let seed: i64 = self.get(row, "seed")?;
        let higher: i64 = self.get(row, "selection_higher_is_better")?;
        let pid: Option<i64> = self.get(row, "pid")?;
        let deterministic: Option<i64> = self.get(row, "deterministic")?;
        let failed_on_environment: i64 = self.get(row, "failed_on_environment")?;
        Ok(RunRecord {
            name: self.get(row, "name")?,
            experiment: self.get(row, "experiment")?,
            status: self.status(row, &id)?,
            error: self.get(row, "error")?,
            failed_on_environment: failed_on_environment != 0,
            spec_toml: self.get(row, "spec_toml")?,
            spec_hash: self.get(row, "spec_hash")?,
            source_spec: self.get(row, "source_spec")?,
            spec_path: self.get(row, "spec_path")?,
            data_path: self.get(row, "data_path")?,
            data_sha256: self.get(row, "data_sha256")?,
            columns_hash: self.get(row, "columns_hash")?,
            seed: u64::try_from(seed)
                .map_err(|_| self.corrupt(format!("run {id} has seed {seed}")))?,
            device: self.get(row, "device")?,
            program_version: self.get(row, "program_version")?,
            git_commit: self.get(row, "git_commit")?,
            deterministic: deterministic.map(|d| d != 0),
            queued_at: self.get(row, "queued_at")?,
            started_at: self.get(row, "started_at")?,
            ended_at: self.get(row, "ended_at")?,
            best_epoch: self.get_opt_u32(row, "best_epoch")?,
            epochs_run: self.get_u32(row, "epochs_run")?,
            selection_metric: self.get(row, "selection_metric")?,
            selection_higher_is_better: higher != 0,
            selection_value: self.get(row, "selection_value")?,
            overfitting: self.overfitting(row)?,
            weights_digest: self.get(row, "weights_digest")?,
            note: self.get(row, "note")?,
            tags: Vec::new(),
            aliases: Vec::new(),
            pid: pid
                .map(|p| {
                    u32::try_from(p).map_err(|_| self.corrupt(format!("run {id} has pid {p}")))
                })
                .transpose()?,
            host: self.get(row, "host")?,
            heartbeat_at: self.get(row, "heartbeat_at")?,
            archived_at: self.get(row, "archived_at")?,
            epochs,
            final_metrics,
            artifacts,
            id,
        })
    }

    async fn fetch_ids(&self, sql: &mut Sql, context: &str) -> Result<Vec<String>, RegistryError> {
        self.within(|| context, async {
            let rows = sql.build().fetch_all(&self.pool).await?;
            Ok(rows
                .iter()
                .map(|r| self.get::<String>(r, 0))
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn final_metrics(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
    ) -> Result<Vec<MetricValue>, RegistryError> {
        let rows = self
            .within(|| format!("reading final metrics of run {id}"), async {
                Ok(sqlx::query(
                    "SELECT split, metric, value FROM final_metrics WHERE run_id = $1 \
                     ORDER BY split, metric",
                )
                .bind(id.as_str())
                .fetch_all(&mut *conn)
                .await?)
            })
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MetricValue {
                    split: self.get(r, "split")?,
                    metric: self.get(r, "metric")?,
                    value: self.get_value(r)?,
                })
            })
            .collect()
    }

    pub(crate) fn get<'r, T>(
        &self,
        row: &'r AnyRow,
        column: impl sqlx::ColumnIndex<AnyRow> + std::fmt::Display + Copy,
    ) -> Result<T, RegistryError>
    where
        T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
    {
        row.try_get(column)
            .map_err(|e| self.query_error(format!("decoding column {column}"), e))
    }

    /// A metric value; NULL (how SQLite stores NaN) reads back as NaN.
    fn get_value(&self, row: &AnyRow) -> Result<f64, RegistryError> {
        Ok(self.get::<Option<f64>>(row, "value")?.unwrap_or(f64::NAN))
    }

    fn get_u32(&self, row: &AnyRow, column: &str) -> Result<u32, RegistryError> {
        let v: i64 = self.get(row, column)?;
        u32::try_from(v).map_err(|_| self.corrupt(format!("column {column} holds {v}")))
    }

    fn get_opt_u32(&self, row: &AnyRow, column: &str) -> Result<Option<u32>, RegistryError> {
        let v: Option<i64> = self.get(row, column)?;
        v.map(|v| u32::try_from(v).map_err(|_| self.corrupt(format!("column {column} holds {v}"))))
            .transpose()
    }

    fn status(&self, row: &AnyRow, id: &RunId) -> Result<RunStatus, RegistryError> {
        let s: String = self.get(row, "status")?;
        RunStatus::from_db(&s).ok_or_else(|| self.corrupt(format!("run {id} has status '{s}'")))
    }

    fn corrupt(&self, detail: String) -> RegistryError {
        RegistryError::Corrupt {
            path: self.db_path.clone(),
            detail,
        }
    }
}

/// `(SELECT …)`: the selection metric of the newest completed run that has a
/// selection value (within `experiment` when given): the metric that ranks.
fn push_ranking_metric(sql: &mut Sql, experiment: Option<&str>) {
    sql.push(
        "(SELECT selection_metric FROM runs \
         WHERE status = 'completed' AND selection_value IS NOT NULL \
         AND archived_at IS NULL AND NOT ",
    );
    push_is_fold(sql);
    push_experiment(sql, experiment);
    sql.push(" ORDER BY started_at DESC, id DESC LIMIT 1)");
}

/// Whether the row of `runs` is a cross-validation fold's run (tagged
/// [`FOLD_TAG_PREFIX`]`I/K`): a condition, with bound values.
fn push_is_fold(sql: &mut Sql) {
    sql.push(
        "EXISTS (SELECT 1 FROM run_tags fold WHERE fold.run_id = runs.id \
         AND substr(fold.tag, 1, ",
    )
    .push(FOLD_TAG_PREFIX.len())
    .push(") = ")
    .push_bind(FOLD_TAG_PREFIX)
    .push(")");
}

/// ` ORDER BY …` from best to worst: whole runs before the folds of a
/// cross-validation, runs chosen by the ranking metric first, runs without a
/// selection value last, then by value in each run's direction, newest first
/// on ties.
fn push_rank_order(sql: &mut Sql, experiment: Option<&str>) {
    sql.push(" ORDER BY ");
    push_is_fold(sql);
    sql.push(", selection_metric IS DISTINCT FROM ");
    push_ranking_metric(sql, experiment);
    sql.push(
        ", selection_value IS NULL, \
         CASE WHEN selection_higher_is_better = 1 \
         THEN -selection_value ELSE selection_value END ASC, \
         started_at DESC, id DESC",
    );
}

fn push_experiment(sql: &mut Sql, experiment: Option<&str>) {
    if let Some(name) = experiment {
        sql.push(" AND experiment = ").push_bind(name.to_owned());
    }
}

/// One [`Registry::resolve`] call: the selector as typed, the experiment it
/// stays within, and how its errors name that scope.
struct Lookup<'a> {
    selector: &'a RunSelector,
    experiment: Option<&'a str>,
    /// Where runs were looked for, as errors say it: `experiment 'name'`,
    /// else the database's path.
    within: String,
}

impl Lookup<'_> {
    /// `UnknownRun` for this lookup's selector.
    fn unknown(&self, reason: String) -> RegistryError {
        RegistryError::UnknownRun {
            selector: self.selector.to_string(),
            reason,
        }
    }
}
