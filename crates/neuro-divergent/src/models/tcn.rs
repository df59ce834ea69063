//! TCN: NeuralForecast's temporal convolution network with an MLP decoder. A stack of causal
//! dilated convolutions encodes the insample window (each step's target, historic, static and
//! future exogenous values); a linear map along time turns the window's `L` encoded steps into
//! `h` context vectors; the decoder maps each context vector, followed by the future exogenous
//! values of its forecast step, to that step's outputs.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{require_at_least_one, ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{mlp_decoder, Activation, Dense, FeedForward, ParamStore, Reach, TemporalConv};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// TCN hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TcnConfig {
    /// Taps of each convolution.
    pub kernel_size: usize,
    /// Dilation of each convolution layer, in order; one layer per entry.
    pub dilations: Vec<usize>,
    /// Channels of every convolution layer's output.
    pub encoder_hidden_size: usize,
    /// Activation after each convolution.
    pub encoder_activation: Activation,
    /// Width of the decoder's hidden layers.
    pub decoder_hidden_size: usize,
    /// Number of decoder layers (1: a single linear map).
    pub decoder_layers: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
}

impl Default for TcnConfig {
    fn default() -> Self {
        TcnConfig {
            kernel_size: 2,
            dilations: vec![1, 2, 4, 8, 16],
            encoder_hidden_size: 128,
            encoder_activation: Activation::ReLU,
            decoder_hidden_size: 128,
            decoder_layers: 2,
            decoder_activation: Activation::ReLU,
        }
    }
}

impl ArchitectureConfig for TcnConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            windows_batch_size: 128,
            scaler_type: ScalerType::Robust,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "TCN: ",
            &[
                ("kernel_size", self.kernel_size),
                ("encoder_hidden_size", self.encoder_hidden_size),
                ("decoder_layers", self.decoder_layers),
                ("decoder_hidden_size", self.decoder_hidden_size),
            ],
        )?;
        if self.dilations.is_empty() || self.dilations.contains(&0) {
            return Err(Error::Config(format!(
                "TCN: dilations must list at least one dilation, each at least 1, got {:?}",
                self.dilations
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn has_default_input_size(&self) -> bool {
        true
    }

    /// The convolutions' weights apply at every insample step, the context map's once per
    /// channel, the decoder's at every horizon step.
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        let channels = self.encoder_hidden_size;
        let first = channels * (shape.per_step_width() * self.kernel_size + 1);
        let encoder =
            first + (self.dilations.len() - 1) * channels * (channels * self.kernel_size + 1);
        let context = (shape.input_size + 1) * shape.horizon;
        let decoder = parameters.saturating_sub(encoder + context);
        6.0 * (shape.input_size * encoder + channels * context + shape.horizon * decoder) as f64
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        // Created in NeuralForecast's order: convolutions, context map, decoder.
        let mut inputs = shape.per_step_width();
        let mut encoder = Vec::with_capacity(self.dilations.len());
        for (i, &dilation) in self.dilations.iter().enumerate() {
            encoder.push(TemporalConv::new(
                store,
                &format!("hist_encoder.tcn.{i}.conv"),
                inputs,
                self.encoder_hidden_size,
                self.kernel_size,
                dilation,
                Reach::Past,
            )?);
            inputs = self.encoder_hidden_size;
        }
        let context = Dense::new(store, "context_adapter", shape.input_size, shape.horizon)?;
        let decoder = mlp_decoder(
            store,
            self.encoder_hidden_size + shape.exog.futr,
            self.decoder_hidden_size,
            self.decoder_layers,
            n_outputs,
            self.decoder_activation,
            seed,
        )?;
        Ok(Box::new(TcnForecaster {
            encoder,
            activation: self.encoder_activation,
            context,
            decoder,
        }))
    }
}

/// A fitted-or-fresh TCN.
struct TcnForecaster {
    encoder: Vec<TemporalConv>,
    activation: Activation,
    /// Maps the window's `L` steps to `h` context vectors, channel by channel.
    context: Dense,
    decoder: FeedForward,
}

impl Model for TcnForecaster {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        // [B, L, C]
        let mut hidden = input.per_step_features()?;
        for conv in &self.encoder {
            hidden = conv.forward(&hidden, Some(self.activation))?;
        }
        let context = self.context.forward_over_steps(&hidden)?;
        let features = input.append_futr_horizon(context)?;
        self.decoder.forward(&features, train)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}
