//! Copying runs from one registry into another (`pipeline registry push`):
//! a user's local SQLite runs into the team's PostgreSQL registry. A run is
//! copied whole, under its own id: its row, epochs, final metrics, tags,
//! spec keys and artifacts, each artifact's bytes read back verified
//! against its checksum and stored again. A run the target already holds
//! is skipped, so pushing twice copies nothing twice; each run is one
//! transaction on the target, committed after its artifacts are stored.

use sqlx::any::AnyRow;
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::sql::Sql;
use crate::statement::Fault;
use crate::types::RunId;

/// The tables holding a run's rows besides `runs`, copied in this order.
const RUN_TABLES: [&str; 5] = [
    "epoch_metrics",
    "final_metrics",
    "run_tags",
    "run_params",
    "artifacts",
];

/// What [`Registry::push_to`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pushed {
    /// The runs copied, oldest first.
    pub copied: Vec<RunId>,
    /// Runs the target already held.
    pub already_there: usize,
    /// Artifacts copied, and their bytes.
    pub artifacts: usize,
    pub bytes: u64,
}

/// A value read from one registry, to bind into another.
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Registry {
    /// Copies every ended run (completed, failed, killed, crashed) of this
    /// registry that `target` does not hold into `target`, oldest first.
    /// Runs still queued or running are left for a later push.
    pub async fn push_to(&self, target: &Registry) -> Result<Pushed, RegistryError> {
        let ids: Vec<String> = self
            .within(|| "listing the runs to push", async {
                Ok(sqlx::query_scalar(
                    "SELECT id FROM runs WHERE status NOT IN ('queued', 'running') \
                     ORDER BY started_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            })
            .await?;
        let mut pushed = Pushed::default();
        for id in ids {
            let run = RunId::from_db(id);
            let there: Option<i64> = target
                .within(|| format!("looking for run {run}"), async {
                    Ok(sqlx::query_scalar("SELECT 1 FROM runs WHERE id = $1")
                        .bind(run.as_str())
                        .fetch_optional(&target.pool)
                        .await?)
                })
                .await?;
            if there.is_some() {
                pushed.already_there += 1;
                continue;
            }
            let (artifacts, bytes) = self.push_run(target, &run).await?;
            pushed.artifacts += artifacts;
            pushed.bytes += bytes;
            pushed.copied.push(run);
        }
        Ok(pushed)
    }

    /// Copies run `run` into `target`: artifacts first (verified as they
    /// are read), then every row in one transaction.
    async fn push_run(
        &self,
        target: &Registry,
        run: &RunId,
    ) -> Result<(usize, u64), RegistryError> {
        let context = || format!("reading run {run} to push it");
        let runs_row: Vec<AnyRow> = self
            .within(context, async {
                Ok(sqlx::query("SELECT * FROM runs WHERE id = $1")
                    .bind(run.as_str())
                    .fetch_all(&self.pool)
                    .await?)
            })
            .await?;
        let mut tables = Vec::with_capacity(RUN_TABLES.len());
        for table in RUN_TABLES {
            let rows: Vec<AnyRow> = self
                .within(context, async {
                    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT * FROM {table} WHERE run_id = $1"
                    )))
                    .bind(run.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
                .await?;
            tables.push((table, rows));
        }
        let records = self.run(run).await?.artifacts;

        // The target's run row must exist before its artifacts are stored
        // (they belong to it), so the run is first inserted as `running`,
        // then its artifacts stored, then the rest of its rows and its real
        // status committed together. A push that dies halfway leaves a
        // `running` run without heartbeat, which the target's next opening
        // marks crashed, and the next push skips; `pipeline rm` removes it.
        let mut bytes = 0u64;
        let copy_row = |row: &AnyRow, table: &str, running: bool| -> Result<Sql, Fault> {
            let mut sql = Sql::new(format!("INSERT INTO {table} ("));
            let columns: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
            sql.push(columns.join(", ")).push(")");
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                let cell = cell(row, i)?;
                values.push(match (running, *name) {
                    (true, "status") => Cell::Text("running".to_owned()),
                    (true, "ended_at") => Cell::Null,
                    // This push writes its artifacts, as the run's owner.
                    (true, "owner") => Cell::Text(target.owner().to_owned()),
                    _ => cell,
                });
            }
            sql.push_values([values], |mut list, values| {
                for value in values {
                    match value {
                        // A literal: a bound NULL has a type, which
                        // PostgreSQL checks against the column's.
                        Cell::Null => list.push("NULL"),
                        Cell::Int(v) => list.push_bind(v),
                        Cell::Real(v) => list.push_bind(v),
                        Cell::Text(v) => list.push_bind(v),
                        Cell::Blob(v) => list.push_bind(v),
                    };
                }
            });
            Ok(sql)
        };
        let Some(run_row) = runs_row.first() else {
            return Ok((0, 0));
        };
        target
            .within(|| format!("pushing run {run}"), async {
                let mut tx = target.begin_write().await?;
                copy_row(run_row, "runs", true)?
                    .build()
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
            .await?;
        for record in &records {
            let content = self.read_verified(record).await?;
            bytes += content.len() as u64;
            let file = record.path.rsplit('/').next().unwrap_or(&record.path);
            let stored = target
                .write_artifact(run, record.kind, file, &content)
                .await?;
            if stored.sha256 != record.sha256 {
                return Err(RegistryError::ArtifactCorrupt {
                    run: run.to_string(),
                    path: record.path.clone(),
                    expected: format!("sha256 {}", record.sha256),
                    actual: format!("sha256 {} once stored", stored.sha256),
                });
            }
        }
        target
            .within(|| format!("pushing run {run}"), async {
                let mut tx = target.begin_write().await?;
                for (table, rows) in &tables {
                    for row in rows {
                        copy_row(row, table, false)?
                            .build()
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                // Its real ending, now that everything else is there.
                let status: String = run_row.try_get("status")?;
                let ended_at: Option<String> = run_row.try_get("ended_at")?;
                sqlx::query("UPDATE runs SET status = $1, ended_at = $2 WHERE id = $3")
                    .bind(status)
                    .bind(ended_at)
                    .bind(run.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
            .await?;
        Ok((records.len(), bytes))
    }
}

/// Column `i` of `row` as an owned value, by the type of its value.
fn cell(row: &AnyRow, i: usize) -> Result<Cell, Fault> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    Ok(match kind.as_str() {
        "BOOLEAN" => Cell::Int(i64::from(row.try_get::<bool, _>(i)?)),
        "SMALLINT" | "INTEGER" | "BIGINT" => Cell::Int(row.try_get::<i64, _>(i)?),
        "REAL" | "DOUBLE" => Cell::Real(row.try_get::<f64, _>(i)?),
        "BLOB" => Cell::Blob(row.try_get::<Vec<u8>, _>(i)?),
        _ => Cell::Text(row.try_get::<String, _>(i)?),
    })
}
