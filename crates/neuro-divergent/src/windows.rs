//! Window sampling, as NeuralForecast's windowed models do it.
//!
//! A training window is `input_size` insample points followed by `h` outsample points. Series are
//! padded with masked zeros: `h` at the end (so the last windows may be partly unobserved) and, for
//! series shorter than the longest one, up to `input_size - 1` at the start. A window is usable when
//! both its insample and outsample parts hold at least one observation. Each training step takes
//! `batch_size` series (walking a shuffled order, as a data loader does) and draws
//! `windows_batch_size` of their windows: without replacement when enough exist, with replacement
//! otherwise. With replacement, identical draws can be merged into one window whose loss weight is
//! its draw count: the loss and gradient are the same, the work is not.

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{Error, Result};
use crate::preprocess::{ScalerType, WindowStats};

/// Window geometry shared by sampling, validation and inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowShape {
    /// Insample length (`input_size`).
    pub input_size: usize,
    /// Outsample length (`h`).
    pub horizon: usize,
}

/// A batch of scaled windows, ready to become tensors.
#[derive(Debug, Clone)]
pub struct WindowBatch {
    /// Number of windows.
    pub size: usize,
    /// The window geometry.
    pub shape: WindowShape,
    /// Scaled insample values, `[size, input_size]` row-major; zero where unobserved.
    pub insample: Vec<f32>,
    /// 1 where the insample value is observed, else 0.
    pub insample_mask: Vec<f32>,
    /// Scaled outsample targets, `[size, horizon]`; zero where unobserved or unknown.
    pub outsample: Vec<f32>,
    /// Loss weight of each outsample point: observation mask times the window's draw count.
    pub outsample_weight: Vec<f32>,
    /// Scaler statistics of each window, to map outputs back.
    pub stats: Vec<WindowStats>,
}

/// The tensors of a [`WindowBatch`].
#[derive(Debug, Clone)]
pub struct BatchTensors {
    /// `[B, L]` scaled insample values.
    pub insample: Tensor,
    /// `[B, L]` insample observation mask.
    pub insample_mask: Tensor,
    /// `[B, H]` scaled targets.
    pub outsample: Tensor,
    /// `[B, H]` loss weights.
    pub outsample_weight: Tensor,
}

impl WindowBatch {
    fn with_capacity(shape: WindowShape, windows: usize) -> WindowBatch {
        WindowBatch {
            size: 0,
            shape,
            insample: Vec::with_capacity(windows * shape.input_size),
            insample_mask: Vec::with_capacity(windows * shape.input_size),
            outsample: Vec::with_capacity(windows * shape.horizon),
            outsample_weight: Vec::with_capacity(windows * shape.horizon),
            stats: Vec::with_capacity(windows),
        }
    }

    /// Appends one window given its raw values and masks; `weight` multiplies the outsample mask.
    fn push(
        &mut self,
        scaler: ScalerType,
        insample: (&[f32], &[f32]),
        outsample: (&[f32], &[f32]),
        weight: f32,
    ) {
        let stats = scaler.window_stats(insample.0, insample.1);
        for (&v, &m) in insample.0.iter().zip(insample.1) {
            self.insample
                .push(if m > 0.0 { stats.apply(v) } else { 0.0 });
            self.insample_mask.push(m);
        }
        for (&v, &m) in outsample.0.iter().zip(outsample.1) {
            self.outsample
                .push(if m > 0.0 { stats.apply(v) } else { 0.0 });
            self.outsample_weight.push(m * weight);
        }
        self.stats.push(stats);
        self.size += 1;
    }

    /// Copies the batch into tensors on `device`.
    pub fn tensors(&self, device: &Device) -> Result<BatchTensors> {
        let (b, l, h) = (self.size, self.shape.input_size, self.shape.horizon);
        Ok(BatchTensors {
            insample: Tensor::from_slice(&self.insample, (b, l), device)?,
            insample_mask: Tensor::from_slice(&self.insample_mask, (b, l), device)?,
            outsample: Tensor::from_slice(&self.outsample, (b, h), device)?,
            outsample_weight: Tensor::from_slice(&self.outsample_weight, (b, h), device)?,
        })
    }
}

