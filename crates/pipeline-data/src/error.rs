//! Errors of data preparation; each names the file and, where there is one,
//! the column and the row.

use std::path::{Path, PathBuf};

use pipeline_spec::Missing;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}", file_not_found_message(path, absolute, written.as_deref()))]
    FileNotFound {
        path: PathBuf,
        /// `path` made absolute against the working directory.
        absolute: PathBuf,
        /// The path as the spec's `data.path` wrote it, when it came from a spec.
        written: Option<String>,
    },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: unsupported file type `{extension}` (expected .csv, .csv.gz, .parquet, .ndjson or .jsonl)"
    )]
    UnsupportedFormat { path: PathBuf, extension: String },
    #[error("{path}: line {line}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path} is empty: not even a header line")]
    Empty { path: PathBuf },
    #[error("{path}: cannot be read as a table")]
    Read {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("{path}: no column `{column}` ({role}); available: {}{}", available.join(", "), suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownColumn {
        path: PathBuf,
        column: String,
        role: &'static str,
        available: Vec<String>,
        suggestion: Option<String>,
    },
    #[error(
        "{path}: {} of the run's {features} feature columns are missing: {}; available: {}",
        columns.len(),
        columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
        available.join(", ")
    )]
    MissingColumns {
        path: PathBuf,
        columns: Vec<String>,
        features: usize,
        available: Vec<String>,
    },
    #[error(
        "{path}: column `{column}` has a non-numeric value {value:?} at row {row}; every feature and the target must be finite numbers"
    )]
    NonNumeric {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
    },
    #[error(
        "{path}: column `{column}` at row {row} is too large for the model: {value} is beyond what its 32-bit inputs hold (±3.4e38){}",
        if *normalized { " after the run's normalization" } else { "" }
    )]
    OutOfRange {
        path: PathBuf,
        column: String,
        row: usize,
        /// The cell as read.
        value: String,
        /// Whether only the normalized value is out of range.
        normalized: bool,
    },
    #[error(
        "{path}: row {row}: the model's output is {value}, not a finite number: the row's values are too far from those the run was trained on for its 32-bit arithmetic\nhint: check that row: a value far beyond the training data's range (1e38 where training saw tens) overflows the model, and no prediction is given for it"
    )]
    NonFiniteOutput {
        path: PathBuf,
        row: usize,
        value: String,
    },
    #[error("{0}")]
    ColumnTypeMismatch(Box<TypeMismatch>),
    #[error(
        "{path}: column `{column}` has type {dtype}; a feature must hold numbers or text (categories), the target numbers; leave it out with data.exclude"
    )]
    UnsupportedType {
        path: PathBuf,
        column: String,
        dtype: String,
    },
    #[error(
        "{path}: column `{column}` has {count} empty cell(s), the first at row {first_row}; {}",
        missing_advice(column, missing)
    )]
    MissingValues {
        path: PathBuf,
        column: String,
        count: usize,
        first_row: usize,
        /// The strategy in force for the column (`error`, or `drop` at inference).
        missing: Missing,
    },
    #[error(
        "{path}: the target `{column}` has {count} empty cell(s), the first at row {first_row}; set missing = \"drop\" in [data] to drop those rows (a target is never filled)"
    )]
    TargetMissing {
        path: PathBuf,
        column: String,
        count: usize,
        first_row: usize,
    },
    #[error(
        "{path}: column `{column}` has the category {value:?} at row {row}, which the training split did not have (known: {}); with unknown = \"ignore\" (in [data] or [data.columns.{column}]) a run encodes such a value as no known category",
        known.join(", ")
    )]
    UnknownCategory {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
        known: Vec<String>,
    },
    #[error(
        "{path}: the label column `{column}` has the label {value:?} at row {row}, which the run was not trained on (its classes: {})",
        known.join(", ")
    )]
    UnknownLabel {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
        known: Vec<String>,
    },
    #[error(
        "{path}: column `{column}` (data.split_column) has {value:?} at row {row}; each row's split must be train, validation (or val) or test"
    )]
    SplitName {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
    },
    #[error("{path}: {}", class_count_message(column, *task, classes))]
    ClassCount {
        path: PathBuf,
        column: String,
        task: pipeline_spec::Task,
        classes: Vec<String>,
    },
    #[error(
        "{path}: column `{column}` has no value in the training split to compute its {statistic} from"
    )]
    NoTrainingValues {
        path: PathBuf,
        column: String,
        statistic: &'static str,
    },
    #[error("{path}: {setting} does not apply to column `{column}`, which is {kind}; {advice}")]
    OptionNotForColumn {
        path: PathBuf,
        column: String,
        setting: String,
        kind: &'static str,
        advice: &'static str,
    },
    #[error("{path}: the pattern `{pattern}` in data.{key} matches no column; available: {}", available.join(", "))]
    NoMatch {
        path: PathBuf,
        pattern: String,
        key: &'static str,
        available: Vec<String>,
    },
    #[error(
        "{path}: [data.{section}] names `{column}`, which is not a feature (excluded, or not selected by data.features)"
    )]
    NotAFeature {
        path: PathBuf,
        column: String,
        section: &'static str,
    },
    #[error("{path}: the preprocessing does not fit the rows: {message}")]
    Inconsistent { path: PathBuf, message: String },
    #[error("{path}: no feature columns are left besides the target `{target}`")]
    NoFeatures { path: PathBuf, target: String },
    #[error(
        "{path}: {rows} rows are too few to give every split a row ({train} train, {validation} validation, {test} test)"
    )]
    TooFewRows {
        path: PathBuf,
        rows: usize,
        train: usize,
        validation: usize,
        test: usize,
    },
    #[error(
        "{path}: {rows} rows outside the test split are too few for {folds} folds: every fold needs a row to validate on\nhint: use at most {rows} folds (5 or 10 are usual)"
    )]
    TooManyFolds {
        path: PathBuf,
        rows: usize,
        folds: u32,
    },
    #[error(
        "{path}: column `{column}` of the windowed series has {count} empty cell(s), the first in row {first_row}\nhint: set data.window.missing = \"interpolate\" to fill them linearly in time order"
    )]
    WindowMissing {
        path: PathBuf,
        column: String,
        count: usize,
        first_row: usize,
    },
    #[error(
        "{path}: this run was trained on windows of a series ([data.window]); its inputs are windows of consecutive rows, not single rows\nhint: give the series itself (every channel column, in time order or with the run's order column); each row where a full window ends gets the forecast"
    )]
    WindowedInference { path: PathBuf },
    #[error(
        "{path}: the run's preprocessing cannot build windows of a series: {detail}\nhint: `pipeline show RUN --verify` checks its artifacts; retrain the spec if its preprocessing.json was written by another version"
    )]
    NotWindowed { path: PathBuf, detail: String },
    #[error(
        "{path}: {rows} row(s) are too few for one window: the run reads {steps} consecutive rows{extra}, so it needs at least {needed}\nhint: give the series' last {needed} rows or more (a forecast needs the window before it)",
        extra = if .needed > .steps { " and the row before them (its inputs are changes)" } else { "" }
    )]
    TooFewRowsForWindow {
        path: PathBuf,
        rows: usize,
        needed: usize,
        steps: usize,
    },
    #[error("cannot build tensors")]
    Tensor(#[from] candle_core::Error),
    #[error(
        "{path}: the order column `{column}` (data.window.order_by) has {value:?} twice, at rows {first_row} and {second_row}; a series needs one row per point in time\nhint: drop or merge the repeated rows (e.g. average them), or order by a column with one value per row"
    )]
    WindowRepeatedTime {
        path: PathBuf,
        column: String,
        value: String,
        first_row: usize,
        second_row: usize,
    },
    #[error(
        "{path}: a window of {steps} rows (data.window.steps) with its target {horizon} row(s) later{} needs {} rows for one sample, and the file has {rows}: {samples} sample(s), too few to give the train, validation and test splits one each (they need {fewest})\nhint: {}",
        if *difference { ", and the row before it (difference = true)," } else { "" },
        steps + horizon + usize::from(*difference),
        if *largest_steps > 0 {
            format!("use data.window.steps = {largest_steps} or fewer (and model.input to match), or a longer series")
        } else {
            format!("the series is too short for any window: give it at least {} rows", fewest + horizon + usize::from(*difference))
        }
    )]
    WindowTooLong {
        path: PathBuf,
        /// Rows of the series.
        rows: usize,
        steps: usize,
        horizon: usize,
        difference: bool,
        /// Samples (windows with a target) the series gives.
        samples: usize,
        /// The fewest samples that give every split one.
        fewest: usize,
        /// The most steps that would leave `fewest` samples (0: none would).
        largest_steps: usize,
    },
    #[error(
        "{path}: row {row} has {found} field(s), but the header has {expected}\nhint: {}",
        if found > expected {
            "a field with an unquoted comma (quote it: \"1,5\"), or a separator too many at the end of the row"
        } else {
            "a separator missing or a row broken across lines; an empty cell still needs its comma (1,,3), and the rows must use the header's separator (a comma)"
        }
    )]
    RaggedRow {
        path: PathBuf,
        /// The data row (1-based, the header not counted).
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error(
        "{path} is not UTF-8 text: {found}\nhint: save it as UTF-8 (in a spreadsheet: \"CSV UTF-8\"; \
         or `iconv -f UTF-16 -t UTF-8 IN > OUT.csv`)"
    )]
    Encoding {
        path: PathBuf,
        /// What gave it away.
        found: &'static str,
    },
    #[error(
        "{path}: the header reads as one column, {header:?}, whose name holds {}; the fields of a CSV are separated by commas\nhint: save the file with commas between the fields{}",
        separator_name(*separator),
        if *separator == ';' { " (spreadsheets write semicolons where the decimal mark is a comma: make it a point too)" } else { "" }
    )]
    Separator {
        path: PathBuf,
        /// The header line, shortened when long.
        header: String,
        separator: char,
    },
    #[error(
        "{path}: the header names `{name}` twice, as columns {first} and {second}; each column needs a name of its own\nhint: rename one of them in the header line"
    )]
    HeaderRepeatedName {
        path: PathBuf,
        name: String,
        first: usize,
        second: usize,
    },
    #[error(
        "{path}: the header has no name for column(s) {}\nhint: name every column in the header line (a comma at its end makes an extra, unnamed column)",
        positions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    HeaderEmptyName {
        path: PathBuf,
        /// 1-based positions in the header.
        positions: Vec<usize>,
    },
}

