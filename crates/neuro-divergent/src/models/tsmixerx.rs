//! TSMixerx (Chen et al., 2023, TSMixer with auxiliary information, as NeuralForecast
//! implements it): a multivariate model that maps each series' window (normalised per series by
//! RevIN), historic columns and the window part of future columns to the horizon with one linear
//! map along time, mixes them across series and columns into `ff_dim` features per horizon step,
//! joins the future columns' horizon part and the static values (each mixed the same way), and
//! refines them with mixing blocks ([`MixerBlock`], [`StaticMixerBlock`]) before a linear map to
//! each series' forecast.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::multivariate;
use crate::nn::{Dense, FeatureMixer, MixerBlock, MixerSizes, ParamStore, RevIn, StaticMixerBlock};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// TSMixerx hyperparameters (NeuralForecast's names and defaults). `n_series` has no default: it
/// must be the number of series in the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TsMixerxConfig {
    /// The number of series forecast together (every series of the data).
    pub n_series: usize,
    /// Mixing blocks after the first.
    pub n_block: usize,
    /// Features per horizon step, and hidden units of every feature-mixing MLP.
    pub ff_dim: usize,
    /// Dropout after each mixing map.
    pub dropout: f64,
    /// Reversible instance normalisation of the target per series, with an affine map per
    /// series.
    pub revin: bool,
}

impl Default for TsMixerxConfig {
    fn default() -> Self {
        TsMixerxConfig {
            n_series: 0,
            n_block: 2,
            ff_dim: 64,
            dropout: 0.0,
            revin: true,
        }
    }
}

