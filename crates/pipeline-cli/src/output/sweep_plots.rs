//! A sweep's trials as SVG plots for `compare --sweep ID --report x.html`:
//! a parallel-coordinates plot (one vertical axis per parameter, the metric
//! last, each trial a polyline) and one scatter plot of the metric against
//! each parameter. A completed trial is coloured by its metric on a
//! perceptual scale (viridis: dark is better), the best one drawn thickest
//! and on top; a pruned, failed or unfinished trial is grey and dashed (a
//! hollow dot in a scatter plot). Log parameters get log axes ticked at
//! decades; categorical ones their labels.
//!
//! Written by hand with maud like `output::svg` (which escapes every text):
//! one `<polyline>` per trial, one `<g class="axis">` per axis, no ids (so
//! several plots can be inlined in one page), coordinates rounded to a tenth
//! of a unit so the documents are stable.
//!
//! The axes span the trials' values (the interface carries no bounds), so a
//! sweep's plot zooms on where its trials went.

// The lead wires this into `compare --sweep`; until then only tests use it.

mod axis;
mod parallel;
mod scatter;

use maud::{Markup, PreEscaped, html};

use axis::Axis;

use crate::output::chart::log_scale;
use crate::output::format::number;

/// What the plots show: the sweep's metric and its trials' parameters.
pub struct SweepPlot {
    pub metric: String,
    pub higher_is_better: bool,
    pub parameters: Vec<PlotParameter>,
    pub trials: Vec<PlotTrial>,
}

/// One parameter of the space, as a `--set` key path.
pub struct PlotParameter {
    pub key: String,
    pub scale: Scale,
}

/// How a parameter's axis maps its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    Linear,
    Log,
    /// The `values` of the parameter, in order, each written by [`label`]:
    /// a trial's value is found by that text (or, for numbers, by value).
    Categorical(Vec<String>),
}

/// One trial: its parameter values (one per [`SweepPlot::parameters`], in
/// order; a value that does not fit its axis is left out of the plots),
/// its metric value (`None` when it has none, e.g. failed) and its state
/// (`completed`, `pruned`, `failed`, …: only `completed` is coloured).
pub struct PlotTrial {
    pub number: u32,
    pub values: Vec<serde_json::Value>,
    pub metric: Option<f64>,
    pub state: String,
}

/// The text of a parameter's value on an axis and in tooltips: a string
/// as is, a number as JSON writes it (`0.001`, `32`), `true`.
pub fn label(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The parallel-coordinates plot as one `<svg>` element (no XML
/// declaration: it can be inlined in HTML). The report draws it through
/// [`sweep_section`]; the tests draw it alone.
#[cfg(test)]
pub fn parallel_coordinates(plot: &SweepPlot) -> String {
    parallel::draw(&Frame::new(plot))
}

/// The metric against each parameter: `(parameter key, <svg> element)`, in
/// the parameters' order.
#[cfg(test)]
pub fn scatter_plots(plot: &SweepPlot) -> Vec<(String, String)> {
    let frame = Frame::new(plot);
    plot.parameters
        .iter()
        .enumerate()
        .map(|(index, parameter)| (parameter.key.clone(), scatter::draw(&frame, index)))
        .collect()
}

/// The `compare` report's sweep section: a sentence on the trials, the
/// parallel-coordinates plot, then the scatter plots side by side.
pub fn sweep_section(plot: &SweepPlot) -> Markup {
    let frame = Frame::new(plot);
    html! {
        section.sweep {
            h2 { "sweep: " (plot.metric) " by parameter" }
            p { (summary(&frame)) }
            figure { (PreEscaped(parallel::draw(&frame))) }
            div.scatter style="display: flex; flex-wrap: wrap; gap: 1rem;" {
                @for index in 0..plot.parameters.len() {
                    figure style="flex: 1 1 22rem; max-width: 30rem;" {
                        (PreEscaped(scatter::draw(&frame, index)))
                    }
                }
            }
        }
    }
}

/// `12 trials: 8 completed, 3 pruned, 1 failed. Best: trial #4, val_loss
/// 0.4120 (lower is better).`
fn summary(frame: &Frame) -> String {
    let plot = frame.plot;
    let mut states: Vec<(&str, usize)> = Vec::new();
    for trial in &plot.trials {
        match states.iter_mut().find(|(state, _)| *state == trial.state) {
            Some((_, count)) => *count += 1,
            None => states.push((&trial.state, 1)),
        }
    }
    const ORDER: [&str; 6] = [
        "completed",
        "pruned",
        "failed",
        "interrupted",
        "running",
        "pending",
    ];
    states.sort_by_key(|(state, _)| {
        (
            ORDER.iter().position(|s| s == state).unwrap_or(ORDER.len()),
            *state,
        )
    });
    let counts: Vec<String> = states
        .iter()
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    let trials = match plot.trials.len() {
        1 => "1 trial".to_string(),
        n => format!("{n} trials"),
    };
    let mut text = if counts.is_empty() {
        format!("{trials}.")
    } else {
        format!("{trials}: {}.", counts.join(", "))
    };
    match frame.best.map(|index| &plot.trials[index]) {
        Some(PlotTrial {
            number: best,
            metric: Some(value),
            ..
        }) => text.push_str(&format!(
            " Best: trial #{best}, {} {} ({}).",
            plot.metric,
            number(*value),
            direction(plot)
        )),
        _ => text.push_str(" No completed trial has a value yet."),
    }
    text
}

fn direction(plot: &SweepPlot) -> &'static str {
    if plot.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    }
}

