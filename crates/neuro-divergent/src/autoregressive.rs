//! Forecasting one step at a time (NeuralForecast's `RECURRENT` models, DeepAR). Such a model
//! learns to predict the next value from the values so far; at inference it reads the insample
//! window, forecasts the first step, and is then fed each step's value to forecast the next.
//!
//! Two procedures drive it here:
//! - [`point_path`] feeds back each step's point forecast: a point output, the mean of quantile
//!   outputs, or a distribution's mean. Validation uses it (as NeuralForecast does), and so do
//!   forecasts of models trained with point or quantile losses.
//! - [`sample_forecast_columns`] draws `samples` sample paths per series (ancestral sampling, as in
//!   the DeepAR paper): every path is fed its own draw at every step, so the spread of later
//!   steps carries the uncertainty of earlier ones. The forecast columns are the paths' mean and
//!   quantiles at each step.

use candle_core::{Tensor, D};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::error::Result;
use crate::losses::{DistributionLoss, Loss};
use crate::models::ModelInput;
use crate::nn::{repeat_rows, RecurrentState};
use crate::threads;
use crate::windows::WindowScale;

/// A model that forecasts one step at a time from a recurrent state.
pub trait Autoregressive: Send + Sync {
    /// Reads the insample window of `input` from zero states: the raw outputs for the first
    /// forecast step (`[B, P]`) and the state after the window.
    fn condition(&self, input: &ModelInput) -> Result<(Tensor, RecurrentState)>;

    /// Reads the scaled value `y: [B]` of forecast step `step - 1` (a forecast or a draw), with
    /// the exogenous values `input` holds for forecast step `step`, and returns the raw outputs
    /// of forecast step `step` (`[B, P]`).
    fn advance(
        &self,
        input: &ModelInput,
        state: &mut RecurrentState,
        y: &Tensor,
        step: usize,
    ) -> Result<Tensor>;
}

/// The scaled point forecast `[B]` in the raw outputs `[B, P]` of one step: the output of a
/// point loss, the mean of quantile outputs, a registered loss's choice (`CustomLoss::point`),
/// a distribution's mean mapped back to the model's scale.
fn point_of(raw: &Tensor, loss: &Loss, window: &WindowScale) -> Result<Tensor> {
    Ok(match loss {
        Loss::Point(_) => raw.narrow(1, 0, 1)?.squeeze(1)?,
        Loss::Quantiles(_) | Loss::HuberQuantiles(_) => raw.mean(D::Minus1)?,
        Loss::Custom(c) => c.loss().point(raw)?,
        Loss::Distribution(d) => {
            let mean = d.mean(&raw.unsqueeze(1)?, window)?; // [B, 1], the data's scale
            mean.sub(&window.shift)?.div(&window.scale)?.squeeze(1)?
        }
    })
}

/// Raw outputs `[B, horizon, P]`, each step forecast from the point forecasts of the steps before
/// it.
pub fn point_path(
    model: &dyn Autoregressive,
    input: &ModelInput,
    horizon: usize,
    loss: &Loss,
    window: &WindowScale,
) -> Result<Tensor> {
    let (mut raw, mut state) = model.condition(input)?;
    let mut steps = Vec::with_capacity(horizon);
    for step in 0..horizon {
        if step > 0 {
            let y = point_of(&raw, loss, window)?;
            raw = model.advance(input, &mut state, &y, step)?;
        }
        steps.push(raw.clone());
    }
    Ok(Tensor::stack(&steps, 1)?)
}

/// Sample paths computed together: enough rows for large products, few enough to keep every
/// layer's state small.
const PATH_ROWS_PER_GROUP: usize = 8192;

/// The forecast columns of `samples` sample paths per window of `input` (each `B * horizon`
/// values in window-then-step order): the paths' mean, then the quantiles of `loss`'s outputs.
///
/// Windows are taken in groups of a fixed size, side by side on the configured workers; each
/// group draws from its own generator, seeded in group order from `rng`, so which draws a series
/// gets depends on the seed alone, not on the thread count or on scheduling.
pub fn sample_forecast_columns(
    model: &dyn Autoregressive,
    input: &ModelInput,
    horizon: usize,
    loss: &DistributionLoss,
    window: &WindowScale,
    samples: usize,
    rng: &mut StdRng,
) -> Result<Vec<Vec<f64>>> {
    let windows = input.insample.dim(0)?;
    let per_group = (PATH_ROWS_PER_GROUP / samples).max(1);
    let groups: Vec<(std::ops::Range<usize>, u64)> = (0..windows)
        .step_by(per_group)
        .map(|start| (start..(start + per_group).min(windows), rng.random::<u64>()))
        .collect();
    let group_columns = threads::install(|| {
        groups
            .par_iter()
            .map(|(rows, seed)| {
                let group_window =
                    window.map_rows(|t| Ok(t.narrow(0, rows.start, rows.len())?))?;
                sample_path_columns(
                    model,
                    &input.rows(rows.clone())?,
                    horizon,
                    loss,
                    &group_window,
                    samples,
                    &mut StdRng::seed_from_u64(*seed),
                )
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut columns = vec![Vec::with_capacity(windows * horizon); loss.suffixes().len()];
    for group in group_columns {
        for (column, values) in columns.iter_mut().zip(group) {
            column.extend(values);
        }
    }
    Ok(columns)
}

/// [`sample_forecast_columns`] for one group of windows, drawing from `rng` path by path within
/// each step.
fn sample_path_columns(
    model: &dyn Autoregressive,
    input: &ModelInput,
    horizon: usize,
    loss: &DistributionLoss,
    window: &WindowScale,
    samples: usize,
    rng: &mut StdRng,
) -> Result<Vec<Vec<f64>>> {
    let windows = input.insample.dim(0)?;
    let (first, state) = model.condition(input)?;
    let mut state = state.repeat_rows(samples)?;
    let mut raw = repeat_rows(&first, samples)?;
    let paths = input.map_rows(|t| repeat_rows(t, samples))?;
    let path_window = window.map_rows(|t| repeat_rows(t, samples))?;
    let shift = path_window.shift.flatten_all()?.to_vec1::<f32>()?;
    let scale = path_window.scale.flatten_all()?.to_vec1::<f32>()?;
    // draws[step][path row], the data's scale.
    let mut draws: Vec<Vec<f64>> = Vec::with_capacity(horizon);
    for step in 0..horizon {
        if step > 0 {
            let previous = &draws[step - 1];
            let scaled: Vec<f32> = previous
                .iter()
                .zip(shift.iter().zip(&scale))
                .map(|(&v, (&s, &c))| ((v - f64::from(s)) / f64::from(c)) as f32)
                .collect();
            let y = Tensor::from_vec(scaled, previous.len(), raw.device())?;
            raw = model.advance(&paths, &mut state, &y, step)?;
        }
        draws.push(loss.draw_once_per_row(&raw.unsqueeze(1)?, &path_window, rng)?);
    }
    let mut columns = vec![Vec::with_capacity(windows * horizon); loss.suffixes().len()];
    let mut at_step = vec![0.0f64; samples];
    for w in 0..windows {
        for step_draws in &draws {
            at_step.copy_from_slice(&step_draws[w * samples..(w + 1) * samples]);
            loss.summarize_draws(&mut at_step, &mut columns);
        }
    }
    Ok(columns)
}
