//! A dense layer, `act(x W^T + b)`, as one graph node with its own backward pass.
//!
//! Written with Candle's generic ops a dense layer is three nodes: the weight's transpose, the
//! matrix product and the bias (with ReLU). In the backward pass Candle forms a gradient for
//! each of them (the product's `[B, N]`, the transposed weight's, then the weight's through a
//! strided transpose), and computes a gradient even for an input that needs none; before its
//! backward pass was patched (`vendor/README.md`) it also zero-filled and added each one.
//! Measured then, those passes were a tenth of an N-HiTS training step. As one node the
//! forward writes the product and then adds the bias (and applies ReLU) in one pass over it, and
//! the backward computes the masked output gradient `G` with its column sums (the bias gradient)
//! in one pass, then `G W` and `G^T x` straight into new buffers.
//!
//! The fused op is a CPU kernel; on other devices [`affine`] composes Candle's generic ops,
//! which run there.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use super::kernels;
use super::product::{add_rows, f32_matrix, f32_slice, matrix_dims, product, Operand};
use crate::error::Result;

/// `x W^T + b` (then ReLU when `relu`) over the last axis of `x`: the fused op on the CPU,
/// Candle's generic ops on other devices.
pub(crate) fn affine(x: &Tensor, weight: &Tensor, bias: &Tensor, relu: bool) -> Result<Tensor> {
    if kernels::fused(x.device()) {
        Ok(x.contiguous()?.apply_op3(weight, bias, DenseOp { relu })?)
    } else {
        affine_generic(x, weight, bias, relu)
    }
}

/// [`affine`] with Candle's generic ops, on any device: the leading axes of `x` flattened into
/// rows, so that every layer is one plain matrix product (CUDA's batched products accept only
/// some strides).
pub(crate) fn affine_generic(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    relu: bool,
) -> Result<Tensor> {
    let mut dims = x.dims().to_vec();
    let inputs = dims.pop().unwrap_or(1);
    let rows: usize = dims.iter().product();
    let out = x
        .contiguous()?
        .reshape((rows, inputs))?
        .matmul(&weight.t()?)?
        .broadcast_add(bias)?;
    dims.push(weight.dim(0)?);
    let out = out.reshape(dims)?;
    Ok(if relu { out.relu()? } else { out })
}

/// `y = x W^T + b` (or `relu(x W^T + b)`) for `x: [..., K]`, `W: [N, K]`, `b: [N]`.
pub(crate) struct DenseOp {
    pub(crate) relu: bool,
}

impl CustomOp3 for DenseOp {
    fn name(&self) -> &'static str {
        if self.relu {
            "dense-relu"
        } else {
            "dense"
        }
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x_values = f32_slice(x, x_layout, self.name())?;
        let (weight, weight_row_stride) = f32_matrix(weight, weight_layout, self.name())?;
        let bias = f32_slice(bias, bias_layout, self.name())?;
        let (outputs, inputs) = match weight_layout.dims() {
            &[outputs, inputs] => (outputs, inputs),
            dims => candle_core::bail!("{}: weight of shape {dims:?}", self.name()),
        };
        let x_dims = x_layout.dims();
        if bias.len() != outputs || x_dims.last() != Some(&inputs) {
            candle_core::bail!(
                "{}: input {x_dims:?}, weight {:?} and bias of {} do not fit",
                self.name(),
                weight_layout.dims(),
                bias.len()
            );
        }
        let (rows, _) = matrix_dims(x_layout);
        // x (rows x inputs) times W^T, W read as its own transpose.
        let mut out = product(
            rows,
            outputs,
            inputs,
            Operand::rows(x_values, inputs),
            Operand::transposed(weight, weight_row_stride),
            self.name(),
        )?;
        let rows_of_out = out.chunks_exact_mut(outputs.max(1));
        if self.relu {
            for row in rows_of_out {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v = (*v + b).max(0.0);
                }
            }
        } else {
            for row in rows_of_out {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        }
        let mut dims = x_dims.to_vec();
        if let Some(last) = dims.last_mut() {
            *last = outputs;
        }
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (outputs, _) = weight.dims2()?;
        let rows = grad.elem_count() / outputs.max(1);
        let (masked, grad_bias) = if self.relu {
            // The masked gradient's rows, then its column sums as one more row.
            let both = out.apply_op2_no_bwd(&grad, &ReluBackward)?;
            (both.narrow(0, 0, rows)?, both.get(rows)?)
        } else {
            let sums = grad.apply_op1_no_bwd(&ColumnSum)?;
            (grad.reshape((rows, outputs))?, sums)
        };
        // An input that is neither a variable nor computed from one (the model's input) needs
        // no gradient.
        let grad_x = if x.track_op() {
            Some(
                masked
                    .apply_op2_no_bwd(weight, &GradProduct::Input)?
                    .reshape(x.shape())?,
            )
        } else {
            None
        };
        let grad_weight = masked.apply_op2_no_bwd(x, &GradProduct::Weight)?;
        Ok((grad_x, Some(grad_weight), Some(grad_bias)))
    }
}

