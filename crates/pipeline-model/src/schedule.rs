//! Learning-rate schedules with the sequences of PyTorch's schedulers:
//! `StepLR`, `ExponentialLR`, `LinearLR` warmup then `CosineAnnealingLR`
//! (as `SequentialLR`), `OneCycleLR` (per batch) and `ReduceLROnPlateau`
//! (on the monitored metric). The trainer asks for the learning rate before
//! each batch and reports each finished batch and epoch.
//!
//! Tests against PyTorch: `crates/pipeline-model/tests/pytorch.rs`.

use pipeline_spec::{Direction, Optimizer as OptimizerSpec, Schedule};

/// `ReduceLROnPlateau` ignores a reduction smaller than this.
const PLATEAU_EPSILON: f64 = 1e-8;

/// Where a schedule stands, to continue a training exactly where it stopped:
/// the current learning rate, the epochs and batches done, and
/// `ReduceLROnPlateau`'s counters. The rest follows from the spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulerState {
    pub learning_rate: f64,
    pub epochs: u32,
    pub batches: usize,
    /// Plateau: the best monitored value so far (±infinity before the first).
    pub plateau_best: f64,
    pub plateau_bad_epochs: u32,
    pub plateau_cooldown_left: u32,
}

pub struct Scheduler {
    schedule: Schedule,
    base: f64,
    current: f64,
    /// Epochs finished.
    epochs: u32,
    /// Batches finished (one_cycle).
    batches: usize,
    /// Batches in the whole training (one_cycle).
    total_batches: usize,
    plateau: Plateau,
}

/// The state of `ReduceLROnPlateau`.
struct Plateau {
    direction: Direction,
    best: f64,
    bad_epochs: u32,
    cooldown_left: u32,
}

impl Scheduler {
    /// A schedule for `epochs` of `batches_per_epoch` batches; `direction`
    /// is the monitored metric's (for `plateau`).
    pub fn new(
        optimizer: &OptimizerSpec,
        direction: Direction,
        epochs: u32,
        batches_per_epoch: usize,
    ) -> Scheduler {
        let best = match direction {
            Direction::Minimize => f64::INFINITY,
            Direction::Maximize => f64::NEG_INFINITY,
        };
        let mut scheduler = Scheduler {
            schedule: optimizer.schedule,
            base: optimizer.learning_rate,
            current: optimizer.learning_rate,
            epochs: 0,
            batches: 0,
            total_batches: epochs as usize * batches_per_epoch,
            plateau: Plateau {
                direction,
                best,
                bad_epochs: 0,
                cooldown_left: 0,
            },
        };
        scheduler.current = scheduler.closed_form().unwrap_or(scheduler.base);
        scheduler
    }

    /// The learning rate of the next batch.
    pub fn learning_rate(&self) -> f64 {
        self.current
    }

    /// Where the schedule stands (see [`SchedulerState`]).
    pub fn state(&self) -> SchedulerState {
        SchedulerState {
            learning_rate: self.current,
            epochs: self.epochs,
            batches: self.batches,
            plateau_best: self.plateau.best,
            plateau_bad_epochs: self.plateau.bad_epochs,
            plateau_cooldown_left: self.plateau.cooldown_left,
        }
    }

    /// Continues from a state taken by [`Scheduler::state`] of a scheduler
    /// built from the same spec.
    pub fn restore(&mut self, state: &SchedulerState) {
        self.current = state.learning_rate;
        self.epochs = state.epochs;
        self.batches = state.batches;
        self.plateau.best = state.plateau_best;
        self.plateau.bad_epochs = state.plateau_bad_epochs;
        self.plateau.cooldown_left = state.plateau_cooldown_left;
    }

    /// One batch finished (moves `one_cycle`).
    pub fn batch_done(&mut self) {
        self.batches += 1;
        if let Schedule::OneCycle { .. } = self.schedule
            && let Some(lr) = self.closed_form()
        {
            self.current = lr;
        }
    }

    /// One epoch finished with `monitored` as the monitored metric's value
    /// (moves every schedule but `one_cycle`).
    pub fn epoch_done(&mut self, monitored: f64) {
        self.epochs += 1;
        match self.schedule {
            Schedule::Constant | Schedule::OneCycle { .. } => {}
            // Multiplied in place, as PyTorch's chainable form does.
            Schedule::Step { step_size, gamma } => {
                if self.epochs.is_multiple_of(step_size) {
                    self.current *= gamma;
                }
            }
            Schedule::Exponential { gamma } => self.current *= gamma,
            Schedule::Cosine { .. } => {
                if let Some(lr) = self.closed_form() {
                    self.current = lr;
                }
            }
            Schedule::Plateau {
                factor,
                patience,
                min_lr,
                threshold,
                cooldown,
            } => {
                let p = &mut self.plateau;
                let better = match p.direction {
                    Direction::Minimize => monitored < p.best * (1.0 - threshold),
                    Direction::Maximize => monitored > p.best * (1.0 + threshold),
                };
                if better {
                    p.best = monitored;
                    p.bad_epochs = 0;
                } else {
                    p.bad_epochs += 1;
                }
                if p.cooldown_left > 0 {
                    p.cooldown_left -= 1;
                    p.bad_epochs = 0;
                }
                if p.bad_epochs > patience {
                    let reduced = (self.current * factor).max(min_lr);
                    if self.current - reduced > PLATEAU_EPSILON {
                        self.current = reduced;
                    }
                    p.cooldown_left = cooldown;
                    p.bad_epochs = 0;
                }
            }
        }
    }

    /// The learning rate from the epochs and batches done, for the
    /// schedules that have a closed form.
    fn closed_form(&self) -> Option<f64> {
        match self.schedule {
            Schedule::Cosine {
                t_max,
                eta_min,
                warmup_epochs,
                warmup_start_factor,
            } => Some(if self.epochs < warmup_epochs {
                let done = f64::from(self.epochs) / f64::from(warmup_epochs);
                self.base * (warmup_start_factor + (1.0 - warmup_start_factor) * done)
            } else {
                let t = f64::from(self.epochs - warmup_epochs);
                let cosine = (std::f64::consts::PI * t / f64::from(t_max)).cos();
                eta_min + (self.base - eta_min) * (1.0 + cosine) / 2.0
            }),
            Schedule::OneCycle {
                max_lr,
                pct_start,
                div_factor,
                final_div_factor,
            } => {
                let initial = max_lr / div_factor;
                let last = initial / final_div_factor;
                // PyTorch's phase ends, as float step numbers.
                let total = self.total_batches as f64;
                let warm_end = pct_start * total - 1.0;
                let end = total - 1.0;
                let step = self.batches as f64;
                Some(if step <= warm_end {
                    anneal(initial, max_lr, fraction(step, warm_end))
                } else {
                    anneal(max_lr, last, fraction(step - warm_end, end - warm_end))
                })
            }
            _ => None,
        }
    }
}

/// `done / length`, within [0, 1]; a phase of no length is over.
fn fraction(done: f64, length: f64) -> f64 {
    if length > 0.0 {
        (done / length).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// `OneCycleLR`'s cosine annealing from `start` to `end`.
fn anneal(start: f64, end: f64, fraction: f64) -> f64 {
    end + (start - end) / 2.0 * ((std::f64::consts::PI * fraction).cos() + 1.0)
}
