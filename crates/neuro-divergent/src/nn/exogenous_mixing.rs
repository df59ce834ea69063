//! TSMixerx's mixing blocks (Chen et al., 2023, the TSMixer variant with auxiliary inputs, as
//! NeuralForecast builds them) over features `[B, h, C]` along the horizon: post-norm residual
//! blocks whose layer norms span all `h x C` values of a window — a time-mixing map along the
//! horizon, a feature-mixing MLP across the features (projecting its input when the widths
//! differ), and a block that first mixes the static features in.

use candle_core::Tensor;

use super::{Activation, Dense, Dropout, LayerNorm, ParamStore};
use crate::error::Result;

/// The sizes and dropout shared by a model's mixing blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixerSizes {
    /// Steps of the horizon, the time axis the blocks mix along.
    pub horizon: usize,
    /// Hidden units of every feature-mixing MLP.
    pub ff_dim: usize,
    /// Dropout after each map.
    pub dropout: f64,
}

/// `norm(x + dropout(W₂ dropout(relu(W₁ x))))` across the features at each step, `x`
/// projected to the output width when it differs.
#[derive(Debug)]
pub struct FeatureMixer {
    hidden: Dense,
    output: Dense,
    hidden_dropout: Dropout,
    output_dropout: Dropout,
    residual: Option<Dense>,
    norm: LayerNorm,
    horizon: usize,
}

impl FeatureMixer {
    /// Creates `{name}.feature_lin_1`, `.feature_lin_2`, `.project_residual` (when `inputs`
    /// differs from `outputs`) and `.feature_norm` in PyTorch's order; dropout streams from
    /// `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        (inputs, outputs): (usize, usize),
        sizes: MixerSizes,
        seed: u64,
    ) -> Result<FeatureMixer> {
        let hidden = Dense::new(
            store,
            &format!("{name}.feature_lin_1"),
            inputs,
            sizes.ff_dim,
        )?;
        let output = Dense::new(
            store,
            &format!("{name}.feature_lin_2"),
            sizes.ff_dim,
            outputs,
        )?;
        let residual = if inputs != outputs {
            Some(Dense::new(
                store,
                &format!("{name}.project_residual"),
                inputs,
                outputs,
            )?)
        } else {
            None
        };
        Ok(FeatureMixer {
            hidden,
            output,
            hidden_dropout: Dropout::new(sizes.dropout, seed),
            output_dropout: Dropout::new(sizes.dropout, seed.wrapping_add(1)),
            residual,
            norm: LayerNorm::new(
                store,
                &format!("{name}.feature_norm"),
                sizes.horizon * outputs,
            )?,
            horizon: sizes.horizon,
        })
    }

    /// The block applied to `x` (`[B, h, inputs]`), giving `[B, h, outputs]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let hidden = self.hidden.forward(x, Some(Activation::ReLU))?;
        let hidden = self.hidden_dropout.apply(&hidden, train)?;
        let out = self.output.forward(&hidden, None)?;
        let out = self.output_dropout.apply(&out, train)?;
        let skip = match &self.residual {
            Some(project) => project.forward(x, None)?,
            None => x.clone(),
        };
        norm_over_window(&self.norm, &(out + skip)?, self.horizon)
    }
}

/// Layer norm over all `h x C` values of each window of `x` (`[B, h, C]`).
fn norm_over_window(norm: &LayerNorm, x: &Tensor, horizon: usize) -> Result<Tensor> {
    let (batch, _, features) = x.dims3()?;
    norm.forward(&x.reshape((batch, horizon * features))?)?
        .reshape((batch, horizon, features))
        .map_err(Into::into)
}

/// `norm(x + dropout(relu(W xᵀ))ᵀ)`: each feature's horizon mapped to a new one.
#[derive(Debug)]
struct TemporalMixer {
    norm: LayerNorm,
    linear: Dense,
    dropout: Dropout,
    horizon: usize,
}

impl TemporalMixer {
    fn new(
        store: &mut ParamStore,
        name: &str,
        features: usize,
        sizes: MixerSizes,
        seed: u64,
    ) -> Result<TemporalMixer> {
        let h = sizes.horizon;
        Ok(TemporalMixer {
            norm: LayerNorm::new(store, &format!("{name}.temporal_norm"), h * features)?,
            linear: Dense::new(store, &format!("{name}.temporal_lin"), h, h)?,
            dropout: Dropout::new(sizes.dropout, seed),
            horizon: h,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let along_time = x.transpose(1, 2)?.contiguous()?;
        let mixed = self
            .linear
            .forward(&along_time, Some(Activation::ReLU))?
            .transpose(1, 2)?
            .contiguous()?;
        let mixed = self.dropout.apply(&mixed, train)?;
        norm_over_window(&self.norm, &(mixed + x)?, self.horizon)
    }
}

/// Time mixing, then feature mixing from `inputs` to `outputs` features.
#[derive(Debug)]
pub struct MixerBlock {
    temporal: TemporalMixer,
    feature: FeatureMixer,
}

impl MixerBlock {
    /// Creates `{name}.temporal_mixer.{temporal_norm, temporal_lin}` and `{name}.feature_mixer`
    /// ([`FeatureMixer::new`]) in PyTorch's order.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        (inputs, outputs): (usize, usize),
        sizes: MixerSizes,
        seed: u64,
    ) -> Result<MixerBlock> {
        Ok(MixerBlock {
            temporal: TemporalMixer::new(
                store,
                &format!("{name}.temporal_mixer"),
                inputs,
                sizes,
                seed,
            )?,
            feature: FeatureMixer::new(
                store,
                &format!("{name}.feature_mixer"),
                (inputs, outputs),
                sizes,
                seed.wrapping_add(1),
            )?,
        })
    }

    /// The block applied to `x` (`[B, h, inputs]`), giving `[B, h, outputs]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.temporal.forward(x, train)?;
        self.feature.forward(&x, train)
    }
}

/// The static features mixed to `ff_dim` and joined to the input, then a [`MixerBlock`] from
/// `2 ff_dim` back to `ff_dim` features.
#[derive(Debug)]
pub struct StaticMixerBlock {
    statics: FeatureMixer,
    block: MixerBlock,
}

impl StaticMixerBlock {
    /// Creates `{name}.feature_mixer_stat` (from `statics` features), then the block's
    /// `{name}.temporal_mixer` and `{name}.feature_mixer`, in PyTorch's order.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        statics: usize,
        sizes: MixerSizes,
        seed: u64,
    ) -> Result<StaticMixerBlock> {
        let ff = sizes.ff_dim;
        let statics = FeatureMixer::new(
            store,
            &format!("{name}.feature_mixer_stat"),
            (statics, ff),
            sizes,
            seed,
        )?;
        let temporal = TemporalMixer::new(
            store,
            &format!("{name}.temporal_mixer"),
            2 * ff,
            sizes,
            seed.wrapping_add(2),
        )?;
        let feature = FeatureMixer::new(
            store,
            &format!("{name}.feature_mixer"),
            (2 * ff, ff),
            sizes,
            seed.wrapping_add(3),
        )?;
        Ok(StaticMixerBlock {
            statics,
            block: MixerBlock { temporal, feature },
        })
    }

    /// The block applied to `x` (`[B, h, ff_dim]`) with the static features `statics`
    /// (`[B, h, S]`), giving `[B, h, ff_dim]`.
    pub fn forward(&self, x: &Tensor, statics: &Tensor, train: bool) -> Result<Tensor> {
        let mixed = self.statics.forward(statics, train)?;
        self.block.forward(&Tensor::cat(&[x, &mixed], 2)?, train)
    }
}
