//! `infer` inputs and outputs (issue #6): a file in any supported format,
//! stdin, one inline row, JSON rows; CSV, Parquet or NDJSON out; strict
//! errors that leave no file behind; and `evaluate` on a labelled file.

use std::io::Write;

use crate::common::{FIRST_ROW, Workspace, diabetes_csv, stderr};

/// The predictions of a CSV (or NDJSON) output, in row order.
fn predictions(text: &str) -> Vec<f64> {
    if text.trim_start().starts_with('{') {
        return text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["prediction"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
    }
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|c| *c == "prediction").unwrap();
    lines
        .map(|l| l.split(',').nth(at).unwrap().parse().unwrap())
        .collect()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn every_input_and_output_format_gives_the_same_predictions() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=3"]);
    let csv = diabetes_csv();
    let reference = predictions(&ws.ok(&["infer", "--input", csv.to_str().unwrap()]));
    assert_eq!(reference.len(), 442);

    // gzip-compressed CSV in, Parquet and NDJSON out (by extension).
    let text = std::fs::read(&csv).unwrap();
    let gz = ws.path().join("rows.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&text).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let ndjson = ws.path().join("out.ndjson");
    ws.ok(&[
        "infer",
        "--input",
        gz.to_str().unwrap(),
        "--output",
        ndjson.to_str().unwrap(),
    ]);
    let from_gz = predictions(&std::fs::read_to_string(&ndjson).unwrap());
    close(&from_gz, &reference);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&ndjson)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.first().map(|k| k.as_str()),
        Some("age"),
        "input column order is kept"
    );
    assert_eq!(keys.last().map(|k| k.as_str()), Some("prediction"));

    // NDJSON in, only the predictions out.
    let only = ws.ok(&[
        "infer",
        "--input",
        ndjson.to_str().unwrap(),
        "--only-predictions",
    ]);
    assert!(only.starts_with("prediction\n"), "{only}");
    close(&predictions(&only), &reference);

    let parquet = ws.path().join("out.parquet");
    ws.ok(&[
        "infer",
        "--input",
        csv.to_str().unwrap(),
        "--output",
        parquet.to_str().unwrap(),
    ]);
    let again = ws.ok(&[
        "infer",
        "--input",
        parquet.to_str().unwrap(),
        "--only-predictions",
    ]);
    // The Parquet output holds the input columns and the predictions; with
    // --only-predictions its own `prediction` column is no obstacle.
    close(&predictions(&again), &reference);

    // stdin, CSV and NDJSON.
    let out = ws
        .cmd()
        .args(["infer", "--input", "-", "--format", "ndjson"])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert!(out.status.success());
    close(
        &predictions(&String::from_utf8(out.stdout).unwrap()),
        &reference,
    );

    // One row inline, and the same row as JSON.
    let row = predictions(&ws.ok(&["infer", "--row", FIRST_ROW, "--only-predictions"]));
    close(&row, &reference[..1]);
    let json = r#"[{"age":59,"sex":2,"bmi":32.1,"bp":101,"s1":157,"s2":93.2,"s3":38,"s4":4,"s5":4.8598,"s6":87}]"#;
    close(
        &predictions(&ws.ok(&["infer", "--json", json])),
        &reference[..1],
    );
}

