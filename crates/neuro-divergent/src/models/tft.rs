//! TFT, the Temporal Fusion Transformer (Lim et al., 2021, "Temporal Fusion Transformers for
//! interpretable multi-horizon time series forecasting"), as NeuralForecast implements it:
//! every input variable embedded on its own (a learned vector per variable, scaled by its
//! value), variable selection networks weighing the static, past and future variables, static
//! context vectors that steer the selections, the recurrent encoders' initial states and the
//! enrichment, an LSTM (or GRU) encoder over the window handing its state to a second one over
//! the horizon, then static enrichment, interpretable causal self-attention and gated skip
//! connections before a linear output per horizon step.
//!
//! Without future columns NeuralForecast feeds the window's last value, repeated over the
//! window and the horizon, as the one future variable; so does this implementation. The
//! selection weights and the attention weights are returned by [`Model::interpret`].

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds, Interpretation,
    Model, ModelInput,
};
use crate::error::{Error, Result};
use crate::nn::{
    Activation, Cell, Dense, GatedLinearUnit, GatedResidualNetwork, GatedResidualSpec,
    InterpretableAttention, LayerNorm, ParamStore, RecurrentEncoder, RecurrentKernel,
    RecurrentLayers, RecurrentState, VariableSelection, TFT_NORM_EPS,
};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// The recurrent layers of TFT's encoders (`rnn_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TftRnnType {
    /// Long short-term memory (the default).
    Lstm,
    /// Gated recurrent unit.
    Gru,
}

/// TFT hyperparameters (NeuralForecast's names and defaults; the target is one series, so
/// NeuralForecast's `tgt_size` is always 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TftConfig {
    /// Units of the embeddings, encoders and every gated network.
    pub hidden_size: usize,
    /// Heads of the interpretable attention (`hidden_size` must be a multiple).
    pub n_head: usize,
    /// Dropout on the attention weights.
    pub attn_dropout: f64,
    /// The non-linearity inside the gated residual networks of the variable selections and the
    /// decoder (the static context networks use ELU, as in NeuralForecast).
    pub grn_activation: Activation,
    /// Recurrent layers of each encoder.
    pub n_rnn_layers: usize,
    /// The encoders' recurrent cell.
    pub rnn_type: TftRnnType,
    /// Start every recurrent layer from the same static context state (else one context per
    /// layer); only read with static columns.
    pub one_rnn_initial_state: bool,
    /// Dropout in the gated residual networks and after the attention.
    pub dropout: f64,
}

impl Default for TftConfig {
    fn default() -> Self {
        TftConfig {
            hidden_size: 128,
            n_head: 4,
            attn_dropout: 0.0,
            grn_activation: Activation::ELU,
            n_rnn_layers: 1,
            rnn_type: TftRnnType::Lstm,
            one_rnn_initial_state: false,
            dropout: 0.1,
        }
    }
}

impl TftConfig {
    /// The static encoder's context networks: the selection and enrichment contexts, then the
    /// recurrent layers' initial states (hidden and cell for an LSTM, hidden for a GRU), one per
    /// layer or one for all with `one_rnn_initial_state`.
    fn context_count(&self) -> usize {
        let states = self.initial_states();
        match self.rnn_type {
            TftRnnType::Lstm => 2 + 2 * states,
            TftRnnType::Gru => 2 + states,
        }
    }

    /// The recurrent layers' initial states the static encoder makes: one per layer, or one for
    /// all with `one_rnn_initial_state`.
    fn initial_states(&self) -> usize {
        if self.one_rnn_initial_state {
            1
        } else {
            self.n_rnn_layers
        }
    }

    /// The recurrent cell of the encoders.
    fn cell(&self) -> Cell {
        match self.rnn_type {
            TftRnnType::Lstm => Cell::Lstm,
            TftRnnType::Gru => Cell::Gru,
        }
    }

    /// A gated residual network of `hidden_size` units.
    fn grn(&self, context: bool, activation: Activation) -> GatedResidualSpec {
        GatedResidualSpec {
            inputs: self.hidden_size,
            hidden: self.hidden_size,
            outputs: None,
            context: context.then_some(self.hidden_size),
            dropout: self.dropout,
            activation,
        }
    }
}

