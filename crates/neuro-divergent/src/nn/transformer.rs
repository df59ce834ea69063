//! The encoder and decoder layers of the Informer family of Transformers (VanillaTransformer,
//! Informer, ...), as NeuralForecast's `TransEncoderLayer` and `TransDecoderLayer` build them:
//! post-norm residual sublayers with layer normalisation, and a position-wise feed-forward
//! sublayer (NeuralForecast's two kernel-1 convolutions, which are dense maps per token).

use candle_core::Tensor;

use super::{
    Activation, Dropout, LayerNorm, MultiHeadAttention, ParamStore, PositionWiseFeedForward,
    ProbSparseAttention, ProjectionNames,
};
use crate::error::Result;

/// The sizes and rates shared by the layers of one Transformer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerSpec {
    /// Features per token.
    pub hidden: usize,
    /// Attention heads (dividing `hidden`).
    pub heads: usize,
    /// Units of the feed-forward sublayer.
    pub ff_hidden: usize,
    /// Dropout on full attention's weights, each sublayer's output and inside the
    /// feed-forward sublayer (ProbSparse attention drops no weights, as in NeuralForecast).
    pub dropout: f64,
    /// Non-linearity of the feed-forward sublayer.
    pub activation: Activation,
    /// How tokens attend.
    pub attention: AttentionKind,
}

/// The attention of a Transformer's layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    /// Every query attends to every key (decoder self-attention unmasked, as NeuralForecast's
    /// VanillaTransformer).
    Full,
    /// Informer's ProbSparse attention with its sampling `factor` (decoder self-attention
    /// causal, as NeuralForecast's Informer).
    ProbSparse {
        /// Keys sampled and queries kept per `ceil(ln L)`.
        factor: usize,
    },
}

/// One attention sublayer's mechanism.
#[derive(Debug)]
enum TokenAttention {
    Full(Box<MultiHeadAttention>),
    ProbSparse(Box<ProbSparseAttention>),
}

impl TokenAttention {
    /// The attended values `[B, Lq, hidden]` of `query` over `memory` (keys and values).
    fn forward(&self, query: &Tensor, memory: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            TokenAttention::Full(attention) => Ok(attention
                .forward(query, memory, memory, None, None, train)?
                .output),
            TokenAttention::ProbSparse(attention) => {
                attention.forward(query, memory, memory, train)
            }
        }
    }
}

impl TransformerSpec {
    /// The attention named `name`; `causal` applies to ProbSparse attention only.
    fn attention(
        &self,
        store: &mut ParamStore,
        name: &str,
        causal: bool,
        seed: u64,
    ) -> Result<TokenAttention> {
        Ok(match self.attention {
            AttentionKind::Full => TokenAttention::Full(Box::new(MultiHeadAttention::new(
                store,
                name,
                ProjectionNames::Informer,
                self.hidden,
                self.heads,
                self.dropout,
                seed,
            )?)),
            AttentionKind::ProbSparse { factor } => {
                TokenAttention::ProbSparse(Box::new(ProbSparseAttention::new(
                    store,
                    name,
                    self.hidden,
                    self.heads,
                    factor,
                    causal,
                    seed,
                )?))
            }
        })
    }

    fn feed_forward(
        &self,
        store: &mut ParamStore,
        name: &str,
        seed: u64,
    ) -> Result<PositionWiseFeedForward> {
        PositionWiseFeedForward::new(
            store,
            [&format!("{name}.conv1"), &format!("{name}.conv2")],
            self.hidden,
            self.ff_hidden,
            self.activation,
            self.dropout,
            seed,
        )
    }
}

/// `x = norm1(x + dropout(attention(x, x, x)))`, then `norm2(x + ff(x))`.
#[derive(Debug)]
pub struct TransEncoderLayer {
    attention: TokenAttention,
    attention_dropout: Dropout,
    feed_forward: PositionWiseFeedForward,
    norm1: LayerNorm,
    norm2: LayerNorm,
}

impl TransEncoderLayer {
    /// Creates `{name}.attention`, `.conv1`, `.conv2`, `.norm1` and `.norm2` in PyTorch's
    /// order; dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: TransformerSpec,
        seed: u64,
    ) -> Result<TransEncoderLayer> {
        Ok(TransEncoderLayer {
            attention: spec.attention(store, &format!("{name}.attention"), false, seed)?,
            feed_forward: spec.feed_forward(store, name, seed.wrapping_add(1))?,
            norm1: LayerNorm::new(store, &format!("{name}.norm1"), spec.hidden)?,
            norm2: LayerNorm::new(store, &format!("{name}.norm2"), spec.hidden)?,
            attention_dropout: Dropout::new(spec.dropout, seed.wrapping_add(3)),
        })
    }

    /// The layer applied to tokens `x` (`[B, L, hidden]`).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let attended = self.attention.forward(x, x, train)?;
        let x = self
            .norm1
            .forward(&self.attention_dropout.add_to(x, &attended, train)?)?;
        self.norm2.forward(&self.feed_forward.residual(&x, train)?)
    }
}

/// Self-attention over the decoder tokens, attention from them to the encoder's output, then
/// the feed-forward sublayer, each added back and layer-normalised.
#[derive(Debug)]
pub struct TransDecoderLayer {
    self_attention: TokenAttention,
    cross_attention: TokenAttention,
    self_dropout: Dropout,
    cross_dropout: Dropout,
    feed_forward: PositionWiseFeedForward,
    norm1: LayerNorm,
    norm2: LayerNorm,
    norm3: LayerNorm,
}

impl TransDecoderLayer {
    /// Creates `{name}.self_attention`, `.cross_attention`, `.conv1`, `.conv2` and `.norm1`
    /// to `.norm3` in PyTorch's order; dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: TransformerSpec,
        seed: u64,
    ) -> Result<TransDecoderLayer> {
        Ok(TransDecoderLayer {
            self_attention: spec.attention(store, &format!("{name}.self_attention"), true, seed)?,
            cross_attention: spec.attention(
                store,
                &format!("{name}.cross_attention"),
                false,
                seed.wrapping_add(1),
            )?,
            feed_forward: spec.feed_forward(store, name, seed.wrapping_add(2))?,
            norm1: LayerNorm::new(store, &format!("{name}.norm1"), spec.hidden)?,
            norm2: LayerNorm::new(store, &format!("{name}.norm2"), spec.hidden)?,
            norm3: LayerNorm::new(store, &format!("{name}.norm3"), spec.hidden)?,
            self_dropout: Dropout::new(spec.dropout, seed.wrapping_add(4)),
            cross_dropout: Dropout::new(spec.dropout, seed.wrapping_add(5)),
        })
    }

    /// The layer applied to decoder tokens `x` (`[B, Lx, hidden]`) attending to the encoder's
    /// tokens `memory` (`[B, Lm, hidden]`). Full self-attention is unmasked, as in
    /// NeuralForecast (the decoder's inputs past the known values are zeros, so no future value
    /// leaks); ProbSparse self-attention is causal.
    pub fn forward(&self, x: &Tensor, memory: &Tensor, train: bool) -> Result<Tensor> {
        let attended = self.self_attention.forward(x, x, train)?;
        let x = self
            .norm1
            .forward(&self.self_dropout.add_to(x, &attended, train)?)?;
        let attended = self.cross_attention.forward(&x, memory, train)?;
        let x = self
            .norm2
            .forward(&self.cross_dropout.add_to(&x, &attended, train)?)?;
        self.norm3.forward(&self.feed_forward.residual(&x, train)?)
    }
}
