//! Training losses. Point losses compare one forecast per step with the target; quantile losses
//! train one output per quantile. Every loss is a weighted mean over the outsample points, the
//! weight being the observation mask times the window's draw count.
//!
//! Losses are written as text everywhere (CLI `--param loss=...`, checkpoints, Node options):
//! `mae`, `mse`, `rmse`, `huber[:delta]`, `mape`, `smape`, `mase:M`, `quantile:Q`,
//! `mqloss[:LEVELS]`, `huber_mqloss[:LEVELS]`, and the distribution losses `normal[:LEVELS]`,
//! `studentt[:LEVELS]`, `poisson[:LEVELS]`, `negbin[:LEVELS]` (levels comma-separated, default
//! `80,90`; Normal and StudentT also take `floor=F` among them, the spread's floor in window
//! scales, e.g. `studentt:80,95,floor=0.01`). Losses registered with [`register_loss`] are
//! written the same way, by the name they were registered under.

mod custom;
mod distribution;
mod point;
mod quantile;

use std::fmt;

use candle_core::Tensor;
use rand::rngs::StdRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use custom::{
    register_loss, registered_loss_names, CustomLoss, LossBatch, LossFactory, RegisteredLoss,
};
pub use distribution::{DistributionLoss, Family};
pub use point::PointLoss;
pub(crate) use quantile::fmt_level;
pub use quantile::QuantileSet;

/// The windows' scaler statistics, which losses use to map outputs back.
pub use crate::windows::WindowScale;

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
    /// Distribution parameters trained by likelihood (`DistributionLoss`).
    Distribution(DistributionLoss),
    /// A loss registered with [`register_loss`]: outputs in the windows' scale, mapped back
    /// like point outputs.
    Custom(RegisteredLoss),
}

/// The point losses' names ([`PointLoss::parse`]).
const POINT_NAMES: [&str; 7] = ["mae", "mse", "rmse", "huber", "mape", "smape", "mase"];

/// True when `name` is the name of a built-in loss.
fn is_builtin_name(name: &str) -> bool {
    builtin(name, name, None).is_some()
}

/// The built-in loss called `name` with argument `arg` (from `text`); `None` when no built-in
/// loss has that name.
fn builtin(name: &str, text: &str, arg: Option<&str>) -> Option<Result<Loss>> {
    Some(match name {
        "mqloss" => parse_levels(text, arg).map(Loss::Quantiles),
        "huber_mqloss" | "hubermqloss" => parse_levels(text, arg).map(Loss::HuberQuantiles),
        "quantile" | "quantileloss" => arg
            .and_then(|a| a.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                Error::Config(format!(
                    "loss '{text}': write quantile:Q, e.g. quantile:0.9"
                ))
            })
            .and_then(QuantileSet::single)
            .map(Loss::Quantiles),
        _ => match Family::parse(name) {
            Some(family) => parse_distribution(text, family, arg),
            None if POINT_NAMES.contains(&name.split('(').next().unwrap_or_default()) => {
                PointLoss::parse(text).map(Loss::Point)
            }
            None => return None,
        },
    })
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

/// A distribution loss of `family` from its text's argument: levels, and for Normal and
/// StudentT a `floor=F` among them.
fn parse_distribution(text: &str, family: Family, arg: Option<&str>) -> Result<Loss> {
    let mut floor = None;
    let mut levels = Vec::new();
    for item in arg.into_iter().flat_map(|a| a.split(',')) {
        match item.trim().split_once('=') {
            Some(("floor", value)) => {
                if !matches!(family, Family::Normal | Family::StudentT) {
                    return Err(Error::Config(format!(
                        "loss '{text}': only normal and studentt have a spread floor"
                    )));
                }
                let value: f64 = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v > 0.0)
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "loss '{text}': floor must be a positive number, got '{value}'"
                        ))
                    })?;
                floor = Some(value);
            }
            Some((key, _)) => {
                return Err(Error::Config(format!(
                    "loss '{text}': unknown option '{key}' (the distribution losses take floor=F)"
                )))
            }
            None => levels.push(item),
        }
    }
    let levels = (!levels.is_empty()).then(|| levels.join(","));
    let mut loss = DistributionLoss::new(family, parse_levels(text, levels.as_deref())?);
    loss.floor = floor;
    Ok(Loss::Distribution(loss))
}

/// `Σ w·v / Σ w` over all points (0 when every weight is 0): the mean every loss reports.
pub fn weighted_mean(per_point: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let total = per_point.mul(weight)?.sum_all()?;
    Ok(total.div(&weight.sum_all()?.maximum(1e-12)?)?)
}

