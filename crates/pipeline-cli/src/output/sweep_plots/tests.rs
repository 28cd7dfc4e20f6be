#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::*;

/// Six trials of a three-parameter space (log, categorical, linear):
/// four completed (#3 the best, lowest val_loss), one pruned, one failed.
fn fixture() -> SweepPlot {
    let trial = |number, values: serde_json::Value, metric, state: &str| PlotTrial {
        number,
        values: values.as_array().unwrap().clone(),
        metric,
        state: state.into(),
    };
    SweepPlot {
        metric: "val_loss".into(),
        higher_is_better: false,
        parameters: vec![
            PlotParameter {
                key: "optimizer.learning_rate".into(),
                scale: Scale::Log,
            },
            PlotParameter {
                key: "model.layers.0.units".into(),
                scale: Scale::Categorical(vec![
                    "16".into(),
                    "32".into(),
                    "64".into(),
                    "128".into(),
                ]),
            },
            PlotParameter {
                key: "optimizer.weight_decay".into(),
                scale: Scale::Linear,
            },
        ],
        trials: vec![
            trial(1, json!([1e-4, 16, 0.0]), Some(0.9), "completed"),
            trial(2, json!([1e-3, 32, 0.002]), Some(0.5), "completed"),
            trial(3, json!([1e-2, 64, 0.005]), Some(0.35), "completed"),
            trial(4, json!([0.1, 128, 0.01]), Some(2.4), "pruned"),
            trial(5, json!([0.003, 32, 0.004]), None, "failed"),
            trial(6, json!([0.03, 64, 0.008]), Some(0.6), "completed"),
        ],
    }
}

/// One element per line, so a snapshot's diff reads.
fn lines(svg: &str) -> String {
    svg.replace("><", ">\n<")
}

/// The start tag of the element carrying `attribute` (e.g. `data-trial="3"`).
fn tag<'s>(svg: &'s str, element: &str, attribute: &str) -> &'s str {
    svg.split('<')
        .find(|t| t.starts_with(element) && t.contains(attribute))
        .unwrap_or_else(|| panic!("no <{element} {attribute}> in {svg}"))
}

/// The inside of the axis group of `key`.
fn axis_group<'s>(svg: &'s str, key: &str) -> &'s str {
    let start = svg
        .find(&format!("<g class=\"axis\" data-key=\"{key}\">"))
        .unwrap();
    let rest = &svg[start..];
    &rest[..rest.find("</g>").unwrap()]
}

/// The tick labels of an axis group with their `y`.
fn ticks(group: &str) -> Vec<(f64, String)> {
    group
        .split("<text class=\"tick\"")
        .skip(1)
        .map(|t| {
            let y = t.split("y=\"").nth(1).unwrap().split('"').next().unwrap();
            let label = t.split('>').nth(1).unwrap().split('<').next().unwrap();
            (y.parse().unwrap(), label.to_string())
        })
        .collect()
}

#[test]
fn the_parallel_coordinates_snapshot() {
    insta::assert_snapshot!(lines(&parallel_coordinates(&fixture())));
}

#[test]
fn the_scatter_plot_snapshot() {
    let plots = scatter_plots(&fixture());
    let keys: Vec<&str> = plots.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "optimizer.learning_rate",
            "model.layers.0.units",
            "optimizer.weight_decay"
        ]
    );
    insta::assert_snapshot!(lines(&plots[0].1));
}

#[test]
fn one_polyline_per_trial_and_one_axis_per_parameter_and_the_metric() {
    let plot = fixture();
    let svg = parallel_coordinates(&plot);
    assert_eq!(svg.matches("<polyline").count(), plot.trials.len(), "{svg}");
    assert_eq!(
        svg.matches("<g class=\"axis\"").count(),
        plot.parameters.len() + 1
    );
    // The failed trial has no metric: its line stops at the last parameter.
    let failed = tag(&svg, "polyline", "data-trial=\"5\"");
    let points = failed.split("points=\"").nth(1).unwrap();
    assert_eq!(points.split('"').next().unwrap().split(' ').count(), 3);
    let completed = tag(&svg, "polyline", "data-trial=\"2\"");
    let points = completed.split("points=\"").nth(1).unwrap();
    assert_eq!(points.split('"').next().unwrap().split(' ').count(), 4);
    for axis in ["optimizer.learning_rate", "val_loss"] {
        assert!(svg.contains(&format!("data-key=\"{axis}\"")), "{svg}");
    }
    // Short titles; the whole key in the tooltip.
    assert!(
        svg.contains("<title>model.layers.0.units</title>units"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>optimizer.learning_rate</title>learning_rate"),
        "{svg}"
    );
}

#[test]
fn a_log_axis_ticks_at_evenly_spaced_decades() {
    let svg = parallel_coordinates(&fixture());
    let decades = ticks(axis_group(&svg, "optimizer.learning_rate"));
    let labels: Vec<&str> = decades.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["1e-4", "0.001", "0.01", "0.1"]);
    let gaps: Vec<f64> = decades.windows(2).map(|w| w[0].0 - w[1].0).collect();
    assert!(
        gaps.iter().all(|g| (g - gaps[0]).abs() < 0.2 && *g > 0.0),
        "{gaps:?}"
    );
    assert!(axis_group(&svg, "optimizer.learning_rate").contains("log scale"));
    let units = ticks(axis_group(&svg, "model.layers.0.units"));
    let labels: Vec<&str> = units.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["16", "32", "64", "128"]);
    let decay = ticks(axis_group(&svg, "optimizer.weight_decay"));
    assert_eq!(decay.first().unwrap().1, "0");
    assert_eq!(decay.last().unwrap().1, "0.01");
}

