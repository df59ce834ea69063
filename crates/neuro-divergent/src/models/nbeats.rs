//! N-BEATS (Oreshkin et al., ICLR 2020): doubly residual stacks of MLP blocks whose outputs are
//! coefficients of a basis: identity (generic), polynomial trend or Fourier seasonality.
//! Defaults follow NeuralForecast's `NBEATS` (identity, trend and seasonality stacks).
//!
//! As in NeuralForecast, blocks read the residual newest point first (see `nn::residual`): column
//! `t` of a trend or seasonality backcast basis multiplies the `t`-th newest point.
//!
//! The stacks are shared with NBEATSx (`nbeatsx.rs`), whose blocks also read exogenous inputs
//! and may use the exogenous basis.

use std::f64::consts::PI;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{require_dropout_rate, ArchitectureConfig, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    block_mlp, doubly_residual, Activation, BlockMlpSpec, FeedForward, ParamStore, ResidualBlock,
};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// The basis of a stack's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StackType {
    /// Coefficients are the backcast and forecast themselves.
    Identity,
    /// Polynomials of degree `n_polynomials` in time.
    Trend,
    /// Cosines and sines of `n_harmonics`-spaced frequencies.
    Seasonality,
    /// The future and static exogenous columns themselves (NBEATSx only).
    Exogenous,
}

/// NBEATS hyperparameters (NeuralForecast defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NbeatsConfig {
    /// Basis of each stack.
    pub stack_types: Vec<StackType>,
    /// Blocks in each stack.
    pub n_blocks: Vec<usize>,
    /// Hidden layer widths of each block, `[in, out]` per layer.
    pub mlp_units: Vec<[usize; 2]>,
    /// Blocks of a stack share one set of weights.
    pub shared_weights: bool,
    /// Harmonics of the seasonality basis.
    pub n_harmonics: usize,
    /// Degree of the trend polynomials.
    pub n_polynomials: usize,
    /// Dropout after each hidden activation.
    pub dropout_prob_theta: f64,
    /// Hidden activation.
    pub activation: Activation,
}

impl Default for NbeatsConfig {
    fn default() -> Self {
        NbeatsConfig {
            stack_types: vec![
                StackType::Identity,
                StackType::Trend,
                StackType::Seasonality,
            ],
            n_blocks: vec![1, 1, 1],
            mlp_units: vec![[512, 512]; 3],
            shared_weights: false,
            n_harmonics: 2,
            n_polynomials: 2,
            dropout_prob_theta: 0.0,
            activation: Activation::ReLU,
        }
    }
}

impl ArchitectureConfig for NbeatsConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            num_lr_decays: 3,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        if self.stack_types.contains(&StackType::Exogenous) {
            return Err(Error::Config(
                "NBEATS: the exogenous stack type needs exogenous inputs: use NBEATSx".into(),
            ));
        }
        self.check("NBEATS", shape)
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        self.build_stacks(shape, n_outputs, store, seed)
    }
}

impl NbeatsConfig {
    /// Checks the stacks of model `model` (NBEATS or NBEATSx) against the window shape.
    pub(crate) fn check(&self, model: &str, shape: WindowShape) -> Result<()> {
        if self.stack_types.is_empty() || self.stack_types.len() != self.n_blocks.len() {
            return Err(Error::Config(format!(
                "{model}: n_blocks has {} entries for {} stack types (need one per stack, at least one stack)",
                self.n_blocks.len(),
                self.stack_types.len()
            )));
        }
        if self.mlp_units.is_empty() || self.mlp_units.iter().flatten().any(|&u| u == 0) {
            return Err(Error::Config(format!(
                "{model}: mlp_units needs at least one layer of positive widths"
            )));
        }
        if self.n_harmonics == 0 {
            return Err(Error::Config(format!(
                "{model}: n_harmonics must be at least 1"
            )));
        }
        require_dropout_rate(
            &format!("{model}: "),
            "dropout_prob_theta",
            self.dropout_prob_theta,
        )?;
        if self.stack_types.contains(&StackType::Exogenous)
            && shape.exog.futr + shape.exog.stat == 0
        {
            return Err(Error::Config(format!(
                "{model}: the exogenous stack needs future or static exogenous columns \
                 (futr_exog_list, stat_exog_list)"
            )));
        }
        Ok(())
    }

