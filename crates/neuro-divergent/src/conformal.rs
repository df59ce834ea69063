//! Conformal prediction intervals for point models. At fit time a rolling cross-validation
//! (`n_windows` cutoffs `step_size` apart, models trained without the calibration span) records
//! each series' absolute errors per horizon step; at predict time they turn point forecasts into
//! intervals for the requested levels.
//!
//! The default, [`ConformalMethod::ConformalPooled`], is normalized split conformal prediction:
//! each error is divided by the scale of the history its forecast started from (the mean
//! absolute one-step change over the last `scale_window` observations before the cutoff, as in
//! MASE, so that series of different sizes, and a series whose variation grows, give comparable
//! scores), the scaled errors of all series and windows are pooled per horizon step, and the
//! half-width is the finite-sample quantile: the `ceil((n + 1) * level)`-th smallest of the `n`
//! pooled scores. When a step has fewer than [`TARGET_SCORES`] scores (one short series), the
//! steps are pooled too, each step's scores divided by their mean first and the pooled quantile
//! multiplied back by it: the width keeps its shape over the horizon while its size comes from
//! `n * h` scores, so that the discreteness of a few ranks (12 of 13 is the 80% quantile of 13)
//! does not widen every interval. An interval is `forecast ± scale * quantile`, the scale taken
//! the same way from the history the forecast continues. The calibration windows are
//! chosen from the data ([`PredictionIntervals::resolve`]). NeuralForecast's per-series methods
//! stay available by name with its definitions and defaults (2 windows one step apart).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::losses::{fmt_level, QuantileSet};

/// How scores become intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConformalMethod {
    /// Scaled errors pooled across series per horizon step, finite-sample quantile (default).
    #[default]
    ConformalPooled,
    /// Quantiles of one series' 2W paths `forecast ± score` (NeuralForecast's default).
    ConformalDistribution,
    /// `forecast ± quantile(score, 1 - alpha/2)` of one series' scores (NeuralForecast).
    ConformalError,
}

impl ConformalMethod {
    /// Parses `conformal_pooled`, `conformal_distribution` or `conformal_error`.
    pub fn parse(text: &str) -> Result<ConformalMethod> {
        match text.trim() {
            "conformal_pooled" => Ok(ConformalMethod::ConformalPooled),
            "conformal_distribution" => Ok(ConformalMethod::ConformalDistribution),
            "conformal_error" => Ok(ConformalMethod::ConformalError),
            other => Err(Error::Config(format!(
                "unknown conformal method '{other}': expected conformal_pooled, \
                 conformal_distribution or conformal_error"
            ))),
        }
    }

    /// The method's name as `parse` reads it.
    pub fn name(self) -> &'static str {
        match self {
            ConformalMethod::ConformalPooled => "conformal_pooled",
            ConformalMethod::ConformalDistribution => "conformal_distribution",
            ConformalMethod::ConformalError => "conformal_error",
        }
    }

    /// True for NeuralForecast's methods, which read only each series' own scores.
    pub fn per_series(self) -> bool {
        self != ConformalMethod::ConformalPooled
    }
}

/// Settings of conformal prediction intervals; what is left unset is chosen from the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionIntervals {
    /// Calibration windows (at least 2). Unset: NeuralForecast's 2 for its per-series methods;
    /// for the pooled method, enough for [`TARGET_SCORES`] scores per horizon step, at least as
    /// many non-overlapping windows as the data allows up to [`MAX_SPREAD_WINDOWS`].
    pub n_windows: Option<usize>,
    /// How errors become intervals.
    pub method: ConformalMethod,
    /// Distance between calibration cutoffs. Unset: 1 for the per-series methods (as
    /// NeuralForecast); the horizon for the pooled method (windows that do not overlap), closer
    /// only when the shortest series has no room for enough windows.
    pub step_size: Option<usize>,
}

/// Pooled scores per horizon step the automatic choice aims for: enough for 98% intervals.
pub const TARGET_SCORES: usize = 50;

