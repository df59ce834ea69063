//! Softmax over the last axis as one graph node with its own backward pass (Candle's fused
//! softmax has none, and composing it from `exp`, `sum` and `div` keeps three `[.., L]` tensors
//! per call for the backward pass).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::fast_math;
use super::kernels;
use super::product::f32_slice;
use crate::error::Result;

/// `softmax(x)` over the last axis of `x`; entries of `-inf` (masked) get weight 0, and a row
/// that is entirely `-inf` gets weights 0 (on the CPU; elsewhere Candle's generic ops make such a
/// row NaN, and no model here masks a whole row).
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if kernels::fused(x.device()) {
        Ok(x.contiguous()?.apply_op1(SoftmaxLastDim)?)
    } else {
        softmax_generic(x)
    }
}

/// [`softmax_last_dim`] with Candle's generic (differentiable) ops, on any device.
pub(crate) fn softmax_generic(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::softmax(x, candle_core::D::Minus1)?)
}

/// Writes the softmax of `row` into `out` (same length): `-inf` entries get 0, and a row of
/// only `-inf` all zeros.
pub(super) fn softmax_row(row: &[f32], out: &mut [f32]) {
    // Eight running maxima, so that the loop vectorises (one running maximum does not).
    let mut maxima = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        maxima
            .iter_mut()
            .zip(chunk)
            .for_each(|(m, &v)| *m = m.max(v));
    }
    let max = maxima
        .into_iter()
        .chain(chunks.remainder().iter().copied())
        .fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        out.fill(0.0);
        return;
    }
    // Branch-free, so that the loop vectorises: the exponential is taken everywhere and
    // masked entries are replaced by 0 afterwards.
    for (d, &v) in out.iter_mut().zip(row) {
        let e = fast_math::exp(v - max);
        *d = if v == f32::NEG_INFINITY { 0.0 } else { e };
    }
    let mut lanes = [0.0f32; 8];
    let mut chunks = out.chunks_exact(8);
    for chunk in &mut chunks {
        lanes.iter_mut().zip(chunk).for_each(|(l, v)| *l += v);
    }
    let sum = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
    let inverse = 1.0 / sum;
    out.iter_mut().for_each(|d| *d *= inverse);
}

struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "softmax-last-dim"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let values = f32_slice(storage, layout, self.name())?;
        let width = *layout.dims().last().unwrap_or(&1);
        let mut out = vec![0.0f32; values.len()];
        for (row, dst) in values
            .chunks(width.max(1))
            .zip(out.chunks_mut(width.max(1)))
        {
            softmax_row(row, dst);
        }
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        // dL/dx = y (g - sum(g y)) over each row.
        let dot = (grad * y)?.sum_keepdim(candle_core::D::Minus1)?;
        Ok(Some((y * grad.broadcast_sub(&dot)?)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Tensor, Var};

    use super::*;

    #[test]
    fn matches_the_composed_softmax_forward_and_backward() {
        let x = Var::new(&[[0.5f32, -1.0, 2.0], [3.0, 3.0, -0.25]], &Device::Cpu).unwrap();
        let w = Tensor::new(&[[1f32, 2.0, -3.0], [0.5, -1.0, 4.0]], &Device::Cpu).unwrap();
        let ours = softmax_last_dim(x.as_tensor()).unwrap();
        let composed = softmax_generic(x.as_tensor()).unwrap();
        let ours_grad = (&ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let composed_grad = (&composed * &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (a, b) in [
            (values(&ours), values(&composed)),
            (
                values(ours_grad.get(x.as_tensor()).unwrap()),
                values(composed_grad.get(x.as_tensor()).unwrap()),
            ),
        ] {
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn masked_entries_get_no_weight() {
        let inf = f32::NEG_INFINITY;
        let x = Tensor::new(&[[0f32, inf, 0.0], [inf, inf, inf]], &Device::Cpu).unwrap();
        assert_eq!(
            values(&softmax_last_dim(&x).unwrap()),
            [0.5, 0.0, 0.5, 0.0, 0.0, 0.0]
        );
    }
}
