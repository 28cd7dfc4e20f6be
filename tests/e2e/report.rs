//! `compare --report FILE.html`, `compare --plot FILE.svg|FILE.png` and the
//! reproducibility section. No browser here: the SVG inside the report is
//! rendered headless with resvg and its pixels checked for every curve.

use resvg::tiny_skia::Pixmap;
use resvg::usvg;

use crate::common::{Workspace, stderr};

/// One `<polyline>` of the chart: its run, series, colour and points.
struct Curve {
    element: String,
    run: String,
    series: String,
    colour: [u8; 3],
    points: usize,
}

fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    let end = element[start..].find('"').unwrap() + start;
    &element[start..end]
}

fn curves(svg: &str) -> Vec<Curve> {
    svg.match_indices("<polyline")
        .map(|(start, _)| {
            let end = svg[start..].find("</polyline>").unwrap() + start + "</polyline>".len();
            let element = svg[start..end].to_string();
            let stroke = attribute(&element, "stroke");
            let hex = |i: usize| u8::from_str_radix(&stroke[i..i + 2], 16).unwrap();
            Curve {
                run: attribute(&element, "data-run").to_string(),
                series: attribute(&element, "class").to_string(),
                colour: [hex(1), hex(3), hex(5)],
                points: attribute(&element, "points").split_whitespace().count(),
                element,
            }
        })
        .collect()
}

