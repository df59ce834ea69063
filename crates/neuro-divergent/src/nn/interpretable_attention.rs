//! The Temporal Fusion Transformer's interpretable multi-head attention (Lim et al., 2021,
//! §4.4): every head has its own queries and keys but all share one value projection, and the
//! heads' outputs are averaged, so that the heads' mean attention weights say which steps the
//! output read.

use candle_core::Tensor;

use super::{softmax_last_dim, Dense, Dropout, ParamStore};
use crate::error::{Error, Result};

/// Self-attention over `[B, T, hidden]` with `heads` heads of `hidden / heads` features.
/// Parameters `{name}.qkv_linears.weight` (queries, keys, then the shared values; no bias) and
/// `{name}.out_proj.weight` (no bias).
#[derive(Debug)]
pub struct InterpretableAttention {
    qkv: Dense,
    out_proj: Dense,
    heads: usize,
    head_width: usize,
    attention_dropout: Dropout,
    output_dropout: Dropout,
}

/// What [`InterpretableAttention::forward`] returns.
#[derive(Debug)]
pub struct AttentionOutput {
    /// `[B, T, hidden]`.
    pub values: Tensor,
    /// The attention weights of every head, `[B, heads, T, T]` (query step, then key step);
    /// each row sums to 1 (before dropout while training).
    pub weights: Tensor,
}

