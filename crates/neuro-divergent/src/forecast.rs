//! `NeuralForecast`: fits several models on a panel, forecasts every series, and runs rolling
//! cross-validation. The CLI and the Node package are thin wrappers around it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use candle_core::Device;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::auto::{search_models, AutoOptions, SearchData, SearchProgressFn, Searches};
use crate::autoregressive::{point_path, sample_forecast_columns};
use crate::chunks;
use crate::conformal::{
    window_scale, Calibration, CalibrationRoom, ConformityScores, PredictionIntervals,
    SeriesForecast,
};
use crate::data::{DataFingerprint, DsStyle, Freq, TimeSeriesFrame, Timestamp};
use crate::device::ComputeDevice;
use crate::ensemble::{Ensemble, ENSEMBLE_COLUMN};
use crate::error::{Error, Result};
use crate::exog::{check_static_values, future_values, FutureTable, Needs, Panel, StaticTable};
use crate::explain::ModelExplanation;
use crate::models::{BuiltModel, Model, ModelSpec};
use crate::multivariate::{self, SeriesEnd, Stage};
use crate::pipeline::prefetched;
use crate::preprocess::FeatureConfig;
use crate::train::{train_model, ProgressFn, TrainReport, TrainingData};
use crate::windows::{inference_batch, SeriesView};

/// Windows explained per batch by [`NeuralForecast::explain`] for windows and horizons of
/// `steps` steps: at most 1,024, fewer for long ones, so that each head's `steps x steps`
/// attention weights over a batch stay near 2^24 values.
fn explain_chunk(steps: usize) -> usize {
    ((1usize << 24) / (steps * steps).max(1)).clamp(1, 1024)
}

/// The id and time columns of `h` forecasts after each series' last time `last_ds`, series by
/// series; built in parallel on the chunk workers (one thread built the 2.4 M rows of 100,000
/// series in about 0.17 s of a 2.6 s whole-process `predict`).
fn forecast_rows(
    ids: &[&str],
    last_ds: &[Timestamp],
    freq: Freq,
    h: usize,
) -> Result<(Vec<String>, Vec<Timestamp>)> {
    use rayon::prelude::*;
    // A series whose last step leaves the representable times is reported first, at its first
    // step that does (steps move time forward, so the others then all fit), as the rows are in
    // order: the parallel pass below then has no errors, whose order it would not keep.
    for &last in last_ds {
        if freq.advance(last, h as i64).is_err() {
            for step in 1..=h {
                freq.advance(last, step as i64)?;
            }
        }
    }
    let rows = ids.len() * h;
    crate::threads::install(|| {
        let mut id_column = Vec::with_capacity(rows);
        (0..rows)
            .into_par_iter()
            .map(|row| ids[row / h].to_owned())
            .collect_into_vec(&mut id_column);
        let ds_column = (0..rows)
            .into_par_iter()
            .map(|row| freq.advance(last_ds[row / h], (row % h + 1) as i64))
            .collect::<Result<Vec<Timestamp>>>()?;
        Ok((id_column, ds_column))
    })
}

/// Options of [`NeuralForecast::fit`].
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Points at the end of each series held out for validation and early stopping.
    pub val_size: usize,
    /// Set from another thread to stop a running fit; it then fails with [`Error::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Calibrate conformal prediction intervals for the point models (an extra
    /// cross-validation before the fit).
    pub prediction_intervals: Option<PredictionIntervals>,
    /// Static exogenous values per series (needed when a model has a `stat_exog_list`); they
    /// are kept with the fitted models, and a later fit or cross-validation without them reuses
    /// the kept ones.
    pub statics: Option<Arc<StaticTable>>,
}

/// What [`NeuralForecast::predict_with`] forecasts from.
#[derive(Debug, Clone, Copy, Default)]
pub struct PredictOptions<'a> {
    /// Forecast after the end of these series instead of those seen at fit time.
    pub data: Option<&'a TimeSeriesFrame>,
    /// Future exogenous values over the horizon (needed when a model has a `futr_exog_list`
    /// beyond calendar features).
    pub futr: Option<&'a FutureTable>,
    /// Static values replacing those given at fit time (needed for series not seen then).
    pub statics: Option<&'a StaticTable>,
    /// Conformal interval levels in percent (needs a fit with prediction intervals).
    pub levels: &'a [f64],
}

/// One fitted model.
pub(crate) struct FittedModel {
    pub(crate) built: BuiltModel,
    pub(crate) report: Option<TrainReport>,
    /// The same model without an autograd graph, built on first use (see
    /// [`ModelSpec::build_frozen`]).
    forecaster: OnceLock<Box<dyn Model>>,
}

impl FittedModel {
    /// A fitted model (`report` is `None` when it was loaded).
    pub(crate) fn new(built: BuiltModel, report: Option<TrainReport>) -> FittedModel {
        FittedModel {
            built,
            report,
            forecaster: OnceLock::new(),
        }
    }

    /// The model to forecast with: the fitted one reading its parameters without recording a
    /// graph, so that each intermediate tensor is freed as soon as it is used.
    pub(crate) fn forecaster(&self, spec: &ModelSpec) -> Result<&dyn Model> {
        if let Some(model) = self.forecaster.get() {
            return Ok(model.as_ref());
        }
        let model = spec.build_frozen(&self.built)?;
        Ok(self.forecaster.get_or_init(|| model).as_ref())
    }
}

/// The end of one series as seen at fit time, enough to forecast it without the data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesTail {
    /// Series id.
    pub id: String,
    /// Last observed `ds`.
    pub last_ds: Timestamp,
    /// The last observations (as many as the longest inference window reads). Checkpoints
    /// keep them in the weights file, not in the manifest's text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The temporal exogenous columns over the same points, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exog: BTreeMap<String, Vec<f32>>,
}

/// Everything fitting produced.
pub(crate) struct FittedState {
    pub(crate) models: Vec<FittedModel>,
    pub(crate) freq: Freq,
    /// How the fitted data wrote its `ds` values.
    pub(crate) ds_style: DsStyle,
    pub(crate) tails: Vec<SeriesTail>,
    pub(crate) conformity: Option<ConformityScores>,
    pub(crate) statics: Option<StaticTable>,
    /// The data the models were fitted on (absent in checkpoints written before it was kept).
    pub(crate) data: Option<DataFingerprint>,
}

