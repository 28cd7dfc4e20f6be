//! The JSON every command prints for scripts, pinned by shape (issue 19):
//! keys, their order and nesting, each value's type, the layout (pretty or
//! one object per line), and the values that depend neither on the moment
//! nor on the trainer's arithmetic. Run ids, timestamps, hashes, paths and
//! durations become placeholders; every float becomes `[float]` (metric
//! values follow the trainer's arithmetic, which these snapshots do not
//! pin; see folds.rs). A refactor that renames, drops, moves or retypes a
//! field changes a snapshot here, so a script reading it is never broken
//! silently.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::common::{FIRST_ROW, Workspace, diabetes_csv, mlp_spec, repo_root, scrub, sqlite_only};

/// Keys whose values change from one run of the test to the next however
/// they are written: process ids, hosts, the commit built and durations.
const VOLATILE_KEYS: [&str; 7] = [
    "pid",
    "host",
    "seconds",
    "train_seconds",
    "git_commit",
    "short_id",
    "run_short_id",
];

/// Keys whose integers follow the trainer's arithmetic (predicted classes
/// and their counts), pinned by type like floats.
const PREDICTED_KEYS: [&str; 3] = ["label", "confusion", "confusion_matrix"];

/// The output's layout, then its redacted JSON, pretty.
fn shape(ws: &Workspace, text: &str) -> String {
    let ids: Vec<String> = if ws.has_registry() {
        ws.query("SELECT id FROM runs ORDER BY id")
    } else {
        Vec::new()
    };
    let (layout, values) = layout(text);
    let body: Vec<String> = values
        .into_iter()
        .map(|v| serde_json::to_string_pretty(&redacted(v, None, ws, &ids)).unwrap())
        .collect();
    format!("layout: {layout}\n{}\n", body.join("\n"))
}

/// How `text` is laid out (pretty, compact, JSON lines) and its values.
fn layout(text: &str) -> (&'static str, Vec<Value>) {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let compact = serde_json::to_string(&value).unwrap();
        let layouts = [
            (format!("{pretty}\n"), "pretty JSON"),
            (pretty, "pretty JSON, no final newline"),
            (format!("{compact}\n"), "compact JSON on one line"),
        ];
        let layout = layouts
            .into_iter()
            .find(|(written, _)| same_but_numbers(written, text))
            .unwrap_or_else(|| panic!("neither pretty nor compact JSON:\n{text}"))
            .1;
        return (layout, vec![value]);
    }
    assert!(text.ends_with('\n'), "the last line ends: {text:?}");
    let lines = text
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON lines ({e}):\n{text}"));
            assert!(same_but_numbers(
                &serde_json::to_string(&value).unwrap(),
                line
            ));
            value
        })
        .collect();
    ("JSON lines, one compact object per line", lines)
}

