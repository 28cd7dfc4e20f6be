//! Colour, decided once at start from `--color` (auto: the stream is a
//! terminal, `NO_COLOR` unset; `CLICOLOR_FORCE` forces it), separately for
//! stdout and stderr, so `pipeline runs | less` carries no escape codes
//! while progress on the terminal keeps its colour. A few semantic styles
//! (a run's status, the best marker, `warning:` / `error:` / `hint:`) are all the commands use; JSON is never passed through here.
//! Tables are styled by comfy-table after its layout
//! ([`status_cells`]), so escape codes never shift a column.

use std::sync::OnceLock;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

use crate::cli::ColorWhen;

/// Whether each stream gets colour.
#[derive(Debug, Clone, Copy, Default)]
struct Streams {
    stdout: bool,
    stderr: bool,
}

static STREAMS: OnceLock<Streams> = OnceLock::new();

/// Decides colour for the whole process; call once, before any output.
pub fn init(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => ColorChoice::Auto,
        ColorWhen::Always => ColorChoice::AlwaysAnsi,
        ColorWhen::Never => ColorChoice::Never,
    };
    choice.write_global();
    let on = |choice: ColorChoice| choice != ColorChoice::Never;
    let streams = Streams {
        stdout: on(anstream::AutoStream::choice(&std::io::stdout())),
        stderr: on(anstream::AutoStream::choice(&std::io::stderr())),
    };
    // comfy-table styles through crossterm, which reads NO_COLOR itself:
    // our decision (say `--color always` under NO_COLOR) wins.
    crossterm::style::force_color_output(streams.stdout);
    // A second call (tests) keeps the first decision.
    let _ = STREAMS.set(streams);
}

fn streams() -> Streams {
    STREAMS.get().copied().unwrap_or_default()
}

/// Whether stderr gets colour (for libraries that colour themselves).
pub fn stderr_enabled() -> bool {
    streams().stderr
}

/// The meanings colour is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// completed
    Good,
    /// failed, crashed, `error:`
    Bad,
    /// killed, `warning:`
    Warn,
    /// running, queued
    Busy,
    /// the best epoch or run
    Best,
    /// `hint:`
    Hint,
}

impl Paint {
    fn style(self) -> Style {
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Paint::Good => fg(AnsiColor::Green),
            Paint::Bad => fg(AnsiColor::Red).bold(),
            Paint::Warn => fg(AnsiColor::Yellow).bold(),
            Paint::Busy => fg(AnsiColor::Cyan),
            Paint::Best => fg(AnsiColor::Green).bold(),
            Paint::Hint => fg(AnsiColor::Cyan).bold(),
        }
    }

    fn cell_color(self) -> comfy_table::Color {
        match self {
            Paint::Good | Paint::Best => comfy_table::Color::Green,
            Paint::Bad => comfy_table::Color::Red,
            Paint::Warn => comfy_table::Color::Yellow,
            Paint::Busy | Paint::Hint => comfy_table::Color::Cyan,
        }
    }
}

/// The paint of a run status as `RunStatus` displays it.
pub fn status_paint(status: &str) -> Option<Paint> {
    match status {
        "completed" => Some(Paint::Good),
        "failed" | "crashed" => Some(Paint::Bad),
        "killed" | "pruned" => Some(Paint::Warn),
        "running" | "queued" => Some(Paint::Busy),
        _ => None,
    }
}

