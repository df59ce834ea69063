//! Autoformer's auto-correlation (Wu et al., 2021), as NeuralForecast's `AutoCorrelationLayer`
//! computes it: queries, keys and values projected; the correlation of the queries with the keys
//! at every circular lag, averaged over all features; the `factor * ln L` strongest lags chosen;
//! and the values rolled back by those lags and summed with the softmax of their correlations
//! ([`aggregate_delays`]), then projected out.
//!
//! NeuralForecast computes the correlations with FFTs; averaged over the features they are the
//! sums along the circular diagonals of `q kᵀ` (`corr[τ] = Σ_t <q[t + τ], k[t]>`), computed
//! here from that product (the same `O(L² D)` work as attention scores). While training, one set
//! of lags serves the whole batch (those strongest on average over its windows, NeuralForecast's
//! batch-normalisation-style speed-up; a batch split into chunks chooses per chunk); otherwise
//! each window takes its own.

use candle_core::Tensor;

use super::attention_op::{attention_scores, HeadRows};
use super::delay_op::{aggregate_delays, Delays};
use super::{kernels, softmax_last_dim, Dense, ParamStore};
use crate::error::{Error, Result};

/// Auto-correlation from queries `[B, L, hidden]` to keys and values `[B, S, hidden]`.
#[derive(Debug)]
pub struct AutoCorrelation {
    query: Dense,
    key: Dense,
    value: Dense,
    out: Dense,
    factor: usize,
}

impl AutoCorrelation {
    /// Creates `{name}.query_projection`, `.key_projection`, `.value_projection` and
    /// `.out_projection` (`hidden` to `hidden`) in that order; `heads` must divide `hidden` (the
    /// correlation averages over every head's features, so the split changes nothing else);
    /// `factor * ln L` lags are aggregated.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        heads: usize,
        factor: usize,
    ) -> Result<AutoCorrelation> {
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(Error::Config(format!(
                "hidden_size ({hidden}) must be a multiple of n_head ({heads})"
            )));
        }
        let mut projection =
            |part: &str| Dense::new(store, &format!("{name}.{part}_projection"), hidden, hidden);
        Ok(AutoCorrelation {
            query: projection("query")?,
            key: projection("key")?,
            value: projection("value")?,
            out: projection("out")?,
            factor,
        })
    }

    /// The aggregated values `[B, L, hidden]` for queries `x` over `memory` (keys and values,
    /// cut or padded with zeros to `L` steps after their projection); while `train`ing one set
    /// of lags for the batch.
    pub fn forward(&self, x: &Tensor, memory: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, length, hidden) = x.dims3()?;
        let q = self.query.forward(x, None)?;
        let k = fit_steps(&self.key.forward(memory, None)?, length)?;
        let v = fit_steps(&self.value.forward(memory, None)?, length)?;
        // scores[b, s, t] = <q[s], k[t]> / hidden, so that the circular diagonals sum to the
        // feature-averaged correlation.
        let scale = 1.0 / hidden as f64;
        let scores = if kernels::fused(x.device()) {
            attention_scores(&q, &k, HeadRows::Split, None, scale)?
        } else {
            (q.matmul(&k.t()?.contiguous()?)? * scale)?
        };
        let correlation = circular_diagonal_sums(&scores)?;
        let delays = strongest_lags(&correlation, self.top_k(length), train)?;
        let chosen =
            Tensor::from_vec(delays.steps.clone(), (batch, delays.per_window), x.device())?;
        let weights = softmax_last_dim(&correlation.gather(&chosen, 1)?)?;
        self.out
            .forward(&aggregate_delays(&v, &weights, &delays)?, None)
    }

    /// Lags aggregated over a sequence of `length` steps: `floor(factor ln L)`, at least one
    /// (NeuralForecast's rounds to none for `factor ln L < 1`, which leaves the values out) and
    /// at most `L`.
    fn top_k(&self, length: usize) -> usize {
        ((self.factor as f64 * (length as f64).ln()) as usize).clamp(1, length.max(1))
    }
}

/// `x` (`[B, S, D]`) with exactly `length` steps: its first `length`, or zeros appended.
fn fit_steps(x: &Tensor, length: usize) -> Result<Tensor> {
    let steps = x.dim(1)?;
    Ok(if steps >= length {
        x.narrow(1, 0, length)?
    } else {
        x.pad_with_zeros(1, 0, length - steps)?
    })
}

