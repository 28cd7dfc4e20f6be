//! A run's resolved spec as `key = value` rows (`run_params`), the keys
//! written the way `--set` takes them ([`pipeline_spec::flatten_spec`]):
//! written with the run's row, filled once for runs recorded before the
//! table existed, read back for `runs --columns`, and checked before
//! `--where` or `--sort` names one, so that a mistyped key is an error with
//! the closest known key rather than a filter that matches nothing.

use crate::sql::Sql;
use std::collections::{BTreeMap, HashMap};

use pipeline_spec::{FlatValue, closest, flatten_spec};
use sqlx::{AnyConnection, Row};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::statement::Fault;
use crate::types::RunId;
use crate::util::ROWS_PER_INSERT;

/// Runs whose rows one transaction of the backfill fills.
const BACKFILL_CHUNK: i64 = 500;

/// The stored form of a value: its number (for numeric comparison and
/// order) and its text as the spec writes it.
fn stored(value: &FlatValue) -> (Option<f64>, String) {
    (value.as_f64().filter(|n| n.is_finite()), value.to_string())
}

/// The value read back from its stored form.
pub(crate) fn from_stored(num: Option<f64>, text: String) -> FlatValue {
    match num {
        Some(n) => text
            .parse::<i64>()
            .map_or(FlatValue::Float(n), FlatValue::Integer),
        None => match text.as_str() {
            "true" => FlatValue::Bool(true),
            "false" => FlatValue::Bool(false),
            _ => FlatValue::Text(text),
        },
    }
}

/// Writes the flattened `spec_toml` of run `run` (in the caller's
/// transaction, beside the run's row).
pub(crate) async fn insert_params(
    conn: &mut AnyConnection,
    run: &RunId,
    spec_toml: &str,
) -> Result<(), sqlx::Error> {
    let flat: Vec<(String, FlatValue)> = flatten_spec(spec_toml).into_iter().collect();
    for chunk in flat.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO run_params (run_id, key, num, text) ");
        sql.push_values(chunk, |mut row, (key, value)| {
            let (num, text) = stored(value);
            row.push_bind(run.as_str())
                .push_bind(key.clone())
                .push_bind(num)
                .push_bind(text);
        });
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// How a `--where` comparison or `--sort` uses a spec key: what is checked
/// before the query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// Compared with a number: the key must hold numbers in some run.
    Number,
    /// Compared with a text: the key must hold text in some run.
    Text,
    /// Sorted on, compared with `none`, or shown as a column.
    Any,
}

