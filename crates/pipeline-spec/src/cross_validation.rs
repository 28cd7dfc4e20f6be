//! `data.cross_validation`: a run that is one fold of a k-fold
//! cross-validation. The test split stays what `split` makes it; the other
//! rows are dealt into `folds` folds, and fold `fold` is the validation
//! split. `pipeline run --folds K` writes this key into each fold's
//! resolved spec, so that a fold's stored spec says exactly which rows it
//! trained on (and `rerun`, `resume` and `compare` see it).

use serde::Serialize;
use toml::Spanned;

use crate::data::DataSpec;
use crate::raw::RawCrossValidation;
use crate::validate::{Checked, Validator};

/// One fold of a k-fold cross-validation: `fold` (1 to `folds`) is the
/// validation split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CrossValidation {
    folds: u32,
    fold: u32,
}

impl CrossValidation {
    /// Fold `fold` (1-based) of `folds`; `None` unless 2 ≤ `folds` and
    /// 1 ≤ `fold` ≤ `folds`.
    pub fn new(folds: u32, fold: u32) -> Option<CrossValidation> {
        (folds >= 2 && (1..=folds).contains(&fold)).then_some(CrossValidation { folds, fold })
    }

    /// How many folds the rows outside the test split are dealt into.
    pub fn folds(self) -> u32 {
        self.folds
    }

    /// This run's validation fold, from 1.
    pub fn fold(self) -> u32 {
        self.fold
    }
}

impl std::fmt::Display for CrossValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fold {} of {}", self.fold, self.folds)
    }
}

/// Why a spec's data cannot be cross-validated: the spec key at fault, what
/// is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldsRefusal {
    pub key: &'static str,
    pub message: String,
    pub hint: &'static str,
}

impl DataSpec {
    /// Why k folds of this data would be wrong, if they would: ordered data
    /// (windows, `shuffle = false`) would train on the future to validate
    /// on the past, and a `split_column` already says which rows validate.
    pub fn refuses_folds(&self) -> Option<FoldsRefusal> {
        if self.window.is_some() {
            return Some(FoldsRefusal {
                key: "data.window",
                message: "windowed data is split in time order; k folds would train on \
                          later windows to validate on earlier ones"
                    .into(),
                hint: "train the spec without folds: its validation windows already come \
                       after its training windows",
            });
        }
        if let Some(column) = &self.split_column {
            return Some(FoldsRefusal {
                key: "data.split_column",
                message: format!(
                    "the column `{column}` names each row's split; folds would overrule \
                     its train and validation rows"
                ),
                hint: "remove `split_column` to let the seed split the rows, or train \
                       without folds",
            });
        }
        if !self.shuffle {
            return Some(FoldsRefusal {
                key: "data.shuffle",
                message: "`shuffle = false` keeps the rows in file order (an ordered \
                          series); folds of it would train on later rows to validate on \
                          earlier ones"
                    .into(),
                hint: "set data.shuffle = true if the rows are exchangeable, or train \
                       without folds",
            });
        }
        None
    }
}

impl Validator<'_> {
    /// `data.cross_validation`: 2 ≤ `folds`, 1 ≤ `fold` ≤ `folds`, on data
    /// that folds do not mislead.
    pub(crate) fn cross_validation(
        &self,
        raw: Spanned<RawCrossValidation>,
        data: &DataSpec,
    ) -> Checked<CrossValidation> {
        let span = raw.span();
        let raw = raw.into_inner();
        let folds = *raw.folds.get_ref();
        let fold = *raw.fold.get_ref();
        if folds < 2 {
            return Err(self.fail(
                raw.folds.span(),
                "data.cross_validation.folds",
                format!("`folds` must be at least 2; got {folds}"),
                Some("one fold would leave no rows to train on; leave the key out to train once"),
            ));
        }
        let folds = u32::try_from(folds).map_err(|_| {
            self.fail(
                raw.folds.span(),
                "data.cross_validation.folds",
                format!("`folds` = {folds} is too large"),
                None,
            )
        })?;
        let Some(cross_validation) = u32::try_from(fold)
            .ok()
            .and_then(|fold| CrossValidation::new(folds, fold))
        else {
            return Err(self.fail(
                raw.fold.span(),
                "data.cross_validation.fold",
                format!("`fold` must be between 1 and {folds}; got {fold}"),
                Some("folds are numbered from 1"),
            ));
        };
        if let Some(refusal) = data.refuses_folds() {
            return Err(self.fail(
                span,
                "data.cross_validation",
                format!(
                    "cross-validation does not apply beside `{}`: {}",
                    refusal.key, refusal.message
                ),
                Some(refusal.hint),
            ));
        }
        Ok(cross_validation)
    }
}
