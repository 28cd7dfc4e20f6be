//! A training stopped after k epochs, saved, read back and resumed ends
//! exactly like the same training run in one go: bit-identical weights and
//! identical per-epoch metrics (issue 4, checkpoints and `pipeline resume`).
//! Each case covers optimizer buffers, a schedule, batch norm's running
//! statistics and dropout's random stream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use pipeline_data::{PreparedData, prepare};
use pipeline_spec::Spec;
use pipeline_train::observer::ObserverResult;
use pipeline_train::{
    EpochRecord, NoObserver, Observer, Outcome, StopReason, TrainError, TrainingState,
    initial_network, train,
};

fn diabetes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/data/diabetes.csv")
}

fn spec(optimizer: &str, extra: &str) -> Spec {
    spec_with(
        r#"{ type = "linear", units = 16 },
  { type = "batch_norm" },
  { type = "relu" },
  { type = "dropout", rate = 0.2 },
  { type = "linear", units = 1 },"#,
        optimizer,
        extra,
    )
}

fn spec_with(layers: &str, optimizer: &str, extra: &str) -> Spec {
    let text = format!(
        r#"
name = "resume"
seed = 7
[data]
path = "{}"
target = "target"
normalize = "zscore"
[model]
layers = [
  {layers}
]
[loss]
type = "mse"
{optimizer}
[train]
epochs = 6
batch_size = 64
{extra}
"#,
        diabetes().display()
    );
    Spec::parse(Path::new("resume.toml"), &text, &[]).unwrap()
}

fn data(spec: &Spec) -> PreparedData {
    prepare(&spec.data, &diabetes(), spec.seed).unwrap()
}

/// Keeps every checkpoint as bytes; raises `interrupt` after epoch `stop_after`.
struct Saver<'a> {
    saved: Vec<Vec<u8>>,
    stop_after: Option<u32>,
    interrupt: &'a AtomicBool,
}

impl Observer for Saver<'_> {
    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        if Some(record.epoch) == self.stop_after {
            self.interrupt.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        self.saved.push(state.to_bytes()?);
        Ok(())
    }
}

fn run(
    spec: &Spec,
    data: &PreparedData,
    stop_after: Option<u32>,
    start: Option<TrainingState>,
) -> (Outcome, Vec<Vec<u8>>) {
    let interrupt = AtomicBool::new(false);
    let mut saver = Saver {
        saved: Vec::new(),
        stop_after,
        interrupt: &interrupt,
    };
    let network = initial_network(spec, data, &Device::Cpu).unwrap();
    let outcome = train(
        spec,
        data,
        network,
        &Device::Cpu,
        &mut saver,
        &interrupt,
        start,
    )
    .unwrap();
    (outcome, saver.saved)
}

fn digest(outcome: &Outcome) -> String {
    let bytes = outcome
        .model
        .network
        .to_safetensors(HashMap::new())
        .unwrap();
    pipeline_model::weights_digest(&bytes).unwrap()
}

/// Epochs without their wall-clock time.
fn curves(outcome: &Outcome) -> Vec<EpochRecord> {
    outcome
        .history
        .iter()
        .map(|r| EpochRecord {
            seconds: 0.0,
            train_seconds: 0.0,
            ..r.clone()
        })
        .collect()
}

/// Interrupts after `k` epochs, resumes from the state the interrupted
/// training handed back (through its bytes), and compares with one sitting.
fn interrupted_and_resumed_match(spec: &Spec, k: u32) {
    let data = data(spec);
    let (whole, saved) = run(spec, &data, None, None);
    assert_eq!(whole.reason, StopReason::Completed);
    assert_eq!(saved.len(), 6, "one checkpoint per epoch");

    let (stopped, stopped_saved) = run(spec, &data, Some(k), None);
    assert_eq!(stopped.reason, StopReason::Interrupted);
    let state = stopped
        .state
        .as_ref()
        .expect("an interrupted run hands back its state");
    assert_eq!(state.epoch(), k);
    assert_eq!(stopped.history.len(), k as usize);
    let bytes = state.to_bytes().unwrap();
    // The state handed back is the one the observer saw after epoch k.
    assert_eq!(stopped_saved.len(), k as usize);
    assert!(bytes == stopped_saved[k as usize - 1], "same state");

    // The earlier epochs come back from the registry, not the checkpoint.
    let start = TrainingState::from_bytes(&bytes)
        .unwrap()
        .with_history(stopped.history.clone());
    let (resumed, later) = run(spec, &data, None, Some(start));
    assert_eq!(resumed.reason, StopReason::Completed);
    assert_eq!(
        later.len(),
        6 - k as usize,
        "checkpoints of the resumed epochs only"
    );
    assert_eq!(digest(&resumed), digest(&whole), "bit-identical weights");
    assert_eq!(
        curves(&resumed),
        curves(&whole),
        "identical per-epoch metrics"
    );
    assert_eq!(resumed.best_epoch, whole.best_epoch);
    assert_eq!(resumed.final_metrics, whole.final_metrics);
}

#[test]
fn the_dense_path_with_adamw_and_dropout_resumes_exactly() {
    // No batch norm: the dense path trains (crates/pipeline-model/src/dense).
    let spec = spec_with(
        r#"{ type = "linear", units = 16 },
  { type = "tanh" },
  { type = "dropout", rate = 0.2 },
  { type = "linear", units = 1 },"#,
        "[optimizer]\ntype = \"adamw\"\nlearning_rate = 0.01\nweight_decay = 0.01",
        "",
    );
    interrupted_and_resumed_match(&spec, 2);
}

