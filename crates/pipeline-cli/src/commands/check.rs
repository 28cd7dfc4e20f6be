//! `pipeline check SPEC… [--set KEY=VALUE] [--json]`: everything `run`
//! does before the first epoch (validate the spec, read and split the data,
//! pick the device, build the network), then a report: the columns and
//! their types, rows per split, the layers with their shapes and
//! parameters, and the pitfalls worth a warning. Nothing is trained or
//! written; a mistake exits 2 exactly as `run` would.

use std::time::Instant;

use pipeline_data::{Encoding, TargetPlan, column_types};
use pipeline_spec::Normalize;
use pipeline_train::pitfalls;
use serde_json::{Value, json};

use crate::cli::CheckArgs;
use crate::commands::run::Planned;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, duration};

/// Rows read to report the columns' types.
const TYPE_SAMPLE_ROWS: usize = 1000;

pub fn check(_context: &Context, args: CheckArgs) -> anyhow::Result<()> {
    let mut reports = Vec::with_capacity(args.specs.len());
    for path in &args.specs {
        let start = Instant::now();
        let loaded = pipeline_spec::Spec::load(path, &args.set)?;
        let data_path = loaded.data_path();
        let plan = Planned::new(loaded, data_path)?;
        let types = column_types(&plan.data_path, TYPE_SAMPLE_ROWS)?;
        let report = report(&plan, &types, start.elapsed().as_secs_f64());
        reports.push(report);
    }
    if args.json {
        let value = if reports.len() == 1 {
            reports.remove(0)
        } else {
            Value::Array(reports)
        };
        return print(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let text: Vec<String> = reports.iter().map(render).collect();
    print(&text.join("\n"))
}

/// What `check` found, as JSON (the text form renders this).
fn report(plan: &Planned, types: &[(String, String)], seconds: f64) -> Value {
    let spec = &plan.loaded.spec;
    let data = &plan.data;
    let preprocessing = &data.preprocessing;
    let file_type = |name: &str| {
        types
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| "?".to_owned(), |(_, t)| t.clone())
    };
    let mut columns: Vec<Value> = preprocessing
        .columns
        .iter()
        .map(|plan| {
            let becomes = match &plan.encoding {
                Encoding::Float { normalize } => json!({
                    "kind": "float",
                    "normalize": normalize,
                    "inputs": 1,
                }),
                Encoding::Categorical {
                    encode,
                    unknown,
                    categories,
                    normalize,
                } => json!({
                    "kind": "categorical",
                    "encode": encode,
                    "unknown": unknown,
                    "categories": categories.len(),
                    "normalize": normalize,
                    "inputs": plan.width(),
                }),
            };
            json!({
                "name": plan.column,
                "type": file_type(&plan.column),
                "role": "feature",
                "becomes": becomes,
                "missing": plan.missing,
                "fill": plan.fill,
            })
        })
        .collect();
    let targets = &preprocessing.targets;
    match targets {
        TargetPlan::Regression { columns: names, .. } => {
            for name in names {
                let mut column = json!({
                    "name": name,
                    "type": file_type(name),
                    "role": "target",
                });
                if spec.data.normalize_target != Normalize::None {
                    column["becomes"] =
                        json!({"kind": "float", "normalize": spec.data.normalize_target});
                }
                columns.push(column);
            }
        }
        TargetPlan::Binary {
            column,
            classes,
            counts,
        }
        | TargetPlan::Multiclass {
            column,
            classes,
            counts,
        } => columns.push(json!({
            "name": column,
            "type": file_type(column),
            "role": "target",
            "becomes": {"kind": "classes", "task": targets.task(), "classes": classes, "train_counts": counts},
        })),
    }
    let target_columns = targets.columns();
    let ignored: Vec<&String> = types
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !target_columns.contains(name) && !preprocessing.features.contains(name))
        .collect();
    let layers: Vec<Value> = plan
        .network
        .summary()
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "kind": l.kind,
                "output_shape": l.output_shape,
                "parameters": l.parameters,
            })
        })
        .collect();
    json!({
        "spec": plan.loaded.path.display().to_string(),
        "experiment": spec.name.as_str(),
        "data": {
            "path": plan.data_path.display().to_string(),
            "rows": data.sizes.train + data.sizes.validation + data.sizes.test,
            // What `rows` and the splits count: samples of a windowed
            // series are windows of consecutive rows.
            "unit": if preprocessing.window.is_some() { "windows" } else { "rows" },
            "sha256": data.data_sha256,
        },
        "columns": columns,
        "ignored_columns": ignored,
        "splits": {
            "train": data.sizes.train,
            "validation": data.sizes.validation,
            "test": data.sizes.test,
        },
        "device": pipeline_train::device_name(&plan.device),
        "model": {
            "inputs": preprocessing.input_width(),
            "input_shape": plan.network.input_shape(),
            "parameters": plan.network.parameter_count(),
            "layers": layers,
        },
        "warnings": pitfalls(spec, data, &plan.network),
        "seconds": seconds,
    })
}

