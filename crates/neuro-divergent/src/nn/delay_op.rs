//! Time-delay aggregation, the second half of Autoformer's auto-correlation (Wu et al., 2021): each
//! window's values rolled back by each of its chosen delays and summed with the delays' weights,
//! `out[b, t] = sum_i w[b, i] v[b, (t + d[b, i]) mod L]`.
//!
//! As one graph node with its own backward pass on the CPU: written with Candle's generic ops
//! each delay is a gather of the whole `[B, L, D]` values by a `[B, L, D]` index tensor, then a
//! product and a sum, all kept for the backward pass. On other devices [`aggregate_delays`]
//! composes those generic ops, which run there.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::kernels;
use super::product::f32_slice;
use crate::error::Result;

/// The delays each window's values are aggregated over: `k` per window, row-major `[B, k]`,
/// each below the sequence length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delays {
    /// `[B * k]` delays, window by window.
    pub steps: Vec<u32>,
    /// Delays per window.
    pub per_window: usize,
}

/// `sum_i weights[b, i] * values[b, (t + delay[b, i]) mod L]` for `values: [B, L, D]` and
/// `weights: [B, k]`: the fused node on the CPU, Candle's generic ops elsewhere.
pub fn aggregate_delays(values: &Tensor, weights: &Tensor, delays: &Delays) -> Result<Tensor> {
    if kernels::fused(values.device()) {
        Ok(values
            .contiguous()?
            .apply_op2(&weights.contiguous()?, DelayAggregation(delays.clone()))?)
    } else {
        aggregate_delays_generic(values, weights, delays)
    }
}

/// [`aggregate_delays`] with Candle's generic ops, on any device.
pub(crate) fn aggregate_delays_generic(
    values: &Tensor,
    weights: &Tensor,
    delays: &Delays,
) -> Result<Tensor> {
    let (batch, length, width) = values.dims3()?;
    let k = delays.per_window;
    let mut sum: Option<Tensor> = None;
    for i in 0..k {
        let sources: Vec<u32> = (0..batch)
            .flat_map(|b| {
                let delay = delays.steps[b * k + i] as usize;
                (0..length).map(move |t| ((t + delay) % length) as u32)
            })
            .collect();
        let index = Tensor::from_vec(sources, (batch, length, 1), values.device())?
            .broadcast_as((batch, length, width))?
            .contiguous()?;
        let pattern = values
            .gather(&index, 1)?
            .broadcast_mul(&weights.narrow(1, i, 1)?.unsqueeze(2)?)?;
        sum = Some(match sum {
            Some(sum) => (sum + pattern)?,
            None => pattern,
        });
    }
    match sum {
        Some(sum) => Ok(sum),
        None => Ok(values.zeros_like()?),
    }
}

/// The fused node: values `[B, L, D]` and weights `[B, k]` in, `[B, L, D]` out.
struct DelayAggregation(Delays);

impl DelayAggregation {
    /// `(batch, length, width, k)` of the operands, checked against the delays.
    fn dims(
        &self,
        values: &Layout,
        weights: &Layout,
    ) -> candle_core::Result<(usize, usize, usize, usize)> {
        let k = self.0.per_window;
        match (values.dims(), weights.dims()) {
            (&[batch, length, width], &[rows, cols])
                if rows == batch
                    && cols == k
                    && self.0.steps.len() == batch * k
                    && self.0.steps.iter().all(|&d| (d as usize) < length) =>
            {
                Ok((batch, length, width, k))
            }
            (v, w) => candle_core::bail!(
                "delay-aggregation: values {v:?}, weights {w:?} and {} delays do not fit",
                self.0.steps.len()
            ),
        }
    }
}

