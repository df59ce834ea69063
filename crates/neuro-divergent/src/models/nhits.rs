//! N-HiTS (Challu et al., AAAI 2023): doubly residual MLP blocks that read a max- or
//! average-pooled view of the input and emit a few knots per output, interpolated to the horizon,
//! so that each stack specialises in a band of frequencies. Defaults follow NeuralForecast's
//! `NHITS`.
//!
//! As in NeuralForecast, blocks read the residual newest point first (see `nn::residual`) and
//! pool it with windows from its start, the last window taking the leftover points.
//!
//! Exogenous inputs enter every block as in NeuralForecast: historic columns pooled over the
//! insample part, future columns pooled over the insample part and the horizon (both in time
//! order, pooled the same way), static values as they are.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{require_dropout_rate, ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    block_mlp, doubly_residual, Activation, BlockMlpSpec, FeedForward, ParamStore, ResidualBlock,
};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// How a block pools its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolingMode {
    /// Maximum over each pooling window.
    MaxPool1d,
    /// Mean over each pooling window.
    AvgPool1d,
}

/// How knots are spread over the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterpolationMode {
    /// Piecewise linear between knot centres (`align_corners=False`).
    Linear,
    /// Each step takes its nearest knot.
    Nearest,
}

/// NHITS hyperparameters (NeuralForecast defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NhitsConfig {
    /// One entry per stack; only `identity` stacks exist in N-HiTS.
    pub stack_types: Vec<String>,
    /// Blocks in each stack.
    pub n_blocks: Vec<usize>,
    /// Hidden layer widths of each stack's blocks, `[in, out]` per layer.
    pub mlp_units: Vec<[usize; 2]>,
    /// Pooling kernel of each stack.
    pub n_pool_kernel_size: Vec<usize>,
    /// Output downsampling of each stack: `max(h / n, 1)` knots per output.
    pub n_freq_downsample: Vec<usize>,
    /// Pooling operation.
    pub pooling_mode: PoolingMode,
    /// Knot interpolation.
    pub interpolation_mode: InterpolationMode,
    /// Dropout after each hidden activation.
    pub dropout_prob_theta: f64,
    /// Hidden activation.
    pub activation: Activation,
}

impl Default for NhitsConfig {
    fn default() -> Self {
        NhitsConfig {
            stack_types: vec!["identity".into(); 3],
            n_blocks: vec![1, 1, 1],
            mlp_units: vec![[512, 512]; 3],
            n_pool_kernel_size: vec![2, 2, 1],
            n_freq_downsample: vec![4, 2, 1],
            pooling_mode: PoolingMode::MaxPool1d,
            interpolation_mode: InterpolationMode::Linear,
            dropout_prob_theta: 0.0,
            activation: Activation::ReLU,
        }
    }
}

