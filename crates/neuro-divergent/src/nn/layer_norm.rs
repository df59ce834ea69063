//! Layer normalisation (Ba et al., 2016) over the last axis, as `torch.nn.LayerNorm` computes it.

use candle_core::{DType, Tensor};

use super::layer_norm_op::layer_norm;
use super::ParamStore;
use crate::error::Result;

/// Added to the variance before its square root (PyTorch's default).
const EPS: f64 = 1e-5;

/// Normalises each vector along the last axis to zero mean and unit (biased) variance, then
/// applies a trained per-feature scale (from 1) and shift (from 0).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Normalisation of `width` features with parameters `{name}.weight` and `{name}.bias`
    /// (no random draw, as PyTorch initialises them).
    pub fn new(store: &mut ParamStore, name: &str, width: usize) -> Result<LayerNorm> {
        LayerNorm::with_eps(store, name, width, EPS)
    }

    /// [`LayerNorm::new`] adding `eps` to the variance in place of PyTorch's default 1e-5
    /// (TFT's layer norms use 1e-3).
    pub fn with_eps(
        store: &mut ParamStore,
        name: &str,
        width: usize,
        eps: f64,
    ) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: store.filled(&format!("{name}.weight"), &[width], 1.0)?,
            bias: store.filled(&format!("{name}.bias"), &[width], 0.0)?,
            eps,
        })
    }

    /// Normalises `x` (`[..., width]`) along its last axis, the statistics taken in f32 as
    /// PyTorch's CPU kernel does (one fused node on the CPU, `layer_norm_op.rs`).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        debug_assert_eq!(x.dtype(), DType::F32);
        layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// The decomposition transformers' norm for seasonal tokens (Autoformer's `my_Layernorm`): each
/// token layer-normalised over its features, then the sequence's mean token subtracted, so that
/// the result carries no level.
#[derive(Debug, Clone)]
pub struct SeasonalLayerNorm {
    norm: LayerNorm,
}

impl SeasonalLayerNorm {
    /// Normalisation of `width` features, parameters `{name}.layernorm.weight` and `.bias`.
    pub fn new(store: &mut ParamStore, name: &str, width: usize) -> Result<SeasonalLayerNorm> {
        Ok(SeasonalLayerNorm {
            norm: LayerNorm::new(store, &format!("{name}.layernorm"), width)?,
        })
    }

    /// Normalises tokens `x` (`[B, L, width]`) and centres them along the steps.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let normalised = self.norm.forward(x)?;
        Ok(normalised.broadcast_sub(&normalised.mean_keepdim(1)?)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Var};

    use super::*;
    use crate::nn::test_support::{assert_close, grid, weighted_sum_gradients};

    #[test]
    fn values_and_gradients_match_pytorch() {
        // torch.nn.LayerNorm(5) with weight [1, 0.5, -2, 1.5, 0.25] and bias [0.1, -0.2, 0.3,
        // 0, 1] on x[a, b, c] = sin(1 + a + 0.7 b + 1.3 c) (1 + c), loss sum(out * w) with
        // w[a, b, c] = cos(a + 2 b + 0.5 c) (PyTorch 2.15).
        let x = Var::from_tensor(&grid((2, 3, 5), |a, b, c| {
            (1.0 + a as f64 + 0.7 * b as f64 + 1.3 * c as f64).sin() * (1.0 + c as f64)
        }))
        .unwrap();
        let w = grid((2, 3, 5), |a, b, c| {
            (a as f64 + 2.0 * b as f64 + 0.5 * c as f64).cos()
        });
        let device = Device::Cpu;
        let weight = Var::new(&[1f32, 0.5, -2.0, 1.5, 0.25], &device).unwrap();
        let bias = Var::new(&[0.1f32, -0.2, 0.3, 0.0, 1.0], &device).unwrap();
        let norm = LayerNorm {
            weight: weight.as_tensor().clone(),
            bias: bias.as_tensor().clone(),
            eps: EPS,
        };
        let out = norm.forward(x.as_tensor()).unwrap();
        let grads = weighted_sum_gradients(&out, &w);
        let grad = |v: &Var| values(grads.get(v.as_tensor()).unwrap());
        assert_close(&values(&out), &LAYER_NORM_OUT, "output");
        assert_close(&grad(&x), &LAYER_NORM_DX, "input gradient");
        assert_close(&grad(&weight), &LAYER_NORM_DWEIGHT, "weight gradient");
        assert_close(&grad(&bias), &LAYER_NORM_DBIAS, "bias gradient");
    }

    #[test]
    fn a_fresh_layer_standardises_each_vector() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let norm = LayerNorm::new(&mut store, "norm", 4).unwrap();
        let x = Tensor::new(&[[1f32, 3.0, 5.0, 7.0], [2.0, 2.0, 2.0, 2.0]], &Device::Cpu).unwrap();
        let out = values(&norm.forward(&x).unwrap());
        // Mean 4, biased variance 5; a constant vector maps to zeros.
        let sd = (5.0f32 + 1e-5).sqrt();
        for (i, v) in [1f32, 3.0, 5.0, 7.0].iter().enumerate() {
            assert!((out[i] - (v - 4.0) / sd).abs() < 1e-6, "{out:?}");
            assert_eq!(out[4 + i], 0.0);
        }
    }

    #[test]
    fn the_seasonal_norm_leaves_no_level_along_the_steps() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let norm = SeasonalLayerNorm::new(&mut store, "norm", 3).unwrap();
        let x = grid((2, 4, 3), |a, b, c| {
            ((a * 12 + b * 3 + c) as f64 * 0.9).sin() * 5.0
        });
        let out = norm.forward(&x).unwrap();
        // Each feature's mean over the steps is zero, and the differences between steps are
        // the layer norm's.
        for mean in values(&out.mean(1).unwrap()) {
            assert!(mean.abs() < 1e-6, "{mean}");
        }
        let plain = LayerNorm::new(&mut store, "plain", 3)
            .unwrap()
            .forward(&x)
            .unwrap();
        let from_first =
            |t: &Tensor| values(&t.broadcast_sub(&t.narrow(1, 0, 1).unwrap()).unwrap());
        for (a, b) in from_first(&out).iter().zip(from_first(&plain)) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    const LAYER_NORM_OUT: [f32; 30] = [
        0.893797, 0.367794, 0.993716, -2.572999, 1.033202, 0.664255, -0.082854, 2.650686,
        -1.607134, 1.362054, 0.235328, -0.471377, 2.805737, -0.153535, 1.440663, 0.478398,
        -0.270533, 2.843212, -0.96231, 1.418953, 0.059924, -0.593332, 2.629692, 0.412298, 1.42918,
        -0.355443, -0.805461, 1.715638, 1.692855, 1.311403,
    ];
    const LAYER_NORM_DX: [f32; 30] = [
        0.365173, 0.017161, -0.552494, 0.283309, -0.113149, -0.083071, -0.118414, 0.806878,
        -0.753963, 0.148569, -0.26413, 0.002793, -0.122566, 0.42519, -0.041288, 0.24879, 0.012484,
        0.302272, -0.533535, -0.030012, -0.353644, -0.214976, 0.436547, -0.068306, 0.20038,
        0.196804, 0.403383, -0.69899, 0.339446, -0.240642,
    ];
    const LAYER_NORM_DWEIGHT: [f32; 5] = [0.585459, 0.791836, 1.231723, 2.367639, 0.457557];
    const LAYER_NORM_DBIAS: [f32; 5] = [-0.235819, -0.291407, -0.275648, -0.192401, -0.062048];
}
