//! TimesNet (Wu et al., 2023, as NeuralForecast 3.3 implements it): the embedded window is
//! stretched over the window and the horizon by a linear map along time, then each TimesBlock
//! finds the `top_k` strongest periods of its input (the largest `rfft` amplitudes averaged over
//! the batch and the features), folds the sequence into a `[rows, period]` grid per period,
//! convolves each grid with two Inception blocks (GELU between), unfolds them, and adds their
//! average — weighted by the softmax of each window's amplitudes at those periods — to its
//! input; a layer norm (one, shared by the blocks) follows every block, and a linear projection
//! gives the outputs of the horizon's steps. Future exogenous columns enter the embedding over
//! the window's steps; historic and static ones are not read (as in NeuralForecast).
//!
//! The periods are chosen from the whole batch, as NeuralForecast chooses them; a batch split
//! into chunks on several threads chooses per chunk.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{require_at_least_one, require_dropout_rate, ArchitectureConfig, ExogenousKinds};
use super::{Model, ModelInput};
use crate::error::{Error, Result};
use crate::nn::{
    softmax_last_dim, Activation, DataEmbedding, Dense, InceptionBlock, LayerNorm, ParamStore,
};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// TimesNet hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimesNetConfig {
    /// Features per step.
    pub hidden_size: usize,
    /// Dropout on the embedding.
    pub dropout: f64,
    /// Channels between the two Inception blocks of a TimesBlock.
    pub conv_hidden_size: usize,
    /// Periods per TimesBlock.
    pub top_k: usize,
    /// Kernels per Inception block (sizes 1, 3, …, 2n − 1).
    pub num_kernels: usize,
    /// TimesBlocks.
    pub encoder_layers: usize,
}

impl Default for TimesNetConfig {
    fn default() -> Self {
        TimesNetConfig {
            hidden_size: 64,
            dropout: 0.1,
            conv_hidden_size: 64,
            top_k: 5,
            num_kernels: 6,
            encoder_layers: 2,
        }
    }
}

