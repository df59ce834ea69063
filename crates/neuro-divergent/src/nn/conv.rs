//! Dilated one-dimensional convolutions along time, looking back (causal) or ahead, on
//! `[B, T, C]` sequences.
//!
//! A convolution with kernel size `K` and dilation `d` is computed as one dense product: the `K`
//! time-shifted copies of the input are laid side by side (`[B, T, K C_in]`) and multiplied by the
//! kernel flattened tap by tap, through the same fused product, bias and ReLU op as the dense
//! layers, so the convolution's forward and backward passes run on the library's GEMM kernels.

use candle_core::Tensor;

use super::dense::{linear, torch_default_parameters, torch_default_weight};
use super::{Activation, ParamStore};
use crate::error::Result;

/// Which side of each step a convolution reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Step `t` reads steps `t - (K-1)d, ..., t` (zero padding on the left, as a causal
    /// convolution).
    Past,
    /// Step `t` reads steps `t, ..., t + (K-1)d` (zero padding on the right).
    Future,
}

/// A dilated convolution over time that keeps the sequence length: `[B, T, C_in]` to
/// `[B, T, C_out]`, with PyTorch's `Conv1d` parameters (`{name}.weight` of
/// `[C_out, C_in, K]` and `{name}.bias`) and initialisation.
#[derive(Debug, Clone)]
pub struct TemporalConv {
    weight: Tensor,
    bias: Tensor,
    dilation: usize,
    reach: Reach,
}

impl TemporalConv {
    /// Creates the convolution's parameters as `{name}.weight` and `{name}.bias`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
        kernel_size: usize,
        dilation: usize,
        reach: Reach,
    ) -> Result<TemporalConv> {
        let (weight, bias) =
            torch_default_parameters(store, name, &[outputs, inputs, kernel_size])?;
        Ok(TemporalConv {
            weight,
            bias,
            dilation,
            reach,
        })
    }

    /// Convolves `x` (`[B, T, C_in]`), then applies `activation` if any.
    pub fn forward(&self, x: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
        let (outputs, inputs, kernel_size) = self.weight.dims3()?;
        // Tap k reads step t + k d - padding_left.
        let padding_left = match self.reach {
            Reach::Past => (kernel_size - 1) * self.dilation,
            Reach::Future => 0,
        };
        let taps = (0..kernel_size)
            .map(|k| shifted(x, (k * self.dilation) as isize - padding_left as isize))
            .collect::<Result<Vec<_>>>()?;
        let columns = match taps.as_slice() {
            [only] => only.clone(),
            _ => Tensor::cat(&taps, 2)?,
        };
        // [C_out, C_in, K] -> [C_out, K, C_in] -> [C_out, K C_in], matching the columns' order.
        let kernel = if kernel_size == 1 {
            self.weight.reshape((outputs, inputs))?
        } else {
            self.weight
                .transpose(1, 2)?
                .contiguous()?
                .reshape((outputs, kernel_size * inputs))?
        };
        linear(&columns, &kernel, &self.bias, activation)
    }
}

/// A three-tap convolution over time that wraps around the sequence (PyTorch's `Conv1d` with
/// `kernel_size=3, padding=1, padding_mode="circular"`, no bias): step `t` reads steps `t - 1`,
/// `t` and `t + 1`, the step before the first being the last and after the last the first.
/// `[B, T, C_in]` to `[B, T, C_out]`, as one dense product over the three steps side by side.
#[derive(Debug, Clone)]
pub struct CircularConv {
    /// `[C_out, 3 C_in]`: the weight's view with each input's three taps side by side (the
    /// parameter's own storage, so that training and loading reach it).
    kernel: Tensor,
    /// A constant zero (the convolution has no bias).
    zero_bias: Tensor,
}

