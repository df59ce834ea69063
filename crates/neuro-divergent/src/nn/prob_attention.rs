//! ProbSparse self-attention (Zhou et al., 2021, "Informer"), as NeuralForecast computes it:
//! only the `u = factor * ceil(ln L_Q)` queries whose scores against a random sample of keys
//! stand out most (max minus mean) attend; every other query takes the mean of the values, or,
//! in the causal form, their running sum up to its own position.

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::pass::PassUse;
use super::{softmax_last_dim, MultiHeadAttention, ParamStore, ProjectionNames};
use crate::error::{Error, Result};

/// Multi-head ProbSparse attention with the Informer family's projections.
#[derive(Debug)]
pub struct ProbSparseAttention {
    projections: MultiHeadAttention,
    factor: usize,
    causal: bool,
    /// Keys the sample's stream: while training a new sample for each use in each pass (the
    /// same in every chunk, [`PassUse::batch_stream`]); forecasts draw from a fresh stream from
    /// `seed` on each call, so that a fitted model's forecasts do not change between calls.
    seed: u64,
}

impl ProbSparseAttention {
    /// Attention over `hidden` features in `heads` heads with projections `{name}.query_projection`
    /// to `.out_projection`, sampling `factor * ceil(ln L_K)` keys per query from a stream seeded
    /// with `seed`; `causal` for a decoder's self-attention (query `i` reads keys `0..=i`).
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        heads: usize,
        factor: usize,
        causal: bool,
        seed: u64,
    ) -> Result<ProbSparseAttention> {
        // NeuralForecast's ProbAttention never applies its dropout.
        let projections = MultiHeadAttention::new(
            store,
            name,
            ProjectionNames::Informer,
            hidden,
            heads,
            0.0,
            seed,
        )?;
        Ok(ProbSparseAttention {
            projections,
            factor,
            causal,
            seed,
        })
    }

    /// Attends from `query` (`[B, Lq, hidden]`) to `keys` and `values` (`[B, Lk, hidden]`).
    /// The heads' context `[B, heads, Lq, d]` is read as `[B, Lq, heads * d]` without moving the
    /// heads back next to each other, as NeuralForecast (and the Time-Series-Library it follows)
    /// does, before the output projection.
    pub fn forward(
        &self,
        query: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let (q, k, v) = self.projections.project_heads(query, keys, values)?;
        let (batch, heads, queries, width) = q.dims4()?;
        let n_keys = k.dim(2)?;
        if self.causal && queries != n_keys {
            return Err(Error::Train(format!(
                "causal ProbSparse attention needs as many queries as keys, got {queries} and {n_keys}"
            )));
        }
        let sampled = (self.factor * ceil_ln(n_keys)).min(n_keys);
        let top = (self.factor * ceil_ln(queries)).min(queries);
        let selected = if top == queries {
            (0..batch * heads)
                .flat_map(|_| 0..queries as u32)
                .collect::<Vec<_>>()
        } else {
            let sample = if train {
                key_sample(
                    &mut PassUse::next().batch_stream(self.seed),
                    queries,
                    sampled,
                    n_keys,
                )
            } else {
                key_sample(
                    &mut StdRng::seed_from_u64(self.seed),
                    queries,
                    sampled,
                    n_keys,
                )
            };
            most_active_queries(&q, &k, &sample, sampled, top)?
        };
        let device = q.device();
        let index = Tensor::from_vec(selected.clone(), (batch, heads, top, 1), device)?
            .broadcast_as((batch, heads, top, width))?
            .contiguous()?;
        let reduced = q.gather(&index, 2)?;
        let mut scores = (reduced.matmul(&k.t()?.contiguous()?)? * self.projections.scale())?;
        if self.causal {
            let mask: Vec<f32> = selected
                .iter()
                .flat_map(|&row| {
                    (0..n_keys).map(move |key| {
                        if key as u32 > row {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            scores = (scores + Tensor::from_vec(mask, (batch, heads, top, n_keys), device)?)?;
        }
        let updates = softmax_last_dim(&scores)?.matmul(&v)?;
        let initial = if self.causal {
            v.cumsum(2)?
        } else {
            v.mean_keepdim(2)?
                .broadcast_as((batch, heads, queries, width))?
                .contiguous()?
        };
        // The updates put in the rows of their queries by a one-hot `[Lq, top]` map per head
        // (Candle's scatter has no usable backward pass), and the rows kept from the initial
        // context.
        let mut kept = vec![1f32; batch * heads * queries];
        let mut placement = vec![0f32; batch * heads * queries * top];
        for (group, rows) in selected.chunks(top).enumerate() {
            for (column, &row) in rows.iter().enumerate() {
                kept[group * queries + row as usize] = 0.0;
                placement[(group * queries + row as usize) * top + column] = 1.0;
            }
        }
        let kept = Tensor::from_vec(kept, (batch, heads, queries, 1), device)?;
        let placement = Tensor::from_vec(placement, (batch, heads, queries, top), device)?;
        let context = (initial.broadcast_mul(&kept)? + placement.matmul(&updates)?)?;
        let joined = context.reshape((batch, queries, heads * width))?;
        self.projections.project_out(&joined)
    }
}

/// `ceil(ln n)` as an integer, as NeuralForecast computes its sample sizes.
fn ceil_ln(n: usize) -> usize {
    (n as f64).ln().ceil() as usize
}

/// `sampled` key positions below `n_keys` for each of `queries` queries (with replacement),
/// row by row.
fn key_sample(stream: &mut StdRng, queries: usize, sampled: usize, n_keys: usize) -> Vec<usize> {
    (0..queries * sampled)
        .map(|_| stream.random_range(0..n_keys))
        .collect()
}

/// For every head of every window, the `top` queries with the largest sparsity measure: the
/// largest of their scores against their sampled keys minus the sum of those scores over the
/// number of keys. Returns `[B * heads * top]` query positions, head by head.
fn most_active_queries(
    q: &Tensor,
    k: &Tensor,
    sample: &[usize],
    sampled: usize,
    top: usize,
) -> Result<Vec<u32>> {
    let (batch, heads, queries, width) = q.dims4()?;
    let n_keys = k.dim(2)?;
    let q = q.flatten_all()?.to_vec1::<f32>()?;
    let k = k.flatten_all()?.to_vec1::<f32>()?;
    let mut selected = Vec::with_capacity(batch * heads * top);
    let mut measure = vec![0f32; queries];
    for group in 0..batch * heads {
        let q = &q[group * queries * width..(group + 1) * queries * width];
        let k = &k[group * n_keys * width..(group + 1) * n_keys * width];
        for (row, m) in measure.iter_mut().enumerate() {
            let query = &q[row * width..(row + 1) * width];
            let (mut max, mut sum) = (f32::NEG_INFINITY, 0f32);
            for &key in &sample[row * sampled..(row + 1) * sampled] {
                let key = &k[key * width..(key + 1) * width];
                let score: f32 = query.iter().zip(key).map(|(a, b)| a * b).sum();
                max = max.max(score);
                sum += score;
            }
            *m = max - sum / n_keys as f32;
        }
        let mut order: Vec<u32> = (0..queries as u32).collect();
        order.sort_by(|&a, &b| measure[b as usize].total_cmp(&measure[a as usize]));
        selected.extend_from_slice(&order[..top]);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::grid;

    #[test]
    fn forecasts_reuse_one_key_sample_and_training_backpropagates() {
        // 20 queries and keys, factor 1: 3 keys sampled and 3 queries kept per head.
        let mut store = ParamStore::new(3, &Device::Cpu);
        let attention = ProbSparseAttention::new(&mut store, "a", 4, 2, 1, false, 9).unwrap();
        let x = grid((1, 20, 4), |_, t, c| {
            ((t * 7 + c * 3) % 11) as f64 / 5.0 - 1.0
        });
        let out = attention.forward(&x, &x, &x, false).unwrap();
        assert_eq!(out.dims(), [1, 20, 4]);
        let mut store = ParamStore::new(3, &Device::Cpu);
        let big = ProbSparseAttention::new(&mut store, "b", 128, 4, 6, false, 9).unwrap();
        let y = grid((1024, 20, 128), |b, t, c| {
            ((b + t * 7 + c * 3) % 11) as f64 / 5.0 - 1.0
        });
        let trained = big.forward(&y, &y, &y, true).unwrap();
        // The backward pass runs (gather and the placement of the updates).
        trained.sum_all().unwrap().backward().unwrap();
        // Forecasting draws the same sample each call.
        assert_eq!(
            values(&out),
            values(&attention.forward(&x, &x, &x, false).unwrap())
        );
    }

    #[test]
    fn the_queries_whose_sampled_scores_stand_out_are_kept() {
        // One head, 4 queries and keys of width 2; every query samples keys 0 and 1.
        // Scores against them: query 0 (1, 0) -> 1, 0; query 1 (0, 0) -> 0, 0; query 2 (3, 3)
        // -> 3, 3; query 3 (0, 5) -> 0, 5. Measure max - sum / 4: 0.75, 0, 1.5, 3.75.
        let q = Tensor::new(
            &[[[[1f32, 0.0], [0.0, 0.0], [3.0, 3.0], [0.0, 5.0]]]],
            &Device::Cpu,
        )
        .unwrap();
        let k = Tensor::new(
            &[[[[1f32, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 9.0]]]],
            &Device::Cpu,
        )
        .unwrap();
        let sample = [0, 1, 0, 1, 0, 1, 0, 1];
        assert_eq!(most_active_queries(&q, &k, &sample, 2, 2).unwrap(), [3, 2]);
        assert_eq!(
            most_active_queries(&q, &k, &sample, 2, 3).unwrap(),
            [3, 2, 0]
        );
    }
}