#[test]
fn the_best_is_darkest_and_thickest_and_others_grey_and_dashed() {
    let mut plot = fixture();
    let svg = parallel_coordinates(&plot);
    let best = tag(&svg, "polyline", "data-trial=\"3\"");
    assert!(
        best.contains("stroke=\"#440154\"") && best.contains("stroke-width=\"3.5\""),
        "{best}"
    );
    assert!(!best.contains("dasharray"), "{best}");
    assert!(svg.contains("best #3"), "{svg}");
    // The best is drawn last, on top.
    let last = svg.rfind("<polyline").unwrap();
    assert!(svg[last..].starts_with(&format!("<{best}")), "{svg}");
    let worst = tag(&svg, "polyline", "data-trial=\"1\"");
    assert!(worst.contains("stroke=\"#bddf26\""), "{worst}");
    for grey in ["4", "5"] {
        let line = tag(&svg, "polyline", &format!("data-trial=\"{grey}\""));
        assert!(
            line.contains(&format!("stroke=\"{GREY}\"")) && line.contains("stroke-dasharray"),
            "{line}"
        );
    }
    // Maximizing, the highest completed value is best; a pruned one never is.
    plot.higher_is_better = true;
    let svg = parallel_coordinates(&plot);
    assert!(svg.contains("best #1") && !svg.contains("best #4"), "{svg}");
    assert!(tag(&svg, "polyline", "data-trial=\"1\"").contains("#440154"));
}

#[test]
fn scatter_dots_are_hollow_when_pruned_and_absent_without_a_value() {
    let plot = fixture();
    for (key, svg) in scatter_plots(&plot) {
        assert_eq!(svg.matches("<circle").count(), 5, "{key}: {svg}");
        let pruned = tag(&svg, "circle", "data-trial=\"4\"");
        assert!(pruned.contains("fill=\"none\""), "{pruned}");
        let best = tag(&svg, "circle", "data-trial=\"3\"");
        assert!(best.contains("class=\"point best\""), "{best}");
        assert!(!svg.contains("data-trial=\"5\""), "{svg}");
        assert!(svg.contains("1 trial without a value not shown"), "{svg}");
    }
    let (_, log) = &scatter_plots(&plot)[0];
    assert!(log.contains("learning_rate (log scale)"), "{log}");
}

#[test]
fn text_is_escaped() {
    let mut plot = fixture();
    plot.metric = "val_<loss> & \"x\"".into();
    plot.parameters[1].key = "model.<units>&".into();
    plot.parameters[1].scale = Scale::Categorical(vec!["<16>".into()]);
    plot.trials[0].values[1] = json!("<16>");
    let mut documents = vec![parallel_coordinates(&plot)];
    documents.extend(scatter_plots(&plot).into_iter().map(|(_, svg)| svg));
    documents.push(sweep_section(&plot).into_string());
    for svg in documents {
        assert!(!svg.contains("<loss>") && !svg.contains("<units>"), "{svg}");
        assert!(!svg.contains("<16>"), "{svg}");
        assert!(
            svg.contains("val_&lt;loss&gt; &amp; &quot;x&quot;"),
            "{svg}"
        );
    }
}

#[test]
fn every_plot_is_an_svg_that_renders() {
    let mut empty = fixture();
    empty.trials.clear();
    let mut unfinished = fixture();
    for trial in &mut unfinished.trials {
        trial.state = "running".into();
    }
    let mut no_parameters = fixture();
    no_parameters.parameters.clear();
    for plot in [fixture(), empty, unfinished, no_parameters] {
        let mut documents = vec![parallel_coordinates(&plot)];
        documents.extend(scatter_plots(&plot).into_iter().map(|(_, svg)| svg));
        for svg in documents {
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            crate::output::png::rasterize(&svg, 0.5).unwrap();
        }
    }
}

#[test]
fn the_section_says_what_it_shows() {
    let section = sweep_section(&fixture()).into_string();
    assert!(
        section.starts_with("<section class=\"sweep\">"),
        "{section}"
    );
    assert_eq!(section.matches("<svg").count(), 1 + 3, "{section}");
    assert!(
        section.contains(
            "6 trials: 4 completed, 1 pruned, 1 failed. Best: trial #3, val_loss 0.3500 \
             (lower is better)."
        ),
        "{section}"
    );
    let mut nothing = fixture();
    nothing.trials.truncate(1);
    nothing.trials[0].state = "pending".into();
    let section = sweep_section(&nothing).into_string();
    assert!(
        section.contains("1 trial: 1 pending. No completed trial has a value yet."),
        "{section}"
    );
}

#[test]
fn short_names_are_distinct_tails() {
    let keys = [
        "optimizer.learning_rate",
        "model.layers.0.units",
        "model.layers.1.units",
        "train.batch_size",
        "model.dropout",
        "data.dropout",
    ];
    assert_eq!(
        short_names(keys.iter().copied()),
        [
            "learning_rate",
            "layers.0.units",
            "layers.1.units",
            "batch_size",
            "model.dropout",
            "data.dropout"
        ]
    );
}

#[test]
fn viridis_runs_from_dark_purple_to_yellow() {
    assert_eq!(viridis(0.0), "#440154");
    assert_eq!(viridis(1.0), "#fde725");
    assert_eq!(viridis(0.05), "#461365");
    assert_eq!(viridis(f64::NAN), "#440154");
}