/// Non-overlapping windows the automatic choice takes when the data has room, even when
/// fewer would reach [`TARGET_SCORES`]: errors from more of the recent past.
pub const MAX_SPREAD_WINDOWS: usize = 10;

/// The calibration windows used for one fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calibration {
    /// Cross-validation windows whose errors calibrate the intervals.
    pub n_windows: usize,
    /// How errors become intervals.
    pub method: ConformalMethod,
    /// Distance between calibration cutoffs.
    #[serde(default = "one_step")]
    pub step_size: usize,
}

fn one_step() -> usize {
    1
}

impl Calibration {
    /// Points at the end of each series the calibration windows cover.
    pub fn span(&self, h: usize) -> usize {
        h + self.step_size * (self.n_windows - 1)
    }
}

/// What the calibration windows must fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalibrationRoom {
    /// Observations of the shortest series available to calibration.
    pub shortest: usize,
    /// Number of series.
    pub series: usize,
    /// Forecast horizon.
    pub h: usize,
    /// The longest input window of the models.
    pub input_size: usize,
}

impl CalibrationRoom {
    /// Observations every series keeps for training the calibration models: one training
    /// window, and at least three quarters of the shortest series (calibration models trained
    /// on much less than the final models err more, and widen the intervals).
    fn kept(&self) -> usize {
        (self.input_size + self.h).max((3 * self.shortest).div_ceil(4))
    }

    /// Observations the shortest series needs for automatic calibration (two windows one step
    /// apart after one training window).
    pub fn needed(&self) -> usize {
        self.input_size + 2 * self.h + 1
    }
}

impl PredictionIntervals {
    /// NeuralForecast's `PredictionIntervals()`: 2 windows one step apart,
    /// `conformal_distribution`.
    pub fn neuralforecast() -> PredictionIntervals {
        PredictionIntervals {
            n_windows: Some(2),
            method: ConformalMethod::ConformalDistribution,
            step_size: Some(1),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.n_windows.is_some_and(|n| n < 2) {
            return Err(Error::Config(
                "conformal intervals need at least two windows (n_windows >= 2)".into(),
            ));
        }
        if self.step_size == Some(0) {
            return Err(Error::Config(
                "conformal intervals need step_size >= 1".into(),
            ));
        }
        Ok(())
    }

    /// The settings in words, for messages.
    pub fn describe(&self) -> String {
        let windows = match self.n_windows {
            Some(n) => format!("n_windows={n}"),
            None => "n_windows chosen from the data".to_string(),
        };
        let step = match self.step_size {
            Some(s) => format!(", step_size={s}"),
            None => String::new(),
        };
        format!("{}, {windows}{step}", self.method.name())
    }

    /// The calibration windows for data with `room`; when the shortest series is too short for
    /// them, the observations it would need.
    pub fn resolve(&self, room: CalibrationRoom) -> std::result::Result<Calibration, usize> {
        let h = room.h;
        let per_series = self.method.per_series();
        let Some(n_windows) = self.n_windows.or(per_series.then_some(2)) else {
            return self.automatic(room).ok_or(room.needed());
        };
        let step_size = self.step_size.unwrap_or(if per_series { 1 } else { h });
        let needed = (h * n_windows).max(h + step_size * (n_windows - 1)) + 1;
        if room.shortest < needed {
            return Err(needed);
        }
        Ok(Calibration {
            n_windows,
            method: self.method,
            step_size,
        })
    }

    /// Pooled calibration windows chosen from the data: the room left after the kept training
    /// points, as many non-overlapping windows as fit (up to [`MAX_SPREAD_WINDOWS`]) or enough
    /// for [`TARGET_SCORES`] pooled scores, whichever is more, one step apart at the closest.
    fn automatic(&self, room: CalibrationRoom) -> Option<Calibration> {
        let h = room.h;
        let mut budget = room.shortest.saturating_sub(room.kept());
        if budget < h + 1 {
            budget = room.shortest.saturating_sub(room.input_size + h);
        }
        if budget < h + 1 {
            return None;
        }
        let spread = (budget / h).min(MAX_SPREAD_WINDOWS);
        let wanted = spread.max(TARGET_SCORES.div_ceil(room.series.max(1)));
        let fitting = match self.step_size {
            Some(step) => (budget - h) / step + 1,
            None => budget - h + 1,
        };
        let n_windows = wanted.min(fitting).max(2);
        let step_size = self
            .step_size
            .unwrap_or_else(|| ((budget - h) / (n_windows - 1)).clamp(1, h));
        if h + step_size * (n_windows - 1) > budget {
            return None;
        }
        Some(Calibration {
            n_windows,
            method: self.method,
            step_size,
        })
    }
}

/// Absolute cross-validation errors of each point model, per series: `n_windows * h` values,
/// window by window; and each series' scale for the pooled method. Read-only once made (the
/// pooled method's sorted lists are built from it on first use).
#[derive(Clone, Serialize, Deserialize)]
pub struct ConformityScores {
    /// The calibration windows they were computed on.
    settings: Calibration,
    /// Forecast horizon.
    h: usize,
    /// Model column → series id → scores.
    scores: HashMap<String, HashMap<String, Vec<f64>>>,
    /// Series id → the scale of each calibration window ([`window_scale`] of the history
    /// before its cutoff).
    #[serde(default)]
    scales: HashMap<String, Vec<f64>>,
    /// Observations before a cutoff that its scale reads.
    #[serde(default)]
    scale_window: usize,
    /// Model column → the pooled method's sorted scaled scores, built on first use.
    #[serde(skip)]
    sorted: OnceLock<HashMap<String, SortedScores>>,
}

/// One model's scaled scores sorted two ways: per horizon step, and pooled over the steps
/// ([`pool_steps`]).
#[derive(Debug, Clone)]
struct SortedScores {
    per_step: Vec<Vec<f64>>,
    pooled: Vec<Vec<f64>>,
}

impl SortedScores {
    /// Sorts `steps` (scaled scores per horizon step) both ways.
    fn new(mut steps: Vec<Vec<f64>>) -> SortedScores {
        let pooled = pool_steps(&steps);
        for step in &mut steps {
            step.sort_by(f64::total_cmp);
        }
        SortedScores {
            per_step: steps,
            pooled,
        }
    }

