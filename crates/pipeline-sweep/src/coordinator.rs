//! The state the jobs of one sweep share behind a lock: which trial comes
//! next (interrupted ones first, then new numbers up to the budget), the
//! sampler and what it has seen, and every trial's curve for the pruner.
//! A number is handed out once: grid points are never trained twice, also
//! with several jobs.

use std::collections::VecDeque;

use pipeline_search::{Curves, Goal, Observation, Point, Pruner, Pruning, Sampler, TrialState};

/// The next trial a job trains.
#[derive(Debug, Clone)]
pub struct Next {
    pub number: u32,
    pub point: Point,
    /// Trained before (interrupted or retried): its number is claimed.
    pub again: bool,
}

pub struct Coordinator {
    sampler: Box<dyn Sampler>,
    pruner: Option<Box<dyn Pruner>>,
    goal: Goal,
    history: Vec<Observation>,
    curves: Curves,
    again: VecDeque<(u32, Point)>,
    next_number: u32,
    budget: u32,
    halted: bool,
    best: Option<(u32, f64)>,
}

impl Coordinator {
    pub fn new(
        sampler: Box<dyn Sampler>,
        pruner: Option<Box<dyn Pruner>>,
        goal: Goal,
        budget: u32,
    ) -> Coordinator {
        Coordinator {
            sampler,
            pruner,
            goal,
            history: Vec::new(),
            curves: Curves::new(goal),
            again: VecDeque::new(),
            next_number: 0,
            budget,
            halted: false,
            best: None,
        }
    }

    /// A trial that ended before (read back on resume): seen by the sampler,
    /// its curve by the pruner, its number never handed out again.
    pub fn ended(&mut self, number: u32, point: Point, state: TrialState, value: Option<f64>) {
        if state == TrialState::Completed
            && let Some(value) = value
        {
            self.consider(number, value);
        }
        self.history.push(Observation {
            number,
            point,
            state,
            value,
        });
        self.next_number = self.next_number.max(number + 1);
    }

    /// A trial to train again (interrupted before, or retried).
    pub fn again(&mut self, number: u32, point: Point) {
        self.again.push_back((number, point));
        self.next_number = self.next_number.max(number + 1);
    }

    /// A number taken by a trial this sweep cannot train (its stored
    /// parameters no longer fit the space, or another process claimed it).
    pub fn skip(&mut self, number: u32) {
        self.next_number = self.next_number.max(number + 1);
    }

    /// No new trials: only trials to train again, up to `budget` numbers.
    pub fn only_again(&mut self) {
        self.next_number = self.budget;
    }

    pub fn record_curve(&mut self, number: u32, epoch: u32, value: f64) {
        self.curves.record(number, epoch, value);
    }

    pub fn curve_points(&mut self, curves: Vec<(u32, Vec<(u32, f64)>)>) {
        for (number, points) in curves {
            for (epoch, value) in points {
                self.curves.record(number, epoch, value);
            }
        }
    }

    /// The pruner's decision on trial `number` after `epoch`.
    pub fn prune(&self, number: u32, epoch: u32) -> Option<Pruning> {
        self.pruner
            .as_ref()
            .and_then(|pruner| pruner.decide(number, epoch, &self.curves))
    }

    /// The next trial, or `None` when the budget is spent or the sweep was
    /// halted.
    pub fn next(&mut self) -> Option<Next> {
        if self.halted {
            return None;
        }
        if let Some((number, point)) = self.again.pop_front() {
            self.set_state(number, &point, TrialState::Running, None);
            return Some(Next {
                number,
                point,
                again: true,
            });
        }
        if self.next_number >= self.budget {
            return None;
        }
        let number = self.next_number;
        self.next_number += 1;
        let point = self.sampler.suggest(number, &self.history);
        self.history.push(Observation {
            number,
            point: point.clone(),
            state: TrialState::Running,
            value: None,
        });
        Some(Next {
            number,
            point,
            again: false,
        })
    }

    /// The point of trial `number`, sampled from every trial seen (a
    /// worker's trial, whose number the work queue gave).
    pub fn suggest(&mut self, number: u32) -> Point {
        let point = self.sampler.suggest(number, &self.history);
        self.history.retain(|o| o.number != number);
        self.history.push(Observation {
            number,
            point: point.clone(),
            state: TrialState::Running,
            value: None,
        });
        point
    }

    /// Trial `number` ended; returns the best so far.
    pub fn finish(
        &mut self,
        number: u32,
        state: Option<TrialState>,
        value: Option<f64>,
    ) -> Option<(u32, f64)> {
        match state {
            Some(state) => {
                if state == TrialState::Completed
                    && let Some(value) = value
                {
                    self.consider(number, value);
                }
                if let Some(observation) = self.history.iter_mut().find(|o| o.number == number) {
                    observation.state = state;
                    observation.value = value;
                }
            }
            // Interrupted: not seen by the sampler; its partial curve is
            // not evidence either.
            None => {
                self.history.retain(|o| o.number != number);
                self.curves.remove(number);
            }
        }
        self.best
    }

    /// Hands out no more trials (Ctrl-C, `--fail-fast`, a registry error).
    pub fn halt(&mut self) {
        self.halted = true;
    }

    fn consider(&mut self, number: u32, value: f64) {
        if !value.is_finite() {
            return;
        }
        let better = match self.best {
            None => true,
            Some((_, best)) => match self.goal {
                Goal::Minimize => value < best,
                Goal::Maximize => value > best,
            },
        };
        if better {
            self.best = Some((number, value));
        }
    }

    fn set_state(&mut self, number: u32, point: &Point, state: TrialState, value: Option<f64>) {
        self.history.retain(|o| o.number != number);
        self.curves.remove(number);
        self.history.push(Observation {
            number,
            point: point.clone(),
            state,
            value,
        });
    }
}
