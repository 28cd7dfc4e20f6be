//! `[optimizer]` and `[optimizer.schedule]`: the update rule, its
//! parameters, gradient clipping and the learning-rate schedule, validated so
//! that a parameter of another optimizer or schedule is an error naming it.
//! The names and defaults follow PyTorch (`torch.optim`,
//! `torch.optim.lr_scheduler`).

use std::ops::Range;

use serde::Serialize;
use toml::Spanned;

use crate::defaults;
use crate::error::SpecError;
use crate::raw::{OptimizerType, RawOptimizer, RawSchedule, ScheduleType};
use crate::validate::{Checked, Validator, positive_message};

/// The optimizer: its algorithm with the algorithm's own parameters, and the
/// settings every algorithm shares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Optimizer {
    /// Written as `type = "…"` and the algorithm's keys, in `[optimizer]` itself.
    #[serde(flatten)]
    pub algorithm: Algorithm,
    /// The base learning rate; a schedule changes it from there.
    pub learning_rate: f64,
    /// L2 penalty added to the gradient (sgd, adam, rmsprop) or decoupled
    /// decay of the weights (adamw), as PyTorch.
    pub weight_decay: f64,
    /// Rescales all gradients together so that their global L2 norm is at
    /// most this (`torch.nn.utils.clip_grad_norm_`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad_norm: Option<f64>,
    /// Clamps every gradient element to `[-v, v]`
    /// (`torch.nn.utils.clip_grad_value_`); applied before `clip_grad_norm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad_value: Option<f64>,
    pub schedule: Schedule,
}

impl Optimizer {
    /// The base learning rate (before any schedule).
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The name the spec gives the algorithm (`type = "…"`).
    pub fn name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::Sgd { .. } => "sgd",
            Algorithm::Adam { .. } => "adam",
            Algorithm::AdamW { .. } => "adamw",
            Algorithm::RmsProp { .. } => "rmsprop",
        }
    }

    /// The learning rates people use with this algorithm, from the
    /// frameworks' defaults and common recipes: a value outside, by more
    /// than a factor of ten, is worth a warning (`pipeline check`).
    pub fn usual_learning_rates(&self) -> (f64, f64) {
        match self.algorithm {
            Algorithm::Sgd { .. } => (1e-4, 0.5),
            Algorithm::Adam { .. } | Algorithm::AdamW { .. } | Algorithm::RmsProp { .. } => {
                (1e-5, 1e-2)
            }
        }
    }
}

/// The update rule and its own parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Algorithm {
    /// `torch.optim.SGD`.
    #[serde(rename = "sgd")]
    Sgd {
        momentum: f64,
        dampening: f64,
        nesterov: bool,
    },
    /// `torch.optim.Adam`.
    #[serde(rename = "adam")]
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
    /// `torch.optim.AdamW`.
    #[serde(rename = "adamw")]
    AdamW {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
    /// `torch.optim.RMSprop`.
    #[serde(rename = "rmsprop")]
    RmsProp {
        alpha: f64,
        epsilon: f64,
        momentum: f64,
        centered: bool,
    },
}

/// How the learning rate changes during training. Every schedule but
/// `one_cycle` steps once per epoch; `one_cycle` steps once per batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// `StepLR`: multiplied by `gamma` every `step_size` epochs.
    Step {
        step_size: u32,
        gamma: f64,
    },
    /// `ExponentialLR`: multiplied by `gamma` after every epoch.
    Exponential {
        gamma: f64,
    },
    /// `LinearLR(start_factor=warmup_start_factor, total_iters=warmup_epochs)`
    /// for the first `warmup_epochs`, then `CosineAnnealingLR(t_max, eta_min)`
    /// (as `SequentialLR` chains them).
    Cosine {
        t_max: u32,
        eta_min: f64,
        warmup_epochs: u32,
        warmup_start_factor: f64,
    },
    /// `OneCycleLR` (cosine annealing, two phases, no momentum cycling),
    /// stepped after every batch.
    OneCycle {
        max_lr: f64,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
    },
    /// `ReduceLROnPlateau` on `train.monitor` (its direction gives the mode),
    /// with a relative threshold.
    Plateau {
        factor: f64,
        patience: u32,
        min_lr: f64,
        threshold: f64,
        cooldown: u32,
    },
}

