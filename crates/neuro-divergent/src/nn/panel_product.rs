//! A right operand packed once and multiplied many times, on this crate's own AVX-512 kernel:
//! the recurrence's `W_hh`, which every time step multiplies by that step's states (forward,
//! `h_{t-1} W_hh^T`) or gate gradients (backward, `dP_t W_hh`).
//!
//! `gemm` packs its operands on every call: a copy of the whole weight matrix per step. Here
//! [`PackedRight`] packs it once per pass into panels of 48 columns (three 16-float vectors),
//! each panel's rows one after another, and one kernel multiplies 8 rows of the left operand
//! (its values broadcast one at a time, any strides) by one panel, 24 vector accumulators.
//! Measured on the Xeon (one thread): `[128, 200] x [200, 600]` (a GRU step) at 164–192
//! GFLOP/s against `gemm`'s 154–167, and a GRU training step 2.5% faster (LSTM 1.4%). The
//! kernel neither blocks nor packs the left operand, so it suits a step's few hundred rows, not
//! a whole sequence's (6,144 rows: 100–120 GFLOP/s against `gemm`'s 140–150). On CPUs without
//! AVX-512F (or a build without the `avx512` feature) the weights are kept as contiguous rows
//! and every product is `gemm`'s ([`super::product::multiply_into`]).

use std::ops::Range;

use super::product::{contiguous, multiply_into, Operand};

/// Columns of one panel: three 512-bit vectors of f32.
const PANEL: usize = 48;
/// Rows of the left operand one kernel call multiplies.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ROWS: usize = 8;
/// Inner-dimension values per pass over the panels (later passes add to the first's): gemm's
/// own depth for f32 here, so that every product sums in gemm's order and equals its result bit
/// for bit (the recurrences' products all have at most 512 inner values; measured: LSTM's and
/// GRU's step shapes identical, 256 would change the rounding of LSTM's backward product and,
/// through it, every later training step).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const DEPTH: usize = 512;

/// An `inner x cols` right operand, laid out once for repeated products.
pub(crate) struct PackedRight {
    inner: usize,
    cols: usize,
    values: Packing,
}

/// How a [`PackedRight`] holds its values.
enum Packing {
    /// Panels of [`PANEL`] columns (zero beyond `cols`), each `inner` rows of 48 values, for the
    /// AVX-512 kernel.
    Panels(Vec<f32>),
    /// Contiguous row-major values, for `gemm`.
    Rows(Vec<f32>),
}

impl PackedRight {
    /// Packs `rhs` (`inner x cols`) for the kernels this process runs: the AVX-512 kernel,
    /// which runs on one thread, where the CPU has AVX-512F and Candle's products run on one
    /// thread (as they do once `crate::threads::configure_threads` has run, which threads
    /// across chunks instead); else gemm with Candle's threads.
    /// The crate's unit tests run the kernel at any thread count, so that the recurrence's
    /// tests check it (its own tests here check both layouts).
    pub(crate) fn new(rhs: Operand, inner: usize, cols: usize) -> candle_core::Result<Self> {
        let one_thread = cfg!(test) || candle_core::utils::get_num_threads() <= 1;
        Self::packed_as(rhs, inner, cols, one_thread && kernel_available())
    }

    /// Packs `rhs` in panels (when `panels`, which needs AVX-512F) or as contiguous rows.
    fn packed_as(
        rhs: Operand,
        inner: usize,
        cols: usize,
        panels: bool,
    ) -> candle_core::Result<Self> {
        debug_assert!(!panels || kernel_available(), "panels without AVX-512F");
        if !rhs.holds(inner, cols) {
            candle_core::bail!("a packed operand smaller than {inner}x{cols}");
        }
        let values = if panels {
            Packing::Panels(panelled(rhs, inner, cols))
        } else {
            Packing::Rows(contiguous(rhs, inner, cols))
        };
        Ok(PackedRight {
            inner,
            cols,
            values,
        })
    }

