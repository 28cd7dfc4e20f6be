//! Learning curves drawn with characters: one glyph per series, a log scale
//! when the values span more than a factor of ten. Plain text, so it
//! pipes, diffs and snapshot-tests.

use crate::output::format::number;

pub struct Series<'a> {
    pub label: &'a str,
    pub glyph: char,
    /// `(epoch, value)`, epochs ascending.
    pub points: &'a [(f64, f64)],
}

/// Draws `series` in a `width × height` plot area; returns the lines.
pub fn line_chart(title: &str, series: &[Series<'_>], width: usize, height: usize) -> String {
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
    let log = y_min > 0.0 && y_max / y_min > 10.0;
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
    let legend: Vec<String> = series
        .iter()
        .map(|s| format!("{} {}", s.glyph, s.label))
        .collect();
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
        let text = line_chart(
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
            30,
            8,
        );
        assert!(text.contains('·') && text.contains('•'), "{text}");
        assert!(text.contains("1") && text.contains("20 epoch"), "{text}");
        assert_eq!(text.lines().count(), 1 + 8 + 3, "{text}");
    }

    #[test]
    fn empty_series_say_so() {
        assert_eq!(
            line_chart(
                "loss",
                &[Series {
                    label: "t",
                    glyph: '.',
                    points: &[]
                }],
                20,
                5
            ),
            "loss: no data\n"
        );
    }
}
