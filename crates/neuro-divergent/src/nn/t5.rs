//! T5's encoder and decoder stacks (Hugging Face's `T5Stack`), the backbone of Chronos-Bolt:
//! pre-norm blocks with root-mean-square norms, attention without the `1/sqrt(d)` scaling, a
//! relative position bias computed by the first block and shared by the others, and ReLU
//! feed-forward layers. Parameters carry Hugging Face's names, so pretrained weights load by name.

use candle_core::{Device, Tensor};

use super::relative_position::bucket_table;
use super::{softmax_last_dim, Activation, Dense, ParamStore, RmsNorm};
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
}

/// An additive attention mask `[B, 1, 1, keys]` from `[B, keys]` observed flags (1 observed,
/// 0 masked): 0 where a key may be attended to, `-inf` where not.
pub fn additive_key_mask(observed: &Tensor) -> Result<Tensor> {
    let (batch, keys) = observed.dims2()?;
    let values: Vec<f32> = observed
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|m| if m > 0.0 { 0.0 } else { f32::NEG_INFINITY })
        .collect();
    Ok(Tensor::from_vec(
        values,
        (batch, 1, 1, keys),
        observed.device(),
    )?)
}

/// T5's multi-head attention (`T5Attention`): bias-free projections `q`, `k`, `v`, `o`, raw dot
/// products, and in a stack's first block the relative position bias table.
#[derive(Debug, Clone)]
struct T5Attention {
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    relative_bias: Option<Tensor>,
    spec: T5Spec,
}