impl ArchitectureConfig for TsMixerxConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::multivariate_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        super::tsmixer::validate_mixer(
            "TSMixerx",
            self.n_series,
            (self.n_block, self.ff_dim),
            self.dropout,
        )
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }

    /// Per row (one series of one window): its columns' map along time, and its share of the
    /// mixing blocks (each about `h x (2 ff_dim² + h ff_dim)` per window) and of the output map.
    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let (l, h, n) = (
            shape.input_size as f64,
            shape.horizon as f64,
            self.n_series as f64,
        );
        let e = shape.exog;
        let ff = self.ff_dim as f64;
        let columns = (1 + e.hist + e.futr) as f64;
        let projection = columns * l * h;
        let first_mix = h * ff * (columns * n + ff) / n;
        let block = h * (4.0 * ff * ff + 2.0 * h * ff) / n;
        let blocks = (self.n_block + 1) as f64 * block;
        let output = h * ff;
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * (projection + first_mix + blocks + output)
    }

    /// Creates the parameters in NeuralForecast's order: the normalisation's affine map, the map
    /// along time, the three input mixers, the first block, the blocks, the output map.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let (n, e, ff) = (self.n_series, shape.exog, self.ff_dim);
        let sizes = MixerSizes {
            horizon: shape.horizon,
            ff_dim: ff,
            dropout: self.dropout,
        };
        let revin = if self.revin {
            Some(RevIn::per_series(store, "norm", n)?)
        } else {
            None
        };
        let temporal_projection = Dense::new(
            store,
            "temporal_projection",
            shape.input_size,
            shape.horizon,
        )?;
        let mixer = |store: &mut ParamStore, name: &str, inputs: usize, stream: u64| {
            FeatureMixer::new(store, name, (inputs, ff), sizes, seed.wrapping_add(stream))
        };
        let history = mixer(store, "feature_mixer_hist", n * (1 + e.hist + e.futr), 1)?;
        let future = if e.futr > 0 {
            Some(mixer(store, "feature_mixer_futr", n * e.futr, 3)?)
        } else {
            None
        };
        let statics = if e.stat > 0 {
            Some(mixer(store, "feature_mixer_stat", n * e.stat, 5)?)
        } else {
            None
        };
        let joined = 1 + usize::from(e.futr > 0) + usize::from(e.stat > 0);
        let first = MixerBlock::new(
            store,
            "first_mixing",
            (joined * ff, ff),
            sizes,
            seed.wrapping_add(7),
        )?;
        let blocks = (0..self.n_block)
            .map(|i| {
                let name = format!("mixing_block.{i}");
                let stream = seed.wrapping_add(10 * (i as u64 + 1));
                Ok(if e.stat > 0 {
                    Block::WithStatics(StaticMixerBlock::new(
                        store,
                        &name,
                        n * e.stat,
                        sizes,
                        stream,
                    )?)
                } else {
                    Block::Plain(MixerBlock::new(store, &name, (ff, ff), sizes, stream)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let out = Dense::new(store, "out", ff, n * n_outputs)?;
        Ok(Box::new(TsMixerx {
            revin,
            temporal_projection,
            history,
            future,
            statics,
            first,
            blocks,
            out,
            n_series: n,
            horizon: shape.horizon,
            n_outputs,
            deterministic: self.dropout == 0.0,
        }))
    }
}

/// One mixing block after the first: with the static features mixed in when the model reads
/// any.
enum Block {
    Plain(MixerBlock),
    WithStatics(StaticMixerBlock),
}

struct TsMixerx {
    revin: Option<RevIn>,
    temporal_projection: Dense,
    history: FeatureMixer,
    future: Option<FeatureMixer>,
    statics: Option<FeatureMixer>,
    first: MixerBlock,
    blocks: Vec<Block>,
    out: Dense,
    n_series: usize,
    horizon: usize,
    n_outputs: usize,
    deterministic: bool,
}

impl TsMixerx {
    /// A temporal input `[R, T, C]` (rows window-major) as `[B, C, N, T]`.
    fn by_column(&self, x: &Tensor) -> Result<Tensor> {
        let (rows, steps, columns) = x.dims3()?;
        Ok(
            x.reshape((rows / self.n_series, self.n_series, steps, columns))?
                .permute((0, 3, 1, 2))?,
        )
    }
}

impl Model for TsMixerx {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let (rows, steps) = input.insample.dims2()?;
        let (n, h) = (self.n_series, self.horizon);
        let batch = multivariate::windows_in("TSMixerx", rows, n)?;
        let windows = input.insample.reshape((batch, n, steps))?;
        let (target, stats) = match &self.revin {
            Some(revin) => {
                let (x, stats) = revin.normalize(&windows)?;
                (x, Some(stats))
            }
            None => (windows, None),
        };
        // The window's columns [B, 1 + X + F, N, L]: target, historic, future.
        let mut columns = vec![target.unsqueeze(1)?];
        if let Some(hist) = &input.hist {
            columns.push(self.by_column(hist)?);
        }
        if let Some(futr) = &input.futr {
            columns.push(self.by_column(&futr.narrow(1, 0, steps)?)?);
        }
        let columns = Tensor::cat(&columns, 1)?.contiguous()?;
        let count = columns.dim(1)?;
        // Each column of each series mapped to the horizon, then [B, h, C * N] column-major.
        let projected = self.temporal_projection.forward(&columns, None)?;
        let per_step = projected
            .permute((0, 3, 1, 2))?
            .reshape((batch, h, count * n))?;
        let mut x = vec![self.history.forward(&per_step, train)?];
        if let (Some(mixer), Some(futr)) = (&self.future, &input.futr) {
            // [B, h, F * N], column-major.
            let horizon = self
                .by_column(&futr.narrow(1, steps, h)?)?
                .permute((0, 3, 1, 2))?;
            let features = horizon.dim(2)? * n;
            let horizon = horizon.contiguous()?.reshape((batch, h, features))?;
            x.push(mixer.forward(&horizon, train)?);
        }
        // [B, h, N * S]: each series' static values, series-major, at every step.
        let statics = match &input.stat {
            Some(stat) => {
                let width = stat.dim(1)? * n;
                Some(
                    stat.reshape((batch, 1, width))?
                        .broadcast_as((batch, h, width))?
                        .contiguous()?,
                )
            }
            None => None,
        };
        if let (Some(mixer), Some(statics)) = (&self.statics, &statics) {
            x.push(mixer.forward(statics, train)?);
        }
        let mut x = self.first.forward(&Tensor::cat(&x, 2)?, train)?;
        for block in &self.blocks {
            x = match (block, &statics) {
                (Block::WithStatics(block), Some(statics)) => block.forward(&x, statics, train)?,
                (Block::Plain(block), _) => block.forward(&x, train)?,
                (Block::WithStatics(_), None) => {
                    return Err(Error::Train(
                        "TSMixerx was built with static columns the input lacks".into(),
                    ))
                }
            };
        }
        // [B, h, N * outputs] -> [B, N, h * outputs]: each series' forecast.
        let out = self
            .out
            .forward(&x, None)?
            .reshape((batch, h, n, self.n_outputs))?
            .permute((0, 2, 1, 3))?
            .reshape((batch, n, h * self.n_outputs))?;
        let out = match stats {
            Some(stats) => stats.denormalize(&out)?,
            None => out,
        };
        Ok(out.reshape((rows, h, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }
}