/// One series laid out for windowing: masked zero padding on both sides.
#[derive(Debug, Clone)]
struct PaddedSeries {
    values: Vec<f32>,
    mask: Vec<f32>,
    /// Padded position of the first usable window start.
    first_start: usize,
    /// Number of usable windows (starts `first_start`, `first_start + step`, ...).
    n_windows: usize,
}

impl PaddedSeries {
    fn new(y: &[f64], pad_left: usize, shape: WindowShape, step: usize) -> PaddedSeries {
        let (l, h, n) = (shape.input_size, shape.horizon, y.len());
        let total = pad_left + n + h;
        let mut values = vec![0.0f32; total];
        let mut mask = vec![0.0f32; total];
        for (i, &v) in y.iter().enumerate() {
            values[pad_left + i] = v as f32;
            mask[pad_left + i] = 1.0;
        }
        // Usable starts s: the insample part [s, s+L) and the outsample part [s+L, s+L+h) must
        // each hold an observation, and the window must fit the padded series.
        let lowest = (pad_left + 1).saturating_sub(l);
        let highest = (pad_left + n).checked_sub(l + 1);
        let first_start = lowest.div_ceil(step) * step;
        let n_windows = match highest {
            Some(hi) if hi >= first_start => (hi - first_start) / step + 1,
            _ => 0,
        };
        PaddedSeries {
            values,
            mask,
            first_start,
            n_windows,
        }
    }

    fn window(&self, index: usize, step: usize, shape: WindowShape) -> [(&[f32], &[f32]); 2] {
        let s = self.first_start + index * step;
        let mid = s + shape.input_size;
        let end = mid + shape.horizon;
        [
            (&self.values[s..mid], &self.mask[s..mid]),
            (&self.values[mid..end], &self.mask[mid..end]),
        ]
    }
}

/// Draws training batches: `batch_size` series per step, `windows_batch_size` windows from them.
#[derive(Debug, Clone)]
pub struct WindowSampler {
    shape: WindowShape,
    step_size: usize,
    scaler: ScalerType,
    batch_size: usize,
    windows_batch_size: usize,
    merge_duplicates: bool,
    series: Vec<PaddedSeries>,
    order: Vec<usize>,
    cursor: usize,
}

/// How a [`WindowSampler`] draws.
#[derive(Debug, Clone, Copy)]
pub struct SamplerOptions {
    /// Window geometry.
    pub shape: WindowShape,
    /// Distance between consecutive window starts.
    pub step_size: usize,
    /// Per-window scaler.
    pub scaler: ScalerType,
    /// Series per step.
    pub batch_size: usize,
    /// Windows per step.
    pub windows_batch_size: usize,
    /// Merge identical draws into one weighted window (only exact when the model is deterministic).
    pub merge_duplicates: bool,
}

impl WindowSampler {
    /// Prepares the training series (already cut before any validation part).
    pub fn new(series: &[&[f64]], options: SamplerOptions) -> Result<WindowSampler> {
        let SamplerOptions {
            shape, step_size, ..
        } = options;
        if shape.input_size == 0 || shape.horizon == 0 || step_size == 0 {
            return Err(Error::Config(
                "input_size, h and step_size must all be at least 1".into(),
            ));
        }
        if options.batch_size == 0 || options.windows_batch_size == 0 {
            return Err(Error::Config(
                "batch_size and windows_batch_size must be at least 1".into(),
            ));
        }
        let longest = series.iter().map(|s| s.len()).max().unwrap_or(0);
        let padded: Vec<PaddedSeries> = series
            .iter()
            .map(|y| {
                let n = y.len();
                let pad = (longest - n)
                    .min(shape.input_size - 1)
                    .max(shape.input_size.saturating_sub(n));
                PaddedSeries::new(y, pad, shape, step_size)
            })
            .collect();
        if padded.iter().all(|p| p.n_windows == 0) {
            return Err(Error::Data(format!(
                "no training window: the longest training series has {longest} observations; \
                 at least 2 are needed (lower val_size, or use longer series)"
            )));
        }
        Ok(WindowSampler {
            shape,
            step_size,
            scaler: options.scaler,
            batch_size: options.batch_size,
            windows_batch_size: options.windows_batch_size,
            merge_duplicates: options.merge_duplicates,
            order: (0..padded.len()).collect(),
            cursor: padded.len(),
            series: padded,
        })
    }

