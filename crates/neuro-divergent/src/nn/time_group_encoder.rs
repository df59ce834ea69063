//! Chronos-2's encoder (Ansari et al., 2025): T5-style pre-norm blocks that attend along time
//! within each row (rotary positions, no scaling) and then across the rows of a group at each
//! time step (no positions: a group's rows are a set), then a ReLU feed-forward layer. A group
//! is one forecasting task: a series with its covariates, or several series forecast together.

use candle_core::Tensor;

use super::t5::{block_seed, final_norm, scores_offset, Normed, T5Attention, T5FeedForward};
use super::{additive_key_mask, Dropout, ParamStore, RmsNorm, Rotary, T5Spec};
use crate::error::Result;

/// One block: attention along time, attention across the group, feed-forward.
#[derive(Debug)]
struct TimeGroupBlock {
    time: Normed<T5Attention>,
    group: Normed<T5Attention>,
    feed_forward: Normed<T5FeedForward>,
}

/// The encoder stack, named `{prefix}.block.{i}.layer.{0,1,2}` (`self_attention`,
/// `self_attention`, `mlp`) and `{prefix}.final_layer_norm`, as Chronos-2 names it.
#[derive(Debug)]
pub struct TimeGroupEncoder {
    blocks: Vec<TimeGroupBlock>,
    final_norm: RmsNorm,
    rotary: Rotary,
    input_dropout: Dropout,
    output_dropout: Dropout,
}

impl TimeGroupEncoder {
    /// Creates `layers` blocks under `prefix`, rotary positions of base `rope_theta`, dropout
    /// drawing from streams keyed by `seed` onwards.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        spec: T5Spec,
        layers: usize,
        rope_theta: f64,
        seed: u64,
    ) -> Result<Self> {
        let blocks = (0..layers)
            .map(|i| {
                let seed = block_seed(seed, i);
                let mut attention = |sublayer: usize, offset: u64| -> Result<Normed<T5Attention>> {
                    let name = format!("{prefix}.block.{i}.layer.{sublayer}");
                    let inner = T5Attention::new(
                        store,
                        &format!("{name}.self_attention"),
                        spec,
                        false,
                        seed.wrapping_add(offset),
                    )?;
                    Normed::new(store, &name, spec, inner, seed.wrapping_add(offset + 1))
                };
                let time = attention(0, 0)?;
                let group = attention(1, 2)?;
                let name = format!("{prefix}.block.{i}.layer.2");
                let mlp =
                    T5FeedForward::new(store, &format!("{name}.mlp"), spec, seed.wrapping_add(4))?;
                let feed_forward = Normed::new(store, &name, spec, mlp, seed.wrapping_add(5))?;
                Ok(TimeGroupBlock {
                    time,
                    group,
                    feed_forward,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = final_norm(store, prefix, spec)?;
        Ok(TimeGroupEncoder {
            blocks,
            final_norm,
            rotary: Rotary::new(rope_theta, spec.d_kv),
            input_dropout: Dropout::new(spec.dropout, seed),
            output_dropout: Dropout::new(spec.dropout, seed.wrapping_add(1)),
        })
    }

    /// Encodes `x` (`[N, L, d_model]`: `N / group` groups of `group` consecutive rows) whose
    /// tokens `observed` (`[N, L]`, 1 or 0) says are keys, with dropout when `train` is set.
    pub fn forward(
        &self,
        x: &Tensor,
        observed: &Tensor,
        group: usize,
        train: bool,
    ) -> Result<Tensor> {
        let (rows, length, width) = x.dims3()?;
        let mut h = self.input_dropout.apply(x, train)?;
        if let Some(first) = self.blocks.first() {
            let heads = first.time.inner.heads();
            let time_mask = additive_key_mask(observed)?;
            let time_offset = scores_offset(None, Some(&time_mask), (rows, heads, length, length))?;
            let tables = self.rotary.tables(length, x.device())?;
            let groups = rows / group;
            // Across the group: one query per row and time step, its group's rows at that
            // step the keys.
            let across = |t: &Tensor, features: usize| -> Result<Tensor> {
                Ok(t.reshape((groups, group, length, features))?
                    .transpose(1, 2)?
                    .reshape((groups * length, group, features))?)
            };
            let back = |t: &Tensor| -> Result<Tensor> {
                Ok(t.reshape((groups, length, group, width))?
                    .transpose(1, 2)?
                    .reshape((rows, length, width))?)
            };
            // Alone in its group, a row's token attends to itself with weight 1, except that
            // training drops attention weights too.
            let attend_across = group > 1 || train;
            let group_offset = if attend_across {
                let keys = across(&observed.unsqueeze(2)?, 1)?.squeeze(2)?;
                let mask = additive_key_mask(&keys.contiguous()?)?;
                scores_offset(None, Some(&mask), (groups * length, heads, group, group))?
            } else {
                None
            };
            for block in &self.blocks {
                h = block.time.residual(&h, train, |a, normed| {
                    a.forward(normed, normed, time_offset.as_ref(), Some(&tables), train)
                })?;
                h = if attend_across {
                    let grouped = across(&h, width)?.contiguous()?;
                    let mixed = block.group.residual(&grouped, train, |a, normed| {
                        a.forward(normed, normed, group_offset.as_ref(), None, train)
                    })?;
                    back(&mixed)?
                } else {
                    block
                        .group
                        .residual(&h, train, |a, normed| a.own_value(normed))?
                };
                h = block
                    .feed_forward
                    .residual(&h, train, |f, normed| f.forward(normed, train))?;
            }
        }
        self.output_dropout
            .apply(&self.final_norm.forward(&h)?, train)
    }
}
