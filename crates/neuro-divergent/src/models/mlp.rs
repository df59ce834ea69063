//! MLP: a plain multilayer perceptron from the insample window to all `h` outputs at once
//! (NeuralForecast's `MLP`). Exogenous inputs are flattened and appended to the window: historic
//! values over the insample part, future values over the insample part and the horizon, static
//! values once.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{perceptron_layers, Activation, FeedForward, ParamStore};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// MLP hyperparameters (NeuralForecast defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MlpConfig {
    /// Number of hidden layers.
    pub num_layers: usize,
    /// Width of each hidden layer.
    pub hidden_size: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            num_layers: 2,
            hidden_size: 1024,
        }
    }
}

impl ArchitectureConfig for MlpConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            num_lr_decays: -1,
            scaler_type: ScalerType::Identity,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        if self.num_layers == 0 || self.hidden_size == 0 {
            return Err(Error::Config(
                "MLP: num_layers and hidden_size must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let inputs = shape.flat_input_width(|t| t);
        let outputs = shape.horizon * n_outputs;
        let layers = perceptron_layers(inputs, self.hidden_size, self.num_layers, outputs);
        let net = FeedForward::new(store, "mlp", &layers, Activation::ReLU, 0.0, seed)?;
        Ok(Box::new(Mlp {
            net,
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

struct Mlp {
    net: FeedForward,
    horizon: usize,
    n_outputs: usize,
}

impl Model for Mlp {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let batch = input.insample.dim(0)?;
        let features = input.with_exog(&input.insample, None)?;
        let out = self.net.forward(&features, train)?;
        Ok(out.reshape((batch, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}