impl ArchitectureConfig for TimesNetConfig {
    /// NeuralForecast's TimesNet defaults: 1,000 steps at learning rate 1e-4, 64 windows per
    /// step, standard scaling.
    fn train_defaults(&self) -> TrainConfig {
        TrainConfig {
            learning_rate: 1e-4,
            windows_batch_size: 64,
            scaler_type: ScalerType::Standard,
            ..TrainConfig::default()
        }
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let prefix = "TimesNet: ";
        require_at_least_one(
            prefix,
            &[
                ("hidden_size", self.hidden_size),
                ("conv_hidden_size", self.conv_hidden_size),
                ("top_k", self.top_k),
                ("num_kernels", self.num_kernels),
                ("encoder_layers", self.encoder_layers),
            ],
        )?;
        require_dropout_rate(prefix, "dropout", self.dropout)?;
        let steps = shape.input_size + shape.horizon;
        if self.top_k > steps / 2 {
            return Err(Error::Config(format!(
                "{prefix}top_k ({}) must be at most (input_size + h) / 2 = {} (the frequencies \
                 above zero of {steps} steps)",
                self.top_k,
                steps / 2
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::FUTURE
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let (d, c) = (self.hidden_size as f64, self.conv_hidden_size as f64);
        let steps = (shape.input_size + shape.horizon) as f64;
        let taps = ((2 * self.num_kernels - 1).pow(2)) as f64;
        // Multiply-adds of one forward pass per block: the amplitude transform (`steps × d ×
        // steps`) and, per period, two convolutions over about `steps` cells (the padding of the
        // last row aside); plus the map along time.
        let block = steps * d * steps + self.top_k as f64 * 2.0 * steps * d * c * taps;
        let forward = self.encoder_layers as f64 * block + shape.input_size as f64 * steps * d;
        // Two flops per multiply-add, the backward pass twice the forward.
        6.0 * forward
    }

    /// Creates the parameters in NeuralForecast's order: the blocks' Inception kernels, the
    /// embedding, the layer norm, the map along time and the projection.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let (hidden, conv) = (self.hidden_size, self.conv_hidden_size);
        let steps = shape.input_size + shape.horizon;
        let blocks = (0..self.encoder_layers)
            .map(|i| {
                let name = format!("model.{i}.conv");
                Ok(TimesBlock {
                    widen: InceptionBlock::new(
                        store,
                        &format!("{name}.0"),
                        hidden,
                        conv,
                        self.num_kernels,
                    )?,
                    narrow: InceptionBlock::new(
                        store,
                        &format!("{name}.2"),
                        conv,
                        hidden,
                        self.num_kernels,
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let embedding = DataEmbedding::new(
            store,
            "enc_embedding",
            hidden,
            shape.exog.futr,
            true,
            self.dropout,
            seed.wrapping_add(1),
        )?;
        let layer_norm = LayerNorm::new(store, "layer_norm", hidden)?;
        let predict_linear = Dense::new(store, "predict_linear", shape.input_size, steps)?;
        let projection = Dense::new(store, "projection", hidden, n_outputs)?;
        let frequencies: Vec<usize> = (0..=steps / 2).collect();
        Ok(Box::new(TimesNet {
            embedding,
            predict_linear,
            blocks,
            layer_norm,
            projection,
            spectrum: crate::nn::analysis(steps, &frequencies, store.device())?,
            top_k: self.top_k,
            horizon: shape.horizon,
        }))
    }
}

/// One TimesBlock's two Inception blocks (NeuralForecast's `conv.0` and `conv.2`).
struct TimesBlock {
    widen: InceptionBlock,
    narrow: InceptionBlock,
}

struct TimesNet {
    embedding: DataEmbedding,
    predict_linear: Dense,
    blocks: Vec<TimesBlock>,
    layer_norm: LayerNorm,
    projection: Dense,
    /// `[T, 2F]`: `rfft` over the window and the horizon, every frequency.
    spectrum: Tensor,
    top_k: usize,
    horizon: usize,
}

impl TimesNet {
    /// The strongest periods of `x` (`[B, T, N]`) and each window's amplitudes at them
    /// (`[B, k]`), as NeuralForecast's `FFT_for_Period`.
    fn periods(&self, x: &Tensor) -> Result<(Vec<usize>, Tensor)> {
        let (batch, steps, features) = x.dims3()?;
        let spectra = x
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch * features, steps))?
            .matmul(&self.spectrum)?;
        let count = spectra.dim(1)? / 2;
        let (re, im) = (
            spectra.narrow(1, 0, count)?,
            spectra.narrow(1, count, count)?,
        );
        // |X| (a zero amplitude would make the square root's gradient infinite; 1e-30 under
        // it changes no f32 amplitude that matters).
        let amplitude = ((re.sqr()? + im.sqr()?)? + 1e-30)?
            .sqrt()?
            .reshape((batch, features, count))?
            .mean(1)?;
        let mut average: Vec<f32> = amplitude.mean(0)?.to_vec1()?;
        average[0] = 0.0;
        let mut order: Vec<usize> = (0..count).collect();
        // Largest first; ties to the lower frequency (as a stable descending sort).
        order.sort_by(|&a, &b| average[b].total_cmp(&average[a]));
        order.truncate(self.top_k);
        let index = Tensor::from_vec(
            order.iter().map(|&f| f as u32).collect::<Vec<_>>(),
            order.len(),
            x.device(),
        )?;
        let periods = order.iter().map(|&f| steps / f.max(1)).collect();
        Ok((periods, amplitude.index_select(&index, 1)?))
    }

    /// One TimesBlock over `x` (`[B, T, N]`).
    fn block(&self, block: &TimesBlock, x: &Tensor) -> Result<Tensor> {
        let (batch, steps, features) = x.dims3()?;
        let (periods, amplitudes) = self.periods(x)?;
        let mut folded = Vec::with_capacity(periods.len());
        for period in periods {
            let length = steps.div_ceil(period) * period;
            let grid = x
                .pad_with_zeros(1, 0, length - steps)?
                .reshape((batch, length / period, period, features))?
                .permute((0, 3, 1, 2))?
                .contiguous()?;
            let inner = Activation::GELU.apply(&block.widen.forward(&grid)?)?;
            let out = block.narrow.forward(&inner)?;
            folded.push(
                out.permute((0, 2, 3, 1))?
                    .reshape((batch, length, features))?
                    .narrow(1, 0, steps)?,
            );
        }
        let weights = softmax_last_dim(&amplitudes)?.unsqueeze(1)?.unsqueeze(1)?;
        let mixed = Tensor::stack(&folded, 3)?.broadcast_mul(&weights)?.sum(3)?;
        Ok((mixed + x)?)
    }
}

impl Model for TimesNet {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let steps = input.insample.dim(1)?;
        let marks = match &input.futr {
            Some(futr) => Some(futr.narrow(1, 0, steps)?),
            None => None,
        };
        let tokens = self
            .embedding
            .forward(&input.insample, marks.as_ref(), train)?;
        let mut x = self.predict_linear.forward_over_steps(&tokens)?;
        for block in &self.blocks {
            x = self.layer_norm.forward(&self.block(block, &x)?)?;
        }
        let out = self.projection.forward(&x, None)?;
        let total = out.dim(1)?;
        Ok(out
            .narrow(1, total - self.horizon, self.horizon)?
            .contiguous()?)
    }

    /// Training couples a batch's windows (one set of periods) and draws dropout.
    fn is_deterministic(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn hyperparameters_are_checked_by_name() {
        ModelSpec::new("TimesNet", 12, 24)
            .unwrap()
            .validate()
            .unwrap();
        let cases = [
            (
                "top_k",
                "19",
                "TimesNet: top_k (19) must be at most (input_size + h) / 2 = 18",
            ),
            ("top_k", "0", "TimesNet: top_k must be at least 1"),
            (
                "num_kernels",
                "0",
                "TimesNet: num_kernels must be at least 1",
            ),
            ("dropout", "1.5", "TimesNet: dropout must be in [0, 1)"),
        ];
        for (name, value, message) in cases {
            let mut spec = ModelSpec::new("TimesNet", 12, 24).unwrap();
            spec.set_param(name, value).unwrap();
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{name}={value}: {err}");
        }
    }
}