impl Loss {
    /// Parses a loss written as text (see the module documentation).
    pub fn parse(text: &str) -> Result<Loss> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        if let Some(loss) = builtin(name, text, arg) {
            return loss;
        }
        if let Some(loss) = custom::make(name, text.trim().split_once(':').map(|(_, a)| a)) {
            return loss.map(Loss::Custom);
        }
        let registered = registered_loss_names();
        Err(Error::Config(format!(
            "unknown loss '{text}': expected mae, mse, rmse, huber[:delta], mape, smape, mase:M, \
             quantile:Q, mqloss[:80,90], huber_mqloss[:80,90], normal[:80,90], studentt[:80,90], \
             poisson[:80,90] or negbin[:80,90]{}",
            if registered.is_empty() {
                " (a loss from another crate is registered with register_loss first)".to_string()
            } else {
                format!(", or a registered loss: {}", registered.join(", "))
            }
        )))
    }

    /// Model outputs per forecast step.
    pub fn n_outputs(&self) -> usize {
        match self {
            Loss::Point(_) => 1,
            Loss::Quantiles(set) | Loss::HuberQuantiles(set) => set.quantiles.len(),
            Loss::Distribution(d) => d.family.n_params(),
            Loss::Custom(c) => c.loss().n_outputs(),
        }
    }

    /// Suffix of each forecast column (`""` for a point loss).
    pub fn suffixes(&self) -> Vec<String> {
        match self {
            Loss::Point(_) => vec![String::new()],
            Loss::Quantiles(set) | Loss::HuberQuantiles(set) => set.suffixes.clone(),
            Loss::Distribution(d) => d.suffixes(),
            Loss::Custom(c) => c.loss().suffixes(),
        }
    }

    /// The distribution loss, if this is one.
    pub fn as_distribution(&self) -> Option<&DistributionLoss> {
        match self {
            Loss::Distribution(d) => Some(d),
            _ => None,
        }
    }

    /// True when the model's outputs are one point forecast per step (a point loss, or a
    /// registered loss with one output): what conformal intervals wrap.
    pub fn makes_point_forecasts(&self) -> bool {
        match self {
            Loss::Point(_) => true,
            Loss::Custom(c) => c.loss().n_outputs() == 1,
            _ => false,
        }
    }

    /// The point loss, if this is one.
    pub fn as_point(&self) -> Option<PointLoss> {
        match self {
            Loss::Point(p) => Some(*p),
            _ => None,
        }
    }

    /// Checks that `valid` can score this loss's outputs: a point loss scores point outputs, a
    /// single quantile or a distribution's mean; a quantile loss scores the same quantiles or a
    /// point forecast (at every quantile); a distribution loss needs the same family; a
    /// registered loss scores its own outputs, and one with one output scores, and is scored
    /// by, point forecasts (a point loss's, another such loss's, a distribution's mean).
    pub fn check_valid_loss(&self, valid: &Loss) -> Result<()> {
        let compatible = match (self, valid) {
            (Loss::Point(_), Loss::Point(_) | Loss::Quantiles(_) | Loss::HuberQuantiles(_)) => true,
            (Loss::Quantiles(a) | Loss::HuberQuantiles(a), Loss::Point(_)) => {
                a.quantiles.len() == 1
            }
            (Loss::Distribution(_), Loss::Point(_)) => true,
            (Loss::Distribution(a), Loss::Distribution(b)) => a.family == b.family,
            (Loss::Custom(a), Loss::Custom(b)) => {
                a == b || (a.loss().n_outputs() == 1 && b.loss().n_outputs() == 1)
            }
            (Loss::Custom(a), Loss::Point(_)) => a.loss().n_outputs() == 1,
            (Loss::Point(_) | Loss::Distribution(_), Loss::Custom(b)) => b.loss().n_outputs() == 1,
            (
                Loss::Quantiles(a) | Loss::HuberQuantiles(a),
                Loss::Quantiles(b) | Loss::HuberQuantiles(b),
            ) => a.quantiles == b.quantiles,
            _ => false,
        };
        if compatible {
            return Ok(());
        }
        Err(Error::Config(format!(
            "valid_loss {valid} cannot score the outputs of loss {self}: use a point loss with a \
             point or distribution loss, the same quantiles with a quantile loss, or the same \
             distribution"
        )))
    }

    /// The weighted mean loss of `y_hat` (`[B, H, n_outputs]`) against `y` (`[B, H]`), both
    /// scaled by the windows' scalers `window` (which a distribution loss undoes, to score the
    /// data on its own scale).
    pub fn compute(
        &self,
        y: &Tensor,
        y_hat: &Tensor,
        weight: &Tensor,
        insample: &Tensor,
        insample_mask: &Tensor,
        window: &WindowScale,
    ) -> Result<Tensor> {
        match self {
            Loss::Point(p) => p.compute(y, &y_hat.squeeze(2)?, weight, insample, insample_mask),
            Loss::Quantiles(set) => set.compute(y, y_hat, weight, None),
            Loss::HuberQuantiles(set) => set.compute(y, y_hat, weight, Some(1.0)),
            Loss::Distribution(d) => {
                let original = y
                    .broadcast_mul(&window.scale)?
                    .broadcast_add(&window.shift)?;
                d.compute(&original, y_hat, weight, window)
            }
            Loss::Custom(c) => c.loss().compute(&LossBatch {
                y,
                y_hat,
                weight,
                insample,
                insample_mask,
                window,
            }),
        }
    }

    /// The forecast columns of model outputs `y_hat` (`[B, H, n_outputs]`) in the data's units,
    /// `B * H` values each in window-then-step order. Quantile outputs are made non-crossing;
    /// distributions are sampled `num_samples` times per step with `rng`.
    pub fn forecast_columns(
        &self,
        y_hat: &Tensor,
        window: &WindowScale,
        num_samples: usize,
        rng: &mut StdRng,
    ) -> Result<Vec<Vec<f64>>> {
        if let Loss::Distribution(d) = self {
            return d.forecast_columns(y_hat, window, num_samples, rng);
        }
        let unscaled = window.unscale(y_hat)?;
        // [B, H, outputs] read as one flat list of steps, each `outputs` values wide.
        let width = unscaled.dims3()?.2.max(1);
        let mut values = unscaled.flatten_all()?.to_vec1::<f32>()?;
        let rows = values.len() / width;
        let mut columns = vec![Vec::with_capacity(rows); self.n_outputs()];
        for step in values.chunks_exact_mut(width) {
            if let Loss::Quantiles(set) | Loss::HuberQuantiles(set) = self {
                set.uncross(step);
            }
            for (column, &v) in columns.iter_mut().zip(step.iter()) {
                column.push(f64::from(v));
            }
        }
        Ok(columns)
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
            Loss::Distribution(d) => {
                write!(f, "{}:{}", d.family.name(), levels(&d.outputs))?;
                match d.floor {
                    Some(floor) => write!(f, ",floor={floor}"),
                    None => Ok(()),
                }
            }
            Loss::Custom(c) => write!(f, "{c}"),
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
            "studentt:80,95",
            "studentt:80,95,floor=0.01",
            "normal:90,floor=0.5",
            "negbin:90",
        ] {
            let loss = Loss::parse(text).unwrap();
            assert_eq!(loss.to_string(), text);
            assert_eq!(Loss::parse(&loss.to_string()).unwrap(), loss);
        }
        assert_eq!(Loss::parse("MQLoss").unwrap().n_outputs(), 5);
        assert_eq!(Loss::parse("mae").unwrap().suffixes(), [""]);
        let normal = Loss::parse("Normal").unwrap();
        assert_eq!((normal.n_outputs(), normal.suffixes().len()), (2, 6));
        assert_eq!(Loss::parse("poisson").unwrap().to_string(), "poisson:80,90");
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
        let floored = Loss::parse("studentt:floor=0.01").unwrap();
        assert_eq!(floored.to_string(), "studentt:80,90,floor=0.01");
        for (text, message) in [
            (
                "poisson:80,floor=0.1",
                "only normal and studentt have a spread floor",
            ),
            (
                "studentt:80,floor=0",
                "floor must be a positive number, got '0'",
            ),
            ("normal:floor=x", "floor must be a positive number, got 'x'"),
            ("studentt:80,eps=0.1", "unknown option 'eps'"),
            ("mqloss:80,floor=0.1", "level 'floor=0.1' is not a number"),
        ] {
            let err = Loss::parse(text).unwrap_err().to_string();
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn valid_losses_must_fit_the_outputs() {
        let loss = |t: &str| Loss::parse(t).unwrap();
        for (train, valid) in [
            ("mae", "mse"),
            ("studentt", "mae"),
            ("studentt:80", "studentt:95"),
            ("mqloss:80", "huber_mqloss:80"),
            ("mae", "mqloss:80"),
            ("quantile:0.5", "mae"),
        ] {
            loss(train).check_valid_loss(&loss(valid)).unwrap();
        }
        for (train, valid) in [
            ("mae", "studentt"),
            ("normal", "studentt"),
            ("mqloss:80", "mae"),
            ("mqloss:80", "mqloss:90"),
            ("studentt", "mqloss"),
        ] {
            let err = loss(train)
                .check_valid_loss(&loss(valid))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("cannot score the outputs"),
                "{train}/{valid}: {err}"
            );
        }
    }
}
