//! The [`Validator`]: checks what serde cannot, with the file's text so
//! that every message points at the key it is about. Each section's module
//! adds its own checks in an `impl Validator` block; the checks they share
//! (counts, positive numbers, fractions, metric names) are here.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::error::{SpecError, quote_list};
use crate::metric::{MetricName, MetricRef, SplitName};
use crate::task::Task;

/// Checks what serde cannot, with positions for the messages.
pub(crate) struct Validator<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

pub(crate) type Checked<T> = Result<T, SpecError>;

/// Why `value` is not a count from 1 to `u32::MAX`, for `subject` (`` `train.epochs` ``):
/// a value beyond the upper limit is told that limit, not "at least 1".
pub(crate) fn count_message(subject: &str, value: i64) -> String {
    if value > i64::from(u32::MAX) {
        format!("{subject} must be at most {}; got {value}", u32::MAX)
    } else {
        format!("{subject} must be a whole number of at least 1; got {value}")
    }
}

/// Why `value` is not a positive finite number, for the key `key`:
/// `inf` and `nan` are told they are not finite, not that they are not above 0.
pub(crate) fn positive_message(key: &str, value: f64) -> String {
    if value.is_finite() {
        format!("`{key}` must be greater than 0; got {value}")
    } else {
        format!("`{key}` must be a finite number greater than 0; got {value}")
    }
}

impl Validator<'_> {
    pub(crate) fn fail(
        &self,
        span: Range<usize>,
        key: &str,
        message: String,
        hint: Option<&str>,
    ) -> SpecError {
        SpecError::invalid(
            self.file.into(),
            self.text,
            Some(span),
            Some(key.into()),
            message,
            hint.map(Into::into),
        )
    }

    pub(crate) fn positive(&self, value: Spanned<f64>, key: &str) -> Checked<f64> {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.fail(value.span(), key, positive_message(key, v), None))
        }
    }

    pub(crate) fn fraction(
        &self,
        value: Option<Spanned<f64>>,
        key: &str,
        default: f64,
    ) -> Checked<f64> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        if (0.0..1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.fail(
                value.span(),
                key,
                format!("`{key}` must be at least 0 and below 1; got {v}"),
                None,
            ))
        }
    }

    pub(crate) fn count(
        &self,
        value: Option<Spanned<i64>>,
        key: &str,
        default: u32,
    ) -> Checked<u32> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        match u32::try_from(v) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(self.fail(
                value.span(),
                key,
                count_message(&format!("`{key}`"), v),
                None,
            )),
        }
    }

    pub(crate) fn metric(
        &self,
        value: Spanned<String>,
        key: &str,
        task: Task,
    ) -> Checked<MetricRef> {
        let span = value.span();
        let metric: MetricRef = value.get_ref().parse().map_err(|message: String| {
            let hint = crate::error::closest(value.get_ref(), &MetricRef::all_names())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    format!("expected one of {}", quote_list(&MetricRef::all_names()))
                });
            self.fail(span.clone(), key, message, Some(&hint))
        })?;
        if !metric.metric.applies_to(task) {
            let known: Vec<&str> = MetricName::for_task(task)
                .iter()
                .map(|m| m.as_str())
                .collect();
            return Err(self.fail(
                span,
                key,
                format!("`{metric}` is not recorded for {task} runs"),
                Some(&format!(
                    "the metrics of a {task} run are {}",
                    known.join(", ")
                )),
            ));
        }
        if metric.split == SplitName::Test {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` may not use the test split (`{metric}`)"),
                Some("choose on validation metrics (`val_…`); the test split must stay unseen until the final estimate"),
            ));
        }
        Ok(metric)
    }
}
