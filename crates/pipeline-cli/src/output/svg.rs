//! Learning curves as an SVG image: each run's training loss (dashed) and
//! validation loss (solid) against the epoch, one colour per run, with
//! axes, tick labels and a legend; each run's best epoch marked with a dot;
//! a log scale by the terminal chart's rule (`output::chart::log_scale`).
//! The loss by default, or any metric recorded per epoch.
//!
//! Written by hand (with maud, which escapes the legend's text) rather than
//! with a plotting crate: each curve is then exactly one `<polyline>` with
//! a `stroke-dasharray`, the file is small and stable, and no font is needed
//! to produce it (only to rasterize it, see `output::png`).

use maud::{Markup, html};

use crate::output::chart::log_scale;
use crate::output::format::number;

/// One run's curves, as `(epoch, loss)` points with epochs ascending.
pub struct RunCurves {
    /// A short name used in the curves' `data-run` attribute, e.g. `A`.
    pub key: String,
    /// The legend's text: what tells the run apart, e.g. `lr=0.05, units=256`.
    pub label: String,
    /// Either may be empty (only one split asked for): it is then not drawn.
    pub train: Vec<(f64, f64)>,
    pub validation: Vec<(f64, f64)>,
    /// The best epoch's point, marked with a dot.
    pub best: Option<(f64, f64)>,
}

/// Distinct colours on white (Tableau 10), one per run, reused after ten.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
const DASH: &str = "7 4";
const WIDTH: f64 = 760.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = WIDTH - 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = TOP + 300.0;
const LEGEND_TOP: f64 = BOTTOM + 64.0;
const LEGEND_ROW: f64 = 20.0;
const FONTS: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const INK: &str = "#333333";

/// The colour of the run at `index`.
pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// The chart of `metric` (`loss`, `accuracy`, `val_accuracy`) as an `<svg>`
/// element (no XML declaration: it can be inlined in HTML).
pub fn learning_curves(metric: &str, runs: &[RunCurves]) -> String {
    let height = LEGEND_TOP + LEGEND_ROW * runs.len() as f64;
    let finite = || {
        runs.iter()
            .flat_map(|r| r.train.iter().chain(&r.validation))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let x_values = finite().map(|p| p.0);
    let y_values = finite().map(|p| p.1);
    let axes = match (
        Axis::epochs(
            x_values.clone().fold(f64::INFINITY, f64::min),
            x_values.fold(f64::NEG_INFINITY, f64::max),
        ),
        Axis::values(
            y_values.clone().fold(f64::INFINITY, f64::min),
            y_values.fold(f64::NEG_INFINITY, f64::max),
        ),
    ) {
        (Some(x), Some(y)) => Some((x, y)),
        _ => None,
    };
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) } font-family=(FONTS) font-size="12"
            role="img" {
            title { "Learning curves: " (metric) " per epoch (dashed: train, solid: validation; dot: best epoch)" }
            rect width=(WIDTH) height=(height) fill="#ffffff" {}
            text x=(LEFT) y="24" font-size="15" fill=(INK) { (metric) " per epoch" }
            (key(RIGHT - 300.0, 20.0))
            @match &axes {
                Some((x, y)) => (plot(x, y, metric, runs)),
                None => text x=(LEFT) y=(TOP + 40.0) fill=(INK) { "no finite loss values to draw" },
            }
            (legend(runs))
        }
    };
    svg.into_string()
}

/// The line styles: a dashed line for train, a solid one for validation.
fn key(x: f64, y: f64) -> Markup {
    html! {
        g.key stroke="#555555" stroke-width="2" {
            line x1=(x) y1=(y) x2=(x + 28.0) y2=(y) stroke-dasharray=(DASH) {}
            line x1=(x + 100.0) y1=(y) x2=(x + 128.0) y2=(y) {}
        }
        text x=(x + 34.0) y=(y + 4.0) fill=(INK) { "train" }
        text x=(x + 134.0) y=(y + 4.0) fill=(INK) { "validation" }
        circle cx=(x + 218.0) cy=(y) r="4" fill="#555555" {}
        text x=(x + 226.0) y=(y + 4.0) fill=(INK) { "best epoch" }
    }
}

