//! The state of a training between two epochs: everything [`crate::train`]
//! needs to continue as if it had never stopped, so that a run trained in
//! two sittings ends with the same weights, bit for bit, as one trained in
//! one. That is the weights, the optimizer's buffers and step count, where
//! the schedule stands, the batch order and both random streams (order and
//! dropout), the best epoch with its weights and monitored value (from
//! which, with the finished epochs, the early-stopping count follows).
//!
//! It holds no per-epoch history: the registry records every finished epoch
//! before a state is saved, so a state's size does not grow with the epochs
//! (format 1 kept the history in the header, about 455 bytes an epoch, until
//! the header outgrew safetensors' limit after some 200,000 epochs). Whoever
//! resumes hands the earlier epochs back with [`TrainingState::with_history`].
//!
//! On disk it is one safetensors file: tensors `weights.<name>` and
//! `best.<name>` (the parameters and buffers such as batch norm's running
//! statistics, named as in the weights file: `0.weight`, `1.running_mean`,
//! …), `optimizer.<parameter>.<buffer>` and `batches.order` (u32), and the
//! rest as JSON in
//! the metadata key [`METADATA_KEY`]. Floating-point values are stored as
//! their bit patterns so that they come back exactly (infinities included).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use pipeline_data::PreparedData;
use pipeline_model::{Network, OptimizerState, SchedulerState, SlotState};
use pipeline_spec::Spec;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::observer::EpochRecord;
use crate::precision::LossScaler;

/// The metadata key holding the JSON part of a saved state.
pub const METADATA_KEY: &str = "pipeline.training_state";

/// The version of the file layout this build writes.
const FORMAT: u32 = 2;

/// Format 1 also held the finished epochs' history, which is not read.
const FORMAT_WITH_HISTORY: u32 = 1;

/// A training stopped after [`TrainingState::epoch`] finished epochs.
#[derive(Clone)]
pub struct TrainingState {
    pub(crate) epochs_done: u32,
    /// Names of the network's snapshot: parameters, then buffers.
    pub(crate) names: Vec<String>,
    /// Trainable parameters' names (the optimizer's slots), in order.
    pub(crate) parameters: Vec<String>,
    /// The network's snapshot, in the order of `names`.
    pub(crate) weights: Vec<Tensor>,
    pub(crate) optimizer: OptimizerState,
    pub(crate) scheduler: SchedulerState,
    /// The batch order of the last epoch (each epoch shuffles the previous one).
    pub(crate) order: Vec<u32>,
    pub(crate) order_rng: ChaCha8Rng,
    pub(crate) dropout_rng: ChaCha8Rng,
    pub(crate) best: Option<BestEpoch>,
    /// The epochs finished before this state, when the caller supplied them
    /// ([`TrainingState::with_history`]); never saved.
    pub(crate) history: Vec<EpochRecord>,
    /// f16's dynamic loss scale (`train.precision = "f16"` only).
    pub(crate) loss_scale: Option<LossScaler>,
}

/// The best epoch so far by the monitored metric.
#[derive(Clone)]
pub(crate) struct BestEpoch {
    pub(crate) epoch: u32,
    pub(crate) value: f64,
    pub(crate) weights: Vec<Tensor>,
}

impl TrainingState {
    /// Epochs finished (the next one to train is this plus one).
    pub fn epoch(&self) -> u32 {
        self.epochs_done
    }

    /// The best epoch so far (1-based), if any.
    pub fn best_epoch(&self) -> Option<u32> {
        self.best.as_ref().map(|b| b.epoch)
    }

    /// This state with the records of its finished epochs (1 to
    /// [`TrainingState::epoch`], as the registry recorded them): a training
    /// resumed from it starts its [`crate::Outcome::history`] with them. A
    /// saved state does not hold them.
    pub fn with_history(mut self, history: Vec<EpochRecord>) -> TrainingState {
        self.history = history;
        self
    }

    /// The best epoch's weights as a weights file (the names and layout of
    /// `Network::to_safetensors`), with `metadata`; `None` before a best epoch.
    pub fn best_weights(
        &self,
        metadata: HashMap<String, String>,
    ) -> Result<Option<Vec<u8>>, TrainError> {
        let Some(best) = &self.best else {
            return Ok(None);
        };
        let tensors = self
            .names
            .iter()
            .zip(&best.weights)
            .map(|(name, t)| Ok((name.clone(), t.to_device(&Device::Cpu)?)))
            .collect::<Result<Vec<_>, TrainError>>()?;
        let bytes =
            safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
                .map_err(|e| TrainError::State(format!("cannot encode the best weights: {e}")))?;
        Ok(Some(bytes))
    }