impl T5Attention {
    /// Creates `{name}.q/k/v/o.weight` (and `{name}.relative_attention_bias.weight` when
    /// `relative_bias`), drawn as T5 initialises them.
    fn new(store: &mut ParamStore, name: &str, spec: T5Spec, relative_bias: bool) -> Result<Self> {
        let inner = spec.num_heads * spec.d_kv;
        let d = spec.d_model as f64;
        let q = Dense::normal_without_bias(
            store,
            &format!("{name}.q"),
            spec.d_model,
            inner,
            (d * spec.d_kv as f64).powf(-0.5),
        )?;
        let k = Dense::normal_without_bias(
            store,
            &format!("{name}.k"),
            spec.d_model,
            inner,
            d.powf(-0.5),
        )?;
        let v = Dense::normal_without_bias(
            store,
            &format!("{name}.v"),
            spec.d_model,
            inner,
            d.powf(-0.5),
        )?;
        let o = Dense::normal_without_bias(
            store,
            &format!("{name}.o"),
            inner,
            spec.d_model,
            (inner as f64).powf(-0.5),
        )?;
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

    /// Attends from `x` (`[B, Lq, d_model]`) to `memory` (`[B, Lk, d_model]`), adding `bias`
    /// and `mask` (both broadcast to `[B, heads, Lq, Lk]`) to the scores.
    fn forward(
        &self,
        x: &Tensor,
        memory: &Tensor,
        bias: Option<&Tensor>,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (batch, queries, _) = x.dims3()?;
        let keys = memory.dim(1)?;
        let (heads, width) = (self.spec.num_heads, self.spec.d_kv);
        let split = |t: Tensor, length: usize| -> Result<Tensor> {
            Ok(t.reshape((batch, length, heads, width))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split(self.q.forward(x, None)?, queries)?;
        let k = split(self.k.forward(memory, None)?, keys)?;
        let v = split(self.v.forward(memory, None)?, keys)?;
        let mut scores = q.matmul(&k.transpose(2, 3)?.contiguous()?)?;
        if let Some(bias) = bias {
            scores = scores.broadcast_add(bias)?;
        }
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = softmax_last_dim(&scores)?;
        let attended =
            weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((batch, queries, heads * width))?;
        self.o.forward(&attended, None)
    }
}

/// T5's feed-forward layer (`T5DenseActDense` with ReLU): `wo(relu(wi x))`, both bias-free.
#[derive(Debug, Clone)]
struct T5FeedForward {
    wi: Dense,
    wo: Dense,
}

impl T5FeedForward {
    fn new(store: &mut ParamStore, name: &str, spec: T5Spec) -> Result<Self> {
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
        Ok(T5FeedForward { wi, wo })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.wo
            .forward(&self.wi.forward(x, Some(Activation::ReLU))?, None)
    }
}

/// A norm followed by a sublayer whose output is added to the input: T5's pre-norm residual.
#[derive(Debug, Clone)]
struct Normed<T> {
    norm: RmsNorm,
    inner: T,
}

impl<T> Normed<T> {
    fn new(store: &mut ParamStore, name: &str, spec: T5Spec, inner: T) -> Result<Self> {
        let norm = RmsNorm::new(store, &format!("{name}.layer_norm"), spec.d_model, spec.eps)?;
        Ok(Normed { norm, inner })
    }
}

/// One encoder block: self-attention, then the feed-forward layer.
#[derive(Debug, Clone)]
struct EncoderBlock {
    attention: Normed<T5Attention>,
    feed_forward: Normed<T5FeedForward>,
}

/// One decoder block: causal self-attention, attention to the encoder, then the feed-forward
/// layer.
#[derive(Debug, Clone)]
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
) -> Result<Normed<T5Attention>> {
    let name = format!("{prefix}.block.{block}.layer.0");
    let attention = T5Attention::new(store, &format!("{name}.SelfAttention"), spec, block == 0)?;
    Normed::new(store, &name, spec, attention)
}

fn feed_forward(
    store: &mut ParamStore,
    prefix: &str,
    block: usize,
    sublayer: usize,
    spec: T5Spec,
) -> Result<Normed<T5FeedForward>> {
    let name = format!("{prefix}.block.{block}.layer.{sublayer}");
    let inner = T5FeedForward::new(store, &format!("{name}.DenseReluDense"), spec)?;
    Normed::new(store, &name, spec, inner)
}

/// T5's encoder stack: bidirectional self-attention blocks and a final norm, named
/// `{prefix}.block.{i}…` and `{prefix}.final_layer_norm`.
#[derive(Debug, Clone)]
pub struct T5Encoder {
    blocks: Vec<EncoderBlock>,
    final_norm: RmsNorm,
}

impl T5Encoder {
    /// Creates `layers` blocks under `prefix` (`encoder` in Hugging Face's models).
    pub fn new(store: &mut ParamStore, prefix: &str, spec: T5Spec, layers: usize) -> Result<Self> {
        let blocks = (0..layers)
            .map(|i| {
                Ok(EncoderBlock {
                    attention: self_attention(store, prefix, i, spec)?,
                    feed_forward: feed_forward(store, prefix, i, 1, spec)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = RmsNorm::new(
            store,
            &format!("{prefix}.final_layer_norm"),
            spec.d_model,
            spec.eps,
        )?;
        Ok(T5Encoder { blocks, final_norm })
    }

    /// Encodes `x` (`[B, L, d_model]`) whose keys `mask` (from [`additive_key_mask`]) hides.
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let length = x.dim(1)?;
        let bias = match self.blocks.first() {
            Some(first) => first
                .attention
                .inner
                .position_bias(length, length, true, x.device())?,
            None => None,
        };
        let mut h = x.clone();
        for block in &self.blocks {
            let normed = block.attention.norm.forward(&h)?;
            let attended =
                block
                    .attention
                    .inner
                    .forward(&normed, &normed, bias.as_ref(), Some(mask))?;
            h = (h + attended)?;
            let normed = block.feed_forward.norm.forward(&h)?;
            h = (&h + block.feed_forward.inner.forward(&normed)?)?;
        }
        self.final_norm.forward(&h)
    }
}

/// T5's decoder stack: causal self-attention, attention to the encoder's states, feed-forward
/// blocks and a final norm, named `{prefix}.block.{i}…` and `{prefix}.final_layer_norm`.
#[derive(Debug, Clone)]
pub struct T5Decoder {
    blocks: Vec<DecoderBlock>,
    final_norm: RmsNorm,
}

impl T5Decoder {
    /// Creates `layers` blocks under `prefix` (`decoder` in Hugging Face's models).
    pub fn new(store: &mut ParamStore, prefix: &str, spec: T5Spec, layers: usize) -> Result<Self> {
        let blocks = (0..layers)
            .map(|i| {
                let attention = self_attention(store, prefix, i, spec)?;
                let name = format!("{prefix}.block.{i}.layer.1");
                let cross =
                    T5Attention::new(store, &format!("{name}.EncDecAttention"), spec, false)?;
                Ok(DecoderBlock {
                    attention,
                    cross_attention: Normed::new(store, &name, spec, cross)?,
                    feed_forward: feed_forward(store, prefix, i, 2, spec)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = RmsNorm::new(
            store,
            &format!("{prefix}.final_layer_norm"),
            spec.d_model,
            spec.eps,
        )?;
        Ok(T5Decoder { blocks, final_norm })
    }

    /// Decodes `x` (`[B, Lq, d_model]`, each step seeing itself and earlier ones) against the
    /// encoder's `memory` (`[B, Lk, d_model]`), whose keys `memory_mask` hides.
    pub fn forward(&self, x: &Tensor, memory: &Tensor, memory_mask: &Tensor) -> Result<Tensor> {
        let length = x.dim(1)?;
        let device = x.device();
        let bias = match self.blocks.first() {
            Some(first) => first
                .attention
                .inner
                .position_bias(length, length, false, device)?,
            None => None,
        };
        let causal = causal_mask(length, device)?;
        let mut h = x.clone();
        for block in &self.blocks {
            let normed = block.attention.norm.forward(&h)?;
            let attended =
                block
                    .attention
                    .inner
                    .forward(&normed, &normed, bias.as_ref(), causal.as_ref())?;
            h = (h + attended)?;
            let normed = block.cross_attention.norm.forward(&h)?;
            let attended =
                block
                    .cross_attention
                    .inner
                    .forward(&normed, memory, None, Some(memory_mask))?;
            h = (h + attended)?;
            let normed = block.feed_forward.norm.forward(&h)?;
            h = (&h + block.feed_forward.inner.forward(&normed)?)?;
        }
        self.final_norm.forward(&h)
    }
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
