//! Attention's two `L x L` steps as graph nodes with their own backward passes, computed head
//! by head so that each head's scores stay in cache.
//!
//! Written with Candle's generic ops, `softmax(s QKᵀ + P) V` is five nodes over `[N, L, L]`
//! tensors (product, scale, sum, softmax, product), and the backward pass allocates a zeroed
//! gradient and an accumulated copy for each. Here it is two nodes, each head's products one
//! GEMM call: [`attention_scores`] (`S = s QKᵀ + P`, the scores that residual attention hands
//! to the next layer) and [`attend`] (`softmax(S) V`, with dropout on the weights while
//! training). Neither the softmax weights nor the dropout masks are stored: `attend` recomputes
//! the weights from `S` and draws the masks again from their streams in its backward pass.

use std::ops::Range;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rand::rngs::StdRng;

use super::dropout::Masks;
use super::product::{f32_slice, multiply_into, Operand};
use super::softmax::softmax_row;
use crate::error::Result;

/// `scale · q kᵀ (+ previous)` for the `N` heads of `q` and `k` laid out as `rows` says (`[N, L,
/// d]` and `[N, Lk, d]` when split), and `previous: [N, L, Lk]`; the scores are `[N, L, Lk]`.
pub(crate) fn attention_scores(
    q: &Tensor,
    k: &Tensor,
    rows: HeadRows,
    previous: Option<&Tensor>,
    scale: f64,
) -> Result<Tensor> {
    let op = Scores {
        scale: scale as f32,
        rows,
    };
    let (q, k) = (q.contiguous()?, k.contiguous()?);
    Ok(match previous {
        Some(previous) => q.apply_op3(&k, &previous.contiguous()?, op)?,
        None => q.apply_op2(&k, op)?,
    })
}

/// `softmax(scores) v` over the last axis of `scores: [N, L, Lk]`, for the `N` heads of `v` laid
/// out as `rows` says (`[N, Lk, dv]` when split); the output has `v`'s layout with `L` rows per
/// head. With `dropout`, the weights are multiplied by its masks first.
pub(crate) fn attend(
    scores: &Tensor,
    v: &Tensor,
    rows: HeadRows,
    dropout: Option<WeightDropout>,
) -> Result<Tensor> {
    Ok(scores
        .contiguous()?
        .apply_op2(&v.contiguous()?, Attend { dropout, rows })?)
}

/// Where each head's rows lie in the queries, keys and values of the attention nodes, and in
/// the outputs and gradients that have their layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadRows {
    /// `[N, L, d]`: head `n`'s `L` rows one block after another.
    Split,
    /// `[B, L, heads · d]`, the projections' own layout: head `n` is window `n / heads`'s
    /// columns `(n % heads) · d` onwards, its rows `heads · d` apart. No copies split the heads
    /// apart or join them again.
    Joined {
        /// Heads per window.
        heads: usize,
    },
}

impl HeadRows {
    /// The heads, rows per head and features per row of a tensor of `dims` in this layout.
    fn sizes(self, dims: &[usize], name: &str) -> candle_core::Result<(usize, usize, usize)> {
        match (self, dims) {
            (HeadRows::Split, &[n, len, d]) => Ok((n, len, d)),
            (HeadRows::Joined { heads }, &[b, len, width])
                if heads > 0 && width.is_multiple_of(heads) =>
            {
                Ok((b * heads, len, width / heads))
            }
            _ => candle_core::bail!("{name}: {dims:?} does not hold heads laid out as {self:?}"),
        }
    }

    /// The span of a tensor holding head `n`'s `len` rows of `d` features, and their stride.
    fn block(self, n: usize, len: usize, d: usize) -> (Range<usize>, usize) {
        match self {
            HeadRows::Split => (n * len * d..(n + 1) * len * d, d.max(1)),
            HeadRows::Joined { heads } => {
                let width = heads * d;
                let (window, head) = (n / heads, n % heads);
                let end = (window + 1) * len * width;
                (
                    (window * len * width + head * d).min(end)..end,
                    width.max(1),
                )
            }
        }
    }

