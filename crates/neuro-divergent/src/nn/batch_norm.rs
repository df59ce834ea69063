//! Batch normalisation over the feature axis, as `torch.nn.BatchNorm1d` computes it; training
//! passes run as the fused node of `batch_norm_op.rs`.

use std::sync::{Arc, Mutex};

use candle_core::{Tensor, Var};

use super::batch_norm_op::batch_norm_train;
use super::pass::PassUse;
use super::ParamStore;
use crate::error::Result;

/// PyTorch's default: added to the variance before its square root.
const EPS: f64 = 1e-5;
/// PyTorch's default: weight of a training batch's statistics in the running averages.
const MOMENTUM: f64 = 0.1;

/// Normalises each feature of `[..., C]` over all the other axes: while training with the
/// batch's own mean and (biased) variance, which also move the running averages (`momentum`,
/// 0.1 unless set, the variance's unbiased form, as PyTorch keeps them); otherwise with the
/// running averages. Then scales and shifts each feature by a trained weight (from 1) and bias (from 0).
///
/// Training passes that run in several row chunks (`crate::chunks`) normalise each chunk with
/// its own statistics (with one thread a batch is one chunk, as in PyTorch) and move the running
/// averages once, when the last chunk of the pass is done, with the whole batch's statistics
/// combined from the chunks' in row order: the same whatever order the chunks ran in.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    eps: f64,
    momentum: f64,
    pending: Arc<Mutex<Vec<PendingUse>>>,
}

/// The chunks of one use in one training pass that have reported their statistics so far.
#[derive(Debug)]
struct PendingUse {
    pass: u64,
    index: u64,
    windows: usize,
    chunks: Vec<ChunkStats>,
}

/// One chunk's statistics: its first window, its normalised rows, their mean and biased
/// variance.
#[derive(Debug)]
struct ChunkStats {
    first: usize,
    rows: usize,
    mean: Tensor,
    var: Tensor,
}

impl BatchNorm {
    /// Creates `{name}.weight`, `{name}.bias` and the running statistics of `features` features,
    /// with PyTorch's default `eps` (1e-5) and `momentum` (0.1).
    pub fn new(store: &mut ParamStore, name: &str, features: usize) -> Result<BatchNorm> {
        BatchNorm::with_settings(store, name, features, EPS, MOMENTUM)
    }

