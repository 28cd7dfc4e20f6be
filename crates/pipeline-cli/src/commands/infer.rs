//! `pipeline infer --run RUN --input FILE`: predictions from a registered
//! run. The weights and preprocessing are checked against their sha256
//! first; the input must carry every feature column of the run; the output
//! is the input rows plus a `prediction` column, written atomically.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use pipeline_data::{Preprocessing, model_inputs, read_table};
use pipeline_model::Network;
use pipeline_registry::{ArtifactKind, RunRecord, RunStatus};
use pipeline_spec::Spec;
use polars::prelude::{Column, CsvWriter, DataFrame, ParquetWriter, SerWriter};

use crate::cli::InferArgs;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;

/// Rows per forward pass: large enough to amortize the call, small enough
/// to keep memory flat.
const CHUNK_ROWS: usize = 65_536;

pub fn infer(context: &Context, args: InferArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let record = context.run_record(&registry, &args.run, args.experiment.as_deref())?;
    let checkpoint = record.status == RunStatus::Killed && record.weights_digest.is_some();
    if record.status != RunStatus::Completed && !checkpoint {
        return Err(UserError::error(
            format!(
                "run {} is {}; only completed runs (and killed runs that kept their best \
                 checkpoint) have weights to predict with",
                record.id, record.status
            ),
            Some("`pipeline runs --status completed` lists the usable runs"),
        ));
    }
    if checkpoint && !context.global.quiet {
        eprintln!(
            "warning: run {} was killed after {} epoch(s); predicting with its best checkpoint (epoch {})",
            record.id,
            record.epochs_run,
            record
                .best_epoch
                .map_or_else(|| "?".to_owned(), |e| e.to_string())
        );
    }
    let weights = registry.read_verified(artifact(&record, ArtifactKind::Weights)?)?;
    let preprocessing = registry.read_verified(artifact(&record, ArtifactKind::Preprocessing)?)?;
    let preprocessing = Preprocessing::from_json(&String::from_utf8_lossy(&preprocessing))
        .with_context(|| format!("the preprocessing of run {} is unreadable", record.id))?;
    let spec = Spec::parse(
        Path::new(&format!("spec of run {}", record.id)),
        &record.spec_toml,
        &[],
    )?;

    let table = read_table(&args.input)?;
    let inputs = model_inputs(&table, &preprocessing)?;
    let features = preprocessing.features.len();
    if features == 0 {
        anyhow::bail!(
            "the preprocessing of run {} lists no feature columns",
            record.id
        );
    }
    let device = Device::Cpu;
    let network = Network::from_safetensors(&spec.model, features, 1, &weights, &device)
        .with_context(|| format!("the weights of run {} do not match its spec", record.id))?;

    let mut predictions: Vec<f32> = Vec::with_capacity(table.frame.height());
    for chunk in inputs.chunks(CHUNK_ROWS * features) {
        let x = Tensor::from_slice(chunk, (chunk.len() / features, features), &device)?;
        let y = pipeline_train::predict(&network, &x)?;
        predictions.extend(y);
    }
    let mut frame = table.frame;
    frame
        .with_column(Column::new("prediction".into(), predictions))
        .context("cannot add the prediction column")?;
    match &args.output {
        None => {
            let mut buffer = Vec::new();
            CsvWriter::new(&mut buffer)
                .include_header(true)
                .finish(&mut frame)?;
            print(&String::from_utf8_lossy(&buffer))
        }
        Some(path) => write_atomically(path, &mut frame),
    }
}

fn artifact(
    record: &RunRecord,
    kind: ArtifactKind,
) -> anyhow::Result<&pipeline_registry::ArtifactRecord> {
    record
        .artifact(kind)
        .ok_or_else(|| anyhow::anyhow!("run {} has no {kind:?} artifact recorded", record.id))
}

/// Writes to a temp file beside `path`, syncs, then renames: a failure leaves
/// no partial output.
fn write_atomically(path: &Path, frame: &mut DataFrame) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    if parquet {
        ParquetWriter::new(file.as_file_mut()).finish(frame)?;
    } else {
        CsvWriter::new(file.as_file_mut())
            .include_header(true)
            .finish(frame)?;
    }
    file.as_file_mut().flush()?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
