//! iTransformer (Liu et al., 2024, "iTransformer: Inverted Transformers Are Effective for Time
//! Series Forecasting", as NeuralForecast implements it): a multivariate model whose tokens are
//! whole series. Each series' window, normalised by its own mean and deviation, is embedded as
//! one token (and each future exogenous column of each series over the window and horizon as
//! another); post-norm Transformer encoder layers let the tokens attend to each other, and a
//! linear map turns each series' token into its horizon, mapped back to the series' level.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    require_at_least_one, require_dropout_rate, require_n_series, ArchitectureConfig, Model,
    ModelInput,
};
use crate::error::{Error, Result};
use crate::multivariate;
use crate::nn::{
    Activation, AttentionKind, Dense, Dropout, LayerNorm, ParamStore, RevIn, TransEncoderLayer,
    TransformerSpec,
};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// iTransformer hyperparameters (NeuralForecast's names and defaults). `n_series` has no
/// default: it must be the number of series in the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ITransformerConfig {
    /// The number of series forecast together (every series of the data).
    pub n_series: usize,
    /// Features per token.
    pub hidden_size: usize,
    /// Attention heads (dividing `hidden_size`).
    pub n_heads: usize,
    /// Encoder layers.
    pub e_layers: usize,
    /// Units of each layer's feed-forward sublayer.
    pub d_ff: usize,
    /// Dropout on the embeddings, attention weights and every sublayer.
    pub dropout: f64,
    /// Normalise each series' window by its mean and deviation, and map the forecast back.
    pub use_norm: bool,
}

impl Default for ITransformerConfig {
    fn default() -> Self {
        ITransformerConfig {
            n_series: 0,
            hidden_size: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            dropout: 0.1,
            use_norm: true,
        }
    }
}

impl ITransformerConfig {
    fn layer_spec(&self) -> TransformerSpec {
        TransformerSpec {
            hidden: self.hidden_size,
            heads: self.n_heads,
            ff_hidden: self.d_ff,
            dropout: self.dropout,
            activation: Activation::GELU,
            attention: AttentionKind::Full,
        }
    }
}