    /// The state as one safetensors file (see the module documentation).
    pub fn to_bytes(&self) -> Result<Vec<u8>, TrainError> {
        let cpu = |t: &Tensor| t.to_device(&Device::Cpu);
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for (name, weight) in self.names.iter().zip(&self.weights) {
            tensors.push((format!("weights.{name}"), cpu(weight)?));
        }
        if let Some(best) = &self.best {
            for (name, weight) in self.names.iter().zip(&best.weights) {
                tensors.push((format!("best.{name}"), cpu(weight)?));
            }
        }
        for (name, slot) in self.parameters.iter().zip(&self.optimizer.slots) {
            for (buffer, tensor) in slot.named() {
                if let Some(tensor) = tensor {
                    tensors.push((format!("optimizer.{name}.{buffer}"), cpu(tensor)?));
                }
            }
        }
        let order = Tensor::from_slice(&self.order, self.order.len(), &Device::Cpu)?;
        tensors.push(("batches.order".into(), order));

        let header = Header {
            format: FORMAT,
            epochs_done: self.epochs_done,
            tensors: self.names.clone(),
            parameters: self.parameters.clone(),
            optimizer_step: self.optimizer.step,
            scheduler: SavedScheduler::from(&self.scheduler),
            order_rng: SavedRng::from(&self.order_rng),
            dropout_rng: SavedRng::from(&self.dropout_rng),
            best: self.best.as_ref().map(|b| SavedBest {
                epoch: b.epoch,
                value: b.value.to_bits(),
            }),
            _history: None,
            loss_scale: self.loss_scale.map(|l| SavedLossScale {
                scale: l.scale.to_bits(),
                clean_steps: l.clean_steps,
            }),
        };
        let json = serde_json::to_string(&header)
            .map_err(|e| TrainError::State(format!("cannot encode the state: {e}")))?;
        // One metadata key: the file's bytes do not depend on a map's order.
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| TrainError::State(format!("cannot encode the state: {e}")))
    }

    /// Reads a state written by [`TrainingState::to_bytes`]. Its fit to a
    /// spec, data and network is checked when training resumes from it.
    pub fn from_bytes(bytes: &[u8]) -> Result<TrainingState, TrainError> {
        let invalid = |detail: String| TrainError::State(detail);
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| invalid(format!("not a safetensors file: {e}")))?;
        let json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| invalid(format!("no `{METADATA_KEY}` metadata")))?;
        let header: Header = serde_json::from_str(json)
            .map_err(|e| invalid(format!("unreadable `{METADATA_KEY}` metadata: {e}")))?;
        if header.format != FORMAT && header.format != FORMAT_WITH_HISTORY {
            return Err(invalid(format!(
                "file format {} (this build reads {FORMAT_WITH_HISTORY} and {FORMAT})",
                header.format
            )));
        }
        let mut tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        let mut take = |key: String| {
            tensors
                .remove(&key)
                .ok_or_else(|| invalid(format!("no tensor `{key}`")))
        };
        let names = header.tensors;
        let parameters = header.parameters;
        let weights = names
            .iter()
            .map(|name| take(format!("weights.{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        let best = match header.best {
            None => None,
            Some(saved) => Some(BestEpoch {
                epoch: saved.epoch,
                value: f64::from_bits(saved.value),
                weights: names
                    .iter()
                    .map(|name| take(format!("best.{name}")))
                    .collect::<Result<Vec<_>, _>>()?,
            }),
        };
        let order = take("batches.order".into())?;
        if order.dtype() != DType::U32 || order.rank() != 1 {
            return Err(invalid("`batches.order` is not a list of u32".into()));
        }
        let order = order.to_vec1::<u32>()?;
        let mut slots = vec![SlotState::default(); parameters.len()];
        for (name, slot) in parameters.iter().zip(slots.iter_mut()) {
            for buffer in ["buffer", "first", "second", "mean"] {
                if let Some(tensor) = tensors.remove(&format!("optimizer.{name}.{buffer}")) {
                    slot.set(buffer, tensor);
                }
            }
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(invalid(format!("unexpected tensor `{extra}`")));
        }
        Ok(TrainingState {
            epochs_done: header.epochs_done,
            names,
            parameters,
            weights,
            optimizer: OptimizerState {
                step: header.optimizer_step,
                slots,
            },
            scheduler: header.scheduler.into(),
            order,
            order_rng: header.order_rng.rng()?,
            dropout_rng: header.dropout_rng.rng()?,
            best,
            history: Vec::new(),
            loss_scale: header.loss_scale.map(|l| LossScaler {
                scale: f64::from_bits(l.scale),
                clean_steps: l.clean_steps,
            }),
        })
    }

    /// Refuses a state that does not belong to a training of `spec` on
    /// `data` with `network`: other parameters or shapes, another number of
    /// training rows, more epochs than the spec trains. [`crate::train`]
    /// checks this too; callers may check first, before committing to resume.
    pub fn check_fits(
        &self,
        spec: &Spec,
        data: &PreparedData,
        network: &Network,
    ) -> Result<(), TrainError> {
        let names = network.snapshot_names();
        let shapes: Vec<Vec<usize>> = network
            .snapshot()?
            .iter()
            .map(|t| t.dims().to_vec())
            .collect();
        let rows = data.train.rows;
        let epochs = spec.train.epochs;
        let invalid = |detail: String| Err(TrainError::State(detail));
        if self.names != names || self.parameters != network.parameter_names() {
            return invalid(format!(
                "its tensors are {}, the network's {}",
                self.names.join(", "),
                names.join(", ")
            ));
        }
        let tensors = self
            .weights
            .iter()
            .chain(self.best.iter().flat_map(|b| &b.weights));
        for (index, tensor) in tensors.enumerate() {
            let expected = &shapes[index % shapes.len().max(1)];
            if tensor.dims() != expected.as_slice() {
                return invalid(format!(
                    "parameter `{}` has shape {:?}, the network's {expected:?}",
                    self.names[index % self.names.len().max(1)],
                    tensor.dims()
                ));
            }
        }
        let mut seen = vec![false; rows];
        let permutation = self.order.len() == rows
            && self.order.iter().all(|&i| {
                seen.get_mut(i as usize)
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
        if !permutation {
            return invalid(format!(
                "its batch order is not an order of the {rows} training rows"
            ));
        }
        if self.epochs_done > epochs {
            return invalid(format!(
                "it has {} finished epoch(s) of {epochs}",
                self.epochs_done
            ));
        }
        if self
            .best
            .as_ref()
            .is_some_and(|b| b.epoch == 0 || b.epoch > self.epochs_done)
        {
            return invalid("its best epoch is not one of its finished epochs".into());
        }
        Ok(())
    }
}

/// The JSON part of a saved state.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: u32,
    epochs_done: u32,
    /// The weights' tensors: parameters, then buffers.
    tensors: Vec<String>,
    /// The parameters the optimizer updates.
    parameters: Vec<String>,
    optimizer_step: i32,
    scheduler: SavedScheduler,
    order_rng: SavedRng,
    dropout_rng: SavedRng,
    best: Option<SavedBest>,
    /// Format 1's per-epoch history: skipped when read, never written.
    #[serde(default, skip_serializing, rename = "history")]
    _history: Option<serde::de::IgnoredAny>,
    /// Absent in states saved before it was kept, and for f32 and bf16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loss_scale: Option<SavedLossScale>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedLossScale {
    /// f64 bits.
    scale: u64,
    clean_steps: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedScheduler {
    /// f64 bits.
    learning_rate: u64,
    epochs: u32,
    batches: u64,
    /// f64 bits.
    plateau_best: u64,
    plateau_bad_epochs: u32,
    plateau_cooldown_left: u32,
}

impl From<&SchedulerState> for SavedScheduler {
    fn from(s: &SchedulerState) -> Self {
        SavedScheduler {
            learning_rate: s.learning_rate.to_bits(),
            epochs: s.epochs,
            batches: s.batches as u64,
            plateau_best: s.plateau_best.to_bits(),
            plateau_bad_epochs: s.plateau_bad_epochs,
            plateau_cooldown_left: s.plateau_cooldown_left,
        }
    }
}

impl From<SavedScheduler> for SchedulerState {
    fn from(s: SavedScheduler) -> Self {
        SchedulerState {
            learning_rate: f64::from_bits(s.learning_rate),
            epochs: s.epochs,
            batches: s.batches as usize,
            plateau_best: f64::from_bits(s.plateau_best),
            plateau_bad_epochs: s.plateau_bad_epochs,
            plateau_cooldown_left: s.plateau_cooldown_left,
        }
    }
}

/// A ChaCha8 stream: its seed, stream number and position in 32-bit words
/// (text: JSON numbers stop at 2^53).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedRng {
    seed: String,
    stream: String,
    word_pos: String,
}

impl From<&ChaCha8Rng> for SavedRng {
    fn from(rng: &ChaCha8Rng) -> Self {
        SavedRng {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream().to_string(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }
}

impl SavedRng {
    fn rng(&self) -> Result<ChaCha8Rng, TrainError> {
        let invalid = || TrainError::State("unreadable random stream".into());
        let mut seed = [0u8; 32];
        if self.seed.len() != 64 || !self.seed.is_ascii() {
            return Err(invalid());
        }
        for (i, byte) in seed.iter_mut().enumerate() {
            let hex = self.seed.get(2 * i..2 * i + 2).ok_or_else(invalid)?;
            *byte = u8::from_str_radix(hex, 16).map_err(|_| invalid())?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream.parse().map_err(|_| invalid())?);
        rng.set_word_pos(self.word_pos.parse().map_err(|_| invalid())?);
        Ok(rng)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedBest {
    epoch: u32,
    /// f64 bits.
    value: u64,
}
