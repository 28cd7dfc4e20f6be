//! `pipeline completions SHELL` and `pipeline man` (issue 21, item 14):
//! generated from the clap types, so they name every command and flag.

use crate::common::{Workspace, stderr};

#[test]
fn bash_completion_knows_the_commands_and_global_flags() {
    let ws = Workspace::new();
    let script = ws.ok(&["completions", "bash"]);
    assert!(script.contains("_pipeline()"), "{script}");
    assert!(script.contains("compare"), "{script}");
    assert!(script.contains("--registry"), "{script}");
    assert!(script.contains("--color"), "{script}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = ws.ok(&["completions", shell]);
        assert!(script.contains("compare"), "{shell}: {script}");
    }
    let out = ws.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'tcsh'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_man_page_is_roff_naming_the_commands() {
    let ws = Workspace::new();
    let page = ws.ok(&["man"]);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH pipeline 1"), "{page}");
    for command in ["run", "runs", "compare", "infer", "completions", "man"] {
        assert!(
            page.contains(&format!("pipeline\\-{command}(1)")),
            "{command}: {page}"
        );
    }

    let dir = ws.path().join("man");
    ws.ok(&["man", "--dir", dir.to_str().unwrap()]);
    let compare = std::fs::read_to_string(dir.join("pipeline-compare.1")).unwrap();
    assert!(compare.contains(".TH pipeline-compare 1"), "{compare}");
    assert!(compare.contains("\\-\\-json"), "{compare}");
    assert!(dir.join("pipeline-alias-set.1").exists());
    assert!(dir.join("pipeline.1").exists());
}
