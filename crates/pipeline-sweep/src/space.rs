//! The sweep's parameters as the search crate's [`Space`], and a point of
//! it back as spec assignments (what `--set` would say) and as the JSON
//! object stored with each trial.

use pipeline_search::{Dimension, Kind, Point, Space, Value};
use pipeline_spec::{Domain, SweepParameter, SweepSpec};
use serde_json::Map;

/// The parameters of one sweep, in the spec's order.
#[derive(Debug, Clone)]
pub struct SearchSpace {
    parameters: Vec<SweepParameter>,
}

impl SearchSpace {
    pub fn new(sweep: &SweepSpec) -> SearchSpace {
        SearchSpace {
            parameters: sweep.parameters.clone(),
        }
    }

    /// The space the samplers search.
    pub fn space(&self) -> Space {
        let dimensions = self
            .parameters
            .iter()
            .map(|parameter| Dimension {
                name: parameter.key.clone(),
                kind: kind(&parameter.domain),
            })
            .collect();
        Space { dimensions }
    }

    /// The parameter paths, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parameters.iter().map(|p| p.key.as_str())
    }

    /// `point` as `(path, value)` pairs to apply to the spec.
    pub fn assignments(&self, point: &Point) -> Vec<(String, toml::Value)> {
        self.parameters
            .iter()
            .zip(point)
            .map(|(parameter, value)| (parameter.key.clone(), spec_value(&parameter.domain, value)))
            .collect()
    }

    /// `point` as a JSON object, path → value (stored with the trial).
    pub fn to_json(&self, point: &Point) -> serde_json::Value {
        let mut object = Map::new();
        for (key, value) in self.assignments(point) {
            object.insert(key, toml_to_json(&value));
        }
        serde_json::Value::Object(object)
    }

    /// A stored trial's parameters back as a point; `None` when they do not
    /// fit this space (a value the spec no longer lists).
    pub fn from_json(&self, params: &serde_json::Value) -> Option<Point> {
        self.parameters
            .iter()
            .map(|parameter| {
                let value = params.get(&parameter.key)?;
                Some(match &parameter.domain {
                    Domain::Values(values) => Value::Choice(
                        values
                            .iter()
                            .position(|candidate| toml_to_json(candidate) == *value)?,
                    ),
                    Domain::Uniform { integer: true, .. }
                    | Domain::LogUniform { integer: true, .. } => Value::Int(value.as_i64()?),
                    Domain::Uniform { .. } | Domain::LogUniform { .. } => {
                        Value::Float(value.as_f64()?)
                    }
                })
            })
            .collect()
    }

    /// The assignments a stored trial's parameters say, read as they were
    /// written (a retried trial trains exactly what it trained).
    pub fn stored_assignments(
        &self,
        params: &serde_json::Value,
    ) -> Option<Vec<(String, toml::Value)>> {
        self.from_json(params).map(|point| self.assignments(&point))
    }
}

fn kind(domain: &Domain) -> Kind {
    match *domain {
        Domain::Values(ref values) => Kind::Categorical {
            choices: values.len(),
        },
        Domain::Uniform {
            low,
            high,
            integer: true,
        } => Kind::Int {
            low: low as i64,
            high: high as i64,
            log: false,
        },
        Domain::LogUniform {
            low,
            high,
            integer: true,
        } => Kind::Int {
            low: low as i64,
            high: high as i64,
            log: true,
        },
        Domain::Uniform { low, high, .. } => Kind::Float {
            low,
            high,
            log: false,
        },
        Domain::LogUniform { low, high, .. } => Kind::Float {
            low,
            high,
            log: true,
        },
    }
}

fn spec_value(domain: &Domain, value: &Value) -> toml::Value {
    match (domain, value) {
        (Domain::Values(values), Value::Choice(index)) => values
            .get(*index)
            .cloned()
            .unwrap_or(toml::Value::Integer(0)),
        (_, Value::Int(int)) => toml::Value::Integer(*int),
        (_, Value::Float(float)) => toml::Value::Float(*float),
        (_, Value::Choice(index)) => toml::Value::Integer(*index as i64),
    }
}

/// A TOML value as JSON (numbers stay numbers, arrays and tables nest).
pub fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect())
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