fn render(svg: &str) -> Pixmap {
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(svg, &options).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

/// How many pixels have (nearly) this colour.
fn pixels_of(pixmap: &Pixmap, colour: [u8; 3]) -> usize {
    pixmap
        .pixels()
        .iter()
        .filter(|p| {
            let p = p.demultiply();
            [p.red(), p.green(), p.blue()]
                .iter()
                .zip(colour)
                .all(|(a, b)| a.abs_diff(b) <= 8)
        })
        .count()
}

fn ids(ws: &Workspace, overrides: &[&[&str]]) -> Vec<String> {
    overrides
        .iter()
        .map(|o| ws.train(o)["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn report_holds_the_tables_and_draws_every_curve() {
    let ws = Workspace::new();
    let runs = ids(
        &ws,
        &[
            &["train.epochs=4"],
            &[
                "train.epochs=4",
                "optimizer.learning_rate=0.05",
                "description=<script>alert(1)</script>",
            ],
        ],
    );
    let out = ws.run(&["compare", &runs[0], &runs[1], "--report", "report.html"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(stdout.contains("spec differences") && stdout.contains("reproducibility"));
    assert!(
        stderr(&out).contains("wrote the report to report.html"),
        "{}",
        stderr(&out)
    );

    let html = std::fs::read_to_string(ws.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.ends_with("</html>"), "{html}");
    for expected in [
        "<h2>runs, best first</h2>",
        "<h2>runs</h2>",
        "<h2>spec differences</h2>",
        "<h2>metrics at each run's best epoch</h2>",
        "<h2>generalization</h2>",
        "<h2>reproducibility (against A)</h2>",
        "<h2>learning curves</h2>",
        "optimizer.learning_rate",
        "gap: validation − train loss",
        "differs in spec; weights differ; final metrics differ",
        &ws.short_id(&runs[0]),
        &ws.short_id(&runs[1]),
        // The description is text on the page, never markup.
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in:\n{html}");
    }
    // Self-contained: nothing is fetched, nothing runs.
    for absent in ["<script", "<link", "src=", "href=", "url(", "<img"] {
        assert!(!html.contains(absent), "found {absent:?} in:\n{html}");
    }
    assert_eq!(html.matches("<svg").count(), 1, "{html}");
    assert_eq!(html.matches("<table>").count(), 6, "{html}");

    let start = html.find("<svg").unwrap();
    let end = html.find("</svg>").unwrap() + "</svg>".len();
    let svg = &html[start..end];
    let curves = curves(svg);
    let series: Vec<(&str, &str)> = curves
        .iter()
        .map(|c| (c.run.as_str(), c.series.as_str()))
        .collect();
    assert_eq!(
        series,
        [
            ("A", "curve train"),
            ("A", "curve validation"),
            ("B", "curve train"),
            ("B", "curve validation"),
        ]
    );
    for curve in &curves {
        assert_eq!(curve.points, 4, "one point per epoch: {}", curve.element);
        assert_eq!(
            curve.element.contains("stroke-dasharray"),
            curve.series == "curve train",
            "train dashed, validation solid: {}",
            curve.element
        );
    }
    assert_eq!(curves[0].colour, curves[1].colour, "one colour per run");
    assert_ne!(curves[0].colour, curves[2].colour, "one colour per run");
    // The legend says what differs, not the id (issue 21, item 8).
    assert!(
        svg.contains("B · lr=0.05") && !svg.contains(&runs[0][..13]),
        "{svg}"
    );

    // Headless: the whole chart shows both runs' colours …
    let full = render(svg);
    for curve in &curves {
        assert!(
            pixels_of(&full, curve.colour) > 40,
            "{} {} not drawn",
            curve.run,
            curve.series
        );
    }
    // … and each curve alone (the others and the legend removed) draws
    // pixels of its colour: train and validation share a colour.
    let without_legend = &svg[..svg.find("<g class=\"legend\"").unwrap()];
    for curve in &curves {
        let mut alone = without_legend.to_string();
        for other in curves.iter().filter(|c| c.element != curve.element) {
            alone = alone.replace(&other.element, "");
        }
        alone.push_str("</svg>");
        let pixmap = render(&alone);
        assert!(
            pixels_of(&pixmap, curve.colour) > 40,
            "{} {} not drawn",
            curve.run,
            curve.series
        );
    }
}

#[test]
fn plot_writes_svg_and_png() {
    let ws = Workspace::new();
    let runs = ids(&ws, &[&["train.epochs=3"], &["train.epochs=5", "seed=7"]]);

    // The file is the output: nothing on stdout, one line on stderr.
    let out = ws.run(&["compare", &runs[0], &runs[1], "--plot", "curves.svg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let svg = std::fs::read_to_string(ws.path().join("curves.svg")).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert_eq!(svg.matches("<polyline").count(), 4, "{svg}");
    let colours: Vec<[u8; 3]> = curves(&svg).iter().map(|c| c.colour).collect();
    let pixmap = render(&svg);
    assert!(colours.iter().all(|&c| pixels_of(&pixmap, c) > 40));

    ws.ok(&[
        "compare",
        &runs[0],
        &runs[1],
        "--plot",
        "curves.PNG",
        "--json",
    ]);
    let png = std::fs::read(ws.path().join("curves.PNG")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let pixmap = Pixmap::decode_png(&png).unwrap();
    assert_eq!(pixmap.width(), 2 * 760, "drawn at twice the SVG's size");
    assert!(pixmap.height() > 2 * 400);
    assert!(colours.iter().all(|&c| pixels_of(&pixmap, c) > 100));
}

#[test]
fn bad_plot_and_report_paths_are_usage_errors() {
    let ws = Workspace::new();
    let runs = ids(&ws, &[&["train.epochs=2"], &["train.epochs=2"]]);
    let compare = |extra: &[&str]| {
        let mut args = vec!["compare", runs[0].as_str(), runs[1].as_str()];
        args.extend_from_slice(extra);
        ws.run(&args)
    };

    let out = compare(&["--plot", "curves.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--plot curves.jpg: unknown image format .jpg"),
        "{err}"
    );
    assert!(
        err.contains("hint: name the file FILE.svg or FILE.png"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!ws.path().join("curves.jpg").exists());

    let out = compare(&["--plot", "curves"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = compare(&["--report", "missing/report.html"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot write missing/report.html: the folder missing does not exist"),
        "{err}"
    );

    std::fs::create_dir(ws.path().join("taken.svg")).unwrap();
    let out = compare(&["--plot", "taken.svg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("taken.svg: it is a folder"));
    let mut left: Vec<String> = std::fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "registry")
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["taken.svg"],
        "nothing but the registry and the folder"
    );
}

/// What `pipeline rerun` relies on: the same spec, data and seed trained
/// twice compare as an exact match; another seed does not.
#[test]
fn a_rerun_matches_exactly() {
    let ws = Workspace::new();
    let runs = ids(
        &ws,
        &[
            &["train.epochs=3"],
            &["train.epochs=3"],
            &["train.epochs=3", "seed=7"],
        ],
    );
    let text = ws.ok(&["compare", &runs[0], &runs[1], &runs[2], "--details"]);
    assert!(
        text.contains(
            "B: matches exactly (same spec, data, seed and device; weights bit-identical; \
             final metrics identical)"
        ),
        "{text}"
    );
    assert!(
        text.contains("C: differs in spec and seed; weights differ; final metrics differ"),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["compare", &runs[0], &runs[1], &runs[2], "--json"])).unwrap();
    let reproducibility = &json["reproducibility"];
    assert_eq!(reproducibility["reference"], runs[0].as_str());
    let rerun = &reproducibility["runs"][0];
    assert_eq!(rerun["id"], runs[1].as_str());
    assert_eq!(rerun["matches_exactly"], true);
    for key in ["same_spec", "same_data", "same_seed", "same_device"] {
        assert_eq!(rerun[key], true, "{key}: {rerun}");
    }
    assert_eq!(rerun["weights"], "identical");
    assert_eq!(rerun["final_metrics"], "identical");
    let other = &reproducibility["runs"][1];
    assert_eq!(other["matches_exactly"], false);
    assert_eq!(other["same_seed"], false);
    assert_eq!(other["same_data"], true);
    assert_eq!(other["weights"], "different");
}

/// A weights file changed after the run is reported, not trusted.
#[test]
fn tampered_weights_are_not_compared() {
    let ws = Workspace::new();
    let runs = ids(&ws, &[&["train.epochs=2"], &["train.epochs=2"]]);
    ws.corrupt_artifact(&format!("artifacts/{}/model.safetensors", runs[1]));
    let text = ws.ok(&["compare", &runs[0], &runs[1]]);
    assert!(text.contains("B against A: does not reproduce"), "{text}");
    assert!(text.contains("weights not compared (B:"), "{text}");
}

#[test]
fn compare_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["compare", "--help"]));
}
