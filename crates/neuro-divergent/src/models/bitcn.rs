//! BiTCN (Sprangers et al., 2023, as NeuralForecast implements it): two stacks of dilated
//! convolutions with residual and skip connections. The backward-looking stack encodes the
//! insample window (each step's target, historic, static and future exogenous values); when the
//! model reads future exogenous columns, a forward-looking stack encodes them over the window and
//! the horizon. Linear maps along time turn the window's encoded steps into `h` steps, and a final
//! linear layer maps each step's features (with the forward stack's encoding of that horizon
//! step) to its outputs.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds, Model,
    ModelInput,
};
use crate::error::{Error, Result};
use crate::nn::{Activation, Dense, Dropout, ParamStore, Reach, TemporalConv};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// Taps of every BiTCN convolution (fixed, as in NeuralForecast).
const KERNEL_SIZE: usize = 2;

/// BiTCN hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BitcnConfig {
    /// Channels of the convolution stacks and width of the temporal layer.
    pub hidden_size: usize,
    /// Dropout after the input maps, inside every convolution cell and after the temporal layer,
    /// while training.
    pub dropout: f64,
}

impl Default for BitcnConfig {
    fn default() -> Self {
        BitcnConfig {
            hidden_size: 16,
            dropout: 0.5,
        }
    }
}

/// Cells a stack needs for its receptive field to cover `steps` steps with dilations 1, 2, 4, ...
/// (NeuralForecast's `ceil(log2((steps - 1) / (K - 1) + 1))` for K = 2).
fn cells_for(steps: usize) -> usize {
    (usize::BITS - steps.saturating_sub(1).leading_zeros()) as usize
}

