//! Names of the metrics that [`evaluate`](super::evaluate) can compute.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An accuracy metric: point metrics score each forecast column; probabilistic ones
/// (coverage, width, quantile loss, scaled CRPS) score a model's quantile or interval columns
/// (`NHITS-median`, `NHITS-lo-80`, `NHITS-hi-80`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute percentage error, in percent.
    Mape,
    /// Symmetric MAPE (M4 definition, 0 to 200).
    Smape,
    /// Mean absolute scaled error (needs the training data).
    Mase,
    /// Overall weighted average relative to Naive2 (needs training data and Naive2 forecasts).
    Owa,
    /// Share of actual values inside each prediction interval, in percent (one row per level).
    Coverage,
    /// Mean width of each prediction interval (one row per level).
    Width,
    /// Pinball loss averaged over the model's quantiles.
    QuantileLoss,
    /// Scaled CRPS: twice the mean quantile loss divided by the mean absolute actual value.
    ScaledCrps,
}

impl Metric {
    /// Every metric, in the order of their names in messages.
    pub const ALL: [Metric; 11] = [
        Metric::Mae,
        Metric::Mse,
        Metric::Rmse,
        Metric::Mape,
        Metric::Smape,
        Metric::Mase,
        Metric::Owa,
        Metric::Coverage,
        Metric::Width,
        Metric::QuantileLoss,
        Metric::ScaledCrps,
    ];

    /// Reads a metric name (`mae`, `mse`, `rmse`, `mape`, `smape`, `mase`, `owa`; any case).
    pub fn parse(name: &str) -> Result<Metric> {
        let wanted = name.trim().to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| {
                let valid: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                Error::Config(format!(
                    "unknown metric '{name}'; valid metrics are {}",
                    valid.join(", ")
                ))
            })
    }

    /// The lower-case name that [`Metric::parse`] reads.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
            Metric::Mape => "mape",
            Metric::Smape => "smape",
            Metric::Mase => "mase",
            Metric::Owa => "owa",
            Metric::Coverage => "coverage",
            Metric::Width => "width",
            Metric::QuantileLoss => "quantile_loss",
            Metric::ScaledCrps => "scaled_crps",
        }
    }

    /// True for the metrics of quantile / interval columns.
    pub fn is_probabilistic(&self) -> bool {
        matches!(
            self,
            Metric::Coverage | Metric::Width | Metric::QuantileLoss | Metric::ScaledCrps
        )
    }
}

/// Shows the metric's name.
impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() -> Result<()> {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name())?, m);
        }
        assert_eq!(Metric::parse(" sMAPE ")?, Metric::Smape);
        Ok(())
    }

    #[test]
    fn unknown_names_list_valid_ones() {
        match Metric::parse("r2") {
            Err(Error::Config(m)) => {
                assert!(
                    m.contains("'r2'") && m.contains("mae, mse, rmse, mape, smape, mase, owa"),
                    "{m}"
                )
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
