//! DilatedRNN (Chang et al., 2017, as NeuralForecast implements it): groups of recurrent layers
//! in which a layer of dilation `d` runs its cell over every `d`-th step, so that `d` interleaved
//! subsequences are processed side by side and a state skips `d - 1` steps. Each group's output
//! (after the first) adds its input back. The cell is PyTorch's LSTM, GRU or RNN, or one of
//! NeuralForecast's own: the residual LSTM ([`ResidualLstm`]) or the attentive LSTM
//! ([`AttentiveLstm`]). A linear map along time turns the window's `L` encoded
//! steps into `h` context vectors, and an MLP decoder maps each, followed by the future exogenous
//! values of its forecast step, to that step's outputs.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{require_at_least_one, ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    mlp_decoder, Activation, AttentiveLstm, Cell, Dense, FeedForward, ParamStore, RecurrentEncoder,
    RecurrentKernel, RecurrentLayers, ResidualLstm,
};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// The recurrent cell of every DilatedRNN layer (`cell_type`): PyTorch's, or NeuralForecast's
/// residual and attentive LSTMs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DilatedCellType {
    /// Long short-term memory (NeuralForecast's default).
    #[default]
    #[serde(rename = "LSTM")]
    Lstm,
    /// Gated recurrent unit.
    #[serde(rename = "GRU")]
    Gru,
    /// Elman cell with tanh.
    #[serde(rename = "RNN")]
    Rnn,
    /// Residual LSTM: the output adds the input back ([`ResidualLstm`]).
    #[serde(rename = "ResLSTM")]
    ResLstm,
    /// LSTM reading an attention-weighted sum of its input steps ([`AttentiveLstm`]).
    #[serde(rename = "AttentiveLSTM")]
    AttentiveLstm,
}

impl DilatedCellType {
    /// PyTorch's cell, for the types that are one.
    fn torch_cell(self) -> Option<Cell> {
        match self {
            DilatedCellType::Lstm => Some(Cell::Lstm),
            DilatedCellType::Gru => Some(Cell::Gru),
            DilatedCellType::Rnn => Some(Cell::RnnTanh),
            DilatedCellType::ResLstm | DilatedCellType::AttentiveLstm => None,
        }
    }

    /// Multiply-adds of one layer's step per row for `inputs` features, `hidden` units and a
    /// sequence of `steps` (what an attentive layer scores at every step).
    fn step_flops(self, inputs: usize, hidden: usize, steps: usize) -> usize {
        match self {
            DilatedCellType::ResLstm => {
                let residual = if inputs == hidden { 0 } else { hidden * inputs };
                3 * hidden * (inputs + 2 * hidden) + hidden * hidden + residual
            }
            DilatedCellType::AttentiveLstm => {
                4 * hidden * (inputs + hidden) + 2 * hidden * hidden + steps * (2 * hidden + inputs)
            }
            torch => {
                let rows = torch.torch_cell().map_or(0, Cell::gates) * hidden;
                rows * (inputs + hidden + 2)
            }
        }
    }
}

/// DilatedRNN hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DilatedRnnConfig {
    /// The cell of every layer.
    pub cell_type: DilatedCellType,
    /// One list of layer dilations per group, e.g. `[[1, 2], [4, 8]]`.
    pub dilations: Vec<Vec<usize>>,
    /// Units of each layer's state.
    pub encoder_hidden_size: usize,
    /// Width of the decoder's hidden layers.
    pub decoder_hidden_size: usize,
    /// Number of decoder layers (1: a single linear map).
    pub decoder_layers: usize,
    /// Activation after each hidden decoder layer.
    pub decoder_activation: Activation,
}

impl Default for DilatedRnnConfig {
    fn default() -> Self {
        DilatedRnnConfig {
            cell_type: DilatedCellType::Lstm,
            dilations: vec![vec![1, 2], vec![4, 8]],
            encoder_hidden_size: 128,
            decoder_hidden_size: 128,
            decoder_layers: 2,
            decoder_activation: Activation::ReLU,
        }
    }
}

