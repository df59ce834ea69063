//! NLinear (Zeng et al., 2023, as NeuralForecast implements it): the insample window minus its
//! last value, one linear map to the horizon, the last value added back.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{ArchitectureConfig, Model, ModelInput};
use crate::error::Result;
use crate::nn::{Dense, ParamStore};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// NLinear hyperparameters: none beyond the window (NeuralForecast has none either).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NlinearConfig {}

impl ArchitectureConfig for NlinearConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        Ok(())
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        _seed: u64,
    ) -> Result<Box<dyn Model>> {
        let outputs = shape.horizon * n_outputs;
        Ok(Box::new(Nlinear {
            linear: Dense::new(store, "linear", shape.input_size, outputs)?,
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

struct Nlinear {
    linear: Dense,
    horizon: usize,
    n_outputs: usize,
}

impl Model for Nlinear {
    fn forward(&self, input: &ModelInput, _train: bool) -> Result<Tensor> {
        let (batch, steps) = input.insample.dims2()?;
        let last = input.insample.narrow(1, steps - 1, 1)?;
        let centred = input.insample.broadcast_sub(&last)?;
        let out = self.linear.forward(&centred, None)?.broadcast_add(&last)?;
        Ok(out.reshape((batch, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}
