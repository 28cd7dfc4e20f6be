//! What tells runs apart, in a few characters: short names for the spec
//! keys that differ (`optimizer.learning_rate` → `lr`,
//! `model.layers.0.units` → `units`) and each run's legend
//! (`lr=0.05, units=256`), used by the ranked table's columns, the plots'
//! legends and the terminal charts' titles.

use super::differences::{Difference, LayerChange};
use super::label;

/// Keys never shown as a column or in a legend: free text.
const SKIPPED: [&str; 1] = ["description"];
/// At most this many keys in one legend.
const LEGEND_KEYS: usize = 3;

/// Common long names and their short forms.
const ABBREVIATIONS: [(&str, &str); 4] = [
    ("learning_rate", "lr"),
    ("weight_decay", "wd"),
    ("batch_size", "batch"),
    ("early_stopping", "es"),
];

/// The differences worth a column or a legend entry, in order.
pub fn shown(differences: &[Difference]) -> Vec<&Difference> {
    differences
        .iter()
        .filter(|d| !SKIPPED.contains(&d.key.as_str()))
        .collect()
}

fn abbreviated(segment: &str) -> &str {
    ABBREVIATIONS
        .iter()
        .find(|(long, _)| *long == segment)
        .map_or(segment, |(_, short)| short)
}

/// A short, unique name for each key: its last segment (abbreviated);
/// where two keys share it, the segment before is added (`L2.units` for a
/// layer).
pub fn short_names(keys: &[&str]) -> Vec<String> {
    let last = |key: &str| abbreviated(key.rsplit('.').next().unwrap_or(key)).to_string();
    let longer = |key: &str| {
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["model", "layers", index, .., field] => format!("L{index}.{}", abbreviated(field)),
            [.., parent, field] => format!("{}.{}", abbreviated(parent), abbreviated(field)),
            _ => key.to_string(),
        }
    };
    keys.iter()
        .map(|key| {
            let name = last(key);
            let shared = keys.iter().filter(|k| last(k) == name).count() > 1;
            if shared { longer(key) } else { name }
        })
        .collect()
}

/// `value` cut to `width` characters, with `…` where cut.
pub fn abbreviate(value: &str, width: usize) -> String {
    if value.chars().count() <= width {
        return value.to_string();
    }
    let kept: String = value.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// What the run at `index` is, in a few words: the values of the keys that
/// differ and the layers it inserted or removed; its handle when nothing
/// differs.
fn legend(
    index: usize,
    id: &str,
    differences: &[&Difference],
    names: &[String],
    changes: &[&LayerChange],
) -> String {
    let mut parts: Vec<String> = differences
        .iter()
        .zip(names)
        .map(|(d, name)| {
            let value = d.values.get(index).cloned().flatten();
            format!("{name}={}", abbreviate(value.as_deref().unwrap_or("-"), 12))
        })
        .collect();
    parts.extend(changes.iter().map(|c| match c.change {
        "inserted" => format!("+{}", c.layer.split('(').next().unwrap_or("")),
        _ => format!("−{}", c.layer.split('(').next().unwrap_or("")),
    }));
    if parts.is_empty() {
        return id.to_string();
    }
    let more = parts.len() > LEGEND_KEYS;
    parts.truncate(LEGEND_KEYS);
    if more {
        parts.push("…".into());
    }
    parts.join(", ")
}

/// Every run's legend, in order; runs whose legends would be the same
/// (reruns) get their label added: `lr=0.05 (B)`.
pub fn legends(ids: &[&str], differences: &[Difference], changes: &[LayerChange]) -> Vec<String> {
    let shown = shown(differences);
    let keys: Vec<&str> = shown.iter().map(|d| d.key.as_str()).collect();
    let names = short_names(&keys);
    let mut legends: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let own: Vec<&LayerChange> = changes.iter().filter(|c| c.run.as_str() == *id).collect();
            legend(index, id, &shown, &names, &own)
        })
        .collect();
    let copy = legends.clone();
    for (index, legend) in legends.iter_mut().enumerate() {
        if copy.iter().filter(|l| *l == legend).count() > 1 {
            legend.push_str(&format!(" ({})", label(index)));
        }
    }
    legends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(key: &str, values: &[&str]) -> Difference {
        Difference {
            key: key.into(),
            values: values.iter().map(|v| Some(v.to_string())).collect(),
        }
    }

    #[test]
    fn short_names_are_last_segments_made_unique() {
        assert_eq!(
            short_names(&[
                "optimizer.learning_rate",
                "model.layers.0.units",
                "model.layers.2.units",
                "train.batch_size",
                "train.early_stopping.patience",
            ]),
            ["lr", "L0.units", "L2.units", "batch", "patience"]
        );
        assert_eq!(abbreviate("a long description", 8), "a long …");
        assert_eq!(abbreviate("relu", 8), "relu");
    }

    /// Issue 21, item 8: legends say what differs, not the id.
    #[test]
    fn legends_name_what_differs() {
        let differences = [
            difference("description", &["x", "y", "z"]),
            difference("model.layers.0.units", &["64", "256", "256"]),
            difference("optimizer.learning_rate", &["0.001", "0.05", "0.05"]),
        ];
        let ids = ["01a-1", "01a-2", "01a-3"];
        assert_eq!(
            legends(&ids, &differences, &[]),
            [
                "units=64, lr=0.001",
                "units=256, lr=0.05 (B)",
                "units=256, lr=0.05 (C)"
            ]
        );
        // Nothing differs: the run's handle.
        assert_eq!(legends(&ids[..1], &[], &[]), ["01a-1"]);
    }
}
