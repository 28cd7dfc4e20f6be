//! The README's tour, run as written (issue 21, item 15): every command of
//! the README's ` ```console ` blocks, in order, on a copy of `experiments/`
//! in a temporary folder with its own registry, so that the tour works on a
//! fresh clone.
//!
//! How the README is read:
//! - a line of a ` ```console ` block that starts with `$ ` is a command
//!   (a trailing `\` continues it on the next line); the other lines are the
//!   output the README shows, for the reader, not compared whole (tables and
//!   numbers change);
//! - `<!-- tour: expect "TEXT" "TEXT" -->` after a block: the last command's
//!   stdout and stderr together contain each TEXT;
//! - `<!-- tour: exit N -->` after a block: its last command exits N (else 0);
//! - `<!-- tour: pending WHY -->` before a block: its commands need a change
//!   not merged yet (WHY says which); they are listed, not run. Remove the
//!   marker once the change is in.
//!
//! Commands run under `bash -o pipefail -c` from the temporary folder, with
//! `pipeline` (the binary under test) and a `just` stand-in (`just run …`
//! and `just pipeline …` call the binary; no cargo) first on `PATH`. The
//! stand-in for `pipeline` adds `--set train.epochs=N` to every `run` so
//! that the tour stays under a minute on two cores; outputs are therefore
//! not the README's numbers, which the test never compares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Workspace, repo_root};

/// Epochs each `run` is cut to (the shipped specs train 30–500).
const TOUR_EPOCHS: u32 = 3;

/// Fewer commands than this means the markers were lost, not that the tour
/// got shorter.
const MIN_COMMANDS: usize = 15;

#[derive(Debug, Default)]
struct Block {
    commands: Vec<String>,
    expect: Vec<String>,
    exit: i32,
    pending: Option<String>,
    line: usize,
}

/// The tour's blocks, in the README's order.
fn parse(readme: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut pending: Option<String> = None;
    let mut in_block: Option<Block> = None;
    let mut continued = false;
    for (index, line) in readme.lines().enumerate() {
        if let Some(block) = in_block.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(in_block.take().unwrap());
                continue;
            }
            if continued {
                let last = block.commands.last_mut().unwrap();
                last.push('\n');
                last.push_str(line);
                continued = line.ends_with('\\');
            } else if let Some(command) = line.strip_prefix("$ ") {
                block.commands.push(command.to_string());
                continued = line.ends_with('\\');
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed == "```console" {
            in_block = Some(Block {
                pending: pending.take(),
                line: index + 1,
                ..Block::default()
            });
        } else if let Some(directive) = trimmed
            .strip_prefix("<!-- tour:")
            .and_then(|rest| rest.strip_suffix("-->"))
        {
            let directive = directive.trim();
            if let Some(why) = directive.strip_prefix("pending") {
                pending = Some(why.trim().to_string());
            } else if let Some(texts) = directive.strip_prefix("expect") {
                let block = blocks.last_mut().expect("`tour: expect` follows a block");
                block.expect.extend(quoted(texts));
            } else if let Some(code) = directive.strip_prefix("exit") {
                let block = blocks.last_mut().expect("`tour: exit` follows a block");
                block.exit = code.trim().parse().expect("`tour: exit N`");
            } else {
                panic!(
                    "README.md:{}: unknown tour directive {directive:?}",
                    index + 1
                );
            }
        } else if !trimmed.is_empty() && pending.is_some() {
            panic!(
                "README.md:{}: `tour: pending` must come right before a ```console block",
                index + 1
            );
        }
    }
    assert!(
        in_block.is_none(),
        "README.md: a ```console block is not closed"
    );
    blocks
}

/// The `"…"` strings of a directive.
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `bin/pipeline` (the binary, runs shortened) and `bin/just` (its recipes
/// `run` and `pipeline`) in `dir`.
fn stand_ins(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let binary = env!("CARGO_BIN_EXE_pipeline");
    write_script(
        &bin.join("pipeline"),
        &format!(
            "#!/usr/bin/env bash\n\
             case \"$1\" in\n\
             run) exec {binary:?} \"$@\" --set train.epochs={TOUR_EPOCHS} ;;\n\
             *) exec {binary:?} \"$@\" ;;\n\
             esac\n"
        ),
    );
    write_script(
        &bin.join("just"),
        "#!/usr/bin/env bash\n\
         case \"$1\" in\n\
         run) shift; exec pipeline run \"$@\" ;;\n\
         pipeline) shift; exec pipeline \"$@\" ;;\n\
         *) echo \"tour: no stand-in for just $1\" >&2; exit 127 ;;\n\
         esac\n",
    );
    bin
}

#[test]
fn readme_parses_into_a_tour() {
    let blocks = parse(
        "intro\n\n```console\n$ just run a.toml\nrun 1\n$ pipeline runs \\\n  --json\n```\n\
         <!-- tour: expect \"id\" \"status\" -->\n<!-- tour: exit 2 -->\n\n\
         <!-- tour: pending names -->\n```console\n$ pipeline run --name x\n```\n",
    );
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[0].commands,
        ["just run a.toml", "pipeline runs \\\n  --json"]
    );
    assert_eq!(blocks[0].expect, ["id", "status"]);
    assert_eq!(blocks[0].exit, 2);
    assert_eq!(blocks[0].pending, None);
    assert_eq!(blocks[1].pending.as_deref(), Some("names"));
}

#[test]
fn readme_tour_runs_in_order() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = parse(&readme);
    let commands: usize = blocks.iter().map(|b| b.commands.len()).sum();
    assert!(
        commands >= MIN_COMMANDS,
        "README.md has {commands} tour commands (```console, `$ `); expected at least {MIN_COMMANDS}"
    );

    // A workspace for its registry (a file in it, or a database of its own).
    let dir = Workspace::new();
    copy_dir(&root.join("experiments"), &dir.path().join("experiments"));
    let bin = stand_ins(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let started = Instant::now();
    let mut skipped = Vec::new();
    for block in &blocks {
        if let Some(why) = &block.pending {
            skipped.extend(block.commands.iter().map(|c| format!("{c}  ({why})")));
            continue;
        }
        for (i, command) in block.commands.iter().enumerate() {
            let last = i + 1 == block.commands.len();
            let out = Command::new("bash")
                .args(["-o", "pipefail", "-c", command])
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("PIPELINE_REGISTRY", dir.registry_url())
                .env("NO_COLOR", "1")
                .env("COLUMNS", "100")
                .env_remove("RUST_LOG")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code().unwrap_or(-1);
            let expected = if last { block.exit } else { 0 };
            assert_eq!(
                code, expected,
                "README.md block at line {}: `{command}` exited {code}, expected {expected}\n\
                 stdout:\n{stdout}\nstderr:\n{stderr}",
                block.line
            );
            if last {
                for text in &block.expect {
                    assert!(
                        stdout.contains(text.as_str()) || stderr.contains(text.as_str()),
                        "README.md block at line {}: `{command}` did not print {text:?}\n\
                         stdout:\n{stdout}\nstderr:\n{stderr}",
                        block.line
                    );
                }
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "tour: {} commands in {:.1} s; pending, not run:\n  {}",
        commands - skipped.len(),
        elapsed.as_secs_f64(),
        skipped.join("\n  ")
    );
    assert!(
        elapsed < Duration::from_secs(300),
        "the tour took {elapsed:?}: keep its runs short"
    );
}
