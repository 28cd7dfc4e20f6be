//! Workers (issue 23): `run --submit` queues runs and sweep trials,
//! `pipeline worker` claims and trains them under leases; a SIGTERMed worker
//! hands its run back after a checkpoint, a stalled one is reaped and writes
//! nothing after it wakes, a deterministic failure is not retried, a lease
//! lost on the last attempt fails the run. On both backends unless said.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, Workspace, mlp_spec, repo_root};

/// SimpleNN on diabetes without early stopping, for `epochs` epochs.
fn long_spec(ws: &Workspace, epochs: u32) -> String {
    let data = repo_root().join("experiments/data/diabetes.csv");
    let spec = format!(
        "name = \"diabetes-long\"\nseed = 42\n\n[data]\npath = {data:?}\ntarget = \"target\"\n\
         normalize = \"zscore\"\nsplit = {{ train = 0.70, validation = 0.15, test = 0.15 }}\n\n\
         [model]\nlayers = [{{ type = \"linear\", units = 64 }}, {{ type = \"relu\" }}, \
         {{ type = \"linear\", units = 1 }}]\n\n[loss]\ntype = \"mse\"\n\n[optimizer]\n\
         type = \"adam\"\nlearning_rate = 1e-3\n\n[train]\nepochs = {epochs}\nbatch_size = 32\n"
    );
    ws.write("long.toml", &spec).display().to_string()
}

/// `pipeline worker ARGS` running in the background, its stderr in a file.
fn spawn_worker(ws: &Workspace, name: &str, args: &[&str]) -> Child {
    let log = std::fs::File::create(ws.path().join(format!("{name}.err"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .env("NO_COLOR", "1")
        .arg("worker")
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn log_of(ws: &Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(format!("{name}.err"))).unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (at most a minute) until `ready`.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn epochs_run(ws: &Workspace) -> i64 {
    ws.try_query::<i64>("SELECT epochs_run FROM runs")
        .ok()
        .and_then(|rows| rows.first().copied())
        .unwrap_or(0)
}

/// Submits the long spec (one run) and returns its id.
fn submit_long(ws: &Workspace, epochs: u32, extra: &[&str]) -> String {
    let spec = long_spec(ws, epochs);
    let mut args = vec!["run", spec.as_str(), "--submit", "--json"];
    args.extend(extra);
    let submitted: serde_json::Value = serde_json::from_str(&ws.ok(&args)).unwrap();
    submitted["runs"][0].as_str().unwrap().to_owned()
}

#[test]
fn submitted_runs_and_a_sweep_are_trained_by_two_workers() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let runs = ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        spec.to_str().unwrap(),
        "--submit",
        "--set",
        "train.epochs=3",
    ]);
    assert_eq!(runs.lines().count(), 2, "{runs}");
    let sweep_spec = repo_root().join("experiments/sweep.toml");
    let sweep = ws.ok(&[
        "run",
        sweep_spec.to_str().unwrap(),
        "--submit",
        "--set",
        "sweep.trials=4",
        "--set",
        "sweep.method=random",
        "--set",
        "train.epochs=3",
    ]);
    assert_eq!(sweep.trim().len(), 36, "the sweep's id: {sweep}");
    // Queued for workers, and no other command takes them for crashed.
    let queued = ws.ok(&["runs", "--status", "queued", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&queued)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2,
        "{queued}"
    );

    let workers: Vec<Child> = (0..2)
        .map(|n| {
            spawn_worker(
                &ws,
                &format!("w{n}"),
                &["--exit-when-done", "--poll", "0.2"],
            )
        })
        .collect();
    for mut worker in workers {
        assert!(worker.wait().unwrap().success());
    }
    assert_eq!(
        ws.query::<String>("SELECT state FROM work_items GROUP BY state"),
        ["done"]
    );
    assert_eq!(
        ws.query::<i64>("SELECT count(*) FROM runs WHERE status = 'completed'"),
        [6]
    );
    assert_eq!(ws.query::<i64>("SELECT count(*) FROM sweep_trials"), [4]);
    let listed: serde_json::Value = serde_json::from_str(&ws.ok(&["workers", "--json"])).unwrap();
    let workers = listed["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2, "{listed}");
    assert!(
        workers.iter().all(|w| !w["stopped_at"].is_null()),
        "{listed}"
    );
    let done: u64 = workers
        .iter()
        .map(|w| w["items_done"].as_u64().unwrap())
        .sum();
    assert_eq!(done, 6, "{listed}");
    assert_eq!(listed["queue"]["done"], 6, "{listed}");
    // The table names both workers and what they did.
    let table = ws.ok(&["workers"]);
    assert!(table.contains("stopped"), "{table}");
}

#[test]
fn a_sigtermed_worker_hands_its_run_back_to_continue_from_its_checkpoint() {
    let ws = Workspace::new();
    let id = submit_long(&ws, 6000, &[]);
    let mut first = spawn_worker(&ws, "first", &["--poll", "0.2"]);
    wait_until("a few epochs", || epochs_run(&ws) >= 20);
    signal(&first, "TERM");
    assert_eq!(first.wait().unwrap().code(), Some(130));
    assert!(
        log_of(&ws, "first").contains("handed back after its checkpoint"),
        "{}",
        log_of(&ws, "first")
    );
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["killed"]);
    assert_eq!(
        ws.query::<String>("SELECT state FROM work_items"),
        ["queued"]
    );
    assert_eq!(ws.query::<i64>("SELECT attempts FROM work_items"), [0]);
    let stopped_at = epochs_run(&ws);

    let mut second = spawn_worker(&ws, "second", &["--exit-when-done", "--poll", "0.2"]);
    assert!(second.wait().unwrap().success());
    // The same run, continued: every epoch once, from 1 to the last.
    assert_eq!(
        ws.query::<String>("SELECT id FROM runs"),
        std::slice::from_ref(&id)
    );
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["completed"]);
    assert_eq!(
        ws.query::<i64>("SELECT count(DISTINCT epoch) FROM epoch_metrics"),
        [6000]
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ws.ok(&["show", &id, "--json", "--verify"])).unwrap();
    assert_eq!(shown["epochs_run"], 6000, "resumed after {stopped_at}");
}

