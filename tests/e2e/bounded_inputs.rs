//! Issue 18, "Never lose a user's data": inputs beyond what the program can
//! hold are refused with a message naming them, never answered with an
//! `inf`, a `null`, a hang or an abort. Numbers beyond f32 at inference,
//! duplicate JSON keys and booleans, artifact files that are not what the
//! registry recorded, networks too large for the machine's memory.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{FIRST_ROW, Workspace, diabetes_csv, mlp_spec, sqlite_only, stderr};
use crate::serve::{agent, post, start};

/// The diabetes data's first row as a JSON object.
fn first_row() -> Value {
    let mut row = serde_json::Map::new();
    for pair in FIRST_ROW.split(',') {
        let (key, value) = pair.split_once('=').unwrap();
        row.insert(key.into(), json!(value.parse::<f64>().unwrap()));
    }
    Value::Object(row)
}

/// The diabetes file with `age` set to `age` in its third row.
fn with_age(ws: &Workspace, name: &str, age: &str) -> String {
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let (_, rest) = lines[3].split_once(',').unwrap();
    lines[3] = format!("{age},{rest}");
    let path = ws.write(name, &(lines.join("\n") + "\n"));
    path.to_str().unwrap().to_owned()
}

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

/// Item 5: `1e39` is beyond an f32 even though the run's normalization
/// would bring it back in range; it overflowed the network into `inf` or
/// `null` predictions and metrics. Every inference path refuses it,
/// naming the column and the row.
#[test]
fn numbers_beyond_f32_are_refused_at_inference() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let beyond = "column `age` at row 1 is too large for the model: 1e39 is beyond what its \
                  32-bit inputs hold (±3.4e38)";
    let row = FIRST_ROW.replacen("age=59", "age=1e39", 1);
    refused(&ws, &["infer", "--run", "latest", "--row", &row], beyond);
    let mut json = first_row();
    json["age"] = json!(1e39);
    refused(
        &ws,
        &["infer", "--run", "latest", "--json", &json.to_string()],
        &format!("--json: {beyond}"),
    );
    let csv = with_age(&ws, "huge.csv", "-1e39");
    let in_file = "huge.csv: column `age` at row 3 is too large for the model: -1e39";
    refused(&ws, &["infer", "--run", "latest", "--input", &csv], in_file);
    refused(
        &ws,
        &["evaluate", "--run", "latest", "--input", &csv],
        in_file,
    );
    let ndjson = ws.write("huge.ndjson", &format!("{}\n{}\n", first_row(), json));
    refused(
        &ws,
        &[
            "infer",
            "--run",
            "latest",
            "--input",
            ndjson.to_str().unwrap(),
        ],
        "huge.ndjson: column `age` at row 2 is too large for the model: 1e39",
    );
    // A target beyond f32 scored an infinite error.
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    let target = text.replacen(
        "\n59,2,32.1,101.0,157,93.2,38.0,4.0,4.8598,87,151\n",
        "\n59,2,32.1,101.0,157,93.2,38.0,4.0,4.8598,87,1e39\n",
        1,
    );
    let target = ws.write("target.csv", &target);
    refused(
        &ws,
        &[
            "evaluate",
            "--run",
            "latest",
            "--input",
            target.to_str().unwrap(),
        ],
        "target.csv: column `target` at row 1 is too large for the model: 1e39",
    );

    let server = start(&ws);
    let agent = agent();
    let url = format!("{}/predict", server.base);
    let (status, body) = post(&agent, &url, &json!([first_row(), json]).to_string());
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with(
            "request: column `age` at row 2 is too large for the model: 1e39 is beyond"
        ),
        "{body}"
    );
    let (status, body) = post(&agent, &url, &first_row().to_string());
    assert_eq!(status, 200, "{body}");
    assert!(body["predictions"][0].is_number(), "{body}");
}