impl ArchitectureConfig for TftConfig {
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            scaler_type: ScalerType::Robust,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "TFT: ",
            &[
                ("hidden_size", self.hidden_size),
                ("n_head", self.n_head),
                ("n_rnn_layers", self.n_rnn_layers),
            ],
        )?;
        if !self.hidden_size.is_multiple_of(self.n_head) {
            return Err(Error::Config(format!(
                "TFT: hidden_size {} must be a multiple of n_head {}",
                self.hidden_size, self.n_head
            )));
        }
        require_dropout_rate("TFT: ", "dropout", self.dropout)?;
        require_dropout_rate("TFT: ", "attn_dropout", self.attn_dropout)
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::ALL
    }

    fn explains(&self) -> bool {
        true
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let h = self.hidden_size as f64;
        let (window, horizon) = (shape.input_size as f64, shape.horizon as f64);
        let steps = window + horizon;
        let exog = shape.exog;
        // Multiply-adds per position: a gated residual network of `h` units (two maps and the
        // gate), a selection over `n` variables (the joint network reading all embeddings,
        // its residual projection, one network per variable), a recurrent layer.
        let grn = 4.0 * h * h;
        let selection = |n: f64| n * h * h + h * h + 2.0 * h * n + n * h * n + n * grn;
        let recurrent = self.cell().gates() as f64 * 2.0 * h * h * self.n_rnn_layers as f64;
        let futr = exog.futr.max(1) as f64;
        let past = exog.hist as f64 + futr + 1.0;
        let head_width = h / self.n_head as f64;
        let attention = steps
            * (h * (2.0 * self.n_head as f64 + 1.0) * head_width + head_width * h)
            + 2.0 * steps * steps * self.n_head as f64 * head_width;
        let forward = window * (selection(past) + recurrent)
            + horizon * (selection(futr) + recurrent)
            + steps * (2.0 * h * h + grn)
            + attention
            + horizon * (2.0 * h * h + grn + 2.0 * h * h + h)
            + if exog.stat > 0 {
                // Once per window: the static selection and the context networks.
                selection(exog.stat as f64) + self.context_count() as f64 * grn
            } else {
                0.0
            };
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * forward
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let hidden = self.hidden_size;
        let exog = shape.exog;
        // Without future columns the repeated last value is the one future variable.
        let futr_variables = exog.futr.max(1);
        // Each block's dropout draws from its own streams.
        let mut streams = (1u64..).map(|i| seed.wrapping_add(1000 * i));
        let mut next_seed = || streams.next().expect("endless");
        let embedding = Embeddings::new(store, hidden, exog.stat, futr_variables, exog.hist)?;
        let statics = match exog.stat {
            0 => None,
            variables => Some(StaticEncoder::new(self, store, variables, &mut next_seed)?),
        };
        let past_variables = exog.hist + futr_variables + 1;
        let past_selection = VariableSelection::new(
            store,
            "temporal_encoder.history_vsn",
            past_variables,
            hidden,
            self.dropout,
            self.grn_activation,
            next_seed(),
        )?;
        let layers = RecurrentLayers::new(self.cell(), hidden, hidden, self.n_rnn_layers);
        let kernel = RecurrentKernel::default_kernel();
        let history_encoder = RecurrentEncoder::new(
            store,
            "temporal_encoder.history_encoder",
            layers,
            0.0,
            next_seed(),
            kernel,
        )?;
        let future_encoder = RecurrentEncoder::new(
            store,
            "temporal_encoder.future_encoder",
            layers,
            0.0,
            next_seed(),
            kernel,
        )?;
        let future_selection = VariableSelection::new(
            store,
            "temporal_encoder.future_vsn",
            futr_variables,
            hidden,
            self.dropout,
            self.grn_activation,
            next_seed(),
        )?;
        let input_gate =
            GatedLinearUnit::new(store, "temporal_encoder.input_gate", hidden, hidden)?;
        let input_gate_norm = LayerNorm::with_eps(
            store,
            "temporal_encoder.input_gate_ln",
            hidden,
            TFT_NORM_EPS,
        )?;
        let decoder = FusionDecoder::new(self, store, &mut next_seed)?;
        let output_adapter = Dense::new(store, "output_adapter", hidden, n_outputs)?;
        Ok(Box::new(Tft {
            embedding,
            statics,
            past_selection,
            history_encoder,
            future_encoder,
            future_selection,
            input_gate,
            input_gate_norm,
            decoder,
            output_adapter,
            horizon: shape.horizon,
            deterministic: self.dropout == 0.0 && self.attn_dropout == 0.0,
        }))
    }
}

