//! Matrix products written straight into a new buffer, for the custom ops of this module.
//!
//! Candle's own `matmul` zero-fills its output before the GEMM overwrites it; in the backward
//! pass of a dense layer those fills were a sixtieth of an N-HiTS training step. Here the output
//! is allocated uninitialised and the GEMM writes every element (the same kernel call Candle
//! makes, so the values are the same bit for bit).

use candle_core::{CpuStorage, Layout, Tensor};

/// A row-major-or-strided f32 matrix operand: element `(i, j)` is `values[i * row_stride + j *
/// col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub(crate) values: &'a [f32],
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

impl<'a> Operand<'a> {
    /// A row-major matrix whose rows lie `row_stride` apart: contiguous when that is its column
    /// count, one time step of `[B, T, N]` data when it is `T * N`.
    pub(crate) fn rows(values: &'a [f32], row_stride: usize) -> Operand<'a> {
        Operand {
            values,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows lie `row_stride` apart (its column count
    /// when contiguous).
    pub(crate) fn transposed(values: &'a [f32], row_stride: usize) -> Operand<'a> {
        Operand {
            values,
            row_stride: 1,
            col_stride: row_stride,
        }
    }

    /// The transposed matrix, read from the same values.
    fn transpose(self) -> Operand<'a> {
        Operand {
            values: self.values,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether a `rows x cols` matrix with these strides lies inside `values`.
    pub(crate) fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.values.len()
    }
}

/// `lhs (rows x inner) * rhs (inner x cols)` as a new row-major `rows x cols` buffer.
pub(crate) fn product(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: Operand,
    rhs: Operand,
    what: &str,
) -> candle_core::Result<Vec<f32>> {
    product_with_room(rows, cols, inner, lhs, rhs, 0, what)
}

/// [`product`] in a buffer with capacity for `room` more values after the product, so that
/// what follows it is appended without moving it.
pub(crate) fn product_with_room(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: Operand,
    rhs: Operand,
    room: usize,
    what: &str,
) -> candle_core::Result<Vec<f32>> {
    if !lhs.holds(rows, inner) || !rhs.holds(inner, cols) {
        candle_core::bail!(
            "{what}: operands smaller than a {rows}x{inner} by {inner}x{cols} product"
        );
    }
    let len = rows * cols;
    let mut out = Vec::with_capacity(len + room);
    if inner == 0 {
        out.resize(len, 0.0);
        return Ok(out);
    }
    if len > 0 {
        // SAFETY: `out` has room for rows x cols values written with row stride `cols`; the
        // operands hold every index the product reads (checked above). Without `accumulate`
        // the kernel writes every destination element without reading it, so all `len` values
        // are initialised before `set_len`.
        unsafe {
            gemm_raw(rows, cols, inner, lhs, rhs, out.as_mut_ptr(), cols, false);
            out.set_len(len);
        }
    }
    Ok(out)
}

/// `dst (rows x cols, row stride dst_row_stride) = lhs * rhs`, or `+=` when `accumulate` is set:
/// a product written into part of an existing buffer (one time step of a sequence).
#[allow(clippy::too_many_arguments)]
pub(crate) fn multiply_into(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: Operand,
    rhs: Operand,
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
) -> candle_core::Result<()> {
    let target = Operand {
        values: dst,
        row_stride: dst_row_stride,
        col_stride: 1,
    };
    if !lhs.holds(rows, inner) || !rhs.holds(inner, cols) || !target.holds(rows, cols) {
        candle_core::bail!("operands smaller than a {rows}x{inner} by {inner}x{cols} product");
    }
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    if inner == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_row_stride.max(1)).take(rows) {
                row[..cols].fill(0.0);
            }
        }
        return Ok(());
    }
    // SAFETY: every index the product reads from `lhs` and `rhs` and writes in `dst` lies
    // inside its slice (checked above); `dst` is initialised, so reading it to accumulate is
    // sound.
    unsafe {
        gemm_raw(
            rows,
            cols,
            inner,
            lhs,
            rhs,
            dst.as_mut_ptr(),
            dst_row_stride,
            accumulate,
        )
    };
    Ok(())
}

/// [`multiply_into`] formed as its transpose `rhs^T lhs^T` in a new buffer and copied in.
///
/// `gemm` packs a right operand whose rows are not contiguous by gathering along its columns,
/// and its kernels run along the destination's rows. For `A^T B` with `A [n, a]` and `B [n, b]`
/// row-major (a weight gradient summed over `n` rows of data) the gathered operand is `A`; in
/// the transpose it is `B`. The recurrence's `dW = dP^T h` gathers the states (`H` wide)
/// instead of the gate gradients (`G*H` wide: 2 KiB rows for a 128-unit LSTM, whose reads
/// alias in the L1 cache), and runs its kernels along `G*H` rows rather than `H` (GRU's 200
/// units leave an 8-row remainder). Measured on the LSTM and GRU defaults: 2-4% of a
/// training step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn multiply_into_transposed(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: Operand,
    rhs: Operand,
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
) -> candle_core::Result<()> {
    let target = Operand::rows(dst, dst_row_stride);
    if !target.holds(rows, cols) || (rows > 1 && cols > dst_row_stride) {
        candle_core::bail!(
            "a destination smaller than {rows}x{cols} with rows {dst_row_stride} apart"
        );
    }
    let transposed = product(
        cols,
        rows,
        inner,
        rhs.transpose(),
        lhs.transpose(),
        "transposed product",
    )?;
    // One row's stride is free (only rows after the first need it to be at least `cols`).
    for (i, row) in dst
        .chunks_mut(dst_row_stride.max(cols).max(1))
        .take(rows)
        .enumerate()
    {
        let column = transposed.iter().skip(i).step_by(rows.max(1));
        if accumulate {
            row[..cols]
                .iter_mut()
                .zip(column)
                .for_each(|(v, &x)| *v += x);
        } else {
            row[..cols]
                .iter_mut()
                .zip(column)
                .for_each(|(v, &x)| *v = x);
        }
    }
    Ok(())
}

/// `dst = lhs * rhs` (or `+=` when `accumulate`), the kernel call Candle's `matmul` makes.
///
/// # Safety
/// The operands must hold every index of their `rows x inner` and `inner x cols` matrices, and
/// `dst` must be valid for writes (and, when accumulating, reads) of a `rows x cols` matrix with
/// row stride `dst_row_stride`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: Operand,
    rhs: Operand,
    dst: *mut f32,
    dst_row_stride: usize,
    accumulate: bool,
) {
    let padded = padded_columns(rows, cols, inner, rhs);
    let rhs = padded.as_deref().map_or(rhs, |values| Operand {
        values,
        row_stride: 1,
        col_stride: inner + ALIASING_PAD,
    });
    // SAFETY: as the caller guarantees; a padded copy holds the same `inner x cols` matrix.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            dst,
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

/// Column strides (in floats) that are multiples of this (1 KiB) alias in the L1 cache.
///
/// A transposed right operand (a dense layer's `W^T`, read from `W [outputs, inputs]`) is packed
/// by `gemm` reading one value from each of many columns `inputs` floats apart; when that
/// distance is a multiple of 1 KiB all those reads fall into a few cache sets and evict each
/// other. Measured on the AVX-512 kernels: `[100, 512] x [512, 512]^T` ran at 52 GFLOP/s, or
/// 108 with the columns copied 16 floats apart (NHITS, NBEATS and MLP default to 512 or 1,024
/// units, so their every layer hit it).
const ALIASING_STRIDE: usize = 256;
/// Floats added after each column of the padded copy: 64 bytes, one cache line.
const ALIASING_PAD: usize = 16;
/// The fewest columns of a right operand that `gemm` packs (and that [`padded_columns`] copies).
const PACKED_COLUMNS: usize = 64;

/// A copy of a transposed `inner x cols` right operand with its columns `inner + ALIASING_PAD`
/// apart, when its column stride aliases and `gemm` will pack it (at least 64 columns, and 8
/// rows or 256 columns: below that the kernels read it in place and a copy only costs time).
fn padded_columns(rows: usize, cols: usize, inner: usize, rhs: Operand) -> Option<Vec<f32>> {
    let aliasing = rhs.row_stride == 1 && rhs.col_stride.is_multiple_of(ALIASING_STRIDE);
    let packed = cols >= PACKED_COLUMNS && (rows >= 8 || (rows >= 2 && cols >= 256));
    if !aliasing || !packed || inner == 0 {
        return None;
    }
    let stride = inner + ALIASING_PAD;
    let mut padded = vec![0.0f32; cols * stride];
    for (j, column) in padded.chunks_exact_mut(stride).enumerate() {
        let start = j * rhs.col_stride;
        column[..inner].copy_from_slice(&rhs.values[start..start + inner]);
    }
    Some(padded)
}

/// Candle's own threading of a product: its kernels' thread count (1 once
/// `crate::threads::configure_threads` has run, which threads across chunks instead).
fn parallelism() -> gemm::Parallelism {
    match candle_core::utils::get_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// A `rows x cols` operand copied into a contiguous row-major buffer, tile by tile so that a
/// transposed operand is read and written a few cache lines at a time (a transposed operand's
/// columns are read as contiguous runs).
pub(crate) fn contiguous(operand: Operand, rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 16;
    let mut out = vec![0.0f32; rows * cols];
    if operand.row_stride != 1 || rows == 0 || cols == 0 {
        for (i, row) in out.chunks_exact_mut(cols.max(1)).enumerate() {
            for (j, value) in row.iter_mut().enumerate() {
                *value = operand.values[i * operand.row_stride + j * operand.col_stride];
            }
        }
        return out;
    }
    // Column j of a transposed operand is the run values[j * col_stride..][..rows].
    for i0 in (0..rows).step_by(TILE) {
        let i1 = (i0 + TILE).min(rows);
        for j0 in (0..cols).step_by(TILE) {
            for j in j0..(j0 + TILE).min(cols) {
                let column = &operand.values[j * operand.col_stride + i0..][..i1 - i0];
                for (k, &value) in column.iter().enumerate() {
                    out[(i0 + k) * cols + j] = value;
                }
            }
        }
    }
    out
}

/// The contiguous values of an elementwise node's output gradient and of its input, checked
/// to be as many (the backward pass of a one-input elementwise node).
pub(crate) fn gradient_and_values<'a>(
    grad: (&'a CpuStorage, &Layout),
    x: (&'a CpuStorage, &Layout),
    what: &str,
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    let grad = f32_slice(grad.0, grad.1, what)?;
    let x = f32_slice(x.0, x.1, what)?;
    if grad.len() != x.len() {
        candle_core::bail!("{what}: {} gradients for {} values", grad.len(), x.len());
    }
    Ok((grad, x))
}

/// The f32 values of a matrix (a 2-D layout) whose columns are adjacent, and the distance between
/// its rows: contiguous matrices and those of [`unaliased`].
pub(crate) fn f32_matrix<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<(&'a [f32], usize)> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{what}: expected f32 data");
    };
    match (layout.dims(), layout.stride()) {
        (&[rows, cols], &[row_stride, 1]) if row_stride >= cols => {
            let start = layout.start_offset();
            let len = match rows * cols {
                0 => 0,
                _ => (rows - 1) * row_stride + cols,
            };
            Ok((&values[start..start + len], row_stride))
        }
        (dims, _) => Ok((
            f32_slice(storage, layout, what)?,
            dims.last().copied().unwrap_or(1),
        )),
    }
}

/// A matrix the products read as its own transpose (a dense layer's `[outputs, inputs]` weight)
/// with its rows [`ALIASING_PAD`] floats further apart when their distance would alias and
/// there are enough of them for [`padded_columns`] to copy them, so that no product has to make
/// that copy: for models that only forecast, whose weights never change. The copy is made once
/// and held beside the trained values. Any other matrix is returned as it is.
pub(crate) fn unaliased(matrix: Tensor) -> candle_core::Result<Tensor> {
    let (rows, cols) = match matrix.dims() {
        &[rows, cols] => (rows, cols),
        _ => return Ok(matrix),
    };
    let aliasing = rows >= PACKED_COLUMNS && cols > 0 && cols.is_multiple_of(ALIASING_STRIDE);
    if !aliasing || !matrix.device().is_cpu() || matrix.dtype() != candle_core::DType::F32 {
        return Ok(matrix);
    }
    let pad = Tensor::zeros((rows, ALIASING_PAD), matrix.dtype(), matrix.device())?;
    Tensor::cat(&[&matrix, &pad], 1)?.narrow(1, 0, cols)
}

/// The contiguous f32 values of a storage as its layout places them.
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

/// Adds every `sums.len()`-wide row of `rows` onto `sums`, in row order.
pub(crate) fn add_rows(sums: &mut [f32], rows: &[f32]) {
    for row in rows.chunks_exact(sums.len().max(1)) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// A layout's shape as a matrix: the last dimension as columns, all others as rows.
pub(crate) fn matrix_dims(layout: &Layout) -> (usize, usize) {
    let dims = layout.dims();
    let cols = dims.last().copied().unwrap_or(1);
    let rows = dims[..dims.len().saturating_sub(1)].iter().product();
    (rows, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout of the operands against the schoolbook product.
    #[test]
    fn strided_products_match_the_definition() {
        let a: Vec<f32> = (0..12).map(|v| v as f32 * 0.5 - 2.0).collect(); // 3 x 4
        let b: Vec<f32> = (0..20).map(|v| (v % 7) as f32 - 3.0).collect(); // 4 x 5
        let expected: Vec<f32> = (0..3)
            .flat_map(|i| {
                let (a, b) = (&a, &b);
                (0..5).map(move |j| (0..4).map(|k| a[i * 4 + k] * b[k * 5 + j]).sum())
            })
            .collect();
        let got = product(3, 5, 4, Operand::rows(&a, 4), Operand::rows(&b, 5), "t").unwrap();
        assert_eq!(got, expected);
        // The same product from the transposes as stored: a^T is 4 x 3, b^T is 5 x 4.
        let at: Vec<f32> = (0..12).map(|i| a[(i % 3) * 4 + i / 3]).collect();
        let bt: Vec<f32> = (0..20).map(|i| b[(i % 4) * 5 + i / 4]).collect();
        let got = product(
            3,
            5,
            4,
            Operand::transposed(&at, 3),
            Operand::transposed(&bt, 4),
            "t",
        )
        .unwrap();
        assert_eq!(got, expected);
    }

    /// The product formed as its transpose lands in a strided destination with the values of
    /// the direct one, overwriting or adding, and leaves the gaps between rows alone.
    #[test]
    fn products_formed_transposed_write_what_direct_ones_write() {
        let (rows, cols, inner, stride) = (7, 5, 11, 9);
        let a: Vec<f32> = (0..inner * rows).map(|v| (v % 13) as f32 - 6.0).collect(); // inner x rows
        let b: Vec<f32> = (0..inner * cols).map(|v| (v % 5) as f32 * 0.25).collect(); // inner x cols
        let (lhs, rhs) = (Operand::transposed(&a, rows), Operand::rows(&b, cols));
        for accumulate in [false, true] {
            let start: Vec<f32> = (0..rows * stride).map(|v| v as f32).collect();
            let (mut direct, mut transposed) = (start.clone(), start.clone());
            multiply_into(rows, cols, inner, lhs, rhs, &mut direct, stride, accumulate).unwrap();
            multiply_into_transposed(
                rows,
                cols,
                inner,
                lhs,
                rhs,
                &mut transposed,
                stride,
                accumulate,
            )
            .unwrap();
            assert_eq!(transposed, direct, "accumulate {accumulate}");
            assert_eq!(transposed[cols..stride], start[cols..stride]);
        }
        let mut short = vec![0.0; (rows - 1) * stride + cols - 1];
        let error =
            multiply_into_transposed(rows, cols, inner, lhs, rhs, &mut short, stride, false);
        assert!(error.unwrap_err().to_string().contains("smaller than 7x5"));
        // Rows closer together than they are long overlap.
        let mut overlapping = vec![0.0; rows * cols];
        let error =
            multiply_into_transposed(rows, cols, inner, lhs, rhs, &mut overlapping, 4, false);
        assert!(error.unwrap_err().to_string().contains("rows 4 apart"));
        // A single row's stride is free.
        let mut one_row = vec![0.0; cols];
        multiply_into_transposed(1, cols, inner, lhs, rhs, &mut one_row, 1, false).unwrap();
        let mut expected = vec![0.0; cols];
        multiply_into(1, cols, inner, lhs, rhs, &mut expected, cols, false).unwrap();
        assert_eq!(one_row, expected);
    }

    /// A transposed operand whose columns lie a multiple of 1 KiB apart is multiplied from a
    /// padded copy, with the same values as the schoolbook product; other shapes are not copied.
    #[test]
    fn aliasing_transposed_operands_are_padded_and_multiply_the_same() {
        let (rows, cols, inner) = (9, 64, 256);
        let x: Vec<f32> = (0..rows * inner)
            .map(|v| (v % 13) as f32 * 0.25 - 1.5)
            .collect();
        let w: Vec<f32> = (0..cols * inner)
            .map(|v| (v % 11) as f32 * 0.5 - 2.5)
            .collect();
        let w_t = Operand::transposed(&w, inner);
        let padded = padded_columns(rows, cols, inner, w_t).expect("1 KiB column stride");
        assert_eq!(padded.len(), cols * (inner + ALIASING_PAD));
        assert_eq!(
            &padded[inner + ALIASING_PAD..2 * inner + ALIASING_PAD],
            &w[inner..2 * inner]
        );
        let got = product(rows, cols, inner, Operand::rows(&x, inner), w_t, "t").unwrap();
        for i in 0..rows {
            for j in 0..cols {
                let expected: f32 = (0..inner)
                    .map(|k| x[i * inner + k] * w[j * inner + k])
                    .sum();
                let value = got[i * cols + j];
                assert!(
                    (value - expected).abs() <= 1e-3 * expected.abs().max(1.0),
                    "{i},{j}"
                );
            }
        }
        // Not aliasing, too few columns, too few rows, or not transposed: read in place.
        let w_odd = vec![0.0; cols * 250];
        assert!(padded_columns(rows, cols, 250, Operand::transposed(&w_odd, 250)).is_none());
        assert!(padded_columns(rows, 32, inner, w_t).is_none());
        assert!(padded_columns(4, cols, inner, w_t).is_none());
        assert!(padded_columns(rows, cols, inner, Operand::rows(&w, inner)).is_none());
    }

    #[test]
    fn contiguous_copies_any_strided_operand_row_by_row() {
        // A 3 x 11 block inside a 13-wide matrix, and its 11 x 3 transpose.
        let values: Vec<f32> = (0..3 * 13).map(|v| v as f32).collect();
        let block = Operand::rows(&values[2..], 13);
        let rows = contiguous(block, 3, 11);
        let transposed = contiguous(Operand::transposed(&rows, 11), 11, 3);
        for i in 0..3 {
            for j in 0..11 {
                assert_eq!(rows[i * 11 + j], values[i * 13 + 2 + j]);
                assert_eq!(transposed[j * 3 + i], rows[i * 11 + j]);
            }
        }
        // A transpose spanning several tiles each way, with partial tiles at both ends: the
        // 37 x 21 transpose of a 21 x 37 block inside a 40-wide matrix.
        let values: Vec<f32> = (0..21 * 40).map(|v| v as f32).collect();
        let transposed = contiguous(Operand::transposed(&values[1..], 40), 37, 21);
        for i in 0..37 {
            for j in 0..21 {
                assert_eq!(transposed[i * 21 + j], values[j * 40 + 1 + i], "({i}, {j})");
            }
        }
    }

    #[test]
    fn empty_inner_dimension_gives_zeros_and_short_operands_are_refused() {
        assert_eq!(
            product(2, 3, 0, Operand::rows(&[], 0), Operand::rows(&[], 3), "t").unwrap(),
            vec![0.0; 6]
        );
        let err = product(
            2,
            2,
            2,
            Operand::rows(&[1.0; 3], 2),
            Operand::rows(&[1.0; 4], 2),
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("operands smaller"), "{err}");
    }
}