impl ArchitectureConfig for DilatedRnnConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            windows_batch_size: 128,
            num_lr_decays: 3,
            scaler_type: ScalerType::Robust,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "DilatedRNN: ",
            &[
                ("encoder_hidden_size", self.encoder_hidden_size),
                ("decoder_layers", self.decoder_layers),
                ("decoder_hidden_size", self.decoder_hidden_size),
            ],
        )?;
        let empty_group = self.dilations.iter().any(Vec::is_empty);
        if self.dilations.is_empty()
            || empty_group
            || self.dilations.iter().flatten().any(|&d| d == 0)
        {
            return Err(Error::Config(format!(
                "DilatedRNN: dilations must list at least one group of layer dilations, each \
                 group at least one dilation of at least 1, got {:?}",
                self.dilations
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn has_default_input_size(&self) -> bool {
        true
    }

    /// Every layer's weights apply at every insample step, the context map's once per hidden
    /// unit, the decoder's at every horizon step.
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        let hidden = self.encoder_hidden_size;
        let (cell, steps) = (self.cell_type, shape.input_size);
        let mut inputs = shape.per_step_width();
        let mut encoder = 0;
        for &dilation in self.dilations.iter().flatten() {
            encoder += cell.step_flops(inputs, hidden, steps.div_ceil(dilation));
            inputs = hidden;
        }
        let context = (shape.input_size + 1) * shape.horizon;
        let decoder = parameters.saturating_sub(encoder + context);
        6.0 * (steps * encoder + hidden * context + shape.horizon * decoder) as f64
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        // Created in NeuralForecast's order: the groups' layers, context map, decoder.
        let mut inputs = shape.per_step_width();
        let mut groups = Vec::with_capacity(self.dilations.len());
        for (g, dilations) in self.dilations.iter().enumerate() {
            let mut layers = Vec::with_capacity(dilations.len());
            for (i, &dilation) in dilations.iter().enumerate() {
                let name = format!("rnn_stack.{g}.cells.{i}");
                let hidden = self.encoder_hidden_size;
                let encoder = match (self.cell_type.torch_cell(), self.cell_type) {
                    (Some(cell), _) => LayerCell::Torch(Box::new(RecurrentEncoder::new(
                        store,
                        &name,
                        RecurrentLayers::new(cell, inputs, hidden, 1),
                        0.0,
                        seed,
                        RecurrentKernel::default_kernel(),
                    )?)),
                    (None, DilatedCellType::ResLstm) => LayerCell::Residual(ResidualLstm::new(
                        store,
                        &format!("{name}.cell"),
                        inputs,
                        hidden,
                    )?),
                    (None, _) => {
                        LayerCell::Attentive(AttentiveLstm::new(store, &name, inputs, hidden)?)
                    }
                };
                layers.push(DilatedLayer { encoder, dilation });
                inputs = hidden;
            }
            groups.push(layers);
        }
        let context = Dense::new(store, "context_adapter", shape.input_size, shape.horizon)?;
        let decoder = mlp_decoder(
            store,
            self.encoder_hidden_size + shape.exog.futr,
            self.decoder_hidden_size,
            self.decoder_layers,
            n_outputs,
            self.decoder_activation,
            seed,
        )?;
        Ok(Box::new(DilatedRnnForecaster {
            groups,
            context,
            decoder,
        }))
    }
}

/// The cell a layer runs over its (interleaved) sequence.
enum LayerCell {
    /// PyTorch's LSTM, GRU or RNN.
    Torch(Box<RecurrentEncoder>),
    /// NeuralForecast's residual LSTM.
    Residual(ResidualLstm),
    /// NeuralForecast's attentive LSTM.
    Attentive(AttentiveLstm),
}

impl LayerCell {
    /// `[B, T, I]` to `[B, T, H]` from zero states.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            LayerCell::Torch(encoder) => encoder.forward(x, train),
            LayerCell::Residual(layer) => layer.forward(x),
            LayerCell::Attentive(layer) => layer.forward(x),
        }
    }
}