const SGD: OptimizerType = OptimizerType::Sgd;
const ADAM: OptimizerType = OptimizerType::Adam;
const ADAMW: OptimizerType = OptimizerType::AdamW;
const RMSPROP: OptimizerType = OptimizerType::RmsProp;

fn optimizer_word(kind: OptimizerType) -> &'static str {
    match kind {
        OptimizerType::Sgd => "sgd",
        OptimizerType::Adam => "adam",
        OptimizerType::AdamW => "adamw",
        OptimizerType::RmsProp => "rmsprop",
    }
}

fn schedule_word(kind: ScheduleType) -> &'static str {
    match kind {
        ScheduleType::Constant => "constant",
        ScheduleType::Step => "step",
        ScheduleType::Exponential => "exponential",
        ScheduleType::Cosine => "cosine",
        ScheduleType::OneCycle => "one_cycle",
        ScheduleType::Plateau => "plateau",
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A key, where it is written (if it is), and the types it belongs to.
type Owned<'a, K> = (&'a str, Option<Range<usize>>, &'a [K]);

fn span<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

impl Validator<'_> {
    pub(crate) fn optimizer(&self, raw: RawOptimizer, epochs: u32) -> Checked<Optimizer> {
        let lr_span = raw.learning_rate.span();
        let learning_rate = *raw.learning_rate.get_ref();
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(self.fail(
                lr_span,
                "optimizer.learning_rate",
                positive_message("learning_rate", learning_rate),
                Some("typical values: 1e-3 for adam, adamw and rmsprop, 1e-2 for sgd"),
            ));
        }
        let weight_decay = match &raw.weight_decay {
            None if raw.kind == ADAMW => defaults::ADAMW_WEIGHT_DECAY,
            None => defaults::WEIGHT_DECAY,
            Some(w) => self.at_least_zero(Some(w.clone()), "optimizer.weight_decay", 0.0)?,
        };
        self.optimizer_keys(&raw)?;
        let epsilon = match raw.epsilon {
            None => defaults::EPSILON,
            Some(e) => self.positive(e, "optimizer.epsilon")?,
        };
        let momentum = self.fraction(raw.momentum, "optimizer.momentum", defaults::MOMENTUM)?;
        let algorithm = match raw.kind {
            OptimizerType::Sgd => self.sgd(raw.dampening, raw.nesterov, momentum)?,
            OptimizerType::Adam | OptimizerType::AdamW => {
                let beta1 = self.fraction(raw.beta1, "optimizer.beta1", defaults::BETA1)?;
                let beta2 = self.fraction(raw.beta2, "optimizer.beta2", defaults::BETA2)?;
                if raw.kind == ADAM {
                    Algorithm::Adam {
                        beta1,
                        beta2,
                        epsilon,
                    }
                } else {
                    Algorithm::AdamW {
                        beta1,
                        beta2,
                        epsilon,
                    }
                }
            }
            OptimizerType::RmsProp => Algorithm::RmsProp {
                alpha: self.fraction(raw.alpha, "optimizer.alpha", defaults::RMSPROP_ALPHA)?,
                epsilon,
                momentum,
                centered: raw.centered.map_or(defaults::CENTERED, |c| *c.get_ref()),
            },
        };
        let clip_grad_norm = match raw.clip_grad_norm {
            None => None,
            Some(v) => Some(self.positive(v, "optimizer.clip_grad_norm")?),
        };
        let clip_grad_value = match raw.clip_grad_value {
            None => None,
            Some(v) => Some(self.positive(v, "optimizer.clip_grad_value")?),
        };
        let schedule = match raw.schedule {
            None => defaults::SCHEDULE,
            Some(s) => self.schedule(s, learning_rate, epochs)?,
        };
        Ok(Optimizer {
            algorithm,
            learning_rate,
            weight_decay,
            clip_grad_norm,
            clip_grad_value,
            schedule,
        })
    }

    /// A parameter of another optimizer is an error naming the optimizers
    /// it belongs to.
    fn optimizer_keys(&self, raw: &RawOptimizer) -> Checked<()> {
        let owners: [Owned<'_, OptimizerType>; 8] = [
            ("momentum", span(&raw.momentum), &[SGD, RMSPROP]),
            ("dampening", span(&raw.dampening), &[SGD]),
            ("nesterov", span(&raw.nesterov), &[SGD]),
            ("beta1", span(&raw.beta1), &[ADAM, ADAMW]),
            ("beta2", span(&raw.beta2), &[ADAM, ADAMW]),
            ("epsilon", span(&raw.epsilon), &[ADAM, ADAMW, RMSPROP]),
            ("alpha", span(&raw.alpha), &[RMSPROP]),
            ("centered", span(&raw.centered), &[RMSPROP]),
        ];
        for (field, field_span, kinds) in owners {
            if let Some(field_span) = field_span
                && !kinds.contains(&raw.kind)
            {
                let words: Vec<&str> = kinds.iter().map(|k| optimizer_word(*k)).collect();
                return Err(self.fail(
                    field_span,
                    &format!("optimizer.{field}"),
                    format!(
                        "`{field}` does not apply to the `{}` optimizer",
                        optimizer_word(raw.kind)
                    ),
                    Some(&format!("`{field}` belongs to {}", and_list(&words))),
                ));
            }
        }
        Ok(())
    }

    /// SGD's dampening and Nesterov momentum, which needs momentum and no
    /// dampening.
    fn sgd(
        &self,
        dampening: Option<Spanned<f64>>,
        given_nesterov: Option<Spanned<bool>>,
        momentum: f64,
    ) -> Checked<Algorithm> {
        let dampening = self.fraction(dampening, "optimizer.dampening", defaults::DAMPENING)?;
        let nesterov = given_nesterov
            .as_ref()
            .map_or(defaults::NESTEROV, |n| *n.get_ref());
        if let Some(n) = &given_nesterov
            && nesterov
            && (momentum <= 0.0 || dampening != 0.0)
        {
            return Err(self.fail(
                n.span(),
                "optimizer.nesterov",
                format!(
                    "`nesterov` needs `momentum` above 0 and `dampening` = 0; got momentum {momentum}, dampening {dampening}"
                ),
                Some("for example momentum = 0.9 and no `dampening`"),
            ));
        }
        Ok(Algorithm::Sgd {
            momentum,
            dampening,
            nesterov,
        })
    }

    fn schedule(
        &self,
        raw: Spanned<RawSchedule>,
        learning_rate: f64,
        epochs: u32,
    ) -> Checked<Schedule> {
        let table_span = raw.span();
        let raw = raw.into_inner();
        self.schedule_keys(&raw)?;
        let reader = ScheduleReader {
            validator: self,
            table_span,
            kind: raw.kind,
        };
        match raw.kind {
            ScheduleType::Constant => Ok(Schedule::Constant),
            ScheduleType::Step => reader.step(raw),
            ScheduleType::Exponential => reader.exponential(raw),
            ScheduleType::Cosine => reader.cosine(raw, epochs),
            ScheduleType::OneCycle => reader.one_cycle(raw, learning_rate),
            ScheduleType::Plateau => reader.plateau(raw),
        }
    }

    /// A parameter of another schedule is an error naming the schedules it
    /// belongs to.
    fn schedule_keys(&self, raw: &RawSchedule) -> Checked<()> {
        use ScheduleType::{Cosine, Exponential, OneCycle, Plateau, Step};
        let owners: [Owned<'_, ScheduleType>; 15] = [
            ("step_size", span(&raw.step_size), &[Step]),
            ("gamma", span(&raw.gamma), &[Step, Exponential]),
            ("t_max", span(&raw.t_max), &[Cosine]),
            ("eta_min", span(&raw.eta_min), &[Cosine]),
            ("warmup_epochs", span(&raw.warmup_epochs), &[Cosine]),
            (
                "warmup_start_factor",
                span(&raw.warmup_start_factor),
                &[Cosine],
            ),
            ("max_lr", span(&raw.max_lr), &[OneCycle]),
            ("pct_start", span(&raw.pct_start), &[OneCycle]),
            ("div_factor", span(&raw.div_factor), &[OneCycle]),
            ("final_div_factor", span(&raw.final_div_factor), &[OneCycle]),
            ("factor", span(&raw.factor), &[Plateau]),
            ("patience", span(&raw.patience), &[Plateau]),
            ("min_lr", span(&raw.min_lr), &[Plateau]),
            ("threshold", span(&raw.threshold), &[Plateau]),
            ("cooldown", span(&raw.cooldown), &[Plateau]),
        ];
        for (field, field_span, kinds) in owners {
            if let Some(field_span) = field_span
                && !kinds.contains(&raw.kind)
            {
                let words: Vec<&str> = kinds.iter().map(|k| schedule_word(*k)).collect();
                let plural = if words.len() > 1 { "s" } else { "" };
                return Err(self.fail(
                    field_span,
                    &format!("optimizer.schedule.{field}"),
                    format!(
                        "`{field}` does not apply to the `{}` schedule",
                        schedule_word(raw.kind)
                    ),
                    Some(&format!(
                        "`{field}` belongs to the {} schedule{plural}",
                        and_list(&words)
                    )),
                ));
            }
        }
        Ok(())
    }

    /// A finite number of 0 or more.
    fn at_least_zero(&self, value: Option<Spanned<f64>>, key: &str, default: f64) -> Checked<f64> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.fail(
                value.span(),
                key,
                format!("`{key}` must be 0 or more; got {v}"),
                None,
            ))
        }
    }

    /// A whole number of 0 or more.
    fn whole(&self, value: Option<&Spanned<i64>>, key: &str, default: u32) -> Checked<u32> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        u32::try_from(v).map_err(|_| {
            self.fail(
                value.span(),
                key,
                if v > 0 {
                    format!("`{key}` must be at most {}; got {v}", u32::MAX)
                } else {
                    format!("`{key}` must be a whole number of 0 or more; got {v}")
                },
                None,
            )
        })
    }
}

