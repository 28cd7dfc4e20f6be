//! How the `[data]` section treats each feature column: its type, what a
//! missing value becomes, how categories are encoded and what an unseen
//! category does. These are values (enums), read strictly: a misspelt one
//! is an error with a did-you-mean, like every other key. A column's own
//! `[data.columns.NAME]` settings are checked against its declared type
//! here, and resolved against the `[data]` defaults
//! ([`DataSpec::column_options`]).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::data::DataSpec;
use crate::raw::{self, Normalize};
use crate::validate::{Checked, Validator};

/// `[data.types] COLUMN = "float" | "categorical"`: overrides the type read
/// from the file (a zip code stored as a number is a category; a number
/// stored as text is a float).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Float,
    Categorical,
}

/// What an empty cell becomes: `"error"`, `"drop"` (the row, before the
/// split), `"mean"`, `"median"`, `"mode"` (fitted on the training split) or
/// `{ constant = 0.0 }` (`{ constant = "unknown" }` for a category).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Error,
    Drop,
    Mean,
    Median,
    Mode,
    Constant(FillValue),
}

/// A constant that fills empty cells: a number, or a category's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FillValue {
    Number(f64),
    Text(String),
}

impl fmt::Display for FillValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FillValue::Number(n) => write!(f, "{n}"),
            FillValue::Text(t) => write!(f, "{t:?}"),
        }
    }
}

impl Missing {
    /// The names a string value may take (for messages).
    pub const NAMES: [&'static str; 5] = ["error", "drop", "mean", "median", "mode"];

    pub fn as_str(&self) -> &'static str {
        match self {
            Missing::Error => "error",
            Missing::Drop => "drop",
            Missing::Mean => "mean",
            Missing::Median => "median",
            Missing::Mode => "mode",
            Missing::Constant(_) => "constant",
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Constant(value) => write!(f, "{{ constant = {value} }}"),
            other => write!(f, "\"{}\"", other.as_str()),
        }
    }
}

