//! Runs started as a library call, without the `pipeline` binary (issue
//! 19): a tiny MLP trains two epochs on 30 rows written here into a real
//! SQLite registry in a temp directory, and the registry holds a completed
//! run with its weights and metrics; a stop flag set before or while
//! training leaves the run `killed`; a killed run resumes to completion;
//! two folds cross-validate as one queue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// A unit-test module (one test binary fewer to link than a `tests/` file),
// written against the public API as a caller would use it.
use crate as pipeline_run;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use pipeline_registry::{ArtifactKind, Epochs, Registry, RunId, RunRecord, RunStatus};
use pipeline_run::{
    Ending, Killed, Labels, Planned, RunSummary, Started, Store, Verdict, Watcher, train_all,
};
use pipeline_spec::Spec;
use pipeline_train::observer::ObserverResult;
use pipeline_train::{EpochRecord, Observer};

/// 30 rows of `y = 2·a − b + 0.5`, a regression a linear layer learns.
fn write_data(dir: &Path) {
    let mut csv = String::from("a,b,y\n");
    for i in 0..30 {
        let a = f64::from(i) / 10.0;
        let b = f64::from((i * 7) % 11) / 5.0;
        csv.push_str(&format!("{a},{b},{}\n", 2.0 * a - b + 0.5));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
}

/// A spec of a tiny MLP trained `epochs` epochs on `rows.csv`.
fn write_spec(dir: &Path, name: &str, epochs: u32) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"name = "{name}"
seed = 7

[data]
path = "rows.csv"
target = "y"
split = {{ train = 0.6, validation = 0.2, test = 0.2 }}

[model]
layers = [
  {{ type = "linear", units = 4 }},
  {{ type = "relu" }},
  {{ type = "linear", units = 1 }},
]

[loss]
type = "mse"

[optimizer]
type = "adam"
learning_rate = 1e-2

[train]
epochs = {epochs}
batch_size = 8
device = "cpu"
"#
        ),
    )
    .unwrap();
    path
}

fn plan(path: &Path) -> Planned {
    Planned::of(Spec::load(path, &[]).unwrap()).unwrap()
}

/// What the watcher saw, in order.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
    summaries: Vec<RunSummary>,
    /// Sets this flag when the first epoch ends (a Ctrl-C mid-run).
    stop_after_first_epoch: Option<&'static AtomicBool>,
}

