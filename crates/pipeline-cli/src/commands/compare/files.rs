//! The files `compare` writes on request: `--report FILE.html`, the whole
//! comparison as one self-contained page, and `--plot FILE.svg|FILE.png`,
//! the learning curves alone. Both are written atomically.

use std::path::Path;

use crate::exit::UserError;
use crate::output::svg::{RunCurves, learning_curves};
use crate::output::sweep_plots::{SweepPlot, sweep_section};
use crate::output::{file, html, png};
use pipeline_registry::RegistryFiles;

use super::label;
use super::report::CompareReport;
use super::sections::{View, sections};

/// The image format of `--plot`, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
}

impl PlotFormat {
    /// `.svg` or `.png` (any case); anything else is the user's mistake.
    pub fn of_path(path: &Path) -> anyhow::Result<PlotFormat> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("svg") => Ok(PlotFormat::Svg),
            Some("png") => Ok(PlotFormat::Png),
            other => Err(UserError::error(
                format!(
                    "--plot {}: {}",
                    path.display(),
                    match other {
                        Some(extension) => format!("unknown image format .{extension}"),
                        None => "the file name has no extension".into(),
                    }
                ),
                Some("name the file FILE.svg or FILE.png: the extension picks the format"),
            )),
        }
    }
}

/// The learning curves of every run as an `<svg>` element, each run's
/// legend saying what differs (`lr=0.05, units=256`), its best epoch marked.
fn chart(comparison: &CompareReport) -> String {
    let runs: Vec<RunCurves> = comparison
        .runs
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let series = |prefix: &str| {
                r.curves
                    .plotted
                    .iter()
                    .find(|(name, _)| name.starts_with(prefix))
                    .map(|(_, points)| points.clone())
                    .unwrap_or_default()
            };
            let validation = series("val_");
            let best = r.best_epoch.map(f64::from).and_then(|best| {
                let points = if validation.is_empty() {
                    series("train_")
                } else {
                    validation.clone()
                };
                points.into_iter().find(|(epoch, _)| *epoch == best)
            });
            RunCurves {
                key: label(index),
                label: format!("{} · {}", label(index), r.legend),
                train: series("train_"),
                validation,
                best,
            }
        })
        .collect();
    learning_curves(&comparison.plotted_metric, &runs)
}

/// Writes the HTML report to `path`.
pub fn write_report(
    comparison: &CompareReport,
    path: &Path,
    registry: &RegistryFiles,
    sweep: Option<&SweepPlot>,
) -> anyhow::Result<()> {
    let records = &comparison.runs;
    let mut experiments: Vec<&str> = records.iter().map(|r| r.experiment.as_str()).collect();
    experiments.dedup();
    let title = format!("pipeline compare: {}", experiments.join(", "));
    let runs: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(index, r)| format!("{} {}", label(index), r.short_id.as_str()))
        .collect();
    let subtitle = format!(
        "{} runs ({}) · written by pipeline {} on {}",
        records.len(),
        runs.join(", "),
        env!("CARGO_PKG_VERSION"),
        chrono::Local::now().format("%Y-%m-%d %H:%M")
    );
    let page = html::page(
        &title,
        &subtitle,
        &sections(comparison, &View::everything(records.len())),
        "learning curves",
        &chart(comparison),
        sweep.map(sweep_section),
    );
    file::write_atomically(path, page.as_bytes(), registry)
}

/// Writes the learning curves to `path` as SVG or PNG.
pub fn write_plot(
    comparison: &CompareReport,
    path: &Path,
    format: PlotFormat,
    registry: &RegistryFiles,
) -> anyhow::Result<()> {
    let svg = chart(comparison);
    let bytes = match format {
        PlotFormat::Svg => {
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}\n").into_bytes()
        }
        PlotFormat::Png => png::rasterize(&svg, png::SCALE)?,
    };
    file::write_atomically(path, &bytes, registry)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_extension_picks_the_format() {
        assert_eq!(
            PlotFormat::of_path(Path::new("a/b.svg")).unwrap(),
            PlotFormat::Svg
        );
        assert_eq!(
            PlotFormat::of_path(Path::new("B.PNG")).unwrap(),
            PlotFormat::Png
        );
        let error = PlotFormat::of_path(Path::new("c.jpg"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("c.jpg") && error.contains(".jpg"), "{error}");
        assert!(PlotFormat::of_path(Path::new("chart")).is_err());
    }
}
