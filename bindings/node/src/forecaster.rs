//! `NativeForecaster`: owns the models, runs fit / predict / cross-validation / checkpoint I/O
//! as `AsyncTask`s on libuv worker threads, so the event loop stays free. One call at a time per
//! forecaster: a second overlapping call fails with `ND_BUSY`. Results come back as an
//! [`Outcome`] (`failure` or `forecasts`); the JavaScript layer turns failures into errors.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{AsyncTask, Float64Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;
use neuro_divergent::auto::{auto_alias, refit_val_size, AutoOptions, Searches};
use neuro_divergent::conformal::{ConformalMethod, PredictionIntervals};
use neuro_divergent::data::Freq;
use neuro_divergent::ensemble::Ensemble;
use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::preprocess::{CalendarFeature, DerivedFeature, FeatureConfig};
use neuro_divergent::{
    input_size_for, ComputeDevice, FitOptions, ModelSpec, NeuralForecast, ProgressEvent,
};

use crate::auto::{trial_forwarder, EnsembleConfig, SearchConfig, TrialCallback};
use crate::errors::Failure;
use crate::io::{Columns, ForecastColumns, JsDs, KeyedColumns, NamedColumns};
use crate::runtime::ensure_started;

/// One model as the JavaScript layer describes it.
#[napi(object)]
pub struct ModelConfig {
    /// Model name (`NHITS`, `NBEATS`, `MLP`).
    pub model: String,
    /// Forecast horizon.
    pub h: u32,
    /// Insample window length; -1 for 3 x `h`. Absent only for a searched model, which then
    /// starts from its default (and searches it unless given).
    pub input_size: Option<i64>,
    /// Other hyperparameters by NeuralForecast name, as a JSON object.
    pub params_json: Option<String>,
    /// Search this model's hyperparameters before the fit (an `Auto<Model>`).
    pub search: Option<SearchConfig>,
}

/// One training progress report.
#[napi(object)]
pub struct ProgressInfo {
    /// Model column name.
    pub model: String,
    /// Steps completed.
    pub step: u32,
    /// Steps planned.
    pub max_steps: u32,
    /// Latest training loss.
    pub train_loss: f64,
    /// Latest validation loss, when validating.
    pub val_loss: Option<f64>,
}

/// Conformal prediction intervals to calibrate during fit.
#[napi(object)]
pub struct IntervalsConfig {
    /// Calibration windows (at least 2; default: chosen from the data for `conformal_pooled`,
    /// 2 for NeuralForecast's methods).
    pub n_windows: Option<u32>,
    /// `conformal_pooled` (default), `conformal_distribution` or `conformal_error`.
    pub method: Option<String>,
    /// Distance between calibration cutoffs (default: the horizon for `conformal_pooled`,
    /// closer only when the series are too short; 1 for NeuralForecast's methods).
    pub step_size: Option<u32>,
}

impl IntervalsConfig {
    fn settings(&self) -> Result<PredictionIntervals, Failure> {
        let method = match &self.method {
            Some(m) => ConformalMethod::parse(m)?,
            None => ConformalMethod::default(),
        };
        Ok(PredictionIntervals {
            n_windows: self.n_windows.map(|n| n as usize),
            method,
            step_size: self.step_size.map(|s| s as usize),
        })
    }
}

/// The progress callback type.
pub type ProgressCallback = ThreadsafeFunction<ProgressInfo, (), ProgressInfo, Status, false>;

/// The result of any native call.
#[napi(object)]
pub struct Outcome {
    /// Set when the call failed.
    pub failure: Option<Failure>,
    /// Forecasts, for predict and cross-validation.
    pub forecasts: Option<ForecastColumns>,
    /// For explain: the explanations as JSON (an array, one object per explaining model).
    pub explanations: Option<String>,
    /// Model column names after the call.
    pub model_names: Vec<String>,
    /// The hyperparameter searches of the models after the call, as JSON by column (absent
    /// when no model was searched).
    pub searches: Option<String>,
}

