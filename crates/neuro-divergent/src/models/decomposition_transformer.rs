//! The network the decomposition transformers share (Autoformer, FEDformer), as NeuralForecast
//! builds it: the window is split into a trend (moving average) and a seasonal part; the encoder
//! reads the embedded window through layers that split off their trend after every sublayer; the
//! decoder starts from the seasonal part of the window's last `label_len` steps followed by
//! zeros, and from their trend followed by the window's mean, and each decoder layer adds the
//! trend it removes (projected) to the trend. The forecast is the accumulated trend plus the
//! projected seasonal tokens, all steps at once. Future exogenous columns enter both
//! embeddings; the embeddings carry no position code. The models differ in how their layers mix
//! tokens over time ([`DecompositionAttention`]).

use candle_core::Tensor;

use super::encoder_decoder::{split_marks, EncoderDecoderLayers};
use super::{Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    decompose, DataEmbedding, DecompositionDecoderLayer, DecompositionEncoderLayer,
    DecompositionSpec, Dense, ParamStore, SeasonalLayerNorm, SequenceMixer,
};
use crate::windows::WindowShape;

/// How a decomposition transformer's layers mix tokens: each method makes one layer's sublayer
/// called `name`, where PyTorch creates it.
pub(super) trait DecompositionAttention {
    /// An encoder layer's self-attention.
    fn encoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>>;
    /// A decoder layer's self-attention.
    fn decoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>>;
    /// A decoder layer's attention to the encoder's output.
    fn cross(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>>;
}

/// What a decomposition transformer is made of besides its attention.
pub(super) struct DecompositionNetworkSpec {
    /// Sizes, dropout and activation of the layers.
    pub layers: EncoderDecoderLayers,
    /// Steps of the moving average that splits off the trend (odd).
    pub moving_avg: usize,
    /// False when training couples a batch's windows or draws dropout.
    pub deterministic: bool,
}

impl DecompositionNetworkSpec {
    /// Errors unless the moving average is centred (an odd `MovingAvg_window`); the message
    /// starts with `prefix`.
    pub fn check_moving_average(&self, prefix: &str) -> Result<()> {
        if self.moving_avg.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "{prefix}MovingAvg_window must be odd (a centred moving average), got {}",
                self.moving_avg
            )));
        }
        Ok(())
    }

    /// The steps of the encoder's and the decoder's sequences for windows of `shape`.
    pub fn steps(&self, shape: WindowShape) -> (f64, f64) {
        (
            shape.input_size as f64,
            self.layers.decoder_len(shape) as f64,
        )
    }

    /// Floating-point operations of one training pass over one window, given the
    /// multiply-adds of one encoder layer's attention and of one decoder layer's two: each layer
    /// adds its feed-forward pair and an `[L, L]` averaging product per decomposition.
    pub fn training_flops(
        &self,
        shape: WindowShape,
        encoder_attention: f64,
        decoder_attention: f64,
    ) -> f64 {
        let (d, f) = (
            self.layers.hidden_size as f64,
            self.layers.conv_hidden_size as f64,
        );
        let (encoder_steps, decoder_steps) = self.steps(shape);
        let feed_forward = |steps: f64| 2.0 * steps * d * f;
        let decomposition = |steps: f64| steps * steps * d;
        let encoder = self.layers.encoder_layers as f64
            * (encoder_attention
                + feed_forward(encoder_steps)
                + 2.0 * decomposition(encoder_steps));
        let decoder = self.layers.decoder_layers as f64
            * (decoder_attention
                + feed_forward(decoder_steps)
                + 3.0 * decomposition(decoder_steps));
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * (encoder + decoder)
    }

    /// Creates the network's parameters in NeuralForecast's order: the two embeddings, what
    /// `attention` draws before the layers (called with the store once the embeddings exist),
    /// the encoder's layers and norm, the decoder's layers, its norm and the seasonal
    /// projection.
    pub fn build<A: DecompositionAttention>(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
        attention: impl FnOnce(&mut ParamStore) -> Result<A>,
    ) -> Result<Box<dyn Model>> {
        let layers = &self.layers;
        let (hidden, features) = (layers.hidden_size, shape.exog.futr);
        let spec = DecompositionSpec {
            hidden,
            ff_hidden: layers.conv_hidden_size,
            dropout: layers.dropout,
            activation: layers.activation,
            moving_avg: self.moving_avg,
        };
        let mut embedding = |name: &str, stream: u64| {
            let seed = seed.wrapping_add(stream);
            DataEmbedding::new(store, name, hidden, features, false, layers.dropout, seed)
        };
        let encoder_embedding = embedding("enc_embedding", 1)?;
        let decoder_embedding = embedding("dec_embedding", 2)?;
        let attention = attention(store)?;
        let encoder = (0..layers.encoder_layers)
            .map(|i| {
                let name = format!("encoder.attn_layers.{i}");
                let stream = seed.wrapping_add(10 * (i as u64 + 1));
                let make = |store: &mut ParamStore, name: &str| attention.encoder(store, name);
                DecompositionEncoderLayer::new(store, &name, spec, &make, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder_norm = SeasonalLayerNorm::new(store, "encoder.norm", hidden)?;
        let decoder = (0..layers.decoder_layers)
            .map(|i| {
                let name = format!("decoder.layers.{i}");
                let stream = seed.wrapping_add(1000 + 10 * i as u64);
                let own = |store: &mut ParamStore, name: &str| attention.decoder(store, name);
                let cross = |store: &mut ParamStore, name: &str| attention.cross(store, name);
                DecompositionDecoderLayer::new(
                    store,
                    &name,
                    spec,
                    [&own, &cross],
                    n_outputs,
                    stream,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let decoder_norm = SeasonalLayerNorm::new(store, "decoder.norm", hidden)?;
        let projection = Dense::new(store, "decoder.projection", hidden, n_outputs)?;
        Ok(Box::new(DecompositionTransformer {
            encoder_embedding,
            decoder_embedding,
            encoder,
            encoder_norm,
            decoder,
            decoder_norm,
            projection,
            label_len: layers.label_len(shape.input_size),
            horizon: shape.horizon,
            moving_avg: self.moving_avg,
            deterministic: self.deterministic,
        }))
    }
}

struct DecompositionTransformer {
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
    deterministic: bool,
}

impl DecompositionTransformer {
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

impl Model for DecompositionTransformer {
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

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }
}