/// Forecasts in long format: one row per series and step, one column per model.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecasts {
    /// Forecast column names, model by model (`NHITS`, or `NHITS-median`, `NHITS-lo-90`, ...).
    pub columns: Vec<String>,
    /// Series id of each row.
    pub ids: Vec<String>,
    /// Forecast time of each row.
    pub ds: Vec<Timestamp>,
    /// Last observed time before each forecast (cross-validation only).
    pub cutoff: Option<Vec<Timestamp>>,
    /// Observed value at `ds` (cross-validation only).
    pub y: Option<Vec<f64>>,
    /// One vector per column, aligned with the rows.
    pub values: Vec<Vec<f64>>,
    /// How `ds` and `cutoff` are written: the layout of the data they came from.
    pub ds_style: DsStyle,
    /// What the caller should know about these forecasts, e.g. interval levels the calibration
    /// data is too thin to support.
    pub warnings: Vec<String>,
}

impl Forecasts {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The values of the forecast column `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        let index = self.columns.iter().position(|n| n == name)?;
        Some(&self.values[index])
    }

    /// Writes CSV: `unique_id,ds[,cutoff][,y],<models>`.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        let io = |e: csv::Error| Error::Io {
            path: "<forecast output>".into(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut header = vec!["unique_id".to_string(), "ds".to_string()];
        if self.cutoff.is_some() {
            header.push("cutoff".into());
        }
        if self.y.is_some() {
            header.push("y".into());
        }
        header.extend(self.columns.iter().cloned());
        writer.write_record(&header).map_err(io)?;
        for row in 0..self.len() {
            let mut record = vec![self.ids[row].clone(), self.ds[row].format(self.ds_style)];
            if let Some(cutoff) = &self.cutoff {
                record.push(cutoff[row].format(self.ds_style));
            }
            if let Some(y) = &self.y {
                record.push(y[row].to_string());
            }
            record.extend(self.values.iter().map(|v| v[row].to_string()));
            writer.write_record(&record).map_err(io)?;
        }
        writer.flush().map_err(|e| Error::Io {
            path: "<forecast output>".into(),
            source: e,
        })
    }
}

/// Fits and applies a set of models on a panel of series.
pub struct NeuralForecast {
    specs: Vec<ModelSpec>,
    names: Vec<String>,
    columns: Vec<String>,
    freq: Option<Freq>,
    features: FeatureConfig,
    device: Device,
    searches: Searches,
    ensemble: Option<Ensemble>,
    pub(crate) fitted: Option<FittedState>,
}

impl NeuralForecast {
    /// Prepares the models; `freq` overrides the frequency inferred from the data.
    pub fn new(specs: Vec<ModelSpec>, freq: Option<Freq>) -> Result<NeuralForecast> {
        if specs.is_empty() {
            return Err(Error::Config("no model given".into()));
        }
        for spec in &specs {
            spec.validate()?;
        }
        if let Some(other) = specs.iter().find(|s| s.h != specs[0].h) {
            return Err(Error::Config(format!(
                "all models must share one horizon: {} has h={} but {} has h={}",
                specs[0].display_name(),
                specs[0].h,
                other.display_name(),
                other.h
            )));
        }
        let names = unique_names(&specs);
        for (i, name) in names.iter().enumerate() {
            if ["unique_id", "ds", "cutoff", "y"].contains(&name.as_str()) {
                return Err(Error::Config(format!(
                    "model name '{name}' would clash with a forecast column: choose another alias"
                )));
            }
            if names[..i].contains(name) {
                return Err(Error::Config(format!(
                    "two models would both be named '{name}': give them distinct aliases"
                )));
            }
        }
        let columns = specs
            .iter()
            .zip(&names)
            .flat_map(|(spec, name)| spec.forecast_columns(name))
            .collect();
        Ok(NeuralForecast {
            specs,
            names,
            columns,
            freq,
            features: FeatureConfig::default(),
            device: Device::Cpu,
            searches: Searches::new(),
            ensemble: None,
            fitted: None,
        })
    }

    /// Adds an `Ensemble` column combining the models' point forecasts to every forecast and
    /// cross-validation (see [`crate::ensemble`]); with conformal calibration it gets
    /// intervals of its own, calibrated like a model's. Checkpoints keep it. `None` (an
    /// `Option<Ensemble>` is accepted too) leaves the forecaster without one.
    pub fn with_ensemble(
        mut self,
        ensemble: impl Into<Option<Ensemble>>,
    ) -> Result<NeuralForecast> {
        let ensemble = ensemble.into();
        if let Some(ensemble) = &ensemble {
            ensemble.check(&self.specs, &self.names)?;
        }
        self.ensemble = ensemble;
        Ok(self)
    }

    /// The ensemble of the models, when one was set.
    pub fn ensemble(&self) -> Option<&Ensemble> {
        self.ensemble.as_ref()
    }

    /// `forecasts` with the ensemble's column added, when there is an ensemble.
    fn with_ensemble_column(&self, forecasts: Forecasts) -> Result<Forecasts> {
        match &self.ensemble {
            Some(e) => e.add_column(forecasts, &self.names),
            None => Ok(forecasts),
        }
    }

    /// `forecasts` without the ensemble's members' columns, unless it keeps them.
    fn without_members(&self, forecasts: Forecasts) -> Forecasts {
        match &self.ensemble {
            Some(e) => e.drop_members(forecasts),
            None => forecasts,
        }
    }

    /// Keeps the hyperparameter searches that chose these models' settings, by model name
    /// (see [`crate::auto`]); checkpoints save them with the models. Each key must name one
    /// of the models.
    pub fn with_searches(mut self, searches: Searches) -> Result<NeuralForecast> {
        if let Some(name) = searches.keys().find(|k| !self.names.contains(k)) {
            return Err(Error::Config(format!(
                "a search history is kept for '{name}', which is not one of the models ({})",
                self.names.join(", ")
            )));
        }
        if let Some((name, _)) = searches.iter().find(|(_, h)| h.best >= h.trials.len()) {
            return Err(Error::Config(format!(
                "the search history of '{name}' names a best trial it does not hold"
            )));
        }
        self.searches = searches;
        Ok(self)
    }

    /// The hyperparameter searches kept with the models, by model name.
    pub fn searches(&self) -> &Searches {
        &self.searches
    }

    /// Searches the hyperparameters of every model that has options in `autos` (one entry per
    /// model, `None` for those not searched; see [`crate::auto::search_models`]) on `frame`
    /// without its last `held_out` points, with the statics and cancel flag of `options`, and
    /// returns the models with each search's choice in place and its history kept, unfitted,
    /// with this forecaster's frequency, features, device and ensemble. Static values missing
    /// for a series of `frame` are an error before any trial. When no model has options,
    /// returns `self` unchanged.
    pub fn searched(
        self,
        autos: &[Option<AutoOptions>],
        frame: &TimeSeriesFrame,
        held_out: usize,
        options: &FitOptions,
        progress: Option<&SearchProgressFn<'_>>,
    ) -> Result<NeuralForecast> {
        if autos.iter().all(Option::is_none) {
            return Ok(self);
        }
        check_static_values(frame, &self.needs()?, options.statics.as_deref())?;
        let device = self.device();
        let data = SearchData {
            frame,
            freq: self.freq,
            features: &self.features,
            statics: options.statics.as_ref(),
            device,
            cancel: options.cancel.as_deref(),
        };
        let (specs, searches) = search_models(
            self.specs.clone(),
            &self.names,
            autos,
            &data,
            held_out,
            progress,
        )?;
        let nf = NeuralForecast::new(specs, self.freq)?
            .with_features(self.features.clone())?
            .with_device(device)?
            .with_searches(searches)?;
        nf.with_ensemble(self.ensemble)
    }

    /// Trains and forecasts on `device` from now on (the CPU unless chosen). Fitted models
    /// (after a fit, or loaded from a checkpoint, which loads on the CPU) are moved there with
    /// their weights unchanged.
    pub fn with_device(mut self, device: ComputeDevice) -> Result<NeuralForecast> {
        let device = device.open()?;
        if let Some(fitted) = self.fitted.as_mut() {
            for (spec, model) in self.specs.iter().zip(fitted.models.iter_mut()) {
                *model =
                    FittedModel::new(model.built.moved_to(spec, &device)?, model.report.take());
            }
        }
        self.device = device;
        Ok(self)
    }

    /// The device models train and forecast on.
    pub fn device(&self) -> ComputeDevice {
        ComputeDevice::of(&self.device)
    }

    /// Generates exogenous columns (calendar features, features of `y`) that the models can
    /// list by name; checked against the models' lists.
    pub fn with_features(mut self, features: FeatureConfig) -> Result<NeuralForecast> {
        Needs::of(&self.specs, &features)?;
        self.features = features;
        Ok(self)
    }

    /// The generated exogenous columns.
    pub fn features(&self) -> &FeatureConfig {
        &self.features
    }

    fn needs(&self) -> Result<Needs> {
        Needs::of(&self.specs, &self.features)
    }

    /// The series of `data` with the exogenous columns the models read, after checking the
    /// targets, and the static values to keep for them: those of `options`, else those kept by
    /// the last fit (or checkpoint).
    fn training_panel<'a>(
        &self,
        data: &'a TimeSeriesFrame,
        options: &FitOptions,
    ) -> Result<(Panel<'a>, Option<StaticTable>)> {
        self.check_targets(data)?;
        let ends: Vec<SeriesEnd<'_>> = data
            .series()
            .iter()
            .map(|s| SeriesEnd {
                id: &s.id,
                len: s.y.len(),
                last: s.ds.at(s.ds.len() - 1),
            })
            .collect();
        self.check_multivariate(&ends, Stage::Training)?;
        let saved = self.fitted.as_ref().and_then(|f| f.statics.as_ref());
        let statics = options.statics.as_deref().or(saved);
        let panel = Panel::from_frame(data, &self.needs()?, &self.features, statics)?;
        let kept = statics.map(|t| t.subset(panel.ids.iter().copied()));
        Ok((panel, kept))
    }

    /// Checks, before any training, that `futr` covers the `h` steps after each series of `data`
    /// for every future column that is not generated.
    pub fn check_future_values(
        &self,
        data: &TimeSeriesFrame,
        futr: Option<&FutureTable>,
    ) -> Result<()> {
        let freq = self.check_freq(data)?;
        let needs = self.needs()?;
        for s in data.series() {
            let last = s.ds.at(s.ds.len() - 1);
            future_values(
                &s.id,
                last,
                freq,
                self.horizon(),
                &needs,
                &self.features,
                futr,
            )?;
        }
        Ok(())
    }

    /// Checks that the series suit every multivariate model (see [`multivariate::check_panel`]).
    fn check_multivariate(&self, series: &[SeriesEnd<'_>], stage: Stage) -> Result<()> {
        for (spec, name) in self.specs.iter().zip(&self.names) {
            if let Some(n_series) = spec.multivariate_series() {
                multivariate::check_panel(name, n_series, series, stage)?;
            }
        }
        Ok(())
    }

    /// Count distributions need non-negative targets.
    fn check_targets(&self, data: &TimeSeriesFrame) -> Result<()> {
        let counts = self.specs.iter().find(|s| {
            s.train
                .loss
                .as_distribution()
                .is_some_and(|d| d.family.is_count())
        });
        let Some(spec) = counts else {
            return Ok(());
        };
        for s in data.series() {
            if let Some(t) = s.y.iter().position(|&v| v < 0.0) {
                return Err(Error::Data(format!(
                    "{}: series '{}' at ds {}: y is {}, but {} counts with loss {} need \
                     non-negative targets",
                    data.source(),
                    s.id,
                    s.ds.at(t),
                    s.y[t],
                    spec.display_name(),
                    spec.train.loss
                )));
            }
        }
        Ok(())
    }

    /// The model specifications.
    pub fn specs(&self) -> &[ModelSpec] {
        &self.specs
    }

    /// Forecast column names (`NHITS`, `NHITS1`, ... for repeated models).
    pub fn model_names(&self) -> &[String] {
        &self.names
    }

    /// Forecast column names, model by model (`NHITS`, or `NHITS-median`, `NHITS-lo-90`, ...).
    pub fn forecast_columns(&self) -> &[String] {
        &self.columns
    }

    /// The forecast horizon.
    pub fn horizon(&self) -> usize {
        self.specs[0].h
    }

    /// The frequency the models were fitted at (None before fitting).
    pub fn fitted_freq(&self) -> Option<Freq> {
        self.fitted.as_ref().map(|f| f.freq)
    }

    /// Number of trainable parameters of each fitted model.
    pub fn parameter_counts(&self) -> Vec<usize> {
        self.fitted
            .iter()
            .flat_map(|f| f.models.iter())
            .map(|m| {
                let data = m
                    .built
                    .varmap
                    .data()
                    .lock()
                    .expect("parameter map lock poisoned");
                data.iter()
                    .filter(|(name, _)| !crate::nn::is_buffer(name))
                    .map(|(_, v)| v.elem_count())
                    .sum()
            })
            .collect()
    }

    /// The fingerprint of the data the models were fitted on (None before fitting, and for
    /// checkpoints written before fingerprints were kept).
    pub fn training_data(&self) -> Option<&DataFingerprint> {
        self.fitted.as_ref().and_then(|f| f.data.as_ref())
    }

    /// The calibration windows of the conformal intervals (None without a calibrated fit).
    pub fn calibration(&self) -> Option<Calibration> {
        self.fitted
            .as_ref()
            .and_then(|f| f.conformity.as_ref())
            .map(|c| c.settings())
    }

    /// Training reports of the last fit (one per model; absent for loaded checkpoints).
    pub fn train_reports(&self) -> Vec<Option<&TrainReport>> {
        self.fitted
            .iter()
            .flat_map(|f| f.models.iter().map(|m| m.report.as_ref()))
            .collect()
    }

    /// Trains every model on `data`.
    pub fn fit(
        &mut self,
        data: &TimeSeriesFrame,
        options: FitOptions,
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<()> {
        let freq = self.check_freq(data)?;
        let (panel, statics) = self.training_panel(data, &options)?;
        if options.val_size > 0 {
            if let Some(short) = data.series().iter().find(|s| s.y.len() <= options.val_size) {
                return Err(Error::Data(format!(
                    "{}: series '{}' has {} observations, not more than val_size {}",
                    data.source(),
                    short.id,
                    short.y.len(),
                    options.val_size
                )));
            }
        }
        let conformity = match options.prediction_intervals {
            Some(settings) => {
                Some(self.conformity_scores(data, &panel, settings, &options, 0, progress)?)
            }
            None => None,
        };
        let models = self.train_all(&panel, 0, &options, progress)?;
        self.fitted = Some(FittedState {
            models,
            freq,
            ds_style: data.ds_style(),
            tails: self.tails_of(data, &panel),
            conformity,
            statics,
            data: Some(data.fingerprint()),
        });
        Ok(())
    }

    /// Absolute errors of each point model over the calibration windows `settings` chooses,
    /// ending `offset` points before the end of each series, and the scale of each window (of
    /// the history before its cutoff).
    fn conformity_scores(
        &self,
        data: &TimeSeriesFrame,
        panel: &Panel<'_>,
        settings: PredictionIntervals,
        options: &FitOptions,
        offset: usize,
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<ConformityScores> {
        settings.validate()?;
        let h = self.horizon();
        let series = data.series();
        let Some(shortest) = series.iter().min_by_key(|s| s.y.len()) else {
            return Err(Error::Data(format!(
                "{}: no series to calibrate on",
                data.source()
            )));
        };
        let room = CalibrationRoom {
            shortest: shortest.y.len().saturating_sub(offset + options.val_size),
            series: series.len(),
            h,
            input_size: self.specs.iter().map(|s| s.input_size).max().unwrap_or(0),
        };
        let settings = settings.resolve(room).map_err(|needed| {
            let before = if offset > 0 {
                format!(" before the last {offset}")
            } else {
                String::new()
            };
            Error::Data(format!(
                "{}: series '{}' has {} observations{before}; conformal intervals with h={h} \
                 ({}) need at least {needed}: use fewer or closer calibration windows or a \
                 shorter horizon",
                data.source(),
                shortest.id,
                room.shortest,
                settings.describe(),
            ))
        })?;
        let calibration = FitOptions {
            prediction_intervals: None,
            ..options.clone()
        };
        let (cv, _) = self.run_cross_validation(
            data,
            panel,
            (settings.n_windows, settings.step_size),
            offset,
            &calibration,
            progress,
        )?;
        let actual = cv.y.as_deref().unwrap_or_default();
        let mut scores = std::collections::HashMap::new();
        for name in self.point_models() {
            let Some(values) = cv.column(&name) else {
                continue;
            };
            let mut by_series: std::collections::HashMap<String, Vec<f64>> = Default::default();
            for ((id, y), yhat) in cv.ids.iter().zip(actual).zip(values) {
                by_series
                    .entry(id.clone())
                    .or_default()
                    .push((y - yhat).abs());
            }
            scores.insert(name, by_series);
        }
        let scale_window = room.input_size;
        let scales = series
            .iter()
            .map(|s| {
                let first = s.y.len() - offset - settings.span(h);
                let per_window = (0..settings.n_windows)
                    .map(|w| window_scale(&s.y[..first + w * settings.step_size], scale_window))
                    .collect();
                (s.id.clone(), per_window)
            })
            .collect();
        Ok(ConformityScores::new(
            settings,
            h,
            scores,
            scales,
            scale_window,
        ))
    }

    /// Column names of the models that make point forecasts, and the ensemble's when there is
    /// one (conformal intervals apply only to those).
    fn point_models(&self) -> impl Iterator<Item = String> + '_ {
        self.specs
            .iter()
            .zip(&self.names)
            .filter(|(spec, _)| spec.train.loss.makes_point_forecasts())
            .map(|(_, name)| name.clone())
            .chain(self.ensemble.is_some().then(|| ENSEMBLE_COLUMN.to_string()))
    }

    /// Trains every model on the series of `panel` less their last `held_out` points.
    fn train_all(
        &self,
        panel: &Panel<'_>,
        held_out: usize,
        options: &FitOptions,
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<Vec<FittedModel>> {
        self.specs
            .iter()
            .zip(&self.names)
            .map(|(spec, name)| {
                let series = panel
                    .views(&spec.exog)?
                    .into_iter()
                    .map(|v| v.truncated(v.y.len() - held_out))
                    .collect();
                let built = spec.build_for_fit(&self.device)?;
                let report = train_model(
                    name,
                    built.model.as_ref(),
                    &built.varmap,
                    spec.window_shapes(),
                    &spec.train,
                    &TrainingData {
                        series,
                        val_size: options.val_size,
                        cancel: options.cancel.as_deref(),
                    },
                    progress,
                )?;
                Ok(FittedModel::new(built, Some(report)))
            })
            .collect()
    }

    fn check_freq(&self, data: &TimeSeriesFrame) -> Result<Freq> {
        match self.freq {
            Some(freq) if freq != data.freq() => Err(Error::Config(format!(
                "{}: the data's frequency is {} but {} was requested",
                data.source(),
                data.freq().alias(),
                freq.alias()
            ))),
            _ => Ok(data.freq()),
        }
    }

    /// The end of each series of `data` (whose columns `panel` holds), enough to forecast it.
    fn tails_of(&self, data: &TimeSeriesFrame, panel: &Panel<'_>) -> Vec<SeriesTail> {
        let keep = self
            .specs
            .iter()
            .map(|s| s.window_shapes().inference.input_size)
            .max()
            .unwrap_or(0);
        data.series()
            .iter()
            .zip(&panel.temporal)
            .map(|(s, columns)| {
                let from = s.y.len().saturating_sub(keep);
                SeriesTail {
                    id: s.id.clone(),
                    last_ds: s.ds.at(s.ds.len() - 1),
                    values: s.y[from..].to_vec(),
                    exog: columns
                        .iter()
                        .map(|(name, v)| (name.clone(), v[from..s.y.len()].to_vec()))
                        .collect(),
                }
            })
            .collect()
    }

    fn fitted(&self) -> Result<&FittedState> {
        self.fitted
            .as_ref()
            .ok_or_else(|| Error::NotFitted("call fit (or load a checkpoint) first".into()))
    }

    /// Forecasts `h` steps after the end of each series: those of `data` when given, else those
    /// seen at fit time.
    pub fn predict(&self, data: Option<&TimeSeriesFrame>) -> Result<Forecasts> {
        self.predict_with(PredictOptions {
            data,
            ..PredictOptions::default()
        })
    }

    /// Forecasts like [`NeuralForecast::predict`], plus conformal prediction intervals at
    /// `levels` (percent) for the point models, which needs a fit with `prediction_intervals`.
    pub fn predict_with_levels(
        &self,
        data: Option<&TimeSeriesFrame>,
        levels: &[f64],
    ) -> Result<Forecasts> {
        self.predict_with(PredictOptions {
            data,
            levels,
            ..PredictOptions::default()
        })
    }

    /// Forecasts `h` steps after the end of each series, with future and static exogenous
    /// values and conformal intervals as `options` gives them. Interval columns follow their
    /// model's column, as in NeuralForecast: `NHITS, NHITS-lo-95, NHITS-lo-80, NHITS-hi-80,
    /// NHITS-hi-95`.
    pub fn predict_with(&self, options: PredictOptions<'_>) -> Result<Forecasts> {
        let state = self.fitted()?;
        let h = self.horizon();
        let (panel, last_ds) = self.forecast_panel(state, &options)?;
        let cuts: Vec<(usize, usize)> = panel.y.iter().map(|y| y.len()).enumerate().collect();
        let values = self.forecast_windows(state, &panel, &cuts)?;
        let (ids, ds) = forecast_rows(&panel.ids, &last_ds, state.freq, h)?;
        let point = Forecasts {
            columns: self.columns.clone(),
            ids,
            ds,
            cutoff: None,
            y: None,
            values,
            ds_style: options.data.map_or(state.ds_style, |d| d.ds_style()),
            warnings: Vec::new(),
        };
        let point = self.with_ensemble_column(point)?;
        let forecasts = if options.levels.is_empty() {
            point
        } else {
            self.with_conformal_intervals(point, options.levels, &panel.y)?
        };
        Ok(self.without_members(forecasts))
    }