/// `out[b, τ] = Σ_t scores[b, (t + τ) mod L, t]` for `scores: [B, L, L]`.
fn circular_diagonal_sums(scores: &Tensor) -> Result<Tensor> {
    let (batch, length, _) = scores.dims3()?;
    let index: Vec<u32> = (0..length)
        .flat_map(|lag| (0..length).map(move |t| (((t + lag) % length) * length + t) as u32))
        .collect();
    let index = Tensor::from_vec(index, length * length, scores.device())?;
    Ok(scores
        .reshape((batch, length * length))?
        .index_select(&index, 1)?
        .reshape((batch, length, length))?
        .sum(2)?)
}

/// The `k` lags of largest correlation (`[B, L]`), strongest first: each window's own, or with
/// `shared` those largest on average over the windows, for every window.
fn strongest_lags(correlation: &Tensor, k: usize, shared: bool) -> Result<Delays> {
    let rows: Vec<Vec<f32>> = correlation.to_vec2()?;
    let top = |row: &[f32]| -> Vec<u32> {
        let mut lags: Vec<u32> = (0..row.len() as u32).collect();
        lags.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]));
        lags.truncate(k);
        lags
    };
    let steps = if shared {
        let length = rows.first().map_or(0, Vec::len);
        let mean: Vec<f32> = (0..length)
            .map(|lag| rows.iter().map(|r| r[lag]).sum::<f32>() / rows.len() as f32)
            .collect();
        top(&mean).repeat(rows.len())
    } else {
        rows.iter().flat_map(|row| top(row)).collect()
    };
    Ok(Delays {
        steps,
        per_window: k,
    })
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::values;

    /// A one-feature identity projection.
    fn identity() -> Dense {
        Dense::from_parts(
            Tensor::new(&[[1f32]], &Device::Cpu).unwrap(),
            Tensor::new(&[0f32], &Device::Cpu).unwrap(),
        )
    }

    #[test]
    fn circular_diagonals_sum_the_correlation_at_each_lag() {
        // q = k = [1, 2, 3] over 3 steps, one feature: corr[τ] = Σ_t q[t + τ] k[t].
        let q = Tensor::new(&[[[1f32], [2.], [3.]]], &Device::Cpu).unwrap();
        let scores = q.matmul(&q.t().unwrap()).unwrap();
        let corr = values(&circular_diagonal_sums(&scores).unwrap());
        // τ=0: 1+4+9; τ=1: q1k0 + q2k1 + q0k2 = 2+6+3; τ=2: q2k0 + q0k1 + q1k2 = 3+2+6.
        assert_eq!(corr, [14.0, 11.0, 11.0]);
    }

    #[test]
    fn at_least_one_lag_and_at_most_the_sequence_are_aggregated() {
        let layer = |factor| AutoCorrelation {
            query: identity(),
            key: identity(),
            value: identity(),
            out: identity(),
            factor,
        };
        // floor(3 ln 24) = 9; floor(1 ln 2) = 0 is raised to 1; floor(10 ln 3) = 10 is cut to 3.
        assert_eq!(layer(3).top_k(24), 9);
        assert_eq!(layer(1).top_k(2), 1);
        assert_eq!(layer(10).top_k(3), 3);
    }

    #[test]
    fn lags_are_chosen_per_window_or_for_the_batch() {
        let corr = Tensor::new(&[[0f32, 5., 1., 4.], [0., 1., 9., 2.]], &Device::Cpu).unwrap();
        let own = strongest_lags(&corr, 2, false).unwrap();
        assert_eq!(own.steps, [1, 3, 2, 3]);
        // Averages over the windows: 0, 3, 5, 3 (a tie broken towards the earlier lag).
        let shared = strongest_lags(&corr, 2, true).unwrap();
        assert_eq!(shared.steps, [2, 1, 2, 1]);
        assert_eq!(shared.per_window, 2);
    }

    #[test]
    fn a_periodic_sequence_is_aggregated_from_its_period() {
        // Identity projections: a window of period 4 over 8 steps correlates most at lags 0 and
        // 4, whose rolls are the window itself, so aggregating over them returns it.
        let layer = AutoCorrelation {
            query: identity(),
            key: identity(),
            value: identity(),
            out: identity(),
            factor: 1,
        };
        let x = Tensor::new(
            &[[[1f32], [-1.], [2.], [-2.], [1.], [-1.], [2.], [-2.]]],
            &Device::Cpu,
        )
        .unwrap();
        // floor(ln 8) = 2 lags.
        for train in [false, true] {
            let out = values(&layer.forward(&x, &x, train).unwrap());
            let expected = values(&x);
            for (a, b) in out.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{out:?}");
            }
        }
    }
}
