//! NBEATSx (Olivares et al., IJF 2023): N-BEATS whose blocks also read exogenous inputs, with an
//! optional exogenous stack whose basis is the exogenous columns themselves. Defaults follow
//! NeuralForecast's `NBEATSx` (identity, trend and seasonality stacks).
//!
//! Every block reads the residual insample window followed by the flattened historic columns
//! (insample part), future columns (insample part and horizon) and static values. An
//! `exogenous` stack projects its coefficients on the future columns and the static values
//! (held constant over time): the backcast over the insample part, the forecast over the horizon.

use serde::{Deserialize, Serialize};

use super::{ArchitectureConfig, ExogenousKinds, Model, NbeatsConfig};
use crate::error::Result;
use crate::nn::ParamStore;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// NBEATSx hyperparameters: those of NBEATS, whose `stack_types` may also name `exogenous`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NbeatsxConfig(pub NbeatsConfig);

impl ArchitectureConfig for NbeatsxConfig {
    fn train_defaults(&self) -> TrainConfig {
        self.0.train_defaults()
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        self.0.check("NBEATSx", shape)
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
        self.0.build_stacks(shape, n_outputs, store, seed)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::*;
    use crate::models::{ModelInput, StackType};
    use crate::windows::ExogDims;

    #[test]
    fn exogenous_stack_projects_on_future_and_static_columns() {
        let shape = WindowShape {
            input_size: 6,
            horizon: 3,
            exog: ExogDims {
                hist: 1,
                futr: 2,
                stat: 1,
            },
        };
        let config = NbeatsxConfig(NbeatsConfig {
            stack_types: vec![StackType::Identity, StackType::Exogenous],
            n_blocks: vec![1, 1],
            mlp_units: vec![[8, 8]],
            ..NbeatsConfig::default()
        });
        config.validate(shape).unwrap();
        let mut store = ParamStore::new(1, &Device::Cpu);
        let model = config.build(shape, 2, &mut store, 1).unwrap();
        let dev = Device::Cpu;
        let x = Tensor::ones((4, 6), DType::F32, &dev).unwrap();
        let input = ModelInput {
            insample: x.clone(),
            insample_mask: x,
            hist: Some(Tensor::ones((4, 6, 1), DType::F32, &dev).unwrap()),
            futr: Some(Tensor::ones((4, 9, 2), DType::F32, &dev).unwrap()),
            stat: Some(Tensor::ones((4, 1), DType::F32, &dev).unwrap()),
            teacher: None,
        };
        assert_eq!(model.forward(&input, false).unwrap().dims(), &[4, 3, 2]);
        // Without future or static columns the exogenous stack has no basis.
        let bare = WindowShape {
            exog: ExogDims {
                hist: 1,
                futr: 0,
                stat: 0,
            },
            ..shape
        };
        let err = config.validate(bare).unwrap_err().to_string();
        assert!(err.contains("NBEATSx: the exogenous stack needs"), "{err}");
        let nbeats = config.0.clone();
        let err = nbeats.validate(shape).unwrap_err().to_string();
        assert!(err.contains("use NBEATSx"), "{err}");
    }
}
