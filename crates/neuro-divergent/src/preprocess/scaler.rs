//! Window scalers, as NeuralForecast's `TemporalNorm` applies them: statistics come from the
//! observed (masked) insample part of each window and are applied to the whole window; model
//! outputs are mapped back with the same statistics.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which statistics normalise a window (`scaler_type` in NeuralForecast).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalerType {
    /// No scaling.
    Identity,
    /// Subtract the mean, divide by the standard deviation.
    Standard,
    /// Subtract the median, divide by the median absolute deviation.
    Robust,
    /// Map the insample range onto [0, 1].
    Minmax,
}

/// The shift and scale of one window: `scaled = (value - shift) / scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStats {
    /// Subtracted before scaling.
    pub shift: f32,
    /// Divisor; never zero.
    pub scale: f32,
}

impl WindowStats {
    /// The statistics that leave values unchanged.
    pub const IDENTITY: WindowStats = WindowStats {
        shift: 0.0,
        scale: 1.0,
    };

    /// Scales one value.
    pub fn apply(&self, value: f32) -> f32 {
        (value - self.shift) / self.scale
    }

    /// Maps a scaled value back to the data's units.
    pub fn invert(&self, value: f32) -> f32 {
        value * self.scale + self.shift
    }
}

/// Scales below this are treated as zero (a constant window) and replaced by 1.
const MIN_SCALE: f32 = 1e-8;

impl ScalerType {
    /// Parses a NeuralForecast scaler name.
    pub fn parse(name: &str) -> Result<ScalerType> {
        match name.to_ascii_lowercase().as_str() {
            "identity" | "none" => Ok(ScalerType::Identity),
            "standard" => Ok(ScalerType::Standard),
            "robust" => Ok(ScalerType::Robust),
            "minmax" => Ok(ScalerType::Minmax),
            _ => Err(Error::Config(format!(
                "unknown scaler_type '{name}': expected identity, standard, robust or minmax"
            ))),
        }
    }

    /// The statistics of the observed values of a window (`mask` is 1 where observed).
    pub fn window_stats(&self, values: &[f32], mask: &[f32]) -> WindowStats {
        if *self == ScalerType::Identity {
            return WindowStats::IDENTITY;
        }
        let observed: Vec<f32> = values
            .iter()
            .zip(mask)
            .filter(|(_, &m)| m > 0.0)
            .map(|(&v, _)| v)
            .collect();
        if observed.is_empty() {
            return WindowStats::IDENTITY;
        }
        let (shift, scale) = match self {
            ScalerType::Identity => (0.0, 1.0),
            ScalerType::Standard => mean_and_std(&observed),
            ScalerType::Robust => {
                // NeuralForecast's robust statistics: the median absolute deviation, or where
                // it is zero the standard deviation times its ratio to the MAD under normality,
                // then 1 where that is zero too, plus 1e-6.
                let center = median(observed.clone());
                let mad = median(observed.iter().map(|v| (v - center).abs()).collect());
                let scale = if mad > 0.0 {
                    mad
                } else {
                    mean_and_std(&observed).1 * 0.674_489_75
                };
                (center, if scale == 0.0 { 1.0 } else { scale } + 1e-6)
            }
            ScalerType::Minmax => {
                let min = observed.iter().copied().fold(f32::INFINITY, f32::min);
                let max = observed.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (min, max - min)
            }
        };
        WindowStats {
            shift,
            scale: if scale > MIN_SCALE { scale } else { 1.0 },
        }
    }
}

/// The mean and the (population) standard deviation of non-empty `values`.
fn mean_and_std(values: &[f32]) -> (f32, f32) {
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, var.sqrt())
}

/// The median as PyTorch's `nanmedian` (which NeuralForecast's robust scaler uses) takes it: for
/// an even count, the lower of the two middle values rather than their mean.
fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_uses_only_observed_values() {
        let stats = ScalerType::Standard.window_stats(&[0.0, 2.0, 4.0], &[0.0, 1.0, 1.0]);
        assert_eq!(stats.shift, 3.0);
        assert_eq!(stats.scale, 1.0);
    }

    #[test]
    fn robust_and_minmax_statistics() {
        let values = [1.0, 2.0, 3.0, 10.0];
        let mask = [1.0; 4];
        let robust = ScalerType::Robust.window_stats(&values, &mask);
        // The lower middle value as the median (PyTorch's), the MAD plus NeuralForecast's 1e-6.
        assert_eq!(robust.shift, 2.0);
        assert_eq!(robust.scale, 1.0 + 1e-6);
        // A window whose MAD is zero falls back on 0.6745 standard deviations.
        let flat = ScalerType::Robust.window_stats(&[1.0, 1.0, 1.0, 5.0], &mask);
        assert_eq!(flat.shift, 1.0);
        assert!(
            (flat.scale - (3f32.sqrt() * 0.674_489_75 + 1e-6)).abs() < 1e-6,
            "{}",
            flat.scale
        );
        let minmax = ScalerType::Minmax.window_stats(&values, &mask);
        assert_eq!((minmax.shift, minmax.scale), (1.0, 9.0));
        assert_eq!(minmax.apply(10.0), 1.0);
        assert_eq!(minmax.invert(minmax.apply(7.0)), 7.0);
    }

    #[test]
    fn constant_window_keeps_unit_scale() {
        let stats = ScalerType::Standard.window_stats(&[5.0, 5.0], &[1.0, 1.0]);
        assert_eq!(stats.scale, 1.0);
        assert!(ScalerType::parse("zscore").is_err());
    }
}
