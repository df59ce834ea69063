//! DeepAR (Salinas et al., 2020) as NeuralForecast 3.3 builds it: an LSTM reads the series one
//! step at a time, each step's value followed by the historic, future and static exogenous
//! values of the step it predicts, and a decoder maps every hidden state to the parameters of the
//! next value's distribution (Student's t by default).
//!
//! Training is teacher-forced on windows of `input_size + 1` insample values and `h_train`
//! outsample values, the loss taken on the last `h_train` predictions. Forecasts are made one
//! step at a time ([`crate::autoregressive`]): with a distribution loss as `trajectory_samples`
//! sample paths per series, each fed its own draws (the paper's ancestral sampling; NeuralForecast
//! 3.3 instead feeds every step the distribution's mean and samples each step on its own, which
//! leaves later steps' intervals without the uncertainty of earlier ones); with a point or
//! quantile loss by feeding back the point forecast, as NeuralForecast does.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, Model, ModelInput, StepWindows,
};
use crate::autoregressive::Autoregressive;
use crate::error::{Error, Result};
use crate::losses::{DistributionLoss, Family, Loss, PointLoss, QuantileSet};
use crate::nn::{
    perceptron_layers, Activation, Cell, FeedForward, ParamStore, RecurrentEncoder,
    RecurrentKernel, RecurrentState,
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
    /// Sample paths drawn per series when forecasting with a distribution loss.
    pub trajectory_samples: usize,
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
            h_train: 1,
            inference_input_size: None,
        }
    }
}

impl DeepArConfig {
    /// Features the LSTM reads per step: the value, then historic, future and static columns.
    fn step_width(shape: WindowShape) -> usize {
        1 + shape.exog.hist + shape.exog.futr + shape.exog.stat
    }
}

impl ArchitectureConfig for DeepArConfig {
    fn train_defaults(&self) -> TrainConfig {
        let levels =
            QuantileSet::from_levels(&[80.0, 90.0]).expect("NeuralForecast's levels are valid");
        TrainConfig {
            loss: Loss::Distribution(DistributionLoss {
                family: Family::StudentT,
                outputs: levels,
            }),
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
            trajectory_samples: self.trajectory_samples,
        })
    }

    fn reads_exogenous(&self) -> bool {
        true
    }

    /// The LSTM's weights apply at each of the `input_size + h_train` steps it reads, the
    /// decoder's at each of the `h_train` steps scored.
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        let (hidden, rows) = (self.lstm_hidden_size, 4 * self.lstm_hidden_size);
        let first = rows * (Self::step_width(shape) + hidden + 2);
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
            Cell::Lstm,
            Self::step_width(shape),
            self.lstm_hidden_size,
            self.lstm_n_layers,
            true,
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
        Ok(Box::new(DeepAr {
            encoder,
            decoder,
            h_train: self.h_train,
        }))
    }
}

/// A fitted-or-fresh DeepAR model.
struct DeepAr {
    encoder: RecurrentEncoder,
    decoder: FeedForward,
    h_train: usize,
}

impl DeepAr {
    /// The LSTM's inputs `[B, T, 1 + X + F + S]` over the insample values followed by the first
    /// `teacher_steps` outsample values: at each position its value and the exogenous values of
    /// the position after it (the one it predicts), historic values zero past the insample part.
    fn sequence_features(&self, input: &ModelInput, teacher_steps: usize) -> Result<Tensor> {
        let (batch, insample) = input.insample.dims2()?;
        let steps = insample + teacher_steps;
        let mut values = vec![input.insample.clone()];
        if teacher_steps > 0 {
            let teacher = input.teacher.as_ref().ok_or_else(|| {
                Error::Train("DeepAR's training pass needs the outsample targets".into())
            })?;
            values.push(teacher.narrow(1, 0, teacher_steps)?);
        }
        let mut parts = vec![Tensor::cat(&values, 1)?.unsqueeze(2)?];
        if let Some(hist) = &input.hist {
            let known = hist.narrow(1, 1, insample - 1)?;
            let unknown = Tensor::zeros(
                (batch, steps + 1 - insample, hist.dim(2)?),
                hist.dtype(),
                hist.device(),
            )?;
            parts.push(Tensor::cat(&[known, unknown], 1)?);
        }
        if let Some(futr) = &input.futr {
            parts.push(futr.narrow(1, 1, steps)?);
        }
        if let Some(stat) = &input.stat {
            let width = stat.dim(1)?;
            parts.push(stat.unsqueeze(1)?.broadcast_as((batch, steps, width))?);
        }
        Ok(Tensor::cat(&parts, 2)?.contiguous()?)
    }
}

