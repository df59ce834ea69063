//! Forecasting models: one file per model, each a typed hyperparameter struct (NeuralForecast's
//! names and defaults) that builds a [`Model`]. Adding a model means writing its file and adding
//! one line to `builtin_models` below; a model from another crate is registered the same way
//! at run time with [`register_model`].

mod autoformer;
mod bitcn;
mod chronos2;
mod chronos_bolt;
mod decomposition_transformer;
mod deepar;
mod dilated_rnn;
mod dlinear;
mod encoder_decoder;
mod fedformer;
mod informer;
mod input;
mod itransformer;
mod mlp;
mod nbeats;
mod nbeatsx;
mod nhits;
mod nlinear;
mod patched_series;
mod patchtst;
mod pretrained;
mod recurrent;
mod registry;
mod spec;
mod step_network;
mod tcn;
mod tft;
mod tide;
mod timesnet;
mod tsmixer;
mod tsmixerx;
mod vanilla_transformer;

pub use autoformer::AutoformerConfig;
pub use bitcn::BitcnConfig;
pub use chronos2::Chronos2Config;
pub use chronos_bolt::ChronosBoltConfig;
pub use deepar::DeepArConfig;
pub use dilated_rnn::{DilatedCellType, DilatedRnnConfig};
pub use dlinear::DlinearConfig;
pub use encoder_decoder::EncoderDecoderLayers;
pub use fedformer::{FedformerConfig, FedformerVersion};
pub use informer::InformerConfig;
pub use input::{ModelInput, Pooling, StepFeatureOrder};
pub use itransformer::ITransformerConfig;
pub use mlp::MlpConfig;
pub use nbeats::{NbeatsConfig, StackType};
pub use nbeatsx::NbeatsxConfig;
pub use nhits::{InterpolationMode, NhitsConfig, PoolingMode};
pub use nlinear::NlinearConfig;
pub use patchtst::PatchTstConfig;
pub use pretrained::HuggingFaceDir;
pub use recurrent::{
    GruCell, GruConfig, LstmCell, LstmConfig, RecurrentCell, RecurrentConfig, RnnActivation,
    RnnCell, RnnConfig,
};
pub use registry::{model_names, register_model, Architecture, ModelConfig};
pub use spec::{BuiltModel, ExogLists, ModelSpec};
pub use tcn::TcnConfig;
pub use tft::{TftConfig, TftRnnType};
pub use tide::TideConfig;
pub use timesnet::TimesNetConfig;
pub use tsmixer::TsMixerConfig;
pub use tsmixerx::TsMixerxConfig;
pub use vanilla_transformer::VanillaTransformerConfig;

use std::collections::HashMap;

use crate::autoregressive::Autoregressive;
use crate::error::Result;
use crate::losses::Loss;
use crate::nn::ParamStore;
use crate::train::TrainConfig;
use crate::windows::WindowShape;
use candle_core::{Device, Tensor};

/// A trainable forecaster: maps insample windows (and exogenous inputs) to forecasts.
pub trait Model: Send + Sync {
    /// Forecasts `[B, H, n_outputs]` from a batch of scaled inputs.
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor>;

    /// False when training involves randomness inside the model (dropout) or couples the
    /// windows of a batch (batch normalisation): then every drawn window must be computed on
    /// its own instead of merged with its duplicates. (Either way the chunks of a batch run side
    /// by side: `nn::pass` keys the draws by pass and window and combines the statistics.)
    fn is_deterministic(&self) -> bool;

    /// The model's one-step-at-a-time form, for models that forecast autoregressively (then
    /// [`Model::forward`] is the teacher-forced training pass); `None` for direct models.
    fn autoregressive(&self) -> Option<&dyn Autoregressive> {
        None
    }

