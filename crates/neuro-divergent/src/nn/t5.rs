//! T5's encoder and decoder stacks (Hugging Face's `T5Stack`), the backbone of Chronos-Bolt:
//! pre-norm blocks with root-mean-square norms, attention without the `1/sqrt(d)` scaling, a
//! relative position bias computed by the first block and shared by the others, ReLU
//! feed-forward layers, and while training dropout where T5 has it (the stack's input and output,
//! each sublayer's output, the attention weights and the feed-forward layer's hidden values).
//! Parameters carry Hugging Face's names, so pretrained weights load by name.

use candle_core::{Device, Tensor};

use super::attention::{fused_attention, joined_attention};
use super::attention_op::WeightDropout;
use super::kernels;
use super::relative_position::bucket_table;
use super::{softmax_last_dim, Activation, Dense, Dropout, ParamStore, RmsNorm, Rotary};
use crate::error::Result;

/// The sizes of a T5 stack (Hugging Face's `T5Config` names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct T5Spec {
    /// Width of the hidden states.
    pub d_model: usize,
    /// Width of one attention head.
    pub d_kv: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Width of the feed-forward layer.
    pub d_ff: usize,
    /// Relative position buckets.
    pub num_buckets: usize,
    /// Distance from which all positions share the last bucket.
    pub max_distance: usize,
    /// Epsilon of the root-mean-square norms.
    pub eps: f64,
    /// Dropout rate while training (`dropout_rate`).
    pub dropout: f64,
}

/// Seeds of a block's dropout layers: each block of a stack `BLOCK_SEEDS` apart.
const BLOCK_SEEDS: u64 = 8;

/// An additive attention mask `[B, 1, 1, keys]` from `[B, keys]` observed flags (1 observed,
/// 0 masked): 0 where a key may be attended to, the lowest `f32` where not (as Hugging Face's
/// models mask: finite, so that a query whose keys are all masked gets finite weights on every
/// device — its output is never read).
pub fn additive_key_mask(observed: &Tensor) -> Result<Tensor> {
    let (batch, keys) = observed.dims2()?;
    let values: Vec<f32> = observed
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|m| if m > 0.0 { 0.0 } else { f32::MIN })
        .collect();
    Ok(Tensor::from_vec(
        values,
        (batch, 1, 1, keys),
        observed.device(),
    )?)
}

/// T5's multi-head attention (`T5Attention`): bias-free projections `q`, `k`, `v`, `o`, raw dot
/// products, and in a stack's first block the relative position bias table.
#[derive(Debug)]
pub(crate) struct T5Attention {
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    relative_bias: Option<Tensor>,
    weight_dropout: Dropout,
    spec: T5Spec,
}

impl T5Attention {
    /// Creates `{name}.q/k/v/o.weight` (and `{name}.relative_attention_bias.weight` when
    /// `relative_bias`), drawn as T5 initialises them.
    pub(crate) fn new(
        store: &mut ParamStore,
        name: &str,
        spec: T5Spec,
        relative_bias: bool,
        seed: u64,
    ) -> Result<Self> {
        let inner = spec.num_heads * spec.d_kv;
        let d = spec.d_model as f64;
        // T5's initialisation: deviations that stand in for the missing score scaling.
        let mut projection = |part: &str, inputs: usize, outputs: usize, std: f64| {
            Dense::normal_without_bias(store, &format!("{name}.{part}"), inputs, outputs, std)
        };
        let q = projection("q", spec.d_model, inner, (d * spec.d_kv as f64).powf(-0.5))?;
        let k = projection("k", spec.d_model, inner, d.powf(-0.5))?;
        let v = projection("v", spec.d_model, inner, d.powf(-0.5))?;
        let o = projection("o", inner, spec.d_model, (inner as f64).powf(-0.5))?;
        let relative_bias = if relative_bias {
            Some(store.normal_scaled(
                &format!("{name}.relative_attention_bias.weight"),
                &[spec.num_buckets, spec.num_heads],
                d.powf(-0.5),
            )?)
        } else {
            None
        };
        Ok(T5Attention {
            q,
            k,
            v,
            o,
            relative_bias,
            weight_dropout: Dropout::new(spec.dropout, seed),
            spec,
        })
    }

