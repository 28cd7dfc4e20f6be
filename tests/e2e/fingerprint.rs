//! The resolved-columns fingerprint (issue 3): a run records a short hash of
//! its input columns' names and types, and `infer`, `evaluate` and `serve`
//! refuse an input whose columns are missing or of another type, naming
//! the column, both types and the first offending row, with exit code 2
//! and no output file; the same data as CSV, Parquet or NDJSON, integers
//! where floats were trained and numbers written as text are accepted.
//! Runs recorded before keep predicting as they did.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::{Workspace, diabetes_csv, scrub, sqlite_only, stderr};

/// Rows of diabetes.csv used here (training stays well under a second).
const ROWS: usize = 150;

/// The first [`ROWS`] diabetes rows, `sex` recoded as text (`female`,
/// `male`) and a `zip` of integers, each cell passed through `cell(row,
/// column, text)` (`row` from 1). Columns: age, sex, bmi, bp, s1-s6, zip, target.
fn table(ws: &Workspace, name: &str, cell: &dyn Fn(usize, &str, String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines = text.lines();
    let mut header: Vec<&str> = lines.next().unwrap().split(',').collect();
    header.insert(10, "zip");
    let mut out = header.join(",") + "\n";
    for (i, line) in lines.take(ROWS).enumerate() {
        let mut fields: Vec<String> = line.split(',').map(String::from).collect();
        fields[1] = if fields[1] == "1" { "female" } else { "male" }.into();
        fields.insert(10, if i % 3 == 0 { "2139" } else { "94110" }.into());
        let fields: Vec<String> = fields
            .into_iter()
            .zip(&header)
            .map(|(text, column)| cell(i + 1, column, text))
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    ws.write(name, &out)
}

fn as_is(_: usize, _: &str, text: String) -> String {
    text
}

/// Trains on `train.csv`: `sex` is categorical (text), `zip` declared
/// categorical (numbers), the rest float. Unseen categories are ignored, so
/// only the type check stands between a wrong column and a prediction.
fn train(ws: &Workspace) -> serde_json::Value {
    let data = table(ws, "train.csv", &as_is);
    let spec = ws.write(
        "fingerprint.toml",
        &format!(
            r#"name = "fingerprint"
[data]
path = {:?}
target = "target"
unknown = "ignore"
[data.types]
zip = "categorical"
[model]
layers = [{{ type = "linear", units = 8 }}, {{ type = "relu" }}, {{ type = "linear", units = 1 }}]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 0.01
[train]
epochs = 2
"#,
            data.display().to_string()
        ),
    );
    serde_json::from_str(&ws.ok(&["run", spec.to_str().unwrap(), "--json"])).unwrap()
}

/// The `prediction` column of `infer --only-predictions` on `input`.
fn predictions(ws: &Workspace, input: &Path) -> Vec<String> {
    ws.ok(&[
        "infer",
        "--input",
        input.to_str().unwrap(),
        "--only-predictions",
    ])
    .lines()
    .skip(1)
    .map(String::from)
    .collect()
}

#[test]
fn a_run_records_the_hash_of_its_columns_names_and_types() {
    let ws = Workspace::new();
    train(&ws);
    let hash = ws.query::<String>("SELECT columns_hash FROM runs")[0].clone();
    // The documented recipe: sha256 of the compact JSON list, 16 hex digits.
    let types = [
        ("age", "float"),
        ("sex", "categorical"),
        ("bmi", "float"),
        ("bp", "float"),
        ("s1", "float"),
        ("s2", "float"),
        ("s3", "float"),
        ("s4", "float"),
        ("s5", "float"),
        ("s6", "float"),
        ("zip", "categorical"),
    ];
    let list: Vec<serde_json::Value> = types
        .iter()
        .map(|(name, kind)| serde_json::json!({"name": name, "type": kind}))
        .collect();
    let json = serde_json::to_string(&list).unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(json.as_bytes()))[..16]);
    let show = ws.ok(&["show", "latest"]);
    assert!(
        show.contains(&format!(
            "columns         hash {hash} (the input columns' names and types)"
        )),
        "{show}"
    );
    // Another layout of the same file: zip as a float column.
    let spec = ws.path().join("fingerprint.toml");
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("zip = \"categorical\"", "zip = \"float\"");
    std::fs::write(&spec, text).unwrap();
    ws.ok(&["run", spec.to_str().unwrap(), "-q"]);
    let hashes = ws.query::<String>("SELECT columns_hash FROM runs ORDER BY started_at");
    assert_eq!(hashes.len(), 2);
    assert_ne!(hashes[0], hashes[1]);
}