/// A learned vector per variable, scaled by the variable's value, plus a learned bias per
/// variable: `[..., n]` values to `[..., n, hidden]` embeddings.
#[derive(Debug)]
struct VariableEmbedding {
    vectors: Tensor,
    bias: Tensor,
}

impl VariableEmbedding {
    /// The embedding of `variables` variables, `{name}_vectors` drawn by Xavier normal
    /// initialisation (as PyTorch's `xavier_normal_` draws it) and `{name}_bias` zero.
    fn new(
        store: &mut ParamStore,
        name: &str,
        variables: usize,
        hidden: usize,
    ) -> Result<VariableEmbedding> {
        let std = (2.0 / (variables + hidden) as f64).sqrt();
        Ok(VariableEmbedding {
            vectors: store.normal_scaled(&format!("{name}_vectors"), &[variables, hidden], std)?,
            bias: store.filled(&format!("{name}_bias"), &[variables, hidden], 0.0)?,
        })
    }

    /// `[..., n]` values to `[..., n, hidden]` embeddings.
    fn forward(&self, values: &Tensor) -> Result<Tensor> {
        Ok(values
            .unsqueeze(D::Minus1)?
            .broadcast_mul(&self.vectors)?
            .broadcast_add(&self.bias)?)
    }
}

/// The embeddings of the four kinds of input, created in NeuralForecast's order.
#[derive(Debug)]
struct Embeddings {
    statics: Option<VariableEmbedding>,
    future: VariableEmbedding,
    historic: Option<VariableEmbedding>,
    target: VariableEmbedding,
}

impl Embeddings {
    /// Embeddings of `statics`, `future` and `historic` variables (none created for a kind
    /// with no variables, but always one future variable) and of the target.
    fn new(
        store: &mut ParamStore,
        hidden: usize,
        statics: usize,
        future: usize,
        historic: usize,
    ) -> Result<Embeddings> {
        let optional = |store: &mut ParamStore, name: &str, variables: usize| {
            (variables > 0)
                .then(|| VariableEmbedding::new(store, name, variables, hidden))
                .transpose()
        };
        Ok(Embeddings {
            statics: optional(store, "embedding.stat_exog_embedding", statics)?,
            future: VariableEmbedding::new(store, "embedding.futr_exog_embedding", future, hidden)?,
            historic: optional(store, "embedding.hist_exog_embedding", historic)?,
            target: VariableEmbedding::new(store, "embedding.tgt_embedding", 1, hidden)?,
        })
    }
}

/// The static covariate encoder: selects among the static variables, then derives the
/// selection context, the enrichment context and the encoders' initial states from the result.
#[derive(Debug)]
struct StaticEncoder {
    selection: VariableSelection,
    /// Selection context, enrichment context, then the initial hidden states and (LSTM) cell
    /// states: one per layer, or one for all layers with `one_rnn_initial_state`.
    contexts: Vec<GatedResidualNetwork>,
    states: usize,
    layers: usize,
    cell: Cell,
}

/// What the static encoder gives the rest of the network.
struct StaticContext {
    selection: Tensor,
    enrichment: Tensor,
    initial: Vec<(Tensor, Tensor)>,
    weights: Tensor,
}

impl StaticEncoder {
    /// The encoder of `variables` static variables, its networks' dropout streams from
    /// `next_seed`.
    fn new(
        config: &TftConfig,
        store: &mut ParamStore,
        variables: usize,
        next_seed: &mut impl FnMut() -> u64,
    ) -> Result<StaticEncoder> {
        let hidden = config.hidden_size;
        let selection = VariableSelection::new(
            store,
            "static_encoder.vsn",
            variables,
            hidden,
            config.dropout,
            config.grn_activation,
            next_seed(),
        )?;
        let states = config.initial_states();
        let contexts = (0..config.context_count())
            .map(|i| {
                GatedResidualNetwork::new(
                    store,
                    &format!("static_encoder.context_grns.{i}"),
                    config.grn(false, Activation::ELU),
                    next_seed(),
                )
            })
            .collect::<Result<_>>()?;
        Ok(StaticEncoder {
            selection,
            contexts,
            states,
            layers: config.n_rnn_layers,
            cell: config.cell(),
        })
    }