fn paint(enabled: bool, paint: Paint, text: &str) -> String {
    if enabled {
        let style = paint.style();
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// `text` painted for stdout (unchanged when stdout gets no colour).
pub fn out(how: Paint, text: &str) -> String {
    paint(streams().stdout, how, text)
}

/// `text` painted for stderr (unchanged when stderr gets no colour).
pub fn err(how: Paint, text: &str) -> String {
    paint(streams().stderr, how, text)
}

/// A run status for stdout, in its colour.
pub fn status(status: impl std::fmt::Display) -> String {
    let text = status.to_string();
    match status_paint(&text) {
        Some(how) => out(how, &text),
        None => text,
    }
}

/// A run status for stderr (progress lines), in its colour.
pub fn status_err(status: impl std::fmt::Display) -> String {
    let text = status.to_string();
    match status_paint(&text) {
        Some(how) => err(how, &text),
        None => text,
    }
}

/// `warning:` for stderr.
pub fn warning() -> String {
    err(Paint::Warn, "warning:")
}

/// `error:` for stderr.
pub fn error() -> String {
    err(Paint::Bad, "error:")
}

/// `hint:` for stderr.
pub fn hint() -> String {
    err(Paint::Hint, "hint:")
}

/// Colours the `warning:`, `error:` and `hint:` words (also `warning
/// (from …):`) that open a line of `text`, a message built elsewhere, for
/// stderr.
pub fn prefixes(text: &str) -> String {
    let enabled = streams().stderr;
    if !enabled {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .map(|line| prefix_line(line, enabled))
        .collect()
}

fn prefix_line(line: &str, enabled: bool) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    for (word, how) in [
        ("warning", Paint::Warn),
        ("error", Paint::Bad),
        ("hint", Paint::Hint),
    ] {
        let Some(rest) = body.strip_prefix(word) else {
            continue;
        };
        if !(rest.starts_with(':') || rest.starts_with(" (")) {
            continue;
        }
        if let Some(colon) = rest.find(':') {
            let (head, tail) = body.split_at(word.len() + colon + 1);
            return format!("{indent}{}{tail}", paint(enabled, how, head));
        }
    }
    line.to_owned()
}

/// Styles the cells of `column` that hold a run status (after the rows
/// are added), and turns the table's styling on or off with stdout's
/// colour: comfy-table measures the plain text, then paints.
pub fn status_cells(table: &mut comfy_table::Table, column: usize) {
    style_cells(table, column, status_paint);
}

/// Styles the cells of `column` that `paint_of` gives a paint.
pub fn style_cells(
    table: &mut comfy_table::Table,
    column: usize,
    paint_of: impl Fn(&str) -> Option<Paint>,
) {
    if !streams().stdout {
        table.force_no_tty();
        return;
    }
    table.enforce_styling();
    table.style_text_only();
    for row in table.row_iter_mut() {
        let cells: Vec<comfy_table::Cell> = row
            .cell_iter()
            .enumerate()
            .map(|(i, cell)| {
                let color = (i == column)
                    .then(|| paint_of(&cell.content()))
                    .flatten()
                    .map(Paint::cell_color);
                match color {
                    Some(color) => cell.clone().fg(color),
                    None => cell.clone(),
                }
            })
            .collect();
        *row = comfy_table::Row::from(cells);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_passes_unchanged_without_colour() {
        assert_eq!(paint(false, Paint::Bad, "failed"), "failed");
        let painted = paint(true, Paint::Bad, "failed");
        assert!(painted.starts_with("\u{1b}["), "{painted:?}");
        assert!(painted.contains("failed"), "{painted:?}");
        assert!(painted.ends_with("\u{1b}[0m"), "{painted:?}");
    }

    #[test]
    fn prefixes_are_painted_at_line_starts_only() {
        let red = paint(true, Paint::Bad, "error:");
        assert_eq!(prefix_line("error: x", true), format!("{red} x"));
        let hint = paint(true, Paint::Hint, "hint:");
        assert_eq!(prefix_line("  hint: y\n", true), format!("  {hint} y\n"));
        let from = paint(true, Paint::Warn, "warning (b.toml):");
        assert_eq!(
            prefix_line("warning (b.toml): z", true),
            format!("{from} z")
        );
        assert_eq!(prefix_line("warnings: no", true), "warnings: no");
        assert_eq!(prefix_line("the hint: no", true), "the hint: no");
        assert_eq!(prefix_line("error: x", false), "error: x");
    }

    #[test]
    fn statuses_have_their_paint() {
        assert_eq!(status_paint("completed"), Some(Paint::Good));
        assert_eq!(status_paint("crashed"), Some(Paint::Bad));
        assert_eq!(status_paint("killed"), Some(Paint::Warn));
        assert_eq!(status_paint("running"), Some(Paint::Busy));
        assert_eq!(status_paint("mnist"), None);
    }
}