impl CustomOp2 for DelayAggregation {
    fn name(&self) -> &'static str {
        "delay-aggregation"
    }

    fn cpu_fwd(
        &self,
        values: &CpuStorage,
        values_layout: &Layout,
        weights: &CpuStorage,
        weights_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, length, width, _) = self.dims(values_layout, weights_layout)?;
        let v = f32_slice(values, values_layout, self.name())?;
        let w = f32_slice(weights, weights_layout, self.name())?;
        let out = weighted_rolls(v, w, &self.0, length, width, Roll::Back);
        Ok((CpuStorage::F32(out), values_layout.shape().clone()))
    }

    fn bwd(
        &self,
        values: &Tensor,
        weights: &Tensor,
        _out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let grad_values = grad.apply_op2_no_bwd(weights, &DelayGrad::Values(self.0.clone()))?;
        let grad_weights = grad.apply_op2_no_bwd(values, &DelayGrad::Weights(self.0.clone()))?;
        Ok((Some(grad_values), Some(grad_weights)))
    }
}

/// Which way [`weighted_rolls`] moves a window's rows by each delay.
#[derive(Clone, Copy)]
enum Roll {
    /// Row `t + d` to `t` (the aggregation).
    Back,
    /// Row `t` to `t + d` (its gradient with respect to the values).
    Forward,
}

/// `out[b] = Σ_i w[b, i] rows[b]` rolled by `d[b, i]` (indices mod `length`) for `rows:
/// [B, length, width]` and `weights: [B, k]`.
fn weighted_rolls(
    rows: &[f32],
    weights: &[f32],
    delays: &Delays,
    length: usize,
    width: usize,
    roll: Roll,
) -> Vec<f32> {
    let (window, k) = ((length * width).max(1), delays.per_window);
    let mut out = vec![0f32; rows.len()];
    let windows = rows.chunks_exact(window).zip(out.chunks_exact_mut(window));
    for (b, (rows, out)) in windows.enumerate() {
        for i in 0..k {
            let (delay, weight) = (delays.steps[b * k + i] as usize, weights[b * k + i]);
            for t in 0..length {
                let moved = (t + delay) % length;
                let (to, from) = match roll {
                    Roll::Back => (t, moved),
                    Roll::Forward => (moved, t),
                };
                let from = &rows[from * width..(from + 1) * width];
                for (o, x) in out[to * width..(to + 1) * width].iter_mut().zip(from) {
                    *o += weight * x;
                }
            }
        }
    }
    out
}

/// The two gradients of a [`DelayAggregation`], from the output gradient `G: [B, L, D]`.
enum DelayGrad {
    /// With the weights: `dv[b, (t + d) mod L] += w[b, i] G[b, t]`, `[B, L, D]`.
    Values(Delays),
    /// With the values: `dw[b, i] = sum_t <G[b, t], v[b, (t + d) mod L]>`, `[B, k]`.
    Weights(Delays),
}

