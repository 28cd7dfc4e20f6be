//! `pipeline export RUN --out DIR`: a run as a self-contained folder that
//! another program (PyTorch, a serving stack) can load without the registry:
//! the weights as stored, the resolved spec, the preprocessing, a schema of
//! inputs, output and layers, the final metrics and the reproducibility
//! receipt. The artifacts are checked against their sha256 first; the folder
//! is built beside DIR and renamed into place, so a failure leaves no DIR.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::Device;
use pipeline_data::{Encoding, Preprocessing, TargetPlan};
use pipeline_registry::{ArtifactKind, ArtifactRecord, RunRecord};
use pipeline_spec::{Encode, Layer, Normalize, Spec};
use serde_json::{Map, Value, json};

use crate::cli::ExportArgs;
use crate::commands::predictor::{StoredModel, is_checkpoint};
use crate::commands::shared::{Context, print, short_id};
use crate::exit::UserError;
use crate::output::guard::RegistryFiles;

/// Bumped when a file of the folder changes shape.
const FORMAT_VERSION: u32 = 1;

/// The files of an export: what `--force` may replace.
const FILES: [&str; 6] = [
    "model.safetensors",
    "spec.toml",
    "preprocessing.json",
    "schema.json",
    "metrics.json",
    "receipt.json",
];

pub fn export(context: &Context, args: ExportArgs) -> anyhow::Result<()> {
    let registry_files = context.registry_files();
    check_destination(&args.out, args.force, &registry_files)?;
    let registry = context.registry_to_read()?;
    let stored = StoredModel::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        "to export",
    )?;
    // The folder promises weights that fit the schema: load them once.
    stored.network(&Device::Cpu)?;
    let StoredModel {
        record,
        spec,
        preprocessing,
        weights,
        preprocessing_json: preprocessing_bytes,
    } = stored;
    let checkpoint = is_checkpoint(&record);
    let weights_record = artifact(&record, ArtifactKind::Weights)?;
    let preprocessing_record = artifact(&record, ArtifactKind::Preprocessing)?;

    let contents: [Vec<u8>; 6] = [
        weights,
        record.spec_toml.clone().into_bytes(),
        preprocessing_bytes,
        to_json(&schema(&spec, &preprocessing)?)?,
        to_json(&metrics(&record))?,
        to_json(&receipt(&record, weights_record, preprocessing_record))?,
    ];
    let files: Vec<(&str, Vec<u8>)> = FILES.into_iter().zip(contents).collect();
    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    let path = write_folder(&args.out, args.force, &registry_files, &files)?;

    print(&format!("{}\n", path.display()))?;
    if !context.global.quiet {
        let selection = record
            .selection_value
            .map_or_else(|| "?".to_owned(), |v| format!("{v:.6}"));
        let best = record
            .best_epoch
            .map_or_else(|| "?".to_owned(), |e| e.to_string());
        eprintln!(
            "exported run {} ({}, best epoch {best}, {} {selection}{}): {} files, {total} bytes",
            short_id(record.id.as_str()),
            record.experiment,
            record.selection_metric,
            if checkpoint {
                ", killed: checkpoint"
            } else {
                ""
            },
            files.len(),
        );
    }
    Ok(())
}

fn artifact(record: &RunRecord, kind: ArtifactKind) -> anyhow::Result<&ArtifactRecord> {
    record
        .artifact(kind)
        .ok_or_else(|| anyhow::anyhow!("run {} has no {kind:?} artifact recorded", record.id))
}

fn to_json(value: &Value) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    text.push('\n');
    Ok(text.into_bytes())
}

