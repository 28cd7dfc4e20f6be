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