    /// The shape of a tensor holding `n` heads of `len` rows of `d` features in this layout.
    fn shape(self, n: usize, len: usize, d: usize) -> Shape {
        match self {
            HeadRows::Split => Shape::from((n, len, d)),
            HeadRows::Joined { heads } => Shape::from((n / heads, len, heads * d)),
        }
    }
}

/// Dropout on attention weights `[N, L, Lk]` whose `N` rows are windows of `heads` heads each:
/// each window's mask is drawn over its heads in order, as [`super::Dropout`] draws it over
/// `[B, heads, L, Lk]` weights.
#[derive(Debug, Clone)]
pub(crate) struct WeightDropout {
    /// The masks of the dropout layer's use.
    pub masks: Masks,
    /// Heads per window.
    pub heads: usize,
}

impl WeightDropout {
    /// The masks of `n` heads of `len` weights each, in head order.
    fn head_masks(&self, n: usize, len: usize) -> candle_core::Result<HeadMasks<'_>> {
        let streams = self
            .masks
            .streams(n / self.heads.max(1))
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(HeadMasks {
            dropout: self,
            streams,
            next: 0,
            mask: vec![0.0; len],
        })
    }
}

/// The masks of [`WeightDropout`], one head after another.
struct HeadMasks<'a> {
    dropout: &'a WeightDropout,
    streams: Vec<StdRng>,
    next: usize,
    mask: Vec<f32>,
}

impl HeadMasks<'_> {
    /// The next head's mask.
    fn next_mask(&mut self) -> &[f32] {
        let window = self.next / self.dropout.heads.max(1);
        self.next += 1;
        self.dropout
            .masks
            .fill(&mut self.streams[window], &mut self.mask);
        &self.mask
    }
}

/// Each head's softmax weights, and the masks applied to them when the weights are dropped.
struct HeadWeights<'a> {
    lk: usize,
    masks: Option<HeadMasks<'a>>,
    weights: Vec<f32>,
    dropped: Vec<f32>,
}

impl<'a> HeadWeights<'a> {
    fn new(
        heads: Heads,
        dropout: &'a Option<WeightDropout>,
    ) -> candle_core::Result<HeadWeights<'a>> {
        let len = heads.l * heads.lk;
        let masks = dropout
            .as_ref()
            .map(|d| d.head_masks(heads.n, len))
            .transpose()?;
        Ok(HeadWeights {
            lk: heads.lk,
            dropped: if masks.is_some() {
                vec![0.0; len]
            } else {
                Vec::new()
            },
            masks,
            weights: vec![0.0; len],
        })
    }

    /// The next head's weights from its `scores`, then the weights as the product reads them
    /// (dropped, when there is dropout) and the mask.
    fn next(&mut self, scores: &[f32]) -> (&[f32], &[f32], Option<&[f32]>) {
        head_weights(scores, self.lk, &mut self.weights);
        match self.masks.as_mut() {
            Some(masks) => {
                let mask = masks.next_mask();
                self.dropped
                    .iter_mut()
                    .zip(&self.weights)
                    .zip(mask)
                    .for_each(|((d, w), m)| *d = w * m);
                (&self.weights, &self.dropped, Some(mask))
            }
            None => (&self.weights, &self.weights, None),
        }
    }
}

/// The sizes of a batch of heads: `n` heads, `l` queries, `lk` keys, `d` features per key
/// (or per value).
#[derive(Clone, Copy)]
struct Heads {
    n: usize,
    l: usize,
    lk: usize,
    d: usize,
}

