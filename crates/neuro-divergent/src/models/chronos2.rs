//! Chronos-2 (Ansari et al., 2025; Amazon's `chronos-forecasting`): a pretrained encoder-only
//! model that forecasts quantiles of a series, of several series together, or of a series with
//! its covariates, without training. Each row (a target or a covariate) is standardised by its
//! own observed values (then `arcsinh`), cut into patches whose values, observed flags and time
//! positions a residual perceptron embeds; a `[REG]` token and one token per future patch follow
//! (a known future covariate's values fill its future patches). The encoder attends along time
//! within each row and across the rows of each task at every step; the future tokens' outputs
//! are the quantiles of every future step.
//!
//! Here a task is one window of one series with its `hist_exog_list` (past-only covariates)
//! and `futr_exog_list` (known future covariates), or, with `n_series` above 1, the windows of
//! all series at one date with all their covariates (multivariate forecasting). The architecture
//! and weights come from `model_path`, a directory in the Hugging Face layout, as for
//! [`super::ChronosBoltConfig`].

use std::collections::HashMap;

use candle_core::{Device, Tensor, D};
use serde::{Deserialize, Serialize};

use super::patched_series::{
    append_reg_token, check_quantile_loss, in_blocks, in_output_order, inference_rows,
    location_and_scale, patch_embedding, pretrained_train_defaults, quantile_outputs,
    quantile_slots, ContextPatching,
};
use super::pretrained::{field, HuggingFaceDir, ModelConfigJson};
use super::{ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::losses::{Loss, QuantileSet};
use crate::nn::{ParamStore, ResidualMlp, T5Spec, TimeGroupEncoder};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// The name errors give the model.
const NAME: &str = "Chronos2";
/// The architecture Hugging Face's `config.json` must name.
const ARCHITECTURE: &str = "Chronos2Model";
/// Token id of the `[REG]` token.
const REG_TOKEN: usize = 1;
/// Offset of the encoder's dropout seeds from the model's (the patch embeddings take the first
/// two).
const ENCODER_SEEDS: u64 = 1 << 20;

/// Chronos-2's hyperparameters: `model_path`, the architecture it fixes (Hugging Face's names
/// of `Chronos2CoreConfig` and `chronos_config`), and `n_series`. The defaults are
/// `amazon/chronos-2`'s; setting `model_path` replaces them with the directory's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Chronos2Config {
    /// Directory of the pretrained model in the Hugging Face layout.
    pub model_path: String,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Width of one attention head.
    pub d_kv: usize,
    /// Width of the feed-forward layers and of the patch embeddings' hidden layers.
    pub d_ff: usize,
    /// Encoder blocks.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Dropout rate while fine-tuning.
    pub dropout_rate: f64,
    /// Epsilon of the root-mean-square norms.
    pub layer_norm_epsilon: f64,
    /// The feed-forward layers' form (`relu`, the only one Chronos-2 uses).
    pub feed_forward_proj: String,
    /// Base of the rotary position angles.
    pub rope_theta: f64,
    /// Longest context the model reads.
    pub context_length: usize,
    /// Points per input patch.
    pub input_patch_size: usize,
    /// Points between the starts of two input patches.
    pub input_patch_stride: usize,
    /// Points per output patch (equal to `input_patch_size`).
    pub output_patch_size: usize,
    /// Most output patches one pass forecasts: the longest horizon is this times
    /// `output_patch_size`.
    pub max_output_patches: usize,
    /// What time positions are divided by.
    pub time_encoding_scale: usize,
    /// The quantile levels the model forecasts, ascending.
    pub quantiles: Vec<f64>,
    /// Whether a `[REG]` token follows the context's patches.
    pub use_reg_token: bool,
    /// Whether standardised values pass through `arcsinh` (and forecasts back through `sinh`).
    pub use_arcsinh: bool,
    /// Series forecast together as one task (their covariates too); 1: each series on its own.
    pub n_series: usize,
}

impl Default for Chronos2Config {
    fn default() -> Self {
        Chronos2Config {
            model_path: String::new(),
            d_model: 768,
            d_kv: 64,
            d_ff: 3072,
            num_layers: 12,
            num_heads: 12,
            dropout_rate: 0.1,
            layer_norm_epsilon: 1e-6,
            feed_forward_proj: "relu".into(),
            rope_theta: 10_000.0,
            context_length: 8192,
            input_patch_size: 16,
            input_patch_stride: 16,
            output_patch_size: 16,
            max_output_patches: 64,
            time_encoding_scale: 8192,
            quantiles: std::iter::once(0.01)
                .chain((1..20).map(|i| f64::from(i) / 20.0))
                .chain(std::iter::once(0.99))
                .collect(),
            use_reg_token: true,
            use_arcsinh: true,
            n_series: 1,
        }
    }
}