    /// Explains the forecasts [`NeuralForecast::predict_with`] makes with the same `options`
    /// (its `levels` are not read): for each model that explains its forecasts (TFT), the
    /// weight of each variable at each step and the attention between steps, window by window
    /// (see [`ModelExplanation`]). Fails when no model explains its forecasts.
    pub fn explain(&self, options: PredictOptions<'_>) -> Result<Vec<ModelExplanation>> {
        self.require_explaining_model()?;
        let state = self.fitted()?;
        let (panel, _) = self.forecast_panel(state, &options)?;
        let mut explanations = Vec::new();
        for ((spec, name), fitted) in self.specs.iter().zip(&self.names).zip(&state.models) {
            if !spec.explains() {
                continue;
            }
            let shape = spec.window_shapes().inference;
            let mut explanation = ModelExplanation::new(name, shape.input_size, spec.h, &spec.exog);
            let views = panel.views(&spec.exog)?;
            let chunk = explain_chunk(shape.input_size + spec.h);
            for (windows, ids) in views.chunks(chunk).zip(panel.ids.chunks(chunk)) {
                let batch = inference_batch(windows, shape, spec.train.scaler_type)?;
                let input = batch.tensors(&self.device)?.input;
                if let Some(interpretation) = fitted.forecaster(spec)?.interpret(&input)? {
                    explanation.push_batch(ids, &interpretation)?;
                }
            }
            explanations.push(explanation);
        }
        Ok(explanations)
    }

