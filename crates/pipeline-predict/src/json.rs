//! What the typed reports share to come out as JSON: numbers with the
//! digits their precision has (NaN and infinities, which JSON lacks, as
//! null) and maps whose keys are data (a column, a class, a split) in the
//! order they were given.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A single-precision value as a JSON number with the digits that value
/// has (`203.77785`, not the `203.77784729003906` of its exact `f64`
/// widening); NaN and infinities become null.
pub fn json_f32(value: f32) -> Value {
    // Rust prints the shortest decimal that reads back as the same f32.
    json_f64(value.to_string().parse().unwrap_or(f64::from(value)))
}

/// A JSON number; NaN and infinities become null.
pub fn json_f64(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// An `f32` serialized as [`json_f32`] writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number32(pub f32);

impl Serialize for Number32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        json_f32(self.0).serialize(serializer)
    }
}

/// Entries serialized as a JSON object, keys in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<T>(pub Vec<(String, T)>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<T> Entries<T> {
    /// The value of `key`, inserted with `T::default()` when missing.
    pub fn entry(&mut self, key: &str) -> &mut T
    where
        T: Default,
    {
        let index = match self.0.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                self.0.push((key.to_owned(), T::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[index].1
    }
}

impl<T: Serialize> Serialize for Entries<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_of_f32_have_its_digits() {
        assert_eq!(json_f32(203.777_85).to_string(), "203.77785");
        assert_eq!(json_f32(0.1).to_string(), "0.1");
        assert_eq!(json_f32(f32::NAN), Value::Null);
    }

    #[test]
    fn entries_keep_their_order_and_a_repeated_key_updates_its_value() {
        let mut entries: Entries<Entries<f64>> = Entries::default();
        entries.entry("test").0.push(("r2".into(), 0.5));
        entries.entry("train").0.push(("r2".into(), 0.75));
        entries.entry("test").0.push(("mse".into(), f64::NAN));
        assert_eq!(
            serde_json::to_string(&entries).ok(),
            Some(r#"{"test":{"r2":0.5,"mse":null},"train":{"r2":0.75}}"#.to_owned())
        );
    }
}
