//! Inverted dropout with masks keyed by the layer's seed, the training pass and the window.

use candle_core::Tensor;
use rand::Rng;

use super::pass::PassUse;
use crate::error::Result;

/// Zeroes each value with probability `rate` during training and scales the kept ones by
/// `1 / (1 - rate)`. Each window's mask comes from its own stream ([`PassUse::entry_streams`]), so
/// it does not depend on how the batch is cut into chunks.
#[derive(Debug)]
pub struct Dropout {
    rate: f32,
    seed: u64,
}

impl Dropout {
    /// Dropout of `rate` drawing its masks from streams keyed by `seed`.
    pub fn new(rate: f64, seed: u64) -> Dropout {
        Dropout {
            rate: rate as f32,
            seed,
        }
    }

    /// True when the layer never changes its input (rate 0).
    pub fn is_identity(&self) -> bool {
        self.rate <= 0.0
    }

    /// `x` with dropout applied when `train` is set and the rate is positive; `x` itself
    /// otherwise.
    pub fn apply(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.is_identity() {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let entries = x.dims().first().copied().unwrap_or(1);
        let per_entry = x.elem_count() / entries.max(1);
        let mut mask = Vec::with_capacity(x.elem_count());
        for mut stream in PassUse::next().entry_streams(self.seed, entries)? {
            mask.extend((0..per_entry).map(|_| {
                if stream.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            }));
        }
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}
