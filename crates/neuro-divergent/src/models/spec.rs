//! `ModelSpec`: everything needed to build and train one model, with hyperparameters settable
//! by their NeuralForecast names.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{model_names, Architecture, ExogenousKinds, Model};
use crate::error::{Error, Result};
use crate::losses::{Loss, PointLoss};
use crate::nn::ParamStore;
use crate::train::TrainConfig;
use crate::windows::{ExogDims, WindowShape, WindowShapes};

/// The exogenous columns a model reads, by name (NeuralForecast's `*_exog_list`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExogLists {
    /// Temporal columns known only up to the forecast origin.
    pub hist_exog_list: Vec<String>,
    /// Temporal columns known over the horizon too (given at predict time, or calendar
    /// features).
    pub futr_exog_list: Vec<String>,
    /// Per-series constants.
    pub stat_exog_list: Vec<String>,
}

impl ExogLists {
    /// The number of columns of each kind.
    pub fn dims(&self) -> ExogDims {
        ExogDims {
            hist: self.hist_exog_list.len(),
            futr: self.futr_exog_list.len(),
            stat: self.stat_exog_list.len(),
        }
    }

    /// Temporal column names (historic, then future).
    pub fn temporal(&self) -> impl Iterator<Item = &String> {
        self.hist_exog_list.iter().chain(&self.futr_exog_list)
    }

    fn check(&self, model: &str) -> Result<()> {
        let all: Vec<&String> = self.temporal().chain(&self.stat_exog_list).collect();
        for (i, name) in all.iter().enumerate() {
            if ["unique_id", "ds", "y"].contains(&name.as_str()) || name.trim().is_empty() {
                return Err(Error::Config(format!(
                    "{model}: '{name}' cannot be an exogenous column"
                )));
            }
            if all[..i].contains(name) {
                return Err(Error::Config(format!(
                    "{model}: exogenous column '{name}' is listed twice"
                )));
            }
        }
        Ok(())
    }
}

/// One model's full configuration: architecture, window shape and training hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Column name of the model's forecasts (defaults to the model's name).
    pub alias: Option<String>,
    /// Forecast horizon.
    pub h: usize,
    /// Insample window length.
    pub input_size: usize,
    /// Training hyperparameters.
    pub train: TrainConfig,
    /// Exogenous columns the model reads.
    #[serde(flatten)]
    pub exog: ExogLists,
    /// Architecture hyperparameters.
    #[serde(flatten)]
    pub architecture: Architecture,
}

/// A model with fresh parameters.
pub struct BuiltModel {
    /// The model.
    pub model: Box<dyn Model>,
    /// Its parameters.
    pub varmap: VarMap,
}

impl BuiltModel {
    /// The model of `spec` built again on `device`, with this one's parameter values.
    pub fn moved_to(&self, spec: &ModelSpec, device: &Device) -> Result<BuiltModel> {
        let values = self
            .varmap
            .data()
            .lock()
            .expect("parameter map lock")
            .iter()
            .map(|(name, var)| Ok((name.clone(), var.as_tensor().to_device(device)?)))
            .collect::<Result<HashMap<String, Tensor>>>()?;
        spec.build_with_values(device, values)
    }
}

/// Keys that live on the spec itself rather than in the training or architecture parameters.
const SPEC_KEYS: [&str; 6] = [
    "h",
    "input_size",
    "alias",
    "hist_exog_list",
    "futr_exog_list",
    "stat_exog_list",
];

impl ModelSpec {
    /// The model called `name` (case-insensitive) with NeuralForecast's defaults.
    pub fn new(name: &str, h: usize, input_size: usize) -> Result<ModelSpec> {
        let architecture = Architecture::default_for(name).ok_or_else(|| {
            Error::Config(format!(
                "unknown model '{name}': available models are {}",
                model_names().join(", ")
            ))
        })?;
        Ok(ModelSpec {
            alias: None,
            h,
            input_size,
            train: architecture.config().train_defaults(),
            exog: ExogLists::default(),
            architecture,
        })
    }