impl Chronos2Config {
    /// The architecture of the pretrained model in `dir` (which `model_path` named), read from
    /// its `config.json`, with `n_series` kept.
    fn read(dir: &HuggingFaceDir, model_path: &str, n_series: usize) -> Result<Chronos2Config> {
        let ModelConfigJson {
            json,
            chronos,
            what,
            what_chronos,
        } = dir.model_config(ARCHITECTURE, "Chronos-2")?;
        let context_length = field(&chronos, "context_length", None, &what_chronos)?;
        Ok(Chronos2Config {
            model_path: model_path.to_string(),
            d_model: field(&json, "d_model", None, &what)?,
            d_kv: field(&json, "d_kv", None, &what)?,
            d_ff: field(&json, "d_ff", None, &what)?,
            num_layers: field(&json, "num_layers", None, &what)?,
            num_heads: field(&json, "num_heads", None, &what)?,
            dropout_rate: field(&json, "dropout_rate", Some(0.1), &what)?,
            layer_norm_epsilon: field(&json, "layer_norm_epsilon", Some(1e-6), &what)?,
            feed_forward_proj: field(&json, "feed_forward_proj", Some("relu".into()), &what)?,
            rope_theta: field(&json, "rope_theta", Some(10_000.0), &what)?,
            context_length,
            input_patch_size: field(&chronos, "input_patch_size", None, &what_chronos)?,
            input_patch_stride: field(&chronos, "input_patch_stride", None, &what_chronos)?,
            output_patch_size: field(&chronos, "output_patch_size", None, &what_chronos)?,
            max_output_patches: field(&chronos, "max_output_patches", Some(1), &what_chronos)?,
            time_encoding_scale: field(
                &chronos,
                "time_encoding_scale",
                Some(context_length),
                &what_chronos,
            )?,
            quantiles: field(&chronos, "quantiles", None, &what_chronos)?,
            use_reg_token: field(&chronos, "use_reg_token", Some(false), &what_chronos)?,
            use_arcsinh: field(&chronos, "use_arcsinh", Some(false), &what_chronos)?,
            n_series,
        })
    }

    /// The loss whose outputs are the model's quantiles.
    fn quantile_loss(&self) -> Result<QuantileSet> {
        quantile_outputs(NAME, &self.quantiles)
    }

    /// The longest horizon one pass forecasts.
    fn prediction_length(&self) -> usize {
        self.max_output_patches * self.output_patch_size
    }
}

