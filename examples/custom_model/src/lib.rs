//! A model and a loss written outside neuro-divergent against its public API only, registered
//! by name so that `ModelSpec`, `NeuralForecast` (fit, predict, cross-validation, conformal
//! intervals), chunked parallel training and checkpoints treat them as built-in ones.
//!
//! - `ResidualMLP`: the window minus its last value, with any exogenous columns (historic,
//!   future, static), through a ReLU perceptron, the last value added back to every output (a
//!   small, level-free forecaster).
//! - `logcosh[:SCALE]`: the mean of `SCALE² · log(cosh((ŷ − y) / SCALE))`, quadratic near zero
//!   and linear in the tails, like a smooth Huber loss (`SCALE` 1 by default).

use std::path::Path;
use std::sync::Arc;

use candle_core::Tensor;
use neuro_divergent::conformal::PredictionIntervals;
use neuro_divergent::data::read_csv;
use neuro_divergent::losses::{register_loss, weighted_mean, CustomLoss, LossBatch};
use neuro_divergent::models::{
    register_model, ArchitectureConfig, ExogenousKinds, Model, ModelInput,
};
use neuro_divergent::nn::{Activation, Dense, ParamStore};
use neuro_divergent::preprocess::ScalerType;
use neuro_divergent::train::TrainConfig;
use neuro_divergent::windows::WindowShape;
use neuro_divergent::{Error, FitOptions, ModelSpec, NeuralForecast, Result};
use serde::{Deserialize, Serialize};

/// The name the model is registered under.
pub const MODEL_NAME: &str = "ResidualMLP";
/// The name the loss is registered under.
pub const LOSS_NAME: &str = "logcosh";

/// Registers the model and the loss (once per process; calling it again is harmless).
pub fn register() -> Result<()> {
    register_model::<ResidualMlpConfig>(MODEL_NAME)?;
    register_loss(LOSS_NAME, log_cosh)
}

/// `ResidualMLP` hyperparameters, settable by name (`hidden_size=64`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResidualMlpConfig {
    /// Width of the hidden layer.
    pub hidden_size: usize,
}

impl Default for ResidualMlpConfig {
    fn default() -> Self {
        ResidualMlpConfig { hidden_size: 128 }
    }
}

