//! From the spec's `device` to a candle device, and a device's name for the
//! registry and reports.

use candle_core::{Device, DeviceLocation};
use pipeline_spec::Device as DeviceSpec;

use crate::error::{DeviceProblem, TrainError};

/// `cpu` always works; `cuda` / `cuda:N` need the `cuda` feature and that
/// GPU; `auto` takes the first GPU when there is one and the CPU otherwise.
pub fn select_device(spec: DeviceSpec) -> Result<Device, TrainError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda { ordinal } => cuda(ordinal).map_err(|problem| TrainError::Device {
            requested: spec.to_string(),
            problem,
        }),
        DeviceSpec::Auto => Ok(cuda(0).unwrap_or(Device::Cpu)),
    }
}

/// `cpu`, `cuda:0`, `cuda:1`, … (`metal:0` on a Metal build): the device a
/// run actually used, as the registry records it.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".into(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device, DeviceProblem> {
    use candle_core::cuda_backend::cudarc::driver::CudaContext;
    // Counted first so that a missing ordinal says how many GPUs there are
    // instead of the driver's CUDA_ERROR_INVALID_DEVICE.
    let found = CudaContext::device_count()
        .map_err(|e| DeviceProblem::Driver(e.to_string()))?
        .max(0) as usize;
    if ordinal >= found {
        return Err(DeviceProblem::NoSuchGpu { found });
    }
    Device::new_cuda(ordinal).map_err(|e| DeviceProblem::Driver(e.to_string()))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_ordinal: usize) -> Result<Device, DeviceProblem> {
    Err(DeviceProblem::NoCudaFeature)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cpu_is_always_there_and_auto_finds_a_device() {
        assert!(select_device(DeviceSpec::Cpu).unwrap().is_cpu());
        let auto = select_device(DeviceSpec::Auto).unwrap();
        assert!(auto.is_cpu() || auto.is_cuda());
        assert_eq!(device_name(&Device::Cpu), "cpu");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_without_the_cuda_feature_names_the_device_and_the_build() {
        let error = select_device(DeviceSpec::Cuda { ordinal: 3 }).unwrap_err();
        assert_eq!(
            error.to_string(),
            "device `cuda:3` is not available: this binary was built without the `cuda` feature"
        );
        assert!(error.hint().unwrap().contains("--features cuda"));
        assert!(select_device(DeviceSpec::Auto).unwrap().is_cpu());
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn a_gpu_past_the_last_ordinal_says_how_many_there_are() {
        let error = select_device(DeviceSpec::Cuda { ordinal: 1000 }).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("device `cuda:1000` is not available: "),
            "{message}"
        );
        assert!(
            message.contains("CUDA GPU") || message.contains("CUDA driver"),
            "{message}"
        );
    }
}