impl ArchitectureConfig for Chronos2Config {
    fn train_defaults(&self) -> TrainConfig {
        pretrained_train_defaults(NAME, &self.quantiles)
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let sizes = [
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
            ("context_length", self.context_length),
            ("input_patch_size", self.input_patch_size),
            ("input_patch_stride", self.input_patch_stride),
            ("output_patch_size", self.output_patch_size),
            ("max_output_patches", self.max_output_patches),
            ("time_encoding_scale", self.time_encoding_scale),
            ("n_series", self.n_series),
        ];
        super::require_at_least_one(&format!("{NAME}: "), &sizes)?;
        super::require_dropout_rate(&format!("{NAME}: "), "dropout_rate", self.dropout_rate)?;
        if self.feed_forward_proj != "relu" {
            return Err(Error::Config(format!(
                "{NAME}: feed_forward_proj '{}' is not supported (Chronos-2 uses relu)",
                self.feed_forward_proj
            )));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return Err(Error::Config(format!(
                "{NAME}: rope_theta must be a positive number, got {}",
                self.rope_theta
            )));
        }
        if !self.d_kv.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "{NAME}: d_kv {} must be even (rotary positions rotate pairs)",
                self.d_kv
            )));
        }
        if self.input_patch_size != self.output_patch_size {
            return Err(Error::Config(format!(
                "{NAME}: input_patch_size {} and output_patch_size {} must be equal",
                self.input_patch_size, self.output_patch_size
            )));
        }
        if shape.input_size > self.context_length {
            return Err(Error::Config(format!(
                "{NAME}: input_size {} exceeds the model's context_length {}",
                shape.input_size, self.context_length
            )));
        }
        if shape.horizon > self.prediction_length() {
            return Err(Error::Config(format!(
                "{NAME}: horizon {} exceeds the {} steps the model forecasts in one pass \
                 (max_output_patches {} x output_patch_size {})",
                shape.horizon,
                self.prediction_length(),
                self.max_output_patches,
                self.output_patch_size
            )));
        }
        self.quantile_loss().map(|_| ())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds {
            hist: true,
            futr: true,
            stat: false,
        }
    }

    fn multivariate_series(&self) -> Option<usize> {
        (self.n_series > 1).then_some(self.n_series)
    }

    fn is_pretrained(&self) -> bool {
        true
    }

    fn pretrained_weights(&self, device: &Device) -> Result<Option<HashMap<String, Tensor>>> {
        let dir = HuggingFaceDir::open(NAME, &self.model_path)?;
        Ok(Some(dir.weights(device)?))
    }

    fn param_changed(&mut self, key: &str, train: &mut TrainConfig) -> Result<()> {
        if key == "model_path" {
            let dir = HuggingFaceDir::open(NAME, &self.model_path)?;
            *self = Chronos2Config::read(&dir, &self.model_path, self.n_series)?;
            train.loss = Loss::Quantiles(self.quantile_loss()?);
        }
        Ok(())
    }

    fn validate_loss(&self, loss: &Loss) -> Result<()> {
        check_quantile_loss(NAME, &self.quantiles, loss)
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let slots = quantile_slots(NAME, &self.quantiles, n_outputs)?;
        let vocabulary = if self.use_reg_token { 2 } else { 1 };
        let shared = store.normal_scaled("shared.weight", &[vocabulary, self.d_model], 0.05)?;
        let input_embedding = patch_embedding(
            store,
            "input_patch_embedding",
            (3 * self.input_patch_size, self.d_ff, self.d_model),
            self.dropout_rate,
            seed,
        )?;
        let spec = T5Spec {
            d_model: self.d_model,
            d_kv: self.d_kv,
            num_heads: self.num_heads,
            d_ff: self.d_ff,
            num_buckets: 0,
            max_distance: 0,
            eps: self.layer_norm_epsilon,
            dropout: self.dropout_rate,
        };
        let encoder = TimeGroupEncoder::new(
            store,
            "encoder",
            spec,
            self.num_layers,
            self.rope_theta,
            seed.wrapping_add(ENCODER_SEEDS),
        )?;
        let output_embedding = patch_embedding(
            store,
            "output_patch_embedding",
            (
                self.d_model,
                self.d_ff,
                self.quantiles.len() * self.output_patch_size,
            ),
            self.dropout_rate,
            seed.wrapping_add(1),
        )?;
        Ok(Box::new(Chronos2 {
            config: self.clone(),
            horizon: shape.horizon,
            slots,
            shared,
            input_embedding,
            encoder,
            output_embedding,
        }))
    }
}

/// The Chronos-2 network built from a [`Chronos2Config`].
struct Chronos2 {
    config: Chronos2Config,
    horizon: usize,
    /// Output slot of each of the model's quantiles.
    slots: Vec<usize>,
    shared: Tensor,
    input_embedding: ResidualMlp,
    encoder: TimeGroupEncoder,
    output_embedding: ResidualMlp,
}

/// The rows of the tasks of a batch, `group` consecutive rows a task: their contexts and what
/// is known of their futures.
struct TaskRows {
    /// `[N, L]` past values.
    values: Tensor,
    /// `[N, L]` 1 where a past value is observed.
    observed: Tensor,
    /// `[N, H]` future values (0 where unknown).
    future: Tensor,
    /// `[N, H]` 1 where a future value is known (a known future covariate's).
    future_known: Tensor,
    /// Rows per task.
    group: usize,
}

/// `[W·n, L, K]` per-series feature columns as `[W, n·K, L]` rows, task by task.
fn feature_rows(x: &Tensor, windows: usize, n: usize) -> Result<Tensor> {
    let (_, length, features) = x.dims3()?;
    Ok(x.reshape((windows, n, length, features))?
        .permute((0, 1, 3, 2))?
        .reshape((windows, n * features, length))?)
}