impl Heads {
    /// The sizes of heads with `L` rows in `rows` and `Lk` rows of `d` in `cols`, each tensor in
    /// its layout.
    fn of(
        rows: (&Layout, HeadRows),
        cols: (&Layout, HeadRows),
        name: &str,
    ) -> candle_core::Result<Heads> {
        let (n, l, _) = rows.1.sizes(rows.0.dims(), name)?;
        let (n2, lk, d) = cols.1.sizes(cols.0.dims(), name)?;
        if n != n2 {
            candle_core::bail!(
                "{name}: shapes {:?} and {:?} do not fit",
                rows.0.dims(),
                cols.0.dims()
            );
        }
        Ok(Heads { n, l, lk, d })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The softmax weights of one head's scores (`L` rows of `lk`), row by row into `weights`.
fn head_weights(scores: &[f32], lk: usize, weights: &mut [f32]) {
    let width = lk.max(1);
    for (row, w) in scores
        .chunks_exact(width)
        .zip(weights.chunks_exact_mut(width))
    {
        softmax_row(row, w);
    }
}

/// The scores of [`attention_scores`]; its backward pass is one node, [`ScoresGrad`].
struct Scores {
    scale: f32,
    rows: HeadRows,
}

impl Scores {
    fn compute(
        &self,
        q: (&CpuStorage, &Layout),
        k: (&CpuStorage, &Layout),
        previous: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let name = "attention-scores";
        let Heads { n, l, lk, d } = Heads::of((q.1, self.rows), (k.1, self.rows), name)?;
        if self.rows.sizes(q.1.dims(), name)?.2 != d {
            candle_core::bail!("{name}: queries and keys have different widths");
        }
        let (q, k) = (f32_slice(q.0, q.1, name)?, f32_slice(k.0, k.1, name)?);
        let mut scores = match previous {
            Some((storage, layout)) if layout.dims() == [n, l, lk] => {
                f32_slice(storage, layout, name)?.to_vec()
            }
            Some((_, layout)) => {
                candle_core::bail!("{name}: previous scores {:?} do not fit", layout.dims())
            }
            None => vec![0.0; n * l * lk],
        };
        let mut product = vec![0.0f32; l * lk];
        for (h, head_scores) in scores.chunks_exact_mut((l * lk).max(1)).enumerate() {
            let (q_span, q_stride) = self.rows.block(h, l, d);
            let (k_span, k_stride) = self.rows.block(h, lk, d);
            multiply_into(
                l,
                lk,
                d,
                Operand::rows(&q[q_span], q_stride),
                Operand::transposed(&k[k_span], k_stride),
                &mut product,
                lk,
                false,
            )?;
            head_scores
                .iter_mut()
                .zip(&product)
                .for_each(|(s, p)| *s += self.scale * p);
        }
        Ok((CpuStorage::F32(scores), Shape::from((n, l, lk))))
    }

    /// `(dq, dk)` from the scores' gradient.
    fn grads(
        &self,
        q: &Tensor,
        k: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (q_count, k_count) = (q.elem_count(), k.elem_count());
        let op = ScoresGrad {
            scale: self.scale,
            rows: self.rows,
        };
        let packed = grad.contiguous()?.apply_op3_no_bwd(q, k, &op)?;
        let dq = packed.narrow(0, 0, q_count)?.reshape(q.shape())?;
        let dk = packed.narrow(0, q_count, k_count)?.reshape(k.shape())?;
        Ok((dq, dk))
    }
}

/// Both gradients of [`Scores`] from `(dS, Q, K)`, head by head: `dQ = s dS K` and
/// `dK = s dSᵀ Q` (the transpose read in place), each in its input's layout, packed one after
/// the other in one flat buffer.
struct ScoresGrad {
    scale: f32,
    rows: HeadRows,
}

impl CustomOp3 for ScoresGrad {
    fn name(&self) -> &'static str {
        "attention-scores-grad"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        q: &CpuStorage,
        q_layout: &Layout,
        k: &CpuStorage,
        k_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let rows = self.rows;
        let Heads { n, l, lk, d } = Heads::of((q_layout, rows), (k_layout, rows), self.name())?;
        if grad_layout.dims() != [n, l, lk] || rows.sizes(q_layout.dims(), self.name())?.2 != d {
            candle_core::bail!(
                "{}: gradient {:?} does not fit",
                self.name(),
                grad_layout.dims()
            );
        }
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let q = f32_slice(q, q_layout, self.name())?;
        let k = f32_slice(k, k_layout, self.name())?;
        let mut out = vec![0.0f32; n * l * d + n * lk * d];
        let (dq, dk) = out.split_at_mut(n * l * d);
        for h in 0..n {
            let head_grad = &grad[h * l * lk..(h + 1) * l * lk];
            let (q_span, q_stride) = rows.block(h, l, d);
            let (k_span, k_stride) = rows.block(h, lk, d);
            multiply_into(
                l,
                d,
                lk,
                Operand::rows(head_grad, lk),
                Operand::rows(&k[k_span.clone()], k_stride),
                &mut dq[q_span.clone()],
                q_stride,
                false,
            )?;
            multiply_into(
                lk,
                d,
                l,
                Operand::transposed(head_grad, lk),
                Operand::rows(&q[q_span], q_stride),
                &mut dk[k_span],
                k_stride,
                false,
            )?;
        }
        out.iter_mut().for_each(|g| *g *= self.scale);
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

impl CustomOp2 for Scores {
    fn name(&self) -> &'static str {
        "attention-scores"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        q_layout: &Layout,
        k: &CpuStorage,
        k_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.compute((q, q_layout), (k, k_layout), None)
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        _scores: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dq, dk) = self.grads(q, k, grad)?;
        Ok((Some(dq), Some(dk)))
    }
}

impl CustomOp3 for Scores {
    fn name(&self) -> &'static str {
        "attention-scores"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        q_layout: &Layout,
        k: &CpuStorage,
        k_layout: &Layout,
        previous: &CpuStorage,
        previous_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.compute(
            (q, q_layout),
            (k, k_layout),
            Some((previous, previous_layout)),
        )
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        _previous: &Tensor,
        _scores: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dq, dk) = self.grads(q, k, grad)?;
        Ok((Some(dq), Some(dk), Some(grad.clone())))
    }
}