#[test]
fn bad_rows_are_refused_and_leave_no_output() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let out_path = ws.path().join("never.csv");
    let out = ws.run(&[
        "infer",
        "--row",
        "age=1,sex=2",
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bmi"), "{}", stderr(&out));
    assert!(!out_path.exists());

    let text_cell = FIRST_ROW.replace("bmi=32.1", "bmi=high");
    let out = ws.run(&["infer", "--row", &text_cell]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bmi"), "{}", stderr(&out));

    for bad in ["{", "3", "[1]"] {
        let out = ws.run(&["infer", "--json", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    let out = ws.run(&["infer", "--row", "age"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ws.run(&["infer", "--row", FIRST_ROW, "--output", "x.gz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));

    let with_prediction = ws.write(
        "p.csv",
        &format!("{},prediction\n", "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6"),
    );
    let out = ws.run(&["infer", "--input", with_prediction.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already has a column"),
        "{}",
        stderr(&out)
    );
    // A device this build or machine lacks is a clear usage error; `auto`
    // always finds one.
    let out = ws.run(&["infer", "--row", FIRST_ROW, "--device", "cuda"]);
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("cuda"), "{}", stderr(&out));
    }
    ws.ok(&["infer", "--row", FIRST_ROW, "--device", "auto"]);
    // Exactly one source of rows.
    let out = ws.run(&["infer"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ws.run(&["infer", "--row", FIRST_ROW, "--json", "{}"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn evaluate_computes_the_metrics_of_the_predictions() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=5"]);
    let csv = diabetes_csv();
    let value: serde_json::Value =
        serde_json::from_str(&ws.ok(&["evaluate", "--input", csv.to_str().unwrap(), "--json"]))
            .unwrap();
    assert_eq!(value["rows"], 442);
    let out = ws.ok(&["infer", "--input", csv.to_str().unwrap()]);
    let predicted = predictions(&out);
    let targets: Vec<f64> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let n = targets.len() as f64;
    let mse = predicted
        .iter()
        .zip(&targets)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / n;
    let mean = targets.iter().sum::<f64>() / n;
    let total = targets.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n;
    let metrics = &value["metrics"];
    assert!((metrics["mse"].as_f64().unwrap() - mse).abs() <= 1e-3 * mse);
    assert!((metrics["r2"].as_f64().unwrap() - (1.0 - mse / total)).abs() <= 1e-4);
    let text = ws.ok(&["evaluate", "--input", csv.to_str().unwrap()]);
    assert!(text.contains("442"), "{text}");
    let unlabelled = ws.write(
        "u.csv",
        "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\n1,1,1,1,1,1,1,1,1,1\n",
    );
    let out = ws.run(&["evaluate", "--input", unlabelled.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("target"), "{}", stderr(&out));
}

#[test]
fn large_inputs_stream_in_batches_with_the_same_results() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let csv = diabetes_csv();
    let reference = predictions(&ws.ok(&["infer", "--input", csv.to_str().unwrap()]));
    let whole_csv = ws.ok(&["infer", "--input", csv.to_str().unwrap()]);

    // Batches of 50 rows: CSV, NDJSON and Parquet out; CSV, NDJSON, Parquet
    // and stdin in. The output is the same rows, in order, with one header.
    let batched = ws.ok(&[
        "infer",
        "--input",
        csv.to_str().unwrap(),
        "--batch-rows",
        "50",
    ]);
    assert_eq!(batched.matches("age,").count(), 1, "one header");
    assert_eq!(batched.lines().count(), whole_csv.lines().count());
    close(&predictions(&batched), &reference);
    let parquet = ws.path().join("out.parquet");
    ws.ok(&[
        "infer",
        "--input",
        csv.to_str().unwrap(),
        "--output",
        parquet.to_str().unwrap(),
        "--batch-rows",
        "50",
    ]);
    let again = ws.ok(&[
        "infer",
        "--input",
        parquet.to_str().unwrap(),
        "--only-predictions",
        "--batch-rows",
        "64",
        "--format",
        "ndjson",
    ]);
    close(&predictions(&again), &reference);
    let out = ws
        .cmd()
        .args(["infer", "--input", "-", "--batch-rows", "7"])
        .write_stdin(std::fs::read(&csv).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    close(
        &predictions(&String::from_utf8(out.stdout).unwrap()),
        &reference,
    );

    // A bad cell in a later batch: the row is counted in the whole file,
    // and the output file (already half written) is not left behind.
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let row_300 = text.lines().nth(300).unwrap().to_owned();
    let broken: Vec<&str> = row_300.split(',').collect();
    let broken = format!("{},oops,{}", broken[..2].join(","), broken[3..].join(","));
    text = text.replacen(&row_300, &broken, 1);
    let bad = ws.write("bad.csv", &text);
    let target = ws.path().join("out").join("predictions.csv");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let out = ws.run(&[
        "infer",
        "--input",
        bad.to_str().unwrap(),
        "--output",
        target.to_str().unwrap(),
        "--batch-rows",
        "64",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`bmi`") && stderr(&out).contains("row 300"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(target.parent().unwrap()).unwrap().count(),
        0,
        "no output and no temporary file"
    );

    // `| head`: a closed stdout ends the stream quietly. 200 copies of the
    // rows are more than a pipe holds, so the writer does meet the close.
    let original = std::fs::read_to_string(&csv).unwrap();
    let (header, rows) = original.split_once('\n').unwrap();
    let many = ws.write("many.csv", &format!("{header}\n{}", rows.repeat(200)));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .args(["infer", "--input", many.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first[..4], b"age,");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // evaluate reads in batches too.
    let whole: serde_json::Value =
        serde_json::from_str(&ws.ok(&["evaluate", "--input", csv.to_str().unwrap(), "--json"]))
            .unwrap();
    assert_eq!(whole["rows"], 442);
}

/// Several regression targets, normalized for training: one output per
/// target, predictions back in the file's units, one column per target.
#[test]
fn several_targets_predict_one_column_each_in_file_units() {
    let ws = Workspace::new();
    let run = ws.train(&[
        "data.target=[\"target\", \"s5\"]",
        "data.normalize_target=\"zscore\"",
        "model.layers.2.units=2",
        "train.epochs=40",
    ]);
    let test = &run["metrics"]["test"];
    assert!(test["r2"].as_f64().unwrap() > 0.2, "{run}");
    let out = ws.ok(&[
        "infer",
        "--input",
        diabetes_csv().to_str().unwrap(),
        "--only-predictions",
    ]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("prediction_target,prediction_s5"));
    let rows: Vec<(f64, f64)> = lines
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 442);
    // The file's units: disease progression around 150, s5 (log
    // triglycerides) around 4.6.
    let mean = |f: fn(&(f64, f64)) -> f64| rows.iter().map(f).sum::<f64>() / rows.len() as f64;
    assert!((100.0..200.0).contains(&mean(|r| r.0)), "{out}");
    assert!((4.0..5.2).contains(&mean(|r| r.1)), "{out}");
    // evaluate reads both targets back.
    let evaluation: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        diabetes_csv().to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(evaluation["rows"], 442);
}

/// Input mistakes that reviewers met: hints in the run's own columns, every
/// missing column at once, `inf` as the text it is, whole numbers passed
/// through as written.
#[test]
fn inline_rows_are_checked_in_the_runs_own_terms() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let bad = ws.run(&["infer", "--run", "latest", "--row", "foo"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("e.g. --row age="), "{}", stderr(&bad));
    let two = ws.run(&["infer", "--run", "latest", "--row", "age=59,sex=2"]);
    assert_eq!(two.status.code(), Some(2), "{}", stderr(&two));
    assert!(
        stderr(&two).contains("8 of the run's 10 feature columns are missing: `bmi`, `bp`"),
        "{}",
        stderr(&two)
    );
    let row = FIRST_ROW.replacen("age=59", "age=inf", 1);
    let inf = ws.run(&["infer", "--run", "latest", "--row", &row]);
    assert_eq!(inf.status.code(), Some(2), "{}", stderr(&inf));
    assert!(stderr(&inf).contains("\"inf\""), "{}", stderr(&inf));
    let huge = FIRST_ROW.replacen("age=59", "age=1e308", 1);
    let out = ws.run(&["infer", "--run", "latest", "--row", &huge]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("column `age` at row 1 is too large"),
        "{}",
        stderr(&out)
    );
    // The input's integers come back as integers (they are read as floats).
    let text = ws.ok(&[
        "infer",
        "--run",
        "latest",
        "--input",
        diabetes_csv().to_str().unwrap(),
    ]);
    let first = text.lines().nth(1).unwrap();
    assert!(
        first.starts_with("59,2,32.1,101.0,157,93.2,38.0,4.0,4.8598,87,151,"),
        "{first}"
    );
}
