//! Spec errors that name the file, line, column and key, show the line, and
//! give a hint (a did-you-mean for misspelt keys and values).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// What went wrong with a spec.
#[derive(Debug)]
pub enum SpecErrorKind {
    /// The file could not be read.
    Read(std::io::Error),
    /// The TOML is malformed, a key is unknown, or a value is out of range.
    Invalid,
    /// A `--set key=value` override is malformed or sets an invalid value.
    Override,
}

/// A rejected spec. Its `Display` is the full, multi-line diagnostic.
#[derive(Debug)]
pub struct SpecError {
    pub file: PathBuf,
    pub kind: SpecErrorKind,
    /// The dotted key the error is about, when known (`train.epochs`).
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    pub location: Option<Box<Location>>,
}

/// Where in the file the error is, with the offending line for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    pub line_text: String,
    pub width: usize,
}

impl Location {
    /// Computes 1-based line and column of a byte span in `text`.
    pub fn from_span(text: &str, span: Range<usize>) -> Location {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end);
        let width = text[start..end].chars().count().max(1);
        Location {
            line,
            column,
            line_text: text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            width,
        }
    }
}

impl SpecError {
    pub(crate) fn read(file: PathBuf, source: std::io::Error) -> Self {
        SpecError {
            file,
            message: format!("cannot read the spec: {source}"),
            kind: SpecErrorKind::Read(source),
            key: None,
            hint: Some("check the path; specs live in experiments/".to_string()),
            location: None,
        }
    }

    pub(crate) fn invalid(
        file: PathBuf,
        text: &str,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: String,
        hint: Option<String>,
    ) -> Self {
        SpecError {
            file,
            kind: SpecErrorKind::Invalid,
            key,
            message,
            hint,
            location: span.map(|s| Box::new(Location::from_span(text, s))),
        }
    }

    pub(crate) fn overriding(file: PathBuf, message: String, hint: Option<String>) -> Self {
        SpecError {
            file,
            kind: SpecErrorKind::Override,
            key: None,
            message,
            hint,
            location: None,
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.location {
            Some(loc) => {
                writeln!(f, "{file}:{}:{}: {}", loc.line, loc.column, self.message)?;
                let gutter = loc.line.to_string().len();
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{} | {}", loc.line, loc.line_text)?;
                write!(
                    f,
                    "{:gutter$} | {:pad$}{}",
                    "",
                    "",
                    "^".repeat(loc.width),
                    pad = loc.column - 1
                )?;
            }
            None => write!(f, "{file}: {}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            SpecErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into our
/// wording, with a did-you-mean when one candidate is close.
pub(crate) fn explain_serde_message(message: &str) -> (String, Option<String>) {
    let message = message.trim();
    for (prefix, noun) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((got, tail)) = rest.split_once('`') else {
            continue;
        };
        let candidates = backticked(tail);
        let text = format!("unknown {noun} `{got}`");
        let hint = match closest(got, &candidates) {
            Some(best) => Some(format!("did you mean `{best}`?")),
            None if candidates.is_empty() => None,
            None => Some(format!("expected one of {}", quote_list(&candidates))),
        };
        return (text, hint);
    }
    // "invalid type: string \"abc\", expected i64": Rust's type names
    // mean nothing to a spec's writer.
    if let Some((got, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        let wanted = match expected {
            "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => {
                "a whole number"
            }
            "f32" | "f64" => "a number",
            "a boolean" => "true or false",
            other => other,
        };
        let hint = match wanted {
            "a whole number" | "a number" | "true or false" => Some(
                "give the value unquoted, e.g. `epochs = 50` in a spec, `--set train.epochs=50`"
                    .to_owned(),
            ),
            _ => None,
        };
        return (format!("expected {wanted}, got {got}"), hint);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split_once('`'))
    {
        return (
            format!("missing required key `{}`", field.0),
            Some(format!("add `{} = …` to this table", field.0)),
        );
    }
    (message.to_string(), None)
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

pub(crate) fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
        .or_else(|| {
            candidates
                .iter()
                .find(|c| c.starts_with(word) || word.starts_with(c.as_str()))
                .cloned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_one_based() {
        let text = "a = 1\nbcd = 2\n";
        let loc = Location::from_span(text, 6..9);
        assert_eq!((loc.line, loc.column, loc.width), (2, 1, 3));
        assert_eq!(loc.line_text, "bcd = 2");
    }

    #[test]
    fn unknown_field_gets_did_you_mean() {
        let (text, hint) = explain_serde_message(
            "unknown field `epoch`, expected one of `epochs`, `batch_size`, `device`",
        );
        assert_eq!(text, "unknown key `epoch`");
        assert_eq!(hint.as_deref(), Some("did you mean `epochs`?"));
    }

    #[test]
    fn rust_type_names_become_words() {
        let (text, hint) = explain_serde_message("invalid type: string \"abc\", expected i64");
        assert_eq!(text, "expected a whole number, got string \"abc\"");
        assert!(hint.is_some_and(|h| h.contains("unquoted")));
        let (text, _) = explain_serde_message("invalid type: string \"x\", expected f64");
        assert_eq!(text, "expected a number, got string \"x\"");
    }

    #[test]
    fn far_words_list_the_candidates() {
        let (_, hint) =
            explain_serde_message("unknown variant `xyz`, expected one of `sgd`, `adam`");
        assert_eq!(hint.as_deref(), Some("expected one of `sgd`, `adam`"));
    }
}