/// Inputs (in model order, with the normalization applied to each), the
/// output, and the layers with their weight names and sizes. Layers other
/// than the multilayer perceptron's carry their spec settings and the shape
/// of a row after them.
fn schema(spec: &Spec, preprocessing: &Preprocessing) -> anyhow::Result<Value> {
    let inputs = schema_inputs(preprocessing);
    let shapes = pipeline_model::row_shapes(&spec.model, preprocessing.input_width())?;
    // The features a first linear layer sees: the last axis of `model.input`.
    let mut width = match &spec.model.input {
        Some(shape) => shape.last().map_or(1, |d| d.get() as usize),
        None => preprocessing.input_width(),
    };
    let layers: Vec<Value> = spec
        .model
        .layers
        .iter()
        .zip(&shapes)
        .enumerate()
        .map(|(index, (layer, shape))| match layer {
            Layer::Linear { units, bias } => {
                let units = units.get() as usize;
                let value = json!({
                    "type": "linear",
                    "in": width,
                    "out": units,
                    "weight": format!("{index}.weight"),
                    "bias": bias.then(|| format!("{index}.bias")),
                });
                width = units;
                value
            }
            Layer::Relu => json!({ "type": "relu" }),
            Layer::Sigmoid => json!({ "type": "sigmoid" }),
            Layer::Tanh => json!({ "type": "tanh" }),
            Layer::Gelu => json!({ "type": "gelu", "approximate": "none" }),
            Layer::Dropout { rate } => json!({ "type": "dropout", "rate": rate }),
            other => {
                width = shape.last().copied().unwrap_or(width);
                let mut value = json!(other);
                value["output_shape"] = json!(shape);
                value
            }
        })
        .collect();
    let mut schema = json!({
        "format_version": FORMAT_VERSION,
        "normalization_formula": "(x - shift) / scale, in float64, then float32",
        "inputs": inputs,
        "output": schema_output(&preprocessing.targets),
        "model": {
            "kind": "sequential",
            "dtype": "float32",
            "weights": "model.safetensors",
            "layers": layers,
        },
    });
    if let Some(input) = &spec.model.input {
        // Only when declared: rows are reshaped to it, row-major.
        schema["model"]["input_shape"] = json!(input);
    }
    if let Some(window) = &preprocessing.window {
        // Windowed runs: `inputs` holds one scaler per channel; a model row
        // is `steps` rows of those channels, oldest first.
        schema["window"] = json!(window);
    }
    Ok(schema)
}

/// What the network's outputs mean: regression values (with the
/// normalization to undo, `value = output * scale + shift`), a binary
/// logit, or one logit per class.
fn schema_output(targets: &TargetPlan) -> Value {
    match targets {
        TargetPlan::Regression {
            columns,
            transforms,
        } => {
            let normalized = transforms.iter().any(|t| t.shift != 0.0 || t.scale != 1.0);
            let mut output = json!({
                "task": "regression",
                "name": if columns.len() == 1 { "prediction".to_string() } else { "prediction_TARGET".to_string() },
                "type": "float",
                "target": columns.join(","),
                "targets": columns,
                "normalized": normalized,
            });
            if normalized && let Value::Object(object) = &mut output {
                object.insert(
                    "denormalization".to_owned(),
                    json!(
                        transforms
                            .iter()
                            .map(
                                |t| json!({"target": t.column, "shift": t.shift, "scale": t.scale})
                            )
                            .collect::<Vec<_>>()
                    ),
                );
            }
            output
        }
        TargetPlan::Binary {
            column, classes, ..
        } => json!({
            "task": "binary",
            "target": column,
            "classes": classes,
            "logits": 1,
            "meaning": "the logit of classes[1]; its sigmoid is that class's probability",
        }),
        TargetPlan::Multiclass {
            column, classes, ..
        } => json!({
            "task": "multiclass",
            "target": column,
            "classes": classes,
            "logits": classes.len(),
            "meaning": "one logit per class in classes order; their softmax gives the probabilities",
        }),
    }
}