/// One `[optimizer.schedule]` table being read: where it is and its type,
/// for the messages.
struct ScheduleReader<'v, 'a> {
    validator: &'v Validator<'a>,
    table_span: Range<usize>,
    kind: ScheduleType,
}

impl ScheduleReader<'_, '_> {
    fn key(&self, field: &str) -> String {
        format!("optimizer.schedule.{field}")
    }

    /// A key this schedule cannot do without, with an example.
    fn missing(&self, field: &str, example: &str) -> SpecError {
        self.validator.fail(
            self.table_span.clone(),
            &self.key(field),
            format!(
                "the `{}` schedule needs `{field}`",
                schedule_word(self.kind)
            ),
            Some(&format!("for example {example}")),
        )
    }

    fn step(&self, raw: RawSchedule) -> Checked<Schedule> {
        let (check, key) = (self.validator, |field: &str| self.key(field));
        let Some(step_size) = raw.step_size else {
            return Err(self.missing(
                "step_size",
                "step_size = 30 (epochs between two reductions)",
            ));
        };
        Ok(Schedule::Step {
            step_size: check.count(Some(step_size), &key("step_size"), 1)?,
            gamma: match raw.gamma {
                None => defaults::STEP_GAMMA,
                Some(g) => check.positive(g, &key("gamma"))?,
            },
        })
    }