fn file_not_found_message(path: &Path, absolute: &Path, written: Option<&str>) -> String {
    match written {
        Some(written) => format!(
            "data file {written:?} (data.path) does not exist: resolved against the spec's \
             folder it is {}\nhint: data.path is relative to the folder of the spec file, not \
             to the working directory",
            absolute.display()
        ),
        None if absolute != path => format!(
            "data file {} does not exist (looked for {})",
            path.display(),
            absolute.display()
        ),
        None => format!("data file {} does not exist", path.display()),
    }
}

fn separator_name(separator: char) -> &'static str {
    match separator {
        ';' => "semicolons",
        '\t' => "tabs",
        _ => "another separator",
    }
}

fn class_count_message(column: &str, task: pipeline_spec::Task, classes: &[String]) -> String {
    let shown: Vec<&str> = classes.iter().take(12).map(String::as_str).collect();
    let more = if classes.len() > shown.len() {
        ", …"
    } else {
        ""
    };
    let found = format!(
        "the label column `{column}` has {} distinct label(s) ({}{more})",
        classes.len(),
        shown.join(", ")
    );
    match (task, classes.len()) {
        (_, 0 | 1) => format!("{found}; classification needs at least two classes"),
        (pipeline_spec::Task::Binary, _) => format!(
            "{found}; binary classification needs exactly two: set data.task = \"multiclass\" (and one output unit per class)"
        ),
        _ => found,
    }
}

