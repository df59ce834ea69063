//! Chronos-Bolt (Ansari et al., 2024; Amazon's `chronos-forecasting`): a pretrained T5
//! encoder–decoder that forecasts quantiles of a series it has never seen. The context is
//! standardised by its own mean and deviation, cut into patches (values and observed flags
//! side by side) that a residual perceptron embeds, a `[REG]` token is appended, and the T5
//! encoder reads them. The decoder reads one start token against the encoder's states, and a
//! second residual perceptron maps its output to every quantile of `prediction_length` steps.
//! Horizons beyond that feed each quantile path back as context and pool the quantiles of all
//! paths, as the reference pipeline does.
//!
//! The architecture and weights come from `model_path`, a directory in the Hugging Face layout
//! (`config.json`, `model.safetensors`): setting it fills every other hyperparameter and the
//! loss (the model's quantiles as `MQLoss` levels). It forecasts untrained (`max_steps` 0) and
//! fine-tunes through the common trainer when given steps.

use std::collections::HashMap;

use candle_core::{Device, Tensor, D};
use serde::{Deserialize, Serialize};

use super::patched_series::{
    append_reg_token, check_quantile_loss, in_blocks, in_output_order, inference_rows,
    location_and_scale, patch_embedding, pretrained_train_defaults, quantile_outputs,
    quantile_slots, ContextPatching,
};
use super::pretrained::{field, HuggingFaceDir, ModelConfigJson};
use super::{ArchitectureConfig, Model, ModelInput};
use crate::error::{Error, Result};
use crate::losses::{Loss, QuantileSet};
use crate::nn::{additive_key_mask, ParamStore, ResidualMlp, T5Decoder, T5Encoder, T5Spec};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// The name errors give the model.
const NAME: &str = "ChronosBolt";
/// The architecture Hugging Face's `config.json` must name.
const ARCHITECTURE: &str = "ChronosBoltModelForForecasting";
/// Token id of the `[REG]` token (Chronos-Bolt's `reg_token_id`).
const REG_TOKEN: usize = 1;
/// Offsets of the encoder's and decoder's dropout seeds from the model's (the patch
/// embeddings take the first two).
const ENCODER_SEEDS: u64 = 1 << 20;
const DECODER_SEEDS: u64 = 2 << 20;

/// Chronos-Bolt's hyperparameters: `model_path`, and the architecture it fixes (Hugging Face's
/// `T5Config` names and `chronos_config`). The defaults are `amazon/chronos-bolt-tiny`'s; setting
/// `model_path` replaces them with the directory's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChronosBoltConfig {
    /// Directory of the pretrained model in the Hugging Face layout.
    pub model_path: String,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Width of the feed-forward layers and of the patch embeddings' hidden layers.
    pub d_ff: usize,
    /// Width of one attention head.
    pub d_kv: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Encoder blocks.
    pub num_layers: usize,
    /// Decoder blocks.
    pub num_decoder_layers: usize,
    /// Relative position buckets.
    pub relative_attention_num_buckets: usize,
    /// Distance from which all positions share the last bucket.
    pub relative_attention_max_distance: usize,
    /// Epsilon of the root-mean-square norms.
    pub layer_norm_epsilon: f64,
    /// The feed-forward layers' form (`relu`, the only one Chronos-Bolt uses).
    pub feed_forward_proj: String,
    /// Dropout rate while fine-tuning (T5's sites and the patch embeddings' outputs).
    pub dropout_rate: f64,
    /// Token id the decoder starts from.
    pub decoder_start_token_id: usize,
    /// Longest context the model reads.
    pub context_length: usize,
    /// Steps forecast in one pass.
    pub prediction_length: usize,
    /// Points per input patch.
    pub input_patch_size: usize,
    /// Points between the starts of two patches.
    pub input_patch_stride: usize,
    /// The quantile levels the model forecasts, ascending.
    pub quantiles: Vec<f64>,
    /// Whether a `[REG]` token follows the patches.
    pub use_reg_token: bool,
}

impl Default for ChronosBoltConfig {
    fn default() -> Self {
        ChronosBoltConfig {
            model_path: String::new(),
            d_model: 256,
            d_ff: 1024,
            d_kv: 64,
            num_heads: 4,
            num_layers: 4,
            num_decoder_layers: 4,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            layer_norm_epsilon: 1e-6,
            feed_forward_proj: "relu".into(),
            dropout_rate: 0.1,
            decoder_start_token_id: 0,
            context_length: 2048,
            prediction_length: 64,
            input_patch_size: 16,
            input_patch_stride: 16,
            quantiles: (1..=9).map(|i| f64::from(i) / 10.0).collect(),
            use_reg_token: true,
        }
    }
}