fn plot(x: &Axis, y: &Axis, metric: &str, runs: &[RunCurves]) -> Markup {
    let px = |v: f64| LEFT + x.fraction(v) * (RIGHT - LEFT);
    let py = |v: f64| BOTTOM - y.fraction(v) * (BOTTOM - TOP);
    let points = |series: &[(f64, f64)]| -> String {
        series
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite() && (!y.log || *b > 0.0))
            .map(|&(a, b)| format!("{:.1},{:.1}", px(a), py(b)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let y_title = if y.log {
        format!("{metric} (log scale)")
    } else {
        metric.to_string()
    };
    html! {
        g.grid stroke="#e6e6e6" stroke-width="1" {
            @for tick in y.ticks() {
                line x1=(LEFT) y1=(round(py(tick))) x2=(RIGHT) y2=(round(py(tick))) {}
            }
            @for tick in x.ticks() {
                line x1=(round(px(tick))) y1=(TOP) x2=(round(px(tick))) y2=(BOTTOM) {}
            }
        }
        g.axes stroke=(INK) stroke-width="1" {
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(BOTTOM) {}
            line x1=(LEFT) y1=(BOTTOM) x2=(RIGHT) y2=(BOTTOM) {}
        }
        g.ticks fill=(INK) {
            @for tick in y.ticks() {
                text x=(LEFT - 6.0) y=(round(py(tick) + 4.0)) text-anchor="end" { (tick_label(tick)) }
            }
            @for tick in x.ticks() {
                text x=(round(px(tick))) y=(BOTTOM + 18.0) text-anchor="middle" { (tick_label(tick)) }
            }
        }
        text x=((LEFT + RIGHT) / 2.0) y=(BOTTOM + 38.0) text-anchor="middle" fill=(INK) { "epoch" }
        text x="18" y=((TOP + BOTTOM) / 2.0) text-anchor="middle" fill=(INK)
            transform={ "rotate(-90 18 " ((TOP + BOTTOM) / 2.0) ")" } { (y_title) }
        g.curves fill="none" stroke-linejoin="round" stroke-linecap="round" {
            @for (index, run) in runs.iter().enumerate() {
                @let width = stroke_width(index, runs.len());
                @if !run.train.is_empty() {
                    polyline.curve.train data-run=(&run.key) stroke=(colour(index)) stroke-width=(width)
                        stroke-dasharray=(DASH) points=(points(&run.train)) {}
                }
                @if !run.validation.is_empty() {
                    polyline.curve.validation data-run=(&run.key) stroke=(colour(index))
                        stroke-width=(width) points=(points(&run.validation)) {}
                }
            }
        }
        g.best {
            @for (index, run) in runs.iter().enumerate() {
                @if let Some((a, b)) = run.best.filter(|(a, b)| a.is_finite() && b.is_finite() && (!y.log || *b > 0.0)) {
                    circle data-run=(&run.key) cx=(round(px(a))) cy=(round(py(b))) r="4.5"
                        fill=(colour(index)) stroke="#ffffff" stroke-width="1.5" {}
                }
            }
        }
    }
}

fn legend(runs: &[RunCurves]) -> Markup {
    html! {
        g.legend {
            @for (index, run) in runs.iter().enumerate() {
                @let y = LEGEND_TOP + LEGEND_ROW * index as f64 - 6.0;
                g stroke=(colour(index)) stroke-width="2" {
                    line x1=(LEFT) y1=(y) x2=(LEFT + 24.0) y2=(y) stroke-dasharray=(DASH) {}
                    line x1=(LEFT + 30.0) y1=(y) x2=(LEFT + 54.0) y2=(y) {}
                }
                text x=(LEFT + 62.0) y=(y + 4.0) fill=(INK) { (&run.label) }
            }
        }
    }
}

/// Earlier runs are drawn wider, so a later run that retraces one (a rerun)
/// leaves it visible as a border.
fn stroke_width(index: usize, runs: usize) -> f64 {
    let below = runs.saturating_sub(index + 1).min(3);
    2.0 + 1.25 * below as f64
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// A tick value without trailing zeros: `2000`, `0.5`, `1e6`.
pub(crate) fn tick_label(value: f64) -> String {
    let text = number(value);
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m.to_string(), format!("e{e}")),
        None => (text, String::new()),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        mantissa
    };
    format!("{mantissa}{exponent}")
}

/// A mapping from values to `0..=1` along one axis, in log10 units when `log`.
struct Axis {
    low: f64,
    high: f64,
    log: bool,
    /// Only whole numbers as ticks (epochs).
    integer: bool,
}

impl Axis {
    /// The epoch axis, exactly from the first to the last epoch.
    fn epochs(min: f64, max: f64) -> Option<Axis> {
        if !(min.is_finite() && max.is_finite()) {
            return None;
        }
        let (low, high) = if max > min {
            (min, max)
        } else {
            (min - 1.0, max + 1.0)
        };
        Some(Axis {
            low,
            high,
            log: false,
            integer: true,
        })
    }

    /// The loss axis: logarithmic when the values span more than a factor
    /// of ten, otherwise linear from one round tick below to one above.
    fn values(min: f64, max: f64) -> Option<Axis> {
        if !(min.is_finite() && max.is_finite()) {
            return None;
        }
        if log_scale(min, max) {
            let (low, high) = (min.log10(), max.log10());
            let pad = (high - low) * 0.03;
            return Some(Axis {
                low: low - pad,
                high: high + pad,
                log: true,
                integer: false,
            });
        }
        let (min, max) = if max > min {
            (min, max)
        } else {
            let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
            (min - pad, max + pad)
        };
        let step = nice_step((max - min) / 5.0);
        Some(Axis {
            low: (min / step).floor() * step,
            high: (max / step).ceil() * step,
            log: false,
            integer: false,
        })
    }

    fn fraction(&self, value: f64) -> f64 {
        let value = if self.log { value.log10() } else { value };
        (value - self.low) / (self.high - self.low)
    }

    /// Round values inside the axis: 1, 2 and 5 times powers of ten on a log
    /// axis (only the powers when there are many decades), multiples of a
    /// round step on a linear one.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let decades = self.low.floor() as i32..=self.high.ceil() as i32;
            let multiples: &[f64] = if self.high - self.low > 4.0 {
                &[1.0]
            } else {
                &[1.0, 2.0, 5.0]
            };
            return decades
                .flat_map(|k| multiples.iter().map(move |m| m * 10f64.powi(k)))
                .filter(|v| (self.low..=self.high).contains(&v.log10()))
                .collect();
        }
        let mut step = nice_step((self.high - self.low) / 6.0);
        if self.integer {
            step = step.max(1.0).round();
        }
        let first = (self.low / step).ceil() as i64;
        let last = (self.high / step + 1e-9).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    }
}