/// The fitted models of a forecaster, shared with its running jobs.
pub(crate) type Shared = Arc<Mutex<Option<NeuralForecast>>>;

/// The cancel flag of the training call that holds the forecaster, with the caller's call id:
/// an abort reaches only the call it was meant for.
type CurrentCall = Arc<Mutex<Option<(u32, Arc<AtomicBool>)>>>;

/// Native forecaster: models, fitted state and the busy / cancel flags.
#[napi]
pub struct NativeForecaster {
    specs: Vec<ModelSpec>,
    autos: Vec<Option<AutoOptions>>,
    ensemble: Option<Ensemble>,
    freq: Option<Freq>,
    features: FeatureConfig,
    device: ComputeDevice,
    state: Shared,
    busy: Arc<AtomicBool>,
    current: CurrentCall,
}

/// The models' specs and, for searched models, their search options.
type Models = (Vec<ModelSpec>, Vec<Option<AutoOptions>>);

fn build_specs(models: Vec<ModelConfig>) -> Result<Models, Failure> {
    let mut specs = Vec::with_capacity(models.len());
    let mut autos = Vec::with_capacity(models.len());
    for m in models {
        let h = m.h as usize;
        let input_size = match (m.input_size, &m.search) {
            (Some(n), _) => input_size_for(h, n)?,
            (None, Some(_)) => ModelSpec::default_input_size(&m.model, h),
            (None, None) => {
                return Err(Failure::new(
                    "ND_INVALID_CONFIG",
                    format!("{}: inputSize is required", m.model),
                ))
            }
        };
        let mut spec = ModelSpec::new(&m.model, h, input_size)?;
        let mut pinned = Vec::new();
        if m.input_size.is_some() {
            pinned.push("input_size".to_string());
        }
        if let Some(json) = &m.params_json {
            let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
                .map_err(|e| Failure::new("ND_INVALID_CONFIG", format!("model options: {e}")))?;
            // `model_path` first: it sets a pretrained model's architecture, which the
            // other options then adjust (the map itself is sorted by key).
            let (first, rest): (Vec<_>, Vec<_>) =
                params.into_iter().partition(|(key, _)| key == "model_path");
            for (key, value) in first.into_iter().chain(rest) {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                spec.set_param(&key, &text)?;
                pinned.push(key);
            }
        }
        if m.search.is_some() && spec.alias.is_none() {
            spec.alias = Some(auto_alias(spec.model_name()));
        }
        spec.validate()?;
        let auto = m.search.map(|s| s.options(pinned)).transpose()?;
        if let Some(options) = &auto {
            // The space and the search's settings fail now, not when the fit starts.
            options.search(spec.clone())?.validate()?;
        }
        autos.push(auto);
        specs.push(spec);
    }
    Ok((specs, autos))
}

fn failure_to_error(f: Failure) -> napi::Error {
    napi::Error::new(Status::InvalidArg, format!("{}: {}", f.code, f.message))
}

/// Runs `work` catching panics, so a bug fails the call instead of aborting Node.
pub(crate) fn guarded<T>(work: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(Failure::new("ND_INTERNAL", "internal error (panic)")))
}

