//! RNN, LSTM and GRU as NeuralForecast 3.3 builds them, in both of its output modes. The three
//! models differ only in their cell ([`RecurrentCell`]).
//!
//! - Direct (`recurrent=false`, the default): the encoder reads the insample window one step at
//!   a time, each step's target value followed by that step's historic, static and future
//!   exogenous values; the MLP decoder maps the encoder's hidden state at each of the window's
//!   last `h` steps (or all steps linearly stretched to `h` when the window is shorter than the
//!   horizon), followed by the future exogenous values of the matching forecast step, to that
//!   step's outputs.
//! - One step at a time (`recurrent=true`, [`crate::autoregressive`]): the encoder reads at each
//!   position the value there and the exogenous values of the next position, and its output
//!   there is the forecast of the next value: the LSTM's layers are projected to the loss's
//!   outputs (PyTorch's `proj_size`), RNN and GRU add a linear map (`proj`). Trained
//!   teacher-forced on `h_train` outsample steps; forecasts feed each step's point forecast
//!   back, as NeuralForecast does. There is no MLP decoder in this mode.

use std::fmt::Debug;

use candle_core::Tensor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::step_network::{StepHead, StepNetwork};
use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds, Model,
    ModelInput, StepFeatureOrder, StepWindows,
};
use crate::error::Result;
use crate::nn::{
    mlp_decoder, Activation, Cell, Dense, FeedForward, ParamStore, RecurrentEncoder,
    RecurrentKernel, RecurrentLayers,
};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// What sets RNN, LSTM and GRU apart: the cell, the default width, and any cell-specific
/// hyperparameters (serialised alongside the shared ones).
pub trait RecurrentCell:
    Default + Clone + PartialEq + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// NeuralForecast's default `encoder_hidden_size` for this model.
    const HIDDEN_SIZE: usize;

    /// The cell the encoder's layers use.
    fn cell(&self) -> Cell;

    /// How the encoder's output at a step becomes the raw outputs when forecasting one step at
    /// a time: LSTM projects its layers (PyTorch's `proj_size`), RNN and GRU add a linear map.
    fn projects_layers(&self) -> bool {
        self.cell() == Cell::Lstm
    }
}

/// LSTM's cell: no hyperparameters of its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LstmCell {}

impl RecurrentCell for LstmCell {
    const HIDDEN_SIZE: usize = 128;

    fn cell(&self) -> Cell {
        Cell::Lstm
    }
}

/// GRU's cell: no hyperparameters of its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GruCell {}

impl RecurrentCell for GruCell {
    const HIDDEN_SIZE: usize = 200;

    fn cell(&self) -> Cell {
        Cell::Gru
    }
}

/// The non-linearity of an Elman RNN (`encoder_activation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RnnActivation {
    /// Hyperbolic tangent (PyTorch's and NeuralForecast's default).
    #[default]
    Tanh,
    /// max(x, 0).
    Relu,
}

/// RNN's cell: the Elman cell with its activation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RnnCell {
    /// The cell's non-linearity.
    pub encoder_activation: RnnActivation,
}

impl RecurrentCell for RnnCell {
    const HIDDEN_SIZE: usize = 128;

    fn cell(&self) -> Cell {
        match self.encoder_activation {
            RnnActivation::Tanh => Cell::RnnTanh,
            RnnActivation::Relu => Cell::RnnRelu,
        }
    }
}

/// Hyperparameters of a recurrent model (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, bound = "")]
pub struct RecurrentConfig<C: RecurrentCell> {
    /// Number of stacked recurrent layers.
    pub encoder_n_layers: usize,
    /// Units of each recurrent layer's state.
    pub encoder_hidden_size: usize,
    /// Whether the recurrent layers have biases.
    pub encoder_bias: bool,
    /// Dropout on the outputs of every recurrent layer but the last, while training.
    pub encoder_dropout: f64,
    /// Width of the decoder's hidden layers.
    pub decoder_hidden_size: usize,
    /// Number of decoder layers (1: a single linear map).
    pub decoder_layers: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
    /// Forecast one step at a time, feeding each forecast back (true), or all steps at once
    /// from the encoder's states (false).
    pub recurrent: bool,
    /// With `recurrent`: outsample steps of each training window (teacher-forced).
    pub h_train: usize,
    /// With `recurrent`: insample values read at inference (unset: `input_size`).
    pub inference_input_size: Option<usize>,
    /// The model's own cell hyperparameters.
    #[serde(flatten)]
    pub cell: C,
}

/// LSTM hyperparameters.
pub type LstmConfig = RecurrentConfig<LstmCell>;
/// GRU hyperparameters.
pub type GruConfig = RecurrentConfig<GruCell>;
/// RNN hyperparameters.
pub type RnnConfig = RecurrentConfig<RnnCell>;