    /// The contexts and initial states from the static embeddings `[B, S, hidden]`.
    fn forward(&self, embedded: &Tensor, train: bool) -> Result<StaticContext> {
        let selected = self.selection.select(embedded, None, train)?;
        let context = |i: usize| self.contexts[i].forward(&selected.features, None, train);
        let hidden: Vec<Tensor> = (0..self.states)
            .map(|i| context(2 + i))
            .collect::<Result<_>>()?;
        let cells: Vec<Tensor> = match self.cell {
            Cell::Lstm => (0..self.states)
                .map(|i| context(2 + self.states + i))
                .collect::<Result<_>>()?,
            _ => hidden.clone(),
        };
        let initial = (0..self.layers)
            .map(|l| {
                let k = l % self.states;
                (hidden[k].clone(), cells[k].clone())
            })
            .collect();
        Ok(StaticContext {
            selection: context(0)?,
            enrichment: context(1)?,
            initial,
            weights: selected.weights,
        })
    }
}

/// The temporal fusion decoder: static enrichment, causal interpretable attention with a
/// gated skip, a position-wise network, and the final gated skip from the encoders' features.
#[derive(Debug)]
struct FusionDecoder {
    enrichment: GatedResidualNetwork,
    attention: InterpretableAttention,
    attention_gate: GatedLinearUnit,
    attention_norm: LayerNorm,
    positionwise: GatedResidualNetwork,
    decoder_gate: GatedLinearUnit,
    decoder_norm: LayerNorm,
}

impl FusionDecoder {
    /// The decoder's blocks, their dropout streams from `next_seed`.
    fn new(
        config: &TftConfig,
        store: &mut ParamStore,
        next_seed: &mut impl FnMut() -> u64,
    ) -> Result<FusionDecoder> {
        let hidden = config.hidden_size;
        let name = |part: &str| format!("temporal_fusion_decoder.{part}");
        let norm = |store: &mut ParamStore, part: &str| {
            LayerNorm::with_eps(store, &name(part), hidden, TFT_NORM_EPS)
        };
        let enrichment = GatedResidualNetwork::new(
            store,
            &name("enrichment_grn"),
            config.grn(true, config.grn_activation),
            next_seed(),
        )?;
        let attention = InterpretableAttention::new(
            store,
            &name("attention"),
            hidden,
            config.n_head,
            config.attn_dropout,
            config.dropout,
            next_seed(),
        )?;
        let attention_gate = GatedLinearUnit::new(store, &name("attention_gate"), hidden, hidden)?;
        let attention_norm = norm(store, "attention_ln")?;
        let positionwise = GatedResidualNetwork::new(
            store,
            &name("positionwise_grn"),
            config.grn(false, config.grn_activation),
            next_seed(),
        )?;
        let decoder_gate = GatedLinearUnit::new(store, &name("decoder_gate"), hidden, hidden)?;
        let decoder_norm = norm(store, "decoder_ln")?;
        Ok(FusionDecoder {
            enrichment,
            attention,
            attention_gate,
            attention_norm,
            positionwise,
            decoder_gate,
            decoder_norm,
        })
    }

    /// The horizon's decoded features `[B, H, hidden]` from the encoders' features over window
    /// and horizon `[B, L + H, hidden]`, with the attention weights: of every step when
    /// `every_query` (`[B, heads, L + H, L + H]`), else of the horizon's steps only (the rows
    /// the forecasts read, `[B, heads, H, L + H]`).
    fn forward(
        &self,
        temporal: &Tensor,
        enrichment: Option<&Tensor>,
        input_size: usize,
        every_query: bool,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let enriched = self.enrichment.forward(temporal, enrichment, train)?;
        let first_query = if every_query { 0 } else { input_size };
        let attended = self
            .attention
            .forward(&enriched, first_query, true, train)?;
        let steps = temporal.dim(1)? - input_size;
        let horizon = |t: &Tensor| t.narrow(1, input_size, steps);
        let attended_horizon = attended.values.narrow(1, input_size - first_query, steps)?;
        let x = (self.attention_gate.forward(&attended_horizon)? + horizon(&enriched)?)?;
        let x = self.attention_norm.forward(&x)?;
        let x = self.positionwise.forward(&x, None, train)?;
        let x = (self.decoder_gate.forward(&x)? + horizon(temporal)?)?;
        Ok((self.decoder_norm.forward(&x)?, attended.weights))
    }
}

