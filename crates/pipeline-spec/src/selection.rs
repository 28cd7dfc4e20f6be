//! `[selection]`: what `best` means among the runs of an experiment, a
//! validation metric and the direction that follows from it.

use serde::Serialize;

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
        let natural = metric.metric.direction();
        let direction = match direction {
            None => natural,
            Some(d) if *d.get_ref() == natural => natural,
            Some(d) => {
                return Err(self.fail(
                    d.span(),
                    "selection.direction",
                    format!(
                        "`{metric}` is better when it is {}, not {}",
                        word(natural),
                        word(*d.get_ref())
                    ),
                    Some("leave `direction` out: it follows from the metric"),
                ));
            }
        };
        Ok(Selection { metric, direction })
    }
}

fn word(direction: Direction) -> &'static str {
    match direction {
        Direction::Minimize => "smaller (minimize)",
        Direction::Maximize => "larger (maximize)",
    }
}
