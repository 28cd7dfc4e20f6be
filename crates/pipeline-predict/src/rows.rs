//! The rows to predict and the rows predicted: a stream of batches read
//! from a file or a reader (memory stays flat however large the input), a
//! whole series for a windowed run (typed once, as training read it), or
//! one table given inline; and a batch joined with its predictions.

use std::io::Read;
use std::path::Path;

use pipeline_data::{
    Batch, DataError, Position, PositionUnit, ReadAhead, Table, TableFormat, read_batches,
    read_batches_from, read_table, read_table_from,
};
use polars::prelude::DataFrame;

use crate::error::PredictError;
use crate::predictions::Predictions;

/// Batches parsed ahead of the one being predicted and written.
const READ_AHEAD: usize = 1;

/// The rows to predict, batch by batch.
pub enum Rows {
    Stream(ReadAhead),
    Inline(Option<Table>),
}

impl Rows {
    /// The rows of the file at `path` in batches of `batch_rows`, the
    /// `features` read as numbers.
    pub fn from_file(
        path: &Path,
        features: &[String],
        batch_rows: usize,
    ) -> Result<Rows, PredictError> {
        let batches = read_batches(path, features, batch_rows)?;
        Ok(Rows::Stream(batches.read_ahead(READ_AHEAD)))
    }

    /// [`Rows::from_file`] for rows encoded as `format` on `reader`, named
    /// `label` in messages.
    pub fn from_reader(
        label: &Path,
        format: TableFormat,
        reader: impl Read + Send + 'static,
        features: &[String],
        batch_rows: usize,
    ) -> Result<Rows, PredictError> {
        let batches = read_batches_from(label, format, reader, features, batch_rows)?;
        Ok(Rows::Stream(batches.read_ahead(READ_AHEAD)))
    }

    /// The whole series of a windowed run's file as one table, read as
    /// training reads its file (every column typed from the whole input).
    pub fn series_from_file(path: &Path) -> Result<Rows, PredictError> {
        Ok(Rows::Inline(Some(read_table(path)?)))
    }

    /// [`Rows::series_from_file`] for a series read whole from `reader`.
    pub fn series_from_reader(
        label: &Path,
        format: TableFormat,
        mut reader: impl Read,
    ) -> Result<Rows, PredictError> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(PredictError::io(format!("cannot read {}", label.display())))?;
        Ok(Rows::Inline(Some(read_table_from(label, format, bytes)?)))
    }

    /// One table given whole (`--row`, `--json`, a request).
    pub fn inline(table: Table) -> Rows {
        Rows::Inline(Some(table))
    }

    /// How far the reading is, for a progress display.
    pub fn position(&self) -> Position {
        match self {
            Rows::Stream(batches) => batches.position(),
            Rows::Inline(_) => Position {
                done: 0,
                total: Some(1),
                unit: PositionUnit::Rows,
            },
        }
    }

    /// Rows read so far from a stream.
    pub fn rows_read(&self) -> usize {
        match self {
            Rows::Stream(batches) => batches.rows_read(),
            Rows::Inline(_) => 0,
        }
    }
}

impl Iterator for Rows {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Stream(batches) => batches.next(),
            Rows::Inline(table) => table.take().map(|table| {
                Ok(Batch {
                    table,
                    rows_before: 0,
                })
            }),
        }
    }
}

/// The batch's rows (unless `only_predictions`) and their predictions;
/// refused when an input column has a prediction column's name.
pub fn with_predictions(
    batch: Batch,
    predictions: &Predictions,
    only_predictions: bool,
) -> Result<DataFrame, PredictError> {
    let mut frame = if only_predictions {
        DataFrame::empty()
    } else {
        batch.table.frame
    };
    let names = predictions.names();
    if let Some(taken) = frame
        .get_column_names()
        .iter()
        .find(|c| names.iter().any(|n| n == c.as_str()))
    {
        // The label's (or value's) column can be renamed; a class's
        // probability column cannot.
        let hint = if names.first().is_some_and(|n| n == taken.as_str())
            || matches!(predictions, Predictions::Values { .. })
        {
            "name the prediction column otherwise with --prediction-column NAME, \
             or write only the predictions with --only-predictions"
        } else {
            "rename that column, or write only the predictions with --only-predictions"
        };
        return Err(PredictError::usage(
            format!(
                "{} already has a column named `{taken}`, which the predictions would overwrite",
                batch.table.path.display()
            ),
            Some(hint),
        ));
    }
    for column in predictions.columns() {
        if frame.width() == 0 {
            frame = DataFrame::new_infer_height(vec![column])?;
        } else {
            frame
                .with_column(column)
                .map_err(|source| PredictError::AddColumns { source })?;
        }
    }
    Ok(frame)
}
