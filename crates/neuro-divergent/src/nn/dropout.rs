//! Inverted dropout with masks keyed by the layer's seed, the training pass and the window.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rand::rngs::StdRng;
use rand::Rng;

use super::kernels;
use super::pass::PassUse;
use super::product::f32_slice;
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
        let product = self.masks().product(x.elem_count(), steps, windows)?;
        if kernels::fused(x.device()) {
            return Ok(x.contiguous()?.apply_op1(product)?);
        }
        let mask: Vec<f32> = product
            .kept
            .iter()
            .map(|&k| f32::from(k) * product.scale)
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }

    /// The mask [`Dropout::apply`] would draw for `x` (windows first), for a fused node that
    /// applies it itself, taking the use as `apply` does. `None` when nothing is dropped (not
    /// training, rate 0) or `x` is not on the CPU: then no use is taken, and the caller applies
    /// the dropout with [`Dropout::apply`].
    pub(crate) fn mask_for(&self, x: &Tensor, train: bool) -> Result<Option<KeptProduct>> {
        if !train || self.is_identity() || !kernels::fused(x.device()) {
            return Ok(None);
        }
        let windows = x.dims().first().copied().unwrap_or(1);
        Ok(Some(self.masks().product(x.elem_count(), 1, windows)?))
    }

    /// `x + dropout(u)`: a sublayer's output `u` added back to its input `x` (same shape,
    /// windows first), with the masks [`Dropout::apply`] draws. One graph node on the CPU, whose
    /// backward pass hands `x` the gradient itself and `u` the masked gradient.
    pub fn add_to(&self, x: &Tensor, u: &Tensor, train: bool) -> Result<Tensor> {
        let product = if x.shape() == u.shape() {
            self.mask_for(u, train)?
        } else {
            None
        };
        match product {
            Some(product) => Ok(x
                .contiguous()?
                .apply_op2(&u.contiguous()?, ResidualProduct(product))?),
            // Not training, nothing dropped, another device or shape: `apply` as it is.
            None => Ok((x + self.apply(u, train)?)?),
        }
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

/// Dropout's `x ⊙ mask` as one graph node, the mask `scale` where `kept` is 1 and 0 elsewhere:
/// its backward pass is the same product with the gradient. Candle's `mul` would read a float
/// mask and also compute a gradient for it.
#[derive(Clone)]
pub(crate) struct KeptProduct {
    kept: Arc<[u8]>,
    scale: f32,
}

impl KeptProduct {
    /// `(v · kept) · scale` for each value: `v · mask`, NaN and signs included.
    pub(crate) fn apply(&self, v: f32, kept: u8) -> f32 {
        v * f32::from(kept) * self.scale
    }

    /// 1 for each kept value, 0 for each dropped one.
    pub(crate) fn kept(&self) -> &[u8] {
        &self.kept
    }

    /// Checks that `count` values fit the mask.
    pub(crate) fn check(&self, count: usize, name: &str) -> candle_core::Result<()> {
        if count != self.kept.len() {
            candle_core::bail!("{name}: {count} values for a mask of {}", self.kept.len());
        }
        Ok(())
    }
}

impl CustomOp1 for KeptProduct {
    fn name(&self) -> &'static str {
        "dropout-mask"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(storage, layout, self.name())?;
        self.check(x.len(), self.name())?;
        let y: Vec<f32> = x
            .iter()
            .zip(self.kept.iter())
            .map(|(&v, &k)| self.apply(v, k))
            .collect();
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(self)?))
    }
}

/// `x + u ⊙ mask` as one graph node ([`Dropout::add_to`]).
struct ResidualProduct(KeptProduct);