/// Item 6: serde_json keeps the last of a key given twice, so
/// `{"age":1,"age":2}` was predicted as `{"age":2}`. `serve`, `infer
/// --json` and NDJSON files refuse it, naming the key and the row; a
/// boolean is named as one, not as text.
#[test]
fn json_rows_with_a_key_twice_or_a_boolean_are_named() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let row = first_row().to_string();
    let twice = row.replacen("{\"age\":59.0", "{\"age\":1,\"age\":59.0", 1);
    assert_ne!(twice, row);
    refused(
        &ws,
        &["infer", "--run", "latest", "--json", &twice],
        "--json: row 1 gives the key `age` twice",
    );
    refused(
        &ws,
        &[
            "infer",
            "--run",
            "latest",
            "--json",
            &format!("[{row},{twice}]"),
        ],
        "--json: row 2 gives the key `age` twice",
    );
    let ndjson = ws.write("twice.ndjson", &format!("{row}\n{row}\n{twice}\n"));
    refused(
        &ws,
        &[
            "infer",
            "--run",
            "latest",
            "--input",
            ndjson.to_str().unwrap(),
        ],
        "twice.ndjson: line 3: the key `age` is given twice",
    );
    let mut boolean = first_row();
    boolean["bmi"] = json!(true);
    refused(
        &ws,
        &["infer", "--run", "latest", "--json", &boolean.to_string()],
        "--json: column `bmi` holds booleans here, but the run was trained on it as float",
    );
    refused(
        &ws,
        &[
            "infer",
            "--run",
            "latest",
            "--json",
            &json!([first_row(), boolean]).to_string(),
        ],
        "--json: line 2: `bmi` holds a boolean here but a number on line 1",
    );

    let server = start(&ws);
    let agent = agent();
    let url = format!("{}/predict", server.base);
    let (status, body) = post(&agent, &url, &format!("{{\"rows\":[{row},{twice}]}}"));
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"], "the request body's row 2 gives the key `age` twice",
        "{body}"
    );
    let (status, body) = post(&agent, &url, &boolean.to_string());
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("column `bmi` holds booleans here"),
        "{body}"
    );
    let mut nested = first_row();
    nested["bmi"] = json!({"value": 32.1});
    let (status, body) = post(&agent, &url, &nested.to_string());
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("`bmi` holds an object"),
        "{body}"
    );
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
    sqlite_only!("artifact file types");
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

/// Item 8: a layer of 10⁹ units aborted the process (SIGABRT, "memory
/// allocation of 40000000000 bytes failed"). `check` and `run` count the
/// parameters and estimate training's memory before any tensor exists;
/// every shipped experiment still fits.
#[test]
fn networks_beyond_the_machines_memory_are_refused_before_building() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    for command in ["check", "run"] {
        let args = [
            command,
            spec.to_str().unwrap(),
            "--set",
            "model.layers.0.units=1000000000",
        ];
        let out = ws
            .cmd()
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        assert!(
            text.contains(
                "the network needs about 752.0 GB of memory to train, more than this machine's"
            ),
            "{command}: {text}"
        );
        assert!(
            text.contains(
                "layer 0 (linear) holds the most, 11000000000 parameters (44.0 GB of weights)"
            ),
            "{command}: {text}"
        );
        assert!(
            text.contains("hint: make that layer smaller"),
            "{command}: {text}"
        );
    }
    assert!(ws.nothing_recorded(), "a refused run records nothing");

    let experiments = crate::common::repo_root().join("experiments");
    let mut specs: Vec<String> = std::fs::read_dir(&experiments)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    specs.sort();
    assert!(specs.len() >= 10, "{specs:?}");
    let mut args = vec!["check".to_owned(), "--json".to_owned()];
    args.extend(specs);
    ws.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // 784-512-512-10 on MNIST's pixels.
    let mnist = std::fs::read_to_string(experiments.join("mnist_cnn.toml")).unwrap();
    let start = mnist.find("input = [1, 28, 28]").unwrap();
    let end = mnist.find("[optimizer]").unwrap();
    let data = experiments.join("data/mnist_5k.csv.gz");
    let wide = format!(
        "{}layers = [\n  {{ type = \"linear\", units = 512 }},\n  {{ type = \"relu\" }},\n  \
         {{ type = \"linear\", units = 512 }},\n  {{ type = \"relu\" }},\n  \
         {{ type = \"linear\", units = 10 }},\n]\n\n{}",
        &mnist[..start],
        &mnist[end..]
    )
    .replace("data/mnist_5k.csv.gz", data.to_str().unwrap());
    let wide = ws.write("wide.toml", &wide);
    let report: Value =
        serde_json::from_str(&ws.ok(&["check", wide.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(
        report["model"]["parameters"],
        784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10,
        "{report}"
    );
}