impl<C: RecurrentCell> Default for RecurrentConfig<C> {
    fn default() -> Self {
        RecurrentConfig {
            encoder_n_layers: 2,
            encoder_hidden_size: C::HIDDEN_SIZE,
            encoder_bias: true,
            encoder_dropout: 0.0,
            decoder_hidden_size: 128,
            decoder_layers: 2,
            decoder_activation: Activation::ReLU,
            recurrent: false,
            h_train: 1,
            inference_input_size: None,
            cell: C::default(),
        }
    }
}

impl<C: RecurrentCell> ArchitectureConfig for RecurrentConfig<C> {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            windows_batch_size: 128,
            scaler_type: ScalerType::Robust,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "",
            &[
                ("encoder_n_layers", self.encoder_n_layers),
                ("encoder_hidden_size", self.encoder_hidden_size),
                ("decoder_layers", self.decoder_layers),
                ("decoder_hidden_size", self.decoder_hidden_size),
                ("h_train", self.h_train),
                (
                    "inference_input_size",
                    self.inference_input_size.unwrap_or(1),
                ),
            ],
        )?;
        require_dropout_rate("", "encoder_dropout", self.encoder_dropout)
    }

    fn step_windows(&self) -> Option<StepWindows> {
        self.recurrent.then_some(StepWindows {
            h_train: self.h_train,
            inference_input_size: self.inference_input_size,
            trajectory_samples: None,
            step_draws: None,
        })
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn has_default_input_size(&self) -> bool {
        true
    }

    /// Direct: the encoder's weights apply at every insample step, the decoder's at every
    /// horizon step (the upsampling layer's once per hidden unit). One step at a time: every
    /// weight at each of the `input_size + h_train` steps read (the small output map counted
    /// there too).
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        if self.recurrent {
            return 6.0 * ((shape.input_size + self.h_train) * parameters) as f64;
        }
        let (hidden, layers) = (self.encoder_hidden_size, self.encoder_n_layers);
        let rows = self.cell.cell().gates() * hidden;
        let inputs = shape.per_step_width();
        let bias = if self.encoder_bias { 2 * rows } else { 0 };
        let encoder =
            rows * (inputs + hidden) + bias + layers.saturating_sub(1) * (rows * 2 * hidden + bias);
        let upsample = if shape.horizon > shape.input_size {
            (shape.input_size + 1) * shape.horizon
        } else {
            0
        };
        let decoder = parameters.saturating_sub(encoder + upsample);
        6.0 * (shape.input_size * encoder + shape.horizon * decoder + hidden * upsample) as f64
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        // Created in NeuralForecast's order: encoder, then the decoder and the upsampling layer
        // (direct) or the output map (one step at a time).
        let projected = self.recurrent && self.cell.projects_layers();
        let layers = RecurrentLayers {
            bias: self.encoder_bias,
            proj_size: if projected { n_outputs } else { 0 },
            ..RecurrentLayers::new(
                self.cell.cell(),
                shape.per_step_width(),
                self.encoder_hidden_size,
                self.encoder_n_layers,
            )
        };
        let encoder = RecurrentEncoder::new(
            store,
            "hist_encoder",
            layers,
            self.encoder_dropout,
            seed,
            RecurrentKernel::default_kernel(),
        )?;
        if self.recurrent {
            let head = if projected {
                StepHead::Identity
            } else {
                StepHead::Linear(Dense::new(
                    store,
                    "proj",
                    self.encoder_hidden_size,
                    n_outputs,
                )?)
            };
            return Ok(Box::new(StepNetwork {
                encoder,
                head,
                order: StepFeatureOrder::HistStatFutr,
                h_train: self.h_train,
            }));
        }
        let decoder = mlp_decoder(
            store,
            self.encoder_hidden_size + shape.exog.futr,
            self.decoder_hidden_size,
            self.decoder_layers,
            n_outputs,
            self.decoder_activation,
            seed,
        )?;
        let upsample = (shape.horizon > shape.input_size)
            .then(|| Dense::new(store, "upsample_sequence", shape.input_size, shape.horizon))
            .transpose()?;
        Ok(Box::new(RecurrentForecaster {
            encoder,
            decoder,
            upsample,
            horizon: shape.horizon,
        }))
    }
}

/// A fitted-or-fresh recurrent model.
struct RecurrentForecaster {
    encoder: RecurrentEncoder,
    decoder: FeedForward,
    /// Stretches the window's `L` hidden states to `h` when `h > L`.
    upsample: Option<Dense>,
    horizon: usize,
}

impl Model for RecurrentForecaster {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let features = input.per_step_features()?;
        // [B, L, H] stretched to h steps, or the last h of them.
        let hidden = match &self.upsample {
            Some(upsample) => {
                upsample.forward_over_steps(&self.encoder.forward(&features, train)?)?
            }
            None => self.encoder.forward_last(&features, self.horizon, train)?,
        };
        let features = input.append_futr_horizon(hidden)?;
        self.decoder.forward(&features, train)
    }

    fn is_deterministic(&self) -> bool {
        self.encoder.is_deterministic()
    }
}
