//! DLinear (Zeng et al., 2023, "Are Transformers Effective for Time Series Forecasting?", as
//! NeuralForecast implements it): the insample window split into trend (moving average) and
//! seasonal parts ([`decompose`]), one linear map from each part to the horizon, the two maps
//! added.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{ArchitectureConfig, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{decompose, Dense, ParamStore};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// DLinear hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DlinearConfig {
    /// Steps of the moving average that gives the trend (odd).
    pub moving_avg_window: usize,
}

impl Default for DlinearConfig {
    fn default() -> Self {
        DlinearConfig {
            moving_avg_window: 25,
        }
    }
}

impl ArchitectureConfig for DlinearConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        if self.moving_avg_window.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "DLinear: moving_avg_window must be odd, got {}",
                self.moving_avg_window
            )));
        }
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
        Ok(Box::new(Dlinear {
            trend: Dense::new(store, "linear_trend", shape.input_size, outputs)?,
            seasonal: Dense::new(store, "linear_season", shape.input_size, outputs)?,
            kernel: self.moving_avg_window,
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

struct Dlinear {
    trend: Dense,
    seasonal: Dense,
    kernel: usize,
    horizon: usize,
    n_outputs: usize,
}

impl Model for Dlinear {
    fn forward(&self, input: &ModelInput, _train: bool) -> Result<Tensor> {
        let batch = input.insample.dim(0)?;
        let (seasonal, trend) = decompose(&input.insample, self.kernel)?;
        let out = (self.trend.forward(&trend, None)? + self.seasonal.forward(&seasonal, None)?)?;
        Ok(out.reshape((batch, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn an_even_moving_average_window_is_refused_by_name() {
        let mut spec = ModelSpec::new("DLinear", 12, 24).unwrap();
        spec.set_param("moving_avg_window", "24").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("DLinear: moving_avg_window must be odd, got 24"),
            "{err}"
        );
        spec.set_param("moving_avg_window", "5").unwrap();
        spec.validate().unwrap();
    }
}