impl ChronosBoltConfig {
    /// The architecture of the pretrained model in `dir` (which `model_path` named), read from
    /// its `config.json`.
    fn read(dir: &HuggingFaceDir, model_path: &str) -> Result<ChronosBoltConfig> {
        let ModelConfigJson {
            json,
            chronos,
            what,
            what_chronos,
        } = dir.model_config(ARCHITECTURE, "Chronos-Bolt")?;
        let num_layers = field(&json, "num_layers", None, &what)?;
        Ok(ChronosBoltConfig {
            model_path: model_path.to_string(),
            d_model: field(&json, "d_model", None, &what)?,
            d_ff: field(&json, "d_ff", None, &what)?,
            d_kv: field(&json, "d_kv", None, &what)?,
            num_heads: field(&json, "num_heads", None, &what)?,
            num_layers,
            num_decoder_layers: field(&json, "num_decoder_layers", Some(num_layers), &what)?,
            relative_attention_num_buckets: field(
                &json,
                "relative_attention_num_buckets",
                Some(32),
                &what,
            )?,
            relative_attention_max_distance: field(
                &json,
                "relative_attention_max_distance",
                Some(128),
                &what,
            )?,
            layer_norm_epsilon: field(&json, "layer_norm_epsilon", Some(1e-6), &what)?,
            feed_forward_proj: field(&json, "feed_forward_proj", Some("relu".into()), &what)?,
            dropout_rate: field(&json, "dropout_rate", Some(0.1), &what)?,
            decoder_start_token_id: field(&json, "decoder_start_token_id", Some(0), &what)?,
            context_length: field(&chronos, "context_length", None, &what_chronos)?,
            prediction_length: field(&chronos, "prediction_length", None, &what_chronos)?,
            input_patch_size: field(&chronos, "input_patch_size", None, &what_chronos)?,
            input_patch_stride: field(&chronos, "input_patch_stride", None, &what_chronos)?,
            quantiles: field(&chronos, "quantiles", None, &what_chronos)?,
            use_reg_token: field(&chronos, "use_reg_token", Some(false), &what_chronos)?,
        })
    }

    /// The loss whose outputs are the model's quantiles.
    fn quantile_loss(&self) -> Result<QuantileSet> {
        quantile_outputs(NAME, &self.quantiles)
    }

    /// The sizes of the T5 stacks.
    fn t5(&self) -> T5Spec {
        T5Spec {
            d_model: self.d_model,
            d_kv: self.d_kv,
            num_heads: self.num_heads,
            d_ff: self.d_ff,
            num_buckets: self.relative_attention_num_buckets,
            max_distance: self.relative_attention_max_distance,
            eps: self.layer_norm_epsilon,
            dropout: self.dropout_rate,
        }
    }
}

impl ArchitectureConfig for ChronosBoltConfig {
    fn train_defaults(&self) -> TrainConfig {
        pretrained_train_defaults(NAME, &self.quantiles)
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let sizes = [
            ("d_model", self.d_model),
            ("d_ff", self.d_ff),
            ("d_kv", self.d_kv),
            ("num_heads", self.num_heads),
            ("num_layers", self.num_layers),
            ("num_decoder_layers", self.num_decoder_layers),
            (
                "relative_attention_num_buckets",
                self.relative_attention_num_buckets,
            ),
            ("context_length", self.context_length),
            ("prediction_length", self.prediction_length),
            ("input_patch_size", self.input_patch_size),
            ("input_patch_stride", self.input_patch_stride),
        ];
        super::require_at_least_one(&format!("{NAME}: "), &sizes)?;
        if self.feed_forward_proj != "relu" {
            return Err(Error::Config(format!(
                "{NAME}: feed_forward_proj '{}' is not supported (Chronos-Bolt uses relu)",
                self.feed_forward_proj
            )));
        }
        super::require_dropout_rate(&format!("{NAME}: "), "dropout_rate", self.dropout_rate)?;
        if self.relative_attention_max_distance == 0 {
            return Err(Error::Config(format!(
                "{NAME}: relative_attention_max_distance must be at least 1"
            )));
        }
        let vocabulary = if self.use_reg_token { 2 } else { 1 };
        if self.decoder_start_token_id >= vocabulary {
            return Err(Error::Config(format!(
                "{NAME}: decoder_start_token_id {} is not a token of the model's {vocabulary}",
                self.decoder_start_token_id
            )));
        }
        if self.relative_attention_num_buckets < 4 {
            return Err(Error::Config(format!(
                "{NAME}: relative_attention_num_buckets must be at least 4"
            )));
        }
        if shape.input_size > self.context_length {
            return Err(Error::Config(format!(
                "{NAME}: input_size {} exceeds the model's context_length {}",
                shape.input_size, self.context_length
            )));
        }
        self.quantile_loss().map(|_| ())
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
            *self = ChronosBoltConfig::read(
                &HuggingFaceDir::open(NAME, &self.model_path)?,
                &self.model_path,
            )?;
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
        let shared = store.normal_scaled("shared.weight", &[vocabulary, self.d_model], 1.0)?;
        let input_embedding = patch_embedding(
            store,
            "input_patch_embedding",
            (2 * self.input_patch_size, self.d_ff, self.d_model),
            self.dropout_rate,
            seed,
        )?;
        let t5 = self.t5();
        let encoder = T5Encoder::new(
            store,
            "encoder",
            t5,
            self.num_layers,
            seed.wrapping_add(ENCODER_SEEDS),
        )?;
        let decoder = T5Decoder::new(
            store,
            "decoder",
            t5,
            self.num_decoder_layers,
            seed.wrapping_add(DECODER_SEEDS),
        )?;
        let output_embedding = patch_embedding(
            store,
            "output_patch_embedding",
            (
                self.d_model,
                self.d_ff,
                self.quantiles.len() * self.prediction_length,
            ),
            self.dropout_rate,
            seed.wrapping_add(1),
        )?;
        Ok(Box::new(ChronosBolt {
            config: self.clone(),
            horizon: shape.horizon,
            slots,
            shared,
            input_embedding,
            encoder,
            decoder,
            output_embedding,
        }))
    }
}

