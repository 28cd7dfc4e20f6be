//! One parameter's scatter plot: the metric (y) against the parameter (x),
//! one dot per trial with a value; a completed trial's dot filled with its
//! colour, the best one larger and ringed, any other trial's dot hollow.
//! The metric's axis is the same in every parameter's plot, so they compare.

use maud::html;

use super::axis::Axis;
use super::{FONTS, Frame, GREY, INK, round};

const WIDTH: f64 = 400.0;
const LEFT: f64 = 66.0;
const RIGHT: f64 = WIDTH - 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 246.0;
const HEIGHT: f64 = BOTTOM + 48.0;

/// The plot of the parameter at `parameter`.
pub fn draw(frame: &Frame, parameter: usize) -> String {
    let plot = frame.plot;
    let key = &plot.parameters[parameter].key;
    let name = &frame.names[parameter];
    let x_axis = &frame.axes[parameter];
    let y_axis = &frame.metric_axis;
    let px = |fraction: f64| LEFT + fraction * (RIGHT - LEFT);
    let py = |fraction: f64| round(BOTTOM - fraction * (BOTTOM - TOP));
    // Dots on one category spread a little sideways, by trial number.
    let jitter = |number: u32| match x_axis {
        Axis::Categorical(_) => (f64::from(number % 5) - 2.0) * 3.0,
        _ => 0.0,
    };
    let dots: Vec<(usize, f64, f64)> = frame
        .order
        .iter()
        .filter_map(|&index| {
            let trial = &plot.trials[index];
            let x = x_axis.fraction(trial.values.get(parameter)?)?;
            let y = y_axis.number_fraction(trial.metric?)?;
            Some((index, round(px(x) + jitter(trial.number)), py(y)))
        })
        .collect();
    let left_out = plot.trials.len() - dots.len();
    let x_title = if x_axis.is_log() {
        format!("{name} (log scale)")
    } else {
        name.clone()
    };
    let y_title = if y_axis.is_log() {
        format!("{} ({}, log scale)", plot.metric, super::direction(plot))
    } else {
        format!("{} ({})", plot.metric, super::direction(plot))
    };
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } font-family=(FONTS) font-size="12" role="img" {
            title {
                (plot.metric) " against " (key) " (filled: completed, hollow: pruned, failed or "
                "unfinished; ringed: the best trial)"
            }
            rect width=(WIDTH) height=(HEIGHT) fill="#ffffff" {}
            text x=(LEFT) y="22" font-size="14" fill=(INK) {
                title { (key) }
                (plot.metric) " against " (name)
            }
            g.grid stroke="#e6e6e6" stroke-width="1" {
                @for tick in y_axis.ticks() {
                    line x1=(LEFT) y1=(py(tick.fraction)) x2=(RIGHT) y2=(py(tick.fraction)) {}
                }
                @for tick in x_axis.ticks() {
                    line x1=(round(px(tick.fraction))) y1=(TOP) x2=(round(px(tick.fraction))) y2=(BOTTOM) {}
                }
            }
            g.axes stroke=(INK) stroke-width="1" {
                line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(BOTTOM) {}
                line x1=(LEFT) y1=(BOTTOM) x2=(RIGHT) y2=(BOTTOM) {}
            }
            g.ticks fill=(INK) {
                @for tick in y_axis.ticks() {
                    text x=(LEFT - 6.0) y=(round(py(tick.fraction) + 4.0)) text-anchor="end" { (tick.label) }
                }
                @for tick in x_axis.ticks() {
                    text x=(round(px(tick.fraction))) y=(BOTTOM + 16.0) text-anchor="middle" { (tick.label) }
                }
            }
            text x=(round((LEFT + RIGHT) / 2.0)) y=(BOTTOM + 36.0) text-anchor="middle" fill=(INK) {
                (x_title)
            }
            text x="16" y=(round((TOP + BOTTOM) / 2.0)) text-anchor="middle" fill=(INK)
                transform={ "rotate(-90 16 " (round((TOP + BOTTOM) / 2.0)) ")" } { (y_title) }
            g.trials {
                @for &(index, x, y) in &dots {
                    @let trial = &plot.trials[index];
                    @if frame.best == Some(index) {
                        circle.point.best data-trial=(trial.number) data-state=(trial.state) cx=(x) cy=(y)
                            r="6.5" fill=(frame.colour(index)) stroke=(INK) stroke-width="2" {
                            title { (frame.tooltip(index)) }
                        }
                    } @else if frame.goodness[index].is_some() {
                        circle.point data-trial=(trial.number) data-state=(trial.state) cx=(x) cy=(y)
                            r="4.5" fill=(frame.colour(index)) stroke="#ffffff" stroke-width="0.8" {
                            title { (frame.tooltip(index)) }
                        }
                    } @else {
                        circle.point data-trial=(trial.number) data-state=(trial.state) cx=(x) cy=(y)
                            r="4" fill="none" stroke=(GREY) stroke-width="1.5" {
                            title { (frame.tooltip(index)) }
                        }
                    }
                }
            }
            @if left_out > 0 {
                text x=(RIGHT) y=(TOP - 8.0) text-anchor="end" fill="#777777" font-size="11" {
                    (left_out) @if left_out == 1 { " trial" } @else { " trials" } " without a value not shown"
                }
            }
        }
    };
    svg.into_string()
}