impl ArchitectureConfig for BitcnConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            windows_batch_size: 1024,
            scaler_type: ScalerType::Identity,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        require_at_least_one("BiTCN: ", &[("hidden_size", self.hidden_size)])?;
        require_dropout_rate("BiTCN: ", "dropout", self.dropout)?;
        if shape.input_size < 2 {
            return Err(Error::Config(format!(
                "BiTCN needs an input_size of at least 2 (its convolutions read pairs of steps), \
                 got {}",
                shape.input_size
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    /// Each stack's and input map's weights apply at every step they encode, the temporal
    /// layers' once per channel, the output layer's at every horizon step.
    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let (l, h, hidden) = (shape.input_size, shape.horizon, self.hidden_size);
        let futr = shape.exog.futr;
        let cell = hidden * (hidden * KERNEL_SIZE + 1) + 2 * hidden * (hidden + 1);
        let mut per_step = l * ((shape.per_step_width() + 1) * hidden + cells_for(l) * cell);
        let mut channels = hidden;
        let mut output_inputs = hidden;
        if futr > 0 {
            per_step += (l + h) * ((futr + 1) * hidden + cells_for(l + h) * cell);
            channels = 2 * hidden;
            output_inputs = 3 * hidden;
        }
        let temporal = channels * ((l + 1) * hidden + (hidden + 1) * h);
        6.0 * (per_step + temporal + h * (output_inputs + 1)) as f64
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        // Created in NeuralForecast's order.
        let hidden = self.hidden_size;
        let lin_hist = Dense::new(store, "lin_hist", shape.per_step_width(), hidden)?;
        let backward = CellStack::new(store, "net_bwd", hidden, shape.input_size, Reach::Past)?;
        let futr_width = shape.exog.futr;
        let forward = (futr_width > 0)
            .then(|| -> Result<(Dense, CellStack)> {
                let steps = shape.input_size + shape.horizon;
                Ok((
                    Dense::new(store, "lin_futr", futr_width, hidden)?,
                    CellStack::new(store, "net_fwd", hidden, steps, Reach::Future)?,
                ))
            })
            .transpose()?;
        let temporal_in = Dense::new(store, "temporal_lin1", shape.input_size, hidden)?;
        let temporal_out = Dense::new(store, "temporal_lin2", hidden, shape.horizon)?;
        let output_inputs = if forward.is_some() { 3 } else { 1 } * hidden;
        let output = Dense::new(store, "output_lin", output_inputs, n_outputs)?;
        Ok(Box::new(BitcnForecaster {
            lin_hist,
            backward,
            forward,
            temporal_in,
            temporal_out,
            output,
            dropout: Dropout::new(self.dropout, seed),
        }))
    }
}

/// One convolution cell: a dilated convolution with GELU and dropout, then a one-tap
/// convolution to twice the channels, split into a residual update and a skip output.
struct ConvCell {
    dilated: TemporalConv,
    split: TemporalConv,
}

/// Cells with dilations 1, 2, 4, ... whose skip outputs are summed.
struct CellStack {
    cells: Vec<ConvCell>,
    channels: usize,
}

impl CellStack {
    /// Enough cells to cover `steps` steps, named `{name}.{i}.conv1` and `{name}.{i}.conv2`.
    fn new(
        store: &mut ParamStore,
        name: &str,
        channels: usize,
        steps: usize,
        reach: Reach,
    ) -> Result<CellStack> {
        let cells = (0..cells_for(steps))
            .map(|i| {
                let dilated = TemporalConv::new(
                    store,
                    &format!("{name}.{i}.conv1"),
                    channels,
                    channels,
                    KERNEL_SIZE,
                    1 << i,
                    reach,
                )?;
                let split = TemporalConv::new(
                    store,
                    &format!("{name}.{i}.conv2"),
                    channels,
                    2 * channels,
                    1,
                    1,
                    reach,
                )?;
                Ok(ConvCell { dilated, split })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CellStack { cells, channels })
    }

    /// The sum of the cells' skip outputs over `x` (`[B, T, C]`), each cell reading the previous
    /// cell's input plus its residual update.
    fn forward(&self, x: &Tensor, dropout: &Dropout, train: bool) -> Result<Tensor> {
        let mut residual = x.clone();
        let mut skip: Option<Tensor> = None;
        for cell in &self.cells {
            let inner = cell.dilated.forward(&residual, Some(Activation::GELU))?;
            let both = cell.split.forward(&dropout.apply(&inner, train)?, None)?;
            residual = (residual + both.narrow(2, 0, self.channels)?)?;
            let out = both.narrow(2, self.channels, self.channels)?;
            skip = Some(match skip {
                Some(sum) => (sum + out)?,
                None => out,
            });
        }
        // Validation guarantees at least one cell.
        skip.ok_or_else(|| Error::Config("BiTCN: a convolution stack has no cells".into()))
    }
}

/// A fitted-or-fresh BiTCN.
struct BitcnForecaster {
    lin_hist: Dense,
    backward: CellStack,
    /// The future exogenous values' input map and forward-looking stack, when the model reads any.
    forward: Option<(Dense, CellStack)>,
    /// The window's `L` steps to the temporal layer's width, channel by channel.
    temporal_in: Dense,
    /// The temporal layer to `h` steps, channel by channel.
    temporal_out: Dense,
    output: Dense,
    /// One stream for every dropout site.
    dropout: Dropout,
}

impl Model for BitcnForecaster {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let steps = input.insample.dim(1)?;
        let dropout = |x: Tensor| self.dropout.apply(&x, train);
        // [B, L + h, C] over the window and the horizon.
        let futr = match (&self.forward, &input.futr) {
            (Some((lin_futr, stack)), Some(futr)) => {
                let mapped = dropout(lin_futr.forward(futr, None)?)?;
                Some(stack.forward(&mapped, &self.dropout, train)?)
            }
            _ => None,
        };
        let mapped = dropout(self.lin_hist.forward(&input.per_step_features()?, None)?)?;
        // [B, L, C]
        let mut encoded = self.backward.forward(&mapped, &self.dropout, train)?;
        if let Some(futr) = &futr {
            encoded = Tensor::cat(&[encoded, futr.narrow(1, 0, steps)?], 2)?;
        }
        // [B, L, C'] -> [B, C', L] -> [B, C', hidden] -> [B, C', h] -> [B, h, C']
        let temporal = dropout(
            self.temporal_in
                .forward(&encoded.transpose(1, 2)?, Some(Activation::GELU))?,
        )?;
        let mut features = self
            .temporal_out
            .forward(&temporal, None)?
            .transpose(1, 2)?;
        if let Some(futr) = &futr {
            let horizon = futr.dim(1)? - steps;
            features = Tensor::cat(&[features, futr.narrow(1, steps, horizon)?], 2)?;
        }
        self.output.forward(&features, None)
    }

    fn is_deterministic(&self) -> bool {
        self.dropout.is_identity()
    }
}
