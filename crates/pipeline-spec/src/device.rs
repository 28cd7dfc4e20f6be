//! `train.device` and `--device`: `cpu`, `cuda` (the first GPU), `cuda:N`
//! (the GPU with ordinal N) or `auto`. One parser for the spec and the CLI,
//! so both accept and refuse exactly the same words.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Where a network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// The CUDA GPU with this ordinal (`cuda` is `cuda:0`).
    Cuda {
        ordinal: usize,
    },
    /// The first CUDA GPU when there is one, else the CPU.
    Auto,
}

impl Device {
    /// The accepted forms, for hints.
    pub const FORMS: &'static str = "expected `cpu`, `cuda` (the first GPU, same as `cuda:0`), \
        `cuda:N` (the GPU with ordinal N: `cuda:1`, `cuda:2`, …) or `auto` (the first GPU when \
        there is one, else the CPU)";
}

impl fmt::Display for Device {
    /// The canonical form: `cuda:0` is written `cuda`, so specs that name the
    /// first GPU either way resolve (and hash) alike.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda { ordinal: 0 } => f.write_str("cuda"),
            Device::Cuda { ordinal } => write!(f, "cuda:{ordinal}"),
            Device::Auto => f.write_str("auto"),
        }
    }
}

impl FromStr for Device {
    /// What is wrong with the word; [`Device::FORMS`] is the hint.
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => return Ok(Device::Cpu),
            "cuda" => return Ok(Device::Cuda { ordinal: 0 }),
            "auto" => return Ok(Device::Auto),
            _ => {}
        }
        let Some(ordinal) = s.strip_prefix("cuda:") else {
            return Err(format!("`{s}` is not a device"));
        };
        // Digits only: `usize::from_str` would also take `+1`.
        if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}` is not a device: the GPU ordinal after `cuda:` must be a whole number (0, 1, …)"
            ));
        }
        ordinal
            .parse()
            .map(|ordinal| Device::Cuda { ordinal })
            .map_err(|_| format!("`{s}` is not a device: the GPU ordinal is too large"))
    }
}

impl serde::Serialize for Device {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The JSON Schema of `train.device`: a string of one of the forms.
pub struct DeviceSchema;

impl schemars::JsonSchema for DeviceSchema {
    fn schema_name() -> Cow<'static, str> {
        "Device".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(cpu|cuda|cuda:[0-9]+|auto)$",
            "description": "Where the network trains: `cpu`, `cuda` (the first GPU, same as \
                `cuda:0`), `cuda:N` (the GPU with ordinal N) or `auto` (the first GPU when there \
                is one, else the CPU). A GPU needs a binary built with `--features cuda`.",
            "examples": ["cpu", "cuda", "cuda:1", "auto"]
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_form_parses_and_prints_canonically() {
        for (text, device, canonical) in [
            ("cpu", Device::Cpu, "cpu"),
            ("cuda", Device::Cuda { ordinal: 0 }, "cuda"),
            ("cuda:0", Device::Cuda { ordinal: 0 }, "cuda"),
            ("cuda:3", Device::Cuda { ordinal: 3 }, "cuda:3"),
            ("cuda:12", Device::Cuda { ordinal: 12 }, "cuda:12"),
            ("auto", Device::Auto, "auto"),
        ] {
            assert_eq!(text.parse::<Device>().unwrap(), device, "{text}");
            assert_eq!(device.to_string(), canonical);
            assert_eq!(canonical.parse::<Device>().unwrap(), device);
        }
    }

    #[test]
    fn other_words_are_refused_with_the_reason() {
        for (text, reason) in [
            ("gpu", "`gpu` is not a device"),
            ("CUDA", "`CUDA` is not a device"),
            ("cuda:", "must be a whole number"),
            ("cuda:x", "must be a whole number"),
            ("cuda:-1", "must be a whole number"),
            ("cuda:+1", "must be a whole number"),
            ("cuda:1.5", "must be a whole number"),
            ("cuda: 1", "must be a whole number"),
            ("cuda:99999999999999999999999", "too large"),
            ("cpu:0", "`cpu:0` is not a device"),
            ("", "`` is not a device"),
        ] {
            let error = text.parse::<Device>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
