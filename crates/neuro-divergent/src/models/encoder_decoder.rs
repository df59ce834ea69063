//! The encoder-decoder network the Informer family shares (VanillaTransformer, Informer), as
//! NeuralForecast builds it: the window embedded by [`DataEmbedding`] and encoded by post-norm
//! Transformer layers (with Informer's distilling convolutions between them when asked); a
//! decoder reads the window's last `label_len` values followed by zeros for the horizon,
//! attends to itself and to the encoder's output, and a linear projection maps its last `h`
//! tokens to the forecast, all steps at once. Future exogenous columns enter both embeddings.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{require_at_least_one, require_dropout_rate, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    Activation, AttentionKind, DataEmbedding, Dense, DistilConv, LayerNorm, ParamStore,
    TransDecoderLayer, TransEncoderLayer, TransformerSpec,
};
use crate::windows::WindowShape;

/// Implements [`super::ArchitectureConfig`] for a hyperparameter struct of the Informer family
/// named `$model` in messages, through its `network()` ([`EncoderDecoderSpec`]): NeuralForecast's
/// long-horizon training defaults and future exogenous columns only.
macro_rules! encoder_decoder_config {
    ($config:ty, $model:literal) => {
        impl $crate::models::ArchitectureConfig for $config {
            fn train_defaults(&self) -> $crate::train::TrainConfig {
                super::long_horizon_train_defaults()
            }

            fn validate(&self, shape: $crate::windows::WindowShape) -> $crate::error::Result<()> {
                self.network().validate($model, shape)
            }

            fn exogenous(&self) -> $crate::models::ExogenousKinds {
                $crate::models::ExogenousKinds::FUTURE
            }

            fn training_flops_per_window(
                &self,
                shape: $crate::windows::WindowShape,
                _parameters: usize,
            ) -> f64 {
                self.network().training_flops_per_window(shape)
            }

            fn build(
                &self,
                shape: $crate::windows::WindowShape,
                n_outputs: usize,
                store: &mut $crate::nn::ParamStore,
                seed: u64,
            ) -> $crate::error::Result<Box<dyn $crate::models::Model>> {
                self.network().build(shape, n_outputs, store, seed)
            }
        }
    };
}
pub(super) use encoder_decoder_config;

/// The hyperparameters every model of the family has, with NeuralForecast's names and defaults;
/// each model's config flattens them into its own (`#[serde(flatten)]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncoderDecoderLayers {
    /// The decoder's known part as a fraction of `input_size` (rounded up; in (0, 1)).
    pub decoder_input_size_multiplier: f64,
    /// Features per token.
    pub hidden_size: usize,
    /// Dropout on the embeddings and every sublayer (and full attention's weights).
    pub dropout: f64,
    /// Attention heads (dividing `hidden_size`).
    pub n_head: usize,
    /// Units of the feed-forward sublayers.
    pub conv_hidden_size: usize,
    /// Non-linearity of the feed-forward sublayers: `gelu` or `relu`.
    pub activation: Activation,
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
}

impl Default for EncoderDecoderLayers {
    fn default() -> Self {
        EncoderDecoderLayers {
            decoder_input_size_multiplier: 0.5,
            hidden_size: 128,
            dropout: 0.05,
            n_head: 4,
            conv_hidden_size: 32,
            activation: Activation::GELU,
            encoder_layers: 2,
            decoder_layers: 1,
        }
    }
}

impl EncoderDecoderLayers {
    /// The network these layers make with `attention` (and distilling when `distil`).
    pub(super) fn network(&self, attention: AttentionKind, distil: bool) -> EncoderDecoderSpec {
        EncoderDecoderSpec {
            layers: *self,
            attention,
            distil,
        }
    }

    /// The decoder's known steps for windows of `input_size` steps.
    pub(super) fn label_len(&self, input_size: usize) -> usize {
        (input_size as f64 * self.decoder_input_size_multiplier).ceil() as usize
    }

    /// The decoder's steps for windows of `shape`: its known steps, then the horizon.
    pub(super) fn decoder_len(&self, shape: WindowShape) -> usize {
        self.label_len(shape.input_size) + shape.horizon
    }

