//! Learning curves drawn with characters: one glyph per series, a mark at
//! the best epoch, a log scale when the values span more than a factor of
//! ten ([`log_scale`]). Plain text, so it
//! pipes, diffs and snapshot-tests.

use crate::output::format::number;

pub struct Series<'a> {
    pub label: &'a str,
    pub glyph: char,
    /// `(epoch, value)`, epochs ascending.
    pub points: &'a [(f64, f64)],
}

/// Whether values from `min` to `max` are drawn on a log scale: when they
/// are positive and span more than a factor of ten. The terminal chart and
/// the SVG plot (`output::svg`) both decide by this rule.
pub fn log_scale(min: f64, max: f64) -> bool {
    min > 0.0 && max / min > 10.0
}

/// The glyph that marks a point, e.g. a run's best epoch.
pub const MARK: char = '◆';

/// Draws `series` in a `width × height` plot area, with `marks`
/// (`(epoch, value)` points, e.g. the best epoch) drawn over the curves as
/// [`MARK`] and named in the legend; returns the lines.
pub fn marked_line_chart(
    title: &str,
    series: &[Series<'_>],
    marks: &[(f64, f64)],
    width: usize,
    height: usize,
) -> String {
    let width = width.max(10);
    let height = height.max(3);
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(_, y)| y.is_finite())
    };
    let (Some(x_min), Some(x_max)) = (
        finite().map(|p| p.0).reduce(f64::min),
        finite().map(|p| p.0).reduce(f64::max),
    ) else {
        return format!("{title}: no data\n");
    };
    let y_min = finite().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_max = finite().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let log = log_scale(y_min, y_max);
    let scale = |y: f64| if log { y.log10() } else { y };
    let (lo, hi) = (scale(y_min), scale(y_max));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x_span = if x_max > x_min { x_max - x_min } else { 1.0 };

    let mut grid = vec![vec![' '; width]; height];
    for s in series {
        let mut previous: Option<(usize, usize)> = None;
        for &(x, y) in s.points.iter().filter(|(_, y)| y.is_finite()) {
            let column = (((x - x_min) / x_span) * (width - 1) as f64).round() as usize;
            let row = (((hi - scale(y)) / span) * (height - 1) as f64).round() as usize;
            let (column, row) = (column.min(width - 1), row.min(height - 1));
            // Fill vertical jumps between neighbouring columns so steep curves stay connected.
            if let Some((pc, pr)) = previous
                && column == pc + 1
                && pr.abs_diff(row) > 1
            {
                let (a, b) = if pr < row {
                    (pr + 1, row)
                } else {
                    (row + 1, pr)
                };
                for cells in &mut grid[a..b] {
                    cells[column] = s.glyph;
                }
            }
            grid[row][column] = s.glyph;
            previous = Some((column, row));
        }
    }

    let marks: Vec<&(f64, f64)> = marks
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    for &&(x, y) in &marks {
        let column = (((x - x_min) / x_span) * (width - 1) as f64).round() as usize;
        let row = (((hi - scale(y)) / span) * (height - 1) as f64).round() as usize;
        grid[row.min(height - 1)][column.min(width - 1)] = MARK;
    }

    let top = number(y_max);
    let bottom = number(y_min);
    let gutter = top.len().max(bottom.len());
    let mut out = format!("{title}{}\n", if log { " (log scale)" } else { "" });
    for (index, row) in grid.iter().enumerate() {
        let label = match index {
            0 => top.as_str(),
            i if i == height - 1 => bottom.as_str(),
            _ => "",
        };
        let line: String = row.iter().collect();
        out.push_str(&format!("{label:>gutter$} │{}\n", line.trim_end()));
    }
    out.push_str(&format!("{:gutter$} └{}\n", "", "─".repeat(width)));
    let first = format!("{}", x_min as u64);
    let last = format!("{} epoch", x_max as u64);
    let pad = width.saturating_sub(first.len() + last.len());
    out.push_str(&format!("{:gutter$}  {first}{:pad$}{last}\n", "", ""));
    let mut legend: Vec<String> = series
        .iter()
        .map(|s| format!("{} {}", s.glyph, s.label))
        .collect();
    if !marks.is_empty() {
        legend.push(format!("{MARK} best epoch"));
    }
    out.push_str(&format!("{:gutter$}  {}\n", "", legend.join("   ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_series_with_axes() {
        let train: Vec<(f64, f64)> = (1..=20).map(|e| (e as f64, 100.0 / e as f64)).collect();
        let val: Vec<(f64, f64)> = (1..=20)
            .map(|e| (e as f64, 120.0 / e as f64 + e as f64))
            .collect();
        let text = marked_line_chart(
            "loss",
            &[
                Series {
                    label: "train",
                    glyph: '·',
                    points: &train,
                },
                Series {
                    label: "validation",
                    glyph: '•',
                    points: &val,
                },
            ],
            &[],
            30,
            8,
        );
        assert!(text.contains('·') && text.contains('•'), "{text}");
        assert!(text.contains("1") && text.contains("20 epoch"), "{text}");
        assert_eq!(text.lines().count(), 1 + 8 + 3, "{text}");
    }

    #[test]
    fn the_log_scale_starts_past_one_decade() {
        assert!(log_scale(3.0, 31.0));
        assert!(!log_scale(3.0, 29.0));
        assert!(!log_scale(-1.0, 100.0), "log of a negative value");
        let falling: Vec<(f64, f64)> = (1..=5i32)
            .map(|e| (f64::from(e), 1000.0 / f64::from(e.pow(3))))
            .collect();
        let series = [Series {
            label: "validation",
            glyph: '•',
            points: &falling,
        }];
        let text = marked_line_chart("loss", &series, &[(5.0, 8.0)], 20, 5);
        assert!(text.starts_with("loss (log scale)\n"), "{text}");
        assert!(
            text.contains(MARK) && text.contains("◆ best epoch"),
            "{text}"
        );
        let flat = [(1.0, 2.0), (2.0, 3.0)];
        let series = [Series {
            label: "validation",
            glyph: '•',
            points: &flat,
        }];
        let text = marked_line_chart("loss", &series, &[], 20, 5);
        assert!(
            !text.contains("log scale") && !text.contains(MARK),
            "{text}"
        );
    }

    #[test]
    fn empty_series_say_so() {
        assert_eq!(
            marked_line_chart(
                "loss",
                &[Series {
                    label: "t",
                    glyph: '.',
                    points: &[]
                }],
                &[],
                20,
                5
            ),
            "loss: no data\n"
        );
    }
}
