//! VanillaTransformer (the full-attention baseline of Zhou et al., 2021, "Informer", as
//! NeuralForecast implements it): the shared encoder-decoder network
//! ([`super::encoder_decoder`]) with full attention in every layer and no distilling. Future
//! exogenous columns enter both embeddings as calendar-like features; historic and static ones
//! are not read (as in NeuralForecast).

use serde::{Deserialize, Serialize};

use super::encoder_decoder::{encoder_decoder_config, EncoderDecoderLayers, EncoderDecoderSpec};
use crate::nn::AttentionKind;

/// VanillaTransformer hyperparameters (NeuralForecast's names and defaults): the family's
/// layers only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VanillaTransformerConfig {
    /// Sizes, dropout and activation of the layers.
    #[serde(flatten)]
    pub layers: EncoderDecoderLayers,
}

impl VanillaTransformerConfig {
    fn network(&self) -> EncoderDecoderSpec {
        self.layers.network(AttentionKind::Full, false)
    }
}

encoder_decoder_config!(VanillaTransformerConfig, "VanillaTransformer");
