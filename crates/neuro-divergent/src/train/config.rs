//! Hyperparameters common to every model, named and defaulted as in NeuralForecast.

use serde::{Deserialize, Serialize};

use super::kwargs::Kwargs;
use super::scheduler::LrSchedule;
use super::update_rule::UpdateRule;
use super::{OptimizerName, SchedulerName};
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
    /// Learning rate (the start of the schedule; a one-cycle schedule's peak unless its
    /// `max_lr` is given).
    pub learning_rate: f64,
    /// Number of halvings of the learning rate, evenly spread over `max_steps` (≤ 0: none):
    /// NeuralForecast's schedule when `lr_scheduler` is unset.
    pub num_lr_decays: i64,
    /// Optimizer (NeuralForecast's `optimizer`): `adam`, `adamw`, `sgd` or `rmsprop`.
    pub optimizer: OptimizerName,
    /// The optimizer's keyword arguments with PyTorch's names and defaults (`betas`, `eps`,
    /// `weight_decay`, `momentum`, `dampening`, `nesterov`, `alpha`, `centered`).
    pub optimizer_kwargs: Kwargs,
    /// Learning-rate schedule (NeuralForecast's `lr_scheduler`): `step`, `cosine`, `onecycle`
    /// or `plateau`; unset: the learning rate halved `num_lr_decays` times.
    pub lr_scheduler: Option<SchedulerName>,
    /// The schedule's keyword arguments with PyTorch's names and defaults (`step_size`,
    /// `gamma`; `T_max`, `eta_min`; `max_lr`, `total_steps`, `pct_start`, ...; `factor`,
    /// `patience`, ...).
    pub lr_scheduler_kwargs: Kwargs,
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
            optimizer: OptimizerName::Adam,
            optimizer_kwargs: Kwargs::new(),
            lr_scheduler: None,
            lr_scheduler_kwargs: Kwargs::new(),
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
        self.update_rule()?;
        LrSchedule::new(self)?;
        Ok(())
    }

    /// The optimizer's update with its keyword arguments read and checked.
    pub(crate) fn update_rule(&self) -> Result<UpdateRule> {
        UpdateRule::new(self.optimizer, &self.optimizer_kwargs)
    }

    /// Steps between learning-rate halvings (NeuralForecast's `lr_decay_steps`).
    pub fn lr_decay_steps(&self) -> Option<usize> {
        (self.num_lr_decays > 0).then(|| (self.max_steps / self.num_lr_decays as usize).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
