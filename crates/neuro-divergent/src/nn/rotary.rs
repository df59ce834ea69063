//! Rotary position embeddings (Su et al., 2021, "RoFormer"), as Hugging Face's Llama-style
//! `RotaryEmbedding` computes them: each pair of a head's features `(i, i + d/2)` rotated by
//! `position · θ^(-2i/d)`, so that query–key products depend on positions only through their
//! difference.

use candle_core::{Device, Tensor, D};

use crate::error::Result;

/// The rotation tables of heads of `width` features.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotary {
    /// `θ^(-2i/d)` for `i < d/2`, in `f32` as PyTorch computes them.
    inverse_frequencies: Vec<f32>,
}

impl Rotary {
    /// Rotations of base `theta` for heads of `width` (even) features.
    pub fn new(theta: f64, width: usize) -> Rotary {
        let inverse_frequencies = (0..width)
            .step_by(2)
            .map(|i| 1.0 / (theta as f32).powf(i as f32 / width as f32))
            .collect();
        Rotary {
            inverse_frequencies,
        }
    }

    /// The cosine and sine tables `[length, width]` of positions `0..length`.
    pub fn tables(&self, length: usize, device: &Device) -> Result<(Tensor, Tensor)> {
        let width = 2 * self.inverse_frequencies.len();
        let mut cos = Vec::with_capacity(length * width);
        let mut sin = Vec::with_capacity(length * width);
        for position in 0..length {
            let angles: Vec<f32> = self
                .inverse_frequencies
                .iter()
                .map(|f| position as f32 * f)
                .collect();
            // The angles twice over (`cat(freqs, freqs)`), one for each half of the features.
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos()));
                sin.extend(angles.iter().map(|a| a.sin()));
            }
        }
        Ok((
            Tensor::from_vec(cos, (length, width), device)?,
            Tensor::from_vec(sin, (length, width), device)?,
        ))
    }

    /// `x` (`[B, heads, length, width]`) rotated by the tables of [`Rotary::tables`]:
    /// `x · cos + rotate_half(x) · sin`, `rotate_half(x)` being `(-x₂, x₁)` for the halves
    /// `x₁, x₂` of the features.
    pub fn apply(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        let half = x.dim(D::Minus1)? / 2;
        let first = x.narrow(D::Minus1, 0, half)?;
        let second = x.narrow(D::Minus1, half, half)?;
        let rotated = Tensor::cat(&[&second.neg()?, &first], D::Minus1)?;
        Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_keep_norms_and_make_products_relative() {
        let rotary = Rotary::new(10_000.0, 4);
        let (cos, sin) = rotary.tables(6, &Device::Cpu).unwrap();
        // The same vector at every position.
        let x = Tensor::new(&[0.3f32, -1.2, 0.7, 2.0], &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 1, 4))
            .unwrap()
            .broadcast_as((1, 1, 6, 4))
            .unwrap()
            .contiguous()
            .unwrap();
        let r = Rotary::apply(&x, &cos, &sin)
            .unwrap()
            .reshape((6, 4))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let norm = dot(&[0.3, -1.2, 0.7, 2.0], &[0.3, -1.2, 0.7, 2.0]);
        for row in &r {
            assert!((dot(row, row) - norm).abs() < 1e-4);
        }
        // Positions (0, 2) and (3, 5) are two apart: the same product.
        assert!((dot(&r[0], &r[2]) - dot(&r[3], &r[5])).abs() < 1e-4);
        // Position 0 is not rotated.
        assert_eq!(r[0], vec![0.3, -1.2, 0.7, 2.0]);
    }
}
