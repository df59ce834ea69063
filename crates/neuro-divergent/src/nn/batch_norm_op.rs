//! Training-mode batch normalisation of `[R, C]` rows as one graph node with its own backward
//! pass. Written with Candle's generic ops it is eight nodes over `[R, C]` (two means, the
//! centring, square, root, division, weight and bias), each with its own gradient tensors in
//! the backward pass; here the forward pass is two sweeps over the rows and the backward three.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::kernels;
use super::product::{f32_slice, matrix_dims};
use crate::error::Result;

/// Per-column mean and biased variance of a batch (`[C]` each, no gradient).
pub(crate) type ColumnStats = (Tensor, Tensor);

/// [`ColumnStats`] as the fused node computes them, in host memory.
type HostStats = (Vec<f32>, Vec<f32>);

/// `(x − mean) / sqrt(var + eps) · weight + bias` per column of `x: [R, C]`, with the batch's
/// mean and biased variance, which are also returned: the fused node on the CPU,
/// [`batch_norm_train_generic`] on other devices.
pub(crate) fn batch_norm_train(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<(Tensor, ColumnStats)> {
    if !kernels::fused(x.device()) {
        return batch_norm_train_generic(x, weight, bias, eps);
    }
    let stats = Arc::new(Mutex::new(None));
    let op = BatchNormTrain {
        eps: eps as f32,
        stats: Arc::clone(&stats),
    };
    let y = x.contiguous()?.apply_op3(weight, bias, op)?;
    let (mean, var) = stats
        .lock()
        .expect("batch statistics lock poisoned")
        .take()
        .ok_or_else(|| crate::error::Error::Train("batch norm ran without statistics".into()))?;
    let columns = mean.len();
    let device = x.device();
    Ok((
        y,
        (
            Tensor::from_vec(mean, columns, device)?,
            Tensor::from_vec(var, columns, device)?,
        ),
    ))
}

/// [`batch_norm_train`] with Candle's generic ops, on any device.
pub(crate) fn batch_norm_train_generic(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<(Tensor, ColumnStats)> {
    let mean = x.mean_keepdim(0)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(0)?;
    let y = centred
        .broadcast_div(&(&var + eps)?.sqrt()?)?
        .broadcast_mul(weight)?
        .broadcast_add(bias)?;
    Ok((y, (mean.squeeze(0)?.detach(), var.squeeze(0)?.detach())))
}

/// Column means and biased variances of `rows` rows of width `c`, accumulated in f64.
fn column_stats(x: &[f32], c: usize) -> HostStats {
    let rows = (x.len() / c.max(1)).max(1) as f64;
    let mut sums = vec![0.0f64; c];
    for row in x.chunks_exact(c.max(1)) {
        sums.iter_mut()
            .zip(row)
            .for_each(|(s, &v)| *s += f64::from(v));
    }
    let mean: Vec<f64> = sums.iter().map(|s| s / rows).collect();
    let mut squares = vec![0.0f64; c];
    for row in x.chunks_exact(c.max(1)) {
        squares
            .iter_mut()
            .zip(row)
            .zip(&mean)
            .for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2));
    }
    (
        mean.iter().map(|&m| m as f32).collect(),
        squares.iter().map(|s| (s / rows) as f32).collect(),
    )
}

fn inverse_std(var: &[f32], eps: f32) -> Vec<f32> {
    var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect()
}