/// Releases the busy flag when a task is dropped, whatever happened to it.
pub(crate) struct BusyGuard(Arc<AtomicBool>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[napi]
impl NativeForecaster {
    /// Validates the model configurations, the generated features, the ensemble and the
    /// device (`cpu`, `cuda`, `cuda:N`; opened here, so a missing GPU fails now). An empty
    /// list makes a forecaster for `load`.
    #[napi(constructor)]
    pub fn new(
        models: Vec<ModelConfig>,
        freq: Option<String>,
        features: Option<FeatureOptions>,
        device: Option<String>,
        ensemble: Option<EnsembleConfig>,
    ) -> napi::Result<Self> {
        let device = device
            .as_deref()
            .map(str::parse::<ComputeDevice>)
            .transpose()
            .and_then(|d| {
                let d = d.unwrap_or_default();
                d.open().map(|_| d)
            })
            .map_err(|e| failure_to_error(Failure::from(e)))?;
        let (specs, autos) = build_specs(models).map_err(failure_to_error)?;
        let ensemble = ensemble
            .as_ref()
            .map(EnsembleConfig::ensemble)
            .transpose()
            .map_err(failure_to_error)?;
        let features = features
            .map(FeatureOptions::config)
            .transpose()
            .map_err(failure_to_error)?
            .unwrap_or_default();
        if !specs.is_empty() {
            NeuralForecast::new(specs.clone(), None)
                .and_then(|nf| nf.with_features(features.clone()))
                .and_then(|nf| nf.with_ensemble(ensemble.clone()))
                .map_err(|e| failure_to_error(Failure::from(e)))?;
        }
        let freq = freq
            .map(|f| Freq::parse(&f))
            .transpose()
            .map_err(|e| failure_to_error(Failure::from(e)))?;
        Ok(NativeForecaster {
            specs,
            autos,
            ensemble,
            freq,
            features,
            device,
            state: Arc::new(Mutex::new(None)),
            busy: Arc::new(AtomicBool::new(false)),
            current: Arc::new(Mutex::new(None)),
        })
    }

    /// Marks the forecaster busy; `None` when another call is running.
    fn claim(&self) -> Option<BusyGuard> {
        (!self.busy.swap(true, Ordering::AcqRel)).then(|| BusyGuard(self.busy.clone()))
    }

    /// Claims the forecaster for a model-store call: its models and device, kept busy until
    /// the guard drops; `None` when another call is running.
    pub(crate) fn claim_state(&self) -> Option<(BusyGuard, Shared, ComputeDevice)> {
        self.claim()
            .map(|guard| (guard, self.state.clone(), self.device))
    }

    /// Starts a job; a training job that claims the forecaster registers a fresh cancel flag
    /// under `call_id`.
    fn job(&self, kind: JobKind, call_id: Option<u32>) -> AsyncTask<Job> {
        let guard = self.claim();
        let cancel = Arc::new(AtomicBool::new(false));
        if let (Some(_), Some(id)) = (&guard, call_id) {
            *self.current.lock().expect("call lock") = Some((id, cancel.clone()));
        }
        AsyncTask::new(Job {
            guard,
            specs: self.specs.clone(),
            autos: self.autos.clone(),
            ensemble: self.ensemble.clone(),
            freq: self.freq,
            features: self.features.clone(),
            device: self.device,
            state: self.state.clone(),
            cancel,
            kind: Some(kind),
        })
    }

    /// Fits the models on long-format columns.
    #[napi(ts_return_type = "Promise<Outcome>")]
    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        &self,
        ids: Vec<String>,
        ds: Vec<JsDs>,
        y: Float64Array,
        exog: Option<ExogInput>,
        val_size: u32,
        on_progress: Option<ProgressCallback>,
        intervals: Option<IntervalsConfig>,
        call_id: u32,
        on_trial: Option<TrialCallback>,
    ) -> AsyncTask<Job> {
        let training = Training {
            intervals,
            on_trial,
            ..Training::new(ids, ds, y, exog, val_size, on_progress)
        };
        self.job(JobKind::Fit(training), Some(call_id))
    }

    /// Forecasts the series seen at fit time, or those given, with future and static
    /// exogenous values from `exog` and conformal intervals at `levels` when the fit calibrated
    /// them.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn predict(
        &self,
        ids: Option<Vec<String>>,
        ds: Option<Vec<JsDs>>,
        y: Option<Float64Array>,
        exog: Option<ExogInput>,
        levels: Option<Vec<f64>>,
    ) -> AsyncTask<Job> {
        let kind = JobKind::forecast(ids, ds, y, exog, levels.unwrap_or_default(), false);
        self.job(kind, None)
    }

    /// Explains the forecasts `predict` makes from the same inputs: for each interpretable
    /// model (TFT), variable importances per step and attention weights per forecast window,
    /// as JSON.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn explain(
        &self,
        ids: Option<Vec<String>>,
        ds: Option<Vec<JsDs>>,
        y: Option<Float64Array>,
        exog: Option<ExogInput>,
    ) -> AsyncTask<Job> {
        let kind = JobKind::forecast(ids, ds, y, exog, Vec::new(), true);
        self.job(kind, None)
    }

    /// Rolling-origin cross-validation on long-format columns (`step_size` 0: the horizon), with
    /// conformal intervals at `levels` calibrated before the first cutoff when `intervals` is
    /// given.
    #[napi(ts_return_type = "Promise<Outcome>")]
    #[allow(clippy::too_many_arguments)]
    pub fn cross_validation(
        &self,
        ids: Vec<String>,
        ds: Vec<JsDs>,
        y: Float64Array,
        exog: Option<ExogInput>,
        n_windows: u32,
        step_size: u32,
        val_size: u32,
        on_progress: Option<ProgressCallback>,
        intervals: Option<IntervalsConfig>,
        levels: Option<Vec<f64>>,
        call_id: u32,
        on_trial: Option<TrialCallback>,
    ) -> AsyncTask<Job> {
        let kind = JobKind::CrossValidation {
            training: Training {
                intervals,
                on_trial,
                ..Training::new(ids, ds, y, exog, val_size, on_progress)
            },
            windows: CvWindows {
                n_windows: n_windows as usize,
                step_size: (step_size > 0).then_some(step_size as usize),
                levels: levels.unwrap_or_default(),
            },
        };
        self.job(kind, Some(call_id))
    }

    /// Saves the fitted models to a checkpoint directory.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn save(&self, path: String) -> AsyncTask<Job> {
        self.job(JobKind::Save { path: path.into() }, None)
    }

    /// Replaces this forecaster's models with those of a checkpoint directory.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn load(&self, path: String) -> AsyncTask<Job> {
        self.job(JobKind::Load { path: path.into() }, None)
    }

    /// Asks the running fit or cross-validation started as `call_id` to stop; it then fails
    /// with `ND_ABORTED`. Other calls are not affected.
    #[napi]
    pub fn cancel(&self, call_id: u32) {
        if let Some((id, flag)) = self.current.lock().expect("call lock").as_ref() {
            if *id == call_id {
                flag.store(true, Ordering::Release);
            }
        }
    }
}

