//! TiDE (Das et al., 2023, "Long-term Forecasting with TiDE: Time-series Dense Encoder", as
//! NeuralForecast implements it): exogenous columns projected step by step to a few features
//! (`temporal_width`), the window and the flattened projections encoded and decoded by stacks of
//! residual MLP blocks into `decoder_output_dim` features per horizon step, a temporal decoder
//! that reads each step's features with that step's projected future values, and a linear
//! global skip from the window to the forecast.
//!
//! One departure from NeuralForecast: with future but no historic columns, NeuralForecast also
//! creates an unused historic projection that reads zero columns, and its initialisation moves
//! PyTorch's random stream; that block is not created here, so in that one configuration the
//! starting weights differ from NeuralForecast's for the same seed.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds, Model,
    ModelInput,
};
use crate::error::Result;
use crate::nn::{Dense, ParamStore, ResidualMlp, ResidualMlpSpec};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// TiDE hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TideConfig {
    /// Units of the dense encoder's and decoder's blocks (their hidden and output width, and
    /// the hidden width of the exogenous projections).
    pub hidden_size: usize,
    /// Features per horizon step at the dense decoder's output.
    pub decoder_output_dim: usize,
    /// Hidden units of the temporal decoder.
    pub temporal_decoder_dim: usize,
    /// Dropout in every residual block.
    pub dropout: f64,
    /// Layer-normalise every residual block's output.
    pub layernorm: bool,
    /// Residual blocks of the dense encoder.
    pub num_encoder_layers: usize,
    /// Residual blocks of the dense decoder.
    pub num_decoder_layers: usize,
    /// Features each step's exogenous values are projected to.
    pub temporal_width: usize,
}

impl Default for TideConfig {
    fn default() -> Self {
        TideConfig {
            hidden_size: 512,
            decoder_output_dim: 32,
            temporal_decoder_dim: 128,
            dropout: 0.3,
            layernorm: true,
            num_encoder_layers: 1,
            num_decoder_layers: 1,
            temporal_width: 4,
        }
    }
}

impl TideConfig {
    /// A residual block reading `inputs` and writing `outputs` with `hidden` units.
    fn block(&self, inputs: usize, hidden: usize, outputs: usize) -> ResidualMlpSpec {
        ResidualMlpSpec {
            inputs,
            hidden,
            outputs,
            dropout: self.dropout,
            layer_norm: self.layernorm,
        }
    }

    /// Width of the dense encoder's input: the window, the projected historic values over it,
    /// the projected future values over it and the horizon, and the static values.
    fn encoder_inputs(&self, shape: WindowShape) -> usize {
        let (l, h, e) = (shape.input_size, shape.horizon, shape.exog);
        let projected = |columns: usize, steps: usize| {
            if columns > 0 {
                steps * self.temporal_width
            } else {
                0
            }
        };
        l + projected(e.hist, l) + projected(e.futr, l + h) + e.stat
    }
}

