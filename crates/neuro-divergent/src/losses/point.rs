//! Point losses: MAE, MSE, RMSE, Huber, MAPE, sMAPE, MASE (NeuralForecast's definitions).

use std::fmt;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::weighted_mean;
use crate::error::{Error, Result};

/// A loss on point forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PointLoss {
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
    /// Huber loss: quadratic within `delta`, linear beyond.
    Huber {
        /// Threshold between the quadratic and linear parts.
        delta: f64,
    },
    /// Mean absolute percentage error (fraction; points with a zero target count as 0).
    Mape,
    /// Symmetric MAPE as a fraction in [0, 2].
    Smape,
    /// Mean absolute scaled error: errors divided by the insample seasonal-naive MAE.
    Mase {
        /// Season length `m` of the naive scale.
        seasonality: usize,
    },
}

impl fmt::Display for PointLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointLoss::Mae => write!(f, "mae"),
            PointLoss::Mse => write!(f, "mse"),
            PointLoss::Rmse => write!(f, "rmse"),
            PointLoss::Huber { delta } => write!(f, "huber:{delta}"),
            PointLoss::Mape => write!(f, "mape"),
            PointLoss::Smape => write!(f, "smape"),
            PointLoss::Mase { seasonality } => write!(f, "mase:{seasonality}"),
        }
    }
}

impl PointLoss {
    /// Parses `mae`, `mse`, `rmse`, `huber[:delta]`, `mape`, `smape`, `mase:m` (case-insensitive;
    /// `MASE(24)` is read as `mase:24`).
    pub fn parse(text: &str) -> Result<PointLoss> {
        let lower = text.trim().to_ascii_lowercase().replace(['(', ')'], ":");
        let mut parts = lower.trim_end_matches(':').splitn(2, ':');
        let name = parts.next().unwrap_or_default();
        let arg = parts.next();
        let number = |what: &str| -> Result<f64> {
            arg.and_then(|a| a.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| {
                    Error::Config(format!("loss '{text}': {what} must be a positive number"))
                })
        };
        let loss = match name {
            "mae" => PointLoss::Mae,
            "mse" => PointLoss::Mse,
            "rmse" => PointLoss::Rmse,
            "huber" => PointLoss::Huber {
                delta: if arg.is_some() { number("delta")? } else { 1.0 },
            },
            "mape" => PointLoss::Mape,
            "smape" => PointLoss::Smape,
            "mase" => PointLoss::Mase {
                seasonality: number("the seasonality (mase:M)")? as usize,
            },
            _ => {
                return Err(Error::Config(format!(
                    "unknown loss '{text}': expected mae, mse, rmse, huber[:delta], mape, smape or mase:M"
                )))
            }
        };
        if arg.is_some() && !matches!(loss, PointLoss::Huber { .. } | PointLoss::Mase { .. }) {
            return Err(Error::Config(format!("loss '{text}' takes no argument")));
        }
        Ok(loss)
    }

    /// The weighted mean loss of forecasts `y_hat` against `y` (both `[B, H]`), with weights
    /// `[B, H]`; `insample`/`insample_mask` (`[B, L]`) give MASE its scale.
    pub fn compute(
        &self,
        y: &Tensor,
        y_hat: &Tensor,
        weight: &Tensor,
        insample: &Tensor,
        insample_mask: &Tensor,
    ) -> Result<Tensor> {
        let diff = (y_hat - y)?;
        let per_point = match self {
            PointLoss::Mae => diff.abs()?,
            PointLoss::Mse | PointLoss::Rmse => diff.sqr()?,
            PointLoss::Huber { delta } => {
                let abs = diff.abs()?;
                let clipped = abs.minimum(*delta)?;
                // 0.5 c^2 + delta (|d| - c): quadratic inside delta, linear outside.
                ((clipped.sqr()? * 0.5)? + ((abs - &clipped)? * *delta)?)?
            }
            PointLoss::Mape => {
                let inverse = y.abs()?.recip()?;
                let inverse = zero_where_not_finite(&inverse)?;
                diff.abs()?.mul(&inverse)?
            }
            PointLoss::Smape => {
                let denom = (y.abs()? + y_hat.abs()?)?.maximum(1e-12)?;
                (diff.abs()?.div(&denom)? * 2.0)?
            }
            PointLoss::Mase { seasonality } => {
                let scale = seasonal_scale(insample, insample_mask, *seasonality)?;
                let inverse = zero_where_not_finite(&scale.recip()?)?;
                diff.abs()?.broadcast_mul(&inverse)?
            }
        };
        let mean = weighted_mean(&per_point, weight)?;
        Ok(match self {
            PointLoss::Rmse => mean.sqrt()?,
            _ => mean,
        })
    }
}