/// The Chronos-Bolt network built from a [`ChronosBoltConfig`].
struct ChronosBolt {
    config: ChronosBoltConfig,
    horizon: usize,
    /// Output slot of each of the model's quantiles.
    slots: Vec<usize>,
    shared: Tensor,
    input_embedding: ResidualMlp,
    encoder: T5Encoder,
    decoder: T5Decoder,
    output_embedding: ResidualMlp,
}

impl ChronosBolt {
    /// Every quantile of the next `prediction_length` steps after each context (`[N, L]` values
    /// with `[N, L]` observed flags), `[N, Q, prediction_length]` in the data's units, in the
    /// model's quantile order.
    fn forecast_block(&self, values: &Tensor, observed: &Tensor, train: bool) -> Result<Tensor> {
        let config = &self.config;
        let patching = ContextPatching {
            size: config.input_patch_size,
            stride: config.input_patch_stride,
        };
        let (values, observed) = patching.trim(values, observed, !train)?;
        let n = values.dim(0)?;
        let (location, scale) = location_and_scale(&values, &observed)?;
        let scaled = values
            .broadcast_sub(&location)?
            .broadcast_div(&scale)?
            .mul(&observed)?;
        let patched_values = patching.cut(&scaled)?;
        let patched_observed = patching.cut(&observed)?;
        let features = Tensor::cat(&[&patched_values, &patched_observed], D::Minus1)?;
        let mut tokens = self.input_embedding.forward(&features, train)?;
        let mut key_observed = patched_observed.max(D::Minus1)?;
        if config.use_reg_token {
            (tokens, key_observed) =
                append_reg_token(&self.shared, REG_TOKEN, &tokens, &key_observed)?;
        }
        let mask = additive_key_mask(&key_observed)?;
        let memory = self.encoder.forward(&tokens, &mask, train)?;
        let start = self
            .shared
            .get(config.decoder_start_token_id)?
            .reshape((1, 1, config.d_model))?
            .broadcast_as((n, 1, config.d_model))?
            .contiguous()?;
        let decoded = self.decoder.forward(&start, &memory, &mask, train)?;
        let quantiles = self.output_embedding.forward(&decoded, train)?.reshape((
            n,
            config.quantiles.len(),
            config.prediction_length,
        ))?;
        Ok(quantiles
            .broadcast_mul(&scale.unsqueeze(2)?)?
            .broadcast_add(&location.unsqueeze(2)?)?)
    }