/// A row shape as `[16, 8, 8]`.
fn shape(value: &Value) -> String {
    let dims: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(Value::to_string)
        .collect();
    format!("[{}]", dims.join(", "))
}

fn render(report: &Value) -> String {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut out = format!(
        "{} ({})\n",
        text(&report["experiment"]),
        text(&report["spec"])
    );
    let data = &report["data"];
    let sha: String = text(&data["sha256"]).chars().take(12).collect();
    out.push_str(&format!(
        "data     {}: {} {}, sha256 {sha}…\n",
        text(&data["path"]),
        data["rows"],
        text(&data["unit"])
    ));
    let splits = &report["splits"];
    out.push_str(&format!(
        "splits   train {}, validation {}, test {}\n",
        splits["train"], splits["validation"], splits["test"]
    ));
    out.push('\n');

    // Fills, categories and scalers are fitted on the training split.
    let mut columns = format::table(&["column", "type", "role", "model inputs", "missing"]);
    for column in report["columns"].as_array().into_iter().flatten() {
        let becomes = &column["becomes"];
        let inputs = match becomes["kind"].as_str() {
            Some("float") => text(&becomes["normalize"]),
            Some("categorical") => format!(
                "{} {} of {} categories, unknown: {}",
                becomes["inputs"],
                text(&becomes["encode"]),
                becomes["categories"],
                text(&becomes["unknown"])
            ),
            Some("classes") => {
                let counts = becomes["train_counts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let classes: Vec<String> = becomes["classes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .zip(counts.iter().map(Some).chain(std::iter::repeat(None)))
                    .map(|(class, count)| match count {
                        Some(count) => format!("{} ({count})", text(class)),
                        None => text(class),
                    })
                    .collect();
                format!(
                    "{} classes: {} (training rows)",
                    text(&becomes["task"]),
                    classes.join(", ")
                )
            }
            _ => String::new(),
        };
        let missing = match (&column["missing"], &column["fill"]) {
            (Value::Null, _) => String::new(),
            // `{"constant": 0.0}`: the constant is the fill.
            (Value::Object(constant), _) if constant.contains_key("constant") => {
                format!("constant {}", text(&constant["constant"]))
            }
            (missing, Value::Null) => text(missing),
            (missing, fill) => format!("{} ({})", text(missing), text(fill)),
        };
        columns.add_row(vec![
            text(&column["name"]),
            text(&column["type"]),
            text(&column["role"]),
            inputs,
            missing,
        ]);
    }
    out.push_str(&format::render(&columns));
    out.push('\n');
    if let Some(ignored) = report["ignored_columns"].as_array()
        && !ignored.is_empty()
    {
        let names: Vec<String> = ignored.iter().map(text).collect();
        out.push_str(&format!("not used: {}\n", names.join(", ")));
    }

    let model = &report["model"];
    // A declared `model.input` is shown as the shape rows are reshaped to.
    let reshaped = match model["input_shape"].as_array() {
        Some(dims) if dims.len() > 1 => format!(" as {}", shape(&model["input_shape"])),
        _ => String::new(),
    };
    out.push_str(&format!(
        "\nmodel    {} inputs{reshaped}, {} parameters, device {}\n",
        model["inputs"],
        model["parameters"],
        text(&report["device"])
    ));
    let mut layers = format::table(&["layer", "kind", "output", "parameters"]);
    for layer in model["layers"].as_array().into_iter().flatten() {
        layers.add_row(vec![
            text(&layer["name"]),
            text(&layer["kind"]),
            shape(&layer["output_shape"]),
            layer["parameters"].to_string(),
        ]);
    }
    format::align_numbers(&mut layers, 2);
    out.push_str(&format::render(&layers));
    out.push('\n');

    let warnings = report["warnings"].as_array().cloned().unwrap_or_default();
    if warnings.is_empty() {
        out.push_str("\nno warnings\n");
    } else {
        out.push('\n');
        for warning in &warnings {
            out.push_str(&format!(
                "warning: {}\n  hint: {}\n",
                text(&warning["message"]),
                text(&warning["hint"])
            ));
        }
    }
    out.push_str(&format!(
        "checked in {}\n",
        duration(report["seconds"].as_f64().unwrap_or(0.0))
    ));
    out
}
