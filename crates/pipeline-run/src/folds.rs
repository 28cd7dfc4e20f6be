//! K-fold cross-validation. The spec's test split is held out as a normal
//! run holds it out; the other rows are dealt into K folds (seeded,
//! stratified when the spec's split is), and K runs train one after the
//! other, each validating on one fold with a fresh model. Each fold is a
//! normal run in the registry: its resolved spec says which fold it is
//! (`data.cross_validation`), it is tagged `fold:I/K`, and all K share the
//! tag `cv:GROUP`. They go through the queue ([`train_all`]), so the stop
//! flag and failures end them as any run ends.

use std::sync::atomic::AtomicBool;

use pipeline_registry::FOLD_TAG_PREFIX;
use pipeline_spec::{CrossValidation, LoadedSpec};

use crate::error::RunError;
use crate::fold_report::FoldReport;
use crate::plan::Planned;
use crate::queue::{Trained, train_all};
use crate::receipt::Labels;
use crate::store::Store;
use crate::watch::Watcher;

/// The start of the tag that every fold of one cross-validation carries.
pub const GROUP_TAG_PREFIX: &str = "cv:";

/// The tag of one fold's run, e.g. `fold:2/5`.
pub fn fold_tag(cross_validation: CrossValidation) -> String {
    format!(
        "{FOLD_TAG_PREFIX}{}/{}",
        cross_validation.fold(),
        cross_validation.folds()
    )
}

/// Refuses a cross-validation asked for with fewer than 2 folds or with
/// other than one spec (before any spec is read).
pub fn check_request(folds: u32, specs: usize) -> Result<(), RunError> {
    if folds < 2 {
        return Err(RunError::user(
            format!(
                "--folds {folds}: k-fold cross-validation needs at least 2 folds (each fold \
                 validates once while the others train)"
            ),
            Some("--folds 5 or --folds 10 are usual; without --folds the spec trains once"),
        ));
    }
    if specs != 1 {
        return Err(RunError::user(
            format!("--folds cross-validates one spec; got {specs}"),
            Some("run `pipeline run SPEC --folds K` once per spec"),
        ));
    }
    Ok(())
}

/// Every fold of `loaded` planned (data prepared with its own statistics,
/// network built) before anything is written: a fold that cannot train
/// stops them all here, as does a spec that cannot be cross-validated.
pub fn plan_folds(loaded: &LoadedSpec, folds: u32) -> Result<Vec<Planned>, RunError> {
    refuse_spec(loaded)?;
    let data_path = loaded.data_path();
    (1..=folds)
        .map(|fold| {
            let mut spec = loaded.clone();
            spec.spec.data.cross_validation = CrossValidation::new(folds, fold);
            Planned::new(spec, data_path.clone()).map_err(|source| RunError::PlanFold {
                fold,
                folds,
                source: Box::new(source),
            })
        })
        .collect()
}

/// A spec that already names one fold, or whose data cannot be dealt into
/// folds.
fn refuse_spec(loaded: &LoadedSpec) -> Result<(), RunError> {
    let path = loaded.path.display();
    if let Some(cross_validation) = loaded.spec.data.cross_validation {
        return Err(RunError::user(
            format!(
                "{path} already trains {cross_validation} (data.cross_validation); --folds trains \
                 every fold"
            ),
            Some(
                "remove data.cross_validation from the spec, or train that one fold without --folds",
            ),
        ));
    }
    if let Some(refusal) = loaded.spec.data.refuses_folds() {
        return Err(RunError::user(
            format!(
                "--folds cannot cross-validate {path}: {} ({})",
                refusal.message, refusal.key
            ),
            Some(refusal.hint),
        ));
    }
    Ok(())
}

/// A new group tag (`cv:` and a short random id) for one cross-validation.
pub fn new_group() -> String {
    format!("{GROUP_TAG_PREFIX}{}", group_id())
}

/// A short random id for one cross-validation's group tag.
fn group_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState's keys are random per process.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() & 0xffff_ffff)
}

/// What a cross-validation did: the queue's runs and the fold report.
#[derive(Debug)]
pub struct CrossValidated {
    pub trained: Trained,
    pub report: FoldReport,
}

/// Trains the planned folds (from [`plan_folds`]) as one queue, every run
/// tagged with `group` besides `labels`, and reports them.
pub fn cross_validate(
    store: Store<'_>,
    plans: Vec<Planned>,
    group: &str,
    labels: &Labels,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> Result<CrossValidated, RunError> {
    let sizes: Vec<_> = plans.iter().map(|plan| plan.data.sizes).collect();
    let Some(spec) = plans.first().map(|plan| plan.loaded.spec.clone()) else {
        return Err(RunError::user("--folds planned no fold", None));
    };
    let mut labels = labels.clone();
    labels.tags.push(group.to_owned());
    let trained = train_all(store, plans, &labels, stop, watcher)?;
    let report = FoldReport::new(group, &spec, &sizes, &trained.runs);
    Ok(CrossValidated { trained, report })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn fold_tags_and_group_ids() {
        let cv = CrossValidation::new(5, 2).expect("a valid fold");
        assert_eq!(fold_tag(cv), "fold:2/5");
        let id = group_id();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert!(new_group().starts_with(GROUP_TAG_PREFIX));
    }
}