impl ArchitectureConfig for NhitsConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            num_lr_decays: 3,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        let stacks = self.stack_types.len();
        if stacks == 0 {
            return Err(Error::Config("NHITS: stack_types is empty".into()));
        }
        if let Some(bad) = self.stack_types.iter().find(|t| *t != "identity") {
            return Err(Error::Config(format!(
                "NHITS: stack type '{bad}' does not exist; N-HiTS stacks are 'identity'"
            )));
        }
        for (name, len) in [
            ("n_blocks", self.n_blocks.len()),
            ("n_pool_kernel_size", self.n_pool_kernel_size.len()),
            ("n_freq_downsample", self.n_freq_downsample.len()),
        ] {
            if len != stacks {
                return Err(Error::Config(format!(
                    "NHITS: {name} has {len} entries but there are {stacks} stacks"
                )));
            }
        }
        if self.mlp_units.is_empty() || self.mlp_units.iter().flatten().any(|&u| u == 0) {
            return Err(Error::Config(
                "NHITS: mlp_units needs at least one layer of positive widths".into(),
            ));
        }
        if self.n_pool_kernel_size.contains(&0) || self.n_freq_downsample.contains(&0) {
            return Err(Error::Config(
                "NHITS: pooling kernels and downsampling factors must be at least 1".into(),
            ));
        }
        require_dropout_rate("NHITS: ", "dropout_prob_theta", self.dropout_prob_theta)
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let mut blocks = Vec::new();
        for (stack, &n_blocks) in self.n_blocks.iter().enumerate() {
            let kernel = self.n_pool_kernel_size[stack];
            let n_knots = (shape.horizon / self.n_freq_downsample[stack]).max(1);
            for _ in 0..n_blocks {
                let index = blocks.len();
                let spec = BlockMlpSpec {
                    inputs: shape.flat_input_width(|t| t.div_ceil(kernel)),
                    mlp_units: &self.mlp_units,
                    n_theta: shape.input_size + n_knots * n_outputs,
                    activation: self.activation,
                    dropout: self.dropout_prob_theta,
                };
                let mlp = block_mlp(store, &format!("blocks.{index}"), spec, seed + index as u64)?;
                blocks.push(NhitsBlock {
                    mlp,
                    kernel,
                    pooling: self.pooling_mode,
                    interpolation: interpolation_matrix(
                        n_knots,
                        shape.horizon,
                        self.interpolation_mode,
                        store.device(),
                    )?,
                    shape,
                    n_knots,
                    n_outputs,
                });
            }
        }
        Ok(Box::new(Nhits {
            blocks,
            shape,
            n_outputs,
            deterministic: self.dropout_prob_theta == 0.0,
        }))
    }
}

struct NhitsBlock {
    mlp: FeedForward,
    kernel: usize,
    pooling: PoolingMode,
    /// `[n_knots, H]`: forecast = knots x matrix.
    interpolation: Tensor,
    shape: WindowShape,
    n_knots: usize,
    n_outputs: usize,
}

impl NhitsBlock {
    /// Pools `[B, L]` into `[B, ceil(L / k)]` with windows from the start of the input, the last
    /// window taking the `L mod k` leftover points (PyTorch's pooling with `ceil_mode`).
    fn pool(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.kernel;
        if k == 1 {
            return Ok(x.clone());
        }
        let (batch, l) = x.dims2()?;
        let reduce = |t: &Tensor| -> Result<Tensor> {
            Ok(match self.pooling {
                PoolingMode::MaxPool1d => t.max_keepdim(2)?,
                PoolingMode::AvgPool1d => t.mean_keepdim(2)?,
            })
        };
        let rest = l % k;
        let tail = || -> Result<Tensor> {
            Ok(reduce(&x.narrow(1, l - rest, rest)?.unsqueeze(1)?)?.squeeze(2)?)
        };
        if l < k {
            // One window, shorter than the kernel.
            return tail();
        }
        let full = x.narrow(1, 0, l - rest)?.reshape((batch, l / k, k))?;
        let pooled = reduce(&full)?.squeeze(2)?;
        if rest == 0 {
            return Ok(pooled);
        }
        Ok(Tensor::cat(&[&pooled, &tail()?], 1)?)
    }
}

impl ResidualBlock for NhitsBlock {
    fn backcast_forecast(
        &self,
        residual: &Tensor,
        input: &ModelInput,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let batch = residual.dim(0)?;
        let (l, h) = (self.shape.input_size, self.shape.horizon);
        let features = input.with_exog(&self.pool(residual)?, Some(&|x| self.pool(x)))?;
        let theta = self.mlp.forward(&features, train)?;
        let backcast = theta.narrow(1, 0, l)?;
        let knots = theta
            .narrow(1, l, self.n_knots * self.n_outputs)?
            .reshape((batch * self.n_outputs, self.n_knots))?;
        let forecast = knots
            .matmul(&self.interpolation)?
            .reshape((batch, self.n_outputs, h))?
            .transpose(1, 2)?;
        Ok((backcast, forecast))
    }
}

struct Nhits {
    blocks: Vec<NhitsBlock>,
    shape: WindowShape,
    n_outputs: usize,
    deterministic: bool,
}

