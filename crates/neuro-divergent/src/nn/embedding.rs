//! The input embedding of the Informer family of Transformers (Zhou et al., 2021), as
//! NeuralForecast's `DataEmbedding` computes it: each step's value and its neighbours mapped to
//! `hidden` features by a three-tap convolution that wraps around the window, plus (unless
//! turned off, as the decomposition transformers do) a fixed sinusoidal position code, plus a
//! linear map of the step's future exogenous values.

use candle_core::{Device, Tensor};

use super::dense::torch_default_weight;
use super::{CircularConv, Dropout, ParamStore};
use crate::error::Result;

/// Taps of the value convolution.
const TAPS: usize = 3;

/// Embeds windows `[B, L]` (with optional per-step features `[B, L, F]`) as tokens
/// `[B, L, hidden]`.
#[derive(Debug)]
pub struct DataEmbedding {
    /// Taps over the previous, current and next value (the window wraps).
    value: CircularConv,
    /// `[F, hidden]` map of the per-step features (their weight transposed), when there are any.
    temporal: Option<Tensor>,
    /// Whether the sinusoidal position code is added (NeuralForecast's `pos_embedding`).
    positions: bool,
    hidden: usize,
    dropout: Dropout,
}

impl DataEmbedding {
    /// Creates `{name}.value_embedding.tokenConv.weight` as PyTorch does (its default
    /// initialisation drawn and discarded, then Kaiming normal for a leaky ReLU of slope 0.01)
    /// and, with `features` per-step features, `{name}.temporal_embedding.embed.weight` (a
    /// linear map without bias). The position code is added when `positions` is set. Dropout
    /// draws from a stream seeded with `seed`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        features: usize,
        positions: bool,
        dropout: f64,
        seed: u64,
    ) -> Result<DataEmbedding> {
        store.discard_uniform(hidden * TAPS);
        let gain = (2.0 / (1.0 + 0.01f64.powi(2))).sqrt();
        let std = gain / (TAPS as f64).sqrt();
        let value = CircularConv::from_weight(&store.normal_scaled(
            &format!("{name}.value_embedding.tokenConv.weight"),
            &[hidden, 1, TAPS],
            std,
        )?)?;
        let temporal = match features {
            0 => None,
            features => Some(
                torch_default_weight(
                    store,
                    &format!("{name}.temporal_embedding.embed"),
                    &[hidden, features],
                )?
                .t()?,
            ),
        };
        Ok(DataEmbedding {
            value,
            temporal,
            positions,
            hidden,
            dropout: Dropout::new(dropout, seed),
        })
    }

    /// Tokens `[B, L, hidden]` of windows `x` (`[B, L]`) and, when the embedding maps them,
    /// their per-step features `marks` (`[B, L, F]`); dropout when `train` is set.
    pub fn forward(&self, x: &Tensor, marks: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let (batch, steps) = x.dims2()?;
        let mut tokens = self.value.forward(&x.unsqueeze(2)?)?;
        if self.positions {
            tokens =
                tokens.broadcast_add(&sinusoidal_positions(steps, self.hidden, x.device())?)?;
        }
        if let (Some(temporal), Some(marks)) = (&self.temporal, marks) {
            let features = marks.dim(2)?;
            let mapped = marks
                .contiguous()?
                .reshape((batch * steps, features))?
                .matmul(temporal)?
                .reshape((batch, steps, self.hidden))?;
            tokens = (tokens + mapped)?;
        }
        self.dropout.apply(&tokens, train)
    }
}

/// The fixed position code `[steps, hidden]` of Vaswani et al. (2017): at position `p`, feature
/// `2i` is `sin(p w_i)` and `2i + 1` is `cos(p w_i)`, `w_i = 10000^(-2i / hidden)`, computed in
/// `f32` as PyTorch computes NeuralForecast's table.
pub fn sinusoidal_positions(steps: usize, hidden: usize, device: &Device) -> Result<Tensor> {
    let rate = -(10000f64.ln() / hidden as f64) as f32;
    let mut table = vec![0f32; steps * hidden];
    for (position, row) in table.chunks_exact_mut(hidden).enumerate() {
        for (feature, value) in row.iter_mut().enumerate() {
            let frequency = ((feature - feature % 2) as f32 * rate).exp();
            let angle = position as f32 * frequency;
            *value = if feature % 2 == 0 {
                angle.sin()
            } else {
                angle.cos()
            };
        }
    }
    Ok(Tensor::from_vec(table, (steps, hidden), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::values;

    #[test]
    fn position_codes_alternate_sines_and_cosines_of_falling_frequencies() {
        let table = values(&sinusoidal_positions(3, 4, &Device::Cpu).unwrap());
        // Frequencies 1 and 10000^(-1/2) = 0.01.
        let expected = [
            0.0,
            1.0,
            0.0,
            1.0,
            1f32.sin(),
            1f32.cos(),
            0.01f32.sin(),
            0.01f32.cos(),
            2f32.sin(),
            2f32.cos(),
            0.02f32.sin(),
            0.02f32.cos(),
        ];
        for (a, b) in table.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{table:?}");
        }
    }

    #[test]
    fn the_value_convolution_wraps_around_the_window() {
        // Taps (1, 10, 100) on the previous, current and next value, no features.
        let embedding = DataEmbedding {
            value: CircularConv::from_weight(
                &Tensor::new(&[[[1f32, 10.0, 100.0]]], &Device::Cpu).unwrap(),
            )
            .unwrap(),
            temporal: None,
            positions: true,
            hidden: 1,
            dropout: Dropout::new(0.0, 0),
        };
        let x = Tensor::new(&[[1f32, 2.0, 3.0]], &Device::Cpu).unwrap();
        let out = values(&embedding.forward(&x, None, false).unwrap());
        // Plus the position code of feature 0: sin(p).
        let expected = [
            3.0 + 10.0 + 200.0,
            1.0 + 20.0 + 300.0 + 1f32.sin(),
            2.0 + 30.0 + 100.0 + 2f32.sin(),
        ];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{out:?}");
        }
    }
}
