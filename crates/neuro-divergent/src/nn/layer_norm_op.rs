//! Layer normalisation of `[R, C]` rows as one graph node with its own backward pass. Written
//! with Candle's generic ops it is nine nodes (two means, the centring, square, shift, root,
//! division, weight and bias), and the backward pass of the broadcast weight and bias sums
//! their gradients over every leading axis with Candle's strided reduction; here the forward
//! pass is one sweep per row and the backward one more, the weight and bias gradients summed
//! row by row.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::kernels;
use super::product::{f32_slice, matrix_dims};
use crate::error::Result;

/// `(x − mean) / sqrt(var + eps) · weight + bias` along the last axis of `x: [..., C]` (the mean
/// and biased variance of each vector): the fused node on the CPU, [`layer_norm_generic`] on
/// other devices.
pub(crate) fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    if !kernels::fused(x.device()) {
        return layer_norm_generic(x, weight, bias, eps);
    }
    let op = LayerNormRows { eps: eps as f32 };
    Ok(x.contiguous()?.apply_op3(weight, bias, op)?)
}

/// [`layer_norm`] with Candle's generic ops, the statistics taken in f32 as PyTorch's CPU kernel
/// does, on any device.
pub(crate) fn layer_norm_generic(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let last = x.rank() - 1;
    let centred = x.broadcast_sub(&x.mean_keepdim(last)?)?;
    let variance = centred.sqr()?.mean_keepdim(last)?;
    let normalised = centred.broadcast_div(&(variance + eps)?.sqrt()?)?;
    Ok(normalised.broadcast_mul(weight)?.broadcast_add(bias)?)
}

/// The mean and `1 / sqrt(var + eps)` of one row.
fn row_moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

struct LayerNormRows {
    eps: f32,
}

impl CustomOp3 for LayerNormRows {
    fn name(&self) -> &'static str {
        "layer-norm"
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
        let x = f32_slice(x, x_layout, self.name())?;
        let weight = f32_slice(weight, weight_layout, self.name())?;
        let bias = f32_slice(bias, bias_layout, self.name())?;
        let (_, c) = matrix_dims(x_layout);
        if weight.len() != c || bias.len() != c {
            candle_core::bail!("{}: {c} features but {} weights", self.name(), weight.len());
        }
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(c.max(1)) {
            let (mean, inverse) = row_moments(row, self.eps);
            y.extend(
                row.iter()
                    .zip(weight)
                    .zip(bias)
                    .map(|((v, w), b)| (v - mean) * inverse * w + b),
            );
        }
        Ok((CpuStorage::F32(y), x_layout.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = weight.elem_count();
        let rows = x.elem_count() / c.max(1);
        let packed = x.apply_op3_no_bwd(
            weight,
            &grad.contiguous()?,
            &LayerNormGrad { eps: self.eps },
        )?;
        let dx = packed.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dweight = packed.get(rows)?;
        let dbias = packed.get(rows + 1)?;
        Ok((Some(dx), Some(dweight), Some(dbias)))
    }
}

/// The gradients of [`LayerNormRows`] from `(x, weight, dy)`, packed as `[R + 2, C]`: the rows
/// of `dx`, then `dweight`, then `dbias`.
struct LayerNormGrad {
    eps: f32,
}

impl CustomOp3 for LayerNormGrad {
    fn name(&self) -> &'static str {
        "layer-norm-grad"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        grad: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(x, x_layout, self.name())?;
        let weight = f32_slice(weight, weight_layout, self.name())?;
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let (rows, c) = matrix_dims(x_layout);
        if grad.len() != x.len() || weight.len() != c {
            candle_core::bail!("{}: shapes do not fit", self.name());
        }
        let width = c.max(1);
        let n = width as f32;
        let mut out = Vec::with_capacity((rows + 2) * c);
        let mut dweight = vec![0.0f32; c];
        let mut dbias = vec![0.0f32; c];
        let mut normalised = vec![0.0f32; c];
        let mut scaled = vec![0.0f32; c];
        for (row, g) in x.chunks_exact(width).zip(grad.chunks_exact(width)) {
            let (mean, inverse) = row_moments(row, self.eps);
            for j in 0..c {
                normalised[j] = (row[j] - mean) * inverse;
                scaled[j] = g[j] * weight[j];
                dweight[j] += g[j] * normalised[j];
                dbias[j] += g[j];
            }
            // dx = inv · (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂)), ĝ = dy · weight.
            let mean_scaled = scaled.iter().sum::<f32>() / n;
            let mean_product = scaled
                .iter()
                .zip(&normalised)
                .map(|(s, v)| s * v)
                .sum::<f32>()
                / n;
            out.extend(
                scaled
                    .iter()
                    .zip(&normalised)
                    .map(|(s, v)| inverse * (s - mean_scaled - v * mean_product)),
            );
        }
        out.extend_from_slice(&dweight);
        out.extend_from_slice(&dbias);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, c))))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::{grid, values};
    use candle_core::{Tensor, Var};

    use super::*;

    /// The fused node gives the values and gradients of the same normalisation written with
    /// Candle's generic ops, over a 3-D input.
    #[test]
    fn matches_generic_ops_forward_and_backward() {
        let x = Var::from_tensor(&grid((2, 3, 5), |a, b, c| {
            ((a * 15 + b * 5 + c) as f64 * 0.61 + 0.3).sin() * 2.0
        }))
        .unwrap();
        let vector = |offset: f64| {
            Var::from_tensor(
                &grid((1, 1, 5), |_, _, c| (c as f64 * 0.7 + offset).cos())
                    .flatten_all()
                    .unwrap(),
            )
            .unwrap()
        };
        let (weight, bias) = (vector(1.7), vector(2.2));
        let probe = grid((2, 3, 5), |a, b, c| ((a + 2 * b + 3 * c) as f64).sin());
        let fused = layer_norm(x.as_tensor(), weight.as_tensor(), bias.as_tensor(), 1e-3).unwrap();
        let generic =
            layer_norm_generic(x.as_tensor(), weight.as_tensor(), bias.as_tensor(), 1e-3).unwrap();
        assert_eq!(fused.dims(), &[2, 3, 5]);
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p - q).abs() < 1e-5 * (1.0 + q.abs()),
                    "{what}: {a:?} vs {b:?}"
                );
            }
        };
        close(&values(&fused), &values(&generic), "output");
        let loss = |y: &Tensor| (y * &probe).unwrap().sum_all().unwrap();
        let fused_grads = loss(&fused).backward().unwrap();
        let generic_grads = loss(&generic).backward().unwrap();
        for (name, input) in [("x", &x), ("weight", &weight), ("bias", &bias)] {
            close(
                &values(fused_grads.get(input.as_tensor()).unwrap()),
                &values(generic_grads.get(input.as_tensor()).unwrap()),
                name,
            );
        }
    }
}
