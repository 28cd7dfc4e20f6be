//! Two runs' layer lists aligned as sequences, so that a layer inserted in
//! one run reads as one insertion and not as every later layer differing.
//!
//! The alignment is a longest common subsequence in which a pair of layers
//! of the same type scores 1 and a pair identical in every setting scores 2:
//! layers are matched by type (`linear` with `linear`), and among equally
//! long alignments the one pairing identical layers wins, so a changed
//! `units` stays a changed value of a matched layer.

use std::collections::BTreeMap;

/// One layer's settings as flattened spec values (`type`, `units`, `rate`, …).
pub type Layer = BTreeMap<String, String>;

/// One step of an alignment of `reference` with `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `reference[i]` and `other[j]` are the same layer (maybe with other settings).
    Matched(usize, usize),
    /// `reference[i]` has no counterpart in `other`: removed there.
    Removed(usize),
    /// `other[j]` has no counterpart in `reference`: inserted there.
    Inserted(usize),
}

/// The layers' type, for matching.
fn kind(layer: &Layer) -> Option<&str> {
    layer.get("type").map(String::as_str)
}

fn score(a: &Layer, b: &Layer) -> usize {
    if a == b {
        2
    } else if kind(a) == kind(b) {
        1
    } else {
        0
    }
}

/// Aligns `other` with `reference`, in order (quadratic; layer lists are short).
pub fn align(reference: &[Layer], other: &[Layer]) -> Vec<Step> {
    let (n, m) = (reference.len(), other.len());
    // best[i][j]: the best score aligning reference[i..] with other[j..].
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let pair = score(&reference[i], &other[j]);
            let matched = if pair > 0 {
                pair + best[i + 1][j + 1]
            } else {
                0
            };
            best[i][j] = matched.max(best[i + 1][j]).max(best[i][j + 1]);
        }
    }
    let mut steps = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        let pair = score(&reference[i], &other[j]);
        if pair > 0 && best[i][j] == pair + best[i + 1][j + 1] {
            steps.push(Step::Matched(i, j));
            i += 1;
            j += 1;
        } else if best[i][j] == best[i + 1][j] {
            steps.push(Step::Removed(i));
            i += 1;
        } else {
            steps.push(Step::Inserted(j));
            j += 1;
        }
    }
    steps.extend((i..n).map(Step::Removed));
    steps.extend((j..m).map(Step::Inserted));
    steps
}

/// A layer in one short phrase: `dropout(rate=0.5)`, `relu`.
pub fn describe(layer: &Layer) -> String {
    let settings: Vec<String> = layer
        .iter()
        .filter(|(key, _)| key.as_str() != "type")
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let kind = kind(layer).unwrap_or("layer");
    if settings.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}({})", settings.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(kind: &str, settings: &[(&str, &str)]) -> Layer {
        std::iter::once(("type", kind))
            .chain(settings.iter().copied())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn mlp() -> Vec<Layer> {
        vec![
            layer("linear", &[("units", "64")]),
            layer("relu", &[]),
            layer("linear", &[("units", "64")]),
            layer("relu", &[]),
            layer("linear", &[("units", "1")]),
        ]
    }

    /// Issue 21, item 7: a dropout inserted after layer 1 is one insertion,
    /// not every later layer differing.
    #[test]
    fn an_inserted_dropout_is_one_insertion() {
        let mut other = mlp();
        other.insert(2, layer("dropout", &[("rate", "0.5")]));
        let steps = align(&mlp(), &other);
        let changes: Vec<&Step> = steps
            .iter()
            .filter(|s| !matches!(s, Step::Matched(..)))
            .collect();
        assert_eq!(changes, [&Step::Inserted(2)]);
        assert!(steps.contains(&Step::Matched(4, 5)), "{steps:?}");
        assert_eq!(describe(&other[2]), "dropout(rate=0.5)");
        assert_eq!(describe(&other[1]), "relu");
    }

    #[test]
    fn a_changed_width_stays_a_matched_layer_and_removals_are_found() {
        let mut wider = mlp();
        wider[2] = layer("linear", &[("units", "256")]);
        let steps = align(&mlp(), &wider);
        assert!(
            steps
                .iter()
                .all(|s| matches!(s, Step::Matched(i, j) if i == j))
        );

        let mut shorter = mlp();
        shorter.drain(2..4);
        let steps = align(&mlp(), &shorter);
        let removed: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Removed(_)))
            .collect();
        assert_eq!(removed.len(), 2, "{steps:?}");
        // The identical last layer (units 1) is matched, not the first width-64 one.
        assert!(steps.contains(&Step::Matched(4, 2)), "{steps:?}");
        assert_eq!(align(&[], &mlp()).len(), 5);
    }
}
