//! Inverted dropout with masks keyed by the layer's seed, the training pass and the window.

use candle_core::Tensor;
use rand::rngs::StdRng;
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
        let masks = self.masks();
        let entries = x.dims().first().copied().unwrap_or(1);
        let per_entry = x.elem_count() / entries.max(1);
        let mut mask = vec![0.0f32; x.elem_count()];
        for (mut stream, entry) in masks
            .streams(entries)?
            .into_iter()
            .zip(mask.chunks_exact_mut(per_entry.max(1)))
        {
            masks.fill(&mut stream, entry);
        }
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }

    /// The masks of this layer's next use, for a fused op that applies them itself: takes the
    /// use as [`Dropout::apply`] does and draws the same values.
    pub(crate) fn masks(&self) -> Masks {
        Masks {
            keep: 1.0 - self.rate,
            seed: self.seed,
            at: PassUse::next(),
        }
    }
}

/// The dropout masks of one use of a [`Dropout`] layer, drawn window by window, as often as
/// needed (a fused op draws them again in its backward pass instead of storing them).
#[derive(Debug, Clone)]
pub(crate) struct Masks {
    keep: f32,
    seed: u64,
    at: PassUse,
}

impl Masks {
    /// The streams of the `windows` windows of a chunk, in order.
    pub(crate) fn streams(&self, windows: usize) -> Result<Vec<StdRng>> {
        self.at.entry_streams(self.seed, windows)
    }

    /// Fills `mask` with the next values of a window's stream: `1 / keep` where kept, 0 where
    /// dropped.
    pub(crate) fn fill(&self, stream: &mut StdRng, mask: &mut [f32]) {
        let (keep, kept) = (self.keep, 1.0 / self.keep);
        mask.iter_mut().for_each(|m| {
            *m = if stream.random::<f32>() < keep {
                kept
            } else {
                0.0
            }
        });
    }
}
