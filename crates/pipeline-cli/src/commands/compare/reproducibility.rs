//! Whether a run reproduces another: the same inputs (resolved spec, data,
//! seed, device) and the same results (weights bit for bit, final metrics).
//! `pipeline compare ORIGINAL RERUN` says "matches exactly" only when all
//! of them hold.
//!
//! Weights are compared by a digest of their tensors, not by the file's
//! sha256: the safetensors header's `__metadata__` holds the run's own id,
//! so the files of two runs never hash the same even when every weight does.

use pipeline_registry::{MetricValue, RunRecord};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The digest of a run's weights (`pipeline_model::weights_digest`), or
/// why they cannot be compared.
pub type Weights = Result<String, String>;

/// How one result of two runs compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Identical,
    Different,
    /// Not compared, and why.
    Unavailable(String),
}

impl Outcome {
    /// `identical`, `different` or `unavailable`, for JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Identical => "identical",
            Outcome::Different => "different",
            Outcome::Unavailable(_) => "unavailable",
        }
    }
}

/// One input of a run, in the reference run and in the other run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `spec`, `data`, `seed` or `device`.
    pub name: &'static str,
    pub reference: String,
    pub other: String,
}

impl Input {
    pub fn same(&self) -> bool {
        self.reference == self.other
    }
}

/// How a run compares with the reference run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reproduction {
    /// Resolved spec hash, data sha256, seed and device, in this order.
    pub inputs: Vec<Input>,
    pub weights: Outcome,
    pub final_metrics: Outcome,
}

impl Reproduction {
    /// Compares `other` (with its weights) against `reference`.
    pub fn check(reference: (&RunRecord, &Weights), other: (&RunRecord, &Weights)) -> Reproduction {
        let ((a, a_weights), (b, b_weights)) = (reference, other);
        let input = |name, reference: &dyn ToString, other: &dyn ToString| Input {
            name,
            reference: reference.to_string(),
            other: other.to_string(),
        };
        let weights = match (a_weights, b_weights) {
            (Err(why), _) | (_, Err(why)) => Outcome::Unavailable(why.clone()),
            (Ok(x), Ok(y)) if x == y => Outcome::Identical,
            (Ok(_), Ok(_)) => Outcome::Different,
        };
        Reproduction {
            inputs: vec![
                input("spec", &a.spec_hash, &b.spec_hash),
                input("data", &a.data_sha256, &b.data_sha256),
                input("seed", &a.seed, &b.seed),
                input("device", &a.device, &b.device),
            ],
            weights,
            final_metrics: compare_metrics(&a.final_metrics, &b.final_metrics),
        }
    }

    /// The same inputs gave the same weights and the same final metrics.
    pub fn matches_exactly(&self) -> bool {
        self.inputs.iter().all(Input::same)
            && self.weights == Outcome::Identical
            && self.final_metrics == Outcome::Identical
    }

    /// One sentence: "matches exactly (…)", "differs in …" or "does not
    /// reproduce: …".
    pub fn summary(&self) -> String {
        let different: Vec<&str> = self
            .inputs
            .iter()
            .filter(|i| !i.same())
            .map(|i| i.name)
            .collect();
        let weights = match &self.weights {
            Outcome::Identical => "weights bit-identical".to_string(),
            Outcome::Different => "weights differ".to_string(),
            Outcome::Unavailable(why) => format!("weights not compared ({why})"),
        };
        let metrics = match &self.final_metrics {
            Outcome::Identical => "final metrics identical".to_string(),
            Outcome::Different => "final metrics differ".to_string(),
            Outcome::Unavailable(why) => format!("final metrics not compared ({why})"),
        };
        let same = "same spec, data, seed and device";
        if self.matches_exactly() {
            format!("matches exactly ({same}; {weights}; {metrics})")
        } else if different.is_empty() {
            format!("does not reproduce: {same}, but {weights}; {metrics}")
        } else {
            format!("differs in {}; {weights}; {metrics}", join(&different))
        }
    }
}

/// JSON: `matches_exactly`, `same_spec`, `same_data`, `same_seed`,
/// `same_device`, `weights` and `final_metrics` (each an [`Outcome`] word),
/// and the `summary` sentence.
impl Serialize for Reproduction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.inputs.len() + 4))?;
        map.serialize_entry("matches_exactly", &self.matches_exactly())?;
        for input in &self.inputs {
            map.serialize_entry(&format!("same_{}", input.name), &input.same())?;
        }
        map.serialize_entry("weights", self.weights.as_str())?;
        map.serialize_entry("final_metrics", self.final_metrics.as_str())?;
        map.serialize_entry("summary", &self.summary())?;
        map.end()
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Bit-for-bit equality of the final metrics (NaN equals NaN).
fn compare_metrics(a: &[MetricValue], b: &[MetricValue]) -> Outcome {
    if a.is_empty() || b.is_empty() {
        return Outcome::Unavailable("a run recorded none".into());
    }
    let same = a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.split == y.split && x.metric == y.metric && x.value.to_bits() == y.value.to_bits()
        });
    if same {
        Outcome::Identical
    } else {
        Outcome::Different
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn metric(value: f64) -> MetricValue {
        MetricValue {
            split: "test".into(),
            metric: "loss".into(),
            value,
        }
    }

    #[test]
    fn metrics_compare_bit_for_bit() {
        assert_eq!(
            compare_metrics(&[metric(f64::NAN)], &[metric(f64::NAN)]),
            Outcome::Identical
        );
        assert_eq!(
            compare_metrics(&[metric(1.0)], &[metric(1.0 + f64::EPSILON)]),
            Outcome::Different
        );
        assert!(matches!(
            compare_metrics(&[], &[metric(1.0)]),
            Outcome::Unavailable(_)
        ));
    }

    fn reproduction(seed: &str, weights: Outcome) -> Reproduction {
        let input = |name, other: &str| Input {
            name,
            reference: "x".into(),
            other: other.into(),
        };
        Reproduction {
            inputs: vec![
                input("spec", "x"),
                input("data", "x"),
                input("seed", seed),
                input("device", "x"),
            ],
            weights,
            final_metrics: Outcome::Identical,
        }
    }

    #[test]
    fn summaries_say_what_differs() {
        let same = reproduction("x", Outcome::Identical);
        assert!(same.matches_exactly());
        assert_eq!(
            same.summary(),
            "matches exactly (same spec, data, seed and device; weights bit-identical; \
             final metrics identical)"
        );
        assert_eq!(
            reproduction("x", Outcome::Different).summary(),
            "does not reproduce: same spec, data, seed and device, but weights differ; \
             final metrics identical"
        );
        let other_seed = reproduction("y", Outcome::Different);
        assert!(!other_seed.matches_exactly());
        assert_eq!(
            other_seed.summary(),
            "differs in seed; weights differ; final metrics identical"
        );
        assert_eq!(join(&["spec", "seed", "device"]), "spec, seed and device");
    }
}