    /// For a multivariate model (NeuralForecast's `MULTIVARIATE` models), the number of series it
    /// forecasts together: a window is then `n_series` consecutive rows of the batch, one per
    /// series, all ending at the same time step (in the data's series order when validating and
    /// forecasting, in the data loader's shuffled order in training batches). `None` for models
    /// that forecast each row on its own.
    fn multivariate_series(&self) -> Option<usize> {
        None
    }

    /// Rows of the batch that one window spans: `n_series` for a multivariate model, else 1.
    fn rows_per_window(&self) -> usize {
        self.multivariate_series().unwrap_or(1)
    }

    /// True when training normalises a multivariate model's windows with statistics over the
    /// batch (TSMixer's batch norms): then each chunk of a training batch holds at least 32
    /// windows, not 32 rows, so that the statistics are taken over as many windows as
    /// NeuralForecast's batches hold. (A univariate model's window is one row.)
    fn normalises_over_windows(&self) -> bool {
        false
    }

    /// For models that explain their forecasts (TFT), what they weighed to forecast each
    /// window of `input` (inference mode); `None` for the others.
    fn interpret(&self, input: &ModelInput) -> Result<Option<Interpretation>> {
        let _ = input;
        Ok(None)
    }
}

/// What an interpretable model weighed to forecast a batch of `B` windows of `L` steps and a
/// horizon of `H`: the weights of its variable selections (each position's summing to 1) and
/// of its attention heads (each query step's summing to 1).
#[derive(Debug, Clone)]
pub struct Interpretation {
    /// `[B, L, P]`: the weight of each past variable at each window step (historic columns,
    /// future columns, then the target).
    pub past: Tensor,
    /// `[B, H, F]`: the weight of each future column at each horizon step.
    pub future: Tensor,
    /// `[B, S]`: the weight of each static column, when the model reads any.
    pub statics: Option<Tensor>,
    /// `[B, heads, L + H, L + H]`: how much each step (query) attended to each step (key).
    pub attention: Tensor,
}

/// Which kinds of exogenous column a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExogenousKinds {
    /// Historic columns (`hist_exog_list`).
    pub hist: bool,
    /// Future columns (`futr_exog_list`).
    pub futr: bool,
    /// Static columns (`stat_exog_list`).
    pub stat: bool,
}

impl ExogenousKinds {
    /// No exogenous input.
    pub const NONE: ExogenousKinds = ExogenousKinds {
        hist: false,
        futr: false,
        stat: false,
    };
    /// Historic, future and static columns.
    pub const ALL: ExogenousKinds = ExogenousKinds {
        hist: true,
        futr: true,
        stat: true,
    };
    /// Future columns only (the Informer family's calendar-feature embedding).
    pub const FUTURE: ExogenousKinds = ExogenousKinds {
        hist: false,
        futr: true,
        stat: false,
    };

    /// True when the model reads any exogenous column.
    pub fn any(self) -> bool {
        self.hist || self.futr || self.stat
    }

    /// The parameter names of the lists read (`hist_exog_list`, `futr_exog_list`,
    /// `stat_exog_list`, those that apply).
    pub fn list_names(self) -> Vec<&'static str> {
        [
            (self.hist, "hist_exog_list"),
            (self.futr, "futr_exog_list"),
            (self.stat, "stat_exog_list"),
        ]
        .into_iter()
        .filter_map(|(read, name)| read.then_some(name))
        .collect()
    }
}

/// How a model that forecasts one step at a time (NeuralForecast's `RECURRENT` models) is
/// windowed: it trains on windows of `input_size + 1` insample steps and `h_train` outsample
/// steps, and forecasts from the last `inference_input_size + 1` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepWindows {
    /// Outsample steps of each training window.
    pub h_train: usize,
    /// Insample length at inference (unset: `input_size`).
    pub inference_input_size: Option<usize>,
    /// Sample paths drawn per series when forecasting with a distribution loss (DeepAR's
    /// ancestral sampling); `None`: the distribution's mean is fed back and each step's
    /// distribution sampled on its own, as NeuralForecast's recurrent models do.
    pub trajectory_samples: Option<usize>,
    /// Draws per step for the quantiles when the mean is fed back (`trajectory_samples`
    /// unset); unset: the loss's `num_samples`.
    pub step_draws: Option<usize>,
}

