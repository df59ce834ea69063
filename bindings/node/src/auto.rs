//! Auto models and ensembles as the JavaScript layer describes them: a model's `search`
//! options (the generated `Auto<Model>` classes), the trials reported to `onTrial`, and the
//! forecaster's `ensemble` option.

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use neuro_divergent::auto::{AutoOptions, SearchSpace, TrialEvent};
use neuro_divergent::ensemble::{Combination, Ensemble};

use crate::errors::Failure;

/// One finished trial of a search.
#[napi(object)]
pub struct TrialInfo {
    /// The column of the model searched (`AutoNHITS`).
    pub model: String,
    /// The trial's number, from 0 in the order drawn.
    pub number: u32,
    /// `complete`, `stopped` (by successive halving) or `failed`.
    pub state: String,
    /// Its last validation loss (absent when it failed).
    pub loss: Option<f64>,
    /// Training steps it ran.
    pub steps: u32,
    /// Its wall time in seconds.
    pub seconds: f64,
    /// Trials of this search finished so far.
    pub finished: u32,
    /// Trials of this search in all.
    pub total: u32,
}

/// The trial callback type.
pub type TrialCallback = ThreadsafeFunction<TrialInfo, (), TrialInfo, Status, false>;

/// Forwards every finished trial to JavaScript.
pub fn trial_forwarder(
    callback: &TrialCallback,
) -> impl Fn(&str, &TrialEvent<'_>) + Send + Sync + '_ {
    move |model: &str, e: &TrialEvent<'_>| {
        callback.call(
            TrialInfo {
                model: model.to_string(),
                number: e.trial.number as u32,
                state: e.trial.state.as_str().to_string(),
                loss: e.trial.loss,
                steps: e.trial.steps as u32,
                seconds: e.trial.seconds,
                finished: e.finished as u32,
                total: e.total as u32,
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

/// How an `Auto<Model>` searches its model's hyperparameters.
#[napi(object)]
pub struct SearchConfig {
    /// Trials (default 10).
    pub num_samples: Option<u32>,
    /// `random` (default) or `tpe`.
    pub algorithm: Option<String>,
    /// The search space as JSON text (Ray Tune's domains); absent: NeuralForecast's default.
    pub space_json: Option<String>,
    /// Successive halving of poor trials.
    pub halving: Option<bool>,
    /// Steps before the first halving (default: the model's `val_check_steps`).
    pub halving_grace: Option<u32>,
    /// Seed of the configurations drawn (default 1).
    pub seed: Option<u32>,
    /// Points each trial is scored on (default: the fit's `valSize`, else the horizon).
    pub val_size: Option<u32>,
    /// Refit the chosen configuration holding out the scored points.
    pub refit_with_val: Option<bool>,
}

impl SearchConfig {
    /// The library's options, with `pinned` (the hyperparameters the user set) left alone.
    pub fn options(&self, pinned: Vec<String>) -> Result<AutoOptions, Failure> {
        let defaults = AutoOptions::default();
        let space = match &self.space_json {
            Some(text) => {
                let value: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| Failure::new("ND_INVALID_CONFIG", format!("space: {e}")))?;
                Some(SearchSpace::from_json(&value)?)
            }
            None => None,
        };
        if self.halving_grace.is_some() && self.halving != Some(true) {
            return Err(Failure::new(
                "ND_INVALID_CONFIG",
                "halvingGrace applies to successive halving: add halving: true",
            ));
        }
        Ok(AutoOptions {
            num_samples: self
                .num_samples
                .map_or(defaults.num_samples, |n| n as usize),
            algorithm: match &self.algorithm {
                Some(a) => a.parse()?,
                None => defaults.algorithm,
            },
            space,
            halving: (self.halving == Some(true)).then_some(self.halving_grace.map(|g| g as usize)),
            seed: self.seed.map_or(defaults.seed, u64::from),
            val_size: self.val_size.map_or(defaults.val_size, |v| v as usize),
            refit_with_val: self.refit_with_val.unwrap_or(defaults.refit_with_val),
            pinned,
        })
    }
}

/// An `Ensemble` column over the forecaster's models.
#[napi(object)]
pub struct EnsembleConfig {
    /// `mean` or `median`.
    pub combination: String,
    /// Keep the members' own columns beside `Ensemble`.
    pub keep_members: Option<bool>,
}

impl EnsembleConfig {
    /// The library's ensemble.
    pub fn ensemble(&self) -> Result<Ensemble, Failure> {
        Ok(Ensemble {
            combination: self.combination.parse::<Combination>()?,
            keep_members: self.keep_members.unwrap_or(false),
        })
    }
}