#[test]
fn adam_with_cosine_warmup_and_dropout_resumes_exactly() {
    let spec = spec(
        "[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-2\nweight_decay = 1e-4\n\
         [optimizer.schedule]\ntype = \"cosine\"\nwarmup_epochs = 2\nt_max = 4\n",
        "",
    );
    interrupted_and_resumed_match(&spec, 3);
}

#[test]
fn rmsprop_with_one_cycle_per_batch_resumes_exactly() {
    let spec = spec(
        "[optimizer]\ntype = \"rmsprop\"\nlearning_rate = 1e-3\nmomentum = 0.5\ncentered = true\n\
         clip_grad_norm = 1.0\n[optimizer.schedule]\ntype = \"one_cycle\"\nmax_lr = 0.01\n",
        "",
    );
    interrupted_and_resumed_match(&spec, 2);
}

#[test]
fn sgd_with_plateau_and_early_stopping_resumes_exactly() {
    let spec = spec(
        "[optimizer]\ntype = \"sgd\"\nlearning_rate = 1e-4\nmomentum = 0.9\nnesterov = true\n\
         [optimizer.schedule]\ntype = \"plateau\"\npatience = 0\nfactor = 0.5\n",
        "[train.early_stopping]\npatience = 4\n",
    );
    interrupted_and_resumed_match(&spec, 4);
}

#[test]
fn a_state_saved_when_patience_ran_out_ends_at_once() {
    // lr 0 never improves after epoch 1: patience 2 stops after epoch 3.
    let spec = spec(
        "[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-12\n",
        "[train.early_stopping]\npatience = 2\nmin_delta = 1.0\n",
    );
    let data = data(&spec);
    let (whole, saved) = run(&spec, &data, None, None);
    assert_eq!(whole.reason, StopReason::EarlyStopped);
    assert_eq!(whole.history.len(), 3);
    let start = TrainingState::from_bytes(&saved[2]).unwrap();
    let (resumed, later) = run(&spec, &data, None, Some(start));
    assert_eq!(resumed.reason, StopReason::EarlyStopped);
    assert!(later.is_empty(), "no epoch trained");
    assert_eq!(digest(&resumed), digest(&whole));
    assert_eq!(resumed.final_metrics, whole.final_metrics);
}

#[test]
fn a_state_of_another_network_is_refused() {
    let adam = "[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n";
    let spec_a = spec(adam, "");
    let data = data(&spec_a);
    let (_, saved) = run(&spec_a, &data, Some(1), None);
    let text = spec_a.to_toml().replace("units = 16", "units = 8");
    let spec_b = Spec::parse(Path::new("b.toml"), &text, &[]).unwrap();
    let network = initial_network(&spec_b, &data, &Device::Cpu).unwrap();
    let start = TrainingState::from_bytes(&saved[0]).unwrap();
    let error = train(
        &spec_b,
        &data,
        network,
        &Device::Cpu,
        &mut NoObserver,
        &AtomicBool::new(false),
        Some(start),
    )
    .err()
    .expect("refused");
    assert!(matches!(error, TrainError::State(_)), "{error}");
    assert!(TrainingState::from_bytes(b"not a state").is_err());
}

#[test]
fn f16_resumes_with_its_loss_scale() {
    // The unnormalized target (~150) makes the first scaled f16 gradients
    // overflow: the scale halves over the first steps, and a resumed run
    // that started again from 2¹⁶ would skip steps the whole one did not.
    let spec = spec(
        "[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-2\n",
        "precision = \"f16\"",
    );
    interrupted_and_resumed_match(&spec, 2);
}

#[test]
fn a_checkpoint_does_not_grow_with_the_epochs() {
    // Issue 18: the history in the header outgrew safetensors' limit after
    // some 200,000 epochs; the registry keeps the history instead.
    let spec = spec_with(
        r#"{ type = "linear", units = 1 },"#,
        "[optimizer]\ntype = \"sgd\"\nlearning_rate = 1e-3\n",
        "",
    );
    let text = spec
        .to_toml()
        .replace("epochs = 6", "epochs = 1000")
        .replace("batch_size = 64", "batch_size = 512");
    let spec = Spec::parse(Path::new("long.toml"), &text, &[]).unwrap();
    let data = data(&spec);
    let (outcome, saved) = run(&spec, &data, None, None);
    assert_eq!(outcome.history.len(), 1000);
    let (tenth, last) = (saved[9].len(), saved[999].len());
    // Counters written as decimal text may gain a few digits; no more.
    assert!(
        last <= tenth + 32,
        "epoch 10: {tenth} bytes, epoch 1000: {last} bytes"
    );
}

#[test]
fn a_state_of_format_1_with_its_history_is_still_read() {
    let spec = spec("[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n", "");
    let data = data(&spec);
    let (_, saved) = run(&spec, &data, Some(2), None);
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&saved[1]).unwrap();
    // The state's one metadata key holds its JSON header.
    let (key, json) = metadata.metadata().as_ref().unwrap().iter().next().unwrap();
    let mut header: serde_json::Value = serde_json::from_str(json).unwrap();
    header["format"] = 1.into();
    header["history"] = serde_json::json!([{ "epoch": 1, "train": [["loss", 0]] }]);
    let tensors = candle_core::safetensors::load_buffer(&saved[1], &Device::Cpu).unwrap();
    let metadata = HashMap::from([(key.clone(), header.to_string())]);
    let old = safetensors::serialize(&tensors, Some(metadata)).unwrap();
    let state = TrainingState::from_bytes(&old).unwrap();
    assert_eq!(state.epoch(), 2);
}