/// One entry per model input, in order: float columns with their fill and
/// normalization; categorical columns as one `onehot` input per category
/// or one `ordinal` input (the category's index in `categories`).
fn schema_inputs(preprocessing: &Preprocessing) -> Vec<Value> {
    let mut inputs = Vec::with_capacity(preprocessing.input_width());
    let mut transforms = preprocessing.transforms.iter();
    for plan in &preprocessing.columns {
        let normalization = |kind: Normalize, t: Option<&pipeline_data::ColumnTransform>| {
            json!({
                "kind": kind,
                "shift": t.map_or(0.0, |t| t.shift),
                "scale": t.map_or(1.0, |t| t.scale),
            })
        };
        match &plan.encoding {
            Encoding::Float { normalize } => {
                let mut input = json!({
                    "name": plan.column,
                    "type": "float",
                    "normalization": normalization(*normalize, transforms.next()),
                });
                if let (Some(fill), Value::Object(object)) = (&plan.fill, &mut input) {
                    object.insert("fill".to_owned(), json!(fill));
                }
                inputs.push(input);
            }
            Encoding::Categorical {
                encode: Encode::Onehot,
                unknown,
                categories,
                ..
            } => {
                for category in categories {
                    transforms.next();
                    inputs.push(json!({
                        "name": format!("{}={category}", plan.column),
                        "type": "onehot",
                        "column": plan.column,
                        "category": category,
                        "fill": plan.fill,
                        "unknown": unknown,
                    }));
                }
            }
            Encoding::Categorical {
                encode: Encode::Ordinal,
                unknown,
                categories,
                normalize,
            } => inputs.push(json!({
                "name": plan.column,
                "type": "ordinal",
                "column": plan.column,
                "categories": categories,
                "fill": plan.fill,
                "unknown": unknown,
                "normalization": normalization(*normalize, transforms.next()),
            })),
        }
    }
    inputs
}

/// Final metrics per split, the best epoch, the selection metric and the
/// overfitting summary.
fn metrics(record: &RunRecord) -> Value {
    let mut by_split: Map<String, Value> = Map::new();
    for m in &record.final_metrics {
        let split = by_split
            .entry(m.split.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(values) = split {
            // NaN (a diverged metric) becomes null.
            values.insert(m.metric.clone(), json!(m.value));
        }
    }
    json!({
        "run": record.id,
        "status": record.status.to_string(),
        "final": by_split,
        "best_epoch": record.best_epoch,
        "epochs_run": record.epochs_run,
        "selection": {
            "metric": record.selection_metric,
            "higher_is_better": record.selection_higher_is_better,
            "value": record.selection_value,
        },
        "overfitting": {
            "gap_at_best": record.overfitting.gap_at_best,
            "test_train_gap": record.overfitting.test_train_gap,
            "onset": record.overfitting.onset,
        },
        "weights_digest": record.weights_digest,
    })
}

/// What reproduces the run, and the checksums of the exported artifacts.
fn receipt(record: &RunRecord, weights: &ArtifactRecord, preprocessing: &ArtifactRecord) -> Value {
    json!({
        "run": record.id,
        "experiment": record.experiment,
        "status": record.status.to_string(),
        "spec_hash": record.spec_hash,
        "data_path": record.data_path,
        "data_sha256": record.data_sha256,
        "columns_hash": record.columns_hash,
        "seed": record.seed,
        "device": record.device,
        "program_version": record.program_version,
        "git_commit": record.git_commit,
        "deterministic": record.deterministic,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "artifacts": {
            "model.safetensors": { "sha256": weights.sha256, "bytes": weights.bytes },
            "preprocessing.json": { "sha256": preprocessing.sha256, "bytes": preprocessing.bytes },
        },
        "exported_by": format!("pipeline {}", env!("CARGO_PKG_VERSION")),
    })
}

/// Refuses a DIR that is a file, the registry's folder (or in it, or
/// holding it), or a folder with files in it unless `force` and it is an
/// earlier export, before any work is done.
fn check_destination(out: &Path, force: bool, registry: &RegistryFiles) -> anyhow::Result<()> {
    registry.check_folder(out)?;
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", out.display())),
        Ok(meta) if !meta.is_dir() => Err(UserError::error(
            format!("cannot export to {}: it is not a folder", out.display()),
            Some("name a new folder, e.g. --out export/"),
        )),
        Ok(_) if is_empty_dir(out)? => Ok(()),
        Ok(_) if !force => Err(UserError::error(
            format!(
                "cannot export to {}: the folder is not empty",
                out.display()
            ),
            Some("pass --force to replace an earlier export, or name a new folder"),
        )),
        Ok(_) => match foreign_entry(out)? {
            None => Ok(()),
            Some(reason) => Err(UserError::error(
                format!(
                    "cannot export to {}: it is not an earlier export ({reason}); --force only replaces one",
                    out.display()
                ),
                Some("name a new folder, or move this one away yourself if it may go"),
            )),
        },
    }
}

