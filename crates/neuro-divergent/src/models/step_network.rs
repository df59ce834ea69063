//! The network of the models that forecast one step at a time from a recurrent state (DeepAR;
//! RNN, LSTM and GRU with `recurrent=true`): a recurrent encoder reads, at each position, the
//! value there and the exogenous values of the next position, and a per-step head maps each
//! output of the encoder to the raw outputs (loss parameters) of the next value.
//!
//! Training is teacher-forced: [`Model::forward`] reads the insample window and the first
//! `h_train - 1` outsample values in one pass and returns the outputs of the `h_train` outsample
//! steps. Forecasting steps through the same network ([`Autoregressive`]).

use candle_core::Tensor;

use super::{Model, ModelInput, StepFeatureOrder};
use crate::autoregressive::Autoregressive;
use crate::error::{Error, Result};
use crate::nn::{Dense, FeedForward, RecurrentEncoder, RecurrentState};

/// What maps the encoder's output at a step to that step's raw outputs.
#[derive(Debug)]
pub(crate) enum StepHead {
    /// The encoder's output is already the raw outputs (a projected LSTM).
    Identity,
    /// One linear layer (NeuralForecast's `proj` of RNN and GRU).
    Linear(Dense),
    /// A stack of dense layers (DeepAR's decoder).
    Stack(Box<FeedForward>),
}

impl StepHead {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            StepHead::Identity => Ok(x.clone()),
            StepHead::Linear(dense) => dense.forward(x, None),
            StepHead::Stack(stack) => stack.forward(x, train),
        }
    }
}

/// A recurrent encoder and a per-step head, trained teacher-forced and forecasting one step at a
/// time.
#[derive(Debug)]
pub(crate) struct StepNetwork {
    /// Reads the per-step features.
    pub encoder: RecurrentEncoder,
    /// Maps each of the encoder's outputs to raw outputs.
    pub head: StepHead,
    /// The order of the exogenous blocks in the per-step features.
    pub order: StepFeatureOrder,
    /// Outsample steps of each training window.
    pub h_train: usize,
}

impl Model for StepNetwork {
    /// The teacher-forced pass: outputs `[B, h_train, P]` for the training window's outsample
    /// steps.
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let features = input.shifted_step_features(self.h_train - 1, self.order)?;
        let outputs = self.encoder.forward(&features, train)?;
        let steps = outputs.dim(1)?;
        let scored = outputs.narrow(1, steps - self.h_train, self.h_train)?;
        self.head.forward(&scored, train)
    }

    fn is_deterministic(&self) -> bool {
        self.encoder.is_deterministic()
    }

    fn autoregressive(&self) -> Option<&dyn Autoregressive> {
        Some(self)
    }
}

impl Autoregressive for StepNetwork {
    fn condition(&self, input: &ModelInput) -> Result<(Tensor, RecurrentState)> {
        let features = input.shifted_step_features(0, self.order)?;
        let (batch, steps, _) = features.dims3()?;
        let mut state = self.encoder.zero_state(batch, &features)?;
        let mut output = None;
        for t in 0..steps {
            let x = features.narrow(1, t, 1)?.squeeze(1)?;
            output = Some(self.encoder.advance(&x, &mut state)?);
        }
        let output = output.ok_or_else(|| Error::Train("empty insample window".into()))?;
        Ok((self.head.forward(&output, false)?, state))
    }

    fn advance(
        &self,
        input: &ModelInput,
        state: &mut RecurrentState,
        y: &Tensor,
        step: usize,
    ) -> Result<Tensor> {
        let features = input.forecast_step_features(y, step, self.order)?;
        let output = self.encoder.advance(&features, state)?;
        self.head.forward(&output, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ArchitectureConfig, DeepArConfig, GruConfig, LstmConfig, RnnConfig};
    use crate::nn::ParamStore;
    use crate::windows::{ExogDims, WindowShape};
    use candle_core::Device;

    fn grid(dims: &[usize], f: impl Fn(usize) -> f64) -> Tensor {
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|i| f(i) as f32).collect();
        Tensor::from_vec(values, dims, &Device::Cpu).unwrap()
    }

    fn max_gap(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Every step network (DeepAR's, and RNN, LSTM and GRU one step at a time), stepped through
    /// a window and fed the teacher's values, gives the outputs of the teacher-forced training
    /// pass at each of its `h_train` steps: training and forecasting line up the values and the
    /// exogenous inputs the same way.
    #[test]
    fn stepping_fed_the_teacher_gives_the_training_pass_outputs() {
        let (b, l, h_train, outputs) = (3, 7, 3, 2);
        let shape = WindowShape {
            input_size: l,
            horizon: h_train,
            exog: ExogDims {
                hist: 1,
                futr: 2,
                stat: 1,
            },
        };
        let configs: Vec<(&str, Box<dyn ArchitectureConfig>)> = vec![
            (
                "DeepAR",
                Box::new(DeepArConfig {
                    lstm_hidden_size: 8,
                    lstm_dropout: 0.0,
                    h_train,
                    ..DeepArConfig::default()
                }),
            ),
            (
                "LSTM",
                Box::new(LstmConfig {
                    encoder_hidden_size: 8,
                    recurrent: true,
                    h_train,
                    ..LstmConfig::default()
                }),
            ),
            (
                "GRU",
                Box::new(GruConfig {
                    encoder_hidden_size: 8,
                    recurrent: true,
                    h_train,
                    ..GruConfig::default()
                }),
            ),
            (
                "RNN",
                Box::new(RnnConfig {
                    encoder_hidden_size: 8,
                    recurrent: true,
                    h_train,
                    ..RnnConfig::default()
                }),
            ),
        ];
        let insample = grid(&[b, l], |i| (i as f64 * 0.7).sin());
        let input = ModelInput {
            insample_mask: insample.ones_like().unwrap(),
            insample,
            hist: Some(grid(&[b, l, 1], |i| (i as f64 * 0.3).cos())),
            futr: Some(grid(&[b, l + h_train, 2], |i| (i % 5) as f64 * 0.1)),
            stat: Some(grid(&[b, 1], |i| i as f64)),
            teacher: Some(grid(&[b, h_train], |i| (i as f64 * 1.3).cos())),
        };
        let teacher = input.teacher.clone().unwrap();
        for (name, config) in configs {
            let mut store = ParamStore::new(3, &Device::Cpu);
            let model = config.build(shape, outputs, &mut store, 3).unwrap();
            let trained = model.forward(&input, false).unwrap();
            assert_eq!(trained.dims(), &[b, h_train, outputs], "{name}");
            let stepper = model.autoregressive().unwrap();
            let (mut raw, mut state) = stepper.condition(&input).unwrap();
            for step in 0..h_train {
                if step > 0 {
                    let fed = teacher.narrow(1, step - 1, 1).unwrap().squeeze(1).unwrap();
                    raw = stepper.advance(&input, &mut state, &fed, step).unwrap();
                }
                let expected = trained.narrow(1, step, 1).unwrap().squeeze(1).unwrap();
                let gap = max_gap(&raw, &expected);
                assert!(gap < 1e-5, "{name}, step {step}: {gap}");
            }
        }
    }
}