/// 1, 2 or 5 times a power of ten, close to `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalized = raw / magnitude;
    let nice = if normalized < 1.5 {
        1.0
    } else if normalized < 3.0 {
        2.0
    } else if normalized < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chart(train: &[(f64, f64)], validation: &[(f64, f64)]) -> String {
        learning_curves(
            "loss",
            &[RunCurves {
                key: "A".into(),
                label: "A · 0193 · <exp> & \"x\"".into(),
                train: train.to_vec(),
                validation: validation.to_vec(),
                best: validation.last().copied(),
            }],
        )
    }

    #[test]
    fn one_polyline_per_series_and_an_escaped_legend() {
        let train: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 1000.0 / e as f64)).collect();
        let validation: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 900.0 / e as f64)).collect();
        let svg = chart(&train, &validation);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("class=\"curve train\""), "{svg}");
        assert!(svg.contains("loss (log scale)"), "{svg}");
        assert!(svg.contains("&lt;exp&gt; &amp; &quot;x&quot;"), "{svg}");
        assert!(!svg.contains("<exp>"), "{svg}");
        assert_eq!(svg.matches("<circle data-run=\"A\"").count(), 1, "{svg}");
    }

    #[test]
    fn flat_and_empty_curves_still_draw() {
        let flat = [(1.0, 5.0), (2.0, 5.0)];
        let svg = chart(&flat, &flat);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let empty = chart(&[], &[(1.0, f64::NAN)]);
        assert!(empty.contains("no finite loss values"), "{empty}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(0.3), 0.2);
        assert_eq!(nice_step(45.0), 50.0);
        assert_eq!(tick_label(2000.0), "2000");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(1.0e7), "1e7");
        let axis = Axis::values(2900.0, 30000.0).unwrap();
        assert!(axis.log);
        assert_eq!(axis.ticks(), [5000.0, 10000.0, 20000.0]);
        let epochs = Axis::epochs(1.0, 3.0).unwrap();
        assert_eq!(epochs.ticks(), [1.0, 2.0, 3.0]);
    }
}
