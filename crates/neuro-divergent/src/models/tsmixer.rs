//! TSMixer (Chen et al., 2023, "TSMixer: An All-MLP Architecture for Time Series Forecasting",
//! as NeuralForecast implements it): a multivariate model of stacked mixing layers
//! ([`MixingLayer`]) over each window's `[L, N]` values — time mixing along each series' steps,
//! feature mixing across the series — between reversible instance normalisation per series and
//! a linear map from each series' steps to its horizon.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, require_n_series, ArchitectureConfig, Model,
    ModelInput,
};
use crate::error::Result;
use crate::multivariate;
use crate::nn::{Dense, MixingLayer, ParamStore, RevIn};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// TSMixer hyperparameters (NeuralForecast's names and defaults). `n_series` has no default: it
/// must be the number of series in the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TsMixerConfig {
    /// The number of series forecast together (every series of the data).
    pub n_series: usize,
    /// Mixing layers.
    pub n_block: usize,
    /// Hidden units of each feature-mixing MLP.
    pub ff_dim: usize,
    /// Dropout after each mixing map (NeuralForecast's default is 0.9).
    pub dropout: f64,
    /// Reversible instance normalisation per series, with an affine map per series.
    pub revin: bool,
}

impl Default for TsMixerConfig {
    fn default() -> Self {
        TsMixerConfig {
            n_series: 0,
            n_block: 2,
            ff_dim: 64,
            dropout: 0.9,
            revin: true,
        }
    }
}

impl ArchitectureConfig for TsMixerConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::multivariate_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        validate_mixer(
            "TSMixer",
            self.n_series,
            (self.n_block, self.ff_dim),
            self.dropout,
        )
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }

    /// Per row (one series of one window): its share of each layer's time map (`L x L` per
    /// series) and feature MLP (`2 ff_dim` per step and series), and of the output map.
    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let l = shape.input_size as f64;
        let layer = l * l + 2.0 * l * self.ff_dim as f64;
        let forward = self.n_block as f64 * layer + l * shape.horizon as f64;
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * forward
    }

    /// Creates the parameters in NeuralForecast's order: the normalisation's affine map, the
    /// mixing layers, the output map.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let revin = if self.revin {
            Some(RevIn::per_series(store, "norm", self.n_series)?)
        } else {
            None
        };
        let layers = (0..self.n_block)
            .map(|i| {
                MixingLayer::new(
                    store,
                    &format!("mixing_layers.{i}"),
                    (shape.input_size, self.n_series),
                    self.ff_dim,
                    self.dropout,
                    seed.wrapping_add(10 * (i as u64 + 1)),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let out = Dense::new(store, "out", shape.input_size, shape.horizon * n_outputs)?;
        Ok(Box::new(TsMixer {
            revin,
            layers,
            out,
            n_series: self.n_series,
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

/// Checks the hyperparameters TSMixer and TSMixerx share; errors name `model`.
pub(super) fn validate_mixer(
    model: &str,
    n_series: usize,
    (n_block, ff_dim): (usize, usize),
    dropout: f64,
) -> Result<()> {
    require_n_series(model, n_series)?;
    let prefix = format!("{model}: ");
    require_at_least_one(&prefix, &[("n_block", n_block), ("ff_dim", ff_dim)])?;
    require_dropout_rate(&prefix, "dropout", dropout)
}

struct TsMixer {
    revin: Option<RevIn>,
    layers: Vec<MixingLayer>,
    out: Dense,
    n_series: usize,
    horizon: usize,
    n_outputs: usize,
}

impl Model for TsMixer {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let (rows, steps) = input.insample.dims2()?;
        let batch = multivariate::windows_in("TSMixer", rows, self.n_series)?;
        // [B, N, L]: each window's series side by side.
        let windows = input.insample.reshape((batch, self.n_series, steps))?;
        let (normalised, stats) = match &self.revin {
            Some(revin) => {
                let (x, stats) = revin.normalize(&windows)?;
                (x, Some(stats))
            }
            None => (windows, None),
        };
        let mut x = normalised.transpose(1, 2)?.contiguous()?;
        for layer in &self.layers {
            x = layer.forward(&x, train)?;
        }
        let out = self.out.forward(&x.transpose(1, 2)?.contiguous()?, None)?;
        let out = match stats {
            Some(stats) => stats.denormalize(&out)?,
            None => out,
        };
        Ok(out.reshape((rows, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        // Batch normalisation couples the windows of a batch.
        false
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }

    fn normalises_over_windows(&self) -> bool {
        true
    }
}