    /// `dst (rows x cols, rows dst_row_stride apart) = lhs * self[inner_rows]` (or `+=` when
    /// `accumulate`): `lhs` is `rows x inner_rows.len()` and multiplies that range of this
    /// operand's rows (GRU's backward multiplies two gate blocks by two row ranges of `W_hh`).
    pub(crate) fn multiply_into(
        &self,
        rows: usize,
        inner_rows: Range<usize>,
        lhs: Operand,
        dst: &mut [f32],
        dst_row_stride: usize,
        accumulate: bool,
    ) -> candle_core::Result<()> {
        let (cols, inner) = (self.cols, inner_rows.len());
        if inner_rows.start > inner_rows.end || inner_rows.end > self.inner {
            candle_core::bail!(
                "rows {inner_rows:?} of a packed operand with {} rows",
                self.inner
            );
        }
        check(rows, cols, inner, &lhs, dst, dst_row_stride)?;
        if rows == 0 || cols == 0 {
            return Ok(());
        }
        match &self.values {
            Packing::Rows(values) => multiply_into(
                rows,
                cols,
                inner,
                lhs,
                Operand::rows(&values[inner_rows.start * cols..], cols),
                dst,
                dst_row_stride,
                accumulate,
            ),
            Packing::Panels(panels) => {
                let right = Right {
                    values: &panels[inner_rows.start * PANEL..],
                    panel_stride: PANEL * self.inner,
                };
                // SAFETY: panels are only built where the CPU has AVX-512F; panel `p` holds this
                // operand's rows `inner_rows` at `p * PANEL * self.inner + k * PANEL`, and the
                // other operands were checked above.
                unsafe {
                    kernel::multiply(
                        rows,
                        cols,
                        inner,
                        lhs,
                        right,
                        dst,
                        dst_row_stride,
                        accumulate,
                    )
                };
                Ok(())
            }
        }
    }
}

/// Whether this CPU and build run the AVX-512 kernel (the same choice as `gemm`'s kernels).
fn kernel_available() -> bool {
    crate::cpu::KernelPath::current() == crate::cpu::KernelPath::Avx512
}

/// Checks that `lhs` holds `rows x inner` and `dst` `rows x cols` without overlapping rows.
fn check(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: &Operand,
    dst: &[f32],
    dst_row_stride: usize,
) -> candle_core::Result<()> {
    if rows > 1 && cols > dst_row_stride {
        candle_core::bail!(
            "a {rows}x{cols} destination whose rows, {dst_row_stride} apart, overlap"
        );
    }
    if !lhs.holds(rows, inner) || !Operand::rows(dst, dst_row_stride).holds(rows, cols) {
        candle_core::bail!("operands smaller than a {rows}x{inner} by {inner}x{cols} product");
    }
    Ok(())
}

/// `rhs` in panels of [`PANEL`] columns, each panel's `inner` rows one after another.
fn panelled(rhs: Operand, inner: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(cols.div_ceil(PANEL) * PANEL * inner);
    for first in (0..cols).step_by(PANEL) {
        for k in 0..inner {
            out.extend((first..first + PANEL).map(|j| match j < cols {
                true => rhs.values[k * rhs.row_stride + j * rhs.col_stride],
                false => 0.0,
            }));
        }
    }
    out
}