/// Replaces non-finite entries (from a division by zero) with 0.
fn zero_where_not_finite(t: &Tensor) -> Result<Tensor> {
    let values: Vec<f32> = t
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 0.0 })
        .collect();
    Ok(Tensor::from_vec(values, t.shape(), t.device())?)
}

/// Mean absolute seasonal difference of each window's observed insample values, `[B, 1]`.
fn seasonal_scale(insample: &Tensor, mask: &Tensor, m: usize) -> Result<Tensor> {
    let l = insample.dim(1)?;
    if m == 0 || m >= l {
        return Err(Error::Config(format!(
            "MASE seasonality {m} must be between 1 and input_size - 1 ({})",
            l.saturating_sub(1)
        )));
    }
    let later = insample.narrow(1, m, l - m)?;
    let earlier = insample.narrow(1, 0, l - m)?;
    let both = mask.narrow(1, m, l - m)?.mul(&mask.narrow(1, 0, l - m)?)?;
    let sum = (later - earlier)?.abs()?.mul(&both)?.sum_keepdim(1)?;
    Ok(sum.div(&both.sum_keepdim(1)?)?.detach())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v, (1, v.len()), &Device::Cpu).unwrap()
    }

    fn loss(kind: PointLoss, y: &[f32], y_hat: &[f32], w: &[f32]) -> f32 {
        let ins = t(&[1.0, 2.0, 4.0, 7.0]);
        let mask = t(&[1.0; 4]);
        kind.compute(&t(y), &t(y_hat), &t(w), &ins, &mask)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn point_losses_match_hand_computed_values() {
        let (y, yh, w) = ([1.0, 2.0, 4.0], [2.0, 2.0, 1.0], [1.0, 1.0, 0.0]);
        assert_eq!(loss(PointLoss::Mae, &y, &yh, &w), 0.5);
        assert_eq!(loss(PointLoss::Mse, &y, &yh, &w), 0.5);
        assert!((loss(PointLoss::Rmse, &y, &yh, &w) - 0.5f32.sqrt()).abs() < 1e-6);
        // weight 2 on the first point: (2*1 + 0) / 3
        assert!((loss(PointLoss::Mae, &y, &yh, &[2.0, 1.0, 0.0]) - 2.0 / 3.0).abs() < 1e-6);
        let huber = loss(
            PointLoss::Huber { delta: 0.5 },
            &[0.0, 0.0],
            &[2.0, 0.25],
            &[1.0, 1.0],
        );
        assert!((huber - (0.5 * (0.125 + 0.75) + 0.5 * 0.03125)).abs() < 1e-6);
        assert_eq!(
            loss(PointLoss::Mape, &[2.0, 0.0], &[1.0, 5.0], &[1.0, 1.0]),
            0.25
        );
        assert!((loss(PointLoss::Smape, &[1.0], &[3.0], &[1.0]) - 1.0).abs() < 1e-6);
        // insample 1,2,4,7 with m=1: mean |diff| = (1+2+3)/3 = 2
        assert_eq!(
            loss(PointLoss::Mase { seasonality: 1 }, &[1.0], &[5.0], &[1.0]),
            2.0
        );
    }

    #[test]
    fn parses_names_and_arguments() {
        assert_eq!(PointLoss::parse("MAE").unwrap(), PointLoss::Mae);
        assert_eq!(
            PointLoss::parse("MASE(24)").unwrap(),
            PointLoss::Mase { seasonality: 24 }
        );
        assert_eq!(
            PointLoss::parse("huber").unwrap(),
            PointLoss::Huber { delta: 1.0 }
        );
        assert!(PointLoss::parse("mase")
            .unwrap_err()
            .to_string()
            .contains("seasonality"));
        assert!(PointLoss::parse("mae:3").is_err());
        assert!(PointLoss::parse("crps")
            .unwrap_err()
            .to_string()
            .contains("unknown loss"));
        let round = PointLoss::Huber { delta: 0.5 };
        assert_eq!(PointLoss::parse(&round.to_string()).unwrap(), round);
    }
}