/// One recurrent layer run over every `dilation`-th step.
struct DilatedLayer {
    encoder: LayerCell,
    dilation: usize,
}

impl DilatedLayer {
    /// `[B, T, I]` to `[B, T, H]`: the sequence, zero-padded at the end to a multiple of the
    /// dilation, is split into `d` interleaved subsequences (step `s d + j` is step `s` of
    /// subsequence `j`) that the cell runs over side by side, and the outputs are interleaved
    /// back.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let rate = self.dilation;
        if rate == 1 {
            return self.encoder.forward(x, train);
        }
        let (batch, steps, width) = x.dims3()?;
        let strides = steps.div_ceil(rate);
        let padded = x.pad_with_zeros(1, 0, strides * rate - steps)?;
        // [B, S, d, I] -> [d, B, S, I] -> [d B, S, I]
        let split = padded
            .reshape((batch, strides, rate, width))?
            .permute((2, 0, 1, 3))?
            .contiguous()?
            .reshape((rate * batch, strides, width))?;
        let out = self.encoder.forward(&split, train)?;
        let hidden = out.dim(2)?;
        // [d B, S, H] -> [d, B, S, H] -> [B, S, d, H] -> [B, S d, H]
        let merged = out
            .reshape((rate, batch, strides, hidden))?
            .permute((1, 2, 0, 3))?
            .contiguous()?
            .reshape((batch, strides * rate, hidden))?;
        Ok(merged.narrow(1, 0, steps)?)
    }
}

/// A fitted-or-fresh DilatedRNN.
struct DilatedRnnForecaster {
    groups: Vec<Vec<DilatedLayer>>,
    /// Maps the window's `L` steps to `h` context vectors, unit by unit.
    context: Dense,
    decoder: FeedForward,
}

impl Model for DilatedRnnForecaster {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        // [B, L, 1 + X + S + F] -> [B, L, H]
        let mut encoded = input.per_step_features()?;
        for (g, layers) in self.groups.iter().enumerate() {
            let mut out = encoded.clone();
            for layer in layers {
                out = layer.forward(&out, train)?;
            }
            encoded = if g > 0 { (out + encoded)? } else { out };
        }
        let context = self.context.forward_over_steps(&encoded)?;
        self.decoder
            .forward(&input.append_futr_horizon(context)?, train)
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn a_dilated_layer_runs_its_cell_over_interleaved_subsequences() {
        // With dilation 3, steps 0, 3, 6 form one subsequence: the layer's output at those steps
        // equals the plain layer run over those steps alone.
        let dev = Device::Cpu;
        let mut store = ParamStore::new(7, &dev);
        let encoder = RecurrentEncoder::new(
            &mut store,
            "layer",
            RecurrentLayers::new(Cell::Gru, 2, 4, 1),
            0.0,
            7,
            RecurrentKernel::Fused,
        )
        .map(|encoder| LayerCell::Torch(Box::new(encoder)))
        .unwrap();
        let values: Vec<f32> = (0..2 * 7 * 2)
            .map(|v| ((v * 5 % 9) as f32 - 4.0) / 3.0)
            .collect();
        let x = Tensor::from_vec(values, (2, 7, 2), &dev).unwrap();
        let layer = DilatedLayer {
            encoder,
            dilation: 3,
        };
        let dilated = layer.forward(&x, false).unwrap();
        assert_eq!(dilated.dims(), &[2, 7, 4]);
        for start in 0..3 {
            let picked: Vec<u32> = (start..7).step_by(3).map(|t| t as u32).collect();
            let index = Tensor::new(picked.as_slice(), &dev).unwrap();
            let alone = layer
                .encoder
                .forward(&x.index_select(&index, 1).unwrap(), false)
                .unwrap();
            let ours = dilated
                .contiguous()
                .unwrap()
                .index_select(&index, 1)
                .unwrap();
            let diff = (alone - ours)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-6, "subsequence from step {start}: {diff}");
        }
    }
}
