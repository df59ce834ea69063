//! The Transformer encoder layer as PatchTST's TST encoder builds it: self-attention and a
//! position-wise feed-forward network, each added back to its input and batch-normalised.

use candle_core::Tensor;

use super::{
    Activation, BatchNorm, Dropout, MultiHeadAttention, ParamStore, PositionWiseFeedForward,
    ProjectionNames,
};
use crate::error::Result;

/// The sizes and rates of an [`EncoderLayer`].
#[derive(Debug, Clone, Copy)]
pub struct EncoderLayerSpec {
    /// Features per token.
    pub hidden: usize,
    /// Attention heads (dividing `hidden`).
    pub heads: usize,
    /// Units of the feed-forward network's inner layer.
    pub ff_hidden: usize,
    /// Dropout on the attention output, both residual branches and the feed-forward network.
    pub dropout: f64,
    /// Dropout on the attention weights.
    pub attention_dropout: f64,
    /// Non-linearity of the feed-forward network.
    pub activation: Activation,
    /// Normalise each sublayer's input (pre-norm) instead of its residual sum (post-norm).
    pub pre_norm: bool,
}

/// One encoder layer: `x + dropout(attention(x))`, normalised, then `x + dropout(ff(x))`,
/// normalised (post-norm), or each sublayer reading the normalised input (pre-norm).
#[derive(Debug)]
pub struct EncoderLayer {
    attention: MultiHeadAttention,
    projection_dropout: Dropout,
    attention_residual_dropout: Dropout,
    attention_norm: BatchNorm,
    feed_forward: PositionWiseFeedForward,
    ff_norm: BatchNorm,
    pre_norm: bool,
}

impl EncoderLayer {
    /// Creates the layer's parameters under `name` (`{name}.self_attn`, `.norm_attn`, `.ff.0`,
    /// `.ff.3`, `.norm_ffn`), drawn in PyTorch's order; dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: EncoderLayerSpec,
        seed: u64,
    ) -> Result<EncoderLayer> {
        let attention = MultiHeadAttention::new(
            store,
            &format!("{name}.self_attn"),
            ProjectionNames::Tst,
            spec.hidden,
            spec.heads,
            spec.attention_dropout,
            seed,
        )?;
        let dropout = |offset: u64| Dropout::new(spec.dropout, seed.wrapping_add(offset));
        Ok(EncoderLayer {
            attention,
            projection_dropout: dropout(1),
            attention_residual_dropout: dropout(2),
            attention_norm: BatchNorm::new(store, &format!("{name}.norm_attn"), spec.hidden)?,
            feed_forward: PositionWiseFeedForward::new(
                store,
                [&format!("{name}.ff.0"), &format!("{name}.ff.3")],
                spec.hidden,
                spec.ff_hidden,
                spec.activation,
                spec.dropout,
                seed.wrapping_add(3),
            )?,
            ff_norm: BatchNorm::new(store, &format!("{name}.norm_ffn"), spec.hidden)?,
            pre_norm: spec.pre_norm,
        })
    }

    /// Applies the layer to tokens `x` (`[B, L, hidden]`), adding `previous` attention scores
    /// (residual attention) when given; returns the new tokens and this layer's scores.
    pub fn forward(
        &self,
        x: &Tensor,
        previous: Option<&Tensor>,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let mut x = x.clone();
        if self.pre_norm {
            x = self.attention_norm.forward(&x, train)?;
        }
        let attended = self.attention.forward(&x, &x, &x, previous, None, train)?;
        let update = self.projection_dropout.apply(&attended.output, train)?;
        x = self.attention_residual_dropout.add_to(&x, &update, train)?;
        if !self.pre_norm {
            x = self.attention_norm.forward(&x, train)?;
        }

        if self.pre_norm {
            x = self.ff_norm.forward(&x, train)?;
        }
        x = self.feed_forward.residual(&x, train)?;
        if !self.pre_norm {
            x = self.ff_norm.forward(&x, train)?;
        }
        Ok((x, attended.scores))
    }
}
