//! The residual block of TiDE (Das et al., 2023): a one-hidden-layer perceptron with dropout,
//! a linear skip connection around it, and optional layer normalisation of the sum.

use candle_core::Tensor;

use super::{Activation, Dense, Dropout, LayerNorm, ParamStore};
use crate::error::Result;

/// The sizes of a [`ResidualMlp`] and its dropout rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualMlpSpec {
    /// Features read.
    pub inputs: usize,
    /// Units of the hidden (ReLU) layer.
    pub hidden: usize,
    /// Features written.
    pub outputs: usize,
    /// Dropout on the perceptron's output, before the skip connection is added.
    pub dropout: f64,
    /// Layer-normalise the sum.
    pub layer_norm: bool,
}

/// The names of a [`ResidualMlp`]'s hidden, output and skip layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidualMlpNames {
    /// The hidden (ReLU) layer.
    pub hidden: &'static str,
    /// The layer after it.
    pub output: &'static str,
    /// The linear skip connection.
    pub skip: &'static str,
}

impl ResidualMlpNames {
    /// NeuralForecast's TiDE (`MLPResidual`): `lin1`, `lin2`, `skip`.
    pub const TIDE: ResidualMlpNames = ResidualMlpNames {
        hidden: "lin1",
        output: "lin2",
        skip: "skip",
    };
    /// Chronos-Bolt's patch embeddings (`ResidualBlock`): `hidden_layer`, `output_layer`,
    /// `residual_layer`.
    pub const CHRONOS: ResidualMlpNames = ResidualMlpNames {
        hidden: "hidden_layer",
        output: "output_layer",
        skip: "residual_layer",
    };
}

/// `norm(dropout(lin2(relu(lin1(x)))) + skip(x))` over the last axis of `x`, `norm` present
/// when the spec asks for it.
#[derive(Debug)]
pub struct ResidualMlp {
    hidden: Dense,
    output: Dense,
    skip: Dense,
    norm: Option<LayerNorm>,
    dropout: Dropout,
}

impl ResidualMlp {
    /// Creates `{name}.lin1`, `{name}.lin2`, `{name}.skip` (drawn in that order, as PyTorch
    /// draws NeuralForecast's `MLPResidual`) and `{name}.norm`; dropout draws from a stream
    /// seeded with `seed`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: ResidualMlpSpec,
        seed: u64,
    ) -> Result<ResidualMlp> {
        ResidualMlp::with_names(store, name, ResidualMlpNames::TIDE, spec, seed)
    }

    /// [`ResidualMlp::new`] with the three layers called `names` (created in the order hidden,
    /// output, skip).
    pub fn with_names(
        store: &mut ParamStore,
        name: &str,
        names: ResidualMlpNames,
        spec: ResidualMlpSpec,
        seed: u64,
    ) -> Result<ResidualMlp> {
        let norm = if spec.layer_norm {
            Some(LayerNorm::new(
                store,
                &format!("{name}.norm"),
                spec.outputs,
            )?)
        } else {
            None
        };
        Ok(ResidualMlp {
            hidden: Dense::new(
                store,
                &format!("{name}.{}", names.hidden),
                spec.inputs,
                spec.hidden,
            )?,
            output: Dense::new(
                store,
                &format!("{name}.{}", names.output),
                spec.hidden,
                spec.outputs,
            )?,
            skip: Dense::new(
                store,
                &format!("{name}.{}", names.skip),
                spec.inputs,
                spec.outputs,
            )?,
            norm,
            dropout: Dropout::new(spec.dropout, seed),
        })
    }

    /// Applies the block to `[..., inputs]`, with dropout when `train` is set.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let hidden = self.hidden.forward(x, Some(Activation::ReLU))?;
        let out = self
            .dropout
            .apply(&self.output.forward(&hidden, None)?, train)?;
        let sum = (out + self.skip.forward(x, None)?)?;
        match &self.norm {
            Some(norm) => norm.forward(&sum),
            None => Ok(sum),
        }
    }
}
