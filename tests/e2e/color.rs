//! `--color auto|always|never` (issue 21, item 13): escape codes only when
//! asked for or on a terminal without NO_COLOR; never in JSON; an unknown
//! value is refused. The tests' stdout is a pipe, so `auto` means none.

use crate::common::{Workspace, stderr};

const ESCAPE: char = '\u{1b}';

/// `pipeline ARGS` with NO_COLOR as given (the workspace sets it).
fn run(ws: &Workspace, no_color: bool, args: &[&str]) -> std::process::Output {
    let mut cmd = ws.cmd();
    if !no_color {
        cmd.env_remove("NO_COLOR");
    }
    cmd.env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
    cmd.args(args).output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn always_colours_the_status_and_keeps_the_columns() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let plain = stdout(&run(&ws, false, &["runs", "--color", "never"]));
    assert!(!plain.contains(ESCAPE), "{plain}");
    let coloured = stdout(&run(&ws, false, &["runs", "--color", "always"]));
    assert!(coloured.contains(ESCAPE), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}[38;5;10mcompleted") || coloured.contains("completed\u{1b}["),
        "{coloured:?}"
    );
    // Without its escape codes the table is the plain one, column for column.
    assert_eq!(strip(&coloured), plain);
    // --color always wins over NO_COLOR.
    let forced = stdout(&run(&ws, true, &["runs", "--color", "always"]));
    assert!(forced.contains(ESCAPE), "{forced:?}");
    // JSON never carries colour.
    let json = stdout(&run(&ws, false, &["runs", "--json", "--color", "always"]));
    assert!(!json.contains(ESCAPE), "{json}");
    serde_json::from_str::<serde_json::Value>(&json).unwrap();
    // show's status too.
    let show = stdout(&run(&ws, false, &["show", "latest", "--color", "always"]));
    assert!(show.contains(ESCAPE), "{show:?}");
}

#[test]
fn auto_is_plain_when_piped_or_under_no_color() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    for (no_color, args) in [
        (true, &["runs", "--color", "auto"][..]),
        (false, &["runs"][..]),
        (false, &["runs", "--color", "never"][..]),
    ] {
        let out = run(&ws, no_color, args);
        let text = stdout(&out);
        assert!(!text.contains(ESCAPE), "{args:?}: {text:?}");
        assert!(!stderr(&out).contains(ESCAPE), "{args:?}: {}", stderr(&out));
    }
    // CLICOLOR_FORCE forces colour under auto.
    let mut cmd = ws.cmd();
    cmd.env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1");
    let forced = stdout(&cmd.args(["runs"]).output().unwrap());
    assert!(forced.contains(ESCAPE), "{forced:?}");
}

#[test]
fn errors_colour_their_prefixes_only_when_asked() {
    let ws = Workspace::new();
    let out = run(&ws, false, &["show", "nosuchrun", "--color", "always"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains(ESCAPE), "{message:?}");
    assert!(strip(&message).starts_with("error: "), "{message:?}");
    let out = run(&ws, false, &["show", "nosuchrun", "--color", "never"]);
    assert!(!stderr(&out).contains(ESCAPE), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn an_unknown_colour_choice_is_refused() {
    let ws = Workspace::new();
    let out = run(&ws, true, &["runs", "--color", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("invalid value 'sometimes'"), "{message}");
    assert!(message.contains("always"), "{message}");
}

/// `text` without its ANSI escape sequences (`ESC [ ... letter`).
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == ESCAPE {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