/// `softmax(S) V`, row by row; its backward pass recomputes the weights from `S` (and draws
/// the dropout masks again).
struct Attend {
    dropout: Option<WeightDropout>,
    rows: HeadRows,
}

impl CustomOp2 for Attend {
    fn name(&self) -> &'static str {
        "attend"
    }

    fn cpu_fwd(
        &self,
        scores: &CpuStorage,
        scores_layout: &Layout,
        v: &CpuStorage,
        v_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let rows = self.rows;
        let heads = Heads::of(
            (scores_layout, HeadRows::Split),
            (v_layout, rows),
            self.name(),
        )?;
        let Heads { n, l, lk, d } = heads;
        if scores_layout.dims()[2] != lk {
            candle_core::bail!("{}: scores and values do not fit", self.name());
        }
        let scores = f32_slice(scores, scores_layout, self.name())?;
        let v = f32_slice(v, v_layout, self.name())?;
        let mut out = vec![0.0f32; n * l * d];
        let mut weights = HeadWeights::new(heads, &self.dropout)?;
        for h in 0..n {
            let (_, dropped, _) = weights.next(&scores[h * l * lk..(h + 1) * l * lk]);
            let (v_span, v_stride) = rows.block(h, lk, d);
            let (out_span, out_stride) = rows.block(h, l, d);
            multiply_into(
                l,
                d,
                lk,
                Operand::rows(dropped, lk),
                Operand::rows(&v[v_span], v_stride),
                &mut out[out_span],
                out_stride,
                false,
            )?;
        }
        Ok((CpuStorage::F32(out), rows.shape(n, l, d)))
    }

    fn bwd(
        &self,
        scores: &Tensor,
        v: &Tensor,
        _out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let op = AttendGrad {
            dropout: self.dropout.clone(),
            rows: self.rows,
        };
        let packed = scores.apply_op3_no_bwd(v, &grad, &op)?;
        let scores_count = scores.elem_count();
        let d_scores = packed.narrow(0, 0, scores_count)?.reshape(scores.shape())?;
        let d_values = packed
            .narrow(0, scores_count, v.elem_count())?
            .reshape(v.shape())?;
        Ok((Some(d_scores), Some(d_values)))
    }
}

/// Both gradients of [`Attend`] from `(S, V, dO)`, with `W = softmax(S)` recomputed once per
/// head and the dropout masks `M` drawn again: `dS = W ⊙ (dW − rowsum(dW ⊙ W))` with
/// `dW = M ⊙ dO Vᵀ` (`[N, L, Lk]`), then `dV = (W ⊙ M)ᵀ dO` (in `V`'s layout), packed one
/// after the other in one flat buffer.
struct AttendGrad {
    dropout: Option<WeightDropout>,
    rows: HeadRows,
}