    fn exponential(&self, raw: RawSchedule) -> Checked<Schedule> {
        let (check, key) = (self.validator, |field: &str| self.key(field));
        let Some(gamma) = raw.gamma else {
            return Err(self.missing(
                "gamma",
                "gamma = 0.95 (the factor applied after every epoch)",
            ));
        };
        Ok(Schedule::Exponential {
            gamma: check.positive(gamma, &key("gamma"))?,
        })
    }

    fn cosine(&self, raw: RawSchedule, epochs: u32) -> Checked<Schedule> {
        let (check, key) = (self.validator, |field: &str| self.key(field));
        let warmup_epochs = check.whole(
            raw.warmup_epochs.as_ref(),
            &key("warmup_epochs"),
            defaults::WARMUP_EPOCHS,
        )?;
        let t_max = match raw.t_max {
            Some(t) => check.count(Some(t), &key("t_max"), 1)?,
            None if warmup_epochs < epochs => epochs - warmup_epochs,
            None => {
                let at = span(&raw.warmup_epochs).unwrap_or(self.table_span.clone());
                return Err(check.fail(
                    at,
                    &key("warmup_epochs"),
                    format!(
                        "`warmup_epochs` ({warmup_epochs}) leaves no epoch of the {epochs} in `train.epochs` for the cosine"
                    ),
                    Some("lower `warmup_epochs`, or set `t_max`"),
                ));
            }
        };
        let warmup_start_factor = match raw.warmup_start_factor {
            None => defaults::WARMUP_START_FACTOR,
            Some(f) => {
                let v = *f.get_ref();
                if !(v > 0.0 && v <= 1.0) {
                    return Err(check.fail(
                        f.span(),
                        &key("warmup_start_factor"),
                        format!("`warmup_start_factor` must be above 0 and at most 1; got {v}"),
                        None,
                    ));
                }
                v
            }
        };
        Ok(Schedule::Cosine {
            t_max,
            eta_min: check.at_least_zero(raw.eta_min, &key("eta_min"), defaults::COSINE_ETA_MIN)?,
            warmup_epochs,
            warmup_start_factor,
        })
    }