impl Model for DeepAr {
    /// The teacher-forced pass: outputs `[B, h_train, P]` for the training window's outsample
    /// steps.
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let features = self.sequence_features(input, self.h_train - 1)?;
        let states = self.encoder.forward(&features, train)?;
        let steps = states.dim(1)?;
        let scored = states.narrow(1, steps - self.h_train, self.h_train)?;
        self.decoder.forward(&scored, train)
    }

    fn is_deterministic(&self) -> bool {
        self.encoder.is_deterministic()
    }

    fn autoregressive(&self) -> Option<&dyn Autoregressive> {
        Some(self)
    }
}

impl Autoregressive for DeepAr {
    fn condition(&self, input: &ModelInput) -> Result<(Tensor, RecurrentState)> {
        let features = self.sequence_features(input, 0)?;
        let (batch, steps, _) = features.dims3()?;
        let mut state = self.encoder.zero_state(batch, &features)?;
        let mut hidden = None;
        for t in 0..steps {
            let x = features.narrow(1, t, 1)?.squeeze(1)?;
            hidden = Some(self.encoder.advance(&x, &mut state)?);
        }
        let hidden = hidden.ok_or_else(|| Error::Train("DeepAR: empty insample window".into()))?;
        Ok((self.decoder.forward(&hidden, false)?, state))
    }

    fn advance(
        &self,
        input: &ModelInput,
        state: &mut RecurrentState,
        y: &Tensor,
        step: usize,
    ) -> Result<Tensor> {
        let (batch, insample) = input.insample.dims2()?;
        let mut parts = vec![y.reshape((batch, 1))?];
        if let Some(hist) = &input.hist {
            parts.push(Tensor::zeros(
                (batch, hist.dim(2)?),
                hist.dtype(),
                hist.device(),
            )?);
        }
        if let Some(futr) = &input.futr {
            parts.push(futr.narrow(1, insample + step, 1)?.squeeze(1)?);
        }
        if let Some(stat) = &input.stat {
            parts.push(stat.clone());
        }
        let hidden = self.encoder.advance(&Tensor::cat(&parts, 1)?, state)?;
        self.decoder.forward(&hidden, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::ExogDims;
    use candle_core::{DType, Device};

    fn grid(dims: &[usize], f: impl Fn(usize) -> f64) -> Tensor {
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|i| f(i) as f32).collect();
        Tensor::from_vec(values, dims, &Device::Cpu).unwrap()
    }

    #[test]
    fn stepping_through_a_window_gives_the_training_pass_outputs() {
        let shape = WindowShape {
            input_size: 7,
            horizon: 1,
            exog: ExogDims {
                hist: 1,
                futr: 2,
                stat: 1,
            },
        };
        let config = DeepArConfig {
            lstm_hidden_size: 8,
            lstm_dropout: 0.0,
            ..DeepArConfig::default()
        };
        let mut store = ParamStore::new(3, &Device::Cpu);
        let model = config.build(shape, 2, &mut store, 3).unwrap();
        let (b, l) = (3, 7);
        let insample = grid(&[b, l], |i| (i as f64 * 0.7).sin());
        let input = ModelInput {
            insample_mask: insample.ones_like().unwrap(),
            insample,
            hist: Some(grid(&[b, l, 1], |i| (i as f64 * 0.3).cos())),
            futr: Some(grid(&[b, l + 3, 2], |i| (i % 5) as f64 * 0.1)),
            stat: Some(grid(&[b, 1], |i| i as f64)),
            teacher: None,
        };
        let trained = model.forward(&input, false).unwrap(); // [B, 1, 2]
        let stepper = model.autoregressive().unwrap();
        let (first, _) = stepper.condition(&input).unwrap();
        let diff = trained
            .squeeze(1)
            .unwrap()
            .sub(&first)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-5, "{diff}");
        assert_eq!(first.dtype(), DType::F32);
    }
}