impl CircularConv {
    /// Creates `{name}.weight` (`[C_out, C_in, 3]`) as PyTorch's `Conv1d` initialises it.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<CircularConv> {
        CircularConv::from_weight(&torch_default_weight(store, name, &[outputs, inputs, 3])?)
    }

    /// The convolution with kernel `weight` (`[C_out, C_in, 3]`, contiguous).
    pub fn from_weight(weight: &Tensor) -> Result<CircularConv> {
        let (outputs, inputs, taps) = weight.dims3()?;
        let kernel = weight.reshape((outputs, inputs * taps))?;
        Ok(CircularConv {
            zero_bias: Tensor::zeros(outputs, kernel.dtype(), kernel.device())?,
            kernel,
        })
    }

    /// Convolves `x` (`[B, T, C_in]`).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, steps, inputs) = x.dims3()?;
        let previous = Tensor::cat(&[x.narrow(1, steps - 1, 1)?, x.narrow(1, 0, steps - 1)?], 1)?;
        let next = Tensor::cat(&[x.narrow(1, 1, steps - 1)?, x.narrow(1, 0, 1)?], 1)?;
        // [B, T, C_in, 3]: each input's previous, current and next value, as the kernel's view.
        let columns =
            Tensor::stack(&[&previous, x, &next], 3)?.reshape((batch, steps, inputs * 3))?;
        linear(&columns, &self.kernel, &self.zero_bias, None)
    }
}

