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
//! While training the periods are chosen from the whole batch, as NeuralForecast chooses them
//! (a batch split into chunks on several threads chooses per chunk); forecasts take each
//! window's own, so that they do not depend on which windows are forecast together (nor on the
//! thread count). A single window's forecast is NeuralForecast's.

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
    /// Each window's `rfft` amplitudes over the steps, averaged over the features (`[B, F]`,
    /// every frequency), as NeuralForecast's `FFT_for_Period` computes them.
    fn amplitudes(&self, x: &Tensor) -> Result<Tensor> {
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
        Ok(((re.sqr()? + im.sqr()?)? + 1e-30)?
            .sqrt()?
            .reshape((batch, features, count))?
            .mean(1)?)
    }

    /// The `top_k` frequencies of largest `amplitude` above zero, largest first (ties to the
    /// lower frequency).
    fn strongest(&self, amplitude: &[f32]) -> Vec<usize> {
        let mut order: Vec<usize> = (1..amplitude.len()).collect();
        order.sort_by(|&a, &b| amplitude[b].total_cmp(&amplitude[a]));
        order.truncate(self.top_k);
        order
    }

    /// One TimesBlock over `x` (`[B, T, N]`). While training the periods are those of the whole
    /// batch (NeuralForecast's choice); otherwise each window's own, so that a forecast does not
    /// depend on the windows forecast beside it (windows sharing periods run together).
    fn block(&self, block: &TimesBlock, x: &Tensor, train: bool) -> Result<Tensor> {
        let amplitudes = self.amplitudes(x)?;
        if train {
            let average: Vec<f32> = amplitudes.mean(0)?.to_vec1()?;
            return self.fold_and_mix(block, x, &self.strongest(&average), &amplitudes);
        }
        let mut groups: std::collections::BTreeMap<Vec<usize>, Vec<u32>> = Default::default();
        for (window, row) in amplitudes.to_vec2::<f32>()?.iter().enumerate() {
            groups
                .entry(self.strongest(row))
                .or_default()
                .push(window as u32);
        }
        if groups.len() == 1 {
            let (frequencies, _) = groups.pop_first().expect("one group");
            return self.fold_and_mix(block, x, &frequencies, &amplitudes);
        }
        let x = x.contiguous()?;
        let (mut parts, mut order) = (Vec::with_capacity(groups.len()), Vec::new());
        for (frequencies, windows) in groups {
            let index = Tensor::from_vec(windows.clone(), windows.len(), x.device())?;
            parts.push(self.fold_and_mix(
                block,
                &x.index_select(&index, 0)?,
                &frequencies,
                &amplitudes.index_select(&index, 0)?,
            )?);
            order.extend(windows);
        }
        let mut back = vec![0u32; order.len()];
        for (position, &window) in order.iter().enumerate() {
            back[window as usize] = position as u32;
        }
        let back = Tensor::from_vec(back, order.len(), x.device())?;
        Ok(Tensor::cat(&parts, 0)?.index_select(&back, 0)?)
    }

    /// `x` plus its grids for the periods of `frequencies` run through the block's convolutions,
    /// weighted by the softmax of `amplitudes` (`[B, F]`) at those frequencies.
    fn fold_and_mix(
        &self,
        block: &TimesBlock,
        x: &Tensor,
        frequencies: &[usize],
        amplitudes: &Tensor,
    ) -> Result<Tensor> {
        let (batch, steps, features) = x.dims3()?;
        let mut folded = Vec::with_capacity(frequencies.len());
        for &frequency in frequencies {
            let period = steps / frequency;
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
        let chosen = frequencies.iter().map(|&f| f as u32).collect::<Vec<_>>();
        let chosen = Tensor::from_vec(chosen, frequencies.len(), x.device())?;
        let weights = softmax_last_dim(&amplitudes.index_select(&chosen, 1)?)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
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
            x = self.layer_norm.forward(&self.block(block, &x, train)?)?;
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
    use candle_core::{Device, Tensor};

    use crate::models::{ModelInput, ModelSpec};

    #[test]
    fn a_forecast_does_not_depend_on_the_windows_beside_it() {
        // Three windows of different periods: together (and in any order) each forecasts what it
        // forecasts alone, though the batch's average spectrum would choose other periods.
        let mut spec = ModelSpec::new("TimesNet", 6, 18).unwrap();
        for (name, value) in [
            ("hidden_size", "8"),
            ("conv_hidden_size", "4"),
            ("top_k", "2"),
        ] {
            spec.set_param(name, value).unwrap();
        }
        let built = spec.build(&Device::Cpu).unwrap();
        let window = |period: f64| -> Vec<f32> {
            (0..18)
                .map(|t| (2.0 * std::f64::consts::PI * t as f64 / period).sin() as f32)
                .collect()
        };
        let rows = [window(3.0), window(6.0), window(12.0)];
        let forecast = |windows: &[&Vec<f32>]| -> Vec<f32> {
            let data: Vec<f32> = windows.iter().flat_map(|w| w.iter().copied()).collect();
            let insample = Tensor::from_vec(data, (windows.len(), 18), &Device::Cpu).unwrap();
            let input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
            built
                .model
                .forward(&input, false)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let together = forecast(&[&rows[0], &rows[1], &rows[2]]);
        let reversed = forecast(&[&rows[2], &rows[1], &rows[0]]);
        for (i, row) in rows.iter().enumerate() {
            let alone = forecast(&[row]);
            for (a, b) in alone.iter().zip(&together[i * 6..(i + 1) * 6]) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "window {i}: {alone:?} vs {together:?}"
                );
            }
            for (a, b) in alone.iter().zip(&reversed[(2 - i) * 6..(3 - i) * 6]) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "window {i} reversed: {alone:?} vs {reversed:?}"
                );
            }
        }
    }

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