/// Packed rows as the kernel reads them: column `j` of row `k` at `(j / PANEL) * panel_stride
/// + k * PANEL + j % PANEL`.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Right<'a> {
    /// The panels, from the first row the product reads.
    values: &'a [f32],
    /// Values from one panel's start to the next one's.
    panel_stride: usize,
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    //! The AVX-512 kernel: `R` rows by `V` vectors of 16 columns, `R * V` accumulators.

    use std::arch::x86_64::*;

    use super::{Operand, Right, DEPTH, PANEL, ROWS};

    /// Where one kernel call reads and writes.
    struct Tile {
        /// Inner values multiplied (rows of the panel read).
        steps: usize,
        /// The left operand's first value for this tile.
        lhs: *const f32,
        /// Values from one left row to the next.
        lhs_row: usize,
        /// Values from one left column (inner value) to the next.
        lhs_step: usize,
        /// The panel's first row read.
        rhs: *const f32,
        /// The destination's first value for this tile.
        dst: *mut f32,
        /// Values from one destination row to the next.
        dst_stride: usize,
        /// Whether the products are added to the destination.
        accumulate: bool,
        /// The destination columns of each vector written (bit `i`: column `16 v + i`).
        masks: [u16; 3],
    }

    type Kernel = unsafe fn(&Tile);

    /// `KERNELS[r - 1][v - 1]` multiplies `r` rows by `v` vectors.
    const KERNELS: [[Kernel; 3]; ROWS] = [
        [tile::<1, 1>, tile::<1, 2>, tile::<1, 3>],
        [tile::<2, 1>, tile::<2, 2>, tile::<2, 3>],
        [tile::<3, 1>, tile::<3, 2>, tile::<3, 3>],
        [tile::<4, 1>, tile::<4, 2>, tile::<4, 3>],
        [tile::<5, 1>, tile::<5, 2>, tile::<5, 3>],
        [tile::<6, 1>, tile::<6, 2>, tile::<6, 3>],
        [tile::<7, 1>, tile::<7, 2>, tile::<7, 3>],
        [tile::<8, 1>, tile::<8, 2>, tile::<8, 3>],
    ];

    /// The product in passes of [`DEPTH`] inner values (later passes add to the first's), each
    /// pass panel by panel (a panel stays in cache while every block of [`ROWS`] rows of the
    /// left operand multiplies it).
    ///
    /// # Safety
    /// The CPU has AVX-512F; `lhs` holds `rows x inner`, `right` holds column `j` of row `k`
    /// (for `k < inner`, `j < cols`) where [`Right`] says, and `dst` holds `rows` rows of `cols`
    /// values `dst_stride` apart.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn multiply(
        rows: usize,
        cols: usize,
        inner: usize,
        lhs: Operand,
        right: Right,
        dst: &mut [f32],
        dst_stride: usize,
        accumulate: bool,
    ) {
        if rows == 0 || cols == 0 {
            return;
        }
        let mut depth = 0;
        loop {
            let steps = (inner - depth).min(DEPTH);
            for first in (0..cols).step_by(PANEL) {
                let columns = (cols - first).min(PANEL);
                let mut masks = [0u16; 3];
                for (v, mask) in masks.iter_mut().enumerate() {
                    let lanes = columns.saturating_sub(16 * v).min(16);
                    *mask = ((1u32 << lanes) - 1) as u16;
                }
                let panel = (first / PANEL) * right.panel_stride + depth * PANEL;
                for row in (0..rows).step_by(ROWS) {
                    let tile = Tile {
                        steps,
                        lhs: lhs
                            .values
                            .as_ptr()
                            .wrapping_add(row * lhs.row_stride + depth * lhs.col_stride),
                        lhs_row: lhs.row_stride,
                        lhs_step: lhs.col_stride,
                        rhs: right.values.as_ptr().wrapping_add(panel),
                        dst: dst.as_mut_ptr().wrapping_add(row * dst_stride + first),
                        dst_stride,
                        accumulate: accumulate || depth > 0,
                        masks,
                    };
                    KERNELS[(rows - row).min(ROWS) - 1][columns.div_ceil(16) - 1](&tile);
                }
            }
            depth += steps;
            if depth >= inner {
                break;
            }
        }
    }

    /// `R x (16 V)` of the destination (lanes past the masks untouched): the left operand's `R`
    /// rows times one panel over `steps` inner values.
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const R: usize, const V: usize>(t: &Tile) {
        let mut sums = [[_mm512_setzero_ps(); V]; R];
        let (mut lhs, mut rhs) = (t.lhs, t.rhs);
        for _ in 0..t.steps {
            let mut right = [_mm512_setzero_ps(); V];
            for (v, vector) in right.iter_mut().enumerate() {
                *vector = _mm512_maskz_loadu_ps(t.masks[v], rhs.add(16 * v));
            }
            for (r, row) in sums.iter_mut().enumerate() {
                let left = _mm512_set1_ps(*lhs.add(r * t.lhs_row));
                for (sum, &vector) in row.iter_mut().zip(&right) {
                    *sum = _mm512_fmadd_ps(left, vector, *sum);
                }
            }
            // Past the operands after the last step, never read there.
            lhs = lhs.wrapping_add(t.lhs_step);
            rhs = rhs.wrapping_add(PANEL);
        }
        for (r, row) in sums.iter().enumerate() {
            for (v, &sum) in row.iter().enumerate() {
                let (mask, out) = (t.masks[v], t.dst.add(r * t.dst_stride + 16 * v));
                let value = match t.accumulate {
                    true => _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, out)),
                    false => sum,
                };
                _mm512_mask_storeu_ps(out, mask, value);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernel {
    //! No AVX-512 kernel off x86-64: [`super::kernel_available`] is false there, so nothing
    //! calls this.

    use super::{Operand, Right};

    /// Never called (see the module's comment).
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn multiply(
        _: usize,
        _: usize,
        _: usize,
        _: Operand,
        _: Right,
        _: &mut [f32],
        _: usize,
        _: bool,
    ) {
        unreachable!("the AVX-512 kernel runs on x86-64 only")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.5 - 1.0)
            .collect()
    }

    /// The kernels this CPU can run: `gemm`'s, and the AVX-512 one where it has AVX-512F.
    fn kernels() -> &'static [bool] {
        if kernel_available() {
            &[false, true]
        } else {
            &[false]
        }
    }

    /// Product shapes `(rows, cols, inner)`: row and column remainders of every size class,
    /// more than one inner pass, an empty inner dimension.
    const SHAPES: [(usize, usize, usize); 11] = [
        (1, 1, 1),
        (8, 48, 5),
        (9, 49, 7),
        (17, 15, 3),
        (5, 200, 33),
        (16, 17, 1),
        (3, 96, 0),
        (24, 33, 64),
        (10, 40, 600),
        (13, 100, 600),
        (9, 200, 520),
    ];

    /// Checks `got` against `want` inside the `rows x cols` block and `start` in the gaps.
    fn assert_written(got: &[f32], want: &[f32], start: &[f32], cols: usize, stride: usize) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let (row, col) = (i / stride, i % stride);
            if col >= cols {
                assert_eq!(g, &start[i], "gap at {row},{col} written");
            } else {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "at {row},{col}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn packed_products_write_what_gemm_writes() {
        for &panels in kernels() {
            for (rows, cols, inner) in SHAPES {
                let stride = cols + 3;
                // The right operand as a transpose (`W^T` read from `W [cols, inner]`).
                let w = values(cols * inner + 1, 1);
                let rhs = Operand::transposed(&w, inner.max(1));
                let packed = PackedRight::packed_as(rhs, inner, cols, panels).unwrap();
                let lhs_values = values((rows + 1) * (inner + 2) + 1, 2);
                // Row-major, and transposed (read from `[inner, rows + 1]`).
                let lhs_forms = [
                    Operand::rows(&lhs_values, inner + 2),
                    Operand::transposed(&lhs_values, rows + 1),
                ];
                for (lhs, range, accumulate) in lhs_forms.into_iter().flat_map(|lhs| {
                    [
                        (lhs, 0..inner, false),
                        (lhs, 0..inner, true),
                        (lhs, inner / 3..inner, false),
                        (lhs, inner / 3..inner, true),
                    ]
                }) {
                    let start = values(rows * stride, 3);
                    let (mut got, mut want) = (start.clone(), start.clone());
                    packed
                        .multiply_into(rows, range.clone(), lhs, &mut got, stride, accumulate)
                        .unwrap();
                    let part = Operand::transposed(&w[range.start..], inner.max(1));
                    let k = range.len();
                    multiply_into(rows, cols, k, lhs, part, &mut want, stride, accumulate).unwrap();
                    assert_written(&got, &want, &start, cols, stride);
                }
            }
        }
    }

    #[test]
    fn short_operands_are_refused() {
        let w = values(12, 1);
        assert!(PackedRight::packed_as(Operand::rows(&w, 4), 4, 4, false).is_err());
        let lhs = values(6, 2);
        for &kernel in kernels() {
            let packed = PackedRight::packed_as(Operand::rows(&w, 4), 3, 4, kernel).unwrap();
            let mut dst = vec![0.0; 8];
            let err = packed
                .multiply_into(2, 0..4, Operand::rows(&lhs, 3), &mut dst, 4, false)
                .unwrap_err();
            assert!(err.to_string().contains("rows 0..4"), "{err}");
            let err = packed
                .multiply_into(3, 0..3, Operand::rows(&lhs, 3), &mut dst, 4, false)
                .unwrap_err();
            assert!(err.to_string().contains("smaller"), "{err}");
            // A destination whose rows overlap, and rows out of order.
            let err = packed
                .multiply_into(2, 0..3, Operand::rows(&lhs, 3), &mut dst, 3, false)
                .unwrap_err();
            assert!(err.to_string().contains("overlap"), "{err}");
            #[allow(clippy::reversed_empty_ranges)]
            let err = packed
                .multiply_into(2, 2..1, Operand::rows(&lhs, 3), &mut dst, 4, false)
                .unwrap_err();
            assert!(err.to_string().contains("rows 2..1"), "{err}");
        }
    }
}
