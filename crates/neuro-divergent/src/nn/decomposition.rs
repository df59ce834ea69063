//! Series decomposition (DLinear's; the decomposition transformers use the same block): a
//! sequence split into its trend, the
//! moving average over `kernel` steps, and the remainder (the seasonal part). The ends are padded
//! with copies of the first and last values, `(kernel - 1) / 2` on each side, so that the trend
//! has as many steps as the sequence.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};

/// The moving average of `x` along dimension 1 (`[B, L]` or `[B, L, C]`) over `kernel` steps,
/// ends padded with the edge values: `L` steps out. `kernel` must be odd for the average to be
/// centred; an even one is an error. Computed as one product with the `[L, L]` averaging matrix
/// (the padding folded into its edge columns), so that a long kernel over many features is one
/// node of the graph, not `kernel` sums kept for the backward pass.
pub fn moving_average(x: &Tensor, kernel: usize) -> Result<Tensor> {
    if kernel.is_multiple_of(2) {
        return Err(Error::Config(format!(
            "the moving average window must be odd, got {kernel}"
        )));
    }
    let steps = x.dim(1)?;
    let averaging = averaging_matrix(steps, kernel, x.device())?;
    Ok(match x.rank() {
        2 => x.matmul(&averaging.t()?)?,
        _ => averaging
            .broadcast_left(x.dim(0)?)?
            .matmul(&x.contiguous()?)?,
    })
}

/// `A[t, s]`: the weight of input step `s` in the average at step `t`, the window
/// `t - (kernel - 1) / 2 ..= t + (kernel - 1) / 2` clamped to the sequence (edge padding).
fn averaging_matrix(steps: usize, kernel: usize, device: &Device) -> Result<Tensor> {
    let side = (kernel - 1) / 2;
    let weight = 1.0 / kernel as f32;
    let mut matrix = vec![0f32; steps * steps];
    for (t, row) in matrix.chunks_exact_mut(steps).enumerate() {
        for padded in t..t + kernel {
            let source = padded.saturating_sub(side).min(steps - 1);
            row[source] += weight;
        }
    }
    Ok(Tensor::from_vec(matrix, (steps, steps), device)?)
}

/// `(seasonal, trend)` of `x`: the trend is [`moving_average`], the seasonal part the rest.
pub fn decompose(x: &Tensor, kernel: usize) -> Result<(Tensor, Tensor)> {
    let trend = moving_average(x, kernel)?;
    Ok(((x - &trend)?, trend))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposition_pads_with_the_edges_and_adds_back_up() {
        // NeuralForecast's SeriesDecomp(5) on [1, 4, 2, 8, 5, 7].
        let x = Tensor::new(&[[1f32, 4., 2., 8., 5., 7.]], &Device::Cpu).unwrap();
        let (seasonal, trend) = decompose(&x, 5).unwrap();
        let trend: Vec<f32> = trend.flatten_all().unwrap().to_vec1().unwrap();
        let want = [1.8f32, 3.2, 4.0, 5.2, 5.8, 6.8];
        for (got, want) in trend.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{trend:?}");
        }
        let seasonal: Vec<f32> = seasonal.flatten_all().unwrap().to_vec1().unwrap();
        let x: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        for ((s, t), x) in seasonal.iter().zip(&trend).zip(&x) {
            assert!((s + t - x).abs() < 1e-6);
        }
        // Channels are averaged on their own along the steps.
        let channels = Tensor::new(&[[[1f32, 10.], [3., 30.], [5., 50.]]], &Device::Cpu).unwrap();
        let trend = moving_average(&channels, 3).unwrap();
        let trend: Vec<f32> = trend.flatten_all().unwrap().to_vec1().unwrap();
        let want = [5.0f32 / 3.0, 50.0 / 3.0, 3.0, 30.0, 13.0 / 3.0, 130.0 / 3.0];
        for (got, want) in trend.iter().zip(want) {
            assert!((got - want).abs() < 1e-5, "{trend:?}");
        }
        assert!(moving_average(&x_of(&[1.0, 2.0]), 4)
            .unwrap_err()
            .to_string()
            .contains("must be odd, got 4"));
    }

    #[test]
    fn the_average_passes_gradients_back_to_the_steps_it_read() {
        // d/dx of sum(w * moving_average(x)) for a 3-D input equals the 2-D result of each
        // channel on its own, and sums to the weights' total (every step's weights sum to 1).
        let x =
            candle_core::Var::from_tensor(&crate::nn::test_support::grid((2, 6, 3), |a, b, c| {
                ((a * 18 + b * 3 + c) as f64 * 0.7).sin()
            }))
            .unwrap();
        let w = crate::nn::test_support::grid((2, 6, 3), |a, b, c| {
            ((a + 2 * b + 5 * c) as f64 * 0.3).cos()
        });
        let out = moving_average(x.as_tensor(), 5).unwrap();
        let grads = crate::nn::test_support::weighted_sum_gradients(&out, &w);
        let grad = grads.get(x.as_tensor()).unwrap();
        for channel in 0..3 {
            let xc = candle_core::Var::from_tensor(
                &x.as_tensor()
                    .narrow(2, channel, 1)
                    .unwrap()
                    .squeeze(2)
                    .unwrap(),
            )
            .unwrap();
            let wc = w.narrow(2, channel, 1).unwrap().squeeze(2).unwrap();
            let outc = moving_average(xc.as_tensor(), 5).unwrap();
            let gc = crate::nn::test_support::weighted_sum_gradients(&outc, &wc);
            let expected: Vec<f32> = gc
                .get(xc.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let got: Vec<f32> = grad
                .narrow(2, channel, 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{got:?} {expected:?}");
            }
        }
        let total: f32 = grad.sum_all().unwrap().to_scalar().unwrap();
        let w_total: f32 = w.sum_all().unwrap().to_scalar().unwrap();
        assert!((total - w_total).abs() < 1e-4, "{total} {w_total}");
    }

    fn x_of(values: &[f32]) -> Tensor {
        Tensor::new(values, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
    }
}
