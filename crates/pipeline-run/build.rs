//! Records the git commit the library is built from (`PIPELINE_GIT_COMMIT`),
//! with `-dirty` when tracked files had changes, or "unknown" outside a git
//! checkout (a source archive, a copied tree). Stored in every run's receipt.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).filter(|c| !c.is_empty());
    let value = match commit {
        Some(commit) => {
            // `--no-optional-locks`: a plain `git status` refreshes the index,
            // which this script watches, so every build reran it (and rebuilt
            // the crates above, 2 minutes of CI's second test pass).
            let dirty = git(&[
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ])
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=PIPELINE_GIT_COMMIT={value}");
    // Rerun when HEAD moves, the index changes or a source file changes;
    // only paths that exist (a missing one would rerun every build).
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = Path::new(&git_dir);
        for name in ["HEAD", "index"] {
            let path = git_dir.join(name);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let path = git_dir.join(reference);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    for path in ["../../crates", "../../Cargo.toml", "../../Cargo.lock"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