/// The schema of what [`Missing`]'s hand-written `Deserialize` accepts.
impl schemars::JsonSchema for Missing {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Missing".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let fill = generator.subschema_for::<FillValue>();
        schemars::json_schema!({
            "description": "What an empty cell becomes: an error, a dropped row, a fill fitted on the training split, or a constant.",
            "oneOf": [
                { "type": "string", "enum": Missing::NAMES },
                {
                    "type": "object",
                    "properties": { "constant": fill },
                    "required": ["constant"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Missing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MissingVisitor;

        impl<'de> Visitor<'de> for MissingVisitor {
            type Value = Missing;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"error\", \"drop\", \"mean\", \"median\", \"mode\" or { constant = VALUE }",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Missing, E> {
                match value {
                    "error" => Ok(Missing::Error),
                    "drop" => Ok(Missing::Drop),
                    "mean" => Ok(Missing::Mean),
                    "median" => Ok(Missing::Median),
                    "mode" => Ok(Missing::Mode),
                    other => Err(E::unknown_variant(other, &Missing::NAMES)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Missing, A::Error> {
                let mut constant = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "constant" {
                        return Err(de::Error::unknown_field(&key, &["constant"]));
                    }
                    if constant.is_some() {
                        return Err(de::Error::duplicate_field("constant"));
                    }
                    constant = Some(map.next_value::<FillValue>()?);
                }
                constant
                    .map(Missing::Constant)
                    .ok_or_else(|| de::Error::missing_field("constant"))
            }
        }

        deserializer.deserialize_any(MissingVisitor)
    }
}

/// How a categorical column becomes model inputs: one 0/1 input per
/// category (`color=red`, …), or one input holding the category's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encode {
    Onehot,
    Ordinal,
}

/// A category the training split did not have: an error naming the column
/// and row, or ignored (all-zero one-hot inputs; the reserved ordinal index
/// just past the known categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCategory {
    Error,
    Ignore,
}

/// `[data.columns.NAME]`: per-column settings over the `[data]` defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColumnOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<crate::Normalize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encode: Option<Encode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<UnknownCategory>,
}

/// Shell-style pattern match for column names: `*` is any run of
/// characters, `?` one character; everything else is literal.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == n[ni])) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((star_p, star_n)) = star {
            pi = star_p + 1;
            ni = star_n + 1;
            star = Some((star_p, star_n + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// True when `entry` of `features`/`exclude` is a pattern rather than a name.
pub fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?'])
}

impl DataSpec {
    /// The settings of `column`, with the `[data]` defaults filled in.
    pub fn column_options(&self, column: &str) -> ResolvedColumnOptions {
        let own = self.columns.get(column);
        ResolvedColumnOptions {
            missing: own
                .and_then(|o| o.missing.clone())
                .unwrap_or_else(|| self.missing.clone()),
            missing_is_own: own.is_some_and(|o| o.missing.is_some()),
            normalize: own.and_then(|o| o.normalize).unwrap_or(self.normalize),
            normalize_is_own: own.is_some_and(|o| o.normalize.is_some()),
            encode: own.and_then(|o| o.encode).unwrap_or(self.encode),
            unknown: own.and_then(|o| o.unknown).unwrap_or(self.unknown),
            declared_type: self.types.get(column).copied(),
        }
    }
}

/// One column's settings after the `[data]` defaults are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedColumnOptions {
    pub missing: Missing,
    /// `missing` was set in `[data.columns.NAME]` (not inherited).
    pub missing_is_own: bool,
    pub normalize: Normalize,
    /// `normalize` was set in `[data.columns.NAME]` (not inherited).
    pub normalize_is_own: bool,
    pub encode: Encode,
    pub unknown: UnknownCategory,
    /// From `[data.types]`; `None`: the file's type decides.
    pub declared_type: Option<ColumnType>,
}

impl Validator<'_> {
    pub(crate) fn missing(&self, value: Spanned<Missing>, key: &str) -> Checked<Missing> {
        let span = value.span();
        let value = value.into_inner();
        if let Missing::Constant(FillValue::Number(n)) = value
            && !n.is_finite()
        {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` constant must be a finite number; got {n}"),
                None,
            ));
        }
        Ok(value)
    }

    /// `[data.columns.NAME]`: settings that contradict the column's declared
    /// type are rejected here; those that depend on the file's type are
    /// checked when the data is read.
    pub(crate) fn column_options(
        &self,
        raw: raw::RawColumn,
        key: &str,
        declared: Option<&ColumnType>,
    ) -> Checked<ColumnOptions> {
        let missing_span = raw.missing.as_ref().map_or(0..0, Spanned::span);
        let missing = match raw.missing {
            None => None,
            Some(m) => Some(self.missing(m, &format!("{key}.missing"))?),
        };
        match declared {
            Some(ColumnType::Float) => {
                for (field, span) in [
                    ("encode", raw.encode.as_ref().map(Spanned::span)),
                    ("unknown", raw.unknown.as_ref().map(Spanned::span)),
                ] {
                    if let Some(span) = span {
                        return Err(self.fail(
                            span,
                            &format!("{key}.{field}"),
                            format!("`{field}` applies to categorical columns; `data.types` declares this one \"float\""),
                            Some("remove it, or declare the column \"categorical\""),
                        ));
                    }
                }
            }
            Some(ColumnType::Categorical) => {
                if let Some(m @ (Missing::Mean | Missing::Median)) = &missing {
                    return Err(self.fail(
                        missing_span,
                        &format!("{key}.missing"),
                        format!("`missing = {m}` needs numbers; `data.types` declares this column \"categorical\""),
                        Some("use \"mode\" (the most frequent training category), { constant = \"…\" }, \"drop\" or \"error\""),
                    ));
                }
            }
            None => {}
        }
        Ok(ColumnOptions {
            missing,
            normalize: raw.normalize.map(Spanned::into_inner),
            encode: raw.encode.map(Spanned::into_inner),
            unknown: raw.unknown.map(Spanned::into_inner),
        })
    }
}

impl Normalize {
    pub fn as_str(self) -> &'static str {
        match self {
            Normalize::Zscore => "zscore",
            Normalize::Minmax => "minmax",
            Normalize::Robust => "robust",
            Normalize::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_matches("p*", "p1"));
        assert!(glob_matches("p*", "p"));
        assert!(!glob_matches("p*", "age"));
        assert!(glob_matches("*_id", "user_id"));
        assert!(glob_matches("s?", "s6"));
        assert!(!glob_matches("s?", "s10"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("bmi", "bmi"));
        assert!(!glob_matches("bmi", "bmi2"));
    }
}