impl CustomOp2 for DelayGrad {
    fn name(&self) -> &'static str {
        match self {
            DelayGrad::Values(_) => "delay-aggregation-values-grad",
            DelayGrad::Weights(_) => "delay-aggregation-weights-grad",
        }
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        other: &CpuStorage,
        other_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(grad, grad_layout, self.name())?;
        let other_values = f32_slice(other, other_layout, self.name())?;
        match self {
            DelayGrad::Values(delays) => {
                let node = DelayAggregation(delays.clone());
                let (_, length, width, _) = node.dims(grad_layout, other_layout)?;
                let out = weighted_rolls(g, other_values, delays, length, width, Roll::Forward);
                Ok((CpuStorage::F32(out), grad_layout.shape().clone()))
            }
            DelayGrad::Weights(delays) => {
                let (batch, length, width) = match other_layout.dims() {
                    &[b, l, w] if grad_layout.dims() == [b, l, w] => (b, l, w),
                    dims => candle_core::bail!(
                        "{}: gradient {:?} and values {dims:?} do not fit",
                        self.name(),
                        grad_layout.dims()
                    ),
                };
                let k = delays.per_window;
                let window = length * width;
                let mut out = vec![0f32; batch * k];
                for b in 0..batch {
                    let (g, v) = (
                        &g[b * window..(b + 1) * window],
                        &other_values[b * window..(b + 1) * window],
                    );
                    for i in 0..k {
                        let delay = delays.steps[b * k + i] as usize;
                        out[b * k + i] = g
                            .chunks_exact(width)
                            .enumerate()
                            .map(|(t, row)| {
                                let source = (t + delay) % length;
                                let from = &v[source * width..(source + 1) * width];
                                row.iter().zip(from).map(|(a, b)| a * b).sum::<f32>()
                            })
                            .sum();
                    }
                }
                Ok((CpuStorage::F32(out), Shape::from((batch, k))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::nn::test_support::{grid, values, weighted_sum_gradients};

    fn assert_near(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5 * (1.0 + y.abs()), "{what}: {x} vs {y}");
        }
    }

    #[test]
    fn delays_roll_each_window_back_and_weigh_the_rolls() {
        // One window of 4 steps and 1 feature, delays 1 and 3 weighted 0.25 and 0.75:
        // out[t] = 0.25 v[t + 1] + 0.75 v[t + 3], indices mod 4.
        let v = Tensor::new(&[[[1f32], [2.], [4.], [8.]]], &Device::Cpu).unwrap();
        let w = Tensor::new(&[[0.25f32, 0.75]], &Device::Cpu).unwrap();
        let delays = Delays {
            steps: vec![1, 3],
            per_window: 2,
        };
        let out = values(&aggregate_delays(&v, &w, &delays).unwrap());
        let expected = [
            0.25 * 2.0 + 0.75 * 8.0,
            0.25 * 4.0 + 0.75 * 1.0,
            0.25 * 8.0 + 0.75 * 2.0,
            0.25 * 1.0 + 0.75 * 4.0,
        ];
        assert_near(&out, &expected, "hand values");
    }

    #[test]
    fn the_fused_node_matches_the_generic_ops_with_gradients() {
        // Three windows of 5 steps and 4 features, two delays each, different per window.
        let v = Var::from_tensor(&grid((3, 5, 4), |b, t, d| {
            ((b * 7 + t * 3 + d) as f64 * 0.37).sin()
        }))
        .unwrap();
        let w = Var::from_tensor(
            &grid((3, 2, 1), |b, i, _| 0.3 + 0.2 * (b + i) as f64)
                .squeeze(2)
                .unwrap(),
        )
        .unwrap();
        let delays = Delays {
            steps: vec![0, 2, 4, 1, 3, 3],
            per_window: 2,
        };
        let loss_weights = grid((3, 5, 4), |b, t, d| {
            ((b + 2 * t + 3 * d) as f64 * 0.11).cos()
        });
        let run = |generic: bool| {
            let out = if generic {
                kernels::with_generic_ops(|| aggregate_delays(&v, &w, &delays).unwrap())
            } else {
                aggregate_delays(&v, &w, &delays).unwrap()
            };
            let grads = weighted_sum_gradients(&out, &loss_weights);
            (
                values(&out),
                values(grads.get(&v).unwrap()),
                values(grads.get(&w).unwrap()),
            )
        };
        let (fused, generic) = (run(false), run(true));
        assert_near(&fused.0, &generic.0, "values");
        assert_near(&fused.1, &generic.1, "value gradients");
        assert_near(&fused.2, &generic.2, "weight gradients");
    }

    #[test]
    fn a_delay_past_the_sequence_is_refused() {
        let v = Tensor::zeros((1, 3, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::ones((1, 1), candle_core::DType::F32, &Device::Cpu).unwrap();
        let delays = Delays {
            steps: vec![3],
            per_window: 1,
        };
        let err = aggregate_delays(&v, &w, &delays).unwrap_err().to_string();
        assert!(err.contains("do not fit"), "{err}");
    }
}
