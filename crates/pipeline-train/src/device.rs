//! From the spec's `device` to a candle device.

use candle_core::Device;
use pipeline_spec::Device as DeviceSpec;

use crate::error::TrainError;

/// `cpu` always works; `cuda` needs the `cuda` feature and a GPU; `auto`
/// takes CUDA when it is there and the CPU otherwise.
pub fn select_device(spec: DeviceSpec) -> Result<Device, TrainError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda => cuda().map_err(|reason| TrainError::Device {
            requested: "cuda".into(),
            reason,
        }),
        DeviceSpec::Auto => Ok(cuda().unwrap_or(Device::Cpu)),
    }
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device, String> {
    Device::new_cuda(0).map_err(|e| e.to_string())
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device, String> {
    Err("this binary was built without the `cuda` feature".into())
}