    /// Builds the doubly residual stacks.
    pub(crate) fn build_stacks(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let inputs = shape.flat_input_width(|t| t);
        let mut blocks: Vec<NbeatsBlock> = Vec::new();
        for (stack, (&kind, &n_blocks)) in self.stack_types.iter().zip(&self.n_blocks).enumerate() {
            let basis = Basis::new(kind, shape, self, store.device())?;
            let n_theta = basis.backcast_len(shape) + basis.forecast_len(shape) * n_outputs;
            for b in 0..n_blocks {
                let mlp = if self.shared_weights && b > 0 {
                    blocks[blocks.len() - 1].mlp.clone()
                } else {
                    let index = blocks.len();
                    let spec = BlockMlpSpec {
                        inputs,
                        mlp_units: &self.mlp_units,
                        n_theta,
                        activation: self.activation,
                        dropout: self.dropout_prob_theta,
                    };
                    let name = format!("stacks.{stack}.blocks.{b}");
                    std::sync::Arc::new(block_mlp(store, &name, spec, seed + index as u64)?)
                };
                blocks.push(NbeatsBlock {
                    mlp,
                    basis: basis.clone(),
                    shape,
                    n_outputs,
                });
            }
        }
        Ok(Box::new(Nbeats {
            blocks,
            shape,
            n_outputs,
            deterministic: self.dropout_prob_theta == 0.0,
        }))
    }
}

/// Fixed basis of a block; `Projected` holds `[P, L]` and `[P, H]` matrices; `Exogenous` reads
/// its `channels` basis rows from the batch (future columns, then static ones held constant over
/// time) in time order, as NeuralForecast's `ExogenousBasis` does; as there, its backcast is
/// removed from the newest-first residual as it is. Its coefficients are `C * n_outputs` for the
/// forecast, then `C` for the backcast (NeuralForecast's layout for one output; it has no
/// per-output forecast coefficients).
#[derive(Debug, Clone)]
enum Basis {
    Identity,
    Projected { backcast: Tensor, forecast: Tensor },
    Exogenous { channels: usize },
}

impl Basis {
    fn new(
        kind: StackType,
        shape: WindowShape,
        config: &NbeatsConfig,
        dev: &Device,
    ) -> Result<Basis> {
        let (l, h) = (shape.input_size, shape.horizon);
        // rows[p] evaluated at backcast times 0..L and forecast times 0..H.
        let (backcast_rows, forecast_rows): (Vec<Vec<f64>>, Vec<Vec<f64>>) = match kind {
            StackType::Identity => return Ok(Basis::Identity),
            StackType::Exogenous => {
                return Ok(Basis::Exogenous {
                    channels: shape.exog.futr + shape.exog.stat,
                })
            }
            StackType::Trend => (0..=config.n_polynomials as i32)
                .map(|p| {
                    let back = (0..l).map(|t| (t as f64 / l as f64).powi(p)).collect();
                    let fore = (0..h).map(|t| (t as f64 / h as f64).powi(p)).collect();
                    (back, fore)
                })
                .unzip(),
            StackType::Seasonality => {
                let harmonics = config.n_harmonics as f64;
                let count = (harmonics / 2.0 * h as f64 - harmonics).ceil().max(0.0) as usize;
                let freqs: Vec<f64> = std::iter::once(0.0)
                    .chain((0..count).map(|i| (harmonics + i as f64) / harmonics))
                    .collect();
                let wave = |f: f64, t: usize, sign: f64, trig: fn(f64) -> f64| {
                    trig(sign * 2.0 * PI * (t as f64 / h as f64) * f)
                };
                let mut rows = (Vec::new(), Vec::new());
                for trig in [f64::cos as fn(f64) -> f64, f64::sin] {
                    for &f in &freqs {
                        rows.0
                            .push((0..l).map(|t| wave(f, t, -1.0, trig)).collect());
                        rows.1.push((0..h).map(|t| wave(f, t, 1.0, trig)).collect());
                    }
                }
                rows
            }
        };
        let to_tensor = |rows: Vec<Vec<f64>>| -> Result<Tensor> {
            let (p, n) = (rows.len(), rows[0].len());
            let flat: Vec<f32> = rows.into_iter().flatten().map(|v| v as f32).collect();
            Ok(Tensor::from_vec(flat, (p, n), dev)?)
        };
        Ok(Basis::Projected {
            backcast: to_tensor(backcast_rows)?,
            forecast: to_tensor(forecast_rows)?,
        })
    }

    fn backcast_len(&self, shape: WindowShape) -> usize {
        match self {
            Basis::Identity => shape.input_size,
            Basis::Projected { backcast, .. } => backcast.dims()[0],
            Basis::Exogenous { channels } => *channels,
        }
    }

    fn forecast_len(&self, shape: WindowShape) -> usize {
        match self {
            Basis::Identity => shape.horizon,
            Basis::Projected { forecast, .. } => forecast.dims()[0],
            Basis::Exogenous { channels } => *channels,
        }
    }
}