/// The two products of a dense layer's backward pass, from the masked output gradient
/// `G: [B, N]`.
enum GradProduct {
    /// `G W` for `W: [N, K]`: the input gradient, `[B, K]`.
    Input,
    /// `G^T x` for `x: [..., K]` with `B` rows: the weight gradient, `[N, K]`.
    Weight,
}

impl CustomOp2 for GradProduct {
    fn name(&self) -> &'static str {
        match self {
            GradProduct::Input => "dense-input-grad",
            GradProduct::Weight => "dense-weight-grad",
        }
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        other: &CpuStorage,
        other_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grad_values = f32_slice(grad, grad_layout, self.name())?;
        // A weight may be held with its rows further apart (`product::unaliased`).
        let (other_values, other_row_stride) = f32_matrix(other, other_layout, self.name())?;
        let (rows, outputs) = matrix_dims(grad_layout);
        let (other_rows, inputs) = matrix_dims(other_layout);
        let (m, n, inner, lhs) = match self {
            GradProduct::Input if other_rows == outputs => {
                (rows, inputs, outputs, Operand::rows(grad_values, outputs))
            }
            GradProduct::Weight if other_rows == rows => (
                outputs,
                inputs,
                rows,
                Operand::transposed(grad_values, outputs),
            ),
            _ => candle_core::bail!(
                "{}: gradient {:?} and operand {:?} do not fit",
                self.name(),
                grad_layout.dims(),
                other_layout.dims()
            ),
        };
        let values = product(
            m,
            n,
            inner,
            lhs,
            Operand::rows(other_values, other_row_stride),
            self.name(),
        )?;
        Ok((CpuStorage::F32(values), Shape::from((m, n))))
    }
}

/// `grad * (out > 0)`, the gradient through a ReLU given its output, as `[B, N]` rows followed
/// by one row of their column sums: both in one pass.
struct ReluBackward;

impl CustomOp2 for ReluBackward {
    fn name(&self) -> &'static str {
        "relu-backward"
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
        let (rows, n) = matrix_dims(grad_layout);
        if out.len() != grad.len() {
            candle_core::bail!("{}: output and gradient sizes differ", self.name());
        }
        let mut masked = Vec::with_capacity((rows + 1) * n);
        let mut sums = vec![0.0f32; n];
        if n > 0 {
            for (out_row, grad_row) in out.chunks_exact(n).zip(grad.chunks_exact(n)) {
                let start = masked.len();
                masked.extend(
                    out_row
                        .iter()
                        .zip(grad_row)
                        .map(|(&o, &g)| if o > 0.0 { g } else { 0.0 }),
                );
                add_rows(&mut sums, &masked[start..]);
            }
        }
        masked.extend_from_slice(&sums);
        Ok((CpuStorage::F32(masked), Shape::from((rows + 1, n))))
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
        add_rows(&mut sums, values);
        Ok((CpuStorage::F32(sums), Shape::from(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::{values, weighted_sum_gradients};
    use candle_core::{Device, Var};

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "{what}: {x} vs {y}"
            );
        }
    }

