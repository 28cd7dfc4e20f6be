//! Help texts are part of the interface: snapshot them.

use crate::common::Workspace;

#[test]
fn top_level_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["--help"]));
}

#[test]
fn run_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["run", "--help"]));
}

#[test]
fn infer_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["infer", "--help"]));
}

#[test]
fn resume_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["resume", "--help"]));
}

#[test]
fn gc_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["gc", "--help"]));
}

#[test]
fn rm_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["rm", "--help"]));
}

#[test]
fn archive_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["archive", "--help"]));
}

#[test]
fn sweeps_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["sweeps", "--help"]));
}

#[test]
fn sweep_show_help() {
    insta::assert_snapshot!(Workspace::new().ok(&["sweep", "show", "--help"]));
}

#[test]
fn sweep_resume_retry_and_confirm_help() {
    let workspace = Workspace::new();
    insta::assert_snapshot!(
        "sweep_resume_help",
        workspace.ok(&["sweep", "resume", "--help"])
    );
    insta::assert_snapshot!(
        "sweep_retry_help",
        workspace.ok(&["sweep", "retry", "--help"])
    );
    insta::assert_snapshot!(
        "sweep_confirm_help",
        workspace.ok(&["sweep", "confirm", "--help"])
    );
}
