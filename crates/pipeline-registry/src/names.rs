//! Run names: an optional label a person chooses (`run --name`, `pipeline
//! name RUN NAME`), unique in the registry like a container's name, so a
//! name always selects one run and never needs an ambiguity error.

use crate::error::RegistryError;
use crate::labels::check_label;
use crate::open::Registry;
use crate::types::RunId;

/// A run name: starts with a letter, then letters, digits, `_ - . /`
/// (64 at most); not `latest` or `best`, and not only hex digits and
/// hyphens (it would read as an id). A fold of a named cross-validation is
/// `NAME/fold-I-of-K`.
pub fn check_run_name(name: &str) -> Result<(), RegistryError> {
    check_label("run name", name, "_-./")?;
    let invalid = |reason: &str| RegistryError::InvalidInput {
        what: format!("run name {name:?}"),
        reason: reason.to_owned(),
    };
    if !name.starts_with(|c: char| c.is_alphabetic()) {
        return Err(invalid("a run name starts with a letter"));
    }
    if ["latest", "best"].contains(&name) {
        return Err(invalid("`latest` and `best` are reserved selectors"));
    }
    if name.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(invalid(
            "it could be read as a run id or short id; add a letter outside a-f",
        ));
    }
    Ok(())
}

/// Whether `error` is the unique index on `runs.name` refusing a name.
pub(crate) fn is_name_taken(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation()
        && e.message().contains("name"))
}

impl Registry {
    /// The run named `name`, if any.
    pub(crate) async fn named(&self, name: &str) -> Result<Option<RunId>, RegistryError> {
        self.within(|| format!("looking up run name {name:?}"), async {
            let id: Option<String> = sqlx::query_scalar("SELECT id FROM runs WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
            Ok(id.map(RunId::from_db))
        })
        .await
    }

    /// The error for `name` refused because another run holds it.
    pub(crate) async fn name_taken(&self, name: &str) -> RegistryError {
        let holder = match self.named(name).await {
            Ok(Some(id)) => format!("run {id}"),
            _ => "another run".to_owned(),
        };
        RegistryError::InvalidInput {
            what: format!("run name {name:?}"),
            reason: format!(
                "{holder} already has it (names are unique); pick another, or rename that \
                 run with `pipeline name RUN NEW-NAME`"
            ),
        }
    }

    /// Gives `run` the name `name` (checked by [`check_run_name`]), or with
    /// `None` removes its name. A name another run holds is refused.
    pub async fn set_name(&self, run: &RunId, name: Option<&str>) -> Result<(), RegistryError> {
        if let Some(name) = name {
            check_run_name(name)?;
        }
        let updated = sqlx::query("UPDATE runs SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(run.as_str())
            .execute(&self.pool)
            .await;
        match (updated, name) {
            (Err(e), Some(name)) if is_name_taken(&e) => Err(self.name_taken(name).await),
            (Err(e), _) => Err(self.query_error(format!("naming run {run}"), e)),
            (Ok(done), _) if done.rows_affected() == 0 => Err(RegistryError::UnknownRun {
                selector: run.to_string(),
                reason: "no run has that id".to_owned(),
            }),
            (Ok(_), _) => Ok(()),
        }
    }
}