    fn one_cycle(&self, raw: RawSchedule, learning_rate: f64) -> Checked<Schedule> {
        let (check, key) = (self.validator, |field: &str| self.key(field));
        let pct_start = match raw.pct_start {
            None => defaults::ONE_CYCLE_PCT_START,
            Some(p) => {
                let v = *p.get_ref();
                if !(v > 0.0 && v < 1.0) {
                    return Err(check.fail(
                        p.span(),
                        &key("pct_start"),
                        format!("`pct_start` must be between 0 and 1 (exclusive); got {v}"),
                        Some("the fraction of the batches spent raising the learning rate"),
                    ));
                }
                v
            }
        };
        Ok(Schedule::OneCycle {
            max_lr: match raw.max_lr {
                None => learning_rate,
                Some(m) => check.positive(m, &key("max_lr"))?,
            },
            pct_start,
            div_factor: match raw.div_factor {
                None => defaults::ONE_CYCLE_DIV_FACTOR,
                Some(d) => check.positive(d, &key("div_factor"))?,
            },
            final_div_factor: match raw.final_div_factor {
                None => defaults::ONE_CYCLE_FINAL_DIV_FACTOR,
                Some(d) => check.positive(d, &key("final_div_factor"))?,
            },
        })
    }

    fn plateau(&self, raw: RawSchedule) -> Checked<Schedule> {
        let (check, key) = (self.validator, |field: &str| self.key(field));
        let factor = match raw.factor {
            None => defaults::PLATEAU_FACTOR,
            Some(f) => {
                let v = *f.get_ref();
                if !(v > 0.0 && v < 1.0) {
                    return Err(check.fail(
                        f.span(),
                        &key("factor"),
                        format!("`factor` must be between 0 and 1 (exclusive); got {v}"),
                        Some("the learning rate is multiplied by it on a plateau"),
                    ));
                }
                v
            }
        };
        Ok(Schedule::Plateau {
            factor,
            patience: check.whole(
                raw.patience.as_ref(),
                &key("patience"),
                defaults::PLATEAU_PATIENCE,
            )?,
            min_lr: check.at_least_zero(raw.min_lr, &key("min_lr"), defaults::PLATEAU_MIN_LR)?,
            threshold: check.at_least_zero(
                raw.threshold,
                &key("threshold"),
                defaults::PLATEAU_THRESHOLD,
            )?,
            cooldown: check.whole(
                raw.cooldown.as_ref(),
                &key("cooldown"),
                defaults::PLATEAU_COOLDOWN,
            )?,
        })
    }
}

#[cfg(test)]
#[path = "optimizer_tests.rs"]
mod tests;
