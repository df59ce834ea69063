//! Features derived from the target: lags, rolling means and standard deviations, and
//! exponential moving averages. Each value at time `t` uses observations up to `t` only, so the
//! features are historic exogenous columns. Before a series has enough history, a lag repeats the
//! first observation and rolling statistics use the points available.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One feature computed from `y`; its column name is given by [`DerivedFeature::name`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "param")]
pub enum DerivedFeature {
    /// `y` shifted by this many steps (`y_lag{k}`).
    Lag(usize),
    /// Mean over the last `w` points (`y_rolling_mean_{w}`).
    RollingMean(usize),
    /// Population standard deviation over the last `w` points (`y_rolling_std_{w}`).
    RollingStd(usize),
    /// Exponential moving average with smoothing factor `alpha` in (0, 1] (`y_ema_{alpha}`).
    Ema(f64),
}

impl DerivedFeature {
    /// Parses `lag:K`, `rolling_mean:W`, `rolling_std:W` or `ema:ALPHA`.
    pub fn parse(text: &str) -> Result<DerivedFeature> {
        let bad = || {
            Error::Config(format!(
                "feature '{text}': expected lag:K, rolling_mean:W, rolling_std:W or ema:ALPHA \
                 (K, W positive integers, ALPHA in (0, 1])"
            ))
        };
        let (kind, param) = text.trim().split_once(':').ok_or_else(bad)?;
        let size = || {
            param
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&k| k > 0)
                .ok_or_else(bad)
        };
        Ok(match kind.trim() {
            "lag" => DerivedFeature::Lag(size()?),
            "rolling_mean" => DerivedFeature::RollingMean(size()?),
            "rolling_std" => DerivedFeature::RollingStd(size()?),
            "ema" => {
                let alpha: f64 = param.trim().parse().map_err(|_| bad())?;
                if !(alpha > 0.0 && alpha <= 1.0) {
                    return Err(bad());
                }
                DerivedFeature::Ema(alpha)
            }
            _ => return Err(bad()),
        })
    }

    /// The column name.
    pub fn name(&self) -> String {
        match self {
            DerivedFeature::Lag(k) => format!("y_lag{k}"),
            DerivedFeature::RollingMean(w) => format!("y_rolling_mean_{w}"),
            DerivedFeature::RollingStd(w) => format!("y_rolling_std_{w}"),
            DerivedFeature::Ema(alpha) => format!("y_ema_{alpha}"),
        }
    }

    /// The feature over one series.
    pub fn compute(&self, y: &[f64]) -> Vec<f32> {
        match *self {
            DerivedFeature::Lag(k) => (0..y.len())
                .map(|t| y[t.saturating_sub(k)] as f32)
                .collect(),
            DerivedFeature::RollingMean(w) => rolling(y, w).0,
            DerivedFeature::RollingStd(w) => rolling(y, w).1,
            DerivedFeature::Ema(alpha) => {
                let mut level = y.first().copied().unwrap_or(0.0);
                y.iter()
                    .map(|&v| {
                        level = alpha * v + (1.0 - alpha) * level;
                        level as f32
                    })
                    .collect()
            }
        }
    }
}

/// Rolling mean and population standard deviation over windows of `w` points (fewer at the
/// start), in one pass of running sums. Values are centred on the first observation to keep the
/// sums well conditioned.
fn rolling(y: &[f64], w: usize) -> (Vec<f32>, Vec<f32>) {
    let origin = y.first().copied().unwrap_or(0.0);
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    let mut means = Vec::with_capacity(y.len());
    let mut stds = Vec::with_capacity(y.len());
    for t in 0..y.len() {
        let v = y[t] - origin;
        sum += v;
        squares += v * v;
        if t >= w {
            let old = y[t - w] - origin;
            sum -= old;
            squares -= old * old;
        }
        let n = (t + 1).min(w) as f64;
        let mean = sum / n;
        means.push((mean + origin) as f32);
        stds.push((squares / n - mean * mean).max(0.0).sqrt() as f32);
    }
    (means, stds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_follow_their_definitions() {
        let y = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(DerivedFeature::Lag(2).compute(&y), [1.0, 1.0, 1.0, 2.0]);
        assert_eq!(
            DerivedFeature::RollingMean(2).compute(&y),
            [1.0, 1.5, 3.0, 6.0]
        );
        let std = DerivedFeature::RollingStd(2).compute(&y);
        assert_eq!(std, [0.0, 0.5, 1.0, 2.0]);
        let ema = DerivedFeature::Ema(0.5).compute(&y);
        assert_eq!(ema, [1.0, 1.5, 2.75, 5.375]);
        assert_eq!(
            DerivedFeature::parse("rolling_std:24").unwrap().name(),
            "y_rolling_std_24"
        );
        assert_eq!(
            DerivedFeature::parse("ema:0.3").unwrap().name(),
            "y_ema_0.3"
        );
        for bad in ["lag", "lag:0", "ema:2", "median:3"] {
            let err = DerivedFeature::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("feature '{bad}'")), "{err}");
        }
    }
}
