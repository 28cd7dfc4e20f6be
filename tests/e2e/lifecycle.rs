//! A run's data survives its environment (issue 18, "Never lose a user's
//! data"): a checkpoint that cannot be written does not fail the run, a
//! full disk stores its cause and leaves the run resumable, and a run queued
//! behind one that was stopped resumes from its first epoch.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::common::{Workspace, mlp_spec, sqlite_only, stderr};

/// `pipeline ARGS` in `ws` with stderr piped, to follow its progress.
fn spawn(ws: &Workspace, args: &[&str]) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// Reads stderr up to the line `queued N runs: ID, ID`; returns the ids.
fn queued_ids(lines: &mut Lines<BufReader<ChildStderr>>) -> Vec<String> {
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, ids)) = line.split_once(" runs: ") {
            return ids.split(", ").map(str::to_owned).collect();
        }
    }
    panic!("no `queued` line on stderr");
}

/// Reads stderr until `count` epoch lines (`-v`) went by.
fn wait_for_epochs(lines: &mut Lines<BufReader<ChildStderr>>, count: usize) {
    let mut seen = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("epoch") {
            seen += 1;
            if seen == count {
                return;
            }
        }
    }
    panic!("the run ended before {count} epochs");
}

fn status(ws: &Workspace, id: &str) -> String {
    ws.query::<String>(&format!("SELECT status FROM runs WHERE id = '{id}'"))
        .remove(0)
}

#[test]
fn a_checkpoint_that_cannot_be_written_does_not_fail_the_run() {
    sqlite_only!("blocks artifact path");
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let (mut child, mut lines) = spawn(
        &ws,
        &[
            "run",
            spec,
            spec,
            "--set",
            "train.epochs=300",
            "--set",
            "train.early_stopping.patience=300",
        ],
    );
    // While the first run trains, a directory takes the name of the second
    // run's first checkpoint: writing it fails.
    let ids = queued_ids(&mut lines);
    let blocked = ws
        .path()
        .join("registry/artifacts")
        .join(&ids[1])
        .join("checkpoint-last-epoch-000001.safetensors");
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    let text = rest.join("\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "warning: run {}: cannot save the checkpoint of epoch 1:",
            ids[1]
        )),
        "{text}"
    );
    assert!(text.contains("training goes on"), "{text}");
    assert_eq!(status(&ws, &ids[1]), "completed");
    assert_eq!(
        ws.query::<i64>(&format!(
            "SELECT epochs_run FROM runs WHERE id = '{}'",
            ids[1]
        )),
        [300]
    );
}