    /// Checks the sizes against the window; errors start with `prefix` (the model's name).
    pub(super) fn validate(&self, prefix: &str, shape: WindowShape) -> Result<()> {
        require_at_least_one(
            prefix,
            &[
                ("hidden_size", self.hidden_size),
                ("n_head", self.n_head),
                ("conv_hidden_size", self.conv_hidden_size),
                ("encoder_layers", self.encoder_layers),
                ("decoder_layers", self.decoder_layers),
            ],
        )?;
        require_dropout_rate(prefix, "dropout", self.dropout)?;
        if !self.hidden_size.is_multiple_of(self.n_head) {
            return Err(Error::Config(format!(
                "{prefix}hidden_size ({}) must be a multiple of n_head ({})",
                self.hidden_size, self.n_head
            )));
        }
        let label_len = self.label_len(shape.input_size);
        if !(self.decoder_input_size_multiplier > 0.0 && label_len < shape.input_size) {
            return Err(Error::Config(format!(
                "{prefix}decoder_input_size_multiplier must be in (0, 1) and leave the decoder \
                 fewer known steps than input_size ({}); got {} ({label_len} steps)",
                shape.input_size, self.decoder_input_size_multiplier
            )));
        }
        if !matches!(self.activation, Activation::GELU | Activation::ReLU) {
            return Err(Error::Config(format!(
                "{prefix}activation must be gelu or relu, got {:?}",
                self.activation
            )));
        }
        Ok(())
    }
}

/// The hyperparameters of an encoder-decoder Transformer, in NeuralForecast's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct EncoderDecoderSpec {
    /// Sizes, dropout and activation of the layers.
    pub layers: EncoderDecoderLayers,
    /// How tokens attend.
    pub attention: AttentionKind,
    /// Distilling convolutions between encoder layers (Informer).
    pub distil: bool,
}

impl EncoderDecoderSpec {
    /// The decoder's known steps for windows of `input_size` steps.
    fn label_len(&self, input_size: usize) -> usize {
        self.layers.label_len(input_size)
    }

    /// Checks the sizes against the window; errors start with `model`'s name.
    pub fn validate(&self, model: &str, shape: WindowShape) -> Result<()> {
        let prefix = format!("{model}: ");
        self.layers.validate(&prefix, shape)?;
        if let AttentionKind::ProbSparse { factor } = self.attention {
            require_at_least_one(&prefix, &[("factor", factor)])?;
        }
        Ok(())
    }

    /// Floating-point operations of one training pass over one window (full attention's cost;
    /// ProbSparse attention and distilling do less).
    pub fn training_flops_per_window(&self, shape: WindowShape) -> f64 {
        let (d, f) = (
            self.layers.hidden_size as f64,
            self.layers.conv_hidden_size as f64,
        );
        let encoder_tokens = shape.input_size as f64;
        let decoder_tokens = self.layers.decoder_len(shape) as f64;
        // Multiply-adds of one forward pass: per layer the attention projections, the two
        // token-by-token products and the feed-forward pair.
        let attention = |queries: f64, keys: f64| {
            2.0 * queries * d * d + 2.0 * keys * d * d + 2.0 * queries * keys * d
        };
        let feed_forward = |tokens: f64| 2.0 * tokens * d * f;
        let encoder = self.layers.encoder_layers as f64
            * (attention(encoder_tokens, encoder_tokens) + feed_forward(encoder_tokens));
        let decoder = self.layers.decoder_layers as f64
            * (attention(decoder_tokens, decoder_tokens)
                + attention(decoder_tokens, encoder_tokens)
                + feed_forward(decoder_tokens));
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * (encoder + decoder)
    }

    fn layer_spec(&self) -> TransformerSpec {
        TransformerSpec {
            hidden: self.layers.hidden_size,
            heads: self.layers.n_head,
            ff_hidden: self.layers.conv_hidden_size,
            dropout: self.layers.dropout,
            activation: self.layers.activation,
            attention: self.attention,
        }
    }

