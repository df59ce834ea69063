//! Informer (Zhou et al., 2021, as NeuralForecast implements it): the shared encoder-decoder
//! network ([`super::encoder_decoder`]) with ProbSparse attention in every layer (the decoder's
//! self-attention causal) and, by default, distilling convolutions that halve the encoder's
//! tokens between its layers. Future exogenous columns enter both embeddings; historic and
//! static ones are not read (as in NeuralForecast).

use serde::{Deserialize, Serialize};

use super::encoder_decoder::{encoder_decoder_config, EncoderDecoderSpec};
use crate::nn::{Activation, AttentionKind};

/// Informer hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InformerConfig {
    /// The decoder's known part as a fraction of `input_size` (rounded up; in (0, 1)).
    pub decoder_input_size_multiplier: f64,
    /// Features per token.
    pub hidden_size: usize,
    /// Dropout on the embeddings and every sublayer.
    pub dropout: f64,
    /// ProbSparse sampling factor: `factor * ceil(ln L)` keys sampled and queries kept.
    pub factor: usize,
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
    /// Distil the encoder's tokens between its layers.
    pub distil: bool,
}

impl Default for InformerConfig {
    fn default() -> Self {
        InformerConfig {
            decoder_input_size_multiplier: 0.5,
            hidden_size: 128,
            dropout: 0.05,
            factor: 3,
            n_head: 4,
            conv_hidden_size: 32,
            activation: Activation::GELU,
            encoder_layers: 2,
            decoder_layers: 1,
            distil: true,
        }
    }
}

impl InformerConfig {
    fn network(&self) -> EncoderDecoderSpec {
        EncoderDecoderSpec {
            decoder_input_size_multiplier: self.decoder_input_size_multiplier,
            hidden_size: self.hidden_size,
            dropout: self.dropout,
            n_head: self.n_head,
            conv_hidden_size: self.conv_hidden_size,
            activation: self.activation,
            encoder_layers: self.encoder_layers,
            decoder_layers: self.decoder_layers,
            attention: AttentionKind::ProbSparse {
                factor: self.factor,
            },
            distil: self.distil,
        }
    }
}

encoder_decoder_config!(InformerConfig, "Informer");