impl TaskRows {
    /// The tasks of `input`: each window's `n` series (their targets first), then their
    /// historic columns, then their future columns, for a horizon of `horizon` steps.
    fn of(input: &ModelInput, n: usize, horizon: usize) -> Result<TaskRows> {
        let (rows, length) = input.insample.dims2()?;
        let windows = rows / n;
        let device = input.insample.device();
        let targets = input.insample.reshape((windows, n, length))?;
        let target_mask = input.insample_mask.reshape((windows, n, length))?;
        let (mut values, mut observed) = (vec![targets], vec![target_mask.clone()]);
        let dtype = input.insample.dtype();
        let unknown = |count: usize| Tensor::zeros((windows, count, horizon), dtype, device);
        let mut future = vec![unknown(n)?];
        let mut future_known = vec![unknown(n)?];
        let covariate_mask = |features: usize| -> Result<Tensor> {
            Ok(target_mask
                .unsqueeze(2)?
                .broadcast_as((windows, n, features, length))?
                .reshape((windows, n * features, length))?)
        };
        if let Some(hist) = &input.hist {
            let features = hist.dim(2)?;
            values.push(feature_rows(hist, windows, n)?);
            observed.push(covariate_mask(features)?);
            future.push(unknown(n * features)?);
            future_known.push(unknown(n * features)?);
        }
        if let Some(futr) = &input.futr {
            let (_, steps, features) = futr.dims3()?;
            if steps < length + horizon {
                return Err(Error::Data(format!(
                    "{NAME}: the future columns cover {steps} steps, the window and horizon \
                     {}",
                    length + horizon
                )));
            }
            values.push(feature_rows(&futr.narrow(1, 0, length)?, windows, n)?);
            observed.push(covariate_mask(features)?);
            let ahead = feature_rows(&futr.narrow(1, length, horizon)?, windows, n)?;
            future_known.push(ahead.ones_like()?);
            future.push(ahead);
        }
        let join = |parts: Vec<Tensor>, width: usize| -> Result<Tensor> {
            let joined = Tensor::cat(&parts, 1)?;
            let group = joined.dim(1)?;
            Ok(joined.reshape((windows * group, width))?)
        };
        let group = values
            .iter()
            .map(|v| v.dim(1))
            .sum::<candle_core::Result<usize>>()?;
        Ok(TaskRows {
            values: join(values, length)?,
            observed: join(observed, length)?,
            future: join(future, horizon)?,
            future_known: join(future_known, horizon)?,
            group,
        })
    }

    /// Tasks `start..start + count` of the batch.
    fn tasks(&self, start: usize, count: usize) -> Result<TaskRows> {
        let (from, rows) = (start * self.group, count * self.group);
        Ok(TaskRows {
            values: self.values.narrow(0, from, rows)?,
            observed: self.observed.narrow(0, from, rows)?,
            future: self.future.narrow(0, from, rows)?,
            future_known: self.future_known.narrow(0, from, rows)?,
            group: self.group,
        })
    }
}

/// `asinh(x)`, as `sign(x) · ln(|x| + sqrt(x² + 1))` (exact for either sign).
fn asinh(x: &Tensor) -> Result<Tensor> {
    let magnitude = x.abs()?;
    let value = (&magnitude + (magnitude.sqr()? + 1.0)?.sqrt()?)?.log()?;
    Ok((value * x.sign()?)?)
}

/// `sinh(x) = (eˣ - e⁻ˣ) / 2`.
fn sinh(x: &Tensor) -> Result<Tensor> {
    Ok(((x.exp()? - x.neg()?.exp()?)? * 0.5)?)
}

/// Time positions `from..from + count` divided by `scale`, in `f32` as Chronos computes them,
/// as `[1, count / size, size]`.
fn time_positions(
    from: i64,
    count: usize,
    size: usize,
    scale: usize,
    device: &Device,
) -> Result<Tensor> {
    let values: Vec<f32> = (0..count as i64)
        .map(|k| (from + k) as f32 / scale as f32)
        .collect();
    Ok(Tensor::from_vec(values, (1, count / size, size), device)?)
}

impl Chronos2 {
    /// Standardises `x` (`[N, T]`) by the rows' location and scale (`[N, 1]`), then `arcsinh`
    /// when the model uses it.
    fn standardise(&self, x: &Tensor, location: &Tensor, scale: &Tensor) -> Result<Tensor> {
        let scaled = x.broadcast_sub(location)?.broadcast_div(scale)?;
        if self.config.use_arcsinh {
            asinh(&scaled)
        } else {
            Ok(scaled)
        }
    }

