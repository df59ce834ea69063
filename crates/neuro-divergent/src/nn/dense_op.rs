//! A dense layer, `act(x W^T + b)`, as one graph node with its own backward pass.
//!
//! Written with Candle's generic ops a dense layer is three nodes: the weight's transpose, the
//! matrix product and the bias (with ReLU). In the backward pass Candle zero-fills and
//! accumulates a gradient for each of them (the product's `[B, N]`, the transposed weight's, then
//! the weight's through a strided transpose), and computes a gradient even for an input that
//! needs none. Measured here those passes were a tenth of an N-HiTS training step. As one node the
//! forward writes the bias into the output and has the GEMM add the product onto it (ReLU in the
//! same pass), and the backward computes the input, weight and bias gradients directly: the
//! masked output gradient `G`, `G W`, `G^T x` and the column sums of `G`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

/// `y = x W^T + b` (or `relu(x W^T + b)`) for `x: [..., K]`, `W: [N, K]`, `b: [N]`.
pub(crate) struct DenseOp {
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
        let weight = f32_slice(weight, weight_layout, self.name())?;
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
        let rows: usize = x_dims[..x_dims.len() - 1].iter().product();
        let mut out = Vec::with_capacity(rows * outputs);
        for _ in 0..rows {
            out.extend_from_slice(bias);
        }
        if rows > 0 && inputs > 0 && outputs > 0 {
            // SAFETY: `out` holds rows x outputs values (row stride `outputs`), `x_values`
            // rows x inputs (row stride `inputs`), and `weight` outputs x inputs, read as the
            // inputs x outputs matrix W^T (row stride 1, column stride `inputs`): every index
            // gemm forms lies inside its slice.
            unsafe {
                gemm::gemm(
                    rows,
                    outputs,
                    inputs,
                    out.as_mut_ptr(),
                    1,
                    outputs as isize,
                    true,
                    x_values.as_ptr(),
                    1,
                    inputs as isize,
                    weight.as_ptr(),
                    inputs as isize,
                    1,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism(),
                );
            }
        }
        if self.relu {
            for v in &mut out {
                *v = v.max(0.0);
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
        let grad = if self.relu {
            out.apply_op2_no_bwd(&grad, &ReluGrad)?
        } else {
            grad
        };
        let (outputs, inputs) = weight.dims2()?;
        let rows_grad = grad.reshape(((), outputs))?;
        // An input that is neither a variable nor computed from one (the model's input) needs
        // no gradient.
        let grad_x = if x.track_op() {
            Some(rows_grad.matmul(weight)?.reshape(x.shape())?)
        } else {
            None
        };
        let grad_weight = rows_grad.t()?.matmul(&x.reshape(((), inputs))?)?;
        let grad_bias = grad.apply_op1_no_bwd(&ColumnSum)?;
        Ok((grad_x, Some(grad_weight), Some(grad_bias)))
    }
}

/// Candle's own threading of a product: its kernels' thread count (1 once
/// `crate::threads::configure_threads` has run, which threads across chunks instead).
fn parallelism() -> gemm::Parallelism {
    match candle_core::utils::get_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
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

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

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
        let dev = Device::Cpu;
        let data = Tensor::randn(0f32, 1f32, (37, 19), &dev).unwrap();
        let x = Var::from_tensor(&data).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1f32, (23, 19), &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1f32, 23, &dev).unwrap()).unwrap();
        let target = Tensor::randn(0f32, 1f32, (37, 23), &dev).unwrap();
        for relu in [true, false] {
            for input in [x.as_tensor(), &data] {
                let fused = input
                    .apply_op3(w.as_tensor(), b.as_tensor(), DenseOp { relu })
                    .unwrap();
                let mut plain = input
                    .matmul(&w.as_tensor().t().unwrap())
                    .unwrap()
                    .broadcast_add(b.as_tensor())
                    .unwrap();
                if relu {
                    plain = plain.relu().unwrap();
                }
                assert_close(&values(&fused), &values(&plain), "forward");
                let loss = |y: Tensor| {
                    (y * &target)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .backward()
                        .unwrap()
                };
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
        let expected = x
            .as_tensor()
            .broadcast_matmul(&w.as_tensor().t().unwrap())
            .unwrap()
            .broadcast_add(b.as_tensor())
            .unwrap()
            .relu()
            .unwrap();
        assert_close(&values(&y), &values(&expected), "3-d input");
        let weights = Tensor::randn(0f32, 1f32, (2, 3, 5), &dev).unwrap();
        let loss = |y: Tensor| {
            (y * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        let (g1, g2) = (loss(y), loss(expected));
        for var in [&x, &w, &b] {
            let (a, e) = (g1.get(var.as_tensor()), g2.get(var.as_tensor()));
            assert_eq!(a.unwrap().dims(), var.as_tensor().dims());
            assert_close(&values(a.unwrap()), &values(e.unwrap()), "3-d gradient");
        }
    }
}
