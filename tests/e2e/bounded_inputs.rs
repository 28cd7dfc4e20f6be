//! Issue 18, "Never lose a user's data": inputs beyond what the program can
//! hold are refused with a message naming them, never answered with an
//! `inf`, a `null`, a hang or an abort. Numbers beyond f32 at inference,
//! duplicate JSON keys and booleans, artifact files that are not what the
//! registry recorded, networks too large for the machine's memory.

use std::time::Duration;

use crate::common::{FIRST_ROW, Workspace, stderr};

fn refused(ws: &Workspace, args: &[&str], message: &str) {
    let out = ws
        .cmd()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
}

/// The weights file of the latest run, the run's id and its recorded size.
fn weights(ws: &Workspace) -> (std::path::PathBuf, String, u64) {
    let id: Vec<String> = ws.query("SELECT id FROM runs");
    let path: Vec<String> = ws.query("SELECT path FROM artifacts WHERE kind = 'weights'");
    let bytes: Vec<i64> = ws.query("SELECT bytes FROM artifacts WHERE kind = 'weights'");
    (
        ws.path().join("registry").join(&path[0]),
        id[0].clone(),
        bytes[0] as u64,
    )
}

/// Item 7: an artifact is checked to be a regular file of its recorded
/// size before it is read: a link to `/dev/zero` took `infer` to 7.7 GB, a
/// named pipe hung it, a sparse 1 GB file was held whole by `show
/// --verify`. Each is refused at once (the timeouts stop a regression
/// from hanging the suite).
#[cfg(unix)]
#[test]
fn artifacts_that_are_not_their_recorded_file_are_refused_unread() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let (file, id, bytes) = weights(&ws);
    let infer = ["infer", "--run", "latest", "--row", FIRST_ROW];
    let verify = ["show", "latest", "--verify"];

    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
    let corrupt = format!(
        "artifact artifacts/{id}/model.safetensors of run {id} is corrupt: expected a regular \
         file of {bytes} bytes, found a character device, through a symbolic link"
    );
    refused(&ws, &infer, &corrupt);
    refused(&ws, &verify, &corrupt);

    std::fs::remove_file(&file).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .unwrap();
    assert!(made.success());
    refused(&ws, &infer, "found a named pipe (FIFO)");
    refused(&ws, &verify, "found a named pipe (FIFO)");

    std::fs::remove_file(&file).unwrap();
    std::fs::File::create(&file)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let size = format!("expected {bytes} bytes, found 1073741824 bytes");
    refused(&ws, &infer, &size);
    refused(&ws, &verify, &size);
}
