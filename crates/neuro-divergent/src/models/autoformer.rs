//! Autoformer (Wu et al., 2021, as NeuralForecast implements it): a decomposition transformer.
//! The window is split into a trend (moving average) and a seasonal part; the encoder reads the
//! embedded window through auto-correlation layers ([`crate::nn::AutoCorrelation`]) that split
//! off their trend after every sublayer; the decoder starts from the seasonal part of the
//! window's last `label_len` steps followed by zeros, and from their trend followed by the
//! window's mean, and each decoder layer adds the trend it removes (projected) to the trend.
//! The forecast is the accumulated trend plus the projected seasonal tokens, all steps at once.
//! Future exogenous columns enter both embeddings; historic and static ones are not read (as in
//! NeuralForecast). The embeddings carry no position code.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::encoder_decoder::{split_marks, EncoderDecoderLayers};
use super::{require_at_least_one, ArchitectureConfig, ExogenousKinds, Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    decompose, DataEmbedding, DecompositionDecoderLayer, DecompositionEncoderLayer,
    DecompositionSpec, Dense, ParamStore, SeasonalLayerNorm,
};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// Autoformer hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoformerConfig {
    /// Sizes, dropout and activation of the layers.
    #[serde(flatten)]
    pub layers: EncoderDecoderLayers,
    /// Auto-correlation's lag factor: `factor * ln L` lags aggregated.
    pub factor: usize,
    /// Steps of the moving average that splits off the trend (odd).
    #[serde(rename = "MovingAvg_window")]
    pub moving_avg_window: usize,
}

impl Default for AutoformerConfig {
    fn default() -> Self {
        AutoformerConfig {
            layers: EncoderDecoderLayers::default(),
            factor: 3,
            moving_avg_window: 25,
        }
    }
}

impl AutoformerConfig {
    fn layer_spec(&self) -> DecompositionSpec {
        DecompositionSpec {
            hidden: self.layers.hidden_size,
            heads: self.layers.n_head,
            ff_hidden: self.layers.conv_hidden_size,
            dropout: self.layers.dropout,
            activation: self.layers.activation,
            moving_avg: self.moving_avg_window,
            factor: self.factor,
        }
    }
}

