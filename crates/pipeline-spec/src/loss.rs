//! `[loss]`: the loss each task trains with, its parameters (Huber's delta,
//! a positive-class weight, class weights, label smoothing) validated so
//! that a parameter of another loss is an error naming the loss it belongs
//! to. Names follow PyTorch (`torch.nn`).

use std::ops::Range;

use serde::Serialize;
use toml::Spanned;

use crate::defaults;
use crate::raw::{self, LossType, RawClassWeights};
use crate::task::Task;
use crate::validate::{Checked, Validator};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Loss {
    Mse,
    Mae,
    Huber {
        delta: f64,
    },
    /// On the logit of the positive class (PyTorch's `BCEWithLogitsLoss`).
    BinaryCrossEntropy {
        #[serde(skip_serializing_if = "Option::is_none")]
        pos_weight: Option<f64>,
    },
    /// On one logit per class (PyTorch's `CrossEntropyLoss`).
    CrossEntropy {
        #[serde(skip_serializing_if = "Option::is_none")]
        class_weights: Option<ClassWeights>,
        label_smoothing: f64,
    },
}

impl Loss {
    /// The default loss of a task.
    pub fn default_for(task: Task) -> Loss {
        match task {
            Task::Regression => Loss::Mse,
            Task::Binary => Loss::BinaryCrossEntropy { pos_weight: None },
            Task::Multiclass => Loss::CrossEntropy {
                class_weights: None,
                label_smoothing: defaults::LABEL_SMOOTHING,
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
            Loss::BinaryCrossEntropy { .. } => "binary_cross_entropy",
            Loss::CrossEntropy { .. } => "cross_entropy",
        }
    }

    /// The task this loss trains for.
    pub fn task(&self) -> Task {
        match self {
            Loss::Mse | Loss::Mae | Loss::Huber { .. } => Task::Regression,
            Loss::BinaryCrossEntropy { .. } => Task::Binary,
            Loss::CrossEntropy { .. } => Task::Multiclass,
        }
    }
}

/// `loss.class_weights` of the cross-entropy loss.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeights {
    /// `n_rows / (n_classes · rows_of_class)` on the training split, as
    /// scikit-learn's `compute_class_weight("balanced")`.
    Balanced,
    /// One weight per class, in the classes' sorted order.
    Given(Vec<f64>),
}

impl Serialize for ClassWeights {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ClassWeights::Balanced => serializer.serialize_str("balanced"),
            ClassWeights::Given(weights) => weights.serialize(serializer),
        }
    }
}

impl Validator<'_> {
    pub(crate) fn loss(&self, raw: Option<raw::RawLoss>, task: Task) -> Checked<Loss> {
        let Some(raw) = raw else {
            return Ok(Loss::default_for(task));
        };
        let kind = *raw.kind.get_ref();
        let name = self.loss_for_task(&raw.kind, task)?;
        self.loss_parameters(&raw, kind, name)?;
        Ok(match kind {
            LossType::Mse => Loss::Mse,
            LossType::Mae => Loss::Mae,
            LossType::Huber => Loss::Huber {
                delta: match raw.delta {
                    None => defaults::HUBER_DELTA,
                    Some(d) => self.positive(d, "loss.delta")?,
                },
            },
            LossType::BinaryCrossEntropy => Loss::BinaryCrossEntropy {
                pos_weight: match raw.pos_weight {
                    None => None,
                    Some(p) => Some(self.positive(p, "loss.pos_weight")?),
                },
            },
            LossType::CrossEntropy => Loss::CrossEntropy {
                class_weights: match raw.class_weights {
                    None => None,
                    Some(w) => Some(self.class_weights(w)?),
                },
                label_smoothing: self.fraction(
                    raw.label_smoothing,
                    "loss.label_smoothing",
                    defaults::LABEL_SMOOTHING,
                )?,
            },
        })
    }

    /// `loss.type` against `data.task`; the loss's name.
    fn loss_for_task(&self, kind: &Spanned<LossType>, task: Task) -> Checked<&'static str> {
        let (name, for_task) = match kind.get_ref() {
            LossType::Mse => ("mse", Task::Regression),
            LossType::Mae => ("mae", Task::Regression),
            LossType::Huber => ("huber", Task::Regression),
            LossType::BinaryCrossEntropy => ("binary_cross_entropy", Task::Binary),
            LossType::CrossEntropy => ("cross_entropy", Task::Multiclass),
        };
        if for_task == task {
            return Ok(name);
        }
        let hint = match task {
            Task::Regression => {
                "regression trains with mse, mae or huber; set data.task = \"binary\" or \"multiclass\" to predict classes"
            }
            Task::Binary => {
                "binary classification trains one logit with binary_cross_entropy; for cross_entropy over one output per class set data.task = \"multiclass\""
            }
            Task::Multiclass => {
                "multiclass classification trains with cross_entropy; binary_cross_entropy needs data.task = \"binary\""
            }
        };
        Err(self.fail(
            kind.span(),
            "loss.type",
            format!("`{name}` is a loss for {for_task}, but data.task is \"{task}\""),
            Some(hint),
        ))
    }

    /// A parameter of another loss than `kind` (named `name`) is an error
    /// naming the loss it belongs to.
    fn loss_parameters(&self, raw: &raw::RawLoss, kind: LossType, name: &str) -> Checked<()> {
        let unused = |field: &str, span: Range<usize>, belongs: &str| {
            self.fail(
                span,
                &format!("loss.{field}"),
                format!("`{field}` does not apply to the `{name}` loss"),
                Some(&format!("remove it; `{field}` belongs to {belongs}")),
            )
        };
        if kind != LossType::Huber
            && let Some(d) = &raw.delta
        {
            return Err(unused("delta", d.span(), "huber"));
        }
        if kind != LossType::BinaryCrossEntropy
            && let Some(p) = &raw.pos_weight
        {
            return Err(unused("pos_weight", p.span(), "binary_cross_entropy"));
        }
        if kind != LossType::CrossEntropy {
            if let Some(w) = &raw.class_weights {
                return Err(unused("class_weights", w.span(), "cross_entropy"));
            }
            if let Some(l) = &raw.label_smoothing {
                return Err(unused("label_smoothing", l.span(), "cross_entropy"));
            }
        }
        Ok(())
    }

    fn class_weights(&self, raw: Spanned<RawClassWeights>) -> Checked<ClassWeights> {
        let span = raw.span();
        let key = "loss.class_weights";
        match raw.into_inner() {
            RawClassWeights::Named(name) if name == "balanced" => Ok(ClassWeights::Balanced),
            RawClassWeights::Named(name) => Err(self.fail(
                span,
                key,
                format!("unknown class weighting {name:?}"),
                Some("use \"balanced\" (inverse class frequencies of the training split) or one weight per class, e.g. [1.0, 5.0]"),
            )),
            RawClassWeights::Given(weights) => {
                if weights.is_empty() {
                    return Err(self.fail(span, key, "`loss.class_weights` is an empty list".into(), Some("give one weight per class, in the classes' sorted order")));
                }
                if let Some(bad) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
                    return Err(self.fail(span, key, format!("class weights must be greater than 0; got {bad}"), None));
                }
                Ok(ClassWeights::Given(weights))
            }
        }
    }
}