    /// Every quantile of the next `patches · output_patch_size` steps of every row of `tasks`,
    /// `[N, Q, patches · output_patch_size]` in the data's units and the model's quantile order.
    fn forecast_tasks(&self, tasks: &TaskRows, patches: usize, train: bool) -> Result<Tensor> {
        let config = &self.config;
        let size = config.input_patch_size;
        let device = tasks.values.device().clone();
        let patching = ContextPatching {
            size,
            stride: config.input_patch_stride,
        };
        let (values, observed) = patching.trim(&tasks.values, &tasks.observed, !train)?;
        let n = values.dim(0)?;
        let (location, scale) = location_and_scale(&values, &observed)?;
        let scaled = self
            .standardise(&values, &location, &scale)?
            .mul(&observed)?;
        let patched_values = patching.cut(&scaled)?;
        let patched_observed = patching.cut(&observed)?;
        let context_patches = patched_values.dim(1)?;
        let context_points = context_patches * size;
        let context_time = time_positions(
            -(context_points as i64),
            context_points,
            size,
            config.time_encoding_scale,
            &device,
        )?
        .broadcast_as((n, context_patches, size))?;
        let features = Tensor::cat(
            &[&context_time, &patched_values, &patched_observed],
            D::Minus1,
        )?;
        let mut context_tokens = self.input_embedding.forward(&features, train)?;
        let mut context_observed = patched_observed.max(D::Minus1)?;
        if config.use_reg_token {
            (context_tokens, context_observed) =
                append_reg_token(&self.shared, REG_TOKEN, &context_tokens, &context_observed)?;
        }
        let mut tokens = vec![context_tokens];
        let mut token_observed = vec![context_observed];
        // The future patches: known covariate values (standardised like their past), flags and
        // time positions; unknown steps are zeros.
        let future_points = patches * size;
        let pad = |x: &Tensor| -> Result<Tensor> {
            let have = x.dim(1)?;
            if have >= future_points {
                return Ok(x.narrow(1, 0, future_points)?);
            }
            let zeros = Tensor::zeros((n, future_points - have), x.dtype(), &device)?;
            Ok(Tensor::cat(&[x, &zeros], 1)?)
        };
        let known = pad(&tasks.future_known)?;
        let future = self
            .standardise(&pad(&tasks.future)?, &location, &scale)?
            .mul(&known)?;
        let future_time =
            time_positions(0, future_points, size, config.time_encoding_scale, &device)?
                .broadcast_as((n, patches, size))?;
        let future_features = Tensor::cat(
            &[
                &future_time,
                &future.reshape((n, patches, size))?,
                &known.reshape((n, patches, size))?,
            ],
            D::Minus1,
        )?;
        tokens.push(self.input_embedding.forward(&future_features, train)?);
        token_observed.push(Tensor::ones((n, patches), values.dtype(), &device)?);
        let tokens = Tensor::cat(&tokens, 1)?;
        let token_observed = Tensor::cat(&token_observed, 1)?;
        let hidden = self
            .encoder
            .forward(&tokens, &token_observed, tasks.group, train)?;
        let ahead = hidden.narrow(1, hidden.dim(1)? - patches, patches)?;
        let q = config.quantiles.len();
        let raw = self
            .output_embedding
            .forward(&ahead, train)?
            .reshape((n, patches, q, size))?
            .permute((0, 2, 1, 3))?
            .reshape((n, q, future_points))?;
        let raw = if config.use_arcsinh { sinh(&raw)? } else { raw };
        Ok(raw
            .broadcast_mul(&scale.unsqueeze(2)?)?
            .broadcast_add(&location.unsqueeze(2)?)?)
    }
}