impl Observer for Seen {
    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        self.events.push(format!("epoch {}", record.epoch));
        if let Some(stop) = self.stop_after_first_epoch {
            stop.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Watcher for Seen {
    fn queued(&mut self, ids: &[RunId]) {
        self.events.push(format!("queued {}", ids.len()));
    }

    fn started(&mut self, run: &Started<'_>) {
        self.events.push(format!("started {}", run.spec.name));
    }

    fn killed(&mut self, killed: &Killed<'_>) {
        self.events.push(format!("killed: {}", killed.message));
    }

    fn completed(&mut self, summary: &RunSummary) -> Result<(), pipeline_run::WatcherError> {
        self.events.push("completed".into());
        self.summaries.push(summary.clone());
        Ok(())
    }
}

struct Registered {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    registry: Registry,
}

fn registry() -> Registered {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    write_data(&path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = runtime
        .block_on(Registry::open(&path.join("registry.db")))
        .unwrap();
    Registered {
        _dir: dir,
        dir: path,
        runtime,
        registry,
    }
}

impl Registered {
    fn store(&self) -> Store<'_> {
        Store::new(&self.registry, &self.runtime)
    }

    fn record(&self, id: &RunId) -> RunRecord {
        self.runtime
            .block_on(self.registry.run_with(id, Epochs::All))
            .unwrap()
    }
}

#[test]
fn a_run_trains_into_the_registry_with_its_weights_and_metrics() {
    let registered = registry();
    let spec = write_spec(&registered.dir, "tiny", 2);
    let labels = Labels {
        tags: vec!["library".into()],
        note: Some("started by a test".into()),
        name: None,
        trial: None,
    };
    let stop = AtomicBool::new(false);
    let mut seen = Seen::default();
    let trained = train_all(
        registered.store(),
        vec![plan(&spec)],
        &labels,
        &stop,
        &mut seen,
    )
    .unwrap();

    assert_eq!(trained.verdict, Verdict::Completed);
    let [(id, Ending::Completed(finished))] = trained.runs.as_slice() else {
        panic!("one completed run: {:?}", trained.runs);
    };
    assert_eq!(finished.epochs, 2);
    assert_eq!(
        seen.events,
        ["started tiny", "epoch 1", "epoch 2", "completed"]
    );
    let summary = &seen.summaries[0];
    assert_eq!(&summary.id, id);
    assert_eq!(summary.epochs_run, 2);

    let record = registered.record(id);
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.epochs_run, 2);
    assert_eq!(record.tags, ["library"]);
    assert_eq!(record.note.as_deref(), Some("started by a test"));
    let weights = record.artifact(ArtifactKind::Weights).expect("weights");
    registered
        .runtime
        .block_on(registered.registry.verify_artifact(weights))
        .unwrap();
    assert!(record.artifact(ArtifactKind::Preprocessing).is_some());
    assert!(record.weights_digest.is_some());
    for split in ["train", "validation", "test"] {
        let loss = record
            .final_metrics
            .iter()
            .find(|m| m.split == split && m.metric == "loss")
            .unwrap_or_else(|| panic!("no final {split} loss"));
        assert!(loss.value.is_finite(), "{split} loss {}", loss.value);
    }
    // Both epochs' curves: train and validation loss, and the learning rate.
    let epochs: Vec<u32> = record.epochs.iter().map(|m| m.epoch).collect();
    assert!(epochs.contains(&1) && epochs.contains(&2), "{epochs:?}");
    // The summary `pipeline run --json` prints, fields in order.
    let json = serde_json::to_value(summary).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "experiment",
            "status",
            "stop_reason",
            "epochs_run",
            "best_epoch",
            "seconds",
            "train_seconds",
            "metrics"
        ]
    );
}

#[test]
fn a_stop_flag_set_before_training_kills_every_queued_run() {
    let registered = registry();
    let first = write_spec(&registered.dir, "first", 2);
    let second = write_spec(&registered.dir, "second", 2);
    let stop = AtomicBool::new(true);
    let mut seen = Seen::default();
    let trained = train_all(
        registered.store(),
        vec![plan(&first), plan(&second)],
        &Labels::default(),
        &stop,
        &mut seen,
    )
    .unwrap();

    assert_eq!(trained.verdict, Verdict::Interrupted);
    assert_eq!(trained.runs.len(), 2);
    for (id, ending) in &trained.runs {
        assert!(matches!(ending, Ending::Killed { .. }), "{ending:?}");
        let record = registered.record(id);
        assert_eq!(record.status, RunStatus::Killed);
        assert!(record.artifact(ArtifactKind::Weights).is_none());
    }
    assert_eq!(
        seen.events,
        [
            "queued 2",
            "started first",
            "killed: interrupted after 0 finished epoch(s)",
            "killed: interrupted before it started"
        ]
    );
}

#[test]
fn a_stop_flag_set_while_training_kills_the_run_and_keeps_its_epochs() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let registered = registry();
    let spec = write_spec(&registered.dir, "stopped", 50);
    let mut seen = Seen {
        stop_after_first_epoch: Some(&STOP),
        ..Seen::default()
    };
    let trained = train_all(
        registered.store(),
        vec![plan(&spec)],
        &Labels::default(),
        &STOP,
        &mut seen,
    )
    .unwrap();

    assert_eq!(trained.verdict, Verdict::Interrupted);
    let [(id, Ending::Killed { .. })] = trained.runs.as_slice() else {
        panic!("one killed run: {:?}", trained.runs);
    };
    let record = registered.record(id);
    assert_eq!(record.status, RunStatus::Killed);
    assert!(
        record.epochs_run >= 1 && record.epochs_run < 50,
        "{}",
        record.epochs_run
    );
    assert!(
        record
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("interrupted after")
    );
    // Resumable: the state after its last finished epoch is kept.
    assert!(record.artifact(ArtifactKind::CheckpointLast).is_some());
}

