//! The exact GELU, `x Φ(x)`, as one graph node with its own backward pass. Candle's `gelu_erf`
//! computes the same forward values, but its backward pass builds the derivative from nine
//! full-size tensors (square, negation, exponential, error function, scalings and sums); the
//! feed-forward layers of PatchTST, iTransformer, the Informer family and BiTCN apply it to
//! their widest activations.

use candle_core::cpu::erf::erf_f32;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use super::dropout::KeptProduct;
use super::fast_math;
use super::kernels;
use super::product::{f32_slice, gradient_and_values};
use super::Dropout;
use crate::error::Result;

/// `1 / sqrt(2 pi)`, the standard normal density at 0.
const NORMAL_DENSITY_AT_ZERO: f32 = 0.398_942_3;

/// `x Φ(x)` elementwise (PyTorch's exact GELU): one node on the CPU, Candle's `gelu_erf`
/// elsewhere.
pub(crate) fn gelu(x: &Tensor) -> Result<Tensor> {
    if !kernels::fused(x.device()) {
        return Ok(x.gelu_erf()?);
    }
    Ok(x.contiguous()?.apply_op1(Gelu { dropout: None })?)
}

/// `dropout(gelu(x))` as one node when `dropout` draws a mask for it on the CPU (a
/// feed-forward layer's inner activations: one sweep and one gradient fewer over its widest
/// tensor); the two in turn otherwise.
pub(crate) fn gelu_dropped(x: &Tensor, dropout: &Dropout, train: bool) -> Result<Tensor> {
    match dropout.mask_for(x, train)? {
        Some(mask) => Ok(x.contiguous()?.apply_op1(Gelu {
            dropout: Some(mask),
        })?),
        None => dropout.apply(&gelu(x)?, train),
    }
}

/// `x Φ(x)`, written as Candle's `gelu_erf` writes it so that both give the same values.
fn gelu_value(v: f32) -> f32 {
    (erf_f32(v * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * v
}

/// `d/dx x Φ(x) = Φ(x) + x φ(x)`.
fn gelu_slope(v: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf_f32(v * std::f32::consts::FRAC_1_SQRT_2));
    cdf + v * NORMAL_DENSITY_AT_ZERO * fast_math::exp(-0.5 * v * v)
}

/// `x Φ(x)`, then the dropout mask when there is one.
struct Gelu {
    dropout: Option<KeptProduct>,
}

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(storage, layout, self.name())?;
        let y: Vec<f32> = match &self.dropout {
            Some(mask) => {
                mask.check(x.len(), self.name())?;
                x.iter()
                    .zip(mask.kept())
                    .map(|(&v, &k)| mask.apply(gelu_value(v), k))
                    .collect()
            }
            None => x.iter().map(|&v| gelu_value(v)).collect(),
        };
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let op = GeluGrad {
            dropout: self.dropout.clone(),
        };
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(x, &op)?))
    }
}

/// `(dy, x) -> (dy ⊙ mask) · (Φ(x) + x φ(x))`, without a mask when there was no dropout.
struct GeluGrad {
    dropout: Option<KeptProduct>,
}

impl CustomOp2 for GeluGrad {
    fn name(&self) -> &'static str {
        "gelu-grad"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (grad, x) = gradient_and_values((grad, grad_layout), (x, x_layout), self.name())?;
        let dx: Vec<f32> = match &self.dropout {
            Some(mask) => {
                mask.check(x.len(), self.name())?;
                grad.iter()
                    .zip(x.iter().zip(mask.kept()))
                    .map(|(&g, (&v, &k))| mask.apply(g, k) * gelu_slope(v))
                    .collect()
            }
            None => grad
                .iter()
                .zip(x)
                .map(|(&g, &v)| g * gelu_slope(v))
                .collect(),
        };
        Ok((CpuStorage::F32(dx), grad_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::{
        assert_fused_matches_generic, grid, values, weighted_sum_gradients,
    };
    use candle_core::Var;

    use super::*;

    #[test]
    fn matches_candles_gelu_forward_and_backward() {
        assert_fused_matches_generic(9, 4.0, |x| gelu(x).unwrap(), |x| x.gelu_erf().unwrap());
        let x = grid((1, 2, 5), |_, b, c| (b * 5 + c) as f64 * 0.9 - 4.0);
        assert_eq!(values(&gelu(&x).unwrap()), values(&x.gelu_erf().unwrap()));
    }

    #[test]
    fn gelu_with_its_dropout_matches_the_two_in_turn() {
        let x = Var::from_tensor(&grid((3, 2, 5), |a, b, c| {
            (a as f64 * 0.9 + b as f64 * 1.7 + c as f64 * 0.4 - 3.0).cos() * 3.0
        }))
        .unwrap();
        let probe = grid((3, 2, 5), |a, b, c| ((2 * a + b + 5 * c) as f64).sin());
        let run = |fused: bool| {
            let dropout = Dropout::new(0.3, 4);
            let y = crate::nn::pass::scope(3, 0..3, 3, || {
                if fused {
                    gelu_dropped(x.as_tensor(), &dropout, true)
                } else {
                    dropout.apply(&gelu(x.as_tensor())?, true)
                }
            })
            .unwrap();
            let grads = weighted_sum_gradients(&y, &probe);
            (values(&y), values(grads.get(x.as_tensor()).unwrap()))
        };
        let (fused, apart) = (run(true), run(false));
        assert_eq!(fused.0, apart.0);
        for (p, q) in fused.1.iter().zip(&apart.1) {
            assert!(
                (p - q).abs() < 1e-6 * (1.0 + q.abs()),
                "{fused:?} vs {apart:?}"
            );
        }
        assert!(fused.0.contains(&0.0) && fused.1.contains(&0.0));
    }

    #[test]
    fn slope_is_the_derivative_by_finite_differences() {
        for v in [-12.0f64, -3.5, -1.0, -0.2, 0.0, 0.3, 1.7, 4.0, 12.0] {
            let exact = |u: f64| u * 0.5 * (1.0 + candle_core::cpu::erf::erf_f64(u / 2f64.sqrt()));
            let step = 1e-4;
            let numeric = (exact(v + step) - exact(v - step)) / (2.0 * step);
            let slope = f64::from(gelu_slope(v as f32));
            assert!(
                (slope - numeric).abs() < 1e-5,
                "x {v}: {slope} vs {numeric}"
            );
        }
    }
}