    /// The relative position bias `[1, heads, queries, keys]`; `None` for a block without the
    /// table.
    fn position_bias(
        &self,
        queries: usize,
        keys: usize,
        bidirectional: bool,
        device: &Device,
    ) -> Result<Option<Tensor>> {
        let Some(table) = &self.relative_bias else {
            return Ok(None);
        };
        let buckets = bucket_table(
            queries,
            keys,
            bidirectional,
            self.spec.num_buckets,
            self.spec.max_distance,
            device,
        )?;
        let bias = table
            .index_select(&buckets, 0)?
            .reshape((queries, keys, self.spec.num_heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?;
        Ok(Some(bias))
    }

    /// Attends from `x` (`[B, Lq, d_model]`) to `memory` (`[B, Lk, d_model]`), adding
    /// `previous` (`[B, heads, Lq, Lk]`: position bias and masks) to the raw scores; `rotary`
    /// (cosine and sine tables of [`Rotary::tables`]) rotates queries and keys first.
    pub(crate) fn forward(
        &self,
        x: &Tensor,
        memory: &Tensor,
        previous: Option<&Tensor>,
        rotary: Option<&(Tensor, Tensor)>,
        train: bool,
    ) -> Result<Tensor> {
        let (batch, queries, _) = x.dims3()?;
        let keys = memory.dim(1)?;
        let (heads, width) = (self.spec.num_heads, self.spec.d_kv);
        let dropped = train && !self.weight_dropout.is_identity();
        let dropout = || {
            dropped.then(|| WeightDropout {
                masks: self.weight_dropout.masks(),
                heads,
            })
        };
        if rotary.is_none() && kernels::fused(x.device()) {
            // Each head read in place from the projections, the attended values written joined.
            let (_, attended) = joined_attention(
                &self.q.forward(x, None)?,
                &self.k.forward(memory, None)?,
                &self.v.forward(memory, None)?,
                heads,
                previous,
                1.0,
                dropout(),
            )?;
            return self.o.forward(&attended, None);
        }
        let split = |t: Tensor, length: usize| -> Result<Tensor> {
            Ok(t.reshape((batch, length, heads, width))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let mut q = split(self.q.forward(x, None)?, queries)?;
        let mut k = split(self.k.forward(memory, None)?, keys)?;
        let v = split(self.v.forward(memory, None)?, keys)?;
        if let Some((cos, sin)) = rotary {
            q = Rotary::apply(&q, cos, sin)?.contiguous()?;
            k = Rotary::apply(&k, cos, sin)?.contiguous()?;
        }
        let attended = if kernels::fused(x.device()) {
            fused_attention(&q, &k, &v, previous, 1.0, dropout())?.1
        } else {
            let mut scores = q.matmul(&k.transpose(2, 3)?.contiguous()?)?;
            if let Some(previous) = previous {
                scores = (scores + previous)?;
            }
            let weights = self
                .weight_dropout
                .apply(&softmax_last_dim(&scores)?, train)?;
            weights.matmul(&v)?
        };
        let joined = attended
            .transpose(1, 2)?
            .reshape((batch, queries, heads * width))?;
        self.o.forward(&joined, None)
    }

    /// What attention gives a query whose only key is itself: its value, projected out
    /// (`o(v(x))`; the weight of a lone key is exactly 1).
    pub(crate) fn own_value(&self, x: &Tensor) -> Result<Tensor> {
        self.o.forward(&self.v.forward(x, None)?, None)
    }

    /// The number of heads.
    pub(crate) fn heads(&self) -> usize {
        self.spec.num_heads
    }
}

/// `bias` (`[1, heads, Lq, Lk]`) and `mask` (broadcast to `[B, heads, Lq, Lk]`) added into one
/// `[B, heads, Lq, Lk]` tensor that every block of a stack adds to its scores.
pub(crate) fn scores_offset(
    bias: Option<Tensor>,
    mask: Option<&Tensor>,
    shape: (usize, usize, usize, usize),
) -> Result<Option<Tensor>> {
    let offset = match (bias, mask) {
        (Some(bias), Some(mask)) => bias.broadcast_add(mask)?,
        (Some(bias), None) => bias,
        (None, Some(mask)) => mask.clone(),
        (None, None) => return Ok(None),
    };
    Ok(Some(offset.broadcast_as(shape)?.contiguous()?))
}

/// T5's feed-forward layer (`T5DenseActDense` with ReLU): `wo(dropout(relu(wi x)))`, both
/// bias-free.
#[derive(Debug)]
pub(crate) struct T5FeedForward {
    wi: Dense,
    wo: Dense,
    dropout: Dropout,
}

impl T5FeedForward {
    pub(crate) fn new(store: &mut ParamStore, name: &str, spec: T5Spec, seed: u64) -> Result<Self> {
        let wi = Dense::normal_without_bias(
            store,
            &format!("{name}.wi"),
            spec.d_model,
            spec.d_ff,
            (spec.d_model as f64).powf(-0.5),
        )?;
        let wo = Dense::normal_without_bias(
            store,
            &format!("{name}.wo"),
            spec.d_ff,
            spec.d_model,
            (spec.d_ff as f64).powf(-0.5),
        )?;
        Ok(T5FeedForward {
            wi,
            wo,
            dropout: Dropout::new(spec.dropout, seed),
        })
    }

    /// Applies the layer to `[..., d_model]`, with dropout when `train` is set.
    pub(crate) fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let hidden = self.wi.forward(x, Some(Activation::ReLU))?;
        self.wo.forward(&self.dropout.apply(&hidden, train)?, None)
    }
}

/// A norm, then a sublayer whose output (after dropout) is added to the input: T5's pre-norm
/// residual.
#[derive(Debug)]
pub(crate) struct Normed<T> {
    norm: RmsNorm,
    pub(crate) inner: T,
    dropout: Dropout,
}

impl<T> Normed<T> {
    /// The norm `{name}.layer_norm` around `inner`, dropout keyed by `seed`.
    pub(crate) fn new(
        store: &mut ParamStore,
        name: &str,
        spec: T5Spec,
        inner: T,
        seed: u64,
    ) -> Result<Self> {
        let norm = RmsNorm::new(store, &format!("{name}.layer_norm"), spec.d_model, spec.eps)?;
        Ok(Normed {
            norm,
            inner,
            dropout: Dropout::new(spec.dropout, seed),
        })
    }

    /// `h + dropout(sublayer(norm(h)))`.
    pub(crate) fn residual(
        &self,
        h: &Tensor,
        train: bool,
        sublayer: impl FnOnce(&T, &Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let out = sublayer(&self.inner, &self.norm.forward(h)?)?;
        self.dropout.add_to(h, &out, train)
    }
}

/// One encoder block: self-attention, then the feed-forward layer.
#[derive(Debug)]
struct EncoderBlock {
    attention: Normed<T5Attention>,
    feed_forward: Normed<T5FeedForward>,
}

/// One decoder block: causal self-attention, attention to the encoder, then the feed-forward
/// layer.
#[derive(Debug)]
struct DecoderBlock {
    attention: Normed<T5Attention>,
    cross_attention: Normed<T5Attention>,
    feed_forward: Normed<T5FeedForward>,
}

/// Self-attention sublayer of block `block` of the stack named `prefix`, with the bias table in
/// the first block.
fn self_attention(
    store: &mut ParamStore,
    prefix: &str,
    block: usize,
    spec: T5Spec,
    seed: u64,
) -> Result<Normed<T5Attention>> {
    let name = format!("{prefix}.block.{block}.layer.0");
    let attention = T5Attention::new(
        store,
        &format!("{name}.SelfAttention"),
        spec,
        block == 0,
        seed,
    )?;
    Normed::new(store, &name, spec, attention, seed.wrapping_add(1))
}

/// Feed-forward sublayer `sublayer` of block `block` of the stack named `prefix`.
fn feed_forward(
    store: &mut ParamStore,
    prefix: &str,
    block: usize,
    sublayer: usize,
    spec: T5Spec,
    seed: u64,
) -> Result<Normed<T5FeedForward>> {
    let name = format!("{prefix}.block.{block}.layer.{sublayer}");
    let inner = T5FeedForward::new(store, &format!("{name}.DenseReluDense"), spec, seed)?;
    Normed::new(store, &name, spec, inner, seed.wrapping_add(1))
}

/// The seed of block `block`'s dropout layers in a stack seeded with `seed` (after the stack's
/// own two).
pub(crate) fn block_seed(seed: u64, block: usize) -> u64 {
    seed.wrapping_add(2 + BLOCK_SEEDS * block as u64)
}

/// T5's encoder stack: bidirectional self-attention blocks and a final norm, named
/// `{prefix}.block.{i}…` and `{prefix}.final_layer_norm`.
#[derive(Debug)]
pub struct T5Encoder {
    blocks: Vec<EncoderBlock>,
    final_norm: RmsNorm,
    input_dropout: Dropout,
    output_dropout: Dropout,
}

impl T5Encoder {
    /// Creates `layers` blocks under `prefix` (`encoder` in Hugging Face's models), their
    /// dropout drawing from streams keyed by `seed` onwards.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        spec: T5Spec,
        layers: usize,
        seed: u64,
    ) -> Result<Self> {
        let blocks = (0..layers)
            .map(|i| {
                let seed = block_seed(seed, i);
                Ok(EncoderBlock {
                    attention: self_attention(store, prefix, i, spec, seed)?,
                    feed_forward: feed_forward(store, prefix, i, 1, spec, seed.wrapping_add(2))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = final_norm(store, prefix, spec)?;
        Ok(T5Encoder {
            blocks,
            final_norm,
            input_dropout: Dropout::new(spec.dropout, seed),
            output_dropout: Dropout::new(spec.dropout, seed.wrapping_add(1)),
        })
    }

    /// Encodes `x` (`[B, L, d_model]`) whose keys `mask` (from [`additive_key_mask`]) hides,
    /// with dropout when `train` is set.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, length, _) = x.dims3()?;
        let mut h = self.input_dropout.apply(x, train)?;
        if let Some(first) = self.blocks.first() {
            let attention = &first.attention.inner;
            let bias = attention.position_bias(length, length, true, x.device())?;
            let shape = (batch, attention.spec.num_heads, length, length);
            let offset = scores_offset(bias, Some(mask), shape)?;
            for block in &self.blocks {
                h = block.attention.residual(&h, train, |a, normed| {
                    a.forward(normed, normed, offset.as_ref(), None, train)
                })?;
                h = block
                    .feed_forward
                    .residual(&h, train, |f, normed| f.forward(normed, train))?;
            }
        }
        self.output_dropout
            .apply(&self.final_norm.forward(&h)?, train)
    }
}

/// T5's decoder stack: causal self-attention, attention to the encoder's states, feed-forward
/// blocks and a final norm, named `{prefix}.block.{i}…` and `{prefix}.final_layer_norm`.
#[derive(Debug)]
pub struct T5Decoder {
    blocks: Vec<DecoderBlock>,
    final_norm: RmsNorm,
    input_dropout: Dropout,
    output_dropout: Dropout,
}

impl T5Decoder {
    /// Creates `layers` blocks under `prefix` (`decoder` in Hugging Face's models), their
    /// dropout drawing from streams keyed by `seed` onwards.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        spec: T5Spec,
        layers: usize,
        seed: u64,
    ) -> Result<Self> {
        let blocks = (0..layers)
            .map(|i| {
                let seed = block_seed(seed, i);
                let attention = self_attention(store, prefix, i, spec, seed)?;
                let name = format!("{prefix}.block.{i}.layer.1");
                let cross = T5Attention::new(
                    store,
                    &format!("{name}.EncDecAttention"),
                    spec,
                    false,
                    seed.wrapping_add(2),
                )?;
                Ok(DecoderBlock {
                    attention,
                    cross_attention: Normed::new(store, &name, spec, cross, seed.wrapping_add(3))?,
                    feed_forward: feed_forward(store, prefix, i, 2, spec, seed.wrapping_add(4))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = final_norm(store, prefix, spec)?;
        Ok(T5Decoder {
            blocks,
            final_norm,
            input_dropout: Dropout::new(spec.dropout, seed),
            output_dropout: Dropout::new(spec.dropout, seed.wrapping_add(1)),
        })
    }

    /// Decodes `x` (`[B, Lq, d_model]`, each step seeing itself and earlier ones) against the
    /// encoder's `memory` (`[B, Lk, d_model]`), whose keys `memory_mask` hides, with dropout when
    /// `train` is set.
    pub fn forward(
        &self,
        x: &Tensor,
        memory: &Tensor,
        memory_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let (batch, length, _) = x.dims3()?;
        let device = x.device();
        let mut h = self.input_dropout.apply(x, train)?;
        if let Some(first) = self.blocks.first() {
            let attention = &first.attention.inner;
            let heads = attention.spec.num_heads;
            let bias = attention.position_bias(length, length, false, device)?;
            let causal = causal_mask(length, device)?;
            let self_offset = scores_offset(bias, causal.as_ref(), (batch, heads, length, length))?;
            let memory_shape = (batch, heads, length, memory.dim(1)?);
            let memory_offset = scores_offset(None, Some(memory_mask), memory_shape)?;
            for block in &self.blocks {
                h = block.attention.residual(&h, train, |a, normed| {
                    a.forward(normed, normed, self_offset.as_ref(), None, train)
                })?;
                h = block.cross_attention.residual(&h, train, |a, normed| {
                    a.forward(normed, memory, memory_offset.as_ref(), None, train)
                })?;
                h = block
                    .feed_forward
                    .residual(&h, train, |f, normed| f.forward(normed, train))?;
            }
        }
        self.output_dropout
            .apply(&self.final_norm.forward(&h)?, train)
    }
}

/// A stack's last norm, `{prefix}.final_layer_norm`.
pub(crate) fn final_norm(store: &mut ParamStore, prefix: &str, spec: T5Spec) -> Result<RmsNorm> {
    RmsNorm::new(
        store,
        &format!("{prefix}.final_layer_norm"),
        spec.d_model,
        spec.eps,
    )
}

/// `[1, 1, L, L]` with `-inf` above the diagonal (a step sees itself and earlier steps); `None`
/// for one step, which sees only itself.
fn causal_mask(length: usize, device: &Device) -> Result<Option<Tensor>> {
    if length < 2 {
        return Ok(None);
    }
    let values: Vec<f32> = (0..length)
        .flat_map(|q| (0..length).map(move |k| if k > q { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Some(Tensor::from_vec(
        values,
        (1, 1, length, length),
        device,
    )?))
}
