//! TSMixer's mixing layers (Chen et al., 2023, "TSMixer: An All-MLP Architecture for Time Series
//! Forecasting", as NeuralForecast builds them) over windows `[B, L, N]` of `N` series: a
//! time-mixing map along each series' steps, then a feature-mixing MLP across the series at
//! each step, each behind a batch norm over all `L x N` values and added back to its input.

use candle_core::Tensor;

use super::{Activation, BatchNorm, Dense, Dropout, ParamStore};
use crate::error::Result;

/// NeuralForecast's batch norm settings in the mixing layers (Keras' defaults).
const NORM_EPS: f64 = 1e-3;
const NORM_MOMENTUM: f64 = 0.01;

/// `x + dropout(relu(W (norm x)ᵀ))ᵀ`: each series' steps mapped to new steps.
#[derive(Debug)]
struct TemporalMixing {
    norm: BatchNorm,
    linear: Dense,
    dropout: Dropout,
}

/// `x + dropout(W₂ dropout(relu(W₁ norm x)))`: the series at each step mixed through a hidden
/// layer of `ff_dim` units.
#[derive(Debug)]
struct FeatureMixing {
    norm: BatchNorm,
    hidden: Dense,
    output: Dense,
    hidden_dropout: Dropout,
    output_dropout: Dropout,
}

/// One TSMixer mixing layer: time mixing, then feature mixing.
#[derive(Debug)]
pub struct MixingLayer {
    temporal: TemporalMixing,
    feature: FeatureMixing,
}

impl MixingLayer {
    /// Creates `{name}.temporal_mixer.{temporal_norm, temporal_lin}` and
    /// `{name}.feature_mixer.{feature_norm, feature_lin_1, feature_lin_2}` in PyTorch's order,
    /// for windows of `steps` steps of `n_series` series; dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        (steps, n_series): (usize, usize),
        ff_dim: usize,
        dropout: f64,
        seed: u64,
    ) -> Result<MixingLayer> {
        let norm = |store: &mut ParamStore, name: String| {
            BatchNorm::with_settings(store, &name, steps * n_series, NORM_EPS, NORM_MOMENTUM)
        };
        let temporal = format!("{name}.temporal_mixer");
        let temporal = TemporalMixing {
            norm: norm(store, format!("{temporal}.temporal_norm"))?,
            linear: Dense::new(store, &format!("{temporal}.temporal_lin"), steps, steps)?,
            dropout: Dropout::new(dropout, seed),
        };
        let feature = format!("{name}.feature_mixer");
        let feature = FeatureMixing {
            norm: norm(store, format!("{feature}.feature_norm"))?,
            hidden: Dense::new(store, &format!("{feature}.feature_lin_1"), n_series, ff_dim)?,
            output: Dense::new(store, &format!("{feature}.feature_lin_2"), ff_dim, n_series)?,
            hidden_dropout: Dropout::new(dropout, seed.wrapping_add(1)),
            output_dropout: Dropout::new(dropout, seed.wrapping_add(2)),
        };
        Ok(MixingLayer { temporal, feature })
    }

    /// The layer applied to windows `x` (`[B, L, N]`).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.temporal.forward(x, train)?;
        self.feature.forward(&x, train)
    }
}

impl TemporalMixing {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, steps, series) = x.dims3()?;
        // Normalised as [B, N * L], series by series.
        let by_series = x.transpose(1, 2)?.contiguous()?;
        let normalised = self
            .norm
            .forward(&by_series.reshape((batch, series * steps))?, train)?
            .reshape((batch, series, steps))?;
        let mixed = self
            .linear
            .forward(&normalised, Some(Activation::ReLU))?
            .transpose(1, 2)?;
        Ok((self.dropout.apply(&mixed.contiguous()?, train)? + x)?)
    }
}

impl FeatureMixing {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, steps, series) = x.dims3()?;
        let normalised = self
            .norm
            .forward(&x.reshape((batch, steps * series))?, train)?
            .reshape((batch, steps, series))?;
        let hidden = self.hidden.forward(&normalised, Some(Activation::ReLU))?;
        let hidden = self.hidden_dropout.apply(&hidden, train)?;
        let out = self.output.forward(&hidden, None)?;
        Ok((self.output_dropout.apply(&out, train)? + x)?)
    }
}
