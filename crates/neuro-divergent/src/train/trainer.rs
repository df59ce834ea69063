//! The optimisation loop: the configured optimizer and learning-rate schedule, optional gradient
//! clipping, periodic validation with early stopping, and a progress callback.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use candle_nn::VarMap;

use super::optimizer::Optimizer;
use super::scheduler::LrSchedule;
use super::{ProgressEvent, ProgressFn, TrainConfig};
use crate::autoregressive::point_path;
use crate::chunks;
use crate::error::{Error, Result};

use crate::models::Model;
use crate::multivariate::{self, Stage};
use crate::random::TorchGenerator;
use crate::windows::{
    validation_batch, SamplerOptions, SeriesView, WindowBatch, WindowSampler, WindowShapes,
};

/// The series a model learns from.
pub struct TrainingData<'a> {
    /// Every series in full (training and validation parts), with its exogenous columns.
    pub series: Vec<SeriesView<'a>>,
    /// Points at the end of each series held out for validation (0: no validation).
    pub val_size: usize,
    /// When set (by another thread), training stops with [`Error::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// What happened during training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Steps actually taken (fewer than `max_steps` after an early stop).
    pub steps: usize,
    /// Loss of the last training step.
    pub final_train_loss: f64,
    /// `(step, validation loss)` of each validation check.
    pub val_losses: Vec<(usize, f64)>,
    /// Training stopped because validation stopped improving.
    pub stopped_early: bool,
}

/// Trains `model` (whose parameters are `varmap`) on `data`.
pub fn train_model(
    name: &str,
    model: &dyn Model,
    varmap: &VarMap,
    shapes: WindowShapes,
    config: &TrainConfig,
    data: &TrainingData<'_>,
    progress: Option<&ProgressFn<'_>>,
) -> Result<TrainReport> {
    config.validate()?;
    // Batches go where the parameters live.
    let device = varmap
        .all_vars()
        .first()
        .map_or(Device::Cpu, |v| v.device().clone());
    let val_size = data.val_size;
    let shape = shapes.validation;
    if val_size > 0 && val_size < shape.horizon {
        return Err(Error::Config(format!(
            "val_size ({val_size}) must be at least the horizon h ({}) so that a validation window fits",
            shape.horizon
        )));
    }
    if val_size == 0 && config.early_stop_patience_steps > 0 {
        return Err(Error::Config(format!(
            "{name}: early_stop_patience_steps={} needs a validation set: set val_size",
            config.early_stop_patience_steps
        )));
    }
    let mut report = TrainReport {
        steps: 0,
        final_train_loss: f64::NAN,
        val_losses: Vec::new(),
        stopped_early: false,
    };
    if config.max_steps == 0 {
        // A pretrained model forecasting as it is.
        return Ok(report);
    }
    let multivariate = model.multivariate_series().is_some();
    if let Some(n_series) = model.multivariate_series() {
        multivariate::check_count(name, n_series, data.series.len(), Stage::Training)?;
    }
    let train_parts: Vec<SeriesView<'_>> = data
        .series
        .iter()
        .map(|s| s.truncated(s.y.len().saturating_sub(val_size)))
        .collect();
    let mut sampler = WindowSampler::new(
        train_parts,
        SamplerOptions {
            shape: shapes.train,
            step_size: config.step_size,
            scaler: config.scaler_type,
            batch_size: config.batch_size,
            windows_batch_size: config.windows_batch_size,
            merge_duplicates: model.is_deterministic(),
            multivariate,
        },
    )?;
    let validation = if val_size > 0 {
        Some(validation_batch(
            &data.series,
            val_size,
            shape,
            config.step_size,
            config.scaler_type,
            multivariate,
        )?)
        .filter(|b| b.size > 0)
    } else {
        None
    };

    let mut optimizer = Optimizer::new(
        varmap.all_vars(),
        config.update_rule()?,
        config.learning_rate,
    )?;
    let mut schedule = LrSchedule::new(config)?;
    // Training losses since the last check: a plateau schedule without validation data
    // watches their mean.
    let mut since_check = (0.0f64, 0usize);
    // NeuralForecast re-seeds PyTorch when a fit starts; every draw below follows its stream.
    let mut rng = TorchGenerator::new(config.random_seed);
    let mut best = f64::INFINITY;
    let mut checks_without_improvement = 0i64;
    for step in 0..config.max_steps {
        if data.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled(format!(
                "{name}: fit stopped after {step} steps"
            )));
        }
        let rates = schedule.rates(step);
        optimizer.set_learning_rate(rates.learning_rate);
        if let Some(momentum) = rates.momentum {
            optimizer.set_momentum(momentum);
        }
        let mut batch = sampler.next_batch(&mut rng).tensors(&device)?;
        if model.autoregressive().is_some() {
            batch.input.teacher = Some(batch.outsample.clone());
        }
        let (loss, mut grads) =
            chunks::loss_and_gradients(model, &batch.input, step as u64, |output| {
                config.loss.compute(
                    &batch.outsample,
                    output,
                    &batch.outsample_weight,
                    &batch.input.insample,
                    &batch.input.insample_mask,
                    &batch.window,
                )
            })?;
        let value = f64::from(loss.to_scalar::<f32>()?);
        if !value.is_finite() {
            return Err(Error::Train(format!(
                "{name}: the training loss became {value} at step {}; lower learning_rate, \
                 use a scaler (scaler_type) or set gradient_clip_val",
                step + 1
            )));
        }
        if let Some(clip) = config.gradient_clip_val {
            clip_gradients(varmap, &mut grads, clip)?;
        }
        optimizer.step(&grads)?;
        report.steps = step + 1;
        report.final_train_loss = value;
        since_check = (since_check.0 + value, since_check.1 + 1);

        let mut val_loss = report.val_losses.last().map(|v| v.1);
        // NeuralForecast checks every `val_check_steps`, or at the end when that is later.
        let check_due = (step + 1) % config.val_check_steps.min(config.max_steps) == 0;
        if check_due {
            // NeuralForecast's validation loader draws its base seed at every check, even
            // without validation data.
            let _loader_base_seed = rng.next_u64();
        }
        if let Some(val) = validation.as_ref().filter(|_| check_due) {
            let loss = validation_loss(model, val, config, &device)?;
            report.val_losses.push((step + 1, loss));
            val_loss = Some(loss);
            if loss < best {
                best = loss;
                checks_without_improvement = 0;
            } else {
                checks_without_improvement += 1;
            }
        }
        if check_due {
            schedule.observe(val_loss.unwrap_or(since_check.0 / since_check.1 as f64));
            since_check = (0.0, 0);
        }
        if let Some(callback) = progress {
            callback(&ProgressEvent {
                model: name.to_string(),
                step: step + 1,
                max_steps: config.max_steps,
                train_loss: value,
                val_loss,
            });
        }
        if config.early_stop_patience_steps > 0
            && checks_without_improvement >= config.early_stop_patience_steps
        {
            report.stopped_early = true;
            break;
        }
    }
    Ok(report)
}