/// An input column that cannot be the type the run trained it as.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: column `{column}` holds {found} here, but the run was trained on it as {expected}{}\nhint: {hint}",
    offending_cell(*row, value.as_deref())
)]
pub struct TypeMismatch {
    pub path: PathBuf,
    pub column: String,
    /// The run's type for the column (`float`, `categorical (text: a, b)`).
    pub expected: String,
    /// What the input's column holds (`text`, `integers`, `booleans`, a type).
    pub found: String,
    /// The first offending row (1-based), when one cell is to blame.
    pub row: Option<usize>,
    pub value: Option<String>,
    pub hint: &'static str,
}

fn offending_cell(row: Option<usize>, value: Option<&str>) -> String {
    match (row, value) {
        (Some(row), Some(value)) => format!(": row {row} has {value:?}"),
        (Some(row), None) => format!(" (first at row {row})"),
        _ => String::new(),
    }
}

fn missing_advice(column: &str, missing: &Missing) -> String {
    match missing {
        Missing::Drop => "the run dropped rows with an empty cell here in training (missing = \"drop\"), so it has no value to fill it with at inference".to_string(),
        // Said at training and at inference alike: fix the data, or train
        // (again) with a way to handle the gaps.
        _ => format!(
            "there is no fill for it (missing = \"error\"): give every row a value there, or train with missing = \"drop\", \"mean\", \"median\", \"mode\" or {{ constant = … }} in [data] or [data.columns.{column}]"
        ),
    }
}

impl DataError {
    /// The same error with its row numbers counted from `rows` rows
    /// earlier: a batch's error, located in the whole input.
    pub fn after_rows(mut self, rows: usize) -> Self {
        match &mut self {
            DataError::NonNumeric { row, .. }
            | DataError::OutOfRange { row, .. }
            | DataError::NonFiniteOutput { row, .. } => *row += rows,
            DataError::ColumnTypeMismatch(mismatch) => {
                if let Some(row) = &mut mismatch.row {
                    *row += rows;
                }
            }
            DataError::MissingValues { first_row, .. }
            | DataError::TargetMissing { first_row, .. }
            | DataError::WindowMissing { first_row, .. } => *first_row += rows,
            DataError::RaggedRow { row, .. } => *row += rows,
            DataError::WindowRepeatedTime {
                first_row,
                second_row,
                ..
            } => {
                *first_row += rows;
                *second_row += rows;
            }
            DataError::UnknownCategory { row, .. } | DataError::UnknownLabel { row, .. } => {
                *row += rows
            }
            _ => {}
        }
        self
    }

    /// The same error naming the file as the spec's `data.path` wrote it,
    /// when the file is missing.
    pub fn written_as(mut self, data_path: &str) -> Self {
        if let DataError::FileNotFound { written, .. } = &mut self {
            *written = Some(data_path.to_owned());
        }
        self
    }

    /// The same error with its line numbers counted from `lines` lines
    /// earlier.
    pub fn after_lines(mut self, lines: usize) -> Self {
        if let DataError::Json { line, .. } = &mut self {
            *line += lines;
        }
        self
    }

    /// True when the user can fix it (bad file, column or value), as opposed
    /// to a failure inside the program.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, DataError::Tensor(_) | DataError::Inconsistent { .. })
    }
}
