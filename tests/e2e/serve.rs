//! `pipeline serve`: the real binary on a free port, driven by a real HTTP
//! client. Predictions equal `infer`'s; bad requests get 4xx JSON errors
//! and the server keeps serving; SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::common::{FIRST_ROW, Workspace};

/// Kills the server when the test ends, even on a failed assertion.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(ws: &Workspace) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["serve", "--run", "best", "--addr", "127.0.0.1:0"])
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut server = Server {
        child,
        base: String::new(),
    };
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            server.base = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
        seen.push(line);
    }
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "no address on stderr: {seen:?}"
    );
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    server
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status and JSON body of a response.
pub(crate) fn answer(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> (u16, Value) {
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, body)
}

pub(crate) fn post(agent: &ureq::Agent, url: &str, body: &str) -> (u16, Value) {
    answer(
        agent
            .post(url)
            .header("content-type", "application/json")
            .send(body),
    )
}

fn first_row() -> Value {
    json!({"age": 59, "sex": 2, "bmi": 32.1, "bp": 101, "s1": 157, "s2": 93.2,
           "s3": 38, "s4": 4, "s5": 4.8598, "s6": 87})
}

fn close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-4 * b.abs().max(1.0),
        "{a} differs from {b}"
    );
}

#[test]
fn serve_predicts_like_infer_and_survives_bad_requests() {
    let ws = Workspace::new();
    let run = ws.train(&["train.epochs=3"]);
    let run_id = run["id"].as_str().unwrap().to_owned();
    let reference: f64 = ws
        .ok(&["infer", "--row", FIRST_ROW, "--only-predictions"])
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();

    let server = start(&ws);
    let agent = agent();
    let url = |path: &str| format!("{}{path}", server.base);

    let (status, health) = answer(agent.get(url("/health")).call());
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");

    let (status, model) = answer(agent.get(url("/model")).call());
    assert_eq!(status, 200, "{model}");
    assert_eq!(model["run"], run_id.as_str());
    assert_eq!(model["target"], "target");
    let features = model["input"]["features"].as_array().unwrap();
    assert_eq!(features.len(), 10, "{model}");
    assert_eq!(features[0]["name"], "age");
    assert!(model["spec_toml"].as_str().unwrap().contains("model"));
    assert!(model["final_metrics"]["test"]["r2"].is_number(), "{model}");
    assert_eq!(
        model["input"]["columns_hash"],
        ws.query::<String>("SELECT columns_hash FROM runs")[0].as_str()
    );

    // One row: the same prediction as `infer`.
    let (status, one) = post(&agent, &url("/predict"), &first_row().to_string());
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["run"], run_id.as_str());
    let predictions = one["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 1);
    close(predictions[0].as_f64().unwrap(), reference);

    // An array of three rows, and the `{"rows": [...]}` form.
    let mut second = first_row();
    second["bmi"] = json!(21.6);
    let three = json!([first_row(), second, first_row()]);
    let (status, many) = post(&agent, &url("/predict"), &three.to_string());
    assert_eq!(status, 200, "{many}");
    let many = many["predictions"].as_array().unwrap().clone();
    assert_eq!(many.len(), 3);
    close(many[0].as_f64().unwrap(), reference);
    close(many[2].as_f64().unwrap(), reference);
    let (status, wrapped) = post(
        &agent,
        &url("/predict"),
        &json!({"rows": three}).to_string(),
    );
    assert_eq!(status, 200, "{wrapped}");
    assert_eq!(wrapped["predictions"].as_array().unwrap(), &many);

    // Bad requests: 4xx with a JSON error, never a crash.
    let (status, body) = post(&agent, &url("/predict"), "{\"age\": 59,");
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not valid JSON"));

    let (status, body) = post(&agent, &url("/predict"), "[1, 2]");
    assert_eq!(status, 400, "{body}");

    let mut missing = first_row();
    missing.as_object_mut().unwrap().remove("bmi");
    let (status, body) = post(&agent, &url("/predict"), &missing.to_string());
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("`bmi`"), "{body}");

    // A value of another type than the run's: the column, both types, the row.
    let mut text = first_row();
    text["s1"] = json!("high");
    let (status, body) = post(
        &agent,
        &url("/predict"),
        &json!([first_row(), text]).to_string(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with(
            "request: column `s1` holds text here, but the run was trained on it as float: \
             row 2 has \"high\""
        ),
        "{body}"
    );
    // A number written as text is still a number.
    let mut quoted = first_row();
    quoted["s1"] = json!("157");
    let (status, body) = post(&agent, &url("/predict"), &quoted.to_string());
    assert_eq!(status, 200, "{body}");
    close(body["predictions"][0].as_f64().unwrap(), reference);

    // Over 1 MiB.
    let huge = format!("[{}]", vec![first_row().to_string(); 20_000].join(","));
    assert!(huge.len() > 1024 * 1024);
    let (status, body) = post(&agent, &url("/predict"), &huge);
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");

    let (status, body) = answer(agent.get(url("/nowhere")).call());
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("/nowhere"));

    let (status, body) = answer(agent.get(url("/predict")).call());
    assert_eq!(status, 405, "{body}");

    // Still serving after all of that.
    let (status, again) = post(&agent, &url("/predict"), &first_row().to_string());
    assert_eq!(status, 200, "{again}");
    close(again["predictions"][0].as_f64().unwrap(), reference);

    // SIGTERM: a graceful stop.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(
        matches!(status.code(), Some(0 | 130)),
        "the server exited with {status:?}"
    );
}

#[test]
fn serve_refuses_a_public_address_without_public() {
    let ws = Workspace::new();
    let out = ws.run(&["serve", "--addr", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = crate::common::stderr(&out);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("--public"), "{stderr}");
}