/// Scales all gradients down so that their global L2 norm is at most `clip`.
fn clip_gradients(
    varmap: &VarMap,
    grads: &mut candle_core::backprop::GradStore,
    clip: f64,
) -> Result<()> {
    let vars = varmap.all_vars();
    let mut squared = 0.0f64;
    for var in &vars {
        if let Some(g) = grads.get(var.as_tensor()) {
            squared += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
    }
    let norm = squared.sqrt();
    if norm > clip {
        let factor = clip / (norm + 1e-6);
        for var in &vars {
            if let Some(g) = grads.remove(var.as_tensor()) {
                grads.insert(var.as_tensor(), (g * factor)?);
            }
        }
    }
    Ok(())
}

/// The validation loss in the data's own units: targets and point or quantile outputs mapped
/// back; a distribution's parameters are mapped by the distribution itself and, for a point
/// `valid_loss`, its mean is scored.
fn validation_loss(
    model: &dyn Model,
    batch: &WindowBatch,
    config: &TrainConfig,
    device: &Device,
) -> Result<f64> {
    let valid = config.valid_loss.as_ref().unwrap_or(&config.loss);
    let t = batch.tensors(device)?;
    let output = match model.autoregressive() {
        Some(stepper) => point_path(
            stepper,
            &t.input,
            batch.shape.horizon,
            &config.loss,
            &t.window,
        )?,
        None => chunks::forward(model, &t.input)?,
    }
    .detach();
    let inputs = (&t.outsample_weight, &t.input.insample_mask);
    let value = match (config.loss.as_distribution(), valid.as_distribution()) {
        (Some(_), Some(_)) => valid.compute(
            &t.outsample,
            &output,
            inputs.0,
            &t.input.insample,
            inputs.1,
            &t.window,
        )?,
        (train, _) => {
            let forecast = match train {
                Some(d) => d.mean(&output, &t.window)?.unsqueeze(2)?,
                None => t.window.unscale(&output)?,
            };
            valid.compute(
                &t.window.unscale(&t.outsample)?,
                &forecast,
                inputs.0,
                &t.window.unscale(&t.input.insample)?,
                inputs.1,
                &t.window.identity()?,
            )?
        }
    };
    Ok(f64::from(value.to_scalar::<f32>()?))
}
