//! Multi-head scaled dot-product attention (Vaswani et al., 2017), with the pre-softmax scores
//! handed on for residual attention (He et al., 2020, "RealFormer", as PatchTST uses it).
//! Without a mask, on the CPU, the scores and the weighted sum (with dropout on the weights)
//! run as the fused nodes of `attention_op.rs`, each head read in place from the projections;
//! otherwise on Candle's generic ops.

use candle_core::Tensor;

use super::attention_op::{attend, attention_scores, HeadRows, WeightDropout};
use super::kernels;
use super::{softmax_last_dim, Dense, Dropout, ParamStore};
use crate::error::{Error, Result};

/// What a [`MultiHeadAttention`]'s four projections are called (query, key, value, output):
/// each library family names them its own way, and checkpoints keep those names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionNames {
    /// `W_Q`, `W_K`, `W_V`, `to_out` (PatchTST's TST encoder).
    Tst,
    /// `query_projection`, `key_projection`, `value_projection`, `out_projection` (the
    /// Informer family's `AttentionLayer`).
    Informer,
}

impl ProjectionNames {
    fn names(self) -> [&'static str; 4] {
        match self {
            ProjectionNames::Tst => ["W_Q", "W_K", "W_V", "to_out"],
            ProjectionNames::Informer => [
                "query_projection",
                "key_projection",
                "value_projection",
                "out_projection",
            ],
        }
    }
}

/// Projects queries, keys and values into `heads` heads of `hidden / heads` features, attends
/// in each head, and projects the joined heads back to `hidden` features.
#[derive(Debug)]
pub struct MultiHeadAttention {
    query: Dense,
    key: Dense,
    value: Dense,
    out: Dense,
    heads: usize,
    scale: f64,
    weight_dropout: Dropout,
}

/// What attention returns: the attended values and the pre-softmax scores.
#[derive(Debug, Clone)]
pub struct Attended {
    /// `[B, Lq, hidden]` attended values, after the output projection.
    pub output: Tensor,
    /// `[B, heads, Lq, Lk]` scaled scores before the softmax (including any previous layer's
    /// scores and the mask), for the next layer's residual attention.
    pub scores: Tensor,
}

impl MultiHeadAttention {
    /// Attention over `hidden` features in `heads` heads (which must divide `hidden`), with
    /// the query, key, value and output projections `{name}.{projection}` (as `names` calls
    /// them) drawn in that order, and dropout of rate `weight_dropout` on the attention weights
    /// while training.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        names: ProjectionNames,
        hidden: usize,
        heads: usize,
        weight_dropout: f64,
        seed: u64,
    ) -> Result<MultiHeadAttention> {
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(Error::Config(format!(
                "hidden_size ({hidden}) must be a multiple of n_heads ({heads})"
            )));
        }
        let [query, key, value, out] = names.names();
        let mut projection =
            |part: &str| Dense::new(store, &format!("{name}.{part}"), hidden, hidden);
        Ok(MultiHeadAttention {
            query: projection(query)?,
            key: projection(key)?,
            value: projection(value)?,
            out: projection(out)?,
            heads,
            scale: ((hidden / heads) as f64).powf(-0.5),
            weight_dropout: Dropout::new(weight_dropout, seed),
        })
    }

    /// Attends from `query` (`[B, Lq, hidden]`) to `keys` and `values` (`[B, Lk, hidden]`).
    /// `previous` (`[B, heads, Lq, Lk]`) is added to the scores (residual attention); `mask`
    /// (`[Lq, Lk]`, 0 where allowed and `-inf` where not) is added too.
    pub fn forward(
        &self,
        query: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        previous: Option<&Tensor>,
        mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Attended> {
        // The fused nodes are CPU kernels, reading each head in place from the projections and
        // writing the attended values joined; other devices take the generic path.
        if mask.is_none() && kernels::fused(query.device()) {
            let dropout = (train && !self.weight_dropout.is_identity()).then(|| WeightDropout {
                masks: self.weight_dropout.masks(),
                heads: self.heads,
            });
            let (scores, joined) = joined_attention(
                &self.query.forward(query, None)?,
                &self.key.forward(keys, None)?,
                &self.value.forward(values, None)?,
                self.heads,
                previous,
                self.scale,
                dropout,
            )?;
            return Ok(Attended {
                output: self.out.forward(&joined, None)?,
                scores,
            });
        }
        let (q, k, v) = self.project_heads(query, keys, values)?;
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? * self.scale)?;
        if let Some(previous) = previous {
            scores = (scores + previous)?;
        }
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = self
            .weight_dropout
            .apply(&softmax_last_dim(&scores)?, train)?;
        let attended = weights.matmul(&v)?;
        let (batch, heads, len, width) = attended.dims4()?;
        let joined =
            attended
                .transpose(1, 2)?
                .contiguous()?
                .reshape((batch, len, heads * width))?;
        Ok(Attended {
            output: self.out.forward(&joined, None)?,
            scores,
        })
    }

    /// The queries, keys and values projected and split into heads (`[B, heads, L, d]`), for
    /// attention computed elsewhere (as [`super::ProbSparseAttention`]).
    pub(crate) fn project_heads(
        &self,
        query: &Tensor,
        keys: &Tensor,
        values: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        Ok((
            self.split_heads(&self.query.forward(query, None)?)?,
            self.split_heads(&self.key.forward(keys, None)?)?,
            self.split_heads(&self.value.forward(values, None)?)?,
        ))
    }

    /// The query projection of `[B, L, hidden]` tokens, heads not split.
    pub(crate) fn project_query(&self, x: &Tensor) -> Result<Tensor> {
        self.query.forward(x, None)
    }

    /// The key projection of `[B, L, hidden]` tokens, heads not split.
    pub(crate) fn project_key(&self, x: &Tensor) -> Result<Tensor> {
        self.key.forward(x, None)
    }

    /// The output projection of joined heads `[B, L, hidden]`.
    pub(crate) fn project_out(&self, joined: &Tensor) -> Result<Tensor> {
        self.out.forward(joined, None)
    }

    /// The factor scores are scaled by, `1 / sqrt(hidden / heads)`.
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// `[B, L, hidden]` as `[B, heads, L, hidden / heads]`.
    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, len, hidden) = x.dims3()?;
        Ok(x.reshape((batch, len, self.heads, hidden / self.heads))?
            .transpose(1, 2)?
            .contiguous()?)
    }
}

