//! What people attach to runs to find them again: tags, a note, and aliases
//! (`production` → a run) whose every assignment is kept as history.

use crate::sql::Sql;
use sqlx::{Any, AnyConnection, Row};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::types::{AliasRecord, RunId};
use crate::util::now;

/// Longest tag or alias name accepted.
const MAX_LABEL: usize = 64;

/// The start of the tag (`fold:I/K`) that marks the run of one fold of a
/// cross-validation: trained on part of the data and validated on its own
/// fold, so its selection value does not compare with a whole run's, and
/// `best` never picks it.
pub const FOLD_TAG_PREFIX: &str = "fold:";

/// Words that already mean something where a run is named.
const RESERVED: [&str; 2] = ["latest", "best"];

/// A tag: 1–64 characters of letters, digits, `_`, `-`, `.`, `:` or `/`;
/// one that starts with [`FOLD_TAG_PREFIX`] is a fold's `fold:I/K` (it
/// keeps a run from being `best`).
pub(crate) fn check_tag(tag: &str) -> Result<(), RegistryError> {
    check_label("tag", tag, "_-.:/")?;
    if let Some(rest) = tag.strip_prefix(FOLD_TAG_PREFIX) {
        let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !rest
            .split_once('/')
            .is_some_and(|(i, k)| number(i) && number(k))
        {
            return Err(RegistryError::InvalidInput {
                what: format!("tag {tag:?}"),
                reason: format!(
                    "tags starting with `{FOLD_TAG_PREFIX}` are reserved for the folds of a \
                     cross-validation (`{FOLD_TAG_PREFIX}I/K`, never `best`); pick another word"
                ),
            });
        }
    }
    Ok(())
}

/// An alias: starts with a letter, then letters, digits, `_`, `-` or `.`;
/// not `latest` or `best`. Aliases are resolved before id prefixes, so they
/// must not look like an id.
fn check_alias(name: &str) -> Result<(), RegistryError> {
    check_label("alias", name, "_-.")?;
    let invalid = |reason: &str| RegistryError::InvalidInput {
        what: format!("alias {name:?}"),
        reason: reason.to_owned(),
    };
    if !name.starts_with(|c: char| c.is_alphabetic()) {
        return Err(invalid("an alias starts with a letter"));
    }
    if RESERVED.contains(&name) {
        return Err(invalid("`latest` and `best` are reserved selectors"));
    }
    if name.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(invalid(
            "it could be read as a run id prefix; add a letter outside a-f",
        ));
    }
    Ok(())
}