    /// The lists a `level` percent interval reads: each step's own when every step has enough
    /// scores for the level and at least [`TARGET_SCORES`], else the steps pooled.
    fn for_level(&self, level: f64) -> &[Vec<f64>] {
        let fewest = self.per_step.iter().map(Vec::len).min().unwrap_or(0);
        if fewest >= TARGET_SCORES.max(scores_needed(level)) {
            &self.per_step
        } else {
            &self.pooled
        }
    }
}

/// One series' point forecasts to wrap in intervals.
#[derive(Debug, Clone, Copy)]
pub struct SeriesForecast<'a> {
    /// Series id.
    pub id: &'a str,
    /// The `h` point forecasts.
    pub forecast: &'a [f64],
    /// The observed history the forecast continues (its end scales the pooled intervals).
    pub history: &'a [f64],
}

/// Interval columns of one model and what limited them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intervals {
    /// `(suffix, values)` in NeuralForecast's order (`-lo-95`, `-lo-80`, `-hi-80`, `-hi-95`),
    /// `h` values per series in the order given.
    pub columns: Vec<(String, Vec<f64>)>,
    /// Levels the calibration scores were too few to support.
    pub warnings: Vec<String>,
}

/// A series' scale: the mean absolute change between consecutive observations (MASE's scale),
/// or when the series never changes, its mean absolute value, or 1 for a series of zeros.
pub fn series_scale(values: &[f64]) -> f64 {
    let changes = values.len().saturating_sub(1);
    if changes > 0 {
        let mean = values.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / changes as f64;
        if mean > 0.0 && mean.is_finite() {
            return mean;
        }
    }
    let level = values.iter().map(|v| v.abs()).sum::<f64>() / values.len().max(1) as f64;
    if level > 0.0 && level.is_finite() {
        level
    } else {
        1.0
    }
}

