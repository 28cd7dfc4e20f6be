//! Devices (issue #4): `cpu`, `cuda`, `cuda:N` and `auto` in the spec and on
//! `--device`; a malformed device is a located spec error listing the forms,
//! a GPU this build or machine lacks an error naming it. Messages are
//! snapshot-tested (on a build without the `cuda` feature).

use crate::common::{FIRST_ROW, Workspace, diabetes_csv, mlp_spec, scrub, stderr};

/// The first experiment in the workspace with `device = "<device>"`.
fn spec_on(ws: &Workspace, device: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(mlp_spec())
        .unwrap()
        .replacen("device = \"cpu\"", &format!("device = \"{device}\""), 1)
        .replace(
            "path = \"data/diabetes.csv\"",
            &format!("path = {:?}", diabetes_csv().display().to_string()),
        );
    ws.write("spec.toml", &text)
}

/// Runs `args`, expects exit code 2, nothing on stdout and no registry;
/// returns scrubbed stderr.
fn refused(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.run(args);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    assert!(out.stdout.is_empty());
    scrub(&stderr(&out), ws)
}

#[test]
fn a_malformed_ordinal_is_a_located_spec_error() {
    let ws = Workspace::new();
    let spec = spec_on(&ws, "cuda:x");
    let message = refused(&ws, &["run", spec.to_str().unwrap()]);
    assert!(ws.nothing_recorded());
    insta::assert_snapshot!(message);
}

#[test]
fn gpu_is_not_a_device_word() {
    let ws = Workspace::new();
    let spec = spec_on(&ws, "gpu");
    insta::assert_snapshot!(refused(&ws, &["check", spec.to_str().unwrap()]));
}

#[test]
fn device_flags_take_the_spec_forms() {
    let ws = Workspace::new();
    insta::assert_snapshot!(refused(
        &ws,
        &["infer", "--row", FIRST_ROW, "--device", "cuda:x"]
    ));
}

#[test]
fn auto_falls_back_to_the_cpu_and_the_registry_names_the_device_used() {
    let ws = Workspace::new();
    let spec = spec_on(&ws, "auto");
    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", spec.to_str().unwrap(), "--json"])).unwrap();
    let device = report["device"].as_str().unwrap().to_owned();
    assert!(device == "cpu" || device.starts_with("cuda:"), "{device}");
    ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=1",
        "--quiet",
    ]);
    let recorded: Vec<String> = ws.query("SELECT device FROM runs");
    assert_eq!(recorded, vec![device]);
}

/// Without the `cuda` feature every GPU is refused, naming it and the build.
#[cfg(not(feature = "cuda"))]
mod without_cuda {
    use super::*;

    #[test]
    fn a_gpu_in_the_spec_names_the_device_and_the_build() {
        let ws = Workspace::new();
        let spec = spec_on(&ws, "cuda:3");
        let message = refused(&ws, &["run", spec.to_str().unwrap()]);
        assert!(ws.nothing_recorded(), "nothing is written");
        insta::assert_snapshot!(message);
    }

    #[test]
    fn a_gpu_on_the_command_line_names_the_device_and_the_build() {
        let ws = Workspace::new();
        ws.train(&["train.epochs=1"]);
        for command in ["infer", "evaluate"] {
            let input = diabetes_csv();
            let mut args = vec![command, "--device", "cuda:3"];
            match command {
                "infer" => args.extend(["--row", FIRST_ROW]),
                _ => args.extend(["--input", input.to_str().unwrap()]),
            }
            let message = refused(&ws, &args);
            assert!(
                message.contains(
                    "device `cuda:3` is not available: this binary was built without the `cuda` feature"
                ),
                "{command}: {message}"
            );
        }
        insta::assert_snapshot!(refused(
            &ws,
            &["infer", "--row", FIRST_ROW, "--device", "cuda"]
        ));
    }
}
