//! ELU and SELU (its scaled form) as one graph node with its own backward pass. Candle's `elu`
//! runs a scalar exponential per value and its backward pass builds the derivative from eight
//! full-size tensors (masks, comparisons, sums); TFT applies it in every gated residual network.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use super::fast_math;
use super::kernels;
use super::product::{f32_slice, gradient_and_values};
use crate::error::Result;

/// `scale · (x if x > 0 else alpha · (e^x − 1))` elementwise: ELU with `scale` 1, SELU with
/// PyTorch's constants. One node on the CPU, Candle's `elu` elsewhere.
pub(crate) fn scaled_elu(x: &Tensor, alpha: f64, scale: f64) -> Result<Tensor> {
    if !kernels::fused(x.device()) {
        return scaled_elu_generic(x, alpha, scale);
    }
    let op = ScaledElu {
        alpha: alpha as f32,
        scale: scale as f32,
    };
    Ok(x.contiguous()?.apply_op1(op)?)
}

/// [`scaled_elu`] with Candle's generic ops, on any device.
pub(crate) fn scaled_elu_generic(x: &Tensor, alpha: f64, scale: f64) -> Result<Tensor> {
    let y = x.elu(alpha)?;
    Ok(if scale == 1.0 { y } else { (y * scale)? })
}

struct ScaledElu {
    alpha: f32,
    scale: f32,
}

impl CustomOp1 for ScaledElu {
    fn name(&self) -> &'static str {
        "scaled-elu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(storage, layout, self.name())?;
        let (alpha, scale) = (self.alpha, self.scale);
        let y: Vec<f32> = x
            .iter()
            .map(|&v| {
                let negative = alpha * fast_math::exp_m1(v.min(0.0));
                scale * if v > 0.0 { v } else { negative }
            })
            .collect();
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let op = ScaledEluGrad {
            alpha: self.alpha,
            scale: self.scale,
        };
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(x, &op)?))
    }
}

/// `(dy, x) -> dy · scale · (1 if x > 0 else alpha · e^x)`.
struct ScaledEluGrad {
    alpha: f32,
    scale: f32,
}

impl CustomOp2 for ScaledEluGrad {
    fn name(&self) -> &'static str {
        "scaled-elu-grad"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (grad, x) = gradient_and_values((grad, grad_layout), (x, x_layout), self.name())?;
        let (alpha, scale) = (self.alpha, self.scale);
        let dx: Vec<f32> = grad
            .iter()
            .zip(x)
            .map(|(&g, &v)| {
                let slope = if v > 0.0 {
                    1.0
                } else {
                    alpha * fast_math::exp(v.min(0.0))
                };
                g * scale * slope
            })
            .collect();
        Ok((CpuStorage::F32(dx), grad_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::assert_fused_matches_generic;

    use super::*;

    #[test]
    fn matches_candles_elu_forward_and_backward() {
        for (alpha, scale) in [
            (1.0, 1.0),
            (1.673_263_242_354_377_3, 1.050_700_987_355_480_5),
        ] {
            assert_fused_matches_generic(
                7,
                3.0,
                |x| scaled_elu(x, alpha, scale).unwrap(),
                |x| scaled_elu_generic(x, alpha, scale).unwrap(),
            );
        }
    }
}
