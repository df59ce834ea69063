//! Two-dimensional convolutions that keep the grid's size (stride 1, an odd square kernel, zero
//! padding of half the kernel on every side), PyTorch's `Conv2d(kernel_size=K, padding=K // 2)`
//! without its bias, on `[B, C, R, P]` grids (TimesNet's period-folded sequences).
//!
//! As one graph node with its own backward pass on the CPU: each window's grid is unfolded into
//! a `[C_in K², R P]` column matrix in a scratch buffer (never kept) and multiplied by the
//! kernel as a `[C_out, C_in K²]` matrix; the backward pass unfolds again for the kernel's
//! gradient and folds the kernel's transpose times the output gradient back onto the input's.
//! Candle's own `conv2d` keeps nothing either, but its input gradient is a transposed
//! convolution computed one output element at a time. On other devices [`same_conv2d`] runs
//! Candle's `conv2d`.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::kernels;
use super::product::{f32_slice, multiply_into, product, Operand};
use crate::error::Result;

/// `x` (`[B, C_in, R, P]`) convolved with `kernel` (`[C_out, C_in, K, K]`, `K` odd), zero
/// padded so that the output is `[B, C_out, R, P]`: the fused node on the CPU, Candle's
/// `conv2d` elsewhere.
pub fn same_conv2d(x: &Tensor, kernel: &Tensor) -> Result<Tensor> {
    let size = kernel.dim(3)?;
    if kernel.dim(2)? != size || size.is_multiple_of(2) {
        return Err(crate::error::Error::Config(format!(
            "a size-keeping convolution needs an odd square kernel, got {:?}",
            kernel.dims()
        )));
    }
    if kernels::fused(x.device()) {
        Ok(x.contiguous()?
            .apply_op2(&kernel.contiguous()?, SameConv2d)?)
    } else {
        Ok(x.conv2d(kernel, size / 2, 1, 1, 1)?)
    }
}

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Grid {
    batch: usize,
    inputs: usize,
    outputs: usize,
    rows: usize,
    cols: usize,
    size: usize,
}

impl Grid {
    /// The sizes of `x` (`[B, C_in, R, P]`) convolved with `kernel` (`[C_out, C_in, K, K]`).
    fn of(x: &Layout, kernel: &Layout) -> candle_core::Result<Grid> {
        match (x.dims(), kernel.dims()) {
            (&[batch, inputs, rows, cols], &[outputs, kernel_inputs, size, size_too])
                if kernel_inputs == inputs && size == size_too && size % 2 == 1 =>
            {
                Ok(Grid {
                    batch,
                    inputs,
                    outputs,
                    rows,
                    cols,
                    size,
                })
            }
            (x, k) => candle_core::bail!("same-conv2d: input {x:?} and kernel {k:?} do not fit"),
        }
    }

    /// Cells of one channel's grid.
    fn cells(&self) -> usize {
        self.rows * self.cols
    }

    /// Rows of the unfolded column matrix (`C_in K²`).
    fn taps(&self) -> usize {
        self.inputs * self.size * self.size
    }

    /// Unfolds one window's `[C_in, R, P]` grid into `columns` (`[C_in K², R P]`): row
    /// `(c, i, j)` holds the cells shifted by `(i - K/2, j - K/2)`, zero outside the grid.
    fn unfold(&self, grid: &[f32], columns: &mut [f32]) {
        let (rows, cols, size) = (self.rows, self.cols, self.size);
        let half = size / 2;
        for (tap, column) in columns.chunks_exact_mut(self.cells()).enumerate() {
            let (channel, i, j) = (tap / (size * size), tap / size % size, tap % size);
            let source = &grid[channel * self.cells()..(channel + 1) * self.cells()];
            for r in 0..rows {
                let target = &mut column[r * cols..(r + 1) * cols];
                let Some(from_row) = (r + i).checked_sub(half).filter(|&s| s < rows) else {
                    target.fill(0.0);
                    continue;
                };
                let row = &source[from_row * cols..(from_row + 1) * cols];
                let (lo, hi) = self.reach(j);
                target[..lo].fill(0.0);
                target[hi..].fill(0.0);
                if lo < hi {
                    target[lo..hi].copy_from_slice(&row[lo + j - half..hi + j - half]);
                }
            }
        }
    }