/// What every model's hyperparameter struct provides.
pub trait ArchitectureConfig {
    /// The training defaults NeuralForecast uses for this model.
    fn train_defaults(&self) -> TrainConfig;

    /// Checks the hyperparameters against the window shape.
    fn validate(&self, shape: WindowShape) -> Result<()>;

    /// Set for models that forecast one step at a time: how they are windowed.
    fn step_windows(&self) -> Option<StepWindows> {
        None
    }

    /// The kinds of exogenous input the model reads (none by default).
    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::NONE
    }

    /// True when NeuralForecast gives the model a default insample length (`input_size=-1`,
    /// three horizons, see [`input_size_for`]); false when it must be given.
    fn has_default_input_size(&self) -> bool {
        false
    }

    /// Floating-point operations of one training pass (forward and backward) over one window,
    /// for throughput reports: by default ~6 per parameter, as for a network that applies each
    /// weight once per window.
    fn training_flops_per_window(&self, shape: WindowShape, parameters: usize) -> f64 {
        let _ = shape;
        6.0 * parameters as f64
    }

    /// For a multivariate model, the number of series it forecasts together (see
    /// [`Model::multivariate_series`]); `None` for models that forecast each series on its own.
    fn multivariate_series(&self) -> Option<usize> {
        None
    }

    /// True for models that explain their forecasts ([`Model::interpret`]).
    fn explains(&self) -> bool {
        false
    }

    /// True for models whose weights come pretrained (from `model_path`): they forecast without
    /// training (`max_steps` 0, their default) and fine-tune when given steps.
    fn is_pretrained(&self) -> bool {
        false
    }

    /// The pretrained weights by parameter name (for the models of
    /// [`ArchitectureConfig::is_pretrained`]); `None` for the others.
    fn pretrained_weights(&self, device: &Device) -> Result<Option<HashMap<String, Tensor>>> {
        let _ = device;
        Ok(None)
    }

    /// Called after the hyperparameter `key` was set by name (`ModelSpec::set_param`): a model
    /// whose hyperparameters follow from another one (a pretrained model's from its
    /// `model_path`) updates them here, with the training settings they fix.
    fn param_changed(&mut self, key: &str, train: &mut TrainConfig) -> Result<()> {
        let _ = (key, train);
        Ok(())
    }

    /// Checks that the training loss suits the model (any loss does, for most models).
    fn validate_loss(&self, loss: &Loss) -> Result<()> {
        let _ = loss;
        Ok(())
    }

    /// Creates the model with fresh parameters in `store`.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>>;
}

/// Checks that every named count in `fields` is at least 1; the error names the first that is
/// not, after `prefix` (e.g. `"TCN: "`).
pub(crate) fn require_at_least_one(prefix: &str, fields: &[(&str, usize)]) -> Result<()> {
    match fields.iter().find(|(_, value)| *value == 0) {
        Some((name, _)) => Err(crate::error::Error::Config(format!(
            "{prefix}{name} must be at least 1"
        ))),
        None => Ok(()),
    }
}

/// Checks that a multivariate model's `n_series` is set (NeuralForecast has no default either);
/// the error names `model`.
pub(crate) fn require_n_series(model: &str, n_series: usize) -> Result<()> {
    if n_series == 0 {
        return Err(crate::error::Error::Config(format!(
            "{model} forecasts its series together: set n_series to the number of series in the \
             data"
        )));
    }
    Ok(())
}

/// Checks that the dropout rate `value` of hyperparameter `name` is in `[0, 1)`; the error names
/// it after `prefix`.
pub(crate) fn require_dropout_rate(prefix: &str, name: &str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        return Ok(());
    }
    Err(crate::error::Error::Config(format!(
        "{prefix}{name} must be in [0, 1), got {value}"
    )))
}

