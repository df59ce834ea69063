//! Quantile losses: the model emits one output per quantile, trained with the pinball loss
//! (`QuantileLoss`, `MQLoss`) or its Huberised form (`HuberMQLoss`), as in NeuralForecast.

use candle_core::{Device, Tensor};

use super::weighted_mean;
use crate::error::{Error, Result};

/// A set of quantiles with the column suffix of each, in output order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileSet {
    /// Quantile levels in (0, 1), in output order.
    pub quantiles: Vec<f64>,
    /// Column suffix of each output (`-median`, `-lo-90`, `_ql0.9`, ...).
    pub suffixes: Vec<String>,
    /// Prediction-interval levels this set was built from (empty for a single quantile).
    pub levels: Vec<f64>,
}

impl QuantileSet {
    /// NeuralForecast's `level_to_outputs`: the median first, then the interval bounds in
    /// ascending order (`[80, 90]` gives 0.5, 0.05, 0.1, 0.9, 0.95).
    pub fn from_levels(levels: &[f64]) -> Result<QuantileSet> {
        if levels.is_empty() {
            return Err(Error::Config("at least one level is needed".into()));
        }
        if let Some(bad) = levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
            return Err(Error::Config(format!(
                "level {bad} is out of range: levels are percentages in (0, 100)"
            )));
        }
        let mut bounds: Vec<(f64, String)> = Vec::new();
        for &level in levels {
            bounds.push(((100.0 - level) / 200.0, format!("-lo-{}", fmt_level(level))));
            bounds.push(((100.0 + level) / 200.0, format!("-hi-{}", fmt_level(level))));
        }
        bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        bounds.dedup_by(|a, b| a.1 == b.1);
        let mut quantiles = vec![0.5];
        let mut suffixes = vec!["-median".to_string()];
        for (q, s) in bounds {
            quantiles.push(q);
            suffixes.push(s);
        }
        let mut levels = levels.to_vec();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        Ok(QuantileSet {
            quantiles,
            suffixes,
            levels,
        })
    }

    /// One quantile (`QuantileLoss(q)`), column suffix `_ql{q}`.
    pub fn single(q: f64) -> Result<QuantileSet> {
        if !(q > 0.0 && q < 1.0) {
            return Err(Error::Config(format!("quantile {q} must be in (0, 1)")));
        }
        Ok(QuantileSet {
            quantiles: vec![q],
            suffixes: vec![format!("_ql{q}")],
            levels: Vec::new(),
        })
    }

    /// Mean pinball (or Huberised pinball, with `delta`) loss over the quantiles of `y_hat`
    /// (`[B, H, Q]`) against `y` (`[B, H]`), weighted by `weight` (`[B, H]`).
    pub fn compute(
        &self,
        y: &Tensor,
        y_hat: &Tensor,
        weight: &Tensor,
        delta: Option<f64>,
    ) -> Result<Tensor> {
        let q = self.quantile_tensor(y_hat.device())?;
        let under = y.unsqueeze(2)?.broadcast_sub(y_hat)?; // y - ŷ
        let above = under.relu()?; // (y - ŷ)+
        let below = under.neg()?.relu()?; // (ŷ - y)+
        let one_minus_q = q.affine(-1.0, 1.0)?;
        let (a, b) = (above.broadcast_mul(&q)?, below.broadcast_mul(&one_minus_q)?);
        let per_quantile = match delta {
            None => (a + b)?,
            Some(d) => (huber(&a, d)? + huber(&b, d)?)?,
        };
        weighted_mean(&per_quantile.mean(2)?, weight)
    }

    fn quantile_tensor(&self, device: &Device) -> Result<Tensor> {
        let q: Vec<f32> = self.quantiles.iter().map(|&q| q as f32).collect();
        Ok(Tensor::from_vec(q, (1, 1, self.quantiles.len()), device)?)
    }

    /// Reorders one step's outputs so that they grow with their quantile: the forecasts of
    /// different quantiles never cross.
    pub fn uncross(&self, values: &mut [f32]) {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| self.quantiles[a].total_cmp(&self.quantiles[b]));
        let mut sorted: Vec<f32> = values.to_vec();
        sorted.sort_by(f32::total_cmp);
        for (rank, &slot) in order.iter().enumerate() {
            values[slot] = sorted[rank];
        }
    }
}

/// Huber function of a non-negative tensor: quadratic below `delta`, linear above.
fn huber(x: &Tensor, delta: f64) -> Result<Tensor> {
    let clipped = x.minimum(delta)?;
    Ok(((clipped.sqr()? * 0.5)? + ((x - &clipped)? * delta)?)?)
}

/// `80` -> "80", `97.5` -> "97.5".
pub(crate) fn fmt_level(level: f64) -> String {
    if level.fract() == 0.0 {
        format!("{}", level as i64)
    } else {
        format!("{level}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_neuralforecast_quantiles_and_names() {
        let set = QuantileSet::from_levels(&[90.0, 80.0]).unwrap();
        assert_eq!(set.quantiles, vec![0.5, 0.05, 0.1, 0.9, 0.95]);
        assert_eq!(
            set.suffixes,
            ["-median", "-lo-90", "-lo-80", "-hi-80", "-hi-90"]
        );
        assert!(QuantileSet::from_levels(&[100.0]).is_err());
        assert_eq!(QuantileSet::single(0.9).unwrap().suffixes, ["_ql0.9"]);
    }

    #[test]
    fn pinball_loss_matches_hand_values() {
        let dev = Device::Cpu;
        let set = QuantileSet {
            quantiles: vec![0.1, 0.9],
            suffixes: vec![String::new(), String::new()],
            levels: vec![],
        };
        let y = Tensor::new(&[[2.0f32]], &dev).unwrap();
        let y_hat = Tensor::new(&[[[1.0f32, 4.0]]], &dev).unwrap();
        let w = Tensor::new(&[[1.0f32]], &dev).unwrap();
        // q=0.1: under by 1 -> 0.1; q=0.9: over by 2 -> 0.1 * 2 = 0.2; mean 0.15
        let loss = set
            .compute(&y, &y_hat, &w, None)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((loss - 0.15).abs() < 1e-6, "{loss}");
        // Huber with delta 0.15: 0.1 -> 0.5*0.01 = 0.005; 0.2 -> 0.5*0.0225 + 0.15*0.05 = 0.01875
        let loss = set
            .compute(&y, &y_hat, &w, Some(0.15))
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((loss - (0.005 + 0.01875) / 2.0).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn uncrossing_sorts_by_quantile() {
        let set = QuantileSet::from_levels(&[80.0]).unwrap(); // 0.5, 0.1, 0.9
        let mut values = [5.0f32, 7.0, 3.0];
        set.uncross(&mut values);
        assert_eq!(values, [5.0, 3.0, 7.0]);
    }
}