impl ArchitectureConfig for ITransformerConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::multivariate_train_defaults()
    }

    fn validate(&self, _shape: WindowShape) -> Result<()> {
        require_n_series("iTransformer", self.n_series)?;
        require_at_least_one(
            "iTransformer: ",
            &[
                ("hidden_size", self.hidden_size),
                ("n_heads", self.n_heads),
                ("e_layers", self.e_layers),
                ("d_ff", self.d_ff),
            ],
        )?;
        require_dropout_rate("iTransformer: ", "dropout", self.dropout)?;
        if !self.hidden_size.is_multiple_of(self.n_heads) {
            return Err(Error::Config(format!(
                "iTransformer: hidden_size ({}) must be a multiple of n_heads ({})",
                self.hidden_size, self.n_heads
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> super::ExogenousKinds {
        super::ExogenousKinds::FUTURE
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }

    /// Per row (one series of one window): its tokens (the series and its future columns)
    /// through every layer, attending over all tokens of the window.
    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let (d, f) = (self.hidden_size as f64, self.d_ff as f64);
        let futr = shape.exog.futr as f64;
        let tokens_per_row = 1.0 + futr;
        let tokens = self.n_series as f64 * tokens_per_row;
        // Multiply-adds of one forward pass per token and layer: the four projections, the
        // scores and weighted sums over the window's tokens, the feed-forward pair.
        let layer = 4.0 * d * d + 2.0 * tokens * d + 2.0 * d * f;
        let embeddings =
            d * (shape.input_size as f64 + futr * (shape.input_size + shape.horizon) as f64);
        let projection = d * shape.horizon as f64;
        let forward = tokens_per_row * self.e_layers as f64 * layer + embeddings + projection;
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * forward
    }

    /// Creates the parameters in NeuralForecast's order: the series embedding, the future
    /// columns' embedding, the encoder's layers and norm, the projection.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let hidden = self.hidden_size;
        let embedding = Dense::new(
            store,
            "enc_embedding.value_embedding",
            shape.input_size,
            hidden,
        )?;
        let futr_embedding = if shape.exog.futr > 0 {
            Some(Dense::new(
                store,
                "futr_embedding",
                shape.input_size + shape.horizon,
                hidden,
            )?)
        } else {
            None
        };
        let spec = self.layer_spec();
        let encoder = (0..self.e_layers)
            .map(|i| {
                let stream = seed.wrapping_add(10 * (i as u64 + 1));
                TransEncoderLayer::new(store, &format!("encoder.attn_layers.{i}"), spec, stream)
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder_norm = LayerNorm::new(store, "encoder.norm", hidden)?;
        let projector = Dense::new(store, "projector", hidden, shape.horizon * n_outputs)?;
        Ok(Box::new(ITransformer {
            embedding,
            embedding_dropout: Dropout::new(self.dropout, seed.wrapping_add(1)),
            futr_embedding,
            futr_dropout: Dropout::new(self.dropout, seed.wrapping_add(2)),
            encoder,
            encoder_norm,
            projector,
            n_series: self.n_series,
            horizon: shape.horizon,
            n_outputs,
            // NeuralForecast's `use_norm`: RevIN without an affine map (no parameters).
            norm: if self.use_norm {
                Some(RevIn::new(store, "norm", false, false)?)
            } else {
                None
            },
            deterministic: self.dropout == 0.0,
        }))
    }
}

struct ITransformer {
    embedding: Dense,
    embedding_dropout: Dropout,
    futr_embedding: Option<Dense>,
    futr_dropout: Dropout,
    encoder: Vec<TransEncoderLayer>,
    encoder_norm: LayerNorm,
    projector: Dense,
    n_series: usize,
    horizon: usize,
    n_outputs: usize,
    norm: Option<RevIn>,
    deterministic: bool,
}

impl ITransformer {
    /// The tokens `[B, N (1 + F), hidden]` of the `windows` windows: the `N` series, then the
    /// future columns of each series in turn.
    fn tokens(
        &self,
        series: &Tensor,
        input: &ModelInput,
        windows: usize,
        train: bool,
    ) -> Result<Tensor> {
        let hidden = self.embedding.forward(series, None)?;
        let hidden = self.embedding_dropout.apply(&hidden, train)?;
        let tokens = hidden.reshape((windows, self.n_series, ()))?;
        match (&self.futr_embedding, &input.futr) {
            (Some(embedding), Some(futr)) => {
                // [R, L + h, F] -> [R, F, L + h]: one token per series and column.
                let columns = futr.transpose(1, 2)?.contiguous()?;
                let futr_tokens = embedding.forward(&columns, None)?;
                let futr_tokens = self.futr_dropout.apply(&futr_tokens, train)?;
                let futr_tokens = futr_tokens.reshape((windows, (), futr_tokens.dim(2)?))?;
                Ok(Tensor::cat(&[&tokens, &futr_tokens], 1)?)
            }
            _ => Ok(tokens),
        }
    }
}

impl Model for ITransformer {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let rows = input.insample.dim(0)?;
        let windows = multivariate::windows_in("iTransformer", rows, self.n_series)?;
        let (series, stats) = match &self.norm {
            Some(norm) => {
                let (series, stats) = norm.normalize(&input.insample)?;
                (series, Some(stats))
            }
            None => (input.insample.clone(), None),
        };
        let mut tokens = self.tokens(&series, input, windows, train)?;
        for layer in &self.encoder {
            tokens = layer.forward(&tokens, train)?;
        }
        let encoded = self.encoder_norm.forward(&tokens)?;
        let series_tokens = encoded.narrow(1, 0, self.n_series)?.reshape((rows, ()))?;
        let out = self.projector.forward(&series_tokens, None)?;
        let out = match stats {
            Some(stats) => stats.denormalize(&out)?,
            None => out,
        };
        Ok(out.reshape((rows, self.horizon, self.n_outputs))?)
    }

    fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    fn multivariate_series(&self) -> Option<usize> {
        Some(self.n_series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ParamStore;
    use candle_core::Device;

    fn built(n_series: usize, futr: usize) -> (Box<dyn Model>, WindowShape) {
        let config = ITransformerConfig {
            n_series,
            hidden_size: 8,
            n_heads: 2,
            e_layers: 1,
            d_ff: 16,
            dropout: 0.0,
            use_norm: true,
        };
        let mut shape = WindowShape::new(6, 3);
        shape.exog.futr = futr;
        let mut store = ParamStore::new(1, &Device::Cpu);
        (config.build(shape, 1, &mut store, 1).unwrap(), shape)
    }

    fn input(rows: usize, shape: WindowShape, futr: bool) -> ModelInput {
        let device = Device::Cpu;
        let (l, h, f) = (shape.input_size, shape.horizon, shape.exog.futr);
        let insample = Tensor::randn(0f32, 1f32, (rows, l), &device).unwrap();
        let mut input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        if futr {
            input.futr = Some(Tensor::randn(0f32, 1f32, (rows, l + h, f), &device).unwrap());
        }
        input
    }

    #[test]
    fn the_series_of_a_window_attend_to_each_other_and_windows_stay_apart() {
        let (model, shape) = built(3, 1);
        let input = input(6, shape, true);
        let whole = model.forward(&input, false).unwrap();
        assert_eq!(whole.dims(), &[6, 3, 1]);
        // The second window alone gives the same forecasts.
        let second = model.forward(&input.rows(3..6).unwrap(), false).unwrap();
        let gap = (whole.narrow(0, 3, 3).unwrap() - second).unwrap();
        assert!(
            gap.abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                < 1e-5
        );
        // Changing one series of the first window moves the other series' forecasts.
        let mut changed = input.clone();
        // (Another shape: scaling it would leave its normalised window unchanged.)
        let bumped = input.insample.narrow(0, 0, 1).unwrap().sqr().unwrap();
        changed.insample =
            Tensor::cat(&[&bumped, &input.insample.narrow(0, 1, 5).unwrap()], 0).unwrap();
        let moved = model.forward(&changed, false).unwrap();
        let other = (moved.narrow(0, 1, 1).unwrap() - whole.narrow(0, 1, 1).unwrap()).unwrap();
        assert!(
            other
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 1e-4
        );
        // The future columns are read.
        let mut other_futr = input.clone();
        other_futr.futr = Some((input.futr.clone().unwrap() + 1.0).unwrap());
        let with = model.forward(&other_futr, false).unwrap();
        let gap = (with - &whole).unwrap().abs().unwrap().max_all().unwrap();
        assert!(gap.to_scalar::<f32>().unwrap() > 1e-4);
    }

    #[test]
    fn batches_must_hold_whole_windows_and_n_series_must_be_set() {
        let (model, shape) = built(3, 0);
        let err = model
            .forward(&input(4, shape, false), false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("n_series=3"), "{err}");
        let unset = ITransformerConfig::default()
            .validate(WindowShape::new(6, 3))
            .unwrap_err()
            .to_string();
        assert!(unset.contains("set n_series"), "{unset}");
    }
}