struct NbeatsBlock {
    mlp: std::sync::Arc<FeedForward>,
    basis: Basis,
    shape: WindowShape,
    n_outputs: usize,
}

/// The exogenous basis `[B, L + H, channels]`: future columns, then static values repeated over
/// time.
fn exogenous_basis(input: &ModelInput, time: usize) -> Result<Tensor> {
    let mut parts = Vec::with_capacity(2);
    if let Some(futr) = &input.futr {
        parts.push(futr.clone());
    }
    if let Some(stat) = &input.stat {
        let (batch, columns) = stat.dims2()?;
        parts.push(
            stat.unsqueeze(1)?
                .broadcast_as((batch, time, columns))?
                .contiguous()?,
        );
    }
    Ok(Tensor::cat(&parts, 2)?)
}

impl ResidualBlock for NbeatsBlock {
    fn backcast_forecast(
        &self,
        residual: &Tensor,
        input: &ModelInput,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let batch = residual.dim(0)?;
        let theta = self.mlp.forward(&input.with_exog(residual, None)?, train)?;
        let nb = self.basis.backcast_len(self.shape);
        let nf = self.basis.forecast_len(self.shape);
        let h = self.shape.horizon;
        // NeuralForecast's exogenous basis reads its forecast coefficients first, the others
        // their backcast coefficients first.
        let (back_start, fore_start) = match self.basis {
            Basis::Exogenous { .. } => (nf * self.n_outputs, 0),
            _ => (0, nb),
        };
        let back_theta = theta.narrow(1, back_start, nb)?;
        let fore_theta = theta.narrow(1, fore_start, nf * self.n_outputs)?;
        Ok(match &self.basis {
            Basis::Identity => (back_theta, fore_theta.reshape((batch, h, self.n_outputs))?),
            Basis::Projected { backcast, forecast } => {
                let back = back_theta.matmul(backcast)?;
                // [B, P, Q] -> [B, Q, P] -> [B*Q, P] x [P, H] -> [B, Q, H] -> [B, H, Q]
                let fore = fore_theta
                    .reshape((batch, nf, self.n_outputs))?
                    .transpose(1, 2)?
                    .reshape((batch * self.n_outputs, nf))?
                    .matmul(forecast)?
                    .reshape((batch, self.n_outputs, h))?
                    .transpose(1, 2)?;
                (back, fore)
            }
            Basis::Exogenous { channels } => {
                let (l, c) = (self.shape.input_size, *channels);
                let basis = exogenous_basis(input, l + h)?;
                // [B, L, C] x [B, C, 1] -> [B, L]; [B, H, C] x [B, C, Q] -> [B, H, Q]
                let back = basis
                    .narrow(1, 0, l)?
                    .matmul(&back_theta.unsqueeze(2)?)?
                    .squeeze(2)?;
                let fore = basis.narrow(1, l, h)?.matmul(&fore_theta.reshape((
                    batch,
                    c,
                    self.n_outputs,
                ))?)?;
                (back, fore)
            }
        })
    }
}

struct Nbeats {
    blocks: Vec<NbeatsBlock>,
    shape: WindowShape,
    n_outputs: usize,
    deterministic: bool,
}

impl Model for Nbeats {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasonality_basis_has_neuralforecast_size() {
        // NF: n_theta = 2 * (1 + 1) * (ceil(2 / 2 * 12) - (2 - 1)) = 44 for h = 12, 2 harmonics.
        let shape = WindowShape::new(24, 12);
        let config = NbeatsConfig::default();
        let basis = Basis::new(StackType::Seasonality, shape, &config, &Device::Cpu).unwrap();
        assert_eq!(basis.backcast_len(shape) + basis.forecast_len(shape), 44);
        let trend = Basis::new(StackType::Trend, shape, &config, &Device::Cpu).unwrap();
        assert_eq!(trend.backcast_len(shape), 3);
    }

    #[test]
    fn builds_and_forecasts_all_stack_types() {
        let shape = WindowShape::new(8, 4);
        let config = NbeatsConfig {
            mlp_units: vec![[8, 8]],
            shared_weights: true,
            n_blocks: vec![2, 1, 1],
            ..NbeatsConfig::default()
        };
        let mut store = ParamStore::new(3, &Device::Cpu);
        let model = config.build(shape, 2, &mut store, 3).unwrap();
        let x = Tensor::ones((5, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
        let out = model
            .forward(&ModelInput::target_only(x.clone(), x), false)
            .unwrap();
        assert_eq!(out.dims(), &[5, 4, 2]);
        // Shared weights: the identity stack's two blocks own one set of parameters.
        let names = store.into_varmap().data().lock().unwrap().len();
        assert_eq!(names, 3 * 6);
    }
}