impl CustomOp2 for ResidualProduct {
    fn name(&self) -> &'static str {
        "dropout-residual"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        u: &CpuStorage,
        u_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(x, x_layout, self.name())?;
        let u = f32_slice(u, u_layout, self.name())?;
        self.0.check(x.len(), self.name())?;
        self.0.check(u.len(), self.name())?;
        let sum: Vec<f32> = x
            .iter()
            .zip(u.iter().zip(self.0.kept.iter()))
            .map(|(&x, (&u, &k))| x + self.0.apply(u, k))
            .collect();
        Ok((CpuStorage::F32(sum), x_layout.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _u: &Tensor,
        _sum: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let masked = grad.apply_op1_no_bwd(&self.0)?;
        Ok((Some(grad), Some(masked)))
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
        let kept = 1.0 / self.keep;
        self.draw(stream, mask, |m, keep| *m = if keep { kept } else { 0.0 });
    }

    /// The mask of `count` values laid out as `[steps, windows, rest]` (each window's values
    /// drawn from its stream in `(step, rest)` order) as a product node.
    fn product(&self, count: usize, steps: usize, windows: usize) -> Result<KeptProduct> {
        let per_step = count / (steps * windows).max(1);
        let mut kept = vec![0u8; count];
        let mut window_kept = vec![0u8; steps * per_step];
        for (b, mut stream) in self.streams(windows)?.into_iter().enumerate() {
            self.fill_kept(&mut stream, &mut window_kept);
            for (t, values) in window_kept.chunks_exact(per_step.max(1)).enumerate() {
                let at = (t * windows + b) * per_step;
                kept[at..at + per_step].copy_from_slice(values);
            }
        }
        Ok(KeptProduct {
            kept: kept.into(),
            scale: 1.0 / self.keep,
        })
    }

    /// Fills `kept` with the next decisions of a window's stream, as [`Masks::fill`] draws
    /// them: 1 where kept, 0 where dropped.
    pub(crate) fn fill_kept(&self, stream: &mut StdRng, kept: &mut [u8]) {
        self.draw(stream, kept, |k, keep| *k = u8::from(keep));
    }

    /// Sets each of `out` from the next uniform draw of `stream` (whether it falls below the
    /// keep rate), drawing the words in blocks; the same draws as one `random::<f32>()` each.
    fn draw<T>(&self, stream: &mut StdRng, out: &mut [T], set: impl Fn(&mut T, bool)) {
        let mut words = [0u32; 256];
        for chunk in out.chunks_mut(words.len()) {
            let words = &mut words[..chunk.len()];
            stream.fill(words);
            for (value, &word) in chunk.iter_mut().zip(words.iter()) {
                set(value, uniform(word) < self.keep);
            }
        }
    }
}

/// The `f32` in `[0, 1)` that `rand` draws from one word (`StandardUniform`): its top 24 bits
/// over 2^24.
fn uniform(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::pass;
    use crate::nn::test_support::{values, weighted_sum_gradients};
    use candle_core::Device;

    #[test]
    fn masks_drawn_in_blocks_are_the_per_value_draws() {
        use rand::SeedableRng;
        let masks = Masks {
            keep: 0.7,
            seed: 3,
            at: PassUse::next(),
        };
        let mut blocks = StdRng::seed_from_u64(5);
        let mut single = StdRng::seed_from_u64(5);
        for len in [3, 256, 700] {
            let mut mask = vec![0.0f32; len];
            masks.fill(&mut blocks, &mut mask);
            let expected: Vec<f32> = (0..len)
                .map(|_| {
                    if single.random::<f32>() < 0.7 {
                        1.0 / 0.7
                    } else {
                        0.0
                    }
                })
                .collect();
            assert_eq!(mask, expected);
        }
        let mut kept = vec![0u8; 50];
        masks.fill_kept(&mut blocks, &mut kept);
        let expected: Vec<u8> = (0..50)
            .map(|_| u8::from(single.random::<f32>() < 0.7))
            .collect();
        assert_eq!(kept, expected);
    }

    /// Three windows of `[5, 4]` values `from, from + 1, …`.
    fn windows(from: f32) -> Tensor {
        Tensor::arange(from, from + 60.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 5, 4))
            .unwrap()
    }

    #[test]
    fn the_fused_mask_product_matches_candles_product_and_gradient() {
        let x = candle_core::Var::from_tensor(&windows(1.0)).unwrap();
        let probe = windows(0.0).cos().unwrap();
        let run = |time_major: bool| {
            let dropout = Dropout::new(0.3, 11);
            let y = pass::scope(3, 0..3, 3, || {
                if time_major {
                    // 5 steps of the 3 windows.
                    let steps = x.as_tensor().reshape((5, 3, 4))?;
                    Ok(dropout.apply_time_major(&steps, true)?.reshape((3, 5, 4))?)
                } else {
                    dropout.apply(x.as_tensor(), true)
                }
            })
            .unwrap();
            let grads = weighted_sum_gradients(&y, &probe);
            (values(&y), values(grads.get(x.as_tensor()).unwrap()))
        };
        for time_major in [false, true] {
            let fused = run(time_major);
            let generic = kernels::with_generic_ops(|| run(time_major));
            assert_eq!(fused, generic);
            assert!(fused.0.contains(&0.0) && fused.1.contains(&0.0));
            assert!(fused.0.iter().any(|&v| v > 0.0));
        }
    }

    #[test]
    fn a_fused_residual_sum_matches_the_sum_with_dropout_and_its_gradients() {
        let var = |offset| candle_core::Var::from_tensor(&windows(offset).sin().unwrap()).unwrap();
        let (x, u) = (var(0.0), var(7.0));
        let probe = windows(0.0).cos().unwrap();
        let run = |fused: bool| {
            let dropout = Dropout::new(0.4, 2);
            let sum = pass::scope(3, 0..3, 3, || {
                if fused {
                    dropout.add_to(x.as_tensor(), u.as_tensor(), true)
                } else {
                    Ok((x.as_tensor() + dropout.apply(u.as_tensor(), true)?)?)
                }
            })
            .unwrap();
            let grads = weighted_sum_gradients(&sum, &probe);
            [
                values(&sum),
                values(grads.get(x.as_tensor()).unwrap()),
                values(grads.get(u.as_tensor()).unwrap()),
            ]
        };
        let (fused, unfused) = (run(true), run(false));
        assert_eq!(fused, unfused);
        assert!(fused[2].contains(&0.0) && fused[2].iter().any(|&g| g != 0.0));
    }

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