#[test]
fn two_folds_train_as_one_queue_and_report_their_mean() {
    let registered = registry();
    let spec = write_spec(&registered.dir, "folded", 2);
    let loaded = Spec::load(&spec, &[]).unwrap();
    let plans = pipeline_run::plan_folds(&loaded, 2).unwrap();
    let group = pipeline_run::new_group();
    let stop = AtomicBool::new(false);
    let mut seen = Seen::default();
    let validated = pipeline_run::cross_validate(
        registered.store(),
        plans,
        &group,
        &Labels::default(),
        &stop,
        &mut seen,
    )
    .unwrap();

    assert_eq!(validated.trained.verdict, Verdict::Completed);
    let report = &validated.report;
    assert!(report.complete);
    assert_eq!(report.incomplete(), 0);
    for (fold, (id, _)) in validated.trained.runs.iter().enumerate() {
        let record = registered.record(id);
        assert_eq!(record.status, RunStatus::Completed);
        assert!(record.tags.contains(&group), "{:?}", record.tags);
        assert!(record.tags.contains(&format!("fold:{}/2", fold + 1)));
    }
    // The JSON `pipeline run --folds 2 --json` prints, fields in order.
    let json = serde_json::to_value(report).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "group",
            "experiment",
            "folds",
            "seed",
            "complete",
            "runs",
            "mean",
            "std"
        ]
    );
    let run = json["runs"][0].as_object().unwrap();
    let keys: Vec<&str> = run.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "fold",
            "id",
            "rows",
            "status",
            "best_epoch",
            "epochs_run",
            "seconds",
            "metrics"
        ]
    );
    let mean = json["mean"]["validation"]["loss"].as_f64().unwrap();
    let losses: Vec<f64> = report
        .values(
            pipeline_spec::SplitName::Validation,
            pipeline_spec::MetricName::Loss,
        )
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!((mean - (losses[0] + losses[1]) / 2.0).abs() < 1e-12);
}

#[test]
fn a_killed_run_resumes_from_its_checkpoint_to_completion() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let registered = registry();
    let spec = write_spec(&registered.dir, "resumed", 4);
    let mut seen = Seen {
        stop_after_first_epoch: Some(&STOP),
        ..Seen::default()
    };
    let trained = train_all(
        registered.store(),
        vec![plan(&spec)],
        &Labels::default(),
        &STOP,
        &mut seen,
    )
    .unwrap();
    let (id, _) = &trained.runs[0];
    let killed = registered.record(id);
    assert_eq!(killed.status, RunStatus::Killed);

    let resumption = pipeline_run::prepare_resume(registered.store(), &killed).unwrap();
    assert_eq!(resumption.after, killed.epochs_run);
    let stop = AtomicBool::new(false);
    let mut seen = Seen::default();
    let verdict = pipeline_run::resume_one(
        registered.store(),
        resumption.plan,
        id,
        resumption.state,
        &stop,
        &mut seen,
    )
    .unwrap();

    assert_eq!(verdict, Verdict::Completed);
    let record = registered.record(id);
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.epochs_run, 4);
    assert!(record.artifact(ArtifactKind::Weights).is_some());
    // A completed run is not resumable.
    let refused = pipeline_run::prepare_resume(registered.store(), &record);
    assert!(
        matches!(refused, Err(pipeline_run::RunError::User { .. })),
        "{:?}",
        refused.err()
    );
}