impl InterpretableAttention {
    /// The attention for `hidden` features in `heads` heads (`hidden` must divide evenly),
    /// dropout `attention_dropout` on the weights and `dropout` on the output, drawn from
    /// streams keyed by `seed` and `seed + 1`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        heads: usize,
        attention_dropout: f64,
        dropout: f64,
        seed: u64,
    ) -> Result<InterpretableAttention> {
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(Error::Config(format!(
                "{name}: hidden_size {hidden} must be a multiple of n_head {heads}"
            )));
        }
        let head_width = hidden / heads;
        let qkv = Dense::without_bias(
            store,
            &format!("{name}.qkv_linears"),
            hidden,
            (2 * heads + 1) * head_width,
        )?;
        let out_proj = Dense::without_bias(store, &format!("{name}.out_proj"), head_width, hidden)?;
        Ok(InterpretableAttention {
            qkv,
            out_proj,
            heads,
            head_width,
            attention_dropout: Dropout::new(attention_dropout, seed),
            output_dropout: Dropout::new(dropout, seed.wrapping_add(1)),
        })
    }

    /// Attends over `x: [B, T, hidden]` for the query steps from `first_query` on (0: every
    /// step), each reading every step it may (with `causal`, step `t` reads steps `0..=t`
    /// only): `values` `[B, T - first_query, hidden]` and `weights` `[B, heads, T -
    /// first_query, T]`, the same rows as the whole attention's.
    pub fn forward(
        &self,
        x: &Tensor,
        first_query: usize,
        causal: bool,
        train: bool,
    ) -> Result<AttentionOutput> {
        let (batch, steps, _) = x.dims3()?;
        let queries = steps.checked_sub(first_query).ok_or_else(|| {
            Error::Config(format!(
                "attention from step {first_query} over {steps} steps"
            ))
        })?;
        let (heads, width) = (self.heads, self.head_width);
        let qkv = self.qkv.forward(x, None)?;
        let heads_of = |t: &Tensor, offset: usize| -> Result<Tensor> {
            let rows = t.dim(1)?;
            Ok(t.narrow(2, offset, heads * width)?
                .reshape((batch, rows, heads, width))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let queries_qkv = qkv.narrow(1, first_query, queries)?;
        let query_heads = heads_of(&queries_qkv, 0)?;
        let keys = heads_of(&qkv, heads * width)?;
        let values = qkv.narrow(2, 2 * heads * width, width)?.contiguous()?;
        let mut scores = (query_heads.matmul(&keys.transpose(2, 3)?.contiguous()?)?
            * (width as f64).powf(-0.5))?;
        if causal {
            scores = scores.broadcast_add(&causal_mask(first_query, queries, steps, x)?)?;
        }
        let weights = softmax_last_dim(&scores)?;
        let dropped = self.attention_dropout.apply(&weights, train)?;
        // [B, heads, Q, T] x [B, 1, T, width], averaged over the heads.
        let attended = dropped.broadcast_matmul(&values.unsqueeze(1)?)?.mean(1)?;
        let out = self.out_proj.forward(&attended, None)?;
        Ok(AttentionOutput {
            values: self.output_dropout.apply(&out, train)?,
            weights,
        })
    }
}

/// `[Q, T]` for the query steps `first..first + Q`: 0 where the key step is at or before the
/// query step, -inf after it.
fn causal_mask(first: usize, queries: usize, steps: usize, like: &Tensor) -> Result<Tensor> {
    let values: Vec<f32> = (first..first + queries)
        .flat_map(|q| (0..steps).map(move |k| if k > q { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Tensor::from_vec(values, (queries, steps), like.device())?.to_dtype(like.dtype())?)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::{grid, values};

    #[test]
    fn causal_weights_sum_to_one_and_never_read_later_steps() {
        let mut store = ParamStore::new(4, &Device::Cpu);
        let attention = InterpretableAttention::new(&mut store, "a", 6, 2, 0.0, 0.0, 1).unwrap();
        let x = grid((2, 5, 6), |b, t, h| {
            ((b + 3 * t + 7 * h) as f64 * 0.21).cos()
        });
        let out = attention.forward(&x, 0, true, false).unwrap();
        assert_eq!(out.values.dims(), &[2, 5, 6]);
        assert_eq!(out.weights.dims(), &[2, 2, 5, 5]);
        for (r, row) in values(&out.weights).chunks(5).enumerate() {
            let query = r % 5;
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
            assert!(row[query + 1..].iter().all(|&w| w == 0.0), "{row:?}");
        }
        // A later step's input cannot change an earlier step's output.
        let mut changed = values(&x);
        for v in &mut changed[4 * 6..5 * 6] {
            *v += 3.0;
        }
        let changed = Tensor::from_vec(changed, (2, 5, 6), &Device::Cpu).unwrap();
        let again = attention.forward(&changed, 0, true, false).unwrap();
        let (a, b) = (values(&out.values), values(&again.values));
        assert_eq!(a[..4 * 6], b[..4 * 6]);
        assert_ne!(a[4 * 6..5 * 6], b[4 * 6..5 * 6]);
    }

    #[test]
    fn later_queries_alone_are_the_whole_attentions_last_rows() {
        let mut store = ParamStore::new(6, &Device::Cpu);
        let attention = InterpretableAttention::new(&mut store, "a", 6, 3, 0.0, 0.0, 1).unwrap();
        let x = grid((2, 5, 6), |b, t, h| {
            ((2 * b + 3 * t + 5 * h) as f64 * 0.17).sin()
        });
        let whole = attention.forward(&x, 0, true, false).unwrap();
        let later = attention.forward(&x, 3, true, false).unwrap();
        assert_eq!(later.values.dims(), &[2, 2, 6]);
        assert_eq!(later.weights.dims(), &[2, 3, 2, 5]);
        let tail = |t: &Tensor, axis: usize| values(&t.narrow(axis, 3, 2).unwrap());
        for (a, b) in [
            (values(&later.values), tail(&whole.values, 1)),
            (values(&later.weights), tail(&whole.weights, 2)),
        ] {
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn hand_computed_single_head_attention() {
        // One head of width 1: q = 1 * x, k = 2 * x, v = 3 * x, output = out_proj(attended).
        let mut store = ParamStore::new(4, &Device::Cpu);
        let mut attention =
            InterpretableAttention::new(&mut store, "a", 1, 1, 0.0, 0.0, 1).unwrap();
        attention.qkv = Dense::from_parts(
            Tensor::new(&[[1f32], [2.0], [3.0]], &Device::Cpu).unwrap(),
            Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        attention.out_proj = Dense::from_parts(
            Tensor::new(&[[1f32]], &Device::Cpu).unwrap(),
            Tensor::zeros(1, candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        let x = Tensor::new(&[[[1f32], [2.0]]], &Device::Cpu).unwrap();
        let out = attention.forward(&x, 0, false, false).unwrap();
        // Step 1: q = 2, keys 2 and 4: weights softmax([4, 8]), values 3 and 6.
        let (a, b) = (4f32.exp(), 8f32.exp());
        let expected_1 = (3.0 * a + 6.0 * b) / (a + b);
        // Step 0: q = 1: softmax([2, 4]).
        let (c, d) = (2f32.exp(), 4f32.exp());
        let expected_0 = (3.0 * c + 6.0 * d) / (c + d);
        let got = values(&out.values);
        assert!((got[0] - expected_0).abs() < 1e-4, "{got:?}");
        assert!((got[1] - expected_1).abs() < 1e-4, "{got:?}");
        let causal = attention.forward(&x, 0, true, false).unwrap();
        assert!((values(&causal.values)[0] - 3.0).abs() < 1e-5);
    }
}
