//! DeepAR (Salinas et al., 2020) as NeuralForecast 3.3 builds it: an LSTM reads the series one
//! step at a time, each step's value followed by the historic, future and static exogenous
//! values of the step it predicts, and a decoder maps every hidden state to the parameters of the
//! next value's distribution (Student's t by default).
//!
//! Training is teacher-forced on windows of `input_size + 1` insample values and `h_train`
//! outsample values, the loss taken on the last `h_train` predictions. Forecasts are made one
//! step at a time ([`crate::autoregressive`]): with a distribution loss as `trajectory_samples`
//! sample paths per series, each fed its own draws (the paper's ancestral sampling), or, with
//! `sample_paths=false`, as NeuralForecast 3.3 does: every step is fed the distribution's mean and
//! sampled on its own (`trajectory_samples` draws per step), a hundredth of the recurrent work,
//! whose later steps' intervals leave out the uncertainty of earlier ones; with a point or
//! quantile loss by feeding back the point forecast, as NeuralForecast does.

use serde::{Deserialize, Serialize};

use super::step_network::{StepHead, StepNetwork};
use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds, Model,
    StepFeatureOrder, StepWindows,
};
use crate::error::{Error, Result};
use crate::losses::{DistributionLoss, Family, Loss, PointLoss, QuantileSet};
use crate::nn::{
    perceptron_layers, Activation, Cell, FeedForward, ParamStore, RecurrentEncoder,
    RecurrentKernel, RecurrentLayers,
};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// DeepAR hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeepArConfig {
    /// Number of stacked LSTM layers.
    pub lstm_n_layers: usize,
    /// Units of each LSTM layer's state.
    pub lstm_hidden_size: usize,
    /// Dropout between LSTM layers while training.
    pub lstm_dropout: f64,
    /// Hidden layers of the decoder (0: a single linear map).
    pub decoder_hidden_layers: usize,
    /// Width of the decoder's hidden layers (needed when there are any).
    pub decoder_hidden_size: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
    /// Sample paths drawn per series when forecasting with a distribution loss (with
    /// `sample_paths=false`: draws per step).
    pub trajectory_samples: usize,
    /// Forecast with sample paths (true), or feed back the mean and sample each step on its
    /// own, as NeuralForecast 3.3 does (false).
    pub sample_paths: bool,
    /// Outsample steps of each training window (teacher-forced).
    pub h_train: usize,
    /// Insample values read at inference (unset: `input_size`).
    pub inference_input_size: Option<usize>,
}

impl Default for DeepArConfig {
    fn default() -> Self {
        DeepArConfig {
            lstm_n_layers: 2,
            lstm_hidden_size: 128,
            lstm_dropout: 0.1,
            decoder_hidden_layers: 0,
            decoder_hidden_size: 0,
            decoder_activation: Activation::ReLU,
            trajectory_samples: 100,
            sample_paths: true,
            h_train: 1,
            inference_input_size: None,
        }
    }
}

impl ArchitectureConfig for DeepArConfig {
    fn train_defaults(&self) -> TrainConfig {
        let levels =
            QuantileSet::from_levels(&[80.0, 90.0]).expect("NeuralForecast's levels are valid");
        TrainConfig {
            loss: Loss::Distribution(DistributionLoss::new(Family::StudentT, levels)),
            valid_loss: Some(Loss::Point(PointLoss::Mae)),
            num_lr_decays: 3,
            windows_batch_size: 1024,
            scaler_type: ScalerType::Identity,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "DeepAR: ",
            &[
                ("lstm_n_layers", self.lstm_n_layers),
                ("lstm_hidden_size", self.lstm_hidden_size),
                ("trajectory_samples", self.trajectory_samples),
                ("h_train", self.h_train),
                (
                    "inference_input_size",
                    self.inference_input_size.unwrap_or(1),
                ),
            ],
        )?;
        if self.decoder_hidden_layers > 0 && self.decoder_hidden_size == 0 {
            return Err(Error::Config(
                "DeepAR: decoder_hidden_size must be at least 1 when decoder_hidden_layers > 0"
                    .into(),
            ));
        }
        require_dropout_rate("DeepAR: ", "lstm_dropout", self.lstm_dropout)
    }

    fn step_windows(&self) -> Option<StepWindows> {
        Some(StepWindows {
            h_train: self.h_train,
            inference_input_size: self.inference_input_size,
            trajectory_samples: self.sample_paths.then_some(self.trajectory_samples),
            step_draws: (!self.sample_paths).then_some(self.trajectory_samples),
        })
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn has_default_input_size(&self) -> bool {
        true
    }

    /// The LSTM's weights apply at each of the `input_size + h_train` steps it reads, the
    /// decoder's at each of the `h_train` steps scored.
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        let (hidden, rows) = (self.lstm_hidden_size, 4 * self.lstm_hidden_size);
        let first = rows * (shape.per_step_width() + hidden + 2);
        let encoder = first + (self.lstm_n_layers - 1) * rows * (2 * hidden + 2);
        let decoder = parameters.saturating_sub(encoder);
        let steps = shape.input_size + self.h_train;
        6.0 * (steps * encoder + self.h_train * decoder) as f64
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        // Created in NeuralForecast's order: the LSTM, then the decoder.
        let encoder = RecurrentEncoder::new(
            store,
            "hist_encoder",
            RecurrentLayers::new(
                Cell::Lstm,
                shape.per_step_width(),
                self.lstm_hidden_size,
                self.lstm_n_layers,
            ),
            self.lstm_dropout,
            seed,
            RecurrentKernel::default_kernel(),
        )?;
        let layers = perceptron_layers(
            self.lstm_hidden_size,
            self.decoder_hidden_size,
            self.decoder_hidden_layers,
            n_outputs,
        );
        let decoder = FeedForward::new(
            store,
            "decoder.layers",
            &layers,
            self.decoder_activation,
            0.0,
            seed,
        )?;
        Ok(Box::new(StepNetwork {
            encoder,
            head: StepHead::Stack(Box::new(decoder)),
            order: StepFeatureOrder::HistFutrStat,
            h_train: self.h_train,
        }))
    }
}