/// A tmpfs of `size` mounted at `at`, unmounted when dropped; `None` where
/// mounting is not permitted (not root, a container without the right).
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk { at: at.to_owned() })
    }

    /// Writes zeros until the disk is full.
    fn fill(&self) -> PathBuf {
        let filler = self.at.join("filler");
        let _ = std::fs::write(&filler, vec![0u8; 64 << 20]);
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

#[test]
fn a_full_disk_stores_its_cause_and_the_run_resumes() {
    sqlite_only!("artifacts folder full");
    let ws = Workspace::new();
    let artifacts = ws.path().join("registry/artifacts");
    let Some(disk) = SmallDisk::mount(&artifacts, "4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
        return;
    };
    let spec = mlp_spec();
    let (mut child, mut lines) = spawn(
        &ws,
        &[
            "run",
            "-v",
            spec.to_str().unwrap(),
            "--set",
            "train.epochs=3000",
            "--set",
            "train.early_stopping.patience=3000",
        ],
    );
    // Epoch 1's checkpoint is saved before epoch 2 is reported.
    wait_for_epochs(&mut lines, 3);
    let filler = disk.fill();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    let text = rest.join("\n");
    assert_eq!(code, Some(1), "{text}");
    let id = ws.query::<String>("SELECT id FROM runs").remove(0);
    assert!(
        text.contains(&format!("`pipeline resume {id}` continues it")),
        "{text}"
    );
    assert_eq!(status(&ws, &id), "failed");
    let error = ws.query::<String>("SELECT error FROM runs").remove(0);
    assert!(error.contains("No space left on device"), "{error}");
    assert_eq!(
        ws.query::<i64>("SELECT failed_on_environment FROM runs"),
        [1]
    );
    // `runs --where status=failed` still lists it.
    let listed = ws.ok(&["runs", "--where", "status=failed"]);
    assert!(listed.contains(&ws.short_id(&id)), "{listed}");

    // Space freed: it continues from its checkpoint to the end.
    std::fs::remove_file(filler).unwrap();
    let out = ws.run(&["resume", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&ws, &id), "completed");
    assert_eq!(
        ws.query::<i64>("SELECT failed_on_environment FROM runs"),
        [0]
    );
    drop(disk);
}

#[test]
fn a_run_queued_behind_a_stopped_one_resumes_from_its_first_epoch() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let settings = [
        "--set",
        "train.epochs=100000",
        "--set",
        "train.early_stopping.patience=20",
    ];
    let mut args = vec!["run", "-v", spec, spec];
    args.extend(settings);
    let (mut child, mut lines) = spawn(&ws, &args);
    let ids = queued_ids(&mut lines);
    wait_for_epochs(&mut lines, 3);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(status(&ws, &ids[1]), "killed");

    let out = ws.run(&["resume", &ids[1]]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("from epoch 1"), "{text}");
    assert_eq!(status(&ws, &ids[1]), "completed");
    // The same weights as the spec trained in one go.
    let mut args = vec!["run", spec];
    args.extend(settings);
    ws.ok(&args);
    let digests = ws.query::<String>(&format!(
        "SELECT weights_digest FROM runs WHERE id <> '{}' AND status = 'completed' \
         ORDER BY id",
        ids[0]
    ));
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], digests[1]);
}

#[test]
fn gc_lists_then_removes_what_no_run_owns() {
    sqlite_only!("stray artifact files");
    let ws = Workspace::new();
    let run = ws.train(&["train.epochs=2"]);
    let id = run["id"].as_str().unwrap();
    let artifacts = ws.path().join("registry/artifacts");
    let folder = artifacts.join(id);
    std::fs::write(folder.join(".tmp-abc123"), b"half").unwrap();
    std::fs::write(
        folder.join("checkpoint-last-epoch-000002.safetensors"),
        b"old",
    )
    .unwrap();
    std::fs::create_dir_all(artifacts.join("0190aaaa-gone")).unwrap();
    std::fs::write(artifacts.join("0190aaaa-gone/model.safetensors"), b"w").unwrap();

    // Listing is the default: nothing goes.
    let out = ws.run(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8(out.stdout.clone()).unwrap();
    for path in [
        format!("artifacts/{id}/.tmp-abc123"),
        format!("artifacts/{id}/checkpoint-last-epoch-000002.safetensors"),
        "artifacts/0190aaaa-gone".to_string(),
    ] {
        assert!(listed.contains(&path), "{listed}");
    }
    assert!(stderr(&out).contains("hint: `pipeline gc --force` removes them"));
    assert!(folder.join(".tmp-abc123").exists());
    let json: serde_json::Value = serde_json::from_str(&ws.ok(&["gc", "--json"])).unwrap();
    assert_eq!(json["removed"], false);
    assert_eq!(json["entries"].as_array().unwrap().len(), 3);
    let gone = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "artifacts/0190aaaa-gone")
        .unwrap();
    assert_eq!(gone["reason"], "unknown_run");
    assert_eq!(gone["bytes"], 1);

    ws.ok(&["gc", "--force"]);
    assert!(!folder.join(".tmp-abc123").exists());
    assert!(!artifacts.join("0190aaaa-gone").exists());
    ws.ok(&["show", id, "--verify"]);
    let again = ws.run(&["gc"]);
    assert!(again.stdout.is_empty());
    assert!(stderr(&again).contains("nothing under artifacts/ is unowned"));
}