    /// The insample length the model called `name` has when none is given: NeuralForecast's
    /// default, three horizons, for the models that have one (see
    /// [`super::input_size_for`]); two horizons for unknown models and those NeuralForecast
    /// needs one for (where the CLI and a search start without one).
    pub fn default_input_size(name: &str, h: usize) -> usize {
        let nf_default = Architecture::default_for(name)
            .is_some_and(|architecture| architecture.config().has_default_input_size());
        if nf_default {
            3 * h
        } else {
            2 * h
        }
    }

    /// The model's name, e.g. `NHITS`.
    pub fn model_name(&self) -> &'static str {
        self.architecture.name()
    }

    /// The forecast columns of this model under the column name `name`: the name plus each
    /// loss output's suffix (`NHITS`, or `NHITS-median`, `NHITS-lo-90`, ... for a quantile loss).
    pub fn forecast_columns(&self, name: &str) -> Vec<String> {
        self.train
            .loss
            .suffixes()
            .iter()
            .map(|s| format!("{name}{s}"))
            .collect()
    }

    /// True when the model can read exogenous columns of some kind.
    pub fn reads_exogenous(&self) -> bool {
        self.exogenous().any()
    }

    /// The kinds of exogenous column the model can read.
    pub fn exogenous(&self) -> ExogenousKinds {
        self.architecture.config().exogenous()
    }

    /// The forecast column name: the alias, or the model's name.
    pub fn display_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(self.model_name())
    }

    /// The window geometry.
    pub fn shape(&self) -> WindowShape {
        WindowShape {
            input_size: self.input_size,
            horizon: self.h,
            exog: self.exog.dims(),
        }
    }

    /// True when the model explains its forecasts (TFT; see [`crate::NeuralForecast::explain`]).
    pub fn explains(&self) -> bool {
        self.architecture.config().explains()
    }

    /// For a multivariate model, the number of series it forecasts together (its `n_series`);
    /// `None` for models that forecast each series on its own.
    pub fn multivariate_series(&self) -> Option<usize> {
        self.architecture.config().multivariate_series()
    }

    /// How the model is windowed when it forecasts one step at a time; `None` for direct models.
    pub fn step_windows(&self) -> Option<super::StepWindows> {
        self.architecture.config().step_windows()
    }

    /// The windows of training, validation and inference: all [`ModelSpec::shape`], except for
    /// models that forecast one step at a time, which read one more insample value (the value
    /// their first step is fed), train on `h_train` outsample steps and may forecast from
    /// `inference_input_size` values.
    pub fn window_shapes(&self) -> WindowShapes {
        let shape = self.shape();
        match self.step_windows() {
            None => WindowShapes {
                train: shape,
                validation: shape,
                inference: shape,
            },
            Some(step) => {
                let with = |input_size: usize, horizon: usize| WindowShape {
                    input_size: input_size + 1,
                    horizon,
                    ..shape
                };
                WindowShapes {
                    train: with(self.input_size, step.h_train),
                    validation: with(self.input_size, self.h),
                    inference: with(step.inference_input_size.unwrap_or(self.input_size), self.h),
                }
            }
        }
    }

    /// Floating-point operations of one training pass over one window of a model with
    /// `parameters` parameters (see [`super::ArchitectureConfig::training_flops_per_window`]).
    pub fn training_flops_per_window(&self, parameters: usize) -> f64 {
        self.architecture
            .config()
            .training_flops_per_window(self.shape(), parameters)
    }

    /// Checks every hyperparameter.
    pub fn validate(&self) -> Result<()> {
        if self.h == 0 {
            return Err(Error::Config("horizon h must be at least 1".into()));
        }
        if self.input_size == 0 {
            return Err(Error::Config("input_size must be at least 1".into()));
        }
        self.train.validate()?;
        let config = self.architecture.config();
        if self.train.max_steps == 0 && !config.is_pretrained() {
            return Err(Error::Config(format!(
                "{}: max_steps must be at least 1 (only pretrained models forecast untrained)",
                self.model_name()
            )));
        }
        config.validate_loss(&self.train.loss)?;
        if let Some(PointLoss::Mase { seasonality }) = self.train.loss.as_point() {
            if seasonality >= self.input_size {
                return Err(Error::Config(format!(
                    "MASE seasonality {seasonality} needs input_size above it (input_size is {})",
                    self.input_size
                )));
            }
        }
        self.exog.check(self.model_name())?;
        let dims = self.exog.dims();
        let kinds = self.exogenous();
        if !dims.is_empty() && !kinds.any() {
            return Err(Error::Config(format!(
                "{} does not read exogenous columns (hist_exog_list, futr_exog_list, \
                 stat_exog_list); models that do: {}",
                self.model_name(),
                super::exogenous_readers().join(", ")
            )));
        }
        let unread = [
            (dims.hist > 0 && !kinds.hist, "hist_exog_list"),
            (dims.futr > 0 && !kinds.futr, "futr_exog_list"),
            (dims.stat > 0 && !kinds.stat, "stat_exog_list"),
        ];
        if let Some((_, list)) = unread.iter().find(|(given, _)| *given) {
            return Err(Error::Config(format!(
                "{} does not read {list}; it reads {}",
                self.model_name(),
                kinds.list_names().join(", ")
            )));
        }
        self.architecture.config().validate(self.shape())
    }

    /// Sets one hyperparameter by its NeuralForecast name from text: numbers, booleans, JSON
    /// lists (`[512,512]`) or plain words (`robust`, `MaxPool1d`). `input_size=-1` stands for
    /// three horizons, as in NeuralForecast.
    pub fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        if key == "input_size" && value.trim() == "-1" {
            self.input_size = super::input_size_for(self.h, -1)?;
            return Ok(());
        }
        let mut parsed: Value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        if key.ends_with("_exog_list") && parsed.is_string() {
            // Plain text: comma-separated column names.
            parsed = value
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| Value::String(n.to_string()))
                .collect();
        }
        let invalid =
            |e: &dyn std::fmt::Display| Error::Config(format!("parameter {key}={value}: {e}"));
        if key == "loss" || key == "valid_loss" {
            let loss = Loss::parse(value)?;
            if key == "loss" {
                self.train.loss = loss;
            } else {
                self.train.valid_loss = Some(loss);
            }
            return Ok(());
        }
        let mut whole = serde_json::to_value(&*self).map_err(|e| invalid(&e))?;
        let slot = if SPEC_KEYS.contains(&key) {
            whole.get_mut(key)
        } else if whole["train"].get(key).is_some() {
            whole["train"].get_mut(key)
        } else {
            whole["params"].get_mut(key)
        };
        match slot {
            Some(slot) => *slot = parsed,
            None => return Err(Error::Config(self.unknown_param_message(key))),
        }
        let before = self.clone();
        *self = serde_json::from_value(whole).map_err(|e| invalid(&e))?;
        let changed = self
            .architecture
            .config_mut()
            .param_changed(key, &mut self.train);
        if changed.is_err() {
            // Leave the spec as it was, not half changed.
            *self = before;
        }
        changed
    }

    /// True when `key` names a hyperparameter of this model.
    pub fn has_param(&self, key: &str) -> bool {
        self.param_names().iter().any(|k| k == key)
    }

    /// Every hyperparameter name this model accepts, sorted.
    pub fn param_names(&self) -> Vec<String> {
        let mut keys: Vec<String> = SPEC_KEYS.iter().map(|k| k.to_string()).collect();
        if let Ok(whole) = serde_json::to_value(self) {
            for section in ["train", "params"] {
                if let Some(map) = whole[section].as_object() {
                    keys.extend(map.keys().cloned());
                }
            }
        }
        keys.sort();
        keys
    }

    /// The message for a parameter name this model does not have, listing the ones it has.
    pub fn unknown_param_message(&self, key: &str) -> String {
        format!(
            "{} has no parameter '{key}'; its parameters are: {}",
            self.model_name(),
            self.param_names().join(", ")
        )
    }

    /// Builds the model to be trained on `device`: [`ModelSpec::build`], except that a
    /// pretrained model takes its pretrained weights (an error names any parameter they lack or
    /// hold in another shape).
    pub fn build_for_fit(&self, device: &Device) -> Result<BuiltModel> {
        let config = self.architecture.config();
        if !config.is_pretrained() {
            return self.build(device);
        }
        // Settings first: the weights can be large.
        self.validate()?;
        let Some(weights) = config.pretrained_weights(device)? else {
            return self.build(device);
        };
        self.build_with_values(device, weights)
    }

    /// Builds the model on `device` with its parameters (and buffers) taken from `values` by
    /// name, drawing none: for pretrained weights and saved models. An error names a parameter
    /// `values` lacks or holds in another shape; values the model has no parameter for are
    /// left unread.
    pub fn build_with_values(
        &self,
        device: &Device,
        values: HashMap<String, Tensor>,
    ) -> Result<BuiltModel> {
        self.validate()?;
        let mut store = ParamStore::with_values(self.train.random_seed, device, values);
        let model = self.build_in(&mut store, "the weights lack")?;
        Ok(BuiltModel {
            model,
            varmap: store.into_varmap(),
        })
    }

    /// The model of `built` again, reading the same parameter values (shared, not copied, but
    /// for the dense weights held once more with their rows further apart: see
    /// [`ParamStore::frozen`]) but recording no autograd graph: for forecasting, where a graph
    /// would only keep every intermediate tensor alive until the output is dropped.
    pub fn build_frozen(&self, built: &BuiltModel) -> Result<Box<dyn Model>> {
        self.build_in(
            &mut ParamStore::frozen(&built.varmap),
            "the fitted model lacks",
        )
    }

    /// The model built in `store`, seeded with `random_seed`; where `store` was given values,
    /// an error names the first parameter they lack (`lacking`: whose values lack it).
    fn build_in(&self, store: &mut ParamStore, lacking: &str) -> Result<Box<dyn Model>> {
        let model = self.architecture.config().build(
            self.shape(),
            self.train.loss.n_outputs(),
            store,
            self.train.random_seed,
        )?;
        if let Some(name) = store.drawn_without_value().first() {
            return Err(Error::Config(format!(
                "{}: {lacking} the parameter '{name}'",
                self.model_name()
            )));
        }
        Ok(model)
    }

    /// Builds the model on `device`, with one output per step and per loss output, and
    /// parameters initialised from `random_seed` (the same values on every device); a
    /// pretrained model's weights are set by [`ModelSpec::build_for_fit`] or a checkpoint.
    pub fn build(&self, device: &Device) -> Result<BuiltModel> {
        self.validate()?;
        let mut store = ParamStore::new(self.train.random_seed, device);
        let model = self.build_in(&mut store, "the model lacks")?;
        Ok(BuiltModel {
            model,
            varmap: store.into_varmap(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_neuralforecast() {
        let nhits = ModelSpec::new("nhits", 12, 24).unwrap();
        assert_eq!(nhits.display_name(), "NHITS");
        assert_eq!(nhits.train.num_lr_decays, 3);
        assert_eq!(nhits.train.windows_batch_size, 1024);
        let mlp = ModelSpec::new("MLP", 12, 24).unwrap();
        assert_eq!(mlp.train.num_lr_decays, -1);
        assert!(ModelSpec::new("prophet", 1, 1)
            .unwrap_err()
            .to_string()
            .contains("available models are MLP, NBEATS, NBEATSx, NHITS"));
    }

    #[test]
    fn sets_parameters_by_neuralforecast_name() {
        let mut spec = ModelSpec::new("NHITS", 12, 24).unwrap();
        spec.set_param("n_pool_kernel_size", "[4,2,1]").unwrap();
        spec.set_param("mlp_units", "[[64,64]]").unwrap();
        spec.set_param("scaler_type", "robust").unwrap();
        spec.set_param("learning_rate", "0.01").unwrap();
        spec.set_param("pooling_mode", "AvgPool1d").unwrap();
        spec.set_param("loss", "mase:12").unwrap();
        spec.set_param("alias", "fast").unwrap();
        spec.set_param("gradient_clip_val", "1.0").unwrap();
        spec.set_param("hist_exog_list", "a, b").unwrap();
        spec.set_param("futr_exog_list", r#"["hour"]"#).unwrap();
        assert_eq!(spec.exog.hist_exog_list, ["a", "b"]);
        assert_eq!(spec.exog.futr_exog_list, ["hour"]);
        assert_eq!(spec.shape().exog.hist, 2);
        assert_eq!(spec.display_name(), "fast");
        assert_eq!(spec.train.learning_rate, 0.01);
        assert_eq!(spec.train.gradient_clip_val, Some(1.0));
        let nhits = spec
            .architecture
            .downcast_ref::<crate::models::NhitsConfig>()
            .expect("NHITS hyperparameters");
        assert_eq!(nhits.n_pool_kernel_size, vec![4, 2, 1]);
        assert_eq!(nhits.mlp_units, vec![[64, 64]]);
        assert!(spec
            .architecture
            .downcast_ref::<crate::models::MlpConfig>()
            .is_none());
        spec.validate().unwrap();
    }

    #[test]
    fn input_size_minus_one_stands_for_three_horizons() {
        assert_eq!(ModelSpec::default_input_size("lstm", 12), 36);
        assert_eq!(ModelSpec::default_input_size("DeepAR", 4), 12);
        assert_eq!(ModelSpec::default_input_size("NHITS", 12), 24);
        assert_eq!(ModelSpec::default_input_size("prophet", 12), 24);
        let mut spec = ModelSpec::new("GRU", 12, 24).unwrap();
        spec.set_param("input_size", "-1").unwrap();
        assert_eq!(spec.input_size, 36);
        spec.set_param("input_size", "10").unwrap();
        assert_eq!(spec.input_size, 10);
        assert!(spec.set_param("input_size", "-2").is_err());
        assert_eq!(super::super::input_size_for(5, -1).unwrap(), 15);
        assert_eq!(super::super::input_size_for(5, 7).unwrap(), 7);
        let err = super::super::input_size_for(5, 0).unwrap_err().to_string();
        assert!(
            err.contains("input_size must be at least 1, or -1"),
            "{err}"
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut spec = ModelSpec::new("MLP", 12, 24).unwrap();
        let err = spec.set_param("n_blocks", "3").unwrap_err().to_string();
        assert!(err.contains("MLP has no parameter 'n_blocks'"), "{err}");
        assert!(err.contains("hidden_size"), "{err}");
        let err = spec
            .set_param("hidden_size", "big")
            .unwrap_err()
            .to_string();
        assert!(err.contains("parameter hidden_size=big"), "{err}");
        let err = spec
            .set_param("scaler_type", "zscore")
            .unwrap_err()
            .to_string();
        assert!(err.contains("scaler_type=zscore"), "{err}");
        spec.set_param("hist_exog_list", "x").unwrap();
        spec.validate().unwrap();
        let mut nbeats = ModelSpec::new("NBEATS", 12, 24).unwrap();
        nbeats.set_param("stat_exog_list", "s").unwrap();
        let err = nbeats.validate().unwrap_err().to_string();
        assert!(
            err.contains("NBEATS does not read exogenous columns")
                && err.ends_with(
                    "models that do: MLP, NBEATSx, NHITS, RNN, LSTM, GRU, TCN, BiTCN, DilatedRNN, \
                     DeepAR, TiDE, VanillaTransformer, Informer, Autoformer, FEDformer, TimesNet, \
                     iTransformer, TSMixerx, TFT, Chronos2"
                ),
            "{err}"
        );
        let mut transformer = ModelSpec::new("VanillaTransformer", 12, 24).unwrap();
        transformer.set_param("futr_exog_list", "f").unwrap();
        transformer.validate().unwrap();
        transformer.set_param("hist_exog_list", "x").unwrap();
        let err = transformer.validate().unwrap_err().to_string();
        assert!(
            err.ends_with(
                "VanillaTransformer does not read hist_exog_list; it reads futr_exog_list"
            ),
            "{err}"
        );
        spec.set_param("hist_exog_list", "x,x").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("'x' is listed twice"), "{err}");
        spec.set_param("hist_exog_list", "").unwrap();
        spec.set_param("h", "0").unwrap();
        assert!(spec
            .validate()
            .unwrap_err()
            .to_string()
            .contains("horizon h"));
    }
}