/// Non-empty, at most `MAX_LABEL` characters, letters, digits and `extra`.
pub(crate) fn check_label(what: &str, text: &str, extra: &str) -> Result<(), RegistryError> {
    let reason = if text.is_empty() {
        Some("it is empty".to_owned())
    } else if text.chars().count() > MAX_LABEL {
        Some(format!("it is longer than {MAX_LABEL} characters"))
    } else {
        text.chars()
            .find(|c| !c.is_alphanumeric() && !extra.contains(*c))
            .map(|c| format!("{c:?} is not allowed (letters, digits and {extra} only)"))
    };
    match reason {
        Some(reason) => Err(RegistryError::InvalidInput {
            what: format!("{what} {text:?}"),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks every tag of a run before any is stored ([`check_tag`]).
pub(crate) fn check_tags(tags: &[String]) -> Result<(), RegistryError> {
    tags.iter().try_for_each(|tag| check_tag(tag))
}

/// Adds `tags` to `run` (checked with [`check_tags`]); a tag it already has
/// is kept once.
pub(crate) async fn insert_tags(
    conn: &mut AnyConnection,
    run: &RunId,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    for tag in tags {
        sqlx::query("INSERT INTO run_tags (run_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(run.as_str())
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Registry {
    /// Adds tags to a run (tags it already has are kept once).
    pub async fn add_tags(&self, run: &RunId, tags: &[String]) -> Result<(), RegistryError> {
        check_tags(tags)?;
        self.within(|| format!("tagging run {run}"), async {
            let mut tx = self.begin_write().await?;
            insert_tags(&mut tx, run, tags).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    /// Removes tags from a run; returns how many it had.
    pub async fn remove_tags(&self, run: &RunId, tags: &[String]) -> Result<u64, RegistryError> {
        let mut sql = Sql::new("DELETE FROM run_tags WHERE run_id = ");
        sql.push_bind(run.as_str().to_owned()).push(" AND tag IN (");
        let mut list = sql.separated(", ");
        for tag in tags {
            list.push_bind(tag.clone());
        }
        sql.push(")");
        if tags.is_empty() {
            return Ok(0);
        }
        self.within(|| format!("untagging run {run}"), async {
            Ok(sql.build().execute(&self.pool).await?.rows_affected())
        })
        .await
    }

    /// Sets (or with `None` clears) the run's note.
    pub async fn set_note(&self, run: &RunId, note: Option<&str>) -> Result<(), RegistryError> {
        self.within(|| format!("setting the note of run {run}"), async {
            sqlx::query("UPDATE runs SET note = $1 WHERE id = $2")
                .bind(note)
                .bind(run.as_str())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Points alias `name` at `run`, closing the previous assignment; returns
    /// the run that held it before (`None` if none, or if it was `run`
    /// already, in which case nothing changes).
    pub async fn set_alias(&self, name: &str, run: &RunId) -> Result<Option<RunId>, RegistryError> {
        check_alias(name)?;
        self.within(|| format!("setting alias {name} to run {run}"), async {
            let mut tx = self.begin_write().await?;
            // A write first, so concurrent writers queue on the busy timeout
            // instead of failing a read-to-write lock upgrade.
            let at = now();
            sqlx::query("UPDATE runs SET heartbeat_at = heartbeat_at WHERE id = $1")
                .bind(run.as_str())
                .execute(&mut *tx)
                .await?;
            let previous = current_alias(&mut *tx, name).await?;
            if previous.as_deref() == Some(run.as_str()) {
                return Ok(None);
            }
            sqlx::query("UPDATE aliases SET unset_at = $1 WHERE name = $2 AND unset_at IS NULL")
                .bind(&at)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO aliases (name, run_id, set_at) VALUES ($1, $2, $3)")
                .bind(name)
                .bind(run.as_str())
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(previous.map(RunId::from_db))
        })
        .await
    }

    /// Removes alias `name` (its history is kept); returns the run that held it.
    pub async fn remove_alias(&self, name: &str) -> Result<RunId, RegistryError> {
        let held: Option<String> = self
            .within(|| format!("removing alias {name}"), async {
                Ok(sqlx::query_scalar(
                    "UPDATE aliases SET unset_at = $1 WHERE name = $2 AND unset_at IS NULL \
                     RETURNING run_id",
                )
                .bind(now())
                .bind(name)
                .fetch_optional(&self.pool)
                .await?)
            })
            .await?;
        held.map(RunId::from_db)
            .ok_or_else(|| RegistryError::UnknownRun {
                selector: name.to_owned(),
                reason: "no such alias".to_owned(),
            })
    }

    /// The current aliases, by name.
    pub async fn aliases(&self) -> Result<Vec<AliasRecord>, RegistryError> {
        self.alias_rows(
            "SELECT name, run_id, set_at, unset_at FROM aliases WHERE unset_at IS NULL \
             ORDER BY name",
            None,
        )
        .await
    }

    /// Every assignment of alias `name`, oldest first.
    pub async fn alias_history(&self, name: &str) -> Result<Vec<AliasRecord>, RegistryError> {
        self.alias_rows(
            "SELECT name, run_id, set_at, unset_at FROM aliases WHERE name = $1 \
             ORDER BY set_at, rowid",
            Some(name),
        )
        .await
    }

    async fn alias_rows(
        &self,
        sql: &'static str,
        name: Option<&str>,
    ) -> Result<Vec<AliasRecord>, RegistryError> {
        let mut query = sqlx::query(sql);
        if let Some(name) = name {
            query = query.bind(name);
        }
        let rows = self
            .within(|| "reading aliases", async {
                Ok(query.fetch_all(&self.pool).await?)
            })
            .await?;
        rows.iter()
            .map(|r| {
                let get = |c: &str| {
                    r.try_get::<Option<String>, _>(c)
                        .map_err(|e| self.query_error(format!("decoding alias column {c}"), e))
                };
                Ok(AliasRecord {
                    name: get("name")?.unwrap_or_default(),
                    run_id: RunId::from_db(get("run_id")?.unwrap_or_default()),
                    set_at: get("set_at")?.unwrap_or_default(),
                    unset_at: get("unset_at")?,
                })
            })
            .collect()
    }

    /// The run alias `name` points at now, if it exists.
    pub(crate) async fn alias_target(&self, name: &str) -> Result<Option<RunId>, RegistryError> {
        self.within(|| format!("resolving alias {name}"), async {
            Ok(current_alias(&self.pool, name).await?.map(RunId::from_db))
        })
        .await
    }
}

/// The run alias `name` points at now (its id as stored), if any.
async fn current_alias<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT run_id FROM aliases WHERE name = $1 AND unset_at IS NULL")
        .bind(name)
        .fetch_optional(executor)
        .await
}
