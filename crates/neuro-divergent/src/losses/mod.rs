//! Training losses. Point losses compare one forecast per step with the target; quantile losses
//! train one output per quantile. Every loss is a weighted mean over the outsample points, the
//! weight being the observation mask times the window's draw count.
//!
//! Losses are written as text everywhere (CLI `--param loss=...`, checkpoints, Node options):
//! `mae`, `mse`, `rmse`, `huber[:delta]`, `mape`, `smape`, `mase:M`, `quantile:Q`,
//! `mqloss[:LEVELS]`, `huber_mqloss[:LEVELS]` (levels comma-separated, default `80,90`).

mod point;
mod quantile;

use std::fmt;

use candle_core::Tensor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use point::PointLoss;
pub(crate) use quantile::fmt_level;
pub use quantile::QuantileSet;

use crate::error::{Error, Result};

/// A training loss.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// One output per step.
    Point(PointLoss),
    /// One output per quantile (`QuantileLoss`, `MQLoss`).
    Quantiles(QuantileSet),
    /// One output per quantile with the Huberised pinball loss (`HuberMQLoss`, delta 1).
    HuberQuantiles(QuantileSet),
}

/// NeuralForecast's default levels of `MQLoss`.
const DEFAULT_LEVELS: [f64; 2] = [80.0, 90.0];

fn parse_levels(text: &str, arg: Option<&str>) -> Result<QuantileSet> {
    let levels = match arg {
        None => DEFAULT_LEVELS.to_vec(),
        Some(list) => list
            .split(',')
            .map(|l| {
                l.trim().parse::<f64>().map_err(|_| {
                    Error::Config(format!("loss '{text}': level '{l}' is not a number"))
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    QuantileSet::from_levels(&levels).map_err(|e| Error::Config(format!("loss '{text}': {e}")))
}

impl Loss {
    /// Parses a loss written as text (see the module documentation).
    pub fn parse(text: &str) -> Result<Loss> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        match name {
            "mqloss" => Ok(Loss::Quantiles(parse_levels(text, arg)?)),
            "huber_mqloss" | "hubermqloss" => Ok(Loss::HuberQuantiles(parse_levels(text, arg)?)),
            "quantile" | "quantileloss" => {
                let q = arg
                    .and_then(|a| a.trim().parse::<f64>().ok())
                    .ok_or_else(|| Error::Config(format!("loss '{text}': write quantile:Q, e.g. quantile:0.9")))?;
                Ok(Loss::Quantiles(QuantileSet::single(q)?))
            }
            _ => PointLoss::parse(text).map(Loss::Point).map_err(|_| {
                Error::Config(format!(
                    "unknown loss '{text}': expected mae, mse, rmse, huber[:delta], mape, smape, mase:M, \
                     quantile:Q, mqloss[:80,90] or huber_mqloss[:80,90]"
                ))
            }),
        }
    }

    /// Outputs per forecast step.
    pub fn n_outputs(&self) -> usize {
        match self {
            Loss::Point(_) => 1,
            Loss::Quantiles(set) | Loss::HuberQuantiles(set) => set.quantiles.len(),
        }
    }

    /// Column suffix of each output (`""` for a point loss).
    pub fn suffixes(&self) -> Vec<String> {
        match self {
            Loss::Point(_) => vec![String::new()],
            Loss::Quantiles(set) | Loss::HuberQuantiles(set) => set.suffixes.clone(),
        }
    }

    /// The point loss, if this is one.
    pub fn as_point(&self) -> Option<PointLoss> {
        match self {
            Loss::Point(p) => Some(*p),
            _ => None,
        }
    }

    /// The weighted mean loss of `y_hat` (`[B, H, n_outputs]`) against `y` (`[B, H]`).
    pub fn compute(
        &self,
        y: &Tensor,
        y_hat: &Tensor,
        weight: &Tensor,
        insample: &Tensor,
        insample_mask: &Tensor,
    ) -> Result<Tensor> {
        match self {
            Loss::Point(p) => p.compute(y, &y_hat.squeeze(2)?, weight, insample, insample_mask),
            Loss::Quantiles(set) => set.compute(y, y_hat, weight, None),
            Loss::HuberQuantiles(set) => set.compute(y, y_hat, weight, Some(1.0)),
        }
    }

    /// Puts one step's outputs in final form: quantile forecasts are made non-crossing.
    pub fn finalize(&self, values: &mut [f32]) {
        if let Loss::Quantiles(set) | Loss::HuberQuantiles(set) = self {
            set.uncross(values);
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let levels = |set: &QuantileSet| {
            set.levels
                .iter()
                .map(|l| quantile::fmt_level(*l))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Loss::Point(p) => write!(f, "{p}"),
            Loss::Quantiles(set) if set.levels.is_empty() => {
                write!(f, "quantile:{}", set.quantiles[0])
            }
            Loss::Quantiles(set) => write!(f, "mqloss:{}", levels(set)),
            Loss::HuberQuantiles(set) => write!(f, "huber_mqloss:{}", levels(set)),
        }
    }
}

impl Serialize for Loss {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Loss {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Loss, D::Error> {
        let text = String::deserialize(deserializer)?;
        Loss::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_kind() {
        for text in [
            "mae",
            "mase:24",
            "huber:0.5",
            "quantile:0.9",
            "mqloss:80,95",
            "huber_mqloss:90",
        ] {
            let loss = Loss::parse(text).unwrap();
            assert_eq!(loss.to_string(), text);
            assert_eq!(Loss::parse(&loss.to_string()).unwrap(), loss);
        }
        assert_eq!(Loss::parse("MQLoss").unwrap().n_outputs(), 5);
        assert_eq!(Loss::parse("mae").unwrap().suffixes(), [""]);
        let err = Loss::parse("crps").unwrap_err().to_string();
        assert!(
            err.contains("unknown loss 'crps'") && err.contains("mqloss"),
            "{err}"
        );
        assert!(Loss::parse("mqloss:80,abc")
            .unwrap_err()
            .to_string()
            .contains("level 'abc'"));
        assert!(Loss::parse("quantile:1.5").is_err());
    }
}