/// Scores and attended values of heads `[B, H, L, d]` through the fused nodes of
/// `attention_op.rs` (no mask; `dropout` on the weights while training).
pub(super) fn fused_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    previous: Option<&Tensor>,
    scale: f64,
    dropout: Option<WeightDropout>,
) -> Result<(Tensor, Tensor)> {
    let (batch, heads, len, width) = q.dims4()?;
    let keys = k.dim(2)?;
    let flat = |t: &Tensor, rows: usize, cols: usize| t.reshape((batch * heads, rows, cols));
    let previous = previous.map(|p| flat(p, len, keys)).transpose()?;
    let scores = attention_scores(
        &flat(q, len, width)?,
        &flat(k, keys, width)?,
        HeadRows::Split,
        previous.as_ref(),
        scale,
    )?;
    let attended = attend(
        &scores,
        &flat(v, keys, v.dim(3)?)?,
        HeadRows::Split,
        dropout,
    )?;
    Ok((
        scores.reshape((batch, heads, len, keys))?,
        attended.reshape((batch, heads, len, v.dim(3)?))?,
    ))
}

/// [`fused_attention`] for projections in their own `[B, L, heads · d]` layout (queries `q`,
/// keys `k` and values `v`), each head read in place: the scores `[B, heads, L, Lk]` and the
/// attended values joined, `[B, L, heads · dv]`.
pub(super) fn joined_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    previous: Option<&Tensor>,
    scale: f64,
    dropout: Option<WeightDropout>,
) -> Result<(Tensor, Tensor)> {
    let (batch, len, _) = q.dims3()?;
    let keys = k.dim(1)?;
    let rows = HeadRows::Joined { heads };
    let previous = previous
        .map(|p| p.reshape((batch * heads, len, keys)))
        .transpose()?;
    let scores = attention_scores(q, k, rows, previous.as_ref(), scale)?;
    let attended = attend(&scores, v, rows, dropout)?;
    Ok((scores.reshape((batch, heads, len, keys))?, attended))
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Tensor};

    use super::*;

    /// One head over two features whose projections are identities (weights 1 on the diagonal,
    /// biases 0), so the result can be worked out by hand.
    fn identity_attention() -> MultiHeadAttention {
        let eye = Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &Device::Cpu).unwrap();
        let zero = Tensor::zeros(2, candle_core::DType::F32, &Device::Cpu).unwrap();
        let dense = || Dense::from_parts(eye.clone(), zero.clone());
        MultiHeadAttention {
            query: dense(),
            key: dense(),
            value: dense(),
            out: dense(),
            heads: 1,
            scale: 2f64.powf(-0.5),
            weight_dropout: Dropout::new(0.0, 0),
        }
    }

    #[test]
    fn attention_weights_values_by_the_softmax_of_scaled_scores() {
        let attention = identity_attention();
        // Tokens a = (1, 0), b = (0, 2).
        let x = Tensor::new(&[[[1f32, 0.0], [0.0, 2.0]]], &Device::Cpu).unwrap();
        let got = attention.forward(&x, &x, &x, None, None, false).unwrap();
        let s = 2f32.powf(-0.5);
        // Scores: a·a = 1, a·b = 0, b·a = 0, b·b = 4, each times 1/sqrt(2).
        assert_eq!(values(&got.scores), [s, 0.0, 0.0, 4.0 * s]);
        let softmax =
            |u: f32, w: f32| (u.exp() / (u.exp() + w.exp()), w.exp() / (u.exp() + w.exp()));
        let (p, q) = softmax(s, 0.0);
        let (r, t) = softmax(0.0, 4.0 * s);
        let expected = [p, 2.0 * q, r, 2.0 * t];
        for (a, b) in values(&got.output).iter().zip(expected) {
            assert!(
                (a - b).abs() < 1e-6,
                "{:?} vs {expected:?}",
                values(&got.output)
            );
        }
    }

    #[test]
    fn a_causal_mask_and_previous_scores_enter_before_the_softmax() {
        let attention = identity_attention();
        let x = Tensor::new(&[[[1f32, 0.0], [0.0, 2.0]]], &Device::Cpu).unwrap();
        let inf = f32::NEG_INFINITY;
        let mask = Tensor::new(&[[0f32, inf], [0.0, 0.0]], &Device::Cpu).unwrap();
        let previous = Tensor::new(&[[[[0f32, 0.0], [10.0, 0.0]]]], &Device::Cpu).unwrap();
        let got = attention
            .forward(&x, &x, &x, Some(&previous), Some(&mask), false)
            .unwrap();
        let s = 2f32.powf(-0.5);
        // Token a sees only itself; token b's scores are (0 + 10, 4 s).
        assert_eq!(values(&got.scores), [s, inf, 10.0, 4.0 * s]);
        let w = (10f32.exp()) / (10f32.exp() + (4.0 * s).exp());
        let expected = [1.0, 0.0, w, 2.0 * (1.0 - w)];
        for (a, b) in values(&got.output).iter().zip(expected) {
            assert!(
                (a - b).abs() < 1e-5,
                "{:?} vs {expected:?}",
                values(&got.output)
            );
        }
    }

    #[test]
    fn heads_must_divide_the_features() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let err = MultiHeadAttention::new(&mut store, "a", ProjectionNames::Tst, 10, 4, 0.0, 0)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("hidden_size (10) must be a multiple of n_heads (4)"));
    }

    #[test]
    fn fused_attention_drops_the_weights_generic_ops_drop() {
        // Weight dropout on the fused path draws the masks Dropout draws on the generic path
        // (drawn again in the backward pass), so both give the same output and gradients.
        let device = Device::Cpu;
        let mut store = ParamStore::new(3, &device);
        let attention =
            MultiHeadAttention::new(&mut store, "a", ProjectionNames::Tst, 8, 2, 0.4, 5).unwrap();
        let varmap = store.into_varmap();
        let x =
            candle_core::Var::from_tensor(&Tensor::randn(0f32, 1f32, (3, 5, 8), &device).unwrap())
                .unwrap();
        let previous = Tensor::randn(0f32, 1f32, (3, 2, 5, 5), &device).unwrap();
        // Self-attention over `x` as rows 3..6 of a 9-window batch in training pass 4.
        let attend = |train| {
            crate::nn::pass::scope(4, 3..6, 9, || {
                let x = x.as_tensor();
                attention.forward(x, x, x, Some(&previous), None, train)
            })
            .unwrap()
        };
        let run = || {
            let out = attend(true);
            let weights = Tensor::arange(0f32, out.output.elem_count() as f32, &device)
                .unwrap()
                .reshape(out.output.shape())
                .unwrap();
            let grads = (&out.output * weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let mut all = values(&out.output);
            all.extend(values(grads.get(x.as_tensor()).unwrap()));
            for var in varmap.all_vars() {
                all.extend(values(grads.get(var.as_tensor()).unwrap()));
            }
            all
        };
        let fused = run();
        let generic = kernels::with_generic_ops(run);
        let largest = generic.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in fused.iter().zip(&generic).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * largest,
                "value {i}: fused {a}, generic {b}"
            );
        }
        // Some weights were dropped: without dropout the output differs.
        let kept = attend(false);
        assert_ne!(values(&kept.output), fused[..kept.output.elem_count()]);
    }
}
