//! Issue 18, "Never lose a user's data": inputs that crashed or misled now
//! fail with exit code 2 (1 for a run that diverged) and a message that
//! names what was wrong and what to do.

use crate::common::{Workspace, diabetes_csv, mlp_spec, scrub, stderr};

/// Runs `args`, expects exit code `code`; returns scrubbed stderr.
fn fails(ws: &Workspace, args: &[&str], code: i32) -> String {
    let out = ws.run(args);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{}", stderr(&out));
    scrub(&stderr(&out), ws)
}

/// The first experiment in `ws/FOLDER/spec.toml`, reading `data` (as written)
/// and with one more text replacement.
fn spec_in(ws: &Workspace, folder: &str, data: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(mlp_spec()).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text
        .replacen(from, to, 1)
        .replace("\"data/diabetes.csv\"", &format!("{data:?}"));
    std::fs::create_dir_all(ws.path().join(folder)).unwrap();
    let path = ws.write(&format!("{folder}/spec.toml"), &text);
    path.display().to_string()
}

/// 10,000 nested parentheses overflowed the stack (exit 134), and an `or`
/// chain of 1,000 terms reached SQLite ("Expression tree is too large").
#[test]
fn where_expressions_are_limited_in_depth_and_size() {
    let ws = Workspace::new();
    let deep = format!("{}epochs > 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let message = fails(&ws, &["runs", "--where", &deep], 2);
    assert!(
        message.contains("parentheses and `not` nest deeper than 32 levels"),
        "{message}"
    );
    let chain = |n: usize| vec!["val_loss < 1"; n].join(" or ");
    let message = fails(&ws, &["runs", "--where", &chain(1_000)], 2);
    assert!(
        message.contains("more than 100 comparisons in one expression"),
        "{message}"
    );
    assert!(!message.contains("Expression tree"), "{message}");
    // The longest allowed chain, and the deepest nesting, are valid SQL.
    ws.train(&["train.epochs=2"]);
    ws.ok(&["runs", "--where", &chain(100)]);
    let nested = format!("{}val_loss < 1{}", "(not ".repeat(32), ")".repeat(32));
    let message = fails(&ws, &["runs", "--where", &nested], 2);
    assert!(message.contains("nest deeper"), "{message}");
    let nested = format!("{}val_loss < 1{}", "(not ".repeat(16), ")".repeat(16));
    ws.ok(&["runs", "--where", &nested]);
}

/// The data file was named as the spec's folder joined with data.path, which
/// read as if it were relative to the working directory.
#[test]
fn a_missing_data_file_names_the_path_as_written_and_as_resolved() {
    let ws = Workspace::new();
    // The file exists beside the working directory, not beside the spec.
    std::fs::copy(diabetes_csv(), ws.path().join("diabetes.csv")).unwrap();
    let spec = spec_in(&ws, "specs", "diabetes.csv", "seed = 42", "seed = 42");
    let message = fails(&ws, &["run", &spec], 2);
    assert!(
        message.contains(
            "data file \"diabetes.csv\" (data.path) does not exist: resolved against the spec's \
             folder it is [TMP]/specs/diabetes.csv"
        ),
        "{message}"
    );
    assert!(
        message.contains("hint: data.path is relative to the folder of the spec file"),
        "{message}"
    );
    // A path set with --set resolves against the spec's folder too.
    let message = fails(
        &ws,
        &["check", &spec, "--set", "data.path=../nowhere.csv"],
        2,
    );
    assert!(message.contains("[TMP]/specs/../nowhere.csv"), "{message}");
}

/// A target of scale 1e30 overflowed the loss, and the hint only said to lower
/// the learning rate.
#[test]
fn a_huge_target_hints_normalize_target() {
    let ws = Workspace::new();
    let csv = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines = csv.lines();
    let mut text = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let (features, target) = line.rsplit_once(',').unwrap();
        let target: f64 = target.parse().unwrap();
        text.push_str(&format!("{features},{:e}\n", target * 1e28));
    }
    ws.write("huge.csv", &text);
    let spec = spec_in(&ws, ".", "huge.csv", "epochs = 500", "epochs = 2");
    let message = fails(&ws, &["run", &spec], 1);
    assert!(
        message.contains("the target `target` reaches")
            && message.contains("data.normalize_target is off"),
        "{message}"
    );
    assert!(
        message.contains("hint: set data.normalize_target = \"zscore\""),
        "{message}"
    );
    // Normalized, the same data trains.
    ws.ok(&["run", &spec, "--set", "data.normalize_target=zscore"]);
}

/// UTF-16 and semicolon-separated files read as one garbled column.
#[test]
fn encoding_and_separator_are_named() {
    let ws = Workspace::new();
    let csv = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(csv.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(ws.path().join("utf16.csv"), utf16).unwrap();
    let spec = spec_in(&ws, ".", "utf16.csv", "seed = 42", "seed = 42");
    let message = fails(&ws, &["run", &spec], 2);
    assert!(message.contains("utf16.csv is not UTF-8 text"), "{message}");
    assert!(message.contains("hint: save it as UTF-8"), "{message}");

    ws.write("semicolons.csv", &csv.replace(',', ";"));
    let spec = spec_in(&ws, ".", "semicolons.csv", "seed = 42", "seed = 42");
    let message = fails(&ws, &["run", &spec], 2);
    assert!(
        message.contains("semicolons.csv: the header reads as one column")
            && message.contains("whose name holds semicolons"),
        "{message}"
    );
    assert!(
        message.contains("hint: save the file with commas"),
        "{message}"
    );
}