impl ArchitectureConfig for ResidualMlpConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            max_steps: 500,
            scaler_type: ScalerType::Robust,
            windows_batch_size: 256,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        if self.hidden_size == 0 {
            return Err(Error::Config(format!(
                "{MODEL_NAME}: hidden_size must be at least 1"
            )));
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
        _seed: u64,
    ) -> Result<Box<dyn Model>> {
        Ok(Box::new(ResidualMlp {
            // The window, then the exogenous blocks flattened step by step.
            hidden: Dense::new(
                store,
                "hidden",
                shape.flat_input_width(|t| t),
                self.hidden_size,
            )?,
            output: Dense::new(store, "output", self.hidden_size, shape.horizon * n_outputs)?,
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

struct ResidualMlp {
    hidden: Dense,
    output: Dense,
    horizon: usize,
    n_outputs: usize,
}

impl Model for ResidualMlp {
    fn forward(&self, input: &ModelInput, _train: bool) -> Result<Tensor> {
        let (batch, steps) = input.insample.dims2()?;
        let last = input.insample.narrow(1, steps - 1, 1)?;
        let centred = input.insample.broadcast_sub(&last)?;
        let features = input.with_exog(&centred, None)?;
        let hidden = self.hidden.forward(&features, Some(Activation::ReLU))?;
        let out = self.output.forward(&hidden, None)?.broadcast_add(&last)?;
        Ok(out.reshape((batch, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}

/// The log-cosh loss at a scale.
pub struct LogCosh {
    scale: f64,
}

impl CustomLoss for LogCosh {
    fn compute(&self, batch: &LossBatch<'_>) -> Result<Tensor> {
        // log(cosh(x)) = |x| + log(1 + e^(-2|x|)) - log 2, without overflow for large |x|.
        let x = ((batch.y_hat.squeeze(2)? - batch.y)? / self.scale)?.abs()?;
        let tail = ((x.affine(-2.0, 0.0)?.exp()? + 1.0)?.log()? - std::f64::consts::LN_2)?;
        let per_point = ((x + tail)? * (self.scale * self.scale))?;
        weighted_mean(&per_point, batch.weight)
    }
}

/// Makes `logcosh` or `logcosh:SCALE`.
fn log_cosh(arg: Option<&str>) -> Result<Arc<dyn CustomLoss>> {
    let scale = match arg {
        None => 1.0,
        Some(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| {
                Error::Config(format!(
                    "loss '{LOSS_NAME}:{text}': the scale must be a positive number"
                ))
            })?,
    };
    Ok(Arc::new(LogCosh { scale }))
}

/// What [`air_passengers_demo`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoReport {
    /// Forecast columns: the model's and its 80% interval's.
    pub columns: Vec<String>,
    /// MAE of the forecast of the 12 held-out months.
    pub mae: f64,
    /// MAE of the seasonal naive forecast (the year before) of the same months.
    pub naive_mae: f64,
    /// Share of the held-out months inside the 80% conformal interval.
    pub coverage_80: f64,
    /// The model reloaded from its checkpoint forecast the same numbers.
    pub reloaded_identical: bool,
    /// MAE over three rolling cross-validation windows of a year.
    pub cv_mae: f64,
}

/// The model with the loss, trained briefly on monthly data (h 12, a two-year window).
fn demo_spec() -> Result<ModelSpec> {
    let mut spec = ModelSpec::new(MODEL_NAME, 12, 24)?;
    spec.set_param("hidden_size", "64")?;
    spec.set_param("loss", &format!("{LOSS_NAME}:0.5"))?;
    spec.set_param("max_steps", "300")?;
    Ok(spec)
}

/// Registers the model and the loss, then on the AirPassengers CSV at `data`: fits with the
/// last year held out and 80% conformal intervals calibrated, forecasts it, saves the fitted
/// model to `model_dir`, loads it back and forecasts again, and cross-validates over the last
/// three years.
pub fn air_passengers_demo(data: &Path, model_dir: &Path) -> Result<DemoReport> {
    register()?;
    let frame = read_csv(data, None)?;
    let (train, test) = frame.split_last(12)?;
    let mut nf = NeuralForecast::new(vec![demo_spec()?], None)?;
    let options = FitOptions {
        prediction_intervals: Some(PredictionIntervals::default()),
        ..FitOptions::default()
    };
    nf.fit(&train, options, None)?;
    let levels = [80.0];
    let forecasts = nf.predict_with_levels(None, &levels)?;
    let column = |name: &str| {
        forecasts
            .column(name)
            .ok_or_else(|| Error::Config(format!("no forecast column {name}")))
    };
    let actual = &test.series()[0].y;
    let history = &train.series()[0].y;
    let mean_abs = |a: &[f64], b: &[f64]| {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
    };
    let (lo, hi) = (
        column(&format!("{MODEL_NAME}-lo-80"))?,
        column(&format!("{MODEL_NAME}-hi-80"))?,
    );
    let inside = actual
        .iter()
        .zip(lo.iter().zip(hi))
        .filter(|(y, (l, h))| (*l..=*h).contains(y))
        .count();
    nf.save(model_dir)?;
    let reloaded = NeuralForecast::load(model_dir)?.predict_with_levels(None, &levels)?;
    let mut cv_model = NeuralForecast::new(vec![demo_spec()?], None)?;
    let cv = cv_model.cross_validation(&frame, 3, 12, FitOptions::default(), None)?;
    let observed =
        cv.y.as_ref()
            .ok_or_else(|| Error::Config("cross-validation gave no observed values".into()))?;
    let cv_forecast = cv
        .column(MODEL_NAME)
        .ok_or_else(|| Error::Config("cross-validation gave no forecasts".into()))?;
    Ok(DemoReport {
        columns: forecasts.columns.clone(),
        mae: mean_abs(actual, column(MODEL_NAME)?),
        naive_mae: mean_abs(actual, &history[history.len() - 12..]),
        coverage_80: inside as f64 / actual.len() as f64,
        reloaded_identical: reloaded == forecasts,
        cv_mae: mean_abs(observed, cv_forecast),
    })
}
