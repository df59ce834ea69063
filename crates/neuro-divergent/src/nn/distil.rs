//! Informer's distilling layer (Zhou et al., 2021), as NeuralForecast's `ConvLayer` computes
//! it between encoder layers: a three-tap convolution over the tokens with circular padding of
//! two steps, batch normalisation, ELU, and max pooling over three steps with stride 2, which
//! about halves the number of tokens.

use candle_core::{Tensor, D};

use super::dense::{linear, torch_default_parameters};
use super::{Activation, BatchNorm, ParamStore};
use crate::error::Result;

/// Taps of the convolution.
const TAPS: usize = 3;
/// Circular padding on each side of the sequence.
const PADDING: usize = 2;

/// The distilling layer over tokens `[B, L, C]`.
#[derive(Debug)]
pub struct DistilConv {
    /// `[C, C, 3]` as PyTorch's `Conv1d` stores it (outputs, inputs, taps).
    weight: Tensor,
    bias: Tensor,
    norm: BatchNorm,
}

impl DistilConv {
    /// Creates `{name}.downConv` (PyTorch's default `Conv1d` initialisation) and `{name}.norm`.
    pub fn new(store: &mut ParamStore, name: &str, channels: usize) -> Result<DistilConv> {
        let (weight, bias) = torch_default_parameters(
            store,
            &format!("{name}.downConv"),
            &[channels, channels, TAPS],
        )?;
        Ok(DistilConv {
            weight,
            bias,
            norm: BatchNorm::new(store, &format!("{name}.norm"), channels)?,
        })
    }

    /// The number of tokens out of `steps` tokens in.
    pub fn output_len(steps: usize) -> usize {
        // The convolution gives steps + 2; pooling (kernel 3, stride 2, padding 1) then
        // floor((steps + 2 + 2 - 3) / 2) + 1.
        steps.div_ceil(2) + 1
    }

    /// Distils tokens `x` (`[B, L, C]`) to `[B, output_len(L), C]`; batch statistics when
    /// `train` is set, running statistics otherwise.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (_, steps, channels) = x.dims3()?;
        let device = x.device();
        let out_steps = steps + 2 * PADDING - (TAPS - 1);
        // Output step t reads input steps t - 2, t - 1 and t, wrapping around the sequence.
        let taps = (0..TAPS)
            .map(|tap| {
                let rows: Vec<u32> = (0..out_steps)
                    .map(|t| ((t + tap + steps * PADDING - PADDING) % steps) as u32)
                    .collect();
                Ok(x.index_select(&Tensor::new(rows, device)?, 1)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let taps = Tensor::cat(&taps, D::Minus1)?;
        // Weights ordered as the taps are: all inputs of tap 0, then of tap 1, then of tap 2.
        let weight = self
            .weight
            .permute((0, 2, 1))?
            .contiguous()?
            .reshape((channels, TAPS * channels))?;
        let convolved = linear(&taps, &weight, &self.bias, None)?;
        let activated = Activation::ELU.apply(&self.norm.forward(&convolved, train)?)?;
        max_pool_halving(&activated)
    }
}

/// Max pooling along dimension 1 of `[B, L, C]` over windows of 3 steps with stride 2, the
/// sequence padded by one step on each side (padding never wins).
fn max_pool_halving(x: &Tensor) -> Result<Tensor> {
    let (batch, steps, channels) = x.dims3()?;
    let pad = Tensor::full(f32::NEG_INFINITY, (batch, 1, channels), x.device())?;
    let padded = Tensor::cat(&[&pad, x, &pad], 1)?;
    let outputs = (steps + 2 - 3) / 2 + 1;
    let tap = |offset: usize| -> Result<Tensor> {
        let rows: Vec<u32> = (0..outputs).map(|j| (2 * j + offset) as u32).collect();
        Ok(padded.index_select(&Tensor::new(rows, x.device())?, 1)?)
    };
    Ok(tap(0)?.maximum(&tap(1)?)?.maximum(&tap(2)?)?)
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::Device;

    use super::*;

    #[test]
    fn pooling_keeps_the_largest_of_three_steps_every_other_step() {
        let x = Tensor::new(&[[[1f32], [5.0], [2.0], [0.0], [3.0]]], &Device::Cpu).unwrap();
        // Padded: -inf 1 5 2 0 3 -inf; windows at 0, 2, 4.
        assert_eq!(values(&max_pool_halving(&x).unwrap()), [5.0, 5.0, 3.0]);
    }

    #[test]
    fn output_lengths_follow_the_convolution_and_pooling() {
        for steps in 1..40 {
            let pooled = (steps + 2 + 2 - 3) / 2 + 1;
            assert_eq!(DistilConv::output_len(steps), pooled, "{steps}");
        }
    }

    #[test]
    fn the_convolution_wraps_two_steps_around_the_sequence() {
        // One channel, taps (1, 10, 100), no bias; a fresh batch norm in evaluation is the
        // identity up to its epsilon.
        let mut store = ParamStore::new(0, &Device::Cpu);
        let mut layer = DistilConv::new(&mut store, "c", 1).unwrap();
        layer.weight = Tensor::new(&[[[1f32, 10.0, 100.0]]], &Device::Cpu).unwrap();
        layer.bias = Tensor::new(&[0f32], &Device::Cpu).unwrap();
        let x = Tensor::new(&[[[1f32], [2.0], [3.0]]], &Device::Cpu).unwrap();
        // Padded x: 2 3 | 1 2 3 | 1 2, so output t reads x[t - 2], x[t - 1] and x[t]: 132,
        // 213, 321, 132, 213. Pooled (padded with -inf): 213, 321, 213; the running statistics
        // (mean 0, variance 1) divide by sqrt(1 + 1e-5); ELU keeps positive values.
        let expected = [213f32, 321.0, 213.0].map(|v| v / (1.0f32 + 1e-5).sqrt());
        let out = values(&layer.forward(&x, false).unwrap());
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-2, "{out:?} vs {expected:?}");
        }
    }
}