impl ArchitectureConfig for AutoformerConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let prefix = "Autoformer: ";
        self.layers.validate(prefix, shape)?;
        require_at_least_one(prefix, &[("factor", self.factor)])?;
        if self.moving_avg_window.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "{prefix}MovingAvg_window must be odd (a centred moving average), got {}",
                self.moving_avg_window
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::FUTURE
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let (d, f) = (
            self.layers.hidden_size as f64,
            self.layers.conv_hidden_size as f64,
        );
        let encoder_steps = shape.input_size as f64;
        let decoder_steps = (self.layers.label_len(shape.input_size) + shape.horizon) as f64;
        // Multiply-adds of one forward pass: per auto-correlation the four projections, the
        // correlation product and the aggregation over `factor ln L` lags; per feed-forward
        // sublayer its pair of maps; per decomposition the `[L, L]` averaging product.
        let correlation = |steps: f64| {
            let lags = self.factor as f64 * steps.ln();
            8.0 * steps * d * d + steps * steps * d + lags * steps * d
        };
        let feed_forward = |steps: f64| 2.0 * steps * d * f;
        let decomposition = |steps: f64| steps * steps * d;
        let encoder = self.layers.encoder_layers as f64
            * (correlation(encoder_steps)
                + feed_forward(encoder_steps)
                + 2.0 * decomposition(encoder_steps));
        let decoder = self.layers.decoder_layers as f64
            * (2.0 * correlation(decoder_steps)
                + feed_forward(decoder_steps)
                + 3.0 * decomposition(decoder_steps));
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * (encoder + decoder)
    }

    /// Creates the network's parameters in NeuralForecast's order: the two embeddings, the
    /// encoder's layers and norm, the decoder's layers, its norm and the seasonal projection.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let (hidden, features) = (self.layers.hidden_size, shape.exog.futr);
        let spec = self.layer_spec();
        let dropout = self.layers.dropout;
        let mut embedding = |name: &str, stream: u64| {
            let seed = seed.wrapping_add(stream);
            DataEmbedding::new(store, name, hidden, features, false, dropout, seed)
        };
        let encoder_embedding = embedding("enc_embedding", 1)?;
        let decoder_embedding = embedding("dec_embedding", 2)?;
        let encoder = (0..self.layers.encoder_layers)
            .map(|i| {
                let name = format!("encoder.attn_layers.{i}");
                let stream = seed.wrapping_add(10 * (i as u64 + 1));
                DecompositionEncoderLayer::new(store, &name, spec, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder_norm = SeasonalLayerNorm::new(store, "encoder.norm", hidden)?;
        let decoder = (0..self.layers.decoder_layers)
            .map(|i| {
                let name = format!("decoder.layers.{i}");
                let stream = seed.wrapping_add(1000 + 10 * i as u64);
                DecompositionDecoderLayer::new(store, &name, spec, n_outputs, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let decoder_norm = SeasonalLayerNorm::new(store, "decoder.norm", hidden)?;
        let projection = Dense::new(store, "decoder.projection", hidden, n_outputs)?;
        Ok(Box::new(Autoformer {
            encoder_embedding,
            decoder_embedding,
            encoder,
            encoder_norm,
            decoder,
            decoder_norm,
            projection,
            label_len: self.layers.label_len(shape.input_size),
            horizon: shape.horizon,
            moving_avg: self.moving_avg_window,
        }))
    }
}

struct Autoformer {
    encoder_embedding: DataEmbedding,
    decoder_embedding: DataEmbedding,
    encoder: Vec<DecompositionEncoderLayer>,
    encoder_norm: SeasonalLayerNorm,
    decoder: Vec<DecompositionDecoderLayer>,
    decoder_norm: SeasonalLayerNorm,
    projection: Dense,
    label_len: usize,
    horizon: usize,
    moving_avg: usize,
}

impl Autoformer {
    /// The encoder's output tokens for the window (and its future values' marks).
    fn encode(&self, input: &ModelInput, marks: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let mut memory = self
            .encoder_embedding
            .forward(&input.insample, marks, train)?;
        for layer in &self.encoder {
            memory = layer.forward(&memory, train)?;
        }
        self.encoder_norm.forward(&memory)
    }

    /// The decoder's starting seasonal values and trend (`[B, label_len + h]` each): the
    /// window's last `label_len` steps of each part, then zeros and the window's mean.
    fn decoder_start(&self, insample: &Tensor) -> Result<(Tensor, Tensor)> {
        let (batch, steps) = insample.dims2()?;
        let known = steps - self.label_len;
        let (seasonal, trend) = decompose(insample, self.moving_avg)?;
        let mean = insample
            .mean_keepdim(1)?
            .broadcast_as((batch, self.horizon))?;
        let zeros = mean.zeros_like()?;
        Ok((
            Tensor::cat(&[seasonal.narrow(1, known, self.label_len)?, zeros], 1)?,
            Tensor::cat(&[trend.narrow(1, known, self.label_len)?, mean], 1)?,
        ))
    }
}

impl Model for Autoformer {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let (encoder_marks, decoder_marks) = split_marks(input, self.label_len, self.horizon)?;
        let memory = self.encode(input, encoder_marks.as_ref(), train)?;
        let (seasonal, trend) = self.decoder_start(&input.insample)?;
        let mut x = self
            .decoder_embedding
            .forward(&seasonal, decoder_marks.as_ref(), train)?;
        let mut trend = trend.unsqueeze(2)?;
        for layer in &self.decoder {
            let (next, removed) = layer.forward(&x, &memory, train)?;
            x = next;
            trend = trend.broadcast_add(&removed)?;
        }
        let seasonal = self
            .projection
            .forward(&self.decoder_norm.forward(&x)?, None)?;
        let out = trend.broadcast_add(&seasonal)?;
        Ok(out.narrow(1, self.label_len, self.horizon)?.contiguous()?)
    }

    /// Training couples a batch's windows: one set of lags serves them all.
    fn is_deterministic(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn hyperparameters_are_checked_by_name() {
        let mut spec = ModelSpec::new("Autoformer", 12, 24).unwrap();
        spec.set_param("MovingAvg_window", "24").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains(
                "Autoformer: MovingAvg_window must be odd (a centred moving average), got 24"
            ),
            "{err}"
        );
        spec.set_param("MovingAvg_window", "25").unwrap();
        spec.set_param("factor", "0").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: factor must be at least 1"),
            "{err}"
        );
        spec.set_param("factor", "1").unwrap();
        spec.set_param("n_head", "3").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: hidden_size (128) must be a multiple of n_head (3)"),
            "{err}"
        );
        spec.set_param("n_head", "4").unwrap();
        spec.set_param("decoder_input_size_multiplier", "1.0")
            .unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: decoder_input_size_multiplier must be in (0, 1)"),
            "{err}"
        );
        spec.set_param("decoder_input_size_multiplier", "0.5")
            .unwrap();
        spec.validate().unwrap();
    }
}