/// What both plots need, worked out once: the axes, each trial's colour and
/// the best trial.
struct Frame<'a> {
    plot: &'a SweepPlot,
    /// One per parameter.
    axes: Vec<Axis>,
    metric_axis: Axis,
    /// The axes' titles: each key's shortest distinct tail.
    names: Vec<String>,
    /// Per trial: how good it is, `0..=1` (1 the best), for completed trials
    /// with a value; `None` draws it grey.
    goodness: Vec<Option<f64>>,
    /// The index of the best completed trial.
    best: Option<usize>,
    /// Trial indices in drawing order: grey ones first, then coloured ones
    /// from worst to best, so the best is on top.
    order: Vec<usize>,
}

impl<'a> Frame<'a> {
    fn new(plot: &'a SweepPlot) -> Frame<'a> {
        let axes = plot
            .parameters
            .iter()
            .enumerate()
            .map(|(index, parameter)| {
                let numbers: Vec<f64> = plot
                    .trials
                    .iter()
                    .filter_map(|t| t.values.get(index)?.as_f64())
                    .collect();
                match &parameter.scale {
                    Scale::Linear => Axis::linear(&numbers),
                    Scale::Log => Axis::log(&numbers),
                    Scale::Categorical(labels) => Axis::Categorical(labels.clone()),
                }
            })
            .collect();
        let metrics: Vec<f64> = plot
            .trials
            .iter()
            .filter_map(|t| t.metric.filter(|m| m.is_finite()))
            .collect();
        let low = metrics.iter().copied().fold(f64::INFINITY, f64::min);
        let high = metrics.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let metric_axis = if log_scale(low, high) {
            Axis::log(&metrics)
        } else {
            Axis::linear(&metrics)
        };
        let placed: Vec<Option<f64>> = plot
            .trials
            .iter()
            .map(|t| {
                t.metric
                    .filter(|_| t.state == "completed")
                    .and_then(|m| metric_axis.number_fraction(m))
            })
            .collect();
        let (worst, best_fraction) = placed
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &f| {
                (low.min(f), high.max(f))
            });
        let goodness: Vec<Option<f64>> = placed
            .iter()
            .map(|fraction| {
                fraction.map(|f| {
                    if best_fraction - worst < 1e-12 {
                        1.0
                    } else if plot.higher_is_better {
                        (f - worst) / (best_fraction - worst)
                    } else {
                        (best_fraction - f) / (best_fraction - worst)
                    }
                })
            })
            .collect();
        let mut order: Vec<usize> = (0..plot.trials.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| goodness[i].unwrap_or(-1.0);
            key(a)
                .total_cmp(&key(b))
                .then(plot.trials[b].number.cmp(&plot.trials[a].number))
        });
        let best = order.last().copied().filter(|&i| goodness[i].is_some());
        Frame {
            plot,
            axes,
            metric_axis,
            names: short_names(plot.parameters.iter().map(|p| p.key.as_str())),
            goodness,
            best,
            order,
        }
    }

    /// The trial's line or dot colour.
    fn colour(&self, index: usize) -> String {
        match self.goodness[index] {
            Some(goodness) => viridis(0.9 * (1.0 - goodness)),
            None => GREY.to_string(),
        }
    }

    /// `trial #4 (completed): learning_rate = 0.001, units = 32 → val_loss 0.4120`
    fn tooltip(&self, index: usize) -> String {
        let trial = &self.plot.trials[index];
        let values: Vec<String> = self
            .names
            .iter()
            .zip(&trial.values)
            .map(|(name, value)| format!("{name} = {}", label(value)))
            .collect();
        let metric = match trial.metric {
            Some(value) => format!("{} {}", self.plot.metric, number(value)),
            None => format!("no {}", self.plot.metric),
        };
        format!(
            "trial #{} ({}): {} → {metric}",
            trial.number,
            trial.state,
            values.join(", ")
        )
    }

    /// The title of the metric's axis, e.g. `val_loss ↓`.
    fn metric_name(&self) -> String {
        let arrow = if self.plot.higher_is_better {
            "↑"
        } else {
            "↓"
        };
        format!("{} {arrow}", self.plot.metric)
    }
}