impl Registry {
    /// Fills `run_params` for the runs recorded before it existed (listed
    /// in `run_params_pending` by migration 0008), [`BACKFILL_CHUNK`] runs
    /// a transaction. One indexed read when there are none: every open
    /// that can write calls it.
    pub(crate) async fn fill_pending_params(&self) -> Result<(), RegistryError> {
        let context = "filling the spec keys of runs recorded before them";
        let pending: i64 = self
            .within(|| context, async {
                Ok(sqlx::query_scalar(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM run_params_pending) THEN 1 ELSE 0 END",
                )
                .fetch_one(&self.pool)
                .await?)
            })
            .await?;
        if pending == 0 {
            return Ok(());
        }
        loop {
            let filled = self
                .within(|| context, async {
                    let mut tx = self.begin_write().await?;
                    // A write first, so that a concurrent writer makes this
                    // wait on the busy timeout rather than fail; it also
                    // clears what an interrupted fill left.
                    sqlx::query(
                        "DELETE FROM run_params WHERE run_id IN (SELECT run_id FROM \
                             run_params_pending ORDER BY run_id LIMIT $1)",
                    )
                    .bind(BACKFILL_CHUNK)
                    .execute(&mut *tx)
                    .await?;
                    let rows = sqlx::query(
                        "SELECT p.run_id, r.spec_toml FROM run_params_pending p \
                             JOIN runs r ON r.id = p.run_id ORDER BY p.run_id LIMIT $1",
                    )
                    .bind(BACKFILL_CHUNK)
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in &rows {
                        let run = RunId::from_db(row.try_get("run_id")?);
                        let spec: String = row.try_get("spec_toml")?;
                        insert_params(&mut tx, &run, &spec).await?;
                        sqlx::query("DELETE FROM run_params_pending WHERE run_id = $1")
                            .bind(run.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Runs gone since (their rows cascade away) leave nothing behind.
                    if rows.is_empty() {
                        sqlx::query("DELETE FROM run_params_pending")
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(rows.len())
                })
                .await?;
            if filled == 0 {
                return Ok(());
            }
        }
    }

    /// Checks that each spec key is recorded by some run and holds the kind
    /// of value it is compared with. An unknown key is an error naming the
    /// closest recorded one; in a registry without any recorded key (no
    /// runs yet) every key passes, as nothing can match.
    pub(crate) async fn check_spec_keys(
        &self,
        conn: &mut AnyConnection,
        uses: &[(String, KeyUse)],
    ) -> Result<(), Fault> {
        for (key, used) in uses {
            let row = sqlx::query(
                "SELECT MAX(CASE WHEN num IS NOT NULL THEN 1 ELSE 0 END) AS numbers, \
                 MAX(CASE WHEN num IS NULL THEN 1 ELSE 0 END) AS texts \
                 FROM run_params WHERE key = $1",
            )
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
            let numbers = row.try_get::<Option<i64>, _>("numbers")?.map(|n| n != 0);
            let texts = row.try_get::<Option<i64>, _>("texts")?.map(|n| n != 0);
            match (numbers, texts) {
                (None, _) | (_, None) => {
                    if let Some(error) = self.unknown_key(conn, key).await? {
                        return Err(error.into());
                    }
                }
                (Some(true), Some(false)) if *used == KeyUse::Text => {
                    return Err(RegistryError::SpecKey {
                        key: key.clone(),
                        reason: "it holds numbers; compare it with a number (unquoted)".into(),
                        hint: None,
                    }
                    .into());
                }
                (Some(false), Some(true)) if *used == KeyUse::Number => {
                    return Err(RegistryError::SpecKey {
                        key: key.clone(),
                        reason: "it holds text, not numbers".into(),
                        hint: Some("quote the value to compare it as text".into()),
                    }
                    .into());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The error for a key no run records, with the closest recorded key;
    /// none when no run records any key.
    async fn unknown_key(
        &self,
        conn: &mut AnyConnection,
        key: &str,
    ) -> Result<Option<RegistryError>, sqlx::Error> {
        let known: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key FROM run_params")
            .fetch_all(&mut *conn)
            .await?;
        if known.is_empty() {
            return Ok(None);
        }
        let hint = match closest(key, &known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => {
                let sections: Vec<&str> = {
                    let mut s: Vec<&str> = known
                        .iter()
                        .map(|k| k.split('.').next().unwrap_or(k))
                        .collect();
                    s.dedup();
                    s
                };
                format!(
                    "spec keys are written as `--set` takes them (optimizer.learning_rate, \
                     model.layers.0.units); sections recorded: {}",
                    sections.join(", ")
                )
            }
        };
        Ok(Some(RegistryError::SpecKey {
            key: key.to_owned(),
            reason: "no run records it".into(),
            hint: Some(hint),
        }))
    }

    /// Checks spec keys about to be shown as columns: each must be recorded
    /// by some run (see [`Registry::check_spec_keys`]).
    pub async fn check_column_keys(&self, keys: &[String]) -> Result<(), RegistryError> {
        let uses: Vec<(String, KeyUse)> = keys.iter().map(|k| (k.clone(), KeyUse::Any)).collect();
        self.within(|| "checking spec keys", async {
            let mut conn = self.pool.acquire().await?;
            self.check_spec_keys(&mut conn, &uses).await
        })
        .await
    }

    /// The flattened specs of the given runs, by run id.
    pub(crate) async fn params_of(
        &self,
        conn: &mut AnyConnection,
        ids: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, FlatValue>>, RegistryError> {
        let select = "SELECT run_id, key, num, text FROM run_params WHERE run_id IN (";
        let rows = self
            .within(
                || "reading spec keys",
                self.rows_of_runs(conn, ids, select, ")"),
            )
            .await?;
        let mut by_run: HashMap<String, BTreeMap<String, FlatValue>> = HashMap::new();
        for row in &rows {
            let text: String = self.get(row, "text")?;
            by_run.entry(self.get(row, "run_id")?).or_default().insert(
                self.get(row, "key")?,
                from_stored(self.get(row, "num")?, text),
            );
        }
        Ok(by_run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written() {
        for value in [
            FlatValue::Integer(64),
            FlatValue::Float(0.001),
            FlatValue::Float(1.0),
            FlatValue::Bool(true),
            FlatValue::Text("adam".into()),
        ] {
            let (num, text) = stored(&value);
            assert_eq!(from_stored(num, text), value);
        }
    }
}
