//! Informer (Zhou et al., 2021, as NeuralForecast implements it): the shared encoder-decoder
//! network ([`super::encoder_decoder`]) with ProbSparse attention in every layer (the decoder's
//! self-attention causal) and, by default, distilling convolutions that halve the encoder's
//! tokens between its layers. Future exogenous columns enter both embeddings; historic and
//! static ones are not read (as in NeuralForecast).

use serde::{Deserialize, Serialize};

use super::encoder_decoder::{encoder_decoder_config, EncoderDecoderLayers, EncoderDecoderSpec};
use crate::nn::AttentionKind;

/// Informer hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InformerConfig {
    /// Sizes, dropout and activation of the layers (ProbSparse attention has no weight dropout).
    #[serde(flatten)]
    pub layers: EncoderDecoderLayers,
    /// ProbSparse sampling factor: `factor * ceil(ln L)` keys sampled and queries kept.
    pub factor: usize,
    /// Distil the encoder's tokens between its layers.
    pub distil: bool,
}

impl Default for InformerConfig {
    fn default() -> Self {
        InformerConfig {
            layers: EncoderDecoderLayers::default(),
            factor: 3,
            distil: true,
        }
    }
}

impl InformerConfig {
    fn network(&self) -> EncoderDecoderSpec {
        let attention = AttentionKind::ProbSparse {
            factor: self.factor,
        };
        self.layers.network(attention, self.distil)
    }
}

encoder_decoder_config!(InformerConfig, "Informer");