#[test]
fn a_stalled_worker_is_reaped_and_writes_nothing_once_it_wakes() {
    let ws = Workspace::new();
    if ws.backend() == Backend::Sqlite {
        // A stopped SQLite writer may hold the file's write lock, which
        // stalls every other process: workers on many machines, and this
        // test, are for PostgreSQL.
        eprintln!("skipped on sqlite: a stopped process can hold SQLite's write lock");
        return;
    }
    let id = submit_long(&ws, 1500, &[]);
    let mut stalled = spawn_worker(&ws, "stalled", &["--exit-when-done", "--lease", "1"]);
    wait_until("a few epochs", || epochs_run(&ws) >= 20);
    signal(&stalled, "STOP");
    std::thread::sleep(Duration::from_millis(1500));
    let mut taker = spawn_worker(
        &ws,
        "taker",
        &["--exit-when-done", "--lease", "1", "--poll", "0.2"],
    );
    assert!(taker.wait().unwrap().success());
    let taker_log = log_of(&ws, "taker");
    assert!(taker_log.contains("reaped work item"), "{taker_log}");
    assert!(taker_log.contains("attempt 2 of 3"), "{taker_log}");
    let snapshot = || {
        (
            ws.query::<String>(
                "SELECT status || ' ' || epochs_run || ' ' || heartbeat_at || ' ' || owner FROM runs",
            ),
            ws.query::<i64>("SELECT count(*) FROM epoch_metrics"),
            ws.query::<String>("SELECT sha256 FROM artifacts ORDER BY path"),
            ws.query::<String>("SELECT path FROM artifact_blobs ORDER BY path"),
            ws.query::<String>("SELECT state FROM work_items"),
        )
    };
    let before = snapshot();
    assert_eq!(before.0.len(), 1);
    assert!(before.0[0].starts_with("completed 1500 "), "{before:?}");

    signal(&stalled, "CONT");
    assert!(stalled.wait().unwrap().success());
    let stalled_log = log_of(&ws, "stalled");
    assert!(stalled_log.contains("lost the lease"), "{stalled_log}");
    assert_eq!(snapshot(), before, "the stalled worker wrote nothing");
    ws.ok(&["show", &id, "--verify"]);
}

#[test]
fn a_failure_of_the_spec_or_training_is_not_retried() {
    let ws = Workspace::new();
    let id = submit_long(&ws, 50, &["--set", "optimizer.learning_rate=1e30"]);
    let mut worker = spawn_worker(&ws, "w", &["--exit-when-done", "--poll", "0.2"]);
    assert!(worker.wait().unwrap().success());
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["failed"]);
    assert_eq!(
        ws.query::<String>("SELECT state FROM work_items"),
        ["failed"]
    );
    assert_eq!(ws.query::<i64>("SELECT attempts FROM work_items"), [0]);
    let log = log_of(&ws, "w");
    assert!(log.contains(&format!("run {id} failed")), "{log}");
    assert_eq!(log.matches("claimed").count(), 1, "{log}");
}

#[test]
fn a_lease_lost_on_the_last_attempt_fails_the_run() {
    let ws = Workspace::new();
    submit_long(&ws, 100_000, &["--max-attempts", "1"]);
    let mut doomed = spawn_worker(&ws, "doomed", &["--lease", "1"]);
    wait_until("a few epochs", || epochs_run(&ws) >= 5);
    signal(&doomed, "KILL");
    doomed.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let mut reaper = spawn_worker(&ws, "reaper", &["--exit-when-done", "--poll", "0.2"]);
    assert!(reaper.wait().unwrap().success());
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["failed"]);
    assert_eq!(
        ws.query::<String>("SELECT state FROM work_items"),
        ["failed"]
    );
    let error = ws.query::<String>("SELECT error FROM runs").remove(0);
    assert!(error.contains("lost its lease"), "{error}");
    assert!(error.contains("gave up after 1"), "{error}");
}

#[test]
fn submit_refuses_what_it_cannot_queue() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.run(&["run", spec.to_str().unwrap(), "--submit", "--folds", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ws.run(&["run", spec.to_str().unwrap(), "--max-attempts", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(ws.nothing_recorded());
}