    /// The next `batch_size` series of the shuffled walk (fewer at the end of a pass), like a
    /// shuffling data loader that keeps its last partial batch.
    fn next_series(&mut self, rng: &mut StdRng) -> Vec<usize> {
        if self.cursor >= self.order.len() {
            self.order.shuffle(rng);
            self.cursor = 0;
        }
        let end = (self.cursor + self.batch_size).min(self.order.len());
        let chosen = self.order[self.cursor..end].to_vec();
        self.cursor = end;
        chosen
    }

    /// Draws the windows of one training step.
    pub fn next_batch(&mut self, rng: &mut StdRng) -> WindowBatch {
        let mut chosen = self.next_series(rng);
        chosen.retain(|&i| self.series[i].n_windows > 0);
        while chosen.is_empty() {
            chosen = self.next_series(rng);
            chosen.retain(|&i| self.series[i].n_windows > 0);
        }
        // Windows of the chosen series, numbered consecutively.
        let mut ends = Vec::with_capacity(chosen.len());
        let mut total = 0usize;
        for &i in &chosen {
            total += self.series[i].n_windows;
            ends.push(total);
        }
        let locate = |global: usize| {
            let k = ends.partition_point(|&e| e <= global);
            let before = if k == 0 { 0 } else { ends[k - 1] };
            (chosen[k], global - before)
        };
        let wanted = self.windows_batch_size;
        // (global index, draw count)
        let draws: Vec<(usize, usize)> = if total >= wanted {
            rand::seq::index::sample(rng, total, wanted)
                .into_iter()
                .map(|g| (g, 1))
                .collect()
        } else {
            let picks: Vec<usize> = (0..wanted).map(|_| rng.random_range(0..total)).collect();
            if self.merge_duplicates {
                let mut counts = vec![0usize; total];
                for &g in &picks {
                    counts[g] += 1;
                }
                counts
                    .into_iter()
                    .enumerate()
                    .filter(|&(_, c)| c > 0)
                    .collect()
            } else {
                picks.into_iter().map(|g| (g, 1)).collect()
            }
        };
        let mut batch = WindowBatch::with_capacity(self.shape, draws.len());
        for (global, count) in draws {
            let (series, window) = locate(global);
            let [ins, outs] = self.series[series].window(window, self.step_size, self.shape);
            batch.push(self.scaler, ins, outs, count as f32);
        }
        batch
    }
}

/// The validation windows of each series: those whose outsample lies in its last `val_size`
/// points, `step_size` apart (NeuralForecast's validation windows).
pub fn validation_batch(
    series: &[&[f64]],
    val_size: usize,
    shape: WindowShape,
    step_size: usize,
    scaler: ScalerType,
) -> WindowBatch {
    let mut batch = WindowBatch::with_capacity(shape, series.len());
    let ones = vec![1.0f32; shape.horizon];
    for y in series {
        let n = y.len();
        let mut origin = n - val_size;
        while origin + shape.horizon <= n {
            let (values, mask) = history_window(&y[..origin], shape.input_size);
            let target: Vec<f32> = y[origin..origin + shape.horizon]
                .iter()
                .map(|&v| v as f32)
                .collect();
            batch.push(scaler, (&values, &mask), (&target, &ones), 1.0);
            origin += step_size;
        }
    }
    batch
}