    /// Creates the network's parameters in NeuralForecast's order: the two embeddings, the
    /// encoder's layers, its distilling convolutions, its norm, the decoder's layers, its norm
    /// and the projection.
    pub fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let (hidden, features) = (self.layers.hidden_size, shape.exog.futr);
        let spec = self.layer_spec();
        let embedding = |store: &mut ParamStore, name: &str, stream: u64| {
            DataEmbedding::new(
                store,
                name,
                hidden,
                features,
                true,
                self.layers.dropout,
                seed.wrapping_add(stream),
            )
        };
        let encoder_embedding = embedding(store, "enc_embedding", 1)?;
        let decoder_embedding = embedding(store, "dec_embedding", 2)?;
        let encoder = (0..self.layers.encoder_layers)
            .map(|i| {
                let stream = seed.wrapping_add(10 * (i as u64 + 1));
                TransEncoderLayer::new(store, &format!("encoder.attn_layers.{i}"), spec, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let distil_layers = if self.distil {
            self.layers.encoder_layers - 1
        } else {
            0
        };
        let distil = (0..distil_layers)
            .map(|i| DistilConv::new(store, &format!("encoder.conv_layers.{i}"), hidden))
            .collect::<Result<Vec<_>>>()?;
        let encoder_norm = LayerNorm::new(store, "encoder.norm", hidden)?;
        let decoder = (0..self.layers.decoder_layers)
            .map(|i| {
                let stream = seed.wrapping_add(1000 + 10 * i as u64);
                TransDecoderLayer::new(store, &format!("decoder.layers.{i}"), spec, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let decoder_norm = LayerNorm::new(store, "decoder.norm", hidden)?;
        let projection = Dense::new(store, "decoder.projection", hidden, n_outputs)?;
        Ok(Box::new(EncoderDecoder {
            encoder_embedding,
            decoder_embedding,
            encoder,
            distil,
            encoder_norm,
            decoder,
            decoder_norm,
            projection,
            label_len: self.label_len(shape.input_size),
            horizon: shape.horizon,
            deterministic: self.layers.dropout == 0.0
                && self.attention == AttentionKind::Full
                && distil_layers == 0,
        }))
    }
}

/// The future exogenous values (`[B, L + h, F]`) of the encoder's steps and of the decoder's
/// (the window's last `label_len` steps and the horizon), when the input has any.
pub(super) fn split_marks(
    input: &ModelInput,
    label_len: usize,
    horizon: usize,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let steps = input.insample.dim(1)?;
    Ok(match &input.futr {
        Some(futr) => (
            Some(futr.narrow(1, 0, steps)?),
            Some(futr.narrow(1, steps - label_len, label_len + horizon)?),
        ),
        None => (None, None),
    })
}

struct EncoderDecoder {
    encoder_embedding: DataEmbedding,
    decoder_embedding: DataEmbedding,
    encoder: Vec<TransEncoderLayer>,
    distil: Vec<DistilConv>,
    encoder_norm: LayerNorm,
    decoder: Vec<TransDecoderLayer>,
    decoder_norm: LayerNorm,
    projection: Dense,
    label_len: usize,
    horizon: usize,
    deterministic: bool,
}

impl EncoderDecoder {
    /// The encoder's output tokens for the window (and its future values' marks).
    fn encode(&self, input: &ModelInput, marks: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let mut memory = self
            .encoder_embedding
            .forward(&input.insample, marks, train)?;
        for (i, layer) in self.encoder.iter().enumerate() {
            memory = layer.forward(&memory, train)?;
            if let Some(distil) = self.distil.get(i) {
                memory = distil.forward(&memory, train)?;
            }
        }
        self.encoder_norm.forward(&memory)
    }
}

impl Model for EncoderDecoder {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let (batch, steps) = input.insample.dims2()?;
        let known = steps - self.label_len;
        let (encoder_marks, decoder_marks) = split_marks(input, self.label_len, self.horizon)?;
        let memory = self.encode(input, encoder_marks.as_ref(), train)?;

        let zeros = input.insample.zeros_like()?.narrow(1, 0, 1)?;
        let future = zeros.broadcast_as((batch, self.horizon))?;
        let decoder_input = Tensor::cat(
            &[input.insample.narrow(1, known, self.label_len)?, future],
            1,
        )?;
        let mut x =
            self.decoder_embedding
                .forward(&decoder_input, decoder_marks.as_ref(), train)?;
        for layer in &self.decoder {
            x = layer.forward(&x, &memory, train)?;
        }
        let out = self
            .projection
            .forward(&self.decoder_norm.forward(&x)?, None)?;
        Ok(out.narrow(1, self.label_len, self.horizon)?.contiguous()?)
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }
}