    /// The columns `lo..hi` of a grid row whose tap `j` reads inside the row (column `p` reads
    /// `p + j - K/2`); `lo == hi` when none does.
    fn reach(&self, j: usize) -> (usize, usize) {
        let half = self.size / 2;
        let lo = half.saturating_sub(j).min(self.cols);
        let hi = (self.cols + half).saturating_sub(j).min(self.cols).max(lo);
        (lo, hi)
    }

    /// Adds the unfolded `columns` (`[C_in K², R P]`) back onto one window's grid gradient:
    /// the transpose of [`Grid::unfold`].
    fn fold(&self, columns: &[f32], grid: &mut [f32]) {
        let (rows, cols, size) = (self.rows, self.cols, self.size);
        let half = size / 2;
        let cells = self.cells();
        for (tap, column) in columns.chunks_exact(cells).enumerate() {
            let (channel, i, j) = (tap / (size * size), tap / size % size, tap % size);
            let target = &mut grid[channel * cells..(channel + 1) * cells];
            for r in 0..rows {
                let Some(to_row) = (r + i).checked_sub(half).filter(|&s| s < rows) else {
                    continue;
                };
                let (lo, hi) = self.reach(j);
                if lo == hi {
                    continue;
                }
                let source = &column[r * cols + lo..r * cols + hi];
                let row = &mut target[to_row * cols + lo + j - half..to_row * cols + hi + j - half];
                for (sum, value) in row.iter_mut().zip(source) {
                    *sum += value;
                }
            }
        }
    }
}

/// The fused node: `[B, C_in, R, P]` and `[C_out, C_in, K, K]` in, `[B, C_out, R, P]` out.
struct SameConv2d;

impl CustomOp2 for SameConv2d {
    fn name(&self) -> &'static str {
        "same-conv2d"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        kernel: &CpuStorage,
        kernel_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grid = Grid::of(x_layout, kernel_layout)?;
        let x = f32_slice(x, x_layout, self.name())?;
        let kernel = f32_slice(kernel, kernel_layout, self.name())?;
        let (cells, taps) = (grid.cells(), grid.taps());
        let mut out = vec![0f32; grid.batch * grid.outputs * cells];
        let mut columns = vec![0f32; taps * cells];
        for b in 0..grid.batch {
            grid.unfold(
                &x[b * grid.inputs * cells..(b + 1) * grid.inputs * cells],
                &mut columns,
            );
            multiply_into(
                grid.outputs,
                cells,
                taps,
                Operand::rows(kernel, taps),
                Operand::rows(&columns, cells),
                &mut out[b * grid.outputs * cells..(b + 1) * grid.outputs * cells],
                cells,
                false,
            )?;
        }
        let shape = Shape::from((grid.batch, grid.outputs, grid.rows, grid.cols));
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        _out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let kernel_dims = kernel.dims4()?;
        let of = |wrt| SameConv2dGrad { wrt, kernel_dims };
        let grad_x = grad.apply_op2_no_bwd(kernel, &of(Wrt::Input))?;
        let grad_kernel = grad.apply_op2_no_bwd(x, &of(Wrt::Kernel))?;
        Ok((Some(grad_x), Some(grad_kernel)))
    }
}

/// Which operand of [`SameConv2d`] a gradient is for.
#[derive(Clone, Copy)]
enum Wrt {
    /// The input, `[B, C_in, R, P]`, computed with the kernel.
    Input,
    /// The kernel, of the kernel's dimensions, computed with the input.
    Kernel,
}

/// A gradient of [`SameConv2d`] from the output's gradient `[B, C_out, R, P]` and the other
/// operand.
struct SameConv2dGrad {
    wrt: Wrt,
    /// `(C_out, C_in, K, K)`.
    kernel_dims: (usize, usize, usize, usize),
}