/// The built network (see the module docs).
struct Tft {
    embedding: Embeddings,
    statics: Option<StaticEncoder>,
    past_selection: VariableSelection,
    history_encoder: RecurrentEncoder,
    future_encoder: RecurrentEncoder,
    future_selection: VariableSelection,
    input_gate: GatedLinearUnit,
    input_gate_norm: LayerNorm,
    decoder: FusionDecoder,
    output_adapter: Dense,
    horizon: usize,
    deterministic: bool,
}

impl Tft {
    /// The forecasts `[B, H, n_outputs]` and what the network weighed to make them (the
    /// attention of every step when `explain`, else of the horizon's steps only).
    fn run(
        &self,
        input: &ModelInput,
        explain: bool,
        train: bool,
    ) -> Result<(Tensor, Interpretation)> {
        let (batch, input_size) = input.insample.dims2()?;
        let steps = input_size + self.horizon;
        let futr = match &input.futr {
            Some(futr) => futr.clone(),
            // The last insample value repeated over the window and the horizon.
            None => input
                .insample
                .narrow(1, input_size - 1, 1)?
                .unsqueeze(2)?
                .broadcast_as((batch, steps, 1))?
                .contiguous()?,
        };
        let context = match (&self.statics, &input.stat, &self.embedding.statics) {
            (Some(encoder), Some(stat), Some(embedding)) => {
                Some(encoder.forward(&embedding.forward(stat)?, train)?)
            }
            _ => None,
        };
        let selection_context = context.as_ref().map(|c| &c.selection);
        let future_embedded = self.embedding.future.forward(&futr)?;
        let target_embedded = self
            .embedding
            .target
            .forward(&input.insample.unsqueeze(2)?)?;
        let mut past_blocks = Vec::with_capacity(3);
        if let (Some(embedding), Some(hist)) = (&self.embedding.historic, &input.hist) {
            past_blocks.push(embedding.forward(hist)?);
        }
        past_blocks.push(future_embedded.narrow(1, 0, input_size)?);
        past_blocks.push(target_embedded);
        let past =
            self.past_selection
                .select(&Tensor::cat(&past_blocks, 2)?, selection_context, train)?;
        let future = self.future_selection.select(
            &future_embedded.narrow(1, input_size, self.horizon)?,
            selection_context,
            train,
        )?;
        let initial = match &context {
            Some(context) => RecurrentState::from_layers(context.initial.clone()),
            None => self.history_encoder.zero_state(batch, &input.insample)?,
        };
        let (history, state) =
            self.history_encoder
                .forward_from(&past.features, &initial, train)?;
        let (ahead, _) = self
            .future_encoder
            .forward_from(&future.features, &state, train)?;
        let embedded = Tensor::cat(&[&past.features, &future.features], 1)?;
        let encoded = Tensor::cat(&[history, ahead], 1)?;
        let temporal = self
            .input_gate_norm
            .forward(&(self.input_gate.forward(&encoded)? + embedded)?)?;
        let enrichment = context.as_ref().map(|c| &c.enrichment);
        let (decoded, attention) = self
            .decoder
            .forward(&temporal, enrichment, input_size, explain, train)?;
        let forecasts = self.output_adapter.forward(&decoded, None)?;
        Ok((
            forecasts,
            Interpretation {
                past: past.weights,
                future: future.weights,
                statics: context.map(|c| c.weights),
                attention,
            },
        ))
    }
}

