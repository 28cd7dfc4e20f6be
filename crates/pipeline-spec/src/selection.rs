//! `[selection]`: what `best` means among the runs of an experiment, a
//! validation metric and the direction that follows from it.

use serde::Serialize;
use toml::Spanned;

use crate::defaults;
use crate::metric::{Direction, MetricRef};
use crate::raw;
use crate::task::Task;
use crate::validate::{Checked, Validator};

/// What `best` means among the runs of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Selection {
    pub metric: MetricRef,
    pub direction: Direction,
}

impl Validator<'_> {
    pub(crate) fn selection(
        &self,
        raw: Option<raw::RawSelection>,
        task: Task,
    ) -> Checked<Selection> {
        let (metric, direction) = match raw {
            None => (None, None),
            Some(s) => (s.metric, s.direction),
        };
        let metric = match metric {
            None => defaults::SELECTION_METRIC,
            Some(m) => self.metric(m, "selection.metric", task)?,
        };
        let direction = match direction {
            None => metric.metric.direction(),
            Some(d) => self.direction(metric, d, "selection.direction")?,
        };
        Ok(Selection { metric, direction })
    }

    /// `direction` (written at `key`) when it is `metric`'s own.
    pub(crate) fn direction(
        &self,
        metric: MetricRef,
        direction: Spanned<Direction>,
        key: &str,
    ) -> Checked<Direction> {
        let natural = metric.metric.direction();
        if *direction.get_ref() == natural {
            return Ok(natural);
        }
        Err(self.fail(
            direction.span(),
            key,
            format!(
                "`{metric}` is better when it is {}, not {}",
                word(natural),
                word(*direction.get_ref())
            ),
            Some("leave `direction` out: it follows from the metric"),
        ))
    }
}

fn word(direction: Direction) -> &'static str {
    match direction {
        Direction::Minimize => "smaller (minimize)",
        Direction::Maximize => "larger (maximize)",
    }
}
