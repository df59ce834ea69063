//! Inverted dropout with its own seeded random stream.

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::Rng;
use std::sync::Mutex;

use crate::error::Result;

/// Zeroes each value with probability `rate` during training and scales the kept ones by
/// `1 / (1 - rate)`, drawing from a stream seeded once at construction.
#[derive(Debug)]
pub struct Dropout {
    rate: f32,
    rng: Mutex<StdRng>,
}

impl Dropout {
    /// Dropout of `rate` drawing from a stream seeded with `seed`.
    pub fn new(rate: f64, seed: u64) -> Dropout {
        Dropout {
            rate: rate as f32,
            rng: Mutex::new(rand::SeedableRng::seed_from_u64(seed)),
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
        let mut rng = self.rng.lock().expect("dropout rng lock poisoned");
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| {
                if rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}