/// Exogenous inputs of a call: extra data columns, static values per series and future values
/// over the horizon (predict only).
#[napi(object)]
#[derive(Default)]
pub struct ExogInput {
    /// Extra numeric columns of the data.
    pub extra: Option<NamedColumns>,
    /// Static values: `unique_id` plus one column per static variable.
    pub statics: Option<KeyedColumns>,
    /// Future values: `unique_id`, `ds` plus one column per future variable.
    pub futr: Option<KeyedColumns>,
}

/// Generated exogenous columns.
#[napi(object)]
pub struct FeatureOptions {
    /// Calendar features of `ds` (`month`, `dayofweek`, `hour`, ...).
    pub calendar: Option<Vec<String>>,
    /// Features of `y` (`lag:12`, `rolling_mean:24`, `rolling_std:24`, `ema:0.3`).
    pub derived: Option<Vec<String>>,
}

impl FeatureOptions {
    fn config(self) -> Result<FeatureConfig, Failure> {
        Ok(FeatureConfig {
            calendar: self
                .calendar
                .unwrap_or_default()
                .iter()
                .map(|n| CalendarFeature::parse(n))
                .collect::<Result<_, _>>()?,
            derived: self
                .derived
                .unwrap_or_default()
                .iter()
                .map(|n| DerivedFeature::parse(n))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Data and options of a training call (fit or cross-validation).
pub struct Training {
    /// ids, ds and extra columns.
    columns: Columns,
    /// Static values per series.
    statics: Option<KeyedColumns>,
    /// Targets, read on the worker thread.
    y: Float64Array,
    /// Validation points per series.
    val_size: usize,
    /// Progress callback.
    progress: Option<ProgressCallback>,
    /// Callback for every finished trial of a search.
    on_trial: Option<TrialCallback>,
    /// Conformal intervals to calibrate.
    intervals: Option<IntervalsConfig>,
}

impl Training {
    /// The data and options of a training call, without conformal intervals.
    fn new(
        ids: Vec<String>,
        ds: Vec<JsDs>,
        y: Float64Array,
        exog: Option<ExogInput>,
        val_size: u32,
        progress: Option<ProgressCallback>,
    ) -> Training {
        let exog = exog.unwrap_or_default();
        Training {
            columns: Columns {
                ids,
                ds,
                extra: exog.extra,
            },
            statics: exog.statics,
            y,
            val_size: val_size as usize,
            progress,
            on_trial: None,
            intervals: None,
        }
    }
}

/// The windows of a cross-validation.
pub struct CvWindows {
    /// Number of windows.
    n_windows: usize,
    /// Distance between cutoffs (default: the horizon).
    step_size: Option<usize>,
    /// Interval levels (percent); empty for point forecasts only.
    levels: Vec<f64>,
}

/// What a [`Job`] does.
pub enum JobKind {
    /// Train on data.
    Fit(Training),
    /// Forecast.
    Predict {
        /// New data to forecast, if any.
        data: Option<(Columns, Float64Array)>,
        /// Static values replacing those of the fit.
        statics: Option<KeyedColumns>,
        /// Future exogenous values.
        futr: Option<KeyedColumns>,
        /// Interval levels (percent); empty for point forecasts only.
        levels: Vec<f64>,
        /// Explain the forecasts instead of returning them.
        explain: bool,
    },
    /// Train without the last windows, then forecast them.
    CrossValidation {
        /// Data and options.
        training: Training,
        /// The windows to forecast.
        windows: CvWindows,
    },
    /// Write a checkpoint.
    Save {
        /// Directory.
        path: PathBuf,
    },
    /// Read a checkpoint.
    Load {
        /// Directory.
        path: PathBuf,
    },
}

/// One native call running on a worker thread.
pub struct Job {
    guard: Option<BusyGuard>,
    specs: Vec<ModelSpec>,
    autos: Vec<Option<AutoOptions>>,
    ensemble: Option<Ensemble>,
    freq: Option<Freq>,
    features: FeatureConfig,
    device: ComputeDevice,
    state: Shared,
    cancel: Arc<AtomicBool>,
    kind: Option<JobKind>,
}

/// Forwards progress to JavaScript at most every 50 ms (and always at the last step).
fn progress_forwarder(callback: &ProgressCallback) -> impl Fn(&ProgressEvent) + Send + Sync + '_ {
    let last = Mutex::new(None::<Instant>);
    move |e: &ProgressEvent| {
        let mut last = last.lock().expect("progress lock");
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_millis(50));
        if due || e.step == e.max_steps || e.val_loss.is_some() && e.step.is_multiple_of(10) {
            *last = Some(Instant::now());
            callback.call(
                ProgressInfo {
                    model: e.model.clone(),
                    step: e.step as u32,
                    max_steps: e.max_steps as u32,
                    train_loss: e.train_loss,
                    val_loss: e.val_loss,
                },
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
    }
}

/// The fitted models, or an `ND_NOT_FITTED` failure ending with `hint`.
pub(crate) fn fitted<'a>(
    state: &'a Option<NeuralForecast>,
    hint: &str,
) -> Result<&'a NeuralForecast, Failure> {
    state
        .as_ref()
        .ok_or_else(|| Failure::new("ND_NOT_FITTED", format!("not fitted: {hint}")))
}

impl Job {
    /// Fits fresh models (or cross-validates them, given `windows`) and keeps them.
    /// A forecaster made by `load` refits the models of its checkpoint.
    fn train(
        &self,
        training: Training,
        windows: Option<CvWindows>,
    ) -> Result<(Option<ForecastColumns>, Summary), Failure> {
        let frame = training.columns.into_frame(&training.y, self.freq)?;
        let statics = training
            .statics
            .map(|s| s.into_static("staticData"))
            .transpose()?;
        // A forecaster made by `load` refits its checkpoint's models, their searches done and
        // kept.
        let (specs, features, ensemble, searches, autos) = if self.specs.is_empty() {
            let state = self.state.lock().expect("state lock");
            match state.as_ref() {
                Some(nf) => (
                    nf.specs().to_vec(),
                    nf.features().clone(),
                    nf.ensemble().cloned(),
                    nf.searches().clone(),
                    Vec::new(),
                ),
                None => Default::default(),
            }
        } else {
            // A search scores its trials on the fit's validation points unless it has its own.
            let autos = self.autos.iter().map(|auto| {
                auto.clone().map(|options| AutoOptions {
                    val_size: match options.val_size {
                        0 => training.val_size,
                        own => own,
                    },
                    ..options
                })
            });
            (
                self.specs.clone(),
                self.features.clone(),
                self.ensemble.clone(),
                Searches::new(),
                autos.collect(),
            )
        };
        let nf = NeuralForecast::new(specs, self.freq)?
            .with_features(features)?
            .with_device(self.device)?
            .with_searches(searches)?
            .with_ensemble(ensemble)?;
        let cv_windows = windows
            .as_ref()
            .map(|cv| (cv.n_windows, cv.step_size.unwrap_or(nf.horizon())));
        let mut options = FitOptions {
            statics: statics.map(Arc::new),
            val_size: training.val_size,
            cancel: Some(self.cancel.clone()),
            prediction_intervals: training
                .intervals
                .as_ref()
                .map(IntervalsConfig::settings)
                .transpose()?,
        };
        // A search sees no test window of a cross-validation.
        let held_out = cv_windows
            .map(|(n, step)| nf.cross_validation_span(n, step))
            .transpose()?
            .unwrap_or(0);
        let trials = training.on_trial.as_ref().map(trial_forwarder);
        let report = trials.as_ref().map(|f| f as _);
        let mut nf = nf.searched(&autos, &frame, held_out, &options, report)?;
        let searched = nf.specs().iter().zip(&autos);
        options.val_size = refit_val_size(
            searched.filter_map(|(spec, auto)| auto.as_ref().map(|a| (spec, a))),
            options.val_size,
        );
        let forward = training.progress.as_ref().map(progress_forwarder);
        let progress = forward.as_ref().map(|f| f as _);
        let forecasts = match (windows, cv_windows) {
            (Some(cv), Some(windows)) => Some(
                nf.cross_validation_with_levels(&frame, windows, options, &cv.levels, progress)?
                    .into(),
            ),
            _ => {
                nf.fit(&frame, options, progress)?;
                None
            }
        };
        let summary = Summary::of(&nf);
        *self.state.lock().expect("state lock") = Some(nf);
        Ok((forecasts, summary))
    }

    fn run(&mut self) -> Result<Finished, Failure> {
        if self.guard.is_none() {
            return Err(Failure::new(
                "ND_BUSY",
                "this forecaster is already running a call; await it (or use another forecaster)",
            ));
        }
        ensure_started();
        let kind = self.kind.take().expect("a job runs once");
        let done = |(forecasts, models)| Finished {
            forecasts,
            explanations: None,
            models,
        };
        match kind {
            JobKind::Fit(training) => self.train(training, None).map(done),
            JobKind::Predict {
                data,
                statics,
                futr,
                levels,
                explain,
            } => {
                let state = self.state.lock().expect("state lock");
                let nf = fitted(&state, "call fit (or loadCheckpoint) first")?;
                let frame = match data {
                    Some((columns, y)) => Some(columns.into_frame(&y, nf.fitted_freq())?),
                    None => None,
                };
                let statics = statics.map(|s| s.into_static("staticData")).transpose()?;
                let futr = futr.map(|f| f.into_future("futrData")).transpose()?;
                let options = PredictOptions {
                    data: frame.as_ref(),
                    futr: futr.as_ref(),
                    statics: statics.as_ref(),
                    levels: &levels,
                };
                if explain {
                    let explanations = nf.explain(options)?;
                    let json = serde_json::to_string(&explanations).map_err(|e| {
                        Failure::new("ND_INTERNAL", format!("explanations as JSON: {e}"))
                    })?;
                    return Ok(Finished {
                        forecasts: None,
                        explanations: Some(json),
                        models: Summary::of(nf),
                    });
                }
                let forecasts = nf.predict_with(options)?;
                Ok(done((Some(forecasts.into()), Summary::of(nf))))
            }
            JobKind::CrossValidation { training, windows } => {
                self.train(training, Some(windows)).map(done)
            }
            JobKind::Save { path } => {
                let state = self.state.lock().expect("state lock");
                let nf = fitted(&state, "nothing to save, call fit first")?;
                nf.save(&path)?;
                Ok(done((None, Summary::of(nf))))
            }
            JobKind::Load { path } => {
                let nf = NeuralForecast::load(&path)?.with_device(self.device)?;
                let models = Summary::of(&nf);
                *self.state.lock().expect("state lock") = Some(nf);
                Ok(done((None, models)))
            }
        }
    }
}

impl JobKind {
    /// A forecast (or, with `explain`, its explanation) of the series seen at fit time, or of
    /// those given as `ids`, `ds` and `y`, with `exog`'s values and intervals at `levels`.
    fn forecast(
        ids: Option<Vec<String>>,
        ds: Option<Vec<JsDs>>,
        y: Option<Float64Array>,
        exog: Option<ExogInput>,
        levels: Vec<f64>,
        explain: bool,
    ) -> JobKind {
        let exog = exog.unwrap_or_default();
        let data = match (ids, ds, y) {
            (Some(ids), Some(ds), Some(y)) => Some((
                Columns {
                    ids,
                    ds,
                    extra: exog.extra,
                },
                y,
            )),
            _ => None,
        };
        JobKind::Predict {
            data,
            statics: exog.statics,
            futr: exog.futr,
            levels,
            explain,
        }
    }
}

/// What a job that succeeded returns.
struct Finished {
    forecasts: Option<ForecastColumns>,
    explanations: Option<String>,
    models: Summary,
}

/// The models a forecaster holds after a call: their columns and search histories.
#[derive(Default)]
struct Summary {
    names: Vec<String>,
    searches: Option<String>,
}

impl Summary {
    fn of(nf: &NeuralForecast) -> Summary {
        Summary {
            names: nf.model_names().to_vec(),
            searches: kept_searches(nf).and_then(|s| serde_json::to_string(s).ok()),
        }
    }
}

/// The search histories `nf` keeps, absent (rather than empty) when none of its models was
/// searched: what JavaScript receives as `searches`.
pub(crate) fn kept_searches(nf: &NeuralForecast) -> Option<&Searches> {
    (!nf.searches().is_empty()).then(|| nf.searches())
}

impl Task for Job {
    type Output = Outcome;
    type JsValue = Outcome;

    fn compute(&mut self) -> napi::Result<Outcome> {
        let result = guarded(|| self.run());
        // Release the forecaster as soon as the work is done.
        self.guard = None;
        Ok(match result {
            Ok(finished) => Outcome {
                failure: None,
                forecasts: finished.forecasts,
                explanations: finished.explanations,
                model_names: finished.models.names,
                searches: finished.models.searches,
            },
            Err(failure) => Outcome {
                failure: Some(failure),
                forecasts: None,
                explanations: None,
                model_names: Vec::new(),
                searches: None,
            },
        })
    }

    fn resolve(&mut self, _env: Env, output: Outcome) -> napi::Result<Outcome> {
        Ok(output)
    }
}