/// Why the folder `out` is not one an earlier export wrote, or `None` when
/// it is: only the files of an export, with a receipt naming pipeline.
fn foreign_entry(out: &Path) -> anyhow::Result<Option<String>> {
    let read = |path: &Path| format!("cannot read {}", path.display());
    for entry in fs::read_dir(out).with_context(|| read(out))? {
        let entry = entry.with_context(|| read(out))?;
        let name = entry.file_name();
        let is_file = entry.file_type().with_context(|| read(out))?.is_file();
        if !is_file || !FILES.iter().any(|known| name == *known) {
            return Ok(Some(format!(
                "it holds {}, which an export does not write",
                name.to_string_lossy()
            )));
        }
    }
    let receipt = out.join("receipt.json");
    let exported_by = fs::read(&receipt)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|value| value.get("exported_by")?.as_str().map(str::to_owned));
    Ok(match exported_by {
        Some(by) if by.starts_with("pipeline ") => None,
        _ => Some("it has no receipt.json written by pipeline".to_owned()),
    })
}

fn is_empty_dir(path: &Path) -> anyhow::Result<bool> {
    let mut entries =
        fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(entries.next().is_none())
}

/// Builds the folder in a temporary folder beside `out`, syncs every file,
/// then renames it to `out` (moving a previous `out` away first when
/// `force`). Returns the folder's absolute path.
fn write_folder(
    out: &Path,
    force: bool,
    registry: &RegistryFiles,
    files: &[(&str, Vec<u8>)],
) -> anyhow::Result<PathBuf> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".export-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    for (name, bytes) in files {
        let path = staging.path().join(name);
        let failed = || format!("cannot write {}", path.display());
        let mut file = fs::File::create(&path).with_context(failed)?;
        file.write_all(bytes).with_context(failed)?;
        file.sync_all().with_context(failed)?;
    }
    // A temporary folder is private (0700); the export is an ordinary folder.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot set permissions on {}", staging.path().display()))?;
    }
    sync_dir(staging.path());

    // Checked again: DIR may have appeared while the artifacts were read.
    check_destination(out, force, registry)?;
    let mut previous = None;
    if out.is_dir() {
        if is_empty_dir(out)? {
            fs::remove_dir(out).with_context(|| format!("cannot replace {}", out.display()))?;
        } else {
            let graveyard = tempfile::Builder::new()
                .prefix(".export-old-")
                .tempdir_in(&parent)
                .with_context(|| {
                    format!("cannot create a temporary folder in {}", parent.display())
                })?;
            let moved = graveyard.path().join("previous");
            fs::rename(out, &moved)
                .with_context(|| format!("cannot move {} aside", out.display()))?;
            previous = Some((graveyard, moved));
        }
    }
    if let Err(error) = fs::rename(staging.path(), out) {
        if let Some((_, moved)) = &previous {
            // Put the old folder back; the temporary ones are removed on drop.
            let _ = fs::rename(moved, out);
        }
        return Err(error).with_context(|| format!("cannot write {}", out.display()));
    }
    // Renamed away: nothing left for the guard to remove.
    let _ = staging.keep();
    sync_dir(&parent);
    if let Some((graveyard, _)) = previous {
        let path = graveyard.path().to_path_buf();
        if let Err(error) = graveyard.close() {
            eprintln!(
                "warning: cannot remove the replaced export at {}: {error}",
                path.display()
            );
        }
    }
    Ok(fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf()))
}

/// Makes renames and new files durable; not every platform can open a folder.
fn sync_dir(path: &Path) {
    if let Ok(dir) = fs::File::open(path) {
        let _ = dir.sync_all();
    }
}
