//! The one syntax of a spec key path, shared by `--set`, `runs --where`,
//! `--sort` and `--columns`: segments joined by `.`, a list item by its
//! index either as a segment (`model.layers.2.rate`) or in brackets
//! (`model.layers[2].rate`). Both read the same; the dotted form is the one
//! printed everywhere (it is what [`crate::flatten_spec`] produces).

/// The segments of `path` (`model.layers[2].rate` → `model`, `layers`, `2`,
/// `rate`), or why it is not a path.
pub fn path_segments(path: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    for part in path.trim().split('.') {
        let part = part.trim();
        let (name, mut rest) = match part.find('[') {
            Some(open) => part.split_at(open),
            None => (part, ""),
        };
        if name.contains(']') {
            return Err(format!("`{path}` has a `]` without its `[`"));
        }
        if name.is_empty() && (rest.is_empty() || segments.is_empty()) {
            return Err(format!("`{path}` has an empty key segment"));
        }
        if !name.is_empty() {
            segments.push(name.to_owned());
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some((index, after)) = inner.split_once(']') else {
                return Err(format!("`{path}` has a `[` without its `]`"));
            };
            let index = index.trim();
            if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "`{path}`: `[{index}]` is not a list index (write a whole number, as in model.layers[0].units)"
                ));
            }
            segments.push(index.to_owned());
            rest = after;
        }
        if !rest.is_empty() {
            return Err(format!("`{path}`: unexpected `{rest}` after `]`"));
        }
    }
    Ok(segments)
}

/// `path` in the dotted form (`model.layers[2].rate` → `model.layers.2.rate`).
pub fn dotted_path(path: &str) -> Result<String, String> {
    path_segments(path).map(|segments| segments.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotted(path: &str) -> String {
        dotted_path(path).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn brackets_and_dots_read_the_same() {
        assert_eq!(dotted("model.layers[2].rate"), "model.layers.2.rate");
        assert_eq!(dotted("model.layers.2.rate"), "model.layers.2.rate");
        assert_eq!(dotted("a[0][1].b"), "a.0.1.b");
        assert_eq!(
            dotted(" optimizer.learning_rate "),
            "optimizer.learning_rate"
        );
        assert_eq!(dotted("train.epochs"), "train.epochs");
    }

    #[test]
    fn malformed_paths_say_why() {
        for (path, why) in [
            ("a..b", "empty key segment"),
            ("[0].a", "empty key segment"),
            ("model.layers[x].units", "not a list index"),
            ("model.layers[].units", "not a list index"),
            ("model.layers[0.units", "without its `]`"),
            ("model.layers0].units", "without its `[`"),
            ("model.layers[0]x.units", "unexpected `x`"),
        ] {
            let Err(error) = path_segments(path) else {
                unreachable!("{path} was accepted")
            };
            assert!(error.contains(why), "{path}: {error}");
        }
    }
}