/// The insample length that NeuralForecast's `input_size` stands for with horizon `h`: a
/// positive length as given, or -1 for three horizons (`3 * h`), the default of the models for
/// which [`ArchitectureConfig::has_default_input_size`] holds.
pub fn input_size_for(h: usize, input_size: i64) -> Result<usize> {
    match input_size {
        -1 => Ok(3 * h),
        n if n >= 1 => Ok(n as usize),
        n => Err(crate::error::Error::Config(format!(
            "input_size must be at least 1, or -1 for 3 x horizon; got {n}"
        ))),
    }
}

/// The models that read exogenous inputs, in registry order.
pub fn exogenous_readers() -> Vec<&'static str> {
    model_names()
        .into_iter()
        .filter(|name| {
            Architecture::default_for(name).is_some_and(|a| a.config().exogenous().any())
        })
        .collect()
}

/// The models this crate provides, in NeuralForecast's spelling: registered before any other.
fn builtin_models() -> Vec<registry::ModelType> {
    use registry::ModelType;
    vec![
        ModelType::of::<MlpConfig>("MLP"),
        ModelType::of::<NbeatsConfig>("NBEATS"),
        ModelType::of::<NbeatsxConfig>("NBEATSx"),
        ModelType::of::<NhitsConfig>("NHITS"),
        ModelType::of::<RnnConfig>("RNN"),
        ModelType::of::<LstmConfig>("LSTM"),
        ModelType::of::<GruConfig>("GRU"),
        ModelType::of::<TcnConfig>("TCN"),
        ModelType::of::<BitcnConfig>("BiTCN"),
        ModelType::of::<DilatedRnnConfig>("DilatedRNN"),
        ModelType::of::<DeepArConfig>("DeepAR"),
        ModelType::of::<DlinearConfig>("DLinear"),
        ModelType::of::<NlinearConfig>("NLinear"),
        ModelType::of::<PatchTstConfig>("PatchTST"),
        ModelType::of::<TideConfig>("TiDE"),
        ModelType::of::<VanillaTransformerConfig>("VanillaTransformer"),
        ModelType::of::<InformerConfig>("Informer"),
        ModelType::of::<AutoformerConfig>("Autoformer"),
        ModelType::of::<FedformerConfig>("FEDformer"),
        ModelType::of::<TimesNetConfig>("TimesNet"),
        ModelType::of::<ITransformerConfig>("iTransformer"),
        ModelType::of::<TsMixerConfig>("TSMixer"),
        ModelType::of::<TsMixerxConfig>("TSMixerx"),
        ModelType::of::<TftConfig>("TFT"),
        ModelType::of::<ChronosBoltConfig>("ChronosBolt"),
        ModelType::of::<Chronos2Config>("Chronos2"),
    ]
}

/// The names of the models this crate provides (not those registered at run time).
#[cfg(test)]
pub(crate) fn builtin_model_names() -> Vec<&'static str> {
    builtin_models().iter().map(|t| t.name).collect()
}

/// NeuralForecast's training defaults for its multivariate models (iTransformer, TSMixer,
/// TSMixerx): 32 windows (of every series) per step, the general defaults otherwise.
fn multivariate_train_defaults() -> TrainConfig {
    TrainConfig {
        windows_batch_size: 32,
        ..TrainConfig::default()
    }
}

/// NeuralForecast's training defaults for its long-horizon models (DLinear, NLinear, PatchTST,
/// VanillaTransformer, Informer, Autoformer, FEDformer):
/// 5,000 steps at learning rate 1e-4 without decay, 1,024 windows per batch, no scaling.
fn long_horizon_train_defaults() -> TrainConfig {
    TrainConfig {
        max_steps: 5000,
        learning_rate: 1e-4,
        num_lr_decays: -1,
        scaler_type: crate::preprocess::ScalerType::Identity,
        ..TrainConfig::default()
    }
}