impl Model for Nhits {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        doubly_residual(
            &self.blocks,
            input,
            (self.shape.horizon, self.n_outputs),
            train,
        )
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }
}

/// The `[n_knots, h]` matrix that interpolates knots to the horizon, as `torch.nn.functional.
/// interpolate` does (linear with `align_corners=False`, or nearest).
fn interpolation_matrix(
    n_knots: usize,
    h: usize,
    mode: InterpolationMode,
    device: &Device,
) -> Result<Tensor> {
    let mut m = vec![0.0f32; n_knots * h];
    let ratio = n_knots as f64 / h as f64;
    for i in 0..h {
        match mode {
            InterpolationMode::Nearest => {
                let src = ((i as f64 * ratio).floor() as usize).min(n_knots - 1);
                m[src * h + i] = 1.0;
            }
            InterpolationMode::Linear => {
                let src = ((i as f64 + 0.5) * ratio - 0.5).max(0.0);
                let i0 = (src.floor() as usize).min(n_knots - 1);
                let i1 = (i0 + 1).min(n_knots - 1);
                let w = (src - i0 as f64) as f32;
                m[i0 * h + i] += 1.0 - w;
                m[i1 * h + i] += w;
            }
        }
    }
    Ok(Tensor::from_vec(m, (n_knots, h), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_interpolation_matches_torch() {
        // torch: F.interpolate([[[0., 10.]]], size=4, mode='linear') -> [0, 2.5, 7.5, 10]
        let m = interpolation_matrix(2, 4, InterpolationMode::Linear, &Device::Cpu).unwrap();
        let knots = Tensor::new(&[[0.0f32, 10.0]], &Device::Cpu).unwrap();
        let out = knots.matmul(&m).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(out, vec![vec![0.0, 2.5, 7.5, 10.0]]);
        let m = interpolation_matrix(2, 4, InterpolationMode::Nearest, &Device::Cpu).unwrap();
        let out = knots.matmul(&m).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(out, vec![vec![0.0, 0.0, 10.0, 10.0]]);
    }

    #[test]
    fn pooling_leaves_the_partial_window_last() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let shape = WindowShape::new(5, 2);
        let config = NhitsConfig {
            n_pool_kernel_size: vec![2, 2, 2],
            mlp_units: vec![[4, 4]],
            ..NhitsConfig::default()
        };
        // Build a block directly to test its pooling.
        let block = NhitsBlock {
            mlp: block_mlp(
                &mut store,
                "b",
                BlockMlpSpec {
                    inputs: 3,
                    mlp_units: &config.mlp_units,
                    n_theta: 6,
                    activation: Activation::ReLU,
                    dropout: 0.0,
                },
                0,
            )
            .unwrap(),
            kernel: 2,
            pooling: PoolingMode::MaxPool1d,
            interpolation: interpolation_matrix(1, 2, InterpolationMode::Linear, &Device::Cpu)
                .unwrap(),
            shape,
            n_knots: 1,
            n_outputs: 1,
        };
        let x = Tensor::new(&[[5.0f32, 1.0, 2.0, 4.0, 3.0]], &Device::Cpu).unwrap();
        let pooled = block.pool(&x).unwrap().to_vec2::<f32>().unwrap();
        // torch: F.max_pool1d([[5., 1., 2., 4., 3.]], 2, ceil_mode=True) -> [5, 4, 3]
        assert_eq!(pooled, vec![vec![5.0, 4.0, 3.0]]);
        let model = config.build(shape, 1, &mut store, 0).unwrap();
        let input = ModelInput::target_only(x.clone(), x.ones_like().unwrap());
        let out = model.forward(&input, false).unwrap();
        assert_eq!(out.dims(), &[1, 2, 1]);
        // A kernel longer than the window pools it whole:
        // torch: F.max_pool1d([[5., 1., 2., 4., 3.]], 8, stride=8, ceil_mode=True) -> [5]
        let wide = NhitsBlock { kernel: 8, ..block };
        let pooled = wide.pool(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(pooled, vec![vec![5.0]]);
    }
}
