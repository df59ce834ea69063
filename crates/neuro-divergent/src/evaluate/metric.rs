//! Names of the metrics that [`evaluate`](super::evaluate) can compute.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A point-forecast accuracy metric.
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
}

impl Metric {
    /// Every metric, in the order of their names in messages.
    pub const ALL: [Metric; 7] = [
        Metric::Mae,
        Metric::Mse,
        Metric::Rmse,
        Metric::Mape,
        Metric::Smape,
        Metric::Mase,
        Metric::Owa,
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
        }
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