impl ArchitectureConfig for TideConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            num_lr_decays: -1,
            scaler_type: ScalerType::Identity,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "TiDE: ",
            &[
                ("hidden_size", self.hidden_size),
                ("decoder_output_dim", self.decoder_output_dim),
                ("temporal_decoder_dim", self.temporal_decoder_dim),
                ("num_encoder_layers", self.num_encoder_layers),
                ("num_decoder_layers", self.num_decoder_layers),
                ("temporal_width", self.temporal_width),
            ],
        )?;
        require_dropout_rate("TiDE: ", "dropout", self.dropout)
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
        let (hidden, width) = (self.hidden_size, self.temporal_width);
        let exog = shape.exog;
        // Each block draws its dropout from its own stream.
        let mut streams = (1u64..).map(|i| seed.wrapping_add(i));
        let mut block = |store: &mut ParamStore, name: &str, spec: ResidualMlpSpec| {
            ResidualMlp::new(store, name, spec, streams.next().expect("endless"))
        };
        let hist_projection = match exog.hist {
            0 => None,
            columns => Some(block(
                store,
                "hist_exog_projection",
                self.block(columns, hidden, width),
            )?),
        };
        let futr_projection = match exog.futr {
            0 => None,
            columns => Some(block(
                store,
                "futr_exog_projection",
                self.block(columns, hidden, width),
            )?),
        };
        let encoder = (0..self.num_encoder_layers)
            .map(|i| {
                let inputs = if i == 0 {
                    self.encoder_inputs(shape)
                } else {
                    hidden
                };
                block(
                    store,
                    &format!("dense_encoder.{i}"),
                    self.block(inputs, hidden, hidden),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let last = self.num_decoder_layers - 1;
        let decoder = (0..self.num_decoder_layers)
            .map(|i| {
                let outputs = if i == last {
                    self.decoder_output_dim * shape.horizon
                } else {
                    hidden
                };
                block(
                    store,
                    &format!("dense_decoder.{i}"),
                    self.block(hidden, hidden, outputs),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let temporal_inputs = self.decoder_output_dim + if exog.futr > 0 { width } else { 0 };
        let temporal_decoder = block(
            store,
            "temporal_decoder",
            self.block(temporal_inputs, self.temporal_decoder_dim, n_outputs),
        )?;
        let global_skip = Dense::new(
            store,
            "global_skip",
            shape.input_size,
            shape.horizon * n_outputs,
        )?;
        let deterministic = self.dropout == 0.0;
        Ok(Box::new(Tide {
            hist_projection,
            futr_projection,
            encoder,
            decoder,
            temporal_decoder,
            global_skip,
            horizon: shape.horizon,
            n_outputs,
            deterministic,
        }))
    }
}

struct Tide {
    hist_projection: Option<ResidualMlp>,
    futr_projection: Option<ResidualMlp>,
    encoder: Vec<ResidualMlp>,
    decoder: Vec<ResidualMlp>,
    temporal_decoder: ResidualMlp,
    global_skip: Dense,
    horizon: usize,
    n_outputs: usize,
    deterministic: bool,
}

impl Model for Tide {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let (batch, steps) = input.insample.dims2()?;
        let skip = self.global_skip.forward(&input.insample, None)?.reshape((
            batch,
            self.horizon,
            self.n_outputs,
        ))?;
        let mut features = vec![input.insample.clone()];
        if let (Some(projection), Some(hist)) = (&self.hist_projection, &input.hist) {
            features.push(projection.forward(hist, train)?.flatten_from(1)?);
        }
        // The future values projected over the window and the horizon: flattened into the
        // encoder's input, and each horizon step's beside the decoded features of that step.
        let futr = match (&self.futr_projection, &input.futr) {
            (Some(projection), Some(futr)) => {
                let projected = projection.forward(futr, train)?;
                features.push(projected.flatten_from(1)?);
                Some(projected.narrow(1, steps, self.horizon)?)
            }
            _ => None,
        };
        if let Some(stat) = &input.stat {
            features.push(stat.clone());
        }
        let mut x = Tensor::cat(&features, 1)?;
        for block in self.encoder.iter().chain(&self.decoder) {
            x = block.forward(&x, train)?;
        }
        let mut per_step = x.reshape((batch, self.horizon, ()))?;
        if let Some(futr) = futr {
            per_step = Tensor::cat(&[per_step, futr], 2)?;
        }
        let decoded = self.temporal_decoder.forward(&per_step, train)?;
        Ok((decoded + skip)?)
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;
    use crate::windows::ExogDims;

    /// TiDE forecasts of one window `[1, 4]` with one future column (ones, or the given values
    /// over the horizon), built with `layernorm`.
    fn forecasts_with_futures(layernorm: bool, horizon_values: [f32; 2]) -> Vec<f32> {
        let shape = WindowShape {
            input_size: 4,
            horizon: 2,
            exog: ExogDims {
                futr: 1,
                ..ExogDims::default()
            },
        };
        let config = TideConfig {
            hidden_size: 8,
            decoder_output_dim: 3,
            temporal_decoder_dim: 5,
            dropout: 0.0,
            layernorm,
            ..TideConfig::default()
        };
        let mut store = ParamStore::new(7, &Device::Cpu);
        let model = config.build(shape, 1, &mut store, 7).unwrap();
        let insample = Tensor::new(&[[1f32, 2.0, 3.0, 4.0]], &Device::Cpu).unwrap();
        let mut input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        let mut futr = vec![1f32; 4];
        futr.extend(horizon_values);
        input.futr = Some(Tensor::from_vec(futr, (1, 6, 1), &Device::Cpu).unwrap());
        let out = model.forward(&input, false).unwrap();
        out.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn future_values_reach_the_forecast_only_without_layer_norm_on_a_single_output() {
        // Layer norm over the temporal decoder's single output makes it a constant, as in
        // NeuralForecast: then the future values cannot change the forecast.
        assert_eq!(
            forecasts_with_futures(true, [0.0, 0.0]),
            forecasts_with_futures(true, [5.0, -5.0])
        );
        let (a, b) = (
            forecasts_with_futures(false, [0.0, 0.0]),
            forecasts_with_futures(false, [5.0, -5.0]),
        );
        assert!(
            a.iter().zip(&b).all(|(x, y)| (x - y).abs() > 1e-4),
            "{a:?} {b:?}"
        );
    }

    #[test]
    fn encoder_input_counts_projected_exogenous_steps() {
        let config = TideConfig::default();
        let shape = WindowShape {
            input_size: 10,
            horizon: 3,
            exog: ExogDims {
                hist: 2,
                futr: 1,
                stat: 5,
            },
        };
        // The window, 4 features per historic step, 4 per future step over window and
        // horizon, the static values.
        assert_eq!(config.encoder_inputs(shape), 10 + 40 + 52 + 5);
    }
}
