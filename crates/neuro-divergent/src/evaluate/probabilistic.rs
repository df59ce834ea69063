//! Scores of quantile and interval forecasts: coverage and width of each interval, pinball
//! (quantile) loss and scaled CRPS. A model's probabilistic columns are recognised by their
//! names, as NeuralForecast writes them: `{model}-median`, `{model}-lo-{level}`,
//! `{model}-hi-{level}`.

use super::Metric;
use crate::error::{Error, Result};

/// What a forecast column holds, read from its name.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRole {
    /// A point forecast (including a `-median` column).
    Point,
    /// A bound of the `level`% interval of model `base`.
    Bound {
        /// The model's column name.
        base: String,
        /// Interval level in percent.
        level: f64,
        /// Upper (`-hi-`) or lower (`-lo-`) bound.
        upper: bool,
    },
}

/// The role of the forecast column `name`.
pub fn role(name: &str) -> ColumnRole {
    for (marker, upper) in [("-lo-", false), ("-hi-", true)] {
        if let Some((base, level)) = name.rsplit_once(marker) {
            if let Ok(level) = level.parse::<f64>() {
                if level > 0.0 && level < 100.0 && !base.is_empty() {
                    return ColumnRole::Bound {
                        base: base.to_string(),
                        level,
                        upper,
                    };
                }
            }
        }
    }
    ColumnRole::Point
}

/// The quantile forecasts of one model for one series, next to the actual values.
pub(crate) struct QuantileForecasts {
    /// Actual values.
    pub(crate) y: Vec<f64>,
    /// `(quantile, forecasts)` pairs.
    pub(crate) quantiles: Vec<(f64, Vec<f64>)>,
    /// `(level, lower, upper)` intervals.
    pub(crate) intervals: Vec<(f64, Vec<f64>, Vec<f64>)>,
}

fn pinball(q: f64, y: f64, yhat: f64) -> f64 {
    let d = y - yhat;
    (q * d).max((q - 1.0) * d)
}

impl QuantileForecasts {
    /// Mean over steps of the mean pinball loss over quantiles.
    fn quantile_loss(&self) -> f64 {
        let total: f64 = self
            .quantiles
            .iter()
            .map(|(q, f)| {
                self.y
                    .iter()
                    .zip(f)
                    .map(|(&y, &p)| pinball(*q, y, p))
                    .sum::<f64>()
            })
            .sum();
        total / (self.quantiles.len() * self.y.len()).max(1) as f64
    }

    /// `(coverage %, mean width)` of one interval.
    fn interval(&self, lower: &[f64], upper: &[f64]) -> (f64, f64) {
        let n = self.y.len().max(1) as f64;
        let inside = self
            .y
            .iter()
            .zip(lower.iter().zip(upper))
            .filter(|(y, (lo, hi))| *lo <= *y && *y <= *hi)
            .count();
        let width: f64 = lower.iter().zip(upper).map(|(lo, hi)| hi - lo).sum();
        (100.0 * inside as f64 / n, width / n)
    }

    /// One probabilistic metric for this series: `(level, value)` rows.
    pub(crate) fn score(&self, metric: Metric) -> Result<Vec<(Option<f64>, f64)>> {
        Ok(match metric {
            Metric::Coverage | Metric::Width => self
                .intervals
                .iter()
                .map(|(level, lo, hi)| {
                    let (coverage, width) = self.interval(lo, hi);
                    let value = if metric == Metric::Coverage {
                        coverage
                    } else {
                        width
                    };
                    (Some(*level), value)
                })
                .collect(),
            Metric::QuantileLoss => vec![(None, self.quantile_loss())],
            Metric::ScaledCrps => {
                let scale: f64 =
                    self.y.iter().map(|v| v.abs()).sum::<f64>() / self.y.len().max(1) as f64;
                if scale == 0.0 {
                    return Err(Error::Data(
                        "scaled CRPS is undefined: every actual value is 0".into(),
                    ));
                }
                vec![(None, 2.0 * self.quantile_loss() / scale)]
            }
            other => {
                return Err(Error::Config(format!(
                    "{other} is not a probabilistic metric"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_roles_follow_neuralforecast_names() {
        assert_eq!(role("NHITS"), ColumnRole::Point);
        assert_eq!(role("NHITS-median"), ColumnRole::Point);
        assert_eq!(
            role("NHITS-lo-80"),
            ColumnRole::Bound {
                base: "NHITS".into(),
                level: 80.0,
                upper: false
            }
        );
        assert_eq!(
            role("my-model-hi-97.5"),
            ColumnRole::Bound {
                base: "my-model".into(),
                level: 97.5,
                upper: true
            }
        );
        assert_eq!(role("a-lo-x"), ColumnRole::Point);
    }

    #[test]
    fn scores_by_hand() {
        let f = QuantileForecasts {
            y: vec![10.0, 20.0],
            quantiles: vec![(0.1, vec![8.0, 22.0]), (0.9, vec![12.0, 25.0])],
            intervals: vec![(80.0, vec![8.0, 22.0], vec![12.0, 25.0])],
        };
        // pinball: q=.1: 0.1*2=0.2, 0.9*2=1.8; q=.9: 0.1*2=0.2, 0.1*5=0.5 -> mean 2.7/4
        assert!((f.quantile_loss() - 0.675).abs() < 1e-12);
        assert_eq!(f.score(Metric::Coverage).unwrap(), vec![(Some(80.0), 50.0)]);
        assert_eq!(f.score(Metric::Width).unwrap(), vec![(Some(80.0), 3.5)]);
        let crps = f.score(Metric::ScaledCrps).unwrap()[0].1;
        assert!((crps - 2.0 * 0.675 / 15.0).abs() < 1e-12);
    }
}