/// Whether `a` and `b` are the same text once every number outside a
/// string is replaced by `0` (serde_json reads the last digit of some
/// floats differently from how they were written).
fn same_but_numbers(a: &str, b: &str) -> bool {
    fn numbers_zeroed(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let (mut in_string, mut escaped, mut in_number) = (false, false, false);
        for c in text.chars() {
            if in_string {
                out.push(c);
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            let numeric = c.is_ascii_digit() || "+-.eE".contains(c);
            if in_number && numeric {
                continue;
            }
            in_number = numeric;
            if numeric {
                out.push('0');
                continue;
            }
            in_string = c == '"';
            out.push(c);
        }
        out
    }
    numbers_zeroed(a) == numbers_zeroed(b)
}

/// `value` with what varies replaced by placeholders.
fn redacted(value: Value, key: Option<&str>, ws: &Workspace, ids: &[String]) -> Value {
    if let Some(key) = key
        && VOLATILE_KEYS.contains(&key)
        && !value.is_null()
    {
        return Value::String(format!("[{key}: {}]", type_name(&value)));
    }
    if let Some(key) = key
        && PREDICTED_KEYS.contains(&key)
    {
        return integers_hidden(value);
    }
    match value {
        Value::Number(n) if n.is_f64() => Value::String("[float]".into()),
        Value::String(text) => Value::String(redacted_text(&text, ws, ids)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| redacted(item, None, ws, ids))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| {
                    let v = redacted(v, Some(&k), ws, ids);
                    (k, v)
                })
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// `value` with every integer replaced by `[int]`, nesting kept.
fn integers_hidden(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_f64() => Value::String("[int]".into()),
        Value::Array(items) => Value::Array(items.into_iter().map(integers_hidden).collect()),
        other => other,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

fn redacted_text(text: &str, ws: &Workspace, ids: &[String]) -> String {
    let is_time = text.len() >= 20
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[10] == b'T'
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if is_time {
        return "[TIME]".into();
    }
    if text.len() >= 12 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return "[HEX]".into();
    }
    if text.starts_with("cv:") {
        return "cv:[GROUP]".into();
    }
    let mut text = scrub(text, ws);
    for (index, id) in ids.iter().enumerate() {
        text = text.replace(id.as_str(), &format!("[RUN {}]", index + 1));
    }
    text
}

fn experiment(name: &str) -> String {
    repo_root()
        .join("experiments")
        .join(name)
        .display()
        .to_string()
}

/// `run SPEC --json` with the overrides; returns the run's id.
fn train(ws: &Workspace, spec: &str, overrides: &[&str]) -> String {
    let mut args = vec!["run", spec, "--json"];
    for o in overrides {
        args.extend(["--set", o]);
    }
    let summary: Value = serde_json::from_str(&ws.ok(&args)).unwrap();
    summary["id"].as_str().unwrap().to_owned()
}

/// Iris's four feature columns, the first `rows` rows (no label).
fn iris_features(ws: &Workspace, rows: usize) -> PathBuf {
    let text = std::fs::read_to_string(experiment("data/iris.csv")).unwrap();
    let lines: Vec<String> = text
        .lines()
        .take(rows + 1)
        .map(|line| line.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect();
    ws.write("iris_features.csv", &format!("{}\n", lines.join("\n")))
}

/// 60 diabetes rows with a text column (`region`, some empty), an
/// excluded `id` and empty bmi cells: every kind of input column.
fn mixed_spec(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines = text.lines();
    let mut out = format!("id,region,{}\n", lines.next().unwrap());
    for (i, line) in lines.take(60).enumerate() {
        let mut fields: Vec<&str> = line.split(',').collect();
        if i % 7 == 3 {
            fields[2] = "";
        }
        let region = if i % 11 == 5 {
            ""
        } else {
            ["north", "south", "east"][i % 3]
        };
        out.push_str(&format!("{},{region},{}\n", 1000 + i, fields.join(",")));
    }
    ws.write("mixed.csv", &out);
    // Relative to the spec: no temporary path in the stored spec.
    ws.write(
        "mixed.toml",
        r#"name = "mixed"
[data]
path = "mixed.csv"
target = "target"
exclude = ["id"]
missing = "median"
[data.columns.region]
missing = "mode"
[model]
layers = [{ type = "linear", units = 4 }, { type = "relu" }, { type = "linear", units = 1 }]
[optimizer]
type = "adam"
learning_rate = 0.01
[train]
epochs = 2
"#,
    )
}

/// A tiny GRU on windows of the first 40 years of sunspots.
fn series_spec(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(experiment("data/sunspots_yearly.csv")).unwrap();
    let rows: Vec<&str> = text.lines().take(41).collect();
    ws.write("sunspots.csv", &format!("{}\n", rows.join("\n")));
    ws.write(
        "gru.toml",
        r#"name = "tiny-gru"
[data]
path = "sunspots.csv"
target = "target"
split = { train = 0.6, validation = 0.2, test = 0.2 }
[data.window]
steps = 4
order_by = "year"
[model]
input = [4, 1]
layers = [{ type = "gru", units = 3 }, { type = "linear", units = 1 }]
[optimizer]
type = "adam"
learning_rate = 0.01
[train]
epochs = 1
batch_size = 16
"#,
    )
}

#[test]
fn run_and_rerun_summaries() {
    let ws = Workspace::new();
    let mlp = mlp_spec().display().to_string();
    let regression = ws.ok(&["run", &mlp, "--json", "--set", "train.epochs=2"]);
    insta::assert_snapshot!("run_regression", shape(&ws, &regression));
    let iris = experiment("iris.toml");
    let classification = ws.ok(&["run", &iris, "--json", "--set", "train.epochs=2"]);
    insta::assert_snapshot!("run_classification", shape(&ws, &classification));
    let both = ws.ok(&["run", &mlp, &iris, "--json", "--set", "train.epochs=1"]);
    insta::assert_snapshot!("run_two_specs", shape(&ws, &both));
    let rerun = ws.ok(&["rerun", "latest", "--experiment", "iris-mlp", "--json"]);
    insta::assert_snapshot!("rerun", shape(&ws, &rerun));
}

#[test]
fn cross_validation_summary_and_plan() {
    let ws = Workspace::new();
    let mlp = mlp_spec().display().to_string();
    let args = [
        "run",
        &mlp,
        "--folds",
        "2",
        "--json",
        "--set",
        "train.epochs=2",
    ];
    let summary = ws.ok(&args);
    insta::assert_snapshot!("run_folds", shape(&ws, &summary));
    let plan = ws.ok(&[&args[..], &["--dry-run"][..]].concat());
    insta::assert_snapshot!("run_folds_plan", shape(&ws, &plan));
    let iris = experiment("iris.toml");
    let classes = ws.ok(&[
        "run",
        &iris,
        "--folds",
        "2",
        "--json",
        "--set",
        "train.epochs=1",
    ]);
    insta::assert_snapshot!("run_folds_classification", shape(&ws, &classes));
}

#[test]
fn runs_show_compare_and_aliases() {
    let ws = Workspace::new();
    let mlp = mlp_spec().display().to_string();
    let first = train(&ws, &mlp, &["train.epochs=2"]);
    let second = train(
        &ws,
        &mlp,
        &["train.epochs=3", "optimizer.learning_rate=0.01"],
    );
    ws.ok(&["tag", &second, "baseline", "wide"]);
    ws.ok(&["note", &second, "a note"]);
    ws.ok(&["alias", "set", "production", &first]);
    ws.ok(&["alias", "set", "production", &second]);
    ws.ok(&["alias", "set", "staging", &first]);
    ws.ok(&["alias", "rm", "staging"]);
    // A third run that reproduces the second exactly.
    ws.ok(&["rerun", &second]);
    let third = ws
        .query::<String>("SELECT id FROM runs ORDER BY id")
        .remove(2);

    insta::assert_snapshot!("runs", shape(&ws, &ws.ok(&["runs", "--json"])));
    insta::assert_snapshot!("show", shape(&ws, &ws.ok(&["show", &second, "--json"])));
    let compare = ws.ok(&["compare", &second, &first, &third, "--json"]);
    insta::assert_snapshot!("compare", shape(&ws, &compare));
    let ranked = ws.ok(&["compare", "--experiment", "diabetes-mlp", "--json"]);
    insta::assert_snapshot!("compare_ranked", shape(&ws, &ranked));
    let aliases = ws.ok(&["alias", "list", "--json"]);
    insta::assert_snapshot!("alias_list", shape(&ws, &aliases));
    let history = ws.ok(&["alias", "history", "production", "--json"]);
    insta::assert_snapshot!("alias_history", shape(&ws, &history));
    let never = ws.ok(&["alias", "history", "never-set", "--json"]);
    insta::assert_snapshot!("alias_history_never_set", shape(&ws, &never));

    // The values the placeholders hide agree across the commands.
    let show: Value = serde_json::from_str(&ws.ok(&["show", &second, "--json"])).unwrap();
    let compare: Value = serde_json::from_str(&compare).unwrap();
    let run = &compare["runs"][0];
    assert_eq!(run["id"], show["id"]);
    assert_eq!(
        run["gap"]["validation_minus_train_loss"],
        show["gap_at_best"]
    );
    assert_eq!(run["gap"]["test_minus_train_loss"], show["test_train_gap"]);
    for metric in show["final_metrics"].as_array().unwrap() {
        let split = metric["split"].as_str().unwrap();
        let name = metric["metric"].as_str().unwrap();
        assert_eq!(
            run["metrics"][split][name], metric["value"],
            "{split} {name}"
        );
    }
}

#[test]
fn show_a_classification_run() {
    let ws = Workspace::new();
    let id = train(&ws, &experiment("iris.toml"), &["train.epochs=1"]);
    insta::assert_snapshot!(
        "show_classification",
        shape(&ws, &ws.ok(&["show", &id, "--json"]))
    );
    let other = train(&ws, &experiment("iris.toml"), &["train.epochs=2"]);
    let compare = ws.ok(&["compare", &id, &other, "--json"]);
    insta::assert_snapshot!("compare_classification", shape(&ws, &compare));
}

#[test]
fn gc_lists_what_no_run_owns() {
    sqlite_only!("stray artifact files");
    let ws = Workspace::new();
    let id = train(&ws, &mlp_spec().display().to_string(), &["train.epochs=1"]);
    let artifacts = ws.path().join("registry/artifacts");
    std::fs::write(artifacts.join(&id).join(".tmp-12345"), "partial").unwrap();
    std::fs::create_dir_all(artifacts.join("not-a-run")).unwrap();
    std::fs::write(artifacts.join("not-a-run/model.safetensors"), "x").unwrap();
    insta::assert_snapshot!("gc", shape(&ws, &ws.ok(&["gc", "--json"])));
    let empty = Workspace::new();
    train(
        &empty,
        &mlp_spec().display().to_string(),
        &["train.epochs=1"],
    );
    insta::assert_snapshot!("gc_nothing", shape(&empty, &empty.ok(&["gc", "--json"])));
}

#[test]
fn evaluate_and_infer_outputs() {
    let ws = Workspace::new();
    train(&ws, &mlp_spec().display().to_string(), &["train.epochs=2"]);
    let diabetes = diabetes_csv().display().to_string();
    let evaluate = ws.ok(&[
        "evaluate", "--run", "latest", "--input", &diabetes, "--json",
    ]);
    insta::assert_snapshot!("evaluate_regression", shape(&ws, &evaluate));
    let row = ws.ok(&[
        "infer", "--run", "latest", "--row", FIRST_ROW, "--format", "ndjson",
    ]);
    insta::assert_snapshot!("infer_regression", shape(&ws, &row));

    train(&ws, &experiment("iris.toml"), &["train.epochs=2"]);
    let iris = experiment("data/iris.csv");
    let evaluate = ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--experiment",
        "iris-mlp",
        "--input",
        &iris,
        "--json",
    ]);
    insta::assert_snapshot!("evaluate_classification", shape(&ws, &evaluate));
    let rows = iris_features(&ws, 2).display().to_string();
    let select = [
        "--run",
        "latest",
        "--experiment",
        "iris-mlp",
        "--input",
        &rows,
    ];
    let infer = ws.ok(&[&["infer"][..], &select[..], &["--format", "ndjson"][..]].concat());
    insta::assert_snapshot!("infer_classification", shape(&ws, &infer));
    let only = ws.ok(&[
        &["infer"][..],
        &select[..],
        &["--format", "ndjson", "--only-predictions"][..],
    ]
    .concat());
    insta::assert_snapshot!("infer_classification_only_predictions", shape(&ws, &only));
}

#[test]
fn infer_a_series() {
    let ws = Workspace::new();
    let spec = series_spec(&ws);
    train(&ws, spec.to_str().unwrap(), &[]);
    let data = ws.path().join("sunspots.csv").display().to_string();
    let text = std::fs::read_to_string(&data).unwrap();
    let tail: Vec<&str> = text.lines().skip(34).collect();
    let head = text.lines().next().unwrap();
    let rows = ws.write("tail.csv", &format!("{head}\n{}\n", tail.join("\n")));
    let infer = ws.ok(&[
        "infer",
        "--input",
        rows.to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    insta::assert_snapshot!("infer_series", shape(&ws, &infer));
}

#[test]
fn check_reports() {
    let ws = Workspace::new();
    let mixed = mixed_spec(&ws);
    let series = series_spec(&ws);
    let one = ws.ok(&["check", mlp_spec().to_str().unwrap(), "--json"]);
    insta::assert_snapshot!("check", shape(&ws, &one));
    let several = ws.ok(&[
        "check",
        &experiment("iris.toml"),
        mixed.to_str().unwrap(),
        series.to_str().unwrap(),
        "--json",
    ]);
    insta::assert_snapshot!("check_several", shape(&ws, &several));
}

#[test]
fn serve_answers() {
    let ws = Workspace::new();
    let spec = mixed_spec(&ws);
    train(&ws, spec.to_str().unwrap(), &[]);
    let server = crate::serve::start(&ws);
    let agent = crate::serve::agent();
    let url = |path: &str| format!("{}{path}", server.base);
    let body = |(status, value): (u16, Value)| {
        format!(
            "status {status}\n{}",
            serde_json::to_string(&value).unwrap()
        )
    };
    let health = body(crate::serve::answer(agent.get(url("/health")).call()));
    insta::assert_snapshot!("serve_health", shape_of_answer(&ws, &health));
    let model = body(crate::serve::answer(agent.get(url("/model")).call()));
    insta::assert_snapshot!("serve_model", shape_of_answer(&ws, &model));
    let rows = r#"[{"id": 1, "region": "north", "age": 50, "sex": 1, "bmi": null, "bp": 90,
        "s1": 180, "s2": 100, "s3": 50, "s4": 4, "s5": 4.5, "s6": 90},
        {"id": 2, "region": "east", "age": 40, "sex": 2, "bmi": 25.1, "bp": 80,
        "s1": 170, "s2": 90, "s3": 45, "s4": 3, "s5": 4.2, "s6": 85}]"#;
    let predict = body(crate::serve::post(&agent, &url("/predict"), rows));
    insta::assert_snapshot!("serve_predict", shape_of_answer(&ws, &predict));
    let bad = body(crate::serve::post(&agent, &url("/predict"), "[]"));
    insta::assert_snapshot!("serve_predict_refused", shape_of_answer(&ws, &bad));
}

/// `status N` and the answer's body, redacted.
fn shape_of_answer(ws: &Workspace, answer: &str) -> String {
    let (status, json) = answer.split_once('\n').unwrap();
    let shaped = shape(ws, &format!("{json}\n"));
    format!("{status}\n{}", shaped.split_once('\n').unwrap().1)
}

#[test]
fn export_files() {
    let ws = Workspace::new();
    let spec = mixed_spec(&ws);
    train(&ws, spec.to_str().unwrap(), &[]);
    let out = ws.path().join("exported");
    ws.ok(&["export", "latest", "--out", out.to_str().unwrap()]);
    for name in ["schema", "metrics", "receipt", "preprocessing"] {
        let text = std::fs::read_to_string(out.join(format!("{name}.json"))).unwrap();
        insta::assert_snapshot!(format!("export_{name}"), shape(&ws, &text));
    }
}

#[test]
fn sweeps_and_sweep_show() {
    let ws = Workspace::new();
    crate::sweeps::stage_sweep(
        &ws,
        &[
            crate::sweeps::Staged {
                lr: 0.001,
                value: 0.5,
                pruned: false,
            },
            crate::sweeps::Staged {
                lr: 0.01,
                value: 0.3,
                pruned: true,
            },
        ],
    );
    insta::assert_snapshot!("sweeps", shape(&ws, &ws.ok(&["sweeps", "--json"])));
    let shown = ws.ok(&["sweep", "show", "latest", "--json"]);
    insta::assert_snapshot!("sweep_show", shape(&ws, &shown));
}
