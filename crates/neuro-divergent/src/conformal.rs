//! Conformal prediction intervals for point models, as NeuralForecast's `PredictionIntervals`:
//! at fit time a rolling cross-validation (`n_windows` cutoffs `step_size` apart, models trained
//! without the last `h + step_size * (n_windows - 1)` points) records each series' absolute
//! errors per horizon step; at predict time they turn point forecasts into intervals for the
//! requested levels.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::losses::{fmt_level, QuantileSet};

/// How scores become intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConformalMethod {
    /// Quantiles of the 2W paths `forecast ± score` (NeuralForecast's default).
    ConformalDistribution,
    /// `forecast ± quantile(score, 1 - alpha/2)`: symmetric intervals.
    ConformalError,
}

impl ConformalMethod {
    /// Parses `conformal_distribution` or `conformal_error`.
    pub fn parse(text: &str) -> Result<ConformalMethod> {
        match text.trim() {
            "conformal_distribution" => Ok(ConformalMethod::ConformalDistribution),
            "conformal_error" => Ok(ConformalMethod::ConformalError),
            other => Err(Error::Config(format!(
                "unknown conformal method '{other}': expected conformal_distribution or conformal_error"
            ))),
        }
    }
}

/// Settings of conformal prediction intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionIntervals {
    /// Cross-validation windows whose errors calibrate the intervals (at least 2).
    pub n_windows: usize,
    /// How errors become intervals.
    pub method: ConformalMethod,
    /// Distance between calibration cutoffs (NeuralForecast's default 1; the horizon gives
    /// windows that do not overlap).
    #[serde(default = "one_step")]
    pub step_size: usize,
}

fn one_step() -> usize {
    1
}

impl Default for PredictionIntervals {
    fn default() -> Self {
        PredictionIntervals {
            n_windows: 2,
            method: ConformalMethod::ConformalDistribution,
            step_size: 1,
        }
    }
}

impl PredictionIntervals {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.n_windows < 2 {
            return Err(Error::Config(
                "conformal intervals need at least two windows (n_windows >= 2)".into(),
            ));
        }
        if self.step_size == 0 {
            return Err(Error::Config(
                "conformal intervals need step_size >= 1".into(),
            ));
        }
        Ok(())
    }
}

/// Absolute cross-validation errors of each point model, per series: `n_windows * h` values,
/// window by window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformityScores {
    /// The settings they were computed with.
    pub settings: PredictionIntervals,
    /// Forecast horizon.
    pub h: usize,
    /// Model column → series id → scores.
    pub scores: HashMap<String, HashMap<String, Vec<f64>>>,
}

/// Linear-interpolation quantile of unsorted values (numpy's default method).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
}

impl ConformityScores {
    /// Interval columns for one model's forecasts of one series (`forecast`: `h` values):
    /// `(suffix, values)` in NeuralForecast's order (`-lo-95`, `-lo-80`, `-hi-80`, `-hi-95`).
    pub fn intervals(
        &self,
        column: &str,
        series: &str,
        forecast: &[f64],
        levels: &[f64],
    ) -> Result<Vec<(String, Vec<f64>)>> {
        let scores = self
            .scores
            .get(column)
            .and_then(|by_series| by_series.get(series))
            .ok_or_else(|| {
                Error::Config(format!(
                    "no conformity scores for series '{series}' of {column}: intervals exist only for \
                     series seen at fit time"
                ))
            })?;
        let set = QuantileSet::from_levels(levels)?;
        let windows = self.settings.n_windows;
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        let lows = set.levels.iter().rev().map(|&l| (l, true));
        let highs = set.levels.iter().map(|&l| (l, false));
        for (level, low) in lows.chain(highs) {
            let suffix = format!("-{}-{}", if low { "lo" } else { "hi" }, fmt_level(level));
            let cut = if low {
                (100.0 - level) / 200.0
            } else {
                (100.0 + level) / 200.0
            };
            let values = forecast
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
                        ConformalMethod::ConformalError => {
                            let half = quantile(&mut step, (100.0 + level) / 200.0);
                            if low {
                                yhat - half
                            } else {
                                yhat + half
                            }
                        }
                    }
                })
                .collect();
            out.push((suffix, values));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(method: ConformalMethod) -> ConformityScores {
        let mut by_series = HashMap::new();
        // Two windows, h = 1: errors 1 and 3.
        by_series.insert("a".to_string(), vec![1.0, 3.0]);
        ConformityScores {
            settings: PredictionIntervals {
                n_windows: 2,
                method,
                step_size: 1,
            },
            h: 1,
            scores: HashMap::from([("M".to_string(), by_series)]),
        }
    }

    #[test]
    fn conformal_distribution_takes_quantiles_of_the_paths() {
        // Paths 10 ± {1, 3} = [7, 9, 11, 13]; 80%: cuts 0.1 and 0.9 -> 7.6 and 12.4.
        let out = scores(ConformalMethod::ConformalDistribution)
            .intervals("M", "a", &[10.0], &[80.0])
            .unwrap();
        assert_eq!(out[0].0, "-lo-80");
        assert!((out[0].1[0] - 7.6).abs() < 1e-12);
        assert_eq!(out[1].0, "-hi-80");
        assert!((out[1].1[0] - 12.4).abs() < 1e-12);
    }

    #[test]
    fn conformal_error_is_symmetric() {
        // quantile({1, 3}, 0.9) = 2.8 -> [7.2, 12.8]
        let out = scores(ConformalMethod::ConformalError)
            .intervals("M", "a", &[10.0], &[80.0, 50.0])
            .unwrap();
        let names: Vec<&str> = out.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["-lo-80", "-lo-50", "-hi-50", "-hi-80"]);
        assert!((out[0].1[0] - 7.2).abs() < 1e-12);
        assert!((out[3].1[0] - 12.8).abs() < 1e-12);
        let err = scores(ConformalMethod::ConformalError)
            .intervals("M", "b", &[1.0], &[80.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no conformity scores for series 'b'"), "{err}");
    }
}