/// The scale of the last `window` observations of `history` (the whole history when `window`
/// is 0): [`series_scale`].
pub fn window_scale(history: &[f64], window: usize) -> f64 {
    let start = match window {
        0 => 0,
        w => history.len().saturating_sub(w),
    };
    series_scale(&history[start..])
}

/// Linear-interpolation quantile of unsorted values (numpy's default method).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
}

/// The split-conformal quantile of `sorted` scores at `level` percent: the
/// `ceil((n + 1) * level / 100)`-th smallest, and whether `n` scores support the level (when
/// they do not, the largest score).
pub fn finite_sample_quantile(sorted: &[f64], level: f64) -> (f64, bool) {
    let n = sorted.len();
    let rank = ((n + 1) as f64 * level / 100.0 - 1e-9).ceil().max(1.0) as usize;
    if rank > n {
        (sorted[n - 1], false)
    } else {
        (sorted[rank - 1], true)
    }
}

/// Scores needed for `level` percent: the smallest `n` with
/// `ceil((n + 1) * level / 100) <= n`.
pub fn scores_needed(level: f64) -> usize {
    (level / (100.0 - level) - 1e-9).ceil().max(1.0) as usize
}

/// The scores of every horizon step pooled, sorted, per step: each step's scores divided by
/// their mean (its profile, made non-decreasing over the horizon), all of them sorted together,
/// and each step's list the pooled one times its profile. One step is only sorted.
fn pool_steps(steps: &[Vec<f64>]) -> Vec<Vec<f64>> {
    if steps.len() < 2 || steps.iter().any(Vec::is_empty) {
        return steps
            .iter()
            .map(|step| {
                let mut sorted = step.clone();
                sorted.sort_by(f64::total_cmp);
                sorted
            })
            .collect();
    }
    let means: Vec<f64> = steps
        .iter()
        .map(|step| step.iter().sum::<f64>() / step.len() as f64)
        .collect();
    let floor = means
        .iter()
        .copied()
        .filter(|m| *m > 0.0 && m.is_finite())
        .fold(f64::INFINITY, f64::min);
    let floor = if floor.is_finite() { floor } else { 1.0 };
    let profile: Vec<f64> = non_decreasing(
        &means
            .iter()
            .map(|&m| if m > 0.0 && m.is_finite() { m } else { floor })
            .collect::<Vec<f64>>(),
    );
    let mut pooled: Vec<f64> = steps
        .iter()
        .zip(&profile)
        .flat_map(|(step, p)| step.iter().map(move |v| v / p))
        .collect();
    pooled.sort_by(f64::total_cmp);
    profile
        .iter()
        .map(|p| pooled.iter().map(|v| v * p).collect())
        .collect()
}

/// The closest non-decreasing sequence to `values` in squared error (isotonic regression by
/// pooling adjacent violators).
fn non_decreasing(values: &[f64]) -> Vec<f64> {
    // Blocks of (mean, count), merged while a block's mean is below the one before it.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(values.len());
    for &v in values {
        blocks.push((v, 1));
        while let [.., (m0, n0), (m1, n1)] = blocks[..] {
            if m0 <= m1 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            let n = n0 + n1;
            blocks.push(((m0 * n0 as f64 + m1 * n1 as f64) / n as f64, n));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, n)| std::iter::repeat_n(m, n))
        .collect()
}

/// The warning for a level that `available` scores per step cannot support.
fn thin_warning(column: &str, level: f64, available: usize, method: ConformalMethod) -> String {
    let supported = 100.0 * available as f64 / (available + 1) as f64;
    format!(
        "{column}: {}% intervals need at least {} calibration scores; {} has \
         {available}, which supports {supported:.1}% at most, so these intervals may cover less \
         than {}%: calibrate on more windows or series, or ask for a lower level",
        fmt_level(level),
        scores_needed(level),
        method.name(),
        fmt_level(level)
    )
}