/// One inference window per history: its last `input_size` points, left-padded when shorter.
pub fn inference_batch(
    histories: &[&[f64]],
    shape: WindowShape,
    scaler: ScalerType,
) -> WindowBatch {
    let mut batch = WindowBatch::with_capacity(shape, histories.len());
    let zeros = vec![0.0f32; shape.horizon];
    for y in histories {
        let (values, mask) = history_window(y, shape.input_size);
        batch.push(scaler, (&values, &mask), (&zeros, &zeros), 0.0);
    }
    batch
}

/// The last `len` values of `y` with their mask, zero-padded at the start when `y` is shorter.
fn history_window(y: &[f64], len: usize) -> (Vec<f32>, Vec<f32>) {
    let take = y.len().min(len);
    let pad = len - take;
    let mut values = vec![0.0f32; len];
    let mut mask = vec![0.0f32; len];
    for (i, &v) in y[y.len() - take..].iter().enumerate() {
        values[pad + i] = v as f32;
        mask[pad + i] = 1.0;
    }
    (values, mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn options(l: usize, h: usize, windows: usize, merge: bool) -> SamplerOptions {
        SamplerOptions {
            shape: WindowShape {
                input_size: l,
                horizon: h,
            },
            step_size: 1,
            scaler: ScalerType::Identity,
            batch_size: 32,
            windows_batch_size: windows,
            merge_duplicates: merge,
        }
    }

    #[test]
    fn counts_windows_like_neuralforecast() {
        // 132 points, L=24, h=12: starts 0..=107 have an observed outsample point.
        let y: Vec<f64> = (0..132).map(f64::from).collect();
        let p = PaddedSeries::new(&y, 0, options(24, 12, 1, false).shape, 1);
        assert_eq!(p.n_windows, 108);
        let [ins, outs] = p.window(107, 1, options(24, 12, 1, false).shape);
        assert_eq!(ins.0[0], 107.0);
        assert_eq!(outs.0[0], 131.0);
        assert_eq!(
            outs.1,
            &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn short_series_are_left_padded_and_masked() {
        let long: Vec<f64> = (0..50).map(f64::from).collect();
        let short = vec![1.0, 2.0, 3.0];
        let sampler = WindowSampler::new(&[&long, &short], options(10, 2, 64, false)).unwrap();
        let padded = &sampler.series[1];
        // pad 9: starts 0 and 1 (the outsample part must reach an observation).
        assert_eq!(padded.n_windows, 2);
        assert_eq!(&padded.mask[..9], &[0.0; 9]);
    }

    #[test]
    fn merged_draws_keep_total_weight() {
        let y: Vec<f64> = (0..40).map(f64::from).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let mut merged = WindowSampler::new(&[&y], options(8, 4, 1024, true)).unwrap();
        let batch = merged.next_batch(&mut rng);
        assert!(batch.size <= 32);
        let mut rng = StdRng::seed_from_u64(1);
        let mut plain = WindowSampler::new(&[&y], options(8, 4, 1024, false)).unwrap();
        let full = plain.next_batch(&mut rng);
        assert_eq!(full.size, 1024);
        let total = |b: &WindowBatch| b.outsample_weight.iter().sum::<f32>();
        assert_eq!(total(&batch), total(&full));
    }

    #[test]
    fn validation_windows_cover_the_tail() {
        let y: Vec<f64> = (0..30).map(f64::from).collect();
        let shape = WindowShape {
            input_size: 5,
            horizon: 3,
        };
        let batch = validation_batch(&[&y], 6, shape, 1, ScalerType::Identity);
        assert_eq!(batch.size, 4);
        assert_eq!(batch.outsample[..3], [24.0, 25.0, 26.0]);
        assert_eq!(batch.insample[..5], [19.0, 20.0, 21.0, 22.0, 23.0]);
    }
}