    /// The fused layer gives the values and gradients of Candle's generic ops, for a batch whose
    /// input is computed (gradient wanted) and one whose input is data (no gradient).
    #[test]
    fn matches_generic_ops_forward_and_backward() {
        // A small layer, and one whose inner dimension spans several of the GEMM's blocks.
        for (rows, inputs, outputs) in [(37, 19, 23), (70, 1100, 600)] {
            matches_generic_ops(rows, inputs, outputs);
        }
    }

    fn matches_generic_ops(rows: usize, inputs: usize, outputs: usize) {
        let dev = Device::Cpu;
        let data = Tensor::randn(0f32, 1f32, (rows, inputs), &dev).unwrap();
        let x = Var::from_tensor(&data).unwrap();
        let w = Tensor::randn(0f32, 1f32, (outputs, inputs), &dev).unwrap();
        let w = Var::from_tensor(&w).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1f32, outputs, &dev).unwrap()).unwrap();
        let target = Tensor::randn(0f32, 1f32, (rows, outputs), &dev).unwrap();
        for relu in [true, false] {
            for input in [x.as_tensor(), &data] {
                let fused = input
                    .apply_op3(w.as_tensor(), b.as_tensor(), DenseOp { relu })
                    .unwrap();
                let plain = affine_generic(input, w.as_tensor(), b.as_tensor(), relu).unwrap();
                assert_close(&values(&fused), &values(&plain), "forward");
                let loss = |y: Tensor| weighted_sum_gradients(&y, &target);
                let (g1, g2) = (loss(fused), loss(plain));
                for var in [&w, &b] {
                    let (a, e) = (g1.get(var.as_tensor()), g2.get(var.as_tensor()));
                    assert_close(
                        &values(a.unwrap()),
                        &values(e.unwrap()),
                        "parameter gradient",
                    );
                }
                match g1.get(x.as_tensor()) {
                    Some(gx) => {
                        let expected = g2.get(x.as_tensor()).unwrap();
                        assert_close(&values(gx), &values(expected), "input gradient");
                    }
                    None => assert!(!input.track_op(), "no gradient for a computed input"),
                }
            }
        }
    }

    #[test]
    fn leading_dimensions_are_kept_forward_and_backward() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1f32, (2, 3, 4), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1f32, (5, 4), &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1f32, 5, &dev).unwrap()).unwrap();
        let y = x
            .as_tensor()
            .apply_op3(w.as_tensor(), b.as_tensor(), DenseOp { relu: true })
            .unwrap();
        assert_eq!(y.dims(), &[2, 3, 5]);
        let expected = affine_generic(x.as_tensor(), w.as_tensor(), b.as_tensor(), true).unwrap();
        assert_close(&values(&y), &values(&expected), "3-d input");
        let weights = Tensor::randn(0f32, 1f32, (2, 3, 5), &dev).unwrap();
        let loss = |y: Tensor| weighted_sum_gradients(&y, &weights);
        let (g1, g2) = (loss(y), loss(expected));
        for var in [&x, &w, &b] {
            let (a, e) = (g1.get(var.as_tensor()), g2.get(var.as_tensor()));
            assert_eq!(a.unwrap().dims(), var.as_tensor().dims());
            assert_close(&values(a.unwrap()), &values(e.unwrap()), "3-d gradient");
        }
    }

    /// A weight held with its rows further apart (`product::unaliased`) gives the same values
    /// and gradients as the contiguous one, the input's gradient read through its row stride.
    #[test]
    fn a_weight_with_rows_apart_gives_the_same_values_and_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1f32, (9, 256), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1f32, (64, 256), &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1f32, 64, &dev).unwrap()).unwrap();
        let apart = super::super::product::unaliased(w.as_tensor().clone()).unwrap();
        assert_eq!(apart.stride(), &[272, 1]);
        let target = Tensor::randn(0f32, 1f32, (9, 64), &dev).unwrap();
        let run = |weight: &Tensor| {
            let y = affine(x.as_tensor(), weight, b.as_tensor(), true).unwrap();
            let grads = weighted_sum_gradients(&y, &target);
            let of = |var: &Var| values(grads.get(var.as_tensor()).unwrap());
            (values(&y), of(&x), of(&w), of(&b))
        };
        assert_eq!(run(&apart), run(w.as_tensor()));
    }
}
