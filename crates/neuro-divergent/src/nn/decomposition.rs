//! Series decomposition (DLinear's; the decomposition transformers use the same block): a
//! sequence split into its trend, the
//! moving average over `kernel` steps, and the remainder (the seasonal part). The ends are padded
//! with copies of the first and last values, `(kernel - 1) / 2` on each side, so that the trend
//! has as many steps as the sequence.

use candle_core::Tensor;

use crate::error::{Error, Result};

/// The moving average of `x` along dimension 1 (`[B, L]` or `[B, L, C]`) over `kernel` steps,
/// ends padded with the edge values: `L` steps out. `kernel` must be odd for the average to be
/// centred; an even one is an error.
pub fn moving_average(x: &Tensor, kernel: usize) -> Result<Tensor> {
    if kernel.is_multiple_of(2) {
        return Err(Error::Config(format!(
            "the moving average window must be odd, got {kernel}"
        )));
    }
    let side = (kernel - 1) / 2;
    let steps = x.dim(1)?;
    let padded = x.pad_with_same(1, side, side)?;
    let mut sum = padded.narrow(1, 0, steps)?;
    for shift in 1..kernel {
        sum = (sum + padded.narrow(1, shift, steps)?)?;
    }
    Ok((sum / kernel as f64)?)
}

/// `(seasonal, trend)` of `x`: the trend is [`moving_average`], the seasonal part the rest.
pub fn decompose(x: &Tensor, kernel: usize) -> Result<(Tensor, Tensor)> {
    let trend = moving_average(x, kernel)?;
    Ok(((x - &trend)?, trend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

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

    fn x_of(values: &[f32]) -> Tensor {
        Tensor::new(values, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
    }
}