    /// [`BatchNorm::new`] with `eps` added to the variance and `momentum` the weight of each
    /// batch in the running averages.
    pub fn with_settings(
        store: &mut ParamStore,
        name: &str,
        features: usize,
        eps: f64,
        momentum: f64,
    ) -> Result<BatchNorm> {
        Ok(BatchNorm {
            eps,
            momentum,
            weight: store.filled(&format!("{name}.weight"), &[features], 1.0)?,
            bias: store.filled(&format!("{name}.bias"), &[features], 0.0)?,
            running_mean: store.buffer(&format!("{name}.running_mean"), &[features], 0.0)?,
            running_var: store.buffer(&format!("{name}.running_var"), &[features], 1.0)?,
            pending: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Normalises `x` (`[..., C]`); `train` as in [`crate::models::Model::forward`].
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let features = dims[dims.len() - 1];
        let rows = x.elem_count() / features.max(1);
        let flat = x.reshape((rows, features))?;
        let out = if train {
            let (out, (mean, var)) = batch_norm_train(&flat, &self.weight, &self.bias, self.eps)?;
            let at = PassUse::next();
            let stats = ChunkStats {
                first: at.chunk.as_ref().map_or(0, |chunk| chunk.rows.start),
                rows,
                mean,
                var,
            };
            self.record(at, stats)?;
            out
        } else {
            let mean = self.running_mean.as_tensor().unsqueeze(0)?;
            let std = (self.running_var.as_tensor().unsqueeze(0)? + self.eps)?.sqrt()?;
            flat.broadcast_sub(&mean)?
                .broadcast_div(&std)?
                .broadcast_mul(&self.weight)?
                .broadcast_add(&self.bias)?
        };
        Ok(out.reshape(dims)?)
    }

    /// Keeps a chunk's statistics until every chunk of the batch has reported, then moves the
    /// running averages with them; outside a training pass's scope, moves them at once.
    fn record(&self, at: PassUse, stats: ChunkStats) -> Result<()> {
        let Some(chunk) = at.chunk else {
            return self.update_running(&[stats]);
        };
        let mut pending = self.pending.lock().expect("batch statistics lock poisoned");
        // A failed pass leaves its chunks behind; a later pass drops them.
        pending.retain(|p| p.pass == at.pass);
        let position = match pending.iter().position(|p| p.index == at.index) {
            Some(position) => position,
            None => {
                pending.push(PendingUse {
                    pass: at.pass,
                    index: at.index,
                    windows: 0,
                    chunks: Vec::new(),
                });
                pending.len() - 1
            }
        };
        let entry = &mut pending[position];
        entry.windows += chunk.rows.len();
        entry.chunks.push(stats);
        if entry.windows < chunk.batch_rows {
            return Ok(());
        }
        let mut chunks = pending.swap_remove(position).chunks;
        drop(pending);
        chunks.sort_by_key(|c| c.first);
        self.update_running(&chunks)
    }

    /// Moves the running averages towards the mean and biased variance of the rows of `chunks`
    /// taken together.
    fn update_running(&self, chunks: &[ChunkStats]) -> Result<()> {
        let rows: usize = chunks.iter().map(|c| c.rows).sum();
        let weighted = |term: &dyn Fn(&ChunkStats) -> Result<Tensor>| -> Result<Tensor> {
            let share = |c: &ChunkStats| c.rows as f64 / rows.max(1) as f64;
            let mut sum = (term(&chunks[0])? * share(&chunks[0]))?;
            for c in &chunks[1..] {
                sum = (sum + (term(c)? * share(c))?)?;
            }
            Ok(sum)
        };
        let mean = weighted(&|c| Ok(c.mean.clone()))?;
        // Each chunk's variance about the batch's mean.
        let var = weighted(&|c| Ok((&c.var + (&c.mean - &mean)?.sqr()?)?))?;
        let unbiased = rows as f64 / (rows.saturating_sub(1).max(1)) as f64;
        let var = (var * unbiased)?;
        let keep = 1.0 - self.momentum;
        let new_mean = ((self.running_mean.as_tensor() * keep)? + (mean * self.momentum)?)?;
        let new_var = ((self.running_var.as_tensor() * keep)? + (var * self.momentum)?)?;
        self.running_mean.set(&new_mean)?;
        self.running_var.set(&new_var)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::super::pass;
    use super::*;

    #[test]
    fn training_uses_batch_statistics_and_moves_the_running_ones() {
        let mut store = ParamStore::new(0, &Device::Cpu);
        let norm = BatchNorm::new(&mut store, "norm", 2).unwrap();
        // Feature 0: 1, 3 (mean 2, biased variance 1); feature 1: 0, 0 (mean 0, variance 0).
        let x = Tensor::new(&[[[1f32, 0.0]], [[3.0, 0.0]]], &Device::Cpu).unwrap();
        let y: Vec<f32> = norm
            .forward(&x, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let s = (1.0f64 + 1e-5).sqrt() as f32;
        let expected = [-1.0 / s, 0.0, 1.0 / s, 0.0];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
        // Running: mean 0.9*0 + 0.1*[2, 0]; variance 0.9*1 + 0.1*[2 (unbiased), 0].
        let mean: Vec<f32> = norm.running_mean.as_tensor().to_vec1().unwrap();
        let var: Vec<f32> = norm.running_var.as_tensor().to_vec1().unwrap();
        assert_eq!(mean, [0.2, 0.0]);
        assert!(
            (var[0] - 1.1).abs() < 1e-6 && (var[1] - 0.9).abs() < 1e-6,
            "{var:?}"
        );
        // Inference reads the running statistics.
        let y: Vec<f32> = norm
            .forward(&Tensor::new(&[[1.2f32, 0.9]], &Device::Cpu).unwrap(), false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            (y[0] - (1.0 / (1.1f32 + 1e-5).sqrt())).abs() < 1e-5,
            "{y:?}"
        );
        assert!(
            (y[1] - (0.9 / (0.9f32 + 1e-5).sqrt())).abs() < 1e-5,
            "{y:?}"
        );
    }

    #[test]
    fn chunks_of_a_pass_move_the_running_statistics_once_with_the_whole_batch() {
        let device = Device::Cpu;
        let x = Tensor::randn(1f32, 2f32, (4, 3, 2), &device).unwrap();
        let fresh = || BatchNorm::new(&mut ParamStore::new(0, &device), "norm", 2).unwrap();
        let running = |norm: &BatchNorm| {
            let mut values: Vec<f32> = norm.running_mean.as_tensor().to_vec1().unwrap();
            values.extend(norm.running_var.as_tensor().to_vec1::<f32>().unwrap());
            values
        };
        let assert_same = |a: &BatchNorm, b: &BatchNorm| {
            let (a, b) = (running(a), running(b));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-6, "{a:?} {b:?}");
            }
        };
        let whole = fresh();
        pass::scope(0, 0..4, 4, || whole.forward(&x, true)).unwrap();
        let chunked = fresh();
        // The second chunk first: nothing moves until the batch is complete.
        pass::scope(0, 3..4, 4, || chunked.forward(&x.narrow(0, 3, 1)?, true)).unwrap();
        assert_eq!(running(&chunked), [0.0, 0.0, 1.0, 1.0]);
        pass::scope(0, 0..3, 4, || chunked.forward(&x.narrow(0, 0, 3)?, true)).unwrap();
        assert_same(&whole, &chunked);
        assert_ne!(running(&whole), [0.0, 0.0, 1.0, 1.0]);
        // A later pass drops what a failed one left behind and moves once more.
        pass::scope(1, 0..3, 4, || chunked.forward(&x.narrow(0, 0, 3)?, true)).unwrap();
        pass::scope(2, 0..4, 4, || chunked.forward(&x, true)).unwrap();
        pass::scope(2, 0..4, 4, || whole.forward(&x, true)).unwrap();
        assert_same(&whole, &chunked);
    }
}
