//! `data.split` and `data.split_column`: how the rows are divided into the
//! training, validation and test splits, by fractions or by a column that
//! names each row's split.

use serde::Serialize;
use toml::Spanned;

use crate::data::Targets;
use crate::raw;
use crate::validate::{Checked, Validator};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SplitFractions {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

impl Validator<'_> {
    /// `data.split_column`: a column other than the target, and no
    /// fractions or stratification beside it.
    pub(crate) fn split_column(
        &self,
        column: Spanned<String>,
        target: &Targets,
        split: &Option<Spanned<raw::RawSplit>>,
        stratify: &Option<Spanned<bool>>,
    ) -> Checked<String> {
        let key = "data.split_column";
        let span = column.span();
        let name = column.into_inner();
        if name.trim().is_empty() {
            return Err(self.fail(span, key, "`data.split_column` is empty".into(), None));
        }
        if target.contains(&name) {
            return Err(self.fail(
                span,
                key,
                format!("`{name}` is the target; it cannot also name the splits"),
                None,
            ));
        }
        if let Some(split) = split {
            return Err(self.fail(
                split.span(),
                "data.split",
                format!("`data.split` fractions do not apply: the column `{name}` names each row's split"),
                Some("remove one of `split` and `split_column`"),
            ));
        }
        if let Some(stratify) = stratify {
            return Err(self.fail(
                stratify.span(),
                "data.stratify",
                format!("`stratify` does not apply: the column `{name}` names each row's split"),
                Some("remove one of `stratify` and `split_column`"),
            ));
        }
        Ok(name)
    }

    pub(crate) fn split(&self, split: Spanned<raw::RawSplit>) -> Checked<SplitFractions> {
        let span = split.span();
        let s = split.into_inner();
        for (name, v) in [
            ("train", s.train),
            ("validation", s.validation),
            ("test", s.test),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(self.fail(
                    span,
                    &format!("data.split.{name}"),
                    format!("`data.split.{name}` must be between 0 and 1 (exclusive); got {v}"),
                    Some("every split needs rows: validation picks the best epoch, test gives the final estimate"),
                ));
            }
        }
        let sum = s.train + s.validation + s.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(self.fail(
                span,
                "data.split",
                format!(
                    "split fractions must sum to 1; train {} + validation {} + test {} = {sum}",
                    s.train, s.validation, s.test
                ),
                Some("for example { train = 0.7, validation = 0.15, test = 0.15 }"),
            ));
        }
        Ok(SplitFractions {
            train: s.train,
            validation: s.validation,
            test: s.test,
        })
    }
}
