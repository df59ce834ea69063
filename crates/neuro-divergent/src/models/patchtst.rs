//! PatchTST (Nie et al., 2023, "A Time Series is Worth 64 Words", as NeuralForecast implements
//! it): each window normalised by RevIN, cut into overlapping patches that become tokens,
//! embedded with a learned position, passed through a Transformer encoder with batch
//! normalisation and residual attention, then flattened and mapped to the horizon by one linear
//! head, and the forecast mapped back by RevIN. Channel-independent: every series is its own
//! window.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{require_at_least_one, require_dropout_rate, ArchitectureConfig, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    Activation, Dense, Dropout, EncoderLayer, EncoderLayerSpec, ParamStore, Patching, RevIn,
};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// PatchTST hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatchTstConfig {
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Attention heads (dividing `hidden_size`).
    pub n_heads: usize,
    /// Features per patch token.
    pub hidden_size: usize,
    /// Units of the encoder's feed-forward layers.
    pub linear_hidden_size: usize,
    /// Dropout on the embedded patches, the attention output, the residual branches and the
    /// feed-forward layers.
    pub dropout: f64,
    /// Dropout on the flattened head's output.
    pub head_dropout: f64,
    /// Dropout on the attention weights.
    pub attn_dropout: f64,
    /// Steps per patch (at most `input_size + stride`; longer is cut to that, as NF does).
    pub patch_len: usize,
    /// Steps between the starts of consecutive patches.
    pub stride: usize,
    /// Normalise each window with RevIN and map its forecast back.
    pub revin: bool,
    /// Give RevIN a trained affine map.
    pub revin_affine: bool,
    /// RevIN centres each window on its last value instead of its mean.
    pub revin_subtract_last: bool,
    /// Non-linearity of the feed-forward layers: `gelu` or `relu`.
    pub activation: Activation,
    /// Add each layer's pre-softmax attention scores to the next layer's (residual attention).
    pub res_attention: bool,
    /// Batch-normalise each sublayer's input (pre-norm) instead of its output (NF's name for
    /// the choice; the encoder always normalises with batch normalisation).
    pub batch_normalization: bool,
    /// Train the positional embedding (otherwise it keeps its random start).
    pub learn_pos_embed: bool,
}

impl Default for PatchTstConfig {
    fn default() -> Self {
        PatchTstConfig {
            encoder_layers: 3,
            n_heads: 16,
            hidden_size: 128,
            linear_hidden_size: 256,
            dropout: 0.2,
            head_dropout: 0.0,
            attn_dropout: 0.0,
            patch_len: 16,
            stride: 8,
            revin: true,
            revin_affine: false,
            revin_subtract_last: true,
            activation: Activation::GELU,
            res_attention: true,
            batch_normalization: false,
            learn_pos_embed: true,
        }
    }
}

impl PatchTstConfig {
    /// The patch length used with windows of `input_size` steps.
    fn patch_len_for(&self, input_size: usize) -> usize {
        self.patch_len.min(input_size + self.stride)
    }

    fn encoder_layer(&self) -> EncoderLayerSpec {
        EncoderLayerSpec {
            hidden: self.hidden_size,
            heads: self.n_heads,
            ff_hidden: self.linear_hidden_size,
            dropout: self.dropout,
            attention_dropout: self.attn_dropout,
            activation: self.activation,
            pre_norm: self.batch_normalization,
        }
    }
}