impl Model for Chronos2 {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let n = self.config.n_series;
        let tasks = TaskRows::of(input, n, self.horizon)?;
        let count = input.insample.dim(0)? / n;
        let config = &self.config;
        let patches = self.horizon.div_ceil(config.output_patch_size);
        let tokens = input.insample.dim(1)?.div_ceil(config.input_patch_size) + 1 + patches;
        let per_block = (inference_rows(tokens, config.num_heads) / tasks.group).max(1);
        let targets = in_blocks(count, per_block, train, |start, length| {
            let block = tasks.tasks(start, length)?;
            let forecasts = self.forecast_tasks(&block, patches, train)?;
            // The targets are each task's first n rows.
            let (rows, q, steps) = forecasts.dims3()?;
            Ok(forecasts
                .reshape((rows / block.group, block.group, q, steps))?
                .narrow(1, 0, n)?
                .reshape((length * n, q, steps))?
                .narrow(2, 0, self.horizon)?)
        })?;
        in_output_order(&targets, &self.slots)
    }

    fn is_deterministic(&self) -> bool {
        self.config.dropout_rate == 0.0
    }

    fn multivariate_series(&self) -> Option<usize> {
        (self.config.n_series > 1).then_some(self.config.n_series)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn arcsinh_and_sinh_invert_each_other_for_either_sign() {
        let x = Tensor::new(&[-30f32, -1.5, 0.0, 1e-3, 2.0, 12.0], &Device::Cpu).unwrap();
        let there = asinh(&x).unwrap().to_vec1::<f32>().unwrap();
        for (got, v) in there.iter().zip([-30f32, -1.5, 0.0, 1e-3, 2.0, 12.0]) {
            assert!((got - v.asinh()).abs() < 1e-5, "asinh({v}) = {got}");
        }
        let back = sinh(&asinh(&x).unwrap()).unwrap().to_vec1::<f32>().unwrap();
        for (got, v) in back.iter().zip([-30f32, -1.5, 0.0, 1e-3, 2.0, 12.0]) {
            assert!(
                (got - v).abs() < 1e-4 * (1.0 + v.abs()),
                "sinh(asinh({v})) = {got}"
            );
        }
    }

    #[test]
    fn tasks_of_different_lengths_with_covariates_forecast_alike_on_both_kernels() {
        // Two tasks (a target, a past-only and a known-future covariate each) over 96 steps,
        // the second observed over its last 20 only: where it is padded, every row of its task
        // is masked, so its group attention has no key at all there.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/chronos2_small_random");
        let mut spec = crate::ModelSpec::new("chronos2", 12, 96).unwrap();
        spec.set_param("model_path", dir.to_str().unwrap()).unwrap();
        spec.set_param("hist_exog_list", "price").unwrap();
        spec.set_param("futr_exog_list", "promo").unwrap();
        let built = spec.build_for_fit(&Device::Cpu).unwrap();
        let wave = |t: usize, k: f32| (t as f32 / 5.0 + k).sin();
        let values: Vec<f32> = (0..2 * 96)
            .map(|i| 20.0 + 3.0 * wave(i % 96, 0.0))
            .collect();
        let flags: Vec<f32> = (0..2 * 96)
            .map(|i| if i >= 96 && i % 96 < 76 { 0.0 } else { 1.0 })
            .collect();
        let price: Vec<f32> = (0..2 * 96).map(|i| 10.0 + wave(i % 96, 1.0)).collect();
        let promo: Vec<f32> = (0..2 * 108)
            .map(|i| ((i % 108) % 7 == 0) as u8 as f32)
            .collect();
        let cpu = Device::Cpu;
        let mut input = ModelInput::target_only(
            Tensor::from_vec(values, (2, 96), &cpu).unwrap(),
            Tensor::from_vec(flags, (2, 96), &cpu).unwrap(),
        );
        input.hist = Some(Tensor::from_vec(price, (2, 96, 1), &cpu).unwrap());
        input.futr = Some(Tensor::from_vec(promo, (2, 108, 1), &cpu).unwrap());
        let fused = built.model.forward(&input, false).unwrap();
        let generic =
            crate::nn::kernels::with_generic_ops(|| built.model.forward(&input, false)).unwrap();
        let (fused, generic) = (
            fused.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            generic.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert!(fused.iter().chain(&generic).all(|v| v.is_finite()));
        for (a, b) in fused.iter().zip(&generic) {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "fused {a}, generic {b}"
            );
        }
    }

    #[test]
    fn defaults_are_chronos_2s_twenty_one_levels() {
        let config = Chronos2Config::default();
        let set = config.quantile_loss().unwrap();
        assert_eq!(set.quantiles.len(), 21);
        assert_eq!(set.levels.first(), Some(&10.0));
        assert_eq!(set.levels.last(), Some(&98.0));
        assert_eq!(config.prediction_length(), 1024);
    }
}
