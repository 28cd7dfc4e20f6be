//! `--set key=value` overrides, applied to the parsed TOML before validation
//! so that an override is checked exactly like a value written in the file.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::SpecError;
use crate::path::path_segments;

/// One `--set key=value`. The value is read as TOML (`5`, `1e-3`, `true`,
/// `"text"`, `[1, 2]`); anything that is not valid TOML is taken as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub key: Vec<String>,
    pub value: toml::Value,
    raw: String,
}

impl FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not KEY=VALUE (for example train.epochs=5)"))?;
        // `model.layers[0].units` and `model.layers.0.units` name one key.
        let key = path_segments(key)?;
        let value = value.trim();
        let parsed = match toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
        {
            Some(parsed) => parsed,
            // A whole number TOML cannot hold is a number too large, as it is
            // in a spec file, not the text of one.
            None if is_whole_number(value) => {
                return Err(format!(
                    "`{s}`: {value} is larger than any whole number a spec holds (at most {}); \
                     for text, quote it: {}=\"{value}\"",
                    i64::MAX,
                    key.join(".")
                ));
            }
            None => toml::Value::String(value.to_string()),
        };
        Ok(Override {
            key,
            value: parsed,
            raw: s.to_string(),
        })
    }
}

/// `123`, `-5`, `+1_000`: digits with an optional sign and TOML's separators.
fn is_whole_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Sets each override's key in `table`, creating missing tables on the way.
/// A numeric segment indexes into an array (`model.layers.0.units=32`).
pub(crate) fn apply_overrides(
    file: &Path,
    table: &mut toml::Table,
    overrides: &[Override],
) -> Result<(), SpecError> {
    for o in overrides {
        set(table, &o.key, o.value.clone()).map_err(|message| {
            SpecError::overriding(file.into(), format!("--set {o}: {message}"), None)
        })?;
    }
    Ok(())
}

pub(crate) fn set(
    table: &mut toml::Table,
    key: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let Some((last, parents)) = key.split_last() else {
        return Err("empty key".into());
    };
    let mut node = TableOrArray::Table(table);
    for (depth, segment) in parents.iter().enumerate() {
        let path = key[..=depth].join(".");
        node = match node {
            TableOrArray::Table(t) => {
                let entry = t
                    .entry(segment.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                TableOrArray::from_value(entry, &path)?
            }
            TableOrArray::Array(a) => {
                let entry = index(a, segment, &path)?;
                TableOrArray::from_value(entry, &path)?
            }
        };
    }
    match node {
        TableOrArray::Table(t) => {
            t.insert(last.clone(), value);
        }
        TableOrArray::Array(a) => {
            *index(a, last, &key.join("."))? = value;
        }
    }
    Ok(())
}

enum TableOrArray<'a> {
    Table(&'a mut toml::Table),
    Array(&'a mut Vec<toml::Value>),
}

impl<'a> TableOrArray<'a> {
    fn from_value(value: &'a mut toml::Value, path: &str) -> Result<Self, String> {
        match value {
            toml::Value::Table(t) => Ok(TableOrArray::Table(t)),
            toml::Value::Array(a) => Ok(TableOrArray::Array(a)),
            other => Err(format!("`{path}` is a {}, not a table", other.type_str())),
        }
    }
}

fn index<'a>(
    array: &'a mut [toml::Value],
    segment: &str,
    path: &str,
) -> Result<&'a mut toml::Value, String> {
    let len = array.len();
    let i: usize = segment
        .parse()
        .map_err(|_| format!("`{path}`: `{segment}` is not an index into a list"))?;
    array
        .get_mut(i)
        .ok_or_else(|| format!("`{path}`: index {i} is past the end of a list of {len}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_as_toml() {
        let o: Override = "train.epochs=5"
            .parse()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(o.key, ["train", "epochs"]);
        assert_eq!(o.value, toml::Value::Integer(5));
        let o: Override = "optimizer.type=sgd"
            .parse()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(o.value, toml::Value::String("sgd".into()));
        assert!("nokey".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
        // Issue 21: brackets index a list as a dotted segment does.
        let o: Override = "model.layers[2].rate=0.5"
            .parse()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(o.key, ["model", "layers", "2", "rate"]);
        assert!("model.layers[two].rate=0.5".parse::<Override>().is_err());
        // A whole number beyond i64 is a number too large, not text (issue 18).
        let Err(error) = "model.layers.0.units=99999999999999999999".parse::<Override>() else {
            unreachable!("a number beyond i64 was accepted")
        };
        assert!(
            error.contains("99999999999999999999 is larger than any whole number"),
            "{error}"
        );
        let o: Override = "name=123abc"
            .parse()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(o.value, toml::Value::String("123abc".into()));
    }

    #[test]
    fn sets_nested_and_indexed_keys() {
        let mut t: toml::Table =
            toml::from_str("[model]\nlayers = [{ type = \"linear\", units = 3 }]\n")
                .unwrap_or_else(|e| unreachable!("{e}"));
        set(
            &mut t,
            &["model".into(), "layers".into(), "0".into(), "units".into()],
            7.into(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        set(&mut t, &["train".into(), "epochs".into()], 2.into())
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(t["model"]["layers"][0]["units"].as_integer(), Some(7));
        assert_eq!(t["train"]["epochs"].as_integer(), Some(2));
        assert!(
            set(
                &mut t,
                &["model".into(), "layers".into(), "5".into(), "units".into()],
                1.into()
            )
            .is_err()
        );
    }
}
