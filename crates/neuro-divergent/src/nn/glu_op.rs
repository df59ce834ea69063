//! The gated linear unit's gate, `a · sigmoid(b)` for `[a | b]` along the last axis, as one
//! graph node with its own backward pass. With Candle's generic ops it is two slices, a sigmoid
//! and a product, and the backward pass pads each half's gradient back to full width and adds
//! them; here each pass is one sweep.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, D};

use super::fast_math;
use super::kernels;
use super::product::f32_slice;
use crate::error::Result;

/// `a · sigmoid(b)` where `x = [a | b]` along the last axis (`[..., 2n]` to `[..., n]`): one
/// node on the CPU, generic ops elsewhere.
pub(crate) fn glu(x: &Tensor) -> Result<Tensor> {
    if !kernels::fused(x.device()) {
        return glu_generic(x);
    }
    Ok(x.contiguous()?.apply_op1(Glu)?)
}

/// [`glu`] with Candle's generic ops, on any device.
pub(crate) fn glu_generic(x: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let value = x.narrow(D::Minus1, 0, half)?;
    let gate = x.narrow(D::Minus1, half, half)?;
    Ok((value * candle_nn::ops::sigmoid(&gate)?)?)
}

struct Glu;

impl CustomOp1 for Glu {
    fn name(&self) -> &'static str {
        "glu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(storage, layout, self.name())?;
        let width = *layout.dims().last().unwrap_or(&0);
        if !width.is_multiple_of(2) {
            candle_core::bail!(
                "{}: an odd width {width} does not split in halves",
                self.name()
            );
        }
        let half = width / 2;
        let mut y = Vec::with_capacity(x.len() / 2);
        for row in x.chunks_exact(width.max(1)) {
            let (value, gate) = row.split_at(half);
            y.extend(
                value
                    .iter()
                    .zip(gate)
                    .map(|(&a, &b)| a * fast_math::sigmoid(b)),
            );
        }
        let mut dims = layout.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = half;
        }
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(x, &GluGrad)?))
    }
}

/// `(dy [..., n], x [..., 2n]) -> [dy · σ(b) | dy · a · σ(b) (1 − σ(b))]`.
struct GluGrad;

impl CustomOp2 for GluGrad {
    fn name(&self) -> &'static str {
        "glu-grad"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let x = f32_slice(x, x_layout, self.name())?;
        let width = *x_layout.dims().last().unwrap_or(&0);
        let half = width / 2;
        if grad.len() * 2 != x.len() {
            candle_core::bail!(
                "{}: {} gradients for {} inputs",
                self.name(),
                grad.len(),
                x.len()
            );
        }
        let mut dx = vec![0.0f32; x.len()];
        for ((row, g), d) in x
            .chunks_exact(width.max(1))
            .zip(grad.chunks_exact(half.max(1)))
            .zip(dx.chunks_exact_mut(width.max(1)))
        {
            let (value, gate) = row.split_at(half);
            let (d_value, d_gate) = d.split_at_mut(half);
            for ((((dv, dg), &a), &b), &g) in d_value
                .iter_mut()
                .zip(d_gate.iter_mut())
                .zip(value)
                .zip(gate)
                .zip(g)
            {
                let s = fast_math::sigmoid(b);
                *dv = g * s;
                *dg = g * a * s * (1.0 - s);
            }
        }
        Ok((CpuStorage::F32(dx), x_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::assert_fused_matches_generic;

    use super::*;

    #[test]
    fn matches_the_generic_gate_forward_and_backward() {
        assert_fused_matches_generic(
            8,
            4.0,
            |x| {
                let y = glu(x).unwrap();
                assert_eq!(y.dims(), &[2, 3, 4]);
                y
            },
            |x| glu_generic(x).unwrap(),
        );
    }
}