/// Trials that are not coloured: pruned, failed, unfinished.
const GREY: &str = "#9a9a9a";
const DASH: &str = "5 4";
const FONTS: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const INK: &str = "#333333";

/// Coordinates to a tenth of a unit: stable documents, no float noise.
fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Viridis (matplotlib's perceptually uniform scale) at `t` in `0..=1`,
/// from dark purple to yellow, interpolated between eleven of its colours.
fn viridis(t: f64) -> String {
    const STOPS: [[u8; 3]; 11] = [
        [0x44, 0x01, 0x54],
        [0x48, 0x24, 0x75],
        [0x41, 0x44, 0x87],
        [0x35, 0x5f, 0x8d],
        [0x2a, 0x78, 0x8e],
        [0x21, 0x91, 0x8c],
        [0x22, 0xa8, 0x84],
        [0x44, 0xbf, 0x70],
        [0x7a, 0xd1, 0x51],
        [0xbd, 0xdf, 0x26],
        [0xfd, 0xe7, 0x25],
    ];
    let position = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 10.0;
    let index = (position.floor() as usize).min(9);
    let within = position - index as f64;
    let channel = |c: usize| {
        let (a, b) = (f64::from(STOPS[index][c]), f64::from(STOPS[index + 1][c]));
        (a + (b - a) * within).round() as u8
    };
    format!("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2))
}

/// Each key's shortest tail of dotted segments that no other key ends with,
/// never starting at an index (`layers.0.units`, not `0.units`).
fn short_names<'k>(keys: impl Iterator<Item = &'k str> + Clone) -> Vec<String> {
    let all: Vec<Vec<&str>> = keys.map(|k| k.split('.').collect()).collect();
    all.iter()
        .map(|segments| {
            let mut take = 1;
            while take < segments.len() {
                let tail = &segments[segments.len() - take..];
                let shared = all
                    .iter()
                    .filter(|other| other.len() >= take && other[other.len() - take..] == *tail)
                    .count();
                let index = tail[0].chars().all(|c| c.is_ascii_digit());
                if shared <= 1 && !index {
                    break;
                }
                take += 1;
            }
            segments[segments.len() - take..].join(".")
        })
        .collect()
}

#[cfg(test)]
mod tests;
