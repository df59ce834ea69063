//! Batch normalisation over the feature axis, as `torch.nn.BatchNorm1d` computes it; training
//! passes run as the fused node of `batch_norm_op.rs`.

use candle_core::{Tensor, Var};

use super::batch_norm_op::batch_norm_train;
use super::ParamStore;
use crate::error::Result;

/// Added to the variance before its square root.
const EPS: f64 = 1e-5;
/// Weight of a training batch's statistics in the running averages.
const MOMENTUM: f64 = 0.1;

/// Normalises each feature of `[..., C]` over all the other axes: while training with the
/// batch's own mean and (biased) variance, which also move the running averages (`momentum`
/// 0.1, the variance's unbiased form, as PyTorch keeps them); otherwise with the running
/// averages. Then scales and shifts each feature by a trained weight (from 1) and bias (from 0).
///
/// Training passes that run in several row chunks (`crate::chunks`) normalise each chunk with
/// its own statistics and move the running averages once per chunk, in row order; with one
/// thread a batch is one chunk, as in PyTorch.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
}

impl BatchNorm {
    /// Creates `{name}.weight`, `{name}.bias` and the running statistics of `features` features.
    pub fn new(store: &mut ParamStore, name: &str, features: usize) -> Result<BatchNorm> {
        Ok(BatchNorm {
            weight: store.filled(&format!("{name}.weight"), &[features], 1.0)?,
            bias: store.filled(&format!("{name}.bias"), &[features], 0.0)?,
            running_mean: store.buffer(&format!("{name}.running_mean"), &[features], 0.0)?,
            running_var: store.buffer(&format!("{name}.running_var"), &[features], 1.0)?,
        })
    }

    /// Normalises `x` (`[..., C]`); `train` as in [`crate::models::Model::forward`].
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let features = dims[dims.len() - 1];
        let rows = x.elem_count() / features.max(1);
        let flat = x.reshape((rows, features))?;
        let out = if train {
            let (out, (mean, var)) = batch_norm_train(&flat, &self.weight, &self.bias, EPS)?;
            self.update_running(mean, var, rows)?;
            out
        } else {
            let mean = self.running_mean.as_tensor().unsqueeze(0)?;
            let std = (self.running_var.as_tensor().unsqueeze(0)? + EPS)?.sqrt()?;
            flat.broadcast_sub(&mean)?
                .broadcast_div(&std)?
                .broadcast_mul(&self.weight)?
                .broadcast_add(&self.bias)?
        };
        Ok(out.reshape(dims)?)
    }

    /// Moves the running averages towards a batch's mean and biased variance over `rows` rows.
    fn update_running(&self, mean: Tensor, var: Tensor, rows: usize) -> Result<()> {
        let unbiased = rows as f64 / (rows.saturating_sub(1).max(1)) as f64;
        let var = (var * unbiased)?;
        let keep = 1.0 - MOMENTUM;
        let new_mean = ((self.running_mean.as_tensor() * keep)? + (mean * MOMENTUM)?)?;
        let new_var = ((self.running_var.as_tensor() * keep)? + (var * MOMENTUM)?)?;
        self.running_mean.set(&new_mean)?;
        self.running_var.set(&new_var)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn training_uses_batch_statistics_and_moves_the_running_ones() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let norm = BatchNorm::new(&mut store, "norm", 2).unwrap();
        // Feature 0: 1, 3 (mean 2, biased variance 1); feature 1: 0, 0 (mean 0, variance 0).
        let x = Tensor::new(&[[[1f32, 0.0]], [[3.0, 0.0]]], &Device::Cpu).unwrap();
        let y: Vec<f32> = norm
            .forward(&x, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let s = (1.0f64 + 1e-5).sqrt() as f32;
        let expected = [-1.0 / s, 0.0, 1.0 / s, 0.0];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
        // Running: mean 0.9*0 + 0.1*[2, 0]; variance 0.9*1 + 0.1*[2 (unbiased), 0].
        let mean: Vec<f32> = norm.running_mean.as_tensor().to_vec1().unwrap();
        let var: Vec<f32> = norm.running_var.as_tensor().to_vec1().unwrap();
        assert_eq!(mean, [0.2, 0.0]);
        assert!(
            (var[0] - 1.1).abs() < 1e-6 && (var[1] - 0.9).abs() < 1e-6,
            "{var:?}"
        );
        // Inference reads the running statistics.
        let y: Vec<f32> = norm
            .forward(&Tensor::new(&[[1.2f32, 0.9]], &Device::Cpu).unwrap(), false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            (y[0] - (1.0 / (1.1f32 + 1e-5).sqrt())).abs() < 1e-5,
            "{y:?}"
        );
        assert!(
            (y[1] - (0.9 / (0.9f32 + 1e-5).sqrt())).abs() < 1e-5,
            "{y:?}"
        );
    }
}