#[test]
fn the_same_data_in_another_form_is_accepted() {
    let ws = Workspace::new();
    train(&ws);
    let reference = predictions(&ws, &ws.path().join("train.csv"));
    assert_eq!(reference.len(), ROWS);

    // Integers where floats were trained (s3 is written 38.0 in training),
    // floats where integers were (age, and zip, a category: 94110.0 is 94110).
    let retyped = table(&ws, "retyped.csv", &|_, column, text| match column {
        "s3" => text.trim_end_matches(".0").to_string(),
        "age" | "zip" => format!("{text}.0"),
        _ => text,
    });
    assert_eq!(predictions(&ws, &retyped), reference);

    // NDJSON, with the numbers of bmi and zip written as strings.
    let csv = std::fs::read_to_string(ws.path().join("train.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut ndjson = String::new();
    for line in lines {
        let mut row = serde_json::Map::new();
        for (column, text) in header.iter().zip(line.split(',')) {
            let value = match *column {
                "sex" | "bmi" | "zip" => serde_json::Value::from(text),
                _ => serde_json::Value::from(text.parse::<f64>().unwrap()),
            };
            row.insert(column.to_string(), value);
        }
        ndjson.push_str(&serde_json::Value::Object(row).to_string());
        ndjson.push('\n');
    }
    let ndjson = ws.write("rows.ndjson", &ndjson);
    assert_eq!(predictions(&ws, &ndjson), reference);

    // Parquet, as `infer` writes it (typed columns: text, i64, f64).
    let parquet = ws.path().join("rows.parquet");
    ws.ok(&[
        "infer",
        "--input",
        ws.path().join("train.csv").to_str().unwrap(),
        "--output",
        parquet.to_str().unwrap(),
    ]);
    assert_eq!(predictions(&ws, &parquet), reference);

    // A category the run never saw, of the right type, is the unknown rule's
    // business (ignored here), not a type error.
    let unseen = table(&ws, "unseen.csv", &|row, column, text| match column {
        "sex" if row == 2 => "other".into(),
        "zip" if row == 2 => "10001".into(),
        _ => text,
    });
    assert_eq!(predictions(&ws, &unseen).len(), ROWS);
}

/// `infer` of `input` into a file: exit code 2, no file, the message.
fn refused(ws: &Workspace, input: &Path, extra: &[&str]) -> String {
    let output = ws.path().join("never.csv");
    let mut args = vec![
        "infer",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = ws.run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        !output.exists(),
        "a refused input left {}",
        output.display()
    );
    scrub(&stderr(&out), ws)
}

#[test]
fn inputs_of_another_layout_are_refused_by_infer_and_evaluate() {
    let ws = Workspace::new();
    train(&ws);

    // A missing column.
    let text = std::fs::read_to_string(ws.path().join("train.csv")).unwrap();
    let without_bmi: String = text
        .lines()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            fields.remove(2);
            fields.join(",") + "\n"
        })
        .collect();
    let missing = ws.write("missing.csv", &without_bmi);
    insta::assert_snapshot!("missing_column", refused(&ws, &missing, &[]));

    // A word in a float column, in the third batch of 50 rows: earlier
    // batches were predicted, yet no file appears.
    let word = table(&ws, "word.csv", &|row, column, text| match column {
        "bmi" if row == 120 => "high".into(),
        _ => text,
    });
    insta::assert_snapshot!(
        "word_in_a_float_column",
        refused(&ws, &word, &["--batch-rows", "50"])
    );

    // Numbers in a column of text categories: the raw diabetes coding of
    // sex (1, 2), which the run never saw as such.
    let coded = table(&ws, "coded.csv", &|row, column, text| match column {
        "sex" => if row % 2 == 0 { "1" } else { "2" }.into(),
        _ => text,
    });
    insta::assert_snapshot!("number_in_a_text_category", refused(&ws, &coded, &[]));

    // A word in a column of number categories.
    let postcode = table(&ws, "postcode.csv", &|row, column, text| match column {
        "zip" if row == 7 => "SW1A".into(),
        _ => text,
    });
    insta::assert_snapshot!("word_in_a_number_category", refused(&ws, &postcode, &[]));

    // Booleans in a float column (NDJSON).
    let ndjson = ws.write(
        "flags.ndjson",
        "{\"age\": 50, \"sex\": \"male\", \"bmi\": true, \"bp\": 90, \"s1\": 180, \"s2\": 100, \
         \"s3\": 50, \"s4\": 4, \"s5\": 4.5, \"s6\": 90, \"zip\": 94110}\n",
    );
    let message = refused(&ws, &ndjson, &[]);
    assert!(
        message.contains("column `bmi` holds booleans here, but the run was trained on it as float: row 1 has \"true\""),
        "{message}"
    );

    // evaluate: the same check, the same exit code.
    let out = ws.run(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        word.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("column `bmi` holds text here, but the run was trained on it as float: row 120 has \"high\""),
        "{}",
        stderr(&out)
    );
    let out = ws.run(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        coded.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("column `sex` holds integers"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_run_recorded_before_the_hash_predicts_as_it_did() {
    // PostgreSQL registries postdate the columns hash: no such run exists there.
    sqlite_only!("stages pre-hash run");
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let csv = diabetes_csv();
    let reference = predictions(&ws, &csv);

    // The preprocessing.json of the first runs (no `columns`, no types),
    // with the checksum the registry held for it, and no columns hash.
    let path: String =
        ws.query::<String>("SELECT path FROM artifacts WHERE kind = 'preprocessing'")[0].clone();
    let file = ws.path().join("registry").join(&path);
    let current: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let old = serde_json::json!({
        "features": current["features"],
        "target": "target",
        "normalize": current["normalize"],
        "transforms": current["transforms"],
    });
    let bytes = serde_json::to_vec_pretty(&old).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    ws.execute(&format!(
        "UPDATE artifacts SET sha256 = '{}', bytes = {} WHERE kind = 'preprocessing'",
        hex::encode(Sha256::digest(&bytes)),
        bytes.len()
    ));
    ws.execute("UPDATE runs SET columns_hash = NULL");

    assert_eq!(predictions(&ws, &csv), reference);
    let show = ws.ok(&["show", "latest"]);
    assert!(
        show.contains("columns         not recorded (a run from before the columns were hashed)"),
        "{show}"
    );
    // Its columns are floats, as they always were: a word is still refused.
    let out = ws.run(&[
        "infer",
        "--row",
        "age=59,sex=2,bmi=high,bp=101,s1=157,s2=93.2,s3=38,s4=4,s5=4.8598,s6=87",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("column `bmi` holds text here"),
        "{}",
        stderr(&out)
    );
}
