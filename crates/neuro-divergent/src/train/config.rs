//! Hyperparameters common to every model, named and defaulted as in NeuralForecast.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::losses::{Loss, PointLoss};
use crate::preprocess::ScalerType;

/// How a model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Training loss.
    pub loss: Loss,
    /// Validation loss (the training loss when unset).
    pub valid_loss: Option<Loss>,
    /// Number of optimisation steps (0 only for pretrained models, which then forecast
    /// untrained).
    pub max_steps: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Number of halvings of the learning rate, evenly spread over `max_steps` (≤ 0: none).
    pub num_lr_decays: i64,
    /// Validation checks without improvement before stopping (≤ 0: never stop early).
    pub early_stop_patience_steps: i64,
    /// Steps between validation checks.
    pub val_check_steps: usize,
    /// Series per training step.
    pub batch_size: usize,
    /// Windows per training step.
    pub windows_batch_size: usize,
    /// Distance between consecutive window starts.
    pub step_size: usize,
    /// Per-window scaler.
    pub scaler_type: ScalerType,
    /// Seed of parameter initialisation and window sampling, drawn as PyTorch draws them for
    /// the same seed (see [`crate::random`]).
    pub random_seed: u64,
    /// Clip the global gradient norm to this value (unset: no clipping).
    pub gradient_clip_val: Option<f64>,
    /// Samples drawn per forecast step by a distribution loss.
    pub num_samples: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            loss: Loss::Point(PointLoss::Mae),
            valid_loss: None,
            max_steps: 1000,
            learning_rate: 1e-3,
            num_lr_decays: -1,
            early_stop_patience_steps: -1,
            val_check_steps: 100,
            batch_size: 32,
            windows_batch_size: 1024,
            step_size: 1,
            scaler_type: ScalerType::Identity,
            random_seed: 1,
            gradient_clip_val: None,
            num_samples: 1000,
        }
    }
}

impl TrainConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("val_check_steps", self.val_check_steps),
            ("batch_size", self.batch_size),
            ("windows_batch_size", self.windows_batch_size),
            ("step_size", self.step_size),
            ("num_samples", self.num_samples),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(Error::Config(format!("{name} must be at least 1")));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::Config(format!(
                "learning_rate must be a positive number, got {}",
                self.learning_rate
            )));
        }
        if self.random_seed > u64::from(u32::MAX) {
            return Err(Error::Config(format!(
                "random_seed must be at most {} (seeds are 32-bit, as in PyTorch), got {}",
                u32::MAX,
                self.random_seed
            )));
        }
        if let Some(valid) = &self.valid_loss {
            self.loss.check_valid_loss(valid)?;
        }
        if let Some(clip) = self.gradient_clip_val {
            if !(clip.is_finite() && clip > 0.0) {
                return Err(Error::Config(format!(
                    "gradient_clip_val must be a positive number, got {clip}"
                )));
            }
        }
        Ok(())
    }

    /// Steps between learning-rate halvings (NeuralForecast's `lr_decay_steps`).
    pub fn lr_decay_steps(&self) -> Option<usize> {
        (self.num_lr_decays > 0).then(|| (self.max_steps / self.num_lr_decays as usize).max(1))
    }

    /// The learning rate in force at `step` (0-based): halved every `lr_decay_steps`.
    pub fn learning_rate_at(&self, step: usize) -> f64 {
        match self.lr_decay_steps() {
            Some(every) => self.learning_rate * 0.5f64.powi((step / every) as i32),
            None => self.learning_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_halves_evenly() {
        let config = TrainConfig {
            max_steps: 500,
            num_lr_decays: 3,
            ..TrainConfig::default()
        };
        assert_eq!(config.lr_decay_steps(), Some(166));
        assert_eq!(config.learning_rate_at(165), 1e-3);
        assert_eq!(config.learning_rate_at(166), 5e-4);
        assert_eq!(config.learning_rate_at(499), 1.25e-4);
        let flat = TrainConfig::default();
        assert_eq!(flat.learning_rate_at(10_000), 1e-3);
    }

    #[test]
    fn rejects_bad_rates() {
        let cases = [
            (
                TrainConfig {
                    learning_rate: f64::NAN,
                    ..TrainConfig::default()
                },
                "learning_rate",
            ),
            (
                TrainConfig {
                    random_seed: 1 << 32,
                    ..TrainConfig::default()
                },
                "random_seed must be at most 4294967295",
            ),
        ];
        for (config, expected) in cases {
            let message = config.validate().unwrap_err().to_string();
            assert!(message.contains(expected), "{expected}: {message}");
        }
    }
}