    /// Fails unless at least one model explains its forecasts, naming those that do.
    pub fn require_explaining_model(&self) -> Result<()> {
        if self.specs.iter().any(|s| s.explains()) {
            return Ok(());
        }
        let explaining: Vec<&str> = crate::models::model_names()
            .into_iter()
            .filter(|name| {
                crate::models::Architecture::default_for(name)
                    .is_some_and(|a| a.config().explains())
            })
            .collect();
        Err(Error::Config(format!(
            "none of the models ({}) explains its forecasts; models that do: {}",
            self.names.join(", "),
            explaining.join(", ")
        )))
    }

    /// The series to forecast as [`NeuralForecast::predict_with`] reads them from `options`,
    /// their future values over the horizon added, and each series' last time stamp.
    fn forecast_panel<'a>(
        &self,
        state: &'a FittedState,
        options: &PredictOptions<'a>,
    ) -> Result<(Panel<'a>, Vec<Timestamp>)> {
        let needs = self.needs()?;
        let statics = options.statics.or(state.statics.as_ref());
        let h = self.horizon();
        let (mut panel, last_ds) = match options.data {
            Some(frame) => {
                if frame.freq() != state.freq {
                    return Err(Error::Config(format!(
                        "{}: the data's frequency is {} but the models were fitted at {}",
                        frame.source(),
                        frame.freq().alias(),
                        state.freq.alias()
                    )));
                }
                let panel = Panel::from_frame(frame, &needs, &self.features, statics)?;
                let last: Vec<Timestamp> = frame
                    .series()
                    .iter()
                    .map(|s| s.ds.at(s.ds.len() - 1))
                    .collect();
                (panel, last)
            }
            None => {
                let tails = &state.tails;
                let panel = Panel::from_parts(
                    tails.iter().map(|t| t.id.as_str()).collect(),
                    tails.iter().map(|t| t.values.as_slice()).collect(),
                    tails.iter().map(|t| t.exog.clone()).collect(),
                    &needs,
                    statics,
                )?;
                (panel, tails.iter().map(|t| t.last_ds).collect())
            }
        };
        let ends: Vec<SeriesEnd<'_>> = panel
            .ids
            .iter()
            .zip(&panel.y)
            .zip(&last_ds)
            .map(|((&id, y), &last)| SeriesEnd {
                id,
                len: y.len(),
                last,
            })
            .collect();
        self.check_multivariate(&ends, Stage::Forecasting)?;
        if options.data.is_some() {
            let fitted: Vec<&str> = state.tails.iter().map(|t| t.id.as_str()).collect();
            for (spec, name) in self.specs.iter().zip(&self.names) {
                if spec.multivariate_series().is_some() {
                    multivariate::check_same_series(name, &fitted, &panel.ids)?;
                }
            }
        }
        panel.extend_future(
            &last_ds,
            state.freq,
            h,
            &needs,
            &self.features,
            options.futr,
        )?;
        Ok((panel, last_ds))
    }

    /// The fitted models' forecasts from the first `cut` observations of series `i` of `data`,
    /// for each `(i, cut)` of `cuts`: per forecast column, `h` values per cut in cut order (what a
    /// cross-validation window with that cutoff forecasts). Each cut must leave an observation
    /// before it and `h` after it, so that future values the models read are in `data`.
    pub fn forecast_from(
        &self,
        data: &TimeSeriesFrame,
        cuts: &[(usize, usize)],
    ) -> Result<Vec<Vec<f64>>> {
        let state = self.fitted()?;
        let h = self.horizon();
        for &(i, cut) in cuts {
            let series = data
                .series()
                .get(i)
                .ok_or_else(|| Error::Config(format!("{}: no series number {i}", data.source())))?;
            if cut == 0 || cut + h > series.len() {
                return Err(Error::Config(format!(
                    "{}: series '{}' has {} observations; a forecast from the first {cut} \
                     needs at least 1 of them and {h} after them",
                    data.source(),
                    series.id,
                    series.len()
                )));
            }
        }
        let (panel, _) = self.training_panel(data, &FitOptions::default())?;
        self.forecast_windows(state, &panel, cuts)
    }

    /// Adds conformal interval columns at `levels` to point forecasts this forecaster made of
    /// the series of `data` (None: the series seen at fit time), e.g. of several panels
    /// predicted together and then split: the pooled method scales a series not seen at fit
    /// time by its history in `data`.
    pub fn add_intervals(
        &self,
        point: Forecasts,
        levels: &[f64],
        data: Option<&TimeSeriesFrame>,
    ) -> Result<Forecasts> {
        let histories: Vec<&[f64]> = data
            .map(|frame| frame.series().iter().map(|s| s.y.as_slice()).collect())
            .unwrap_or_default();
        self.with_conformal_intervals(point, levels, &histories)
    }

    /// Adds conformal interval columns at `levels` after each point model's column; window
    /// `i` of `h` rows continues `histories[i]` (when given: it scales series not seen at fit
    /// time).
    fn with_conformal_intervals(
        &self,
        point: Forecasts,
        levels: &[f64],
        histories: &[&[f64]],
    ) -> Result<Forecasts> {
        let scores = self.fitted()?.conformity.as_ref().ok_or_else(|| {
            Error::Config(
                "prediction intervals need calibration: fit with prediction_intervals \
                 (CLI: --levels when fitting)"
                    .into(),
            )
        })?;
        let h = self.horizon();
        let mut columns = Vec::new();
        let mut values = Vec::new();
        let mut warnings = point.warnings.clone();
        for (name, column) in point.columns.iter().zip(&point.values) {
            columns.push(name.clone());
            values.push(column.clone());
            if !scores.has_model(name) {
                continue;
            }
            let series: Vec<SeriesForecast<'_>> = column
                .chunks(h)
                .enumerate()
                .map(|(i, forecast)| SeriesForecast {
                    id: &point.ids[i * h],
                    forecast,
                    history: histories.get(i).copied().unwrap_or_default(),
                })
                .collect();
            let intervals = scores.intervals(name, &series, levels)?;
            for (suffix, band) in intervals.columns {
                columns.push(format!("{name}{suffix}"));
                values.push(band);
            }
            warnings.extend(intervals.warnings);
        }
        Ok(Forecasts {
            columns,
            values,
            warnings,
            ..point
        })
    }

    /// Runs every fitted model on the windows ending at each `(series, cut)` of `panel` (the
    /// series' first `cut` points as history); one vector per forecast column, `h` values per
    /// window.
    fn forecast_windows(
        &self,
        state: &FittedState,
        panel: &Panel<'_>,
        cuts: &[(usize, usize)],
    ) -> Result<Vec<Vec<f64>>> {
        const CHUNK: usize = 4096;
        let device = &self.device;
        let mut out = Vec::with_capacity(self.columns.len());
        for ((spec, name), fitted) in self.specs.iter().zip(&self.names).zip(&state.models) {
            let views = panel.views(&spec.exog)?;
            // A multivariate model reads its windows origin by origin, every series in each.
            let (order, rows_per_window) = match spec.multivariate_series() {
                Some(n_series) => (multivariate::window_order(name, n_series, cuts)?, n_series),
                None => ((0..cuts.len()).collect(), 1),
            };
            let windows: Vec<SeriesView<'_>> = order
                .iter()
                .map(|&k| views[cuts[k].0].truncated(cuts[k].1))
                .collect();
            let loss = &spec.train.loss;
            let mut rng = StdRng::seed_from_u64(spec.train.random_seed);
            let mut columns =
                vec![Vec::with_capacity(windows.len() * spec.h); loss.suffixes().len()];
            let model = fitted.forecaster(spec)?;
            let shape = spec.window_shapes().inference;
            let chunks: Vec<&[SeriesView<'_>]> = windows
                .chunks(CHUNK.div_ceil(rows_per_window) * rows_per_window)
                .collect();
            let prepare = |chunk: &&[SeriesView<'_>]| {
                inference_batch(chunk, shape, spec.train.scaler_type)?.tensors(device)
            };
            // On the CPU the next chunk's windows are built while this one is forecast.
            let side_by_side = device.is_cpu() && crate::threads::side_by_side();
            prefetched(side_by_side, &chunks, prepare, |t| -> Result<()> {
                let t = t?;
                let steps = model.autoregressive();
                let paths = spec.step_windows().and_then(|w| w.trajectory_samples);
                let chunk_columns = match (steps, loss.as_distribution(), paths) {
                    (Some(steps), Some(distribution), Some(paths)) => sample_forecast_columns(
                        steps,
                        &t.input,
                        spec.h,
                        distribution,
                        &t.window,
                        paths,
                        &mut rng,
                    )?,
                    _ => {
                        let output = match steps {
                            Some(steps) => point_path(steps, &t.input, spec.h, loss, &t.window)?,
                            None => chunks::forward(model, &t.input)?,
                        };
                        let samples = spec
                            .step_windows()
                            .and_then(|w| w.step_draws)
                            .unwrap_or(spec.train.num_samples);
                        let mut columns =
                            loss.forecast_columns(&output, &t.window, samples, &mut rng)?;
                        if let (Some(_), Some(distribution)) = (steps, loss.as_distribution()) {
                            // The mean path's means are known exactly (they were fed back):
                            // they, not the draws' mean, are the mean column, as in
                            // NeuralForecast.
                            let means = distribution.mean(&output, &t.window)?;
                            columns[0] = means
                                .flatten_all()?
                                .to_vec1::<f32>()?
                                .into_iter()
                                .map(f64::from)
                                .collect();
                        }
                        columns
                    }
                };
                for (column, values) in columns.iter_mut().zip(chunk_columns) {
                    column.extend(values);
                }
                Ok(())
            })?;
            out.extend(columns.into_iter().map(|column| {
                // Back to the order of `cuts`.
                let mut restored = vec![0.0; column.len()];
                for (read, &k) in order.iter().enumerate() {
                    restored[k * spec.h..(k + 1) * spec.h]
                        .copy_from_slice(&column[read * spec.h..(read + 1) * spec.h]);
                }
                restored
            }));
        }
        Ok(out)
    }

    /// The points a cross-validation of `n_windows` cutoffs `step_size` apart holds out of
    /// each series: `h + step_size * (n_windows - 1)` (what a search before it must not see).
    pub fn cross_validation_span(&self, n_windows: usize, step_size: usize) -> Result<usize> {
        test_span(self.horizon(), (n_windows, step_size))
    }

    /// Rolling-origin evaluation: trains once on each series minus its last
    /// `h + step_size * (n_windows - 1)` points, then forecasts from `n_windows` cutoffs
    /// `step_size` apart using the observed history up to each cutoff (and the data's future
    /// exogenous values after it).
    pub fn cross_validation(
        &mut self,
        data: &TimeSeriesFrame,
        n_windows: usize,
        step_size: usize,
        options: FitOptions,
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<Forecasts> {
        self.cross_validation_with_levels(data, (n_windows, step_size), options, &[], progress)
    }

    /// Cross-validation like [`NeuralForecast::cross_validation`] (`windows`: `n_windows`,
    /// `step_size`), with conformal intervals at `levels` for the point models when `options`
    /// has `prediction_intervals`: they are calibrated on windows before the first cutoff, so
    /// that the evaluated windows measure their coverage.
    pub fn cross_validation_with_levels(
        &mut self,
        data: &TimeSeriesFrame,
        windows: (usize, usize),
        options: FitOptions,
        levels: &[f64],
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<Forecasts> {
        let (n_windows, step_size) = windows;
        let test_size = test_span(self.horizon(), windows)?;
        if !levels.is_empty() && options.prediction_intervals.is_none() {
            return Err(Error::Config(
                "interval levels in cross-validation need prediction_intervals to calibrate them"
                    .into(),
            ));
        }
        let (panel, statics) = self.training_panel(data, &options)?;
        let conformity = match options.prediction_intervals {
            Some(settings) => {
                Some(self.conformity_scores(data, &panel, settings, &options, test_size, progress)?)
            }
            None => None,
        };
        let options = FitOptions {
            prediction_intervals: None,
            ..options
        };
        let (forecasts, state) =
            self.run_cross_validation(data, &panel, windows, 0, &options, progress)?;
        self.fitted = Some(FittedState {
            tails: self.tails_of(data, &panel),
            statics,
            data: Some(data.fingerprint()),
            conformity,
            ..state
        });
        if levels.is_empty() {
            return Ok(self.without_members(forecasts));
        }
        let histories: Vec<&[f64]> = data
            .series()
            .iter()
            .flat_map(|s| {
                let first = s.y.len() - test_size;
                (0..n_windows).map(move |w| &s.y[..first + w * step_size])
            })
            .collect();
        let forecasts = self.with_conformal_intervals(forecasts, levels, &histories)?;
        Ok(self.without_members(forecasts))
    }

    /// Cross-validation without keeping the models: the forecasts and the state trained on the
    /// shortened series. `windows` is `(n_windows, step_size)`; the last window ends `offset`
    /// points before the end of each series.
    fn run_cross_validation(
        &self,
        data: &TimeSeriesFrame,
        panel: &Panel<'_>,
        windows: (usize, usize),
        offset: usize,
        options: &FitOptions,
        progress: Option<&ProgressFn<'_>>,
    ) -> Result<(Forecasts, FittedState)> {
        let (n_windows, step_size) = windows;
        let freq = self.check_freq(data)?;
        let h = self.horizon();
        let test_size = test_span(h, windows)?;
        let needed = test_size
            .saturating_add(offset)
            .saturating_add(options.val_size);
        if let Some(short) = data.series().iter().find(|s| s.y.len() <= needed) {
            return Err(Error::Data(format!(
                "{}: series '{}' has {} observations; cross-validation with h={h}, n_windows={n_windows}, \
                 step_size={step_size} and val_size={} needs more than {}",
                data.source(),
                short.id,
                short.y.len(),
                options.val_size,
                needed
            )));
        }
        let models = self.train_all(panel, test_size + offset, options, progress)?;
        let state = FittedState {
            models,
            freq,
            ds_style: data.ds_style(),
            tails: Vec::new(),
            conformity: None,
            statics: None,
            data: None,
        };
        let mut cuts = Vec::new(); // (series index, cutoff index)
        for (i, s) in data.series().iter().enumerate() {
            for w in 0..n_windows {
                cuts.push((i, s.y.len() - offset - test_size + w * step_size));
            }
        }
        let per_window = self.forecast_windows(&state, panel, &cuts)?;
        let mut result = Forecasts {
            columns: self.columns.clone(),
            ids: Vec::new(),
            ds: Vec::new(),
            cutoff: Some(Vec::new()),
            y: Some(Vec::new()),
            values: vec![Vec::new(); self.columns.len()],
            ds_style: data.ds_style(),
            warnings: Vec::new(),
        };
        for (w, &(i, cut)) in cuts.iter().enumerate() {
            let s = &data.series()[i];
            for step in 0..h {
                result.ids.push(s.id.clone());
                result.ds.push(s.ds.at(cut + step));
                if let Some(c) = result.cutoff.as_mut() {
                    c.push(s.ds.at(cut - 1));
                }
                if let Some(y) = result.y.as_mut() {
                    y.push(s.y[cut + step]);
                }
                for (m, column) in per_window.iter().enumerate() {
                    result.values[m].push(column[w * h + step]);
                }
            }
        }
        Ok((self.with_ensemble_column(result)?, state))
    }
}

/// Points at the end of each series that `(n_windows, step_size)` cross-validation windows of
/// horizon `h` cover.
fn test_span(h: usize, (n_windows, step_size): (usize, usize)) -> Result<usize> {
    if n_windows == 0 || step_size == 0 {
        return Err(Error::Config(
            "n_windows and step_size must be at least 1".into(),
        ));
    }
    step_size
        .checked_mul(n_windows - 1)
        .and_then(|n| n.checked_add(h))
        .ok_or_else(|| Error::Config("n_windows x step_size is too large".into()))
}

/// NeuralForecast's naming: the second model of a name gets suffix 1, the third 2, ...
fn unique_names(specs: &[ModelSpec]) -> Vec<String> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    specs
        .iter()
        .map(|spec| {
            let name = spec.display_name();
            let count = seen.entry(name).or_insert(0);
            let out = if *count == 0 {
                name.to_string()
            } else {
                format!("{name}{count}")
            };
            *count += 1;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_models_are_numbered() {
        let specs = vec![
            ModelSpec::new("NHITS", 2, 4).unwrap(),
            ModelSpec::new("MLP", 2, 4).unwrap(),
            ModelSpec::new("NHITS", 2, 4).unwrap(),
            ModelSpec::new("NHITS", 2, 4).unwrap(),
        ];
        assert_eq!(unique_names(&specs), ["NHITS", "MLP", "NHITS1", "NHITS2"]);
    }

    #[test]
    fn aliases_must_give_distinct_non_reserved_names() {
        let mut aliased = ModelSpec::new("NHITS", 2, 4).unwrap();
        aliased.alias = Some("NHITS1".into());
        let specs = vec![
            aliased,
            ModelSpec::new("NHITS", 2, 4).unwrap(),
            ModelSpec::new("NHITS", 2, 4).unwrap(),
        ];
        let err = NeuralForecast::new(specs, None).err().unwrap().to_string();
        assert!(
            err.contains("two models would both be named 'NHITS1'"),
            "{err}"
        );
        let mut reserved = ModelSpec::new("MLP", 2, 4).unwrap();
        reserved.alias = Some("y".into());
        let err = NeuralForecast::new(vec![reserved], None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("model name 'y' would clash"), "{err}");
    }

    #[test]
    fn horizons_must_agree() {
        let specs = vec![
            ModelSpec::new("NHITS", 2, 4).unwrap(),
            ModelSpec::new("MLP", 3, 4).unwrap(),
        ];
        let err = NeuralForecast::new(specs, None).err().unwrap().to_string();
        assert!(err.contains("share one horizon"), "{err}");
    }
}