impl std::fmt::Debug for ConformityScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformityScores")
            .field("settings", &self.settings)
            .field("h", &self.h)
            .field("models", &self.scores.len())
            .field("scale_window", &self.scale_window)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ConformityScores {
    /// Equal scores, whether or not either has built its sorted lists yet.
    fn eq(&self, other: &ConformityScores) -> bool {
        self.settings == other.settings
            && self.h == other.h
            && self.scores == other.scores
            && self.scales == other.scales
            && self.scale_window == other.scale_window
    }
}

impl ConformityScores {
    /// Scores of the calibration windows in `settings`: model column → series id → absolute
    /// errors window by window, and series id → each window's scale (read from the last
    /// `scale_window` observations before its cutoff).
    pub fn new(
        settings: Calibration,
        h: usize,
        scores: HashMap<String, HashMap<String, Vec<f64>>>,
        scales: HashMap<String, Vec<f64>>,
        scale_window: usize,
    ) -> ConformityScores {
        ConformityScores {
            settings,
            h,
            scores,
            scales,
            scale_window,
            sorted: OnceLock::new(),
        }
    }

    /// The calibration windows the scores were computed on.
    pub fn settings(&self) -> Calibration {
        self.settings
    }

    /// True when there are scores for model column `column`.
    pub fn has_model(&self, column: &str) -> bool {
        self.scores.contains_key(column)
    }

