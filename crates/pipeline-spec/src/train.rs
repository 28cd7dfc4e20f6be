//! `[train]`: epochs, batch size, device, the monitored metric, early
//! stopping and the precision of the activations.

use serde::Serialize;

use crate::defaults;
use crate::device::Device;
use crate::metric::MetricRef;
use crate::raw::{self, Precision};
use crate::task::Task;
use crate::validate::{Checked, Validator};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSpec {
    pub epochs: u32,
    pub batch_size: u32,
    pub device: Device,
    /// The per-epoch metric that decides the best epoch (and early stopping).
    pub monitor: MetricRef,
    /// Restore the best epoch's weights at the end of training.
    pub restore_best: bool,
    /// Left out of the resolved spec when f32, so specs written before the
    /// key existed keep their hash.
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EarlyStopping {
    pub patience: u32,
    pub min_delta: f64,
}

impl Validator<'_> {
    pub(crate) fn train(&self, raw: Option<raw::RawTrain>, task: Task) -> Checked<TrainSpec> {
        let raw = raw.unwrap_or(raw::RawTrain {
            epochs: None,
            batch_size: None,
            device: None,
            monitor: None,
            restore_best: None,
            precision: None,
            early_stopping: None,
        });
        let monitor = match raw.monitor {
            None => defaults::MONITOR,
            Some(m) => self.metric(m, "train.monitor", task)?,
        };
        let early_stopping = match raw.early_stopping {
            None => None,
            Some(es) => {
                let patience = self.count(Some(es.patience), "train.early_stopping.patience", 1)?;
                let min_delta = match es.min_delta {
                    None => defaults::MIN_DELTA,
                    Some(d) => {
                        let v = *d.get_ref();
                        if !(v.is_finite() && v >= 0.0) {
                            return Err(self.fail(
                                d.span(),
                                "train.early_stopping.min_delta",
                                format!("`min_delta` must be 0 or more; got {v}"),
                                None,
                            ));
                        }
                        v
                    }
                };
                Some(EarlyStopping {
                    patience,
                    min_delta,
                })
            }
        };
        Ok(TrainSpec {
            epochs: self.count(raw.epochs, "train.epochs", defaults::EPOCHS)?,
            batch_size: self.count(raw.batch_size, "train.batch_size", defaults::BATCH_SIZE)?,
            device: match raw.device {
                None => defaults::DEVICE,
                Some(device) => device.get_ref().parse().map_err(|message| {
                    self.fail(device.span(), "train.device", message, Some(Device::FORMS))
                })?,
            },
            monitor,
            restore_best: raw.restore_best.unwrap_or(defaults::RESTORE_BEST),
            precision: raw.precision.unwrap_or(defaults::PRECISION),
            early_stopping,
        })
    }
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}
