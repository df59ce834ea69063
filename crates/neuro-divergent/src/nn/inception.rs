//! TimesNet's Inception block (Wu et al., 2023; NeuralForecast's `Inception_Block_V1`): `n`
//! size-keeping two-dimensional convolutions of kernel sizes 1, 3, …, 2n − 1 over the same
//! `[B, C_in, R, P]` grid, averaged.
//!
//! The average of convolutions centred on the same cell is one convolution whose kernel is the
//! average of the kernels, each zero-padded to the largest size (and whose bias is the average
//! of the biases), so the block runs as one [`same_conv2d`]: `(2n − 1)²` taps per cell instead
//! of the `Σ (2i + 1)²` of the separate convolutions (121 against 286 for six), the same values
//! up to rounding, and every kernel still receives its own gradient through the padding.

use candle_core::Tensor;

use super::conv2d_op::same_conv2d;
use super::ParamStore;
use crate::error::{Error, Result};

/// `n` averaged size-keeping convolutions of kernel sizes 1, 3, …, 2n − 1.
#[derive(Debug)]
pub struct InceptionBlock {
    kernels: Vec<Tensor>,
    biases: Vec<Tensor>,
}

impl InceptionBlock {
    /// `{name}.kernels.{i}.weight` (`[outputs, inputs, 2i + 1, 2i + 1]`) and `.bias` for `i`
    /// below `count`, drawn as NeuralForecast's block draws them: each `Conv2d` first draws
    /// PyTorch's default initialisation, then the block draws every weight anew from
    /// Kaiming's normal (`fan_out`, ReLU gain) and sets the biases to zero.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
        count: usize,
    ) -> Result<InceptionBlock> {
        if count == 0 {
            return Err(Error::Config(format!(
                "{name}: an Inception block needs at least one kernel"
            )));
        }
        let sizes: Vec<usize> = (0..count).map(|i| 2 * i + 1).collect();
        let defaults: usize = sizes
            .iter()
            .map(|size| outputs * inputs * size * size + outputs)
            .sum();
        store.discard_uniform(defaults);
        let mut kernels = Vec::with_capacity(count);
        let mut biases = Vec::with_capacity(count);
        for (i, size) in sizes.into_iter().enumerate() {
            let std = (2.0 / (outputs * size * size) as f64).sqrt();
            let prefix = format!("{name}.kernels.{i}");
            kernels.push(store.normal_scaled(
                &format!("{prefix}.weight"),
                &[outputs, inputs, size, size],
                std,
            )?);
            biases.push(store.filled(&format!("{prefix}.bias"), &[outputs], 0.0)?);
        }
        Ok(InceptionBlock { kernels, biases })
    }

    /// The block over `x` (`[B, inputs, R, P]`): `[B, outputs, R, P]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let count = self.kernels.len();
        let largest = 2 * count - 1;
        let mut kernel: Option<Tensor> = None;
        for (i, k) in self.kernels.iter().enumerate() {
            let margin = (largest - (2 * i + 1)) / 2;
            let padded = k
                .pad_with_zeros(2, margin, margin)?
                .pad_with_zeros(3, margin, margin)?;
            kernel = Some(match kernel {
                Some(sum) => (sum + padded)?,
                None => padded,
            });
        }
        let scale = 1.0 / count as f64;
        let kernel = (kernel.expect("at least one kernel") * scale)?;
        let bias = (Tensor::stack(&self.biases, 0)?.sum(0)? * scale)?;
        let out = same_conv2d(x, &kernel)?;
        Ok(out.broadcast_add(&bias.reshape((1, (), 1, 1))?)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::values;

    #[test]
    fn the_block_is_the_mean_of_its_convolutions() {
        let device = Device::Cpu;
        let mut store = ParamStore::new(7, &device);
        let block = InceptionBlock::new(&mut store, "b", 2, 3, 3).unwrap();
        let count = 2 * 2 * 4 * 5;
        let x = Tensor::from_vec(
            (0..count).map(|i| (i as f32 * 0.37).sin()).collect(),
            (2, 2, 4, 5),
            &device,
        )
        .unwrap();
        let separate = block
            .kernels
            .iter()
            .zip(&block.biases)
            .enumerate()
            .map(|(i, (k, b))| {
                x.conv2d(k, i, 1, 1, 1)
                    .unwrap()
                    .broadcast_add(&(b + 0.5 * i as f64).unwrap().reshape((1, 3, 1, 1)).unwrap())
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let expected = Tensor::stack(&separate, 0).unwrap().mean(0).unwrap();
        let block = InceptionBlock {
            biases: block
                .biases
                .iter()
                .enumerate()
                .map(|(i, b)| (b + 0.5 * i as f64).unwrap())
                .collect(),
            kernels: block.kernels,
        };
        let ours = values(&block.forward(&x).unwrap());
        for (a, b) in ours.iter().zip(values(&expected)) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