    /// Interval columns for one model's forecasts of `series` at `levels` percent.
    pub fn intervals(
        &self,
        column: &str,
        series: &[SeriesForecast<'_>],
        levels: &[f64],
    ) -> Result<Intervals> {
        let by_series = self
            .scores
            .get(column)
            .ok_or_else(|| Error::Config(format!("no conformity scores for {column}")))?;
        let set = QuantileSet::from_levels(levels)?;
        let bounds: Vec<(f64, bool)> = set
            .levels
            .iter()
            .rev()
            .map(|&l| (l, true))
            .chain(set.levels.iter().map(|&l| (l, false)))
            .collect();
        let mut columns: Vec<(String, Vec<f64>)> = bounds
            .iter()
            .map(|&(level, low)| {
                let side = if low { "lo" } else { "hi" };
                (format!("-{side}-{}", fmt_level(level)), Vec::new())
            })
            .collect();
        // Scores each level reads (the fewest of any step).
        let available: Vec<usize> = match self.settings.method {
            ConformalMethod::ConformalPooled => {
                let sorted = self
                    .sorted()
                    .get(column)
                    .ok_or_else(|| Error::Config(format!("no conformity scores for {column}")))?;
                for s in series {
                    let scale = window_scale(s.history, self.scale_window);
                    for ((level, low), (_, values)) in bounds.iter().zip(columns.iter_mut()) {
                        let steps = sorted.for_level(*level);
                        values.extend(s.forecast.iter().zip(steps).map(|(yhat, step)| {
                            let half = scale * finite_sample_quantile(step, *level).0;
                            if *low {
                                yhat - half
                            } else {
                                yhat + half
                            }
                        }));
                    }
                }
                set.levels
                    .iter()
                    .map(|&l| sorted.for_level(l).iter().map(Vec::len).min().unwrap_or(0))
                    .collect()
            }
            method => {
                for s in series {
                    let scores = by_series.get(s.id).ok_or_else(|| {
                        Error::Config(format!(
                            "no conformity scores for series '{}' of {column}: {} intervals \
                             exist only for series seen at fit time",
                            s.id,
                            method.name()
                        ))
                    })?;
                    for ((level, low), (_, values)) in bounds.iter().zip(columns.iter_mut()) {
                        values.extend(self.per_series_bounds(scores, s.forecast, *level, *low));
                    }
                }
                vec![self.settings.n_windows; set.levels.len()]
            }
        };
        let warnings = set
            .levels
            .iter()
            .zip(available)
            .filter(|&(&level, n)| n < scores_needed(level))
            .map(|(&level, n)| thin_warning(column, level, n, self.settings.method))
            .collect();
        Ok(Intervals { columns, warnings })
    }

    /// Every model's sorted scaled scores, built once.
    fn sorted(&self) -> &HashMap<String, SortedScores> {
        self.sorted.get_or_init(|| {
            self.scores
                .iter()
                .map(|(column, by_series)| {
                    (column.clone(), SortedScores::new(self.scaled(by_series)))
                })
                .collect()
        })
    }

    /// Scaled scores of every series and window, per horizon step.
    fn scaled(&self, by_series: &HashMap<String, Vec<f64>>) -> Vec<Vec<f64>> {
        let mut steps = vec![Vec::new(); self.h];
        for (id, scores) in by_series {
            let scales = self.scales.get(id).map(Vec::as_slice).unwrap_or_default();
            for (k, score) in scores.iter().enumerate() {
                let scale = scales.get(k / self.h).copied().unwrap_or(1.0);
                steps[k % self.h].push(score / scale);
            }
        }
        steps
    }

    /// One bound of NeuralForecast's per-series intervals for one series.
    fn per_series_bounds(
        &self,
        scores: &[f64],
        forecast: &[f64],
        level: f64,
        low: bool,
    ) -> Vec<f64> {
        let windows = self.settings.n_windows;
        let cut = if low {
            (100.0 - level) / 200.0
        } else {
            (100.0 + level) / 200.0
        };
        forecast
            .iter()
            .enumerate()
            .map(|(t, &yhat)| {
                let mut step: Vec<f64> = (0..windows).map(|w| scores[w * self.h + t]).collect();
                match self.settings.method {
                    ConformalMethod::ConformalDistribution => {
                        let mut paths: Vec<f64> =
                            step.iter().flat_map(|s| [yhat - s, yhat + s]).collect();
                        quantile(&mut paths, cut)
                    }
                    _ => {
                        let half = quantile(&mut step, (100.0 + level) / 200.0);
                        if low {
                            yhat - half
                        } else {
                            yhat + half
                        }
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(method: ConformalMethod) -> ConformityScores {
        let mut by_series = HashMap::new();
        // Two windows, h = 1: errors 1 and 3.
        by_series.insert("a".to_string(), vec![1.0, 3.0]);
        ConformityScores::new(
            Calibration {
                n_windows: 2,
                method,
                step_size: 1,
            },
            1,
            HashMap::from([("M".to_string(), by_series)]),
            HashMap::new(),
            0,
        )
    }

    fn one(id: &str, forecast: &[f64]) -> Vec<SeriesForecast<'static>> {
        let forecast: &'static [f64] = forecast.to_vec().leak();
        vec![SeriesForecast {
            id: id.to_string().leak(),
            forecast,
            history: &[],
        }]
    }

    #[test]
    fn conformal_distribution_takes_quantiles_of_the_paths() {
        // Paths 10 ± {1, 3} = [7, 9, 11, 13]; 80%: cuts 0.1 and 0.9 -> 7.6 and 12.4.
        let out = scores(ConformalMethod::ConformalDistribution)
            .intervals("M", &one("a", &[10.0]), &[80.0])
            .unwrap();
        assert_eq!(out.columns[0].0, "-lo-80");
        assert!((out.columns[0].1[0] - 7.6).abs() < 1e-12);
        assert_eq!(out.columns[1].0, "-hi-80");
        assert!((out.columns[1].1[0] - 12.4).abs() < 1e-12);
    }

    #[test]
    fn conformal_error_is_symmetric() {
        // quantile({1, 3}, 0.9) = 2.8 -> [7.2, 12.8]
        let out = scores(ConformalMethod::ConformalError)
            .intervals("M", &one("a", &[10.0]), &[80.0, 50.0])
            .unwrap();
        let names: Vec<&str> = out.columns.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["-lo-80", "-lo-50", "-hi-50", "-hi-80"]);
        assert!((out.columns[0].1[0] - 7.2).abs() < 1e-12);
        assert!((out.columns[3].1[0] - 12.8).abs() < 1e-12);
        let err = scores(ConformalMethod::ConformalError)
            .intervals("M", &one("b", &[1.0]), &[80.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no conformity scores for series 'b'"), "{err}");
    }

    #[test]
    fn finite_sample_quantile_takes_the_conformal_rank() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        // n = 4: 50% -> rank ceil(2.5) = 3; 80% -> rank 4 exactly (no float overshoot).
        assert_eq!(finite_sample_quantile(&sorted, 50.0), (3.0, true));
        assert_eq!(finite_sample_quantile(&sorted, 80.0), (4.0, true));
        assert_eq!(finite_sample_quantile(&sorted, 90.0), (4.0, false));
        let twenty: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(finite_sample_quantile(&twenty, 95.0), (19.0, true));
        assert_eq!(scores_needed(95.0), 19);
        assert_eq!(scores_needed(80.0), 4);
        assert_eq!(scores_needed(50.0), 1);
    }

    #[test]
    fn pooled_scores_are_scaled_per_window_and_rescaled_per_forecast() {
        // Series a (window scales 1, 2) errors 1, 4 and series b (scales 10, 20) errors 30, 80
        // at one step: pooled scaled scores {1, 2, 3, 4}; 50% -> 3, times each forecast's scale
        // (the mean change over the last 3 points of its history).
        let mut by_series = HashMap::new();
        by_series.insert("a".to_string(), vec![1.0, 4.0]);
        by_series.insert("b".to_string(), vec![30.0, 80.0]);
        let out = ConformityScores::new(
            Calibration {
                n_windows: 2,
                method: ConformalMethod::ConformalPooled,
                step_size: 1,
            },
            1,
            HashMap::from([("M".to_string(), by_series)]),
            HashMap::from([
                ("a".to_string(), vec![1.0, 2.0]),
                ("b".to_string(), vec![10.0, 20.0]),
            ]),
            3,
        );
        let series = [
            SeriesForecast {
                id: "a",
                forecast: &[5.0],
                history: &[50.0, 0.0, 1.0, 0.0],
            },
            SeriesForecast {
                id: "b",
                forecast: &[100.0],
                history: &[0.0, 10.0, 20.0],
            },
            // Not seen at fit time: the same rule (mean change 2).
            SeriesForecast {
                id: "new",
                forecast: &[0.0],
                history: &[0.0, 2.0, 4.0],
            },
        ];
        let got = out.intervals("M", &series, &[50.0]).unwrap();
        assert_eq!(
            got.columns[0],
            ("-lo-50".to_string(), vec![2.0, 70.0, -6.0])
        );
        assert_eq!(
            got.columns[1],
            ("-hi-50".to_string(), vec![8.0, 130.0, 6.0])
        );
        assert!(got.warnings.is_empty());
        // 95% needs 19 scores per step; 4 support 80% at most.
        let thin = out.intervals("M", &series, &[80.0, 95.0]).unwrap();
        assert_eq!(thin.warnings.len(), 1, "{:?}", thin.warnings);
        let warning = &thin.warnings[0];
        assert!(
            warning.starts_with("M: 95% intervals need at least 19"),
            "{warning}"
        );
        assert!(
            warning.contains("has 4, which supports 80.0% at most"),
            "{warning}"
        );
    }

    #[test]
    fn steps_pool_in_proportion_to_their_means() {
        // Step 0 scores {1, 3} (mean 2), step 1 {2, 10} (mean 6): pooled {0.5, 1.5, 1/3, 5/3}
        // sorted, times each step's mean.
        let steps = pool_steps(&[vec![3.0, 1.0], vec![10.0, 2.0]]);
        let pooled = [1.0 / 3.0, 0.5, 1.5, 5.0 / 3.0];
        for (step, mean) in steps.iter().zip([2.0, 6.0]) {
            assert_eq!(step.len(), 4);
            for (got, want) in step.iter().zip(pooled) {
                assert!((got - want * mean).abs() < 1e-12, "{step:?}");
            }
        }
        // A step of zeros takes the smallest positive mean instead of dividing by zero.
        let zeros = pool_steps(&[vec![0.0, 0.0], vec![2.0, 4.0]]);
        for (got, want) in zeros[0].iter().zip([0.0, 0.0, 2.0, 4.0]) {
            assert!((got - want).abs() < 1e-12, "{zeros:?}");
        }
    }

    #[test]
    fn each_level_reads_its_steps_own_scores_only_when_they_are_enough() {
        // 60 scores per step: 80% and 95% read each step's own, 99% (99 needed) the 120 pooled.
        let step: Vec<f64> = (1..=60).map(f64::from).collect();
        let sorted = SortedScores::new(vec![step.clone(), step.iter().map(|v| v * 3.0).collect()]);
        assert_eq!(sorted.for_level(95.0)[0].len(), 60);
        assert_eq!(sorted.for_level(99.0)[0].len(), 120);
        // 40 per step: below TARGET_SCORES every level reads the pooled lists.
        let few = SortedScores::new(vec![step[..40].to_vec(), step[..40].to_vec()]);
        assert_eq!(few.for_level(80.0)[1].len(), 80);
    }

    #[test]
    fn non_decreasing_pools_adjacent_violators() {
        assert_eq!(
            non_decreasing(&[1.0, 3.0, 2.0, 4.0]),
            vec![1.0, 2.5, 2.5, 4.0]
        );
        assert_eq!(non_decreasing(&[3.0, 2.0, 1.0]), vec![2.0, 2.0, 2.0]);
        assert_eq!(non_decreasing(&[1.0, 2.0]), vec![1.0, 2.0]);
        assert!(non_decreasing(&[]).is_empty());
    }

    #[test]
    fn series_scale_is_the_mean_absolute_change() {
        assert_eq!(series_scale(&[1.0, 3.0, 2.0]), 1.5);
        assert_eq!(series_scale(&[5.0, 5.0]), 5.0);
        assert_eq!(series_scale(&[0.0, 0.0]), 1.0);
        assert_eq!(series_scale(&[7.0]), 7.0);
        assert_eq!(window_scale(&[100.0, 1.0, 3.0, 2.0], 3), 1.5);
        assert_eq!(window_scale(&[1.0, 3.0], 0), 2.0);
    }

    fn room(shortest: usize, series: usize, h: usize, input_size: usize) -> CalibrationRoom {
        CalibrationRoom {
            shortest,
            series,
            h,
            input_size,
        }
    }

    #[test]
    fn automatic_windows_follow_the_data() {
        let pooled = PredictionIntervals::default();
        // A long panel: non-overlapping windows, as many as fit in the last quarter.
        let c = pooled.resolve(room(700, 414, 48, 144)).unwrap();
        assert_eq!((c.n_windows, c.step_size), (3, 48));
        // One short series: overlapping windows one step apart, as many as fit.
        let air = room(144, 1, 12, 24);
        let c = pooled.resolve(air).unwrap();
        assert_eq!((c.n_windows, c.step_size), (25, 1));
        assert_eq!(c.span(12), 36);
        // One long series: the target number of non-overlapping windows.
        let c = pooled.resolve(room(8640, 1, 24, 72)).unwrap();
        assert_eq!((c.n_windows, c.step_size), (TARGET_SCORES, 24));
        // Too short for two windows after one training window.
        let short = room(40, 1, 12, 24);
        assert_eq!(pooled.resolve(short), Err(49));
        assert_eq!(short.needed(), 49);
        // NeuralForecast's methods keep its defaults.
        let nf = PredictionIntervals {
            method: ConformalMethod::ConformalError,
            ..PredictionIntervals::default()
        };
        let c = nf.resolve(air).unwrap();
        assert_eq!((c.n_windows, c.step_size), (2, 1));
        assert!(PredictionIntervals {
            n_windows: Some(1),
            ..PredictionIntervals::default()
        }
        .validate()
        .is_err());
    }
}
