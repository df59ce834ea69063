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
        let windows = x.dims().first().copied().unwrap_or(1);
        self.apply_per_window(x, train, 1, windows)
    }

    /// [`Dropout::apply`] on a time-major `[T, B, ...]` tensor: window `b`'s mask is the one
    /// `apply` would draw for it in the window-major `[B, T, ...]` layout, placed at
    /// `x[.., b, ..]`, so no transposed copies of `x` are needed.
    pub fn apply_time_major(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let steps = x.dims().first().copied().unwrap_or(1);
        let windows = x.dims().get(1).copied().unwrap_or(1);
        self.apply_per_window(x, train, steps, windows)
    }

    /// Dropout on `x` laid out as `[steps, windows, rest]`: each window's mask is drawn from its
    /// stream in `(step, rest)` order, then placed at `x[step, window, ..]` (`steps` 1: the
    /// window-major layout, each mask one block).
    fn apply_per_window(
        &self,
        x: &Tensor,
        train: bool,
        steps: usize,
        windows: usize,
    ) -> Result<Tensor> {
        if !train || self.is_identity() {
            return Ok(x.clone());
        }
        let masks = self.masks();
        let per_step = x.elem_count() / (steps * windows).max(1);
        let mut window_mask = vec![0.0f32; steps * per_step];
        let mut mask = vec![0.0f32; x.elem_count()];
        for (b, mut stream) in masks.streams(windows)?.into_iter().enumerate() {
            masks.fill(&mut stream, &mut window_mask);
            for (t, values) in window_mask.chunks_exact(per_step.max(1)).enumerate() {
                let at = (t * windows + b) * per_step;
                mask[at..at + per_step].copy_from_slice(values);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::pass;
    use candle_core::Device;

    #[test]
    fn time_major_masks_are_the_window_major_masks_transposed() {
        let x = Tensor::arange(1.0f32, 61.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 5, 4))
            .unwrap();
        let dropout = Dropout::new(0.5, 7);
        let window_major = pass::scope(3, 0..3, 3, || dropout.apply(&x, true)).unwrap();
        let time_major = x.transpose(0, 1).unwrap().contiguous().unwrap();
        let again = Dropout::new(0.5, 7);
        let time_major = pass::scope(3, 0..3, 3, || again.apply_time_major(&time_major, true))
            .unwrap()
            .transpose(0, 1)
            .unwrap();
        let (a, b) = (
            window_major
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            time_major.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(a, b);
        assert!(a.contains(&0.0) && a.iter().any(|&v| v > 0.0));
    }
}
