//! Which columns are features: `data.features` (names or patterns),
//! minus `data.exclude`, never the target; and checks that `[data.types]`
//! and `[data.columns]` name features.

use std::path::Path;

use pipeline_spec::{DataSpec, glob_matches, is_glob};

use crate::error::DataError;

/// An error for a column that is not in the file, with a did-you-mean.
pub(crate) fn unknown_column(
    path: &Path,
    column: &str,
    role: &'static str,
    available: &[String],
) -> DataError {
    DataError::UnknownColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        role,
        suggestion: suggest(column, available.iter()),
        available: available.to_vec(),
    }
}

/// The candidate closest to `column` in spelling, if one is close enough.
pub(crate) fn suggest<'a>(
    column: &str,
    candidates: impl Iterator<Item = &'a String>,
) -> Option<String> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(column, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// The feature columns of `spec` among the file's columns `available`, in
/// the order `data.features` gives them (a pattern's matches in file order),
/// or in file order when it is absent.
pub(crate) fn select_features(
    spec: &DataSpec,
    path: &Path,
    available: &[String],
) -> Result<Vec<String>, DataError> {
    let candidates: Vec<&String> = available
        .iter()
        .filter(|c| !spec.target.contains(c) && spec.split_column.as_ref() != Some(*c))
        .collect();
    let mut features: Vec<String> = Vec::new();
    match &spec.features {
        None => features.extend(candidates.iter().map(|c| (*c).clone())),
        Some(list) => {
            for entry in list {
                let matched = matches(entry, &candidates);
                if matched.is_empty() {
                    return Err(no_match(spec, path, entry, "features", available));
                }
                for column in matched {
                    if !features.contains(column) {
                        features.push(column.clone());
                    }
                }
            }
        }
    }
    for entry in &spec.exclude {
        let all: Vec<&String> = available.iter().collect();
        let matched = matches(entry, &all);
        if matched.is_empty() {
            return Err(no_match(spec, path, entry, "exclude", available));
        }
        features.retain(|f| !matched.contains(&f));
    }
    if features.is_empty() {
        return Err(DataError::NoFeatures {
            path: path.to_path_buf(),
            target: spec.target.to_string(),
        });
    }
    for (section, names) in [
        ("types", spec.types.keys().collect::<Vec<_>>()),
        ("columns", spec.columns.keys().collect()),
    ] {
        for name in names {
            if !available.contains(name) {
                let role = if section == "types" {
                    "named in [data.types]"
                } else {
                    "named in [data.columns]"
                };
                return Err(unknown_column(path, name, role, available));
            }
            if !features.contains(name) {
                return Err(DataError::NotAFeature {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    section,
                });
            }
        }
    }
    Ok(features)
}

fn matches<'a>(entry: &str, columns: &[&'a String]) -> Vec<&'a String> {
    if is_glob(entry) {
        columns
            .iter()
            .filter(|c| glob_matches(entry, c))
            .copied()
            .collect()
    } else {
        columns.iter().filter(|c| **c == entry).copied().collect()
    }
}

fn no_match(
    spec: &DataSpec,
    path: &Path,
    entry: &str,
    key: &'static str,
    available: &[String],
) -> DataError {
    if is_glob(entry) {
        DataError::NoMatch {
            path: path.to_path_buf(),
            pattern: entry.to_string(),
            key,
            available: available.to_vec(),
        }
    } else if spec.target.contains(entry) {
        // Not reachable from a validated spec (it rejects the target by name).
        DataError::NoFeatures {
            path: path.to_path_buf(),
            target: spec.target.to_string(),
        }
    } else {
        let role = if key == "features" {
            "feature"
        } else {
            "in data.exclude"
        };
        unknown_column(path, entry, role, available)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use pipeline_spec::Spec;

    use super::*;

    fn data(extra: &str) -> DataSpec {
        let text = format!(
            "name = \"t\"\n[data]\npath = \"d.csv\"\ntarget = \"y\"\n{extra}\n[model]\nlayers = [{{ type = \"linear\", units = 1 }}]\n[loss]\ntype = \"mse\"\n[optimizer]\ntype = \"adam\"\nlearning_rate = 0.01\n"
        );
        Spec::parse(Path::new("s.toml"), &text, &[]).unwrap().data
    }

    fn columns() -> Vec<String> {
        ["id", "p1", "y", "age", "p2", "date"]
            .map(String::from)
            .to_vec()
    }

    fn select(extra: &str) -> Result<Vec<String>, DataError> {
        select_features(&data(extra), Path::new("d.csv"), &columns())
    }

    #[test]
    fn features_by_name_pattern_and_exclusion() {
        assert_eq!(select("").unwrap(), ["id", "p1", "age", "p2", "date"]);
        assert_eq!(select("features = [\"p*\"]").unwrap(), ["p1", "p2"]);
        assert_eq!(
            select("features = [\"age\", \"p?\", \"p1\"]").unwrap(),
            ["age", "p1", "p2"]
        );
        assert_eq!(
            select("exclude = [\"id\", \"date\"]").unwrap(),
            ["p1", "age", "p2"]
        );
        assert_eq!(
            select("features = [\"p*\", \"age\"]\nexclude = [\"p2\"]").unwrap(),
            ["p1", "age"]
        );
        // A pattern never picks the target.
        assert_eq!(
            select("features = [\"*\"]\nexclude = [\"id\", \"date\", \"p*\"]").unwrap(),
            ["age"]
        );
    }

    #[test]
    fn bad_selections_are_named() {
        let e = select("features = [\"q*\"]").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NoMatch {
                    key: "features",
                    ..
                }
            ),
            "{e}"
        );
        let e = select("exclude = [\"ids\"]").unwrap_err();
        assert!(e.to_string().contains("did you mean `id`?"), "{e}");
        let e = select("exclude = [\"*\"]").unwrap_err();
        assert!(matches!(e, DataError::NoFeatures { .. }), "{e}");
        let e = select("exclude = [\"id\"]\n[data.types]\nid = \"categorical\"").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NotAFeature {
                    section: "types",
                    ..
                }
            ),
            "{e}"
        );
        let e = select("[data.columns.agee]\nmissing = \"mean\"").unwrap_err();
        assert!(e.to_string().contains("did you mean `age`?"), "{e}");
    }
}
