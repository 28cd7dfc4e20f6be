//! `[data.window]`: samples that are windows of an ordered series, with the
//! target some rows after each window. One regression target, split in
//! time order.

use serde::Serialize;
use toml::Spanned;

use crate::data::Targets;
use crate::defaults;
use crate::raw;
use crate::task::Task;
use crate::validate::{Checked, Validator, count_message};

/// `[data.window]`: each sample is `steps` consecutive rows of the series
/// (the feature columns, then the target unless `target_input = false`),
/// row-major `[steps, channels]`; its target is the target `horizon` rows
/// after the window's last row. Splits are ordered: the last samples are
/// validation and test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub steps: std::num::NonZeroU32,
    pub horizon: std::num::NonZeroU32,
    pub target_input: bool,
    /// Learn the change: the target is `y[t + horizon] - y[t]` (`t` the
    /// window's last row) and the target's input channel `y[t] - y[t-1]`.
    /// For series that drift out of the training range (a trend). The
    /// metrics are the same as for the level, since `y[t]` is known.
    pub difference: bool,
    /// Rows are sorted by this column (numbers, or text such as ISO dates);
    /// `None`: the file's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    pub missing: WindowMissing,
}

/// Empty cells of a windowed series.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WindowMissing {
    /// An error naming the column, the count and the first row.
    Error,
    /// Linear in time between the nearest values before and after; at
    /// either end of the series the nearest value is repeated.
    Interpolate,
}

impl Validator<'_> {
    /// `[data.window]`: one regression target, an ordered split.
    pub(crate) fn window(
        &self,
        window: Spanned<raw::RawWindow>,
        shuffle: &Option<Spanned<bool>>,
        stratify: &Option<Spanned<bool>>,
        split_column: &Option<Spanned<String>>,
        target: &Targets,
        task: Task,
    ) -> Checked<Window> {
        let span = window.span();
        let w = window.into_inner();
        if task != Task::Regression || target.columns().len() != 1 {
            return Err(self.fail(
                span,
                "data.window",
                "`[data.window]` forecasts one regression target from its past".into(),
                Some("set one `data.target` column and leave `data.task` as \"regression\""),
            ));
        }
        self.unordered_keys(shuffle, stratify, split_column)?;
        let positive = |value: &Spanned<i64>, key: &str| -> Checked<std::num::NonZeroU32> {
            let v = *value.get_ref();
            u32::try_from(v)
                .ok()
                .and_then(std::num::NonZeroU32::new)
                .ok_or_else(|| {
                    self.fail(
                        value.span(),
                        key,
                        count_message(&format!("`{key}`"), v),
                        None,
                    )
                })
        };
        let steps = positive(&w.steps, "data.window.steps")?;
        let horizon = match &w.horizon {
            None => defaults::WINDOW_HORIZON,
            Some(h) => positive(h, "data.window.horizon")?,
        };
        let order_by = match w.order_by {
            None => None,
            Some(column) => Some(self.order_by(column, target)?),
        };
        Ok(Window {
            steps,
            horizon,
            target_input: w.target_input.unwrap_or(defaults::WINDOW_TARGET_INPUT),
            difference: w.difference.unwrap_or(defaults::WINDOW_DIFFERENCE),
            order_by,
            missing: w.missing.unwrap_or(defaults::WINDOW_MISSING),
        })
    }

    /// The keys that would order or mix the rows another way than time.
    fn unordered_keys(
        &self,
        shuffle: &Option<Spanned<bool>>,
        stratify: &Option<Spanned<bool>>,
        split_column: &Option<Spanned<String>>,
    ) -> Checked<()> {
        if let Some(shuffle) = shuffle.as_ref().filter(|s| *s.get_ref()) {
            return Err(self.fail(
                shuffle.span(),
                "data.shuffle",
                "`shuffle = true` would mix the past and the future: windows are split in \
                 time order (the last samples are validation and test)"
                    .into(),
                Some("remove `shuffle`; windowed data is never shuffled before the split"),
            ));
        }
        if let Some(stratify) = stratify.as_ref().filter(|s| *s.get_ref()) {
            return Err(self.fail(
                stratify.span(),
                "data.stratify",
                "`stratify = true` does not apply to windows, which are split in time order".into(),
                Some("remove `stratify`"),
            ));
        }
        if let Some(column) = split_column {
            return Err(self.fail(
                column.span(),
                "data.split_column",
                "`split_column` does not apply to windows, which are split in time order".into(),
                Some("remove one of `split_column` and `[data.window]`"),
            ));
        }
        Ok(())
    }

    /// `data.window.order_by`: a column other than the target.
    fn order_by(&self, column: Spanned<String>, target: &Targets) -> Checked<String> {
        let key = "data.window.order_by";
        if column.get_ref().trim().is_empty() {
            return Err(self.fail(
                column.span(),
                key,
                "`order_by` is empty".into(),
                Some("name the column that orders the rows (a date or a number)"),
            ));
        }
        if target.contains(column.get_ref()) {
            return Err(self.fail(
                column.span(),
                key,
                format!(
                    "`{}` is the target; it cannot also order the rows",
                    column.get_ref()
                ),
                Some("name the date or time column"),
            ));
        }
        Ok(column.into_inner())
    }
}