impl CustomOp3 for AttendGrad {
    fn name(&self) -> &'static str {
        "attend-grad"
    }

    fn cpu_fwd(
        &self,
        scores: &CpuStorage,
        scores_layout: &Layout,
        v: &CpuStorage,
        v_layout: &Layout,
        grad: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let rows = self.rows;
        let heads = Heads::of(
            (scores_layout, HeadRows::Split),
            (v_layout, rows),
            self.name(),
        )?;
        let Heads { n, l, lk, d } = heads;
        if grad_layout.dims() != rows.shape(n, l, d).dims() {
            candle_core::bail!(
                "{}: gradient {:?} does not fit",
                self.name(),
                grad_layout.dims()
            );
        }
        let scores = f32_slice(scores, scores_layout, self.name())?;
        let v = f32_slice(v, v_layout, self.name())?;
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let mut weights = HeadWeights::new(heads, &self.dropout)?;
        let mut out = vec![0.0f32; n * l * lk + n * lk * d];
        let (d_scores, d_values) = out.split_at_mut(n * l * lk);
        for h in 0..n {
            let (w, dropped, mask) = weights.next(&scores[h * l * lk..(h + 1) * l * lk]);
            let (grad_span, grad_stride) = rows.block(h, l, d);
            let (v_span, v_stride) = rows.block(h, lk, d);
            let head_grad = &grad[grad_span];
            multiply_into(
                lk,
                d,
                l,
                Operand::transposed(dropped, lk),
                Operand::rows(head_grad, grad_stride),
                &mut d_values[v_span.clone()],
                v_stride,
                false,
            )?;
            // dW = dO Vᵀ (masked), then each row centred on its weighted mean and weighted.
            let dst = &mut d_scores[h * l * lk..(h + 1) * l * lk];
            multiply_into(
                l,
                lk,
                d,
                Operand::rows(head_grad, grad_stride),
                Operand::transposed(&v[v_span], v_stride),
                dst,
                lk,
                false,
            )?;
            if let Some(mask) = mask {
                dst.iter_mut().zip(mask).for_each(|(dw, m)| *dw *= m);
            }
            let width = lk.max(1);
            for (row, w) in dst.chunks_exact_mut(width).zip(w.chunks_exact(width)) {
                let centre = dot(row, w);
                row.iter_mut()
                    .zip(w)
                    .for_each(|(dw, w)| *dw = w * (*dw - centre));
            }
        }
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Tensor, Var};

    use super::*;
    use crate::nn::softmax_last_dim;

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "{what}: {x} vs {y}"
            );
        }
    }

    fn var(shape: (usize, usize, usize), offset: f32) -> Var {
        let count = shape.0 * shape.1 * shape.2;
        let data: Vec<f32> = (0..count)
            .map(|i| (i as f32 * 0.37 + offset).sin() * 1.5)
            .collect();
        Var::from_tensor(&Tensor::from_vec(data, shape, &Device::Cpu).unwrap()).unwrap()
    }

    /// The two fused nodes give the values and gradients of Candle's generic ops, with and
    /// without previous scores, for queries and keys of different lengths.
    #[test]
    fn fused_attention_matches_generic_ops_forward_and_backward() {
        let (n, l, lk, d) = (3, 4, 5, 2);
        let (q, k, v) = (
            var((n, l, d), 0.1),
            var((n, lk, d), 1.3),
            var((n, lk, d), 2.9),
        );
        let previous = var((n, l, lk), 4.2);
        let out_weights = Tensor::from_vec(
            (0..n * l * d)
                .map(|i| (i as f32 * 0.71).cos())
                .collect::<Vec<_>>(),
            (n, l, d),
            &Device::Cpu,
        )
        .unwrap();
        let scale = 0.6;
        for with_previous in [false, true] {
            let prev = with_previous.then(|| previous.as_tensor());
            let fused_scores =
                attention_scores(q.as_tensor(), k.as_tensor(), HeadRows::Split, prev, scale)
                    .unwrap();
            let fused = attend(&fused_scores, v.as_tensor(), HeadRows::Split, None).unwrap();
            let mut generic_scores =
                (q.as_tensor().matmul(&k.as_tensor().t().unwrap()).unwrap() * scale).unwrap();
            if let Some(p) = prev {
                generic_scores = (generic_scores + p).unwrap();
            }
            let generic = softmax_last_dim(&generic_scores)
                .unwrap()
                .matmul(v.as_tensor())
                .unwrap();
            assert_close(&values(&fused_scores), &values(&generic_scores), "scores");
            assert_close(&values(&fused), &values(&generic), "output");
            // A loss reading both the output and the scores, as residual attention does.
            let loss = |out: &Tensor, scores: &Tensor| {
                ((out * &out_weights).unwrap().sum_all().unwrap()
                    + scores.sqr().unwrap().sum_all().unwrap() * 0.1)
                    .unwrap()
            };
            let fused_grads = loss(&fused, &fused_scores).backward().unwrap();
            let generic_grads = loss(&generic, &generic_scores).backward().unwrap();
            let mut inputs = vec![("q", &q), ("k", &k), ("v", &v)];
            if with_previous {
                inputs.push(("previous", &previous));
            }
            for (name, input) in inputs {
                assert_close(
                    &values(fused_grads.get(input.as_tensor()).unwrap()),
                    &values(generic_grads.get(input.as_tensor()).unwrap()),
                    &format!("gradient of {name} (previous: {with_previous})"),
                );
            }
        }
    }

    /// Heads read in place from the projections' `[B, L, heads · d]` layout give the values
    /// and gradients of the same heads split into `[B · heads, L, d]` blocks: small heads, and
    /// rows 256 floats wide (the products copy such strided operands first) with dropout on
    /// the weights.
    #[test]
    fn joined_heads_match_split_heads_forward_and_backward() {
        joined_matches_split(2, 3, 4, 5, 2, false);
        joined_matches_split(1, 4, 8, 64, 64, true);
    }

    fn joined_matches_split(
        batch: usize,
        heads: usize,
        l: usize,
        lk: usize,
        d: usize,
        dropped: bool,
    ) {
        let (q, k, v) = (
            var((batch, l, heads * d), 0.3),
            var((batch, lk, heads * d), 1.1),
            var((batch, lk, heads * d), 2.3),
        );
        let previous = var((batch * heads, l, lk), 3.7);
        let probe = Tensor::from_vec(
            (0..batch * l * heads * d)
                .map(|i| (i as f32 * 0.53).cos())
                .collect::<Vec<_>>(),
            (batch, l, heads * d),
            &Device::Cpu,
        )
        .unwrap();
        let split = |t: &Tensor, len: usize| {
            t.reshape((batch, len, heads, d))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((batch * heads, len, d))
        };
        let join = |t: &Tensor| {
            t.reshape((batch, heads, l, d))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((batch, l, heads * d))
        };
        let run = |joined: bool| {
            let dropout = crate::nn::Dropout::new(0.3, 5);
            let (scores, out) = crate::nn::pass::scope(1, 0..batch, batch, || {
                let weights = dropped.then(|| WeightDropout {
                    masks: dropout.masks(),
                    heads,
                });
                let previous = Some(previous.as_tensor());
                crate::error::Result::Ok(if joined {
                    let rows = HeadRows::Joined { heads };
                    let scores =
                        attention_scores(q.as_tensor(), k.as_tensor(), rows, previous, 0.7)?;
                    let out = attend(&scores, v.as_tensor(), rows, weights)?;
                    (scores, out)
                } else {
                    let (q, k, v) = (
                        split(q.as_tensor(), l)?,
                        split(k.as_tensor(), lk)?,
                        split(v.as_tensor(), lk)?,
                    );
                    let scores = attention_scores(&q, &k, HeadRows::Split, previous, 0.7)?;
                    let out = join(&attend(&scores, &v, HeadRows::Split, weights)?)?;
                    (scores, out)
                })
            })
            .unwrap();
            let loss = ((&out * &probe).unwrap().sum_all().unwrap()
                + scores.sqr().unwrap().sum_all().unwrap() * 0.1)
                .unwrap();
            let grads = loss.backward().unwrap();
            let mut all = vec![values(&scores), values(&out)];
            for input in [&q, &k, &v, &previous] {
                all.push(values(grads.get(input.as_tensor()).unwrap()));
            }
            all
        };
        let (joined, split) = (run(true), run(false));
        for (i, (a, b)) in joined.iter().zip(&split).enumerate() {
            assert_close(
                a,
                b,
                &format!("output {i} (heads of {d}, dropout: {dropped})"),
            );
        }
    }
}
