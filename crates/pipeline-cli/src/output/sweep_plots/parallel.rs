//! The parallel-coordinates plot: one vertical axis per parameter and the
//! metric's last, each trial one polyline through its values, then the
//! colour scale's legend.

use maud::{Markup, html};

use super::axis::Axis;
use super::{DASH, FONTS, Frame, GREY, INK, round, viridis};
use crate::output::format::number;

const LEFT: f64 = 80.0;
const RIGHT_MARGIN: f64 = 110.0;
/// The plot is at least this wide; axes are at least `MIN_SPACING` apart.
const MIN_WIDTH: f64 = 760.0;
const MIN_SPACING: f64 = 130.0;
const TOP: f64 = 78.0;
const BOTTOM: f64 = TOP + 300.0;
const LEGEND_TOP: f64 = BOTTOM + 40.0;
const HEIGHT: f64 = LEGEND_TOP + 64.0;
/// The legend's colour bar: this many steps of this width.
const BAR_STEPS: usize = 20;
const BAR_STEP: f64 = 12.0;

pub fn draw(frame: &Frame) -> String {
    let plot = frame.plot;
    let count = frame.axes.len() + 1;
    let spacing = if count > 1 {
        ((MIN_WIDTH - LEFT - RIGHT_MARGIN) / (count - 1) as f64).max(MIN_SPACING)
    } else {
        0.0
    };
    let width = (LEFT + spacing * (count - 1) as f64 + RIGHT_MARGIN).max(MIN_WIDTH);
    let x_of = |axis: usize| round(LEFT + spacing * axis as f64);
    let y_of = |fraction: f64| round(BOTTOM - fraction * (BOTTOM - TOP));
    let points = |index: usize| -> String {
        let trial = &plot.trials[index];
        let parameters = frame
            .axes
            .iter()
            .enumerate()
            .map(|(axis, scale)| trial.values.get(axis).and_then(|v| scale.fraction(v)));
        let metric = trial
            .metric
            .and_then(|m| frame.metric_axis.number_fraction(m));
        parameters
            .chain(std::iter::once(metric))
            .enumerate()
            .filter_map(|(axis, fraction)| Some(format!("{},{}", x_of(axis), y_of(fraction?))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(HEIGHT)
            viewBox={ "0 0 " (width) " " (HEIGHT) } font-family=(FONTS) font-size="12" role="img" {
            title {
                "Parallel coordinates: " (plot.trials.len()) " trials, one line each through its "
                "parameters and " (plot.metric) " (colour: " (plot.metric) ", dark is better; "
                "grey dashed: pruned, failed or unfinished)"
            }
            rect width=(width) height=(HEIGHT) fill="#ffffff" {}
            text x=(LEFT) y="24" font-size="15" fill=(INK) {
                (plot.metric) " by parameter, " (plot.trials.len()) " trials"
            }
            g.trials fill="none" stroke-linejoin="round" stroke-linecap="round" {
                @for &index in &frame.order {
                    @let trial = &plot.trials[index];
                    @let coloured = frame.goodness[index].is_some();
                    @let width = if frame.best == Some(index) { 3.5 } else if coloured { 1.8 } else { 1.3 };
                    polyline.trial data-trial=(trial.number) data-state=(trial.state)
                        stroke=(frame.colour(index)) stroke-width=(width)
                        stroke-opacity=(if coloured { "0.9" } else { "0.7" })
                        stroke-dasharray=[(!coloured).then_some(DASH)] points=(points(index)) {
                        title { (frame.tooltip(index)) }
                    }
                }
            }
            @for (index, axis) in frame.axes.iter().enumerate() {
                (draw_axis(x_of(index), axis, &frame.names[index], &plot.parameters[index].key,
                    axis.is_log().then_some("log scale")))
            }
            (draw_axis(x_of(count - 1), &frame.metric_axis, &frame.metric_name(), &plot.metric,
                Some(if frame.metric_axis.is_log() {
                    if plot.higher_is_better { "higher is better, log" } else { "lower is better, log" }
                } else {
                    super::direction(plot)
                })))
            @if let Some(best) = frame.best {
                @let trial = &plot.trials[best];
                @if let Some(fraction) = trial.metric.and_then(|m| frame.metric_axis.number_fraction(m)) {
                    text.best x=(x_of(count - 1) + 8.0) y=(round(y_of(fraction) + 4.0)) fill=(INK)
                        font-weight="bold" { "best #" (trial.number) }
                }
            }
            (legend(frame))
        }
    };
    svg.into_string()
}

/// An axis: its line, ticks and tick labels (with a white halo, as lines
/// pass under them) and its title above, the whole key in a tooltip.
fn draw_axis(x: f64, axis: &Axis, name: &str, key: &str, note: Option<&str>) -> Markup {
    let y_of = |fraction: f64| round(BOTTOM - fraction * (BOTTOM - TOP));
    html! {
        g.axis data-key=(key) {
            line x1=(x) y1=(TOP) x2=(x) y2=(BOTTOM) stroke=(INK) stroke-width="1" {}
            @for tick in axis.ticks() {
                line x1=(x - 4.0) y1=(y_of(tick.fraction)) x2=(x) y2=(y_of(tick.fraction))
                    stroke=(INK) stroke-width="1" {}
                text.tick x=(x - 7.0) y=(round(y_of(tick.fraction) + 4.0)) text-anchor="end"
                    fill=(INK) stroke="#ffffff" stroke-width="3" paint-order="stroke" { (tick.label) }
            }
            text.name x=(x) y=(TOP - 28.0) text-anchor="middle" fill=(INK) font-weight="bold" {
                title { (key) }
                (name)
            }
            @if let Some(note) = note {
                text x=(x) y=(TOP - 13.0) text-anchor="middle" fill="#777777" font-size="11" { (note) }
            }
        }
    }
}

/// The colour bar (worse to better, with the two ends' values) and the keys
/// of the grey dashed and the thick line.
fn legend(frame: &Frame) -> Markup {
    let plot = frame.plot;
    let coloured: Vec<f64> = frame
        .goodness
        .iter()
        .zip(&plot.trials)
        .filter_map(|(goodness, trial)| goodness.and(trial.metric))
        .collect();
    let (low, high) = coloured
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let (worst, best) = if plot.higher_is_better {
        (low, high)
    } else {
        (high, low)
    };
    let keys = LEFT + BAR_STEP * BAR_STEPS as f64 + 90.0;
    html! {
        g.legend fill=(INK) {
            @if coloured.is_empty() {
                text x=(LEFT) y=(LEGEND_TOP + 14.0) { "no completed trial with a value: no colours" }
            } @else {
                text x=(LEFT) y=(LEGEND_TOP) { "colour: " (plot.metric) " of completed trials" }
                @for step in 0..BAR_STEPS {
                    @let goodness = step as f64 / (BAR_STEPS - 1) as f64;
                    rect x=(LEFT + BAR_STEP * step as f64) y=(LEGEND_TOP + 8.0) width=(BAR_STEP)
                        height="12" fill=(viridis(0.9 * (1.0 - goodness))) {}
                }
                text x=(LEFT) y=(LEGEND_TOP + 36.0) { "worse " (number(worst)) }
                text x=(LEFT + BAR_STEP * BAR_STEPS as f64) y=(LEGEND_TOP + 36.0) text-anchor="end" {
                    (number(best)) " better"
                }
            }
            line x1=(keys) y1=(LEGEND_TOP + 10.0) x2=(keys + 30.0) y2=(LEGEND_TOP + 10.0)
                stroke=(GREY) stroke-width="1.3" stroke-dasharray=(DASH) {}
            text x=(keys + 38.0) y=(LEGEND_TOP + 14.0) { "pruned, failed or unfinished" }
            @if let Some(best) = frame.best {
                line x1=(keys) y1=(LEGEND_TOP + 32.0) x2=(keys + 30.0) y2=(LEGEND_TOP + 32.0)
                    stroke=(frame.colour(best)) stroke-width="3.5" {}
                text x=(keys + 38.0) y=(LEGEND_TOP + 36.0) { "best: trial #" (plot.trials[best].number) }
            }
        }
    }
}
