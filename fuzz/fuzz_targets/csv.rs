//! Arbitrary bytes as a user's data file, through everything the data goes
//! through: the whole-file read (CSV, or gzip-compressed CSV), the data
//! preparation of a small fixed spec whose target is the file's last
//! column, and, when that succeeds, the batched inference read and the
//! inference encoding with the fitted preprocessing. Every input must give
//! a table or an error value, never a panic, a hang or unbounded memory.
//!
//! The first byte chooses the variant; the rest is the file:
//! bits 0-1 the encoding (0, 3: CSV; 1: the bytes gzip-compressed, a
//! well-formed `.csv.gz`; 2: the bytes as they are, named `.csv.gz`), bit 2
//! the task (regression or multiclass), bits 3-4 `missing` (error, drop,
//! median, mode), bit 5 `encode` (onehot or ordinal), bit 6 `unknown`
//! (error or ignore), bit 7 `shuffle`.
#![no_main]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pipeline_data::{model_inputs, prepare, read_batches, read_table};
use pipeline_spec::Spec;

/// Rows per inference batch: small, so that a file of a few lines is cut
/// into several batches at record boundaries.
const BATCH_ROWS: usize = 3;

/// A folder of this process's own for the file under test.
fn folder() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = std::env::temp_dir().join(format!("pipeline-fuzz-csv-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a temporary folder");
        folder
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn spec(path: &Path, target: &str, variant: u8) -> Option<Spec> {
    let (task, units) = if variant & 4 != 0 {
        ("multiclass", 3)
    } else {
        ("regression", 1)
    };
    let missing = ["error", "drop", "median", "mode"][usize::from((variant >> 3) & 3)];
    let encode = if variant & 32 != 0 {
        "ordinal"
    } else {
        "onehot"
    };
    let unknown = if variant & 64 != 0 { "ignore" } else { "error" };
    let shuffle = variant & 128 == 0;
    let text = format!(
        "name = \"fuzz\"\nseed = 7\n[data]\npath = {}\ntarget = {}\ntask = \"{task}\"\n\
         missing = \"{missing}\"\nencode = \"{encode}\"\nunknown = \"{unknown}\"\n\
         shuffle = {shuffle}\nsplit = {{ train = 0.5, validation = 0.25, test = 0.25 }}\n\
         [model]\nlayers = [{{ type = \"linear\", units = {units} }}]\n\
         [optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\n",
        toml_string(&path.display().to_string()),
        toml_string(target),
    );
    // A column name the spec refuses as a target (empty, say) is an error
    // value; anything else must parse.
    Spec::parse(Path::new("fuzz.toml"), &text, &[]).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&variant, bytes)) = data.split_first() else {
        return;
    };
    let (name, contents) = match variant & 3 {
        1 => ("fuzz.csv.gz", gzip(bytes)),
        2 => ("fuzz.csv.gz", bytes.to_vec()),
        _ => ("fuzz.csv", bytes.to_vec()),
    };
    let path = folder().join(name);
    std::fs::write(&path, &contents).expect("writing the file under test");

    let Ok(table) = read_table(&path) else {
        return;
    };
    let Some(target) = table.column_names().last().cloned() else {
        return;
    };
    let Some(spec) = spec(&path, &target, variant) else {
        return;
    };
    let Ok(prepared) = prepare(&spec.data, &path, spec.seed) else {
        return;
    };
    let preprocessing = &prepared.preprocessing;
    for split in [&prepared.train, &prepared.validation, &prepared.test] {
        assert_eq!(split.x.len(), split.rows * split.features);
        assert_eq!(split.y.len(), split.rows * split.targets);
        assert_eq!(split.features, preprocessing.input_width());
    }
    // The inference side: the same file in batches, each encoded with the
    // fitted preprocessing (errors are fine: dropped rows have no fill).
    let Ok(batches) = read_batches(&path, &preprocessing.float_columns(), BATCH_ROWS) else {
        return;
    };
    for batch in batches {
        let Ok(batch) = batch else {
            return;
        };
        if let Ok(inputs) = model_inputs(&batch.table, preprocessing) {
            assert_eq!(
                inputs.len(),
                batch.table.frame.height() * preprocessing.input_width()
            );
        }
    }
});