impl Model for Tft {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        Ok(self.run(input, false, train)?.0)
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    fn interpret(&self, input: &ModelInput) -> Result<Option<Interpretation>> {
        Ok(Some(self.run(input, true, false)?.1))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::windows::ExogDims;

    /// A small TFT over a window of 5 and a horizon of 3 with the given exogenous columns.
    fn small(exog: ExogDims, config: TftConfig) -> Box<dyn Model> {
        let shape = WindowShape {
            input_size: 5,
            horizon: 3,
            exog,
        };
        let mut store = ParamStore::new(3, &Device::Cpu);
        config.build(shape, 1, &mut store, 3).unwrap()
    }

    fn input(exog: ExogDims) -> ModelInput {
        let device = Device::Cpu;
        let values = |n: usize, offset: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32) * 0.7 + offset).sin()).collect()
        };
        let insample = Tensor::from_vec(values(10, 0.0), (2, 5), &device).unwrap();
        let mut input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        if exog.hist > 0 {
            input.hist = Some(
                Tensor::from_vec(values(10 * exog.hist, 1.0), (2, 5, exog.hist), &device).unwrap(),
            );
        }
        if exog.futr > 0 {
            input.futr = Some(
                Tensor::from_vec(values(16 * exog.futr, 2.0), (2, 8, exog.futr), &device).unwrap(),
            );
        }
        if exog.stat > 0 {
            input.stat = Some(
                Tensor::from_vec(values(2 * exog.stat, 3.0), (2, exog.stat), &device).unwrap(),
            );
        }
        input
    }

    fn rows_sum_to_one(t: &Tensor, what: &str) {
        let width = t.dims()[t.rank() - 1];
        let values: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        for row in values.chunks(width) {
            assert!(
                (row.iter().sum::<f32>() - 1.0).abs() < 1e-5,
                "{what}: {row:?}"
            );
        }
    }

    #[test]
    fn interpretation_has_the_documented_shapes_and_rows_sum_to_one() {
        let config = TftConfig {
            hidden_size: 8,
            n_head: 2,
            n_rnn_layers: 2,
            ..TftConfig::default()
        };
        let exog = ExogDims {
            hist: 2,
            futr: 3,
            stat: 2,
        };
        let model = small(exog, config);
        let input = input(exog);
        assert_eq!(model.forward(&input, false).unwrap().dims(), &[2, 3, 1]);
        let explained = model.interpret(&input).unwrap().unwrap();
        // Past: 2 historic, 3 future columns and the target; future: the 3 future columns.
        assert_eq!(explained.past.dims(), &[2, 5, 6]);
        assert_eq!(explained.future.dims(), &[2, 3, 3]);
        assert_eq!(explained.statics.as_ref().unwrap().dims(), &[2, 2]);
        assert_eq!(explained.attention.dims(), &[2, 2, 8, 8]);
        rows_sum_to_one(&explained.past, "past");
        rows_sum_to_one(&explained.future, "future");
        rows_sum_to_one(explained.statics.as_ref().unwrap(), "static");
        rows_sum_to_one(&explained.attention, "attention");
    }

    #[test]
    fn without_columns_the_repeated_last_value_is_the_future_variable() {
        for rnn_type in [TftRnnType::Lstm, TftRnnType::Gru] {
            let config = TftConfig {
                hidden_size: 4,
                n_head: 1,
                rnn_type,
                ..TftConfig::default()
            };
            let model = small(ExogDims::default(), config);
            let explained = model
                .interpret(&input(ExogDims::default()))
                .unwrap()
                .unwrap();
            assert_eq!(explained.past.dims(), &[2, 5, 2]);
            // One future variable: its weight is 1.
            assert_eq!(explained.future.dims(), &[2, 3, 1]);
            rows_sum_to_one(&explained.future, "future");
            assert!(explained.statics.is_none());
        }
    }

    #[test]
    fn static_columns_steer_the_forecast() {
        let config = TftConfig {
            hidden_size: 8,
            n_head: 2,
            dropout: 0.0,
            ..TftConfig::default()
        };
        let exog = ExogDims {
            stat: 1,
            ..ExogDims::default()
        };
        let model = small(exog, config);
        let mut input = input(exog);
        let before: Vec<f32> = model
            .forward(&input, false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        input.stat = Some((input.stat.unwrap() + 2.0).unwrap());
        let after: Vec<f32> = model
            .forward(&input, false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(before.iter().zip(&after).all(|(a, b)| (a - b).abs() > 1e-5));
    }

    #[test]
    fn hidden_size_must_split_into_heads() {
        let config = TftConfig {
            hidden_size: 10,
            n_head: 4,
            ..TftConfig::default()
        };
        let shape = WindowShape {
            input_size: 5,
            horizon: 3,
            exog: ExogDims::default(),
        };
        let message = config.validate(shape).unwrap_err().to_string();
        assert!(
            message.contains("hidden_size 10 must be a multiple of n_head 4"),
            "{message}"
        );
    }
}
