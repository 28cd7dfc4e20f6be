//! `best` without `--experiment` once several experiments have runs: the
//! best of the *current* experiment, the one of the most recent run (as
//! MLflow has an active experiment), reported so the caller can say so.

use crate::error::RegistryError;
use crate::open::Registry;
use crate::types::{RunId, RunSelector};

/// A run selector resolved by [`Registry::resolve_current`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub id: RunId,
    /// The experiment `best` was narrowed to because several have
    /// candidates and none was named: the most recent run's. `None` when
    /// the selector needed no narrowing.
    pub current_experiment: Option<String>,
}

impl Registry {
    /// [`Registry::resolve`], except that `best` and `best:<metric>` without
    /// an experiment, where several experiments have candidates, pick within
    /// the experiment of the most recently started run. Where that
    /// experiment has no candidate, the ambiguity stays an error.
    pub async fn resolve_current(
        &self,
        selector: &RunSelector,
        experiment: Option<&str>,
    ) -> Result<Resolved, RegistryError> {
        let best = matches!(selector, RunSelector::Best | RunSelector::BestBy { .. });
        match self.resolve(selector, experiment).await {
            Ok(id) => Ok(Resolved {
                id,
                current_experiment: None,
            }),
            Err(ambiguous @ RegistryError::AmbiguousExperiment { .. })
                if best && experiment.is_none() =>
            {
                let Some(current) = self.current_experiment().await? else {
                    return Err(ambiguous);
                };
                match self.resolve(selector, Some(&current)).await {
                    Ok(id) => Ok(Resolved {
                        id,
                        current_experiment: Some(current),
                    }),
                    Err(RegistryError::UnknownRun { .. }) => Err(ambiguous),
                    Err(other) => Err(other),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The experiment of the most recently started run, if any run exists.
    pub async fn current_experiment(&self) -> Result<Option<String>, RegistryError> {
        self.within(|| "reading the latest run's experiment", async {
            Ok(sqlx::query_scalar(
                "SELECT experiment FROM runs ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?)
        })
        .await
    }
}
