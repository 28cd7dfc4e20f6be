//! A fingerprint of a weights file's tensors that ignores its metadata:
//! safetensors writes `__metadata__` from a hash map, in an order that
//! changes between processes, so two files holding the same tensors can
//! differ byte for byte. Two runs whose digests are equal hold bit-identical
//! weights.

use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

use crate::error::ModelError;

/// sha256 (hex) over every tensor, in name order: its name, dtype, shape and
/// raw bytes.
pub fn weights_digest(safetensors: &[u8]) -> Result<String, ModelError> {
    let tensors = SafeTensors::deserialize(safetensors).map_err(ModelError::Decode)?;
    let mut named = tensors.tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hash = Sha256::new();
    for (name, view) in named {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update(format!("{:?}", view.dtype()).as_bytes());
        hash.update((view.shape().len() as u64).to_le_bytes());
        for dim in view.shape() {
            hash.update((*dim as u64).to_le_bytes());
        }
        hash.update((view.data().len() as u64).to_le_bytes());
        hash.update(view.data());
    }
    Ok(hex::encode(hash.finalize()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use candle_core::{Device, Tensor};

    use super::*;

    fn file(values: &[f32], metadata: &[(&str, &str)]) -> Vec<u8> {
        let t = Tensor::new(values, &Device::Cpu).unwrap();
        let metadata: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        safetensors::serialize([("0.weight", &t)], Some(metadata)).unwrap()
    }

    #[test]
    fn metadata_does_not_change_the_digest_but_a_weight_does() {
        let a = file(&[1.0, 2.0], &[("run_id", "a"), ("x", "1")]);
        let b = file(&[1.0, 2.0], &[("run_id", "b")]);
        assert_ne!(a, b);
        assert_eq!(weights_digest(&a).unwrap(), weights_digest(&b).unwrap());
        let c = file(&[1.0, 2.000_001], &[("run_id", "a")]);
        assert_ne!(weights_digest(&a).unwrap(), weights_digest(&c).unwrap());
        assert!(weights_digest(b"not safetensors").is_err());
    }
}
