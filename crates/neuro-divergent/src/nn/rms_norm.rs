//! Root-mean-square layer normalisation, T5's `T5LayerNorm`: no mean subtraction and no bias.

use candle_core::{Tensor, D};

use super::ParamStore;
use crate::error::Result;

/// `x / sqrt(mean(x²) + eps) · weight` over the last axis.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// Creates `{name}.weight` (ones, as T5 initialises it) for rows of `width`.
    pub fn new(store: &mut ParamStore, name: &str, width: usize, eps: f64) -> Result<RmsNorm> {
        let weight = store.filled(&format!("{name}.weight"), &[width], 1.0)?;
        Ok(RmsNorm { weight, eps })
    }

    /// Normalises `[..., width]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
        let inverse_rms = (mean_square + self.eps)?.sqrt()?.recip()?;
        Ok(x.broadcast_mul(&inverse_rms)?.broadcast_mul(&self.weight)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn divides_each_row_by_its_root_mean_square() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let norm = RmsNorm::new(&mut store, "n", 2, 0.0).unwrap();
        let x = Tensor::new(&[[3f32, 4.0], [0.0, 2.0]], &Device::Cpu).unwrap();
        let y = norm.forward(&x).unwrap().to_vec2::<f32>().unwrap();
        // rms of [3, 4] is sqrt(12.5), of [0, 2] sqrt(2).
        let r = 12.5f32.sqrt();
        assert!((y[0][0] - 3.0 / r).abs() < 1e-6 && (y[0][1] - 4.0 / r).abs() < 1e-6);
        assert!((y[1][0]).abs() < 1e-7 && (y[1][1] - 2.0 / 2f32.sqrt()).abs() < 1e-6);
    }
}