impl ArchitectureConfig for PatchTstConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_at_least_one(
            "PatchTST: ",
            &[
                ("encoder_layers", self.encoder_layers),
                ("n_heads", self.n_heads),
                ("hidden_size", self.hidden_size),
                ("linear_hidden_size", self.linear_hidden_size),
                ("patch_len", self.patch_len),
                ("stride", self.stride),
            ],
        )?;
        for (name, rate) in [
            ("dropout", self.dropout),
            ("head_dropout", self.head_dropout),
            ("attn_dropout", self.attn_dropout),
        ] {
            require_dropout_rate("PatchTST: ", name, rate)?;
        }
        if !self.hidden_size.is_multiple_of(self.n_heads) {
            return Err(Error::Config(format!(
                "PatchTST: hidden_size ({}) must be a multiple of n_heads ({})",
                self.hidden_size, self.n_heads
            )));
        }
        if !matches!(self.activation, Activation::GELU | Activation::ReLU) {
            return Err(Error::Config(format!(
                "PatchTST: activation must be gelu or relu, got {:?}",
                self.activation
            )));
        }
        Ok(())
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let patch_len = self.patch_len_for(shape.input_size);
        let tokens = Patching::count(shape.input_size, patch_len, self.stride) as f64;
        let (d, f) = (self.hidden_size as f64, self.linear_hidden_size as f64);
        // Multiply-adds of one forward pass: embedding, per layer the four projections, the
        // feed-forward pair and the two L x L products, then the head (one output per step).
        let per_layer = tokens * (4.0 * d * d + 2.0 * d * f) + 2.0 * tokens * tokens * d;
        let forward = tokens * patch_len as f64 * d
            + self.encoder_layers as f64 * per_layer
            + tokens * d * shape.horizon as f64;
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * forward
    }

    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let patch_len = self.patch_len_for(shape.input_size);
        let patching = Patching::new(shape.input_size, patch_len, self.stride);
        let tokens = patching.patches();
        let revin = if self.revin {
            Some(RevIn::new(
                store,
                "model.revin_layer",
                self.revin_affine,
                self.revin_subtract_last,
            )?)
        } else {
            None
        };
        let embedding = Dense::new(store, "model.backbone.W_P", patch_len, self.hidden_size)?;
        let position = store.uniform("model.backbone.W_pos", &[tokens, self.hidden_size], 0.02)?;
        let layers = (0..self.encoder_layers)
            .map(|i| {
                EncoderLayer::new(
                    store,
                    &format!("model.backbone.encoder.layers.{i}"),
                    self.encoder_layer(),
                    seed.wrapping_add(10 * (i as u64 + 1)),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let head = Dense::new(
            store,
            "model.head.linear",
            self.hidden_size * tokens,
            shape.horizon * n_outputs,
        )?;
        Ok(Box::new(PatchTst {
            revin,
            patching,
            embedding,
            position,
            learn_position: self.learn_pos_embed,
            embedding_dropout: Dropout::new(self.dropout, seed),
            layers,
            res_attention: self.res_attention,
            head,
            head_dropout: Dropout::new(self.head_dropout, seed.wrapping_add(1)),
            horizon: shape.horizon,
            n_outputs,
        }))
    }
}

struct PatchTst {
    revin: Option<RevIn>,
    patching: Patching,
    embedding: Dense,
    position: Tensor,
    learn_position: bool,
    embedding_dropout: Dropout,
    layers: Vec<EncoderLayer>,
    res_attention: bool,
    head: Dense,
    head_dropout: Dropout,
    horizon: usize,
    n_outputs: usize,
}

impl PatchTst {
    /// The encoded patch tokens `[B, patches, hidden]` of normalised windows `[B, L]`.
    fn encode(&self, windows: &Tensor, train: bool) -> Result<Tensor> {
        let position = if self.learn_position {
            self.position.clone()
        } else {
            self.position.detach()
        };
        let tokens = self
            .embedding
            .forward(&self.patching.apply(windows)?, None)?
            .broadcast_add(&position)?;
        let mut x = self.embedding_dropout.apply(&tokens, train)?;
        let mut scores: Option<Tensor> = None;
        for layer in &self.layers {
            let previous = scores.as_ref().filter(|_| self.res_attention);
            let (next, layer_scores) = layer.forward(&x, previous, train)?;
            x = next;
            scores = Some(layer_scores);
        }
        Ok(x)
    }
}

impl Model for PatchTst {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let batch = input.insample.dim(0)?;
        let (windows, stats) = match &self.revin {
            Some(revin) => {
                let (normalised, stats) = revin.normalize(&input.insample)?;
                (normalised, Some(stats))
            }
            None => (input.insample.clone(), None),
        };
        // Flattened feature by feature, each feature's patches together, as NF's head reads.
        let encoded = self.encode(&windows, train)?;
        let flat = encoded.transpose(1, 2)?.contiguous()?.flatten_from(1)?;
        let mut out = self
            .head_dropout
            .apply(&self.head.forward(&flat, None)?, train)?;
        if let Some(stats) = stats {
            out = stats.denormalize(&out)?;
        }
        Ok(out.reshape((batch, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        // Batch normalisation couples the windows of a batch and moves running statistics.
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn hyperparameters_are_checked_by_name() {
        let mut spec = ModelSpec::new("PatchTST", 12, 24).unwrap();
        spec.set_param("n_heads", "5").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("PatchTST: hidden_size (128) must be a multiple of n_heads (5)"),
            "{err}"
        );
        spec.set_param("n_heads", "16").unwrap();
        spec.set_param("stride", "0").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("PatchTST: stride must be at least 1"), "{err}");
        spec.set_param("stride", "8").unwrap();
        spec.set_param("activation", "tanh").unwrap_err();
        spec.set_param("activation", "Tanh").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("PatchTST: activation must be gelu or relu"),
            "{err}"
        );
        spec.set_param("activation", "relu").unwrap();
        spec.validate().unwrap();
    }
}