struct BatchNormTrain {
    eps: f32,
    stats: Arc<Mutex<Option<HostStats>>>,
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm"
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
        let (rows, c) = matrix_dims(x_layout);
        if weight.len() != c || bias.len() != c {
            candle_core::bail!("{}: {c} columns but {} weights", self.name(), weight.len());
        }
        let (mean, var) = column_stats(x, c);
        let inverse = inverse_std(&var, self.eps);
        // y = (x − mean) · a + bias with a = weight / std.
        let scale: Vec<f32> = inverse.iter().zip(weight).map(|(i, w)| i * w).collect();
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(c.max(1)) {
            y.extend(
                row.iter()
                    .zip(&mean)
                    .zip(&scale)
                    .zip(bias)
                    .map(|(((v, m), a), b)| (v - m) * a + b),
            );
        }
        *self.stats.lock().expect("batch statistics lock poisoned") = Some((mean, var));
        Ok((CpuStorage::F32(y), Shape::from((rows, c))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let rows = x.dim(0)?;
        let packed = x.apply_op3_no_bwd(
            weight,
            &grad.contiguous()?,
            &BatchNormGrad { eps: self.eps },
        )?;
        let dx = packed.narrow(0, 0, rows)?;
        let dweight = packed.get(rows)?;
        let dbias = packed.get(rows + 1)?;
        Ok((Some(dx), Some(dweight), Some(dbias)))
    }
}

/// The gradients of [`BatchNormTrain`] from `(x, weight, dy)`, packed as `[R + 2, C]`: the rows
/// of `dx`, then `dweight`, then `dbias`.
struct BatchNormGrad {
    eps: f32,
}

impl CustomOp3 for BatchNormGrad {
    fn name(&self) -> &'static str {
        "batch-norm-grad"
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
        let (mean, var) = column_stats(x, c);
        let inverse = inverse_std(&var, self.eps);
        let width = c.max(1);
        // dbias = Σ g; dweight = Σ g · x̂.
        let mut dbias = vec![0.0f64; c];
        let mut dweight = vec![0.0f64; c];
        for (row, g) in x.chunks_exact(width).zip(grad.chunks_exact(width)) {
            for j in 0..c {
                let normalised = (row[j] - mean[j]) * inverse[j];
                dbias[j] += f64::from(g[j]);
                dweight[j] += f64::from(g[j] * normalised);
            }
        }
        // dx = weight · inv / R · (R g − dbias − x̂ dweight).
        let n = rows.max(1) as f32;
        let dbias: Vec<f32> = dbias.iter().map(|&v| v as f32).collect();
        let dweight: Vec<f32> = dweight.iter().map(|&v| v as f32).collect();
        let factor: Vec<f32> = weight
            .iter()
            .zip(&inverse)
            .map(|(w, i)| w * i / n)
            .collect();
        let mut out = Vec::with_capacity((rows + 2) * c);
        for (row, g) in x.chunks_exact(width).zip(grad.chunks_exact(width)) {
            out.extend((0..c).map(|j| {
                let normalised = (row[j] - mean[j]) * inverse[j];
                factor[j] * (n * g[j] - dbias[j] - normalised * dweight[j])
            }));
        }
        out.extend_from_slice(&dweight);
        out.extend_from_slice(&dbias);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, c))))
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Tensor, Var};

    use super::*;

    /// The fused node gives the values and gradients of the same normalisation written with
    /// Candle's generic ops.
    #[test]
    fn matches_generic_ops_forward_and_backward() {
        let (rows, c) = (7, 3);
        let var = |n: usize, offset: f32| {
            let data: Vec<f32> = (0..n)
                .map(|i| (i as f32 * 0.61 + offset).sin() * 2.0)
                .collect();
            Var::from_vec(data, n, &Device::Cpu).unwrap()
        };
        let x = Var::from_tensor(&var(rows * c, 0.3).reshape((rows, c)).unwrap()).unwrap();
        let (weight, bias) = (var(c, 1.7), var(c, 2.2));
        let probe = var(rows * c, 5.0).reshape((rows, c)).unwrap();
        let (fused, (mean, variance)) =
            batch_norm_train(x.as_tensor(), weight.as_tensor(), bias.as_tensor(), 1e-5).unwrap();
        let (generic, (m, v)) =
            batch_norm_train_generic(x.as_tensor(), weight.as_tensor(), bias.as_tensor(), 1e-5)
                .unwrap();
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p - q).abs() < 1e-5 * (1.0 + q.abs()),
                    "{what}: {a:?} vs {b:?}"
                );
            }
        };
        close(&values(&fused), &values(&generic), "output");
        close(&values(&mean), &values(&m), "mean");
        close(&values(&variance), &values(&v), "variance");
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
