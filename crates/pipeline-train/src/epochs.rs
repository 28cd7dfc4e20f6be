//! The epoch loop of [`crate::train_with`]: each epoch's shuffled batches,
//! its scores on the training and validation splits, the best epoch by the
//! monitored metric, the checkpoint handed to the observer, early stopping,
//! and the outcome with the final scores. Everything that changes from
//! epoch to epoch is held here, so that each step is a short method.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Device;
use pipeline_data::PreparedData;
use pipeline_model::{Network, Scheduler};
use pipeline_spec::{Spec, SplitName};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::engine::{Stepper, TrainRows};
use crate::error::TrainError;
use crate::observer::{EpochRecord, Observer};
use crate::state::{BestEpoch, TrainingState};
use crate::trainer::{
    Outcome, Scoring, Split, StopReason, TrainedModel, early_stop_due, huge_target,
};

/// The loop's moving parts. `state` is refreshed after every epoch: it is
/// what observers save and what an interrupted run hands back.
pub(crate) struct EpochLoop<'a> {
    pub spec: &'a Spec,
    pub data: &'a PreparedData,
    pub network: Network,
    pub scoring: &'a Scoring<'a>,
    pub rows: TrainRows<'a>,
    pub train: &'a Split,
    pub validation: &'a Split,
    pub stepper: Stepper,
    pub scheduler: Scheduler,
    pub observer: &'a mut dyn Observer,
    pub interrupt: &'a AtomicBool,
    pub order: Vec<u32>,
    pub order_rng: ChaCha8Rng,
    pub dropout_rng: ChaCha8Rng,
    pub state: TrainingState,
    /// The finished epochs.
    pub history: Vec<EpochRecord>,
}

impl EpochLoop<'_> {
    /// Trains the epochs after the state's last one; why they ended.
    pub fn run(&mut self) -> Result<StopReason, TrainError> {
        // Nothing left to train after a state whose epoch stopped the run
        // early.
        if early_stop_due(self.spec, &self.state) {
            return Ok(StopReason::EarlyStopped);
        }
        for epoch in self.state.epochs_done + 1..=self.spec.train.epochs {
            let started = Instant::now();
            let learning_rate = self.scheduler.learning_rate();
            if !self.train_batches(epoch)? {
                return Ok(StopReason::Interrupted);
            }
            let train_seconds = started.elapsed().as_secs_f64();
            self.stepper.sync()?;
            let record = self.score(epoch, learning_rate, started, train_seconds)?;
            self.checkpoint(record)?;
            if early_stop_due(self.spec, &self.state) {
                return Ok(StopReason::EarlyStopped);
            }
        }
        Ok(StopReason::Completed)
    }

    /// One epoch's batches in a fresh order; `false` when interrupted (the
    /// epoch is dropped).
    fn train_batches(&mut self, epoch: u32) -> Result<bool, TrainError> {
        self.order.shuffle(&mut self.order_rng);
        let batch_size = self.spec.train.batch_size as usize;
        for (batch, chunk) in self.order.chunks(batch_size).enumerate() {
            if self.interrupt.load(Ordering::Relaxed) {
                self.stepper.sync()?;
                return Ok(false);
            }
            let value = self.stepper.step(
                &self.network,
                &self.scoring.criterion,
                &self.rows,
                chunk,
                self.scheduler.learning_rate(),
                &mut self.dropout_rng,
            )?;
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    what: "training loss".into(),
                    epoch,
                    batch: Some(batch + 1),
                    value: f64::from(value),
                    huge_target: huge_target(self.spec, self.data),
                });
            }
            self.scheduler.batch_done();
            self.observer.on_batch(epoch, batch + 1);
        }
        Ok(true)
    }

    /// The epoch's metrics on the training and validation splits; keeps
    /// its weights when the monitored metric improved, and moves the
    /// schedule on. The epoch trained at `learning_rate` from `started`,
    /// its batches in `train_seconds`.
    fn score(
        &mut self,
        epoch: u32,
        learning_rate: f64,
        started: Instant,
        train_seconds: f64,
    ) -> Result<EpochRecord, TrainError> {
        let monitor = self.spec.train.monitor;
        let train = self.scoring.metrics(&self.network, self.train)?;
        let validation = self.scoring.metrics(&self.network, self.validation)?;
        let current = match monitor.split {
            SplitName::Train => train.get(monitor.metric),
            _ => validation.get(monitor.metric),
        }
        .unwrap_or(f64::NAN);
        let checks = [
            ("training loss".to_string(), train.loss()),
            (format!("monitored {monitor}"), current),
        ];
        if let Some((what, value)) = checks.into_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite {
                what,
                epoch,
                batch: None,
                value,
                huge_target: huge_target(self.spec, self.data),
            });
        }
        let min_delta = self.spec.train.early_stopping.map_or(0.0, |e| e.min_delta);
        let improved = match &self.state.best {
            None => current.is_finite(),
            Some(best) => monitor
                .metric
                .direction()
                .improves(current, best.value, min_delta),
        };
        if improved {
            self.state.best = Some(BestEpoch {
                epoch,
                value: current,
                weights: self.network.snapshot()?,
            });
        }
        self.scheduler.epoch_done(current);
        Ok(EpochRecord {
            epoch,
            train,
            validation,
            improved,
            learning_rate,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
        })
    }

    /// Reports the finished epoch, then refreshes the state after it and
    /// hands it to the observer to save.
    fn checkpoint(&mut self, record: EpochRecord) -> Result<(), TrainError> {
        self.observer
            .on_epoch(&record)
            .map_err(TrainError::Observer)?;
        let epoch = record.epoch;
        self.history.push(record);
        let state = &mut self.state;
        state.epochs_done = epoch;
        state.weights = self.network.snapshot()?;
        state.optimizer = self.stepper.optimizer_state()?;
        state.scheduler = self.scheduler.state();
        state.loss_scale = self.stepper.loss_scale();
        state.order.clone_from(&self.order);
        state.order_rng = self.order_rng.clone();
        state.dropout_rng = self.dropout_rng.clone();
        self.observer
            .on_checkpoint(state)
            .map_err(TrainError::Observer)
    }

    /// The outcome once the loop ended for `reason`: the best epoch's
    /// weights restored (`train.restore_best`, also when interrupted), and
    /// unless interrupted, the final scores on every split.
    pub fn finish(self, reason: StopReason, device: &Device) -> Result<Outcome, TrainError> {
        let best_epoch = self.state.best_epoch();
        if self.spec.train.restore_best
            && let Some(best) = &self.state.best
        {
            self.network.restore(&best.weights)?;
        }
        let (final_metrics, final_reports) = if reason == StopReason::Interrupted {
            (None, None)
        } else {
            let test = Split::new(&self.data.test, device)?;
            self.scoring
                .final_scores(&self.network, [self.train, self.validation, &test])?
        };
        let state = (reason == StopReason::Interrupted).then_some(self.state);
        Ok(Outcome {
            reason,
            history: self.history,
            best_epoch,
            final_metrics,
            final_reports,
            state,
            model: TrainedModel {
                network: self.network,
                device: device.clone(),
            },
        })
    }
}