/// `x` (`[B, T, C]`) moved along time so that step `t` holds step `t + offset`, with zeros where
/// that step lies outside the sequence.
fn shifted(x: &Tensor, offset: isize) -> Result<Tensor> {
    let steps = x.dim(1)?;
    let shift = offset.unsigned_abs();
    Ok(if offset == 0 {
        x.clone()
    } else if shift >= steps {
        x.zeros_like()?
    } else if offset < 0 {
        x.narrow(1, 0, steps - shift)?.pad_with_zeros(1, shift, 0)?
    } else {
        x.narrow(1, shift, steps - shift)?
            .pad_with_zeros(1, 0, shift)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// A convolution with the given kernel `[C_out, C_in, K]` and bias.
    fn conv(weight: Tensor, bias: Tensor, dilation: usize, reach: Reach) -> TemporalConv {
        TemporalConv {
            weight,
            bias,
            dilation,
            reach,
        }
    }

    /// The convolution written out step by step: out[b, t, o] = bias[o] + sum over taps k and
    /// inputs i of w[o, i, k] x[b, t + k d - pad, i].
    fn direct(
        x: &[Vec<Vec<f32>>],
        w: &[f32],
        shape: (usize, usize, usize),
        bias: &[f32],
        d: usize,
        pad: usize,
    ) -> Vec<f32> {
        let (outputs, inputs, kernel) = shape;
        let mut out = Vec::new();
        for series in x {
            let steps = series.len();
            for t in 0..steps {
                for o in 0..outputs {
                    let mut sum = bias[o];
                    for k in 0..kernel {
                        let at = (t + k * d) as isize - pad as isize;
                        if at < 0 || at >= steps as isize {
                            continue;
                        }
                        for i in 0..inputs {
                            sum += w[(o * inputs + i) * kernel + k] * series[at as usize][i];
                        }
                    }
                    out.push(sum);
                }
            }
        }
        out
    }

    #[test]
    fn a_circular_convolution_wraps_and_reads_its_parameter_as_trained() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let conv = CircularConv::new(&mut store, "conv", 2, 1).unwrap();
        let varmap = store.into_varmap();
        // Kernel [C_out=1, C_in=2, 3]: taps (1, 10, 100) on input 0 and (-1, 0, 2) on input 1,
        // set after the layer was made, as training and loading do.
        let weight = Tensor::new(&[[[1f32, 10.0, 100.0], [-1.0, 0.0, 2.0]]], &Device::Cpu).unwrap();
        varmap.data().lock().unwrap()["conv.weight"]
            .set(&weight)
            .unwrap();
        // Two inputs over three steps: (1, 2, 3) and (5, 6, 7).
        let x = Tensor::new(&[[[1f32, 5.0], [2.0, 6.0], [3.0, 7.0]]], &Device::Cpu).unwrap();
        let out: Vec<f32> = conv
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        // Step t: prev, current and next of each input (wrapping around).
        let expected = [
            (3.0 + 10.0 + 200.0) + (-7.0 + 0.0 + 12.0),
            (1.0 + 20.0 + 300.0) + (-5.0 + 0.0 + 14.0),
            (2.0 + 30.0 + 100.0) + (-6.0 + 0.0 + 10.0),
        ];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{out:?}");
        }
    }

    #[test]
    fn convolutions_read_the_steps_their_dilation_and_reach_select() {
        let dev = Device::Cpu;
        let (outputs, inputs, kernel) = (2, 3, 3);
        let x: Vec<Vec<Vec<f32>>> = (0..2)
            .map(|b| {
                (0..7)
                    .map(|t| {
                        (0..inputs)
                            .map(|i| ((b * 31 + t * 7 + i * 3) % 11) as f32 - 5.0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let w: Vec<f32> = (0..outputs * inputs * kernel)
            .map(|v| (v as f32 * 0.37).sin())
            .collect();
        let bias = vec![0.5f32, -0.25];
        let flat: Vec<f32> = x.iter().flatten().flatten().copied().collect();
        let input = Tensor::from_vec(flat, (2, 7, inputs), &dev).unwrap();
        for (dilation, reach) in [
            (1, Reach::Past),
            (2, Reach::Past),
            (3, Reach::Future),
            (4, Reach::Past),
        ] {
            let layer = conv(
                Tensor::from_vec(w.clone(), (outputs, inputs, kernel), &dev).unwrap(),
                Tensor::from_vec(bias.clone(), outputs, &dev).unwrap(),
                dilation,
                reach,
            );
            let ours = layer
                .forward(&input, None)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let pad = if reach == Reach::Past {
                (kernel - 1) * dilation
            } else {
                0
            };
            let expected = direct(&x, &w, (outputs, inputs, kernel), &bias, dilation, pad);
            for (a, b) in ours.iter().zip(&expected) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "dilation {dilation}, {reach:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_kernel_gradient_matches_finite_differences() {
        let dev = Device::Cpu;
        let x = Tensor::from_vec(
            (0..2 * 6 * 2)
                .map(|v| ((v * 7 % 13) as f64 - 6.0) / 4.0)
                .collect::<Vec<_>>(),
            (2, 6, 2),
            &dev,
        )
        .unwrap();
        let w0: Vec<f64> = (0..3 * 2 * 2)
            .map(|v| ((v as f64) * 0.61).cos() * 0.5)
            .collect();
        let loss = |w: &Tensor| -> Tensor {
            let layer = conv(
                w.to_dtype(candle_core::DType::F32).unwrap(),
                Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap(),
                2,
                Reach::Past,
            );
            layer
                .forward(
                    &x.to_dtype(candle_core::DType::F32).unwrap(),
                    Some(Activation::Tanh),
                )
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let var = Var::from_vec(
            w0.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            (3, 2, 2),
            &dev,
        )
        .unwrap();
        let grads = loss(var.as_tensor()).backward().unwrap();
        let analytic = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let eps = 1e-3;
        for (j, &g) in analytic.iter().enumerate() {
            let bumped = |delta: f64| {
                let mut w = w0.clone();
                w[j] += delta;
                let t = Tensor::from_vec(w, (3, 2, 2), &dev).unwrap();
                loss(&t).to_scalar::<f32>().unwrap() as f64
            };
            let numeric = (bumped(eps) - bumped(-eps)) / (2.0 * eps);
            assert!(
                (g as f64 - numeric).abs() < 2e-2 * numeric.abs().max(1.0),
                "weight {j}: {g} vs {numeric}"
            );
        }
    }
}