    /// The horizon's quantiles `[B, Q, horizon]` in the model's quantile order: the first block,
    /// then blocks forecast from every quantile path of the previous one, reduced to the model's
    /// quantiles of all `Q²` paths (linear interpolation, as `torch.quantile`).
    fn forecast(&self, values: &Tensor, observed: &Tensor, train: bool) -> Result<Tensor> {
        let first = self.forecast_block(values, observed, train)?;
        let block = self.config.prediction_length;
        if self.horizon <= block {
            return Ok(first.narrow(2, 0, self.horizon)?);
        }
        let (batch, q) = (first.dim(0)?, self.config.quantiles.len());
        let paths = Tensor::from_vec(
            (0..batch as u32)
                .flat_map(|b| std::iter::repeat_n(b, q))
                .collect(),
            batch * q,
            values.device(),
        )?;
        let mut context = values.index_select(&paths, 0)?;
        let mut context_observed = observed.index_select(&paths, 0)?;
        let mut blocks = vec![first.clone()];
        let mut last = first;
        let mut done = block;
        while done < self.horizon {
            let appended = last.reshape((batch * q, block))?;
            context = keep_last(
                &Tensor::cat(&[&context, &appended], 1)?,
                self.config.context_length,
            )?;
            context_observed = keep_last(
                &Tensor::cat(&[&context_observed, &appended.ones_like()?], 1)?,
                self.config.context_length,
            )?;
            let forecasts = self.forecast_block(&context, &context_observed, train)?;
            last = pooled_quantiles(&forecasts, batch, &self.config.quantiles)?;
            blocks.push(last.clone());
            done += block;
        }
        Ok(Tensor::cat(&blocks, 2)?.narrow(2, 0, self.horizon)?)
    }
}

/// The last `length` columns of `[N, L]` (all of them when there are fewer).
fn keep_last(x: &Tensor, length: usize) -> Result<Tensor> {
    let total = x.dim(1)?;
    Ok(if total > length {
        x.narrow(1, total - length, length)?
    } else {
        x.clone()
    })
}

/// From `[B·Q, Q, S]` forecasts of `Q` paths per series, each step's `quantiles` of the `Q²`
/// values of its series (`torch.quantile`'s linear interpolation, in `f32`): `[B, Q, S]`.
fn pooled_quantiles(forecasts: &Tensor, batch: usize, quantiles: &[f64]) -> Result<Tensor> {
    let (rows, q, steps) = forecasts.dims3()?;
    let per_series = rows / batch * q;
    let values = forecasts
        .reshape((batch, per_series, steps))?
        .to_vec3::<f32>()?;
    let mut out = Vec::with_capacity(batch * quantiles.len() * steps);
    let mut sorted = vec![vec![0f32; per_series]; steps];
    for series in &values {
        for (step, column) in sorted.iter_mut().enumerate() {
            for (slot, path) in column.iter_mut().zip(series) {
                *slot = path[step];
            }
            column.sort_by(f32::total_cmp);
        }
        for &level in quantiles {
            for column in &sorted {
                out.push(interpolated_quantile(column, level as f32));
            }
        }
    }
    Ok(Tensor::from_vec(
        out,
        (batch, quantiles.len(), steps),
        forecasts.device(),
    )?)
}

/// `torch.quantile(sorted, level)` of ascending values: the value at rank `level · (n - 1)`,
/// interpolated between its neighbours as `torch.lerp` does.
fn interpolated_quantile(sorted: &[f32], level: f32) -> f32 {
    let rank = level * (sorted.len() - 1) as f32;
    let below = rank.floor();
    let (low, high) = (sorted[below as usize], sorted[rank.ceil() as usize]);
    let weight = rank - below;
    if weight < 0.5 {
        low + weight * (high - low)
    } else {
        high - (high - low) * (1.0 - weight)
    }
}

impl Model for ChronosBolt {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        if train && self.horizon > self.config.prediction_length {
            return Err(Error::Config(format!(
                "{NAME} fine-tunes on horizons up to its prediction_length {}, not {}",
                self.config.prediction_length, self.horizon
            )));
        }
        let rows = input.insample.dim(0)?;
        let config = &self.config;
        let tokens = input.insample.dim(1)?.div_ceil(config.input_patch_size) + 1;
        let per_block = inference_rows(tokens, config.num_heads);
        let quantiles = in_blocks(rows, per_block, train, |start, count| {
            self.forecast(
                &input.insample.narrow(0, start, count)?,
                &input.insample_mask.narrow(0, start, count)?,
                train,
            )
        })?;
        in_output_order(&quantiles, &self.slots)
    }

    fn is_deterministic(&self) -> bool {
        self.config.dropout_rate == 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_quantiles_interpolate_like_torch() {
        // torch.quantile(torch.arange(81.), [0.1, 0.5, 0.9]) = 8, 40, 72; of 0..4: 0.4, 2, 3.6.
        let sorted: Vec<f32> = (0..81).map(|v| v as f32).collect();
        assert_eq!(interpolated_quantile(&sorted, 0.5), 40.0);
        assert!((interpolated_quantile(&sorted, 0.1) - 8.0).abs() < 1e-5);
        let few = [0f32, 1.0, 2.0, 3.0, 4.0];
        assert!((interpolated_quantile(&few, 0.1) - 0.4).abs() < 1e-6);
        assert!((interpolated_quantile(&few, 0.9) - 3.6).abs() < 1e-6);
    }
}