impl CustomOp2 for SameConv2dGrad {
    fn name(&self) -> &'static str {
        "same-conv2d-grad"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        other: &CpuStorage,
        other_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grad_values = f32_slice(grad, grad_layout, self.name())?;
        let other_values = f32_slice(other, other_layout, self.name())?;
        let (batch, outputs, rows, cols) = grad_layout.shape().dims4()?;
        let (_, inputs, size, _) = self.kernel_dims;
        let grid = Grid {
            batch,
            inputs,
            outputs,
            rows,
            cols,
            size,
        };
        let (cells, taps) = (grid.cells(), grid.taps());
        // Window b's values of a [B, channels, R, P] grid.
        let window = |channels: usize, b: usize| b * channels * cells..(b + 1) * channels * cells;
        match self.wrt {
            Wrt::Input => {
                let mut grad_x = vec![0f32; batch * inputs * cells];
                for b in 0..batch {
                    // dcolumns = kernelᵀ (C_in K² x C_out) times the window's output gradient.
                    let columns = product(
                        taps,
                        cells,
                        outputs,
                        Operand::transposed(other_values, taps),
                        Operand::rows(&grad_values[window(outputs, b)], cells),
                        self.name(),
                    )?;
                    grid.fold(&columns, &mut grad_x[window(inputs, b)]);
                }
                let shape = Shape::from((batch, inputs, rows, cols));
                Ok((CpuStorage::F32(grad_x), shape))
            }
            Wrt::Kernel => {
                let mut grad_kernel = vec![0f32; outputs * taps];
                let mut columns = vec![0f32; taps * cells];
                for b in 0..batch {
                    grid.unfold(&other_values[window(inputs, b)], &mut columns);
                    // dkernel += the window's output gradient (C_out x R P) times columnsᵀ.
                    multiply_into(
                        outputs,
                        taps,
                        cells,
                        Operand::rows(&grad_values[window(outputs, b)], cells),
                        Operand::transposed(&columns, cells),
                        &mut grad_kernel,
                        taps,
                        b > 0,
                    )?;
                }
                Ok((CpuStorage::F32(grad_kernel), Shape::from(self.kernel_dims)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::nn::test_support::values;

    fn ramp(shape: &[usize], scale: f32) -> Tensor {
        let count: usize = shape.iter().product();
        let values: Vec<f32> = (0..count)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * scale)
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn the_fused_node_matches_candles_conv2d_and_its_gradients() {
        // Grids narrower and shorter than the kernel (down to less than half of it), a 1x1
        // kernel.
        for (shape, kernel_shape) in [
            ([2, 3, 2, 5], [4, 3, 5, 5]),
            ([1, 2, 4, 3], [3, 2, 3, 3]),
            ([2, 2, 3, 3], [2, 2, 1, 1]),
            ([2, 2, 3, 2], [3, 2, 7, 7]),
            ([1, 1, 1, 1], [2, 1, 11, 11]),
        ] {
            let x = Var::from_tensor(&ramp(&shape, 0.1)).unwrap();
            let kernel = Var::from_tensor(&ramp(&kernel_shape, 0.05)).unwrap();
            let weights = ramp(&[shape[0], kernel_shape[0], shape[2], shape[3]], 0.3);
            let run = |fused: bool| {
                let out = if fused {
                    same_conv2d(x.as_tensor(), kernel.as_tensor()).unwrap()
                } else {
                    kernels::with_generic_ops(|| {
                        same_conv2d(x.as_tensor(), kernel.as_tensor()).unwrap()
                    })
                };
                let grads = (&out * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                (
                    values(&out),
                    values(grads.get(x.as_tensor()).unwrap()),
                    values(grads.get(kernel.as_tensor()).unwrap()),
                )
            };
            let (fused, generic) = (run(true), run(false));
            for (a, b) in [
                (&fused.0, &generic.0),
                (&fused.1, &generic.1),
                (&fused.2, &generic.2),
            ] {
                assert_eq!(a.len(), b.len());
                for (u, v) in a.iter().zip(b.iter()) {
                    assert!(
                        (u - v).abs() < 1e-5,
                        "{shape:?} {kernel_shape:?}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_even_kernel_is_refused() {
        let x = ramp(&[1, 1, 3, 3], 1.0);
        let err = same_conv2d(&x, &ramp(&[1, 1, 2, 2], 1.0)).unwrap_err();
        assert!(err.to_string().contains("odd square kernel"), "{err}");
    }
}
