//! Issue 18, "Never lose a user's data": inputs that crashed or misled now
//! fail with exit code 2 (1 for a run that diverged) and a message that
//! names what was wrong and what to do.

use crate::common::{Workspace, scrub, stderr};

/// Runs `args`, expects exit code `code`; returns scrubbed stderr.
fn fails(ws: &Workspace, args: &[&str], code: i32) -> String {
    let out = ws.run(args);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{}", stderr(&out));
    scrub(&stderr(&out), ws)
}

/// 10,000 nested parentheses overflowed the stack (exit 134), and an `or`
/// chain of 1,000 terms reached SQLite ("Expression tree is too large").
#[test]
fn where_expressions_are_limited_in_depth_and_size() {
    let ws = Workspace::new();
    let deep = format!("{}epochs > 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let message = fails(&ws, &["runs", "--where", &deep], 2);
    assert!(
        message.contains("parentheses and `not` nest deeper than 32 levels"),
        "{message}"
    );
    let chain = |n: usize| vec!["val_loss < 1"; n].join(" or ");
    let message = fails(&ws, &["runs", "--where", &chain(1_000)], 2);
    assert!(
        message.contains("more than 100 comparisons in one expression"),
        "{message}"
    );
    assert!(!message.contains("Expression tree"), "{message}");
    // The longest allowed chain, and the deepest nesting, are valid SQL.
    ws.train(&["train.epochs=2"]);
    ws.ok(&["runs", "--where", &chain(100)]);
    let nested = format!("{}val_loss < 1{}", "(not ".repeat(32), ")".repeat(32));
    let message = fails(&ws, &["runs", "--where", &nested], 2);
    assert!(message.contains("nest deeper"), "{message}");
    let nested = format!("{}val_loss < 1{}", "(not ".repeat(16), ")".repeat(16));
    ws.ok(&["runs", "--where", &nested]);
}
