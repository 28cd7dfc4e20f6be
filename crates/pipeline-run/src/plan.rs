//! A planned run: a spec whose data is read and split, whose device is
//! chosen and whose network is built, so that everything that can fail on
//! a user's mistake has run before anything is written.

use std::path::PathBuf;

use candle_core::Device;
use pipeline_data::{PreparedData, prepare};
use pipeline_model::Network;
use pipeline_spec::LoadedSpec;
use pipeline_train::{Pitfall, initial_network, pitfalls, select_device};

use crate::error::RunError;

/// A spec ready to train (see the module doc).
pub struct Planned {
    pub loaded: LoadedSpec,
    pub data_path: PathBuf,
    pub data: PreparedData,
    pub device: Device,
    pub network: Network,
}

impl Planned {
    /// Plans `loaded` on the data file its spec names.
    pub fn of(loaded: LoadedSpec) -> Result<Planned, RunError> {
        let data_path = loaded.data_path();
        Planned::new(loaded, data_path)
    }

    /// Plans `loaded` on the data file `data_path`.
    pub fn new(loaded: LoadedSpec, data_path: PathBuf) -> Result<Planned, RunError> {
        let spec = &loaded.spec;
        let data =
            prepare(&spec.data, &data_path, spec.seed).map_err(|source| RunError::PrepareData {
                spec: loaded.path.clone(),
                source: RunError::boxed(source),
            })?;
        let device = select_device(spec.train.device)
            .map_err(|source| RunError::SelectDevice(RunError::boxed(source)))?;
        let network =
            initial_network(spec, &data, &device).map_err(|source| RunError::ModelDoesNotFit {
                spec: loaded.path.clone(),
                source: RunError::boxed(source),
            })?;
        Ok(Planned {
            loaded,
            data_path,
            data,
            device,
            network,
        })
    }

    /// This plan on `device` instead of its spec's (a worker's `--device`):
    /// planned again when that differs.
    pub fn on_device(self, device: pipeline_spec::Device) -> Result<Planned, RunError> {
        if self.loaded.spec.train.device == device {
            return Ok(self);
        }
        let Planned {
            mut loaded,
            data_path,
            ..
        } = self;
        loaded.spec.train.device = device;
        Planned::new(loaded, data_path)
    }

    /// What is worth a warning before training this plan.
    pub fn pitfalls(&self) -> Vec<Pitfall> {
        pitfalls(&self.loaded.spec, &self.data, &self.network)
    }
}
