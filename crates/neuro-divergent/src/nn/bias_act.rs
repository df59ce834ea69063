//! Fused bias addition (and optional ReLU) with its own backward pass.
//!
//! Written with Candle's generic ops, `relu(x W^T + b)` costs a broadcast add, a ReLU and, in the
//! backward pass, a zero-filled mask, a comparison, a cast, a product and a strided column sum
//! for the bias gradient: measured here as a fifth of an NHITS training step. This op does the
//! forward in one pass and the backward in two (masked gradient, row-wise bias sum).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

/// `y = x + b` (or `relu(x + b)`) for `x: [B, N]` and `b: [N]`.
pub(crate) struct BiasActivation {
    pub(crate) relu: bool,
}

pub(crate) fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{what}: expected f32 data");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&values[start..end]),
        None => candle_core::bail!("{what}: expected contiguous data"),
    }
}

impl CustomOp2 for BiasActivation {
    fn name(&self) -> &'static str {
        if self.relu {
            "bias-relu"
        } else {
            "bias-add"
        }
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x_values = f32_slice(x, x_layout, self.name())?;
        let bias = f32_slice(bias, bias_layout, self.name())?;
        let n = bias.len();
        if n == 0 || x_values.len() % n != 0 || x_layout.dims().last() != Some(&n) {
            candle_core::bail!(
                "{}: bias of {n} does not match {:?}",
                self.name(),
                x_layout.dims()
            );
        }
        let mut out = Vec::with_capacity(x_values.len());
        for row in x_values.chunks_exact(n) {
            if self.relu {
                out.extend(row.iter().zip(bias).map(|(v, b)| (v + b).max(0.0)));
            } else {
                out.extend(row.iter().zip(bias).map(|(v, b)| v + b));
            }
        }
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let grad_x = if self.relu {
            out.apply_op2_no_bwd(&grad, &ReluGrad)?
        } else {
            grad
        };
        let grad_bias = grad_x.apply_op1_no_bwd(&ColumnSum)?;
        Ok((Some(grad_x), Some(grad_bias)))
    }
}

/// `grad * (out > 0)`: the gradient through a ReLU given its output.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-grad"
    }

    fn cpu_fwd(
        &self,
        out: &CpuStorage,
        out_layout: &Layout,
        grad: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let out = f32_slice(out, out_layout, self.name())?;
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let masked = out
            .iter()
            .zip(grad)
            .map(|(&o, &g)| if o > 0.0 { g } else { 0.0 })
            .collect();
        Ok((CpuStorage::F32(masked), grad_layout.shape().clone()))
    }
}

/// Sums `[B, N]` over its rows into `[N]`, one contiguous row at a time.
struct ColumnSum;

impl CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "column-sum"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let values = f32_slice(storage, layout, self.name())?;
        let n = *layout.dims().last().unwrap_or(&0);
        let mut sums = vec![0.0f32; n];
        if n > 0 {
            for row in values.chunks_exact(n) {
                for (s, v) in sums.iter_mut().zip(row) {
                    *s += v;
                }
            }
        }
        Ok((CpuStorage::F32(sums), Shape::from(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// The fused op gives the same values and gradients as Candle's generic ops.
    #[test]
    fn matches_generic_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(
            &Tensor::new(&[[1.0f32, -2.0, 0.5], [-1.0, 3.0, -0.25]], &dev).unwrap(),
        )
        .unwrap();
        let b = Var::from_tensor(&Tensor::new(&[0.5f32, 1.0, -1.0], &dev).unwrap()).unwrap();
        let weights = Tensor::new(&[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]], &dev).unwrap();
        for relu in [true, false] {
            let fused = x
                .as_tensor()
                .apply_op2(b.as_tensor(), BiasActivation { relu })
                .unwrap();
            let mut plain = x.as_tensor().broadcast_add(b.as_tensor()).unwrap();
            if relu {
                plain = plain.relu().unwrap();
            }
            assert_eq!(
                fused.to_vec2::<f32>().unwrap(),
                plain.to_vec2::<f32>().unwrap()
            );
            let g1 = (fused * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (plain * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for var in [&x, &b] {
                let a = g1
                    .get(var.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                let e = g2
                    .get(var.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert_eq!(a, e, "relu={relu}");
            }
        }
    }
}
