//! Window sampling, as NeuralForecast's windowed models do it.
//!
//! A window ending at position `end` of a series holds `input_size` insample points before `end`
//! and `h` outsample points from `end` on. Positions before the series' start or after its end
//! are masked zeros: series are padded by `h` at the end (so the last training windows may be
//! partly unobserved) and, for series shorter than the longest one, by up to `input_size - 1` at
//! the start. A training window is usable when both its insample and outsample parts hold an
//! observation. Each training step takes `batch_size` series (walking a shuffled order, as a
//! data loader does) and draws `windows_batch_size` of their windows: without replacement when
//! enough exist, with replacement otherwise. The draws come from PyTorch's random stream
//! ([`TorchGenerator`]) in the order NeuralForecast makes them, so the same seed picks the same
//! windows. With replacement, identical draws can be merged into one window whose loss weight is
//! its draw count: the loss and gradient are the same, the work is not.
//!
//! Exogenous columns travel with the target: historic ones over the insample part, future ones
//! over the insample and outsample parts, static ones once per window. Each temporal column is
//! scaled with its own statistics over the window's observed insample points, as NeuralForecast
//! scales every temporal column; static values are not scaled.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::models::ModelInput;
use crate::preprocess::{ScalerType, WindowStats};
use crate::random::TorchGenerator;

/// How many exogenous inputs of each kind a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExogDims {
    /// Historic temporal columns (known up to the forecast origin).
    pub hist: usize,
    /// Future temporal columns (known over the horizon too).
    pub futr: usize,
    /// Static columns (one value per series).
    pub stat: usize,
}

impl ExogDims {
    /// True when the model reads no exogenous input.
    pub fn is_empty(&self) -> bool {
        self.hist + self.futr + self.stat == 0
    }
}

/// Window geometry shared by sampling, validation and inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowShape {
    /// Insample length (`input_size`).
    pub input_size: usize,
    /// Outsample length (`h`).
    pub horizon: usize,
    /// Exogenous inputs per window.
    pub exog: ExogDims,
}

impl WindowShape {
    /// Features per step of [`ModelInput::per_step_features`](crate::models::ModelInput::per_step_features):
    /// the target, then the historic, static and future exogenous values.
    pub fn per_step_width(&self) -> usize {
        1 + self.exog.hist + self.exog.stat + self.exog.futr
    }

    /// Width of the target window followed by the exogenous feature blocks of
    /// [`ModelInput::with_exog`], when a span of `t` time steps becomes `pooled(t)` values.
    pub fn flat_input_width(&self, pooled: impl Fn(usize) -> usize) -> usize {
        let (l, h, e) = (self.input_size, self.horizon, self.exog);
        pooled(l) * (1 + e.hist) + pooled(l + h) * e.futr + e.stat
    }

    /// A window of `input_size` insample and `horizon` outsample points without exogenous inputs.
    pub fn new(input_size: usize, horizon: usize) -> WindowShape {
        WindowShape {
            input_size,
            horizon,
            exog: ExogDims::default(),
        }
    }
}

/// The windows of one model's three uses; they differ only for models that forecast one step at
/// a time (see [`crate::models::StepWindows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowShapes {
    /// Training windows.
    pub train: WindowShape,
    /// Validation windows (the full horizon).
    pub validation: WindowShape,
    /// Inference windows (the full horizon).
    pub inference: WindowShape,
}

/// One series as a model sees it: its target values and the exogenous columns the model reads.
///
/// Temporal columns are aligned with `y` (position `t` of a column belongs to `y[t]`); future
/// columns extend past the end of `y` when forecasting. Positions a column does not cover read as
/// zero.
#[derive(Debug, Clone, Default)]
pub struct SeriesView<'a> {
    /// Observed values.
    pub y: &'a [f64],
    /// Historic exogenous columns.
    pub hist: Vec<&'a [f32]>,
    /// Future exogenous columns.
    pub futr: Vec<&'a [f32]>,
    /// Static exogenous values.
    pub stat: Vec<f32>,
}

impl<'a> SeriesView<'a> {
    /// A series without exogenous columns.
    pub fn target(y: &'a [f64]) -> SeriesView<'a> {
        SeriesView {
            y,
            ..SeriesView::default()
        }
    }

    /// The same series with only its first `n` observations.
    pub fn truncated(&self, n: usize) -> SeriesView<'a> {
        SeriesView {
            y: &self.y[..n],
            ..self.clone()
        }
    }

    fn exog_dims(&self) -> ExogDims {
        ExogDims {
            hist: self.hist.len(),
            futr: self.futr.len(),
            stat: self.stat.len(),
        }
    }
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
    /// Scaled historic exogenous values, `[size, input_size, hist]`.
    pub hist: Vec<f32>,
    /// Scaled future exogenous values, `[size, input_size + horizon, futr]`.
    pub futr: Vec<f32>,
    /// Static exogenous values, `[size, stat]`.
    pub stat: Vec<f32>,
    /// Scaler statistics of each window's target, to map outputs back.
    pub stats: Vec<WindowStats>,
}

/// Each window's target scaler statistics as `[B, 1]` tensors.
#[derive(Debug, Clone)]
pub struct WindowScale {
    /// Subtracted before scaling.
    pub shift: Tensor,
    /// Divisor.
    pub scale: Tensor,
}

impl WindowScale {
    /// Maps scaled values `[B, ...]` back to the data's units.
    pub fn unscale(&self, x: &Tensor) -> Result<Tensor> {
        let mut dims = vec![1; x.rank()];
        dims[0] = x.dim(0)?;
        Ok(x.broadcast_mul(&self.scale.reshape(dims.as_slice())?)?
            .broadcast_add(&self.shift.reshape(dims.as_slice())?)?)
    }

    /// The statistics with `f` applied to both `[B, 1]` tensors, e.g. to select or repeat
    /// windows as [`ModelInput`]'s rows are.
    pub(crate) fn map_rows(&self, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<WindowScale> {
        Ok(WindowScale {
            shift: f(&self.shift)?,
            scale: f(&self.scale)?,
        })
    }

    /// Statistics that leave `[B, ...]` values unchanged.
    pub fn identity(&self) -> Result<WindowScale> {
        Ok(WindowScale {
            shift: self.shift.zeros_like()?,
            scale: self.scale.ones_like()?,
        })
    }
}

/// The tensors of a [`WindowBatch`].
#[derive(Debug, Clone)]
pub struct BatchTensors {
    /// What the model reads.
    pub input: ModelInput,
    /// `[B, H]` scaled targets.
    pub outsample: Tensor,
    /// `[B, H]` loss weights.
    pub outsample_weight: Tensor,
    /// Each window's target scaler statistics.
    pub window: WindowScale,
}

/// Where a window sits in its series and how much its loss counts.
#[derive(Debug, Clone, Copy)]
struct Placement {
    /// Position of the first outsample point.
    end: isize,
    /// Whether the outsample part may be observed (false at inference).
    with_target: bool,
    /// Draw count multiplying the outsample mask.
    weight: f32,
}

impl WindowBatch {
    fn with_capacity(shape: WindowShape, windows: usize) -> WindowBatch {
        let (l, h, e) = (shape.input_size, shape.horizon, shape.exog);
        WindowBatch {
            size: 0,
            shape,
            insample: Vec::with_capacity(windows * l),
            insample_mask: Vec::with_capacity(windows * l),
            outsample: Vec::with_capacity(windows * h),
            outsample_weight: Vec::with_capacity(windows * h),
            hist: Vec::with_capacity(windows * l * e.hist),
            futr: Vec::with_capacity(windows * (l + h) * e.futr),
            stat: Vec::with_capacity(windows * e.stat),
            stats: Vec::with_capacity(windows),
        }
    }

    /// Appends the window of `series` placed at `at`, scaled with `scaler`.
    fn push(&mut self, scaler: ScalerType, series: &SeriesView<'_>, at: Placement) {
        let (l, h) = (self.shape.input_size as isize, self.shape.horizon as isize);
        let n = series.y.len() as isize;
        let start = at.end - l;
        let observed = |p: isize| (0..n).contains(&p);
        let value = |p: isize| {
            if observed(p) {
                series.y[p as usize] as f32
            } else {
                0.0
            }
        };
        let mask: Vec<f32> = (start..at.end)
            .map(|p| f32::from(u8::from(observed(p))))
            .collect();
        let raw: Vec<f32> = (start..at.end).map(value).collect();
        let stats = scaler.window_stats(&raw, &mask);
        for (&v, &m) in raw.iter().zip(&mask) {
            self.insample
                .push(if m > 0.0 { stats.apply(v) } else { 0.0 });
        }
        self.insample_mask.extend_from_slice(&mask);
        for p in at.end..at.end + h {
            let known = at.with_target && observed(p);
            self.outsample
                .push(if known { stats.apply(value(p)) } else { 0.0 });
            self.outsample_weight
                .push(if known { at.weight } else { 0.0 });
        }
        push_temporal(&mut self.hist, scaler, &series.hist, start..at.end, &mask);
        push_temporal(
            &mut self.futr,
            scaler,
            &series.futr,
            start..at.end + h,
            &mask,
        );
        self.stat.extend_from_slice(&series.stat);
        self.stats.push(stats);
        self.size += 1;
    }

    /// Copies the batch into tensors on `device`.
    pub fn tensors(&self, device: &Device) -> Result<BatchTensors> {
        let (b, l, h, e) = (
            self.size,
            self.shape.input_size,
            self.shape.horizon,
            self.shape.exog,
        );
        let optional = |values: &[f32], dims: &[usize], width: usize| -> Result<Option<Tensor>> {
            Ok(if width == 0 {
                None
            } else {
                Some(Tensor::from_slice(values, dims, device)?)
            })
        };
        Ok(BatchTensors {
            input: ModelInput {
                insample: Tensor::from_slice(&self.insample, (b, l), device)?,
                insample_mask: Tensor::from_slice(&self.insample_mask, (b, l), device)?,
                hist: optional(&self.hist, &[b, l, e.hist], e.hist)?,
                futr: optional(&self.futr, &[b, l + h, e.futr], e.futr)?,
                stat: optional(&self.stat, &[b, e.stat], e.stat)?,
                teacher: None,
            },
            outsample: Tensor::from_slice(&self.outsample, (b, h), device)?,
            outsample_weight: Tensor::from_slice(&self.outsample_weight, (b, h), device)?,
            window: WindowScale {
                shift: Tensor::from_iter(self.stats.iter().map(|s| s.shift), device)?
                    .reshape((b, 1))?,
                scale: Tensor::from_iter(self.stats.iter().map(|s| s.scale), device)?
                    .reshape((b, 1))?,
            },
        })
    }
}

/// Appends the columns' values over `positions`, time-major (`[time, column]`), each column
/// scaled by its own statistics over the first `mask.len()` positions where `mask` is set.
fn push_temporal(
    out: &mut Vec<f32>,
    scaler: ScalerType,
    columns: &[&[f32]],
    positions: std::ops::Range<isize>,
    mask: &[f32],
) {
    if columns.is_empty() {
        return;
    }
    let at = |column: &[f32], p: isize| {
        usize::try_from(p)
            .ok()
            .and_then(|p| column.get(p).copied())
            .unwrap_or(0.0)
    };
    let insample = positions.start..positions.start + mask.len() as isize;
    let stats: Vec<WindowStats> = columns
        .iter()
        .map(|c| {
            let raw: Vec<f32> = insample.clone().map(|p| at(c, p)).collect();
            scaler.window_stats(&raw, mask)
        })
        .collect();
    for p in positions {
        for (column, s) in columns.iter().zip(&stats) {
            out.push(s.apply(at(column, p)));
        }
    }
}

/// Where the usable training windows of one series lie: window `i` ends at
/// `first_end + i * step` (the position of its first outsample point).
#[derive(Debug, Clone, Copy)]
struct WindowRange {
    first_end: isize,
    n_windows: usize,
}

impl WindowRange {
    /// The windows of a series of `n` points left-padded by `pad_left`, starting on multiples
    /// of `step` in padded positions, as NeuralForecast unfolds its padded series.
    fn new(n: usize, pad_left: usize, shape: WindowShape, step: usize) -> WindowRange {
        let l = shape.input_size;
        // Usable padded starts s: the insample part [s, s+L) and the outsample part
        // [s+L, s+L+h) must each hold an observation.
        let lowest = (pad_left + 1).saturating_sub(l);
        let highest = (pad_left + n).checked_sub(l + 1);
        let first_start = lowest.div_ceil(step) * step;
        let n_windows = match highest {
            Some(hi) if hi >= first_start => (hi - first_start) / step + 1,
            _ => 0,
        };
        WindowRange {
            first_end: (first_start + l) as isize - pad_left as isize,
            n_windows,
        }
    }

    fn end(&self, index: usize, step: usize) -> isize {
        self.first_end + (index * step) as isize
    }
}

/// Draws training batches: `batch_size` series per step, `windows_batch_size` windows from them.
#[derive(Debug, Clone)]
pub struct WindowSampler<'a> {
    options: SamplerOptions,
    series: Vec<SeriesView<'a>>,
    ranges: Vec<WindowRange>,
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
    /// Draw multivariate windows: every series (of equal lengths) in each, as NeuralForecast's
    /// multivariate models read them (see [`WindowSampler::next_batch`]).
    pub multivariate: bool,
}

/// The error for a panel too short for any training window: a window reads `input_size`
/// observations and learns from at least one after them, as NeuralForecast's windows do.
fn no_training_window(input_size: usize, longest: usize) -> Error {
    let advice = if longest >= 2 {
        format!("lower input_size to at most {}", longest - 1)
    } else {
        "lower input_size".to_string()
    };
    Error::Data(format!(
        "no training window: a window needs input_size + 1 = {} observations of one series \
         ({input_size} to read and at least 1 to learn from), but the longest training series \
         has {longest} (after any validation and test part is held out); {advice}, lower \
         val_size, or use longer series",
        input_size + 1
    ))
}

/// Checks that every series carries the exogenous columns the shape asks for.
fn check_exog(series: &[SeriesView<'_>], shape: WindowShape) -> Result<()> {
    match series.iter().find(|s| s.exog_dims() != shape.exog) {
        Some(s) => Err(Error::Config(format!(
            "a series has {:?} exogenous columns where the model reads {:?}",
            s.exog_dims(),
            shape.exog
        ))),
        None => Ok(()),
    }
}

impl<'a> WindowSampler<'a> {
    /// Prepares the training series (already cut before any validation part).
    pub fn new(series: Vec<SeriesView<'a>>, options: SamplerOptions) -> Result<WindowSampler<'a>> {
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
        check_exog(&series, shape)?;
        let mut options = options;
        if options.multivariate {
            check_equal_lengths(&series)?;
            // NeuralForecast puts every series in each batch of a multivariate model.
            options.batch_size = options.batch_size.max(series.len());
        }
        let longest = series.iter().map(|s| s.y.len()).max().unwrap_or(0);
        let ranges: Vec<WindowRange> = series
            .iter()
            .map(|s| {
                let n = s.y.len();
                let pad = (longest - n)
                    .min(shape.input_size - 1)
                    .max(shape.input_size.saturating_sub(n));
                WindowRange::new(n, pad, shape, step_size)
            })
            .collect();
        if ranges.iter().all(|r| r.n_windows == 0) {
            return Err(no_training_window(shape.input_size, longest));
        }
        Ok(WindowSampler {
            options,
            // Empty: the first draw starts a pass and permutes the series.
            order: Vec::new(),
            cursor: 0,
            series,
            ranges,
        })
    }

    /// The next `batch_size` series of the shuffled walk (fewer at the end of a pass), as
    /// PyTorch's shuffling data loader gives them: each pass draws the loader's base seed, then
    /// the seed of the private generator that permutes the series.
    fn next_series(&mut self, rng: &mut TorchGenerator) -> Vec<usize> {
        if self.cursor >= self.order.len() {
            let _loader_base_seed = rng.next_u64();
            self.order = rng.fork().permutation(self.series.len());
            self.cursor = 0;
        }
        let end = (self.cursor + self.options.batch_size).min(self.order.len());
        let chosen = self.order[self.cursor..end].to_vec();
        self.cursor = end;
        chosen
    }

    /// Draws the windows of one training step from `rng`, as NeuralForecast draws them from
    /// PyTorch's stream: window indices over the chosen series' usable windows in batch order,
    /// by `randperm` when enough exist, by `randint` otherwise.
    ///
    /// Multivariate windows are drawn over the time steps the series share: each drawn window
    /// becomes one row per series, in the shuffled order the data loader gives the series (as
    /// NeuralForecast's multivariate models see them while training).
    pub fn next_batch(&mut self, rng: &mut TorchGenerator) -> WindowBatch {
        if self.options.multivariate {
            return self.next_multivariate_batch(rng);
        }
        let mut chosen = self.next_series(rng);
        chosen.retain(|&i| self.ranges[i].n_windows > 0);
        while chosen.is_empty() {
            chosen = self.next_series(rng);
            chosen.retain(|&i| self.ranges[i].n_windows > 0);
        }
        // Windows of the chosen series, numbered consecutively.
        let mut ends = Vec::with_capacity(chosen.len());
        let mut total = 0usize;
        for &i in &chosen {
            total += self.ranges[i].n_windows;
            ends.push(total);
        }
        let locate = |global: usize| {
            let k = ends.partition_point(|&e| e <= global);
            let before = if k == 0 { 0 } else { ends[k - 1] };
            (chosen[k], global - before)
        };
        let draws = self.draw_windows(total, rng);
        let mut batch = WindowBatch::with_capacity(self.options.shape, draws.len());
        for (global, count) in draws {
            let (series, window) = locate(global);
            self.push_window(&mut batch, series, window, count);
        }
        batch
    }

    /// [`WindowSampler::next_batch`] for multivariate windows.
    fn next_multivariate_batch(&mut self, rng: &mut TorchGenerator) -> WindowBatch {
        let order = self.next_series(rng);
        // The series have equal lengths: their windows lie at the same places.
        let draws = self.draw_windows(self.ranges[0].n_windows, rng);
        let mut batch = WindowBatch::with_capacity(self.options.shape, draws.len() * order.len());
        for (window, count) in draws {
            for &series in &order {
                self.push_window(&mut batch, series, window, count);
            }
        }
        batch
    }

    /// Appends usable window `window` of series `series`, drawn `count` times.
    fn push_window(&self, batch: &mut WindowBatch, series: usize, window: usize, count: usize) {
        let placement = Placement {
            end: self.ranges[series].end(window, self.options.step_size),
            with_target: true,
            weight: count as f32,
        };
        batch.push(self.options.scaler, &self.series[series], placement);
    }

    /// `windows_batch_size` window indices out of `total` with their draw counts: by
    /// `randperm` when enough exist, by `randint` otherwise (then merged into counts when
    /// [`SamplerOptions::merge_duplicates`] is set).
    fn draw_windows(&self, total: usize, rng: &mut TorchGenerator) -> Vec<(usize, usize)> {
        let wanted = self.options.windows_batch_size;
        if total >= wanted {
            let mut order = rng.permutation(total);
            order.truncate(wanted);
            order.into_iter().map(|g| (g, 1)).collect()
        } else {
            let picks: Vec<usize> = (0..wanted).map(|_| rng.below(total)).collect();
            if self.options.merge_duplicates {
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
        }
    }
}

/// Checks that the series of a multivariate model have equal lengths (the caller has checked
/// that they end on the same date).
fn check_equal_lengths(series: &[SeriesView<'_>]) -> Result<()> {
    let Some(first) = series.first() else {
        return Ok(());
    };
    match series.iter().position(|s| s.y.len() != first.y.len()) {
        Some(i) => Err(Error::Data(format!(
            "a multivariate model needs series of equal lengths: series {} has {} points where \
             the first has {}",
            i + 1,
            series[i].y.len(),
            first.y.len()
        ))),
        None => Ok(()),
    }
}

/// The validation windows of each series: those whose outsample lies in its last `val_size`
/// points, `step_size` apart (NeuralForecast's validation windows). Multivariate windows
/// (`multivariate`: series of equal lengths) come origin by origin, each with one row per
/// series; otherwise series by series.
pub fn validation_batch(
    series: &[SeriesView<'_>],
    val_size: usize,
    shape: WindowShape,
    step_size: usize,
    scaler: ScalerType,
    multivariate: bool,
) -> Result<WindowBatch> {
    check_exog(series, shape)?;
    let origins = |n: usize| {
        (n - val_size..)
            .step_by(step_size)
            .take_while(move |origin| origin + shape.horizon <= n)
    };
    let mut windows: Vec<(usize, usize)> = series
        .iter()
        .enumerate()
        .flat_map(|(i, s)| origins(s.y.len()).map(move |origin| (i, origin)))
        .collect();
    if multivariate {
        check_equal_lengths(series)?;
        windows.sort_by_key(|&(i, origin)| (origin, i));
    }
    let mut batch = WindowBatch::with_capacity(shape, windows.len());
    for (i, origin) in windows {
        let placement = Placement {
            end: origin as isize,
            with_target: true,
            weight: 1.0,
        };
        // The insample part must not see the outsample: cut the series at the origin.
        batch.push(
            scaler,
            &series[i].truncated(origin + shape.horizon),
            placement,
        );
    }
    Ok(batch)
}

/// One inference window per series: its last `input_size` points (left-padded when shorter) and,
/// for future exogenous columns, the `h` positions after them.
pub fn inference_batch(
    series: &[SeriesView<'_>],
    shape: WindowShape,
    scaler: ScalerType,
) -> Result<WindowBatch> {
    check_exog(series, shape)?;
    let mut batch = WindowBatch::with_capacity(shape, series.len());
    for s in series {
        let placement = Placement {
            end: s.y.len() as isize,
            with_target: false,
            weight: 0.0,
        };
        batch.push(scaler, s, placement);
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(l: usize, h: usize, windows: usize, merge: bool) -> SamplerOptions {
        SamplerOptions {
            shape: WindowShape::new(l, h),
            step_size: 1,
            scaler: ScalerType::Identity,
            batch_size: 32,
            windows_batch_size: windows,
            merge_duplicates: merge,
            multivariate: false,
        }
    }

    #[test]
    fn counts_windows_like_neuralforecast() {
        // 132 points, L=24, h=12: starts 0..=107 have an observed outsample point.
        let y: Vec<f64> = (0..132).map(f64::from).collect();
        let shape = WindowShape::new(24, 12);
        let range = WindowRange::new(132, 0, shape, 1);
        assert_eq!(range.n_windows, 108);
        let mut batch = WindowBatch::with_capacity(shape, 1);
        let placement = Placement {
            end: range.end(107, 1),
            with_target: true,
            weight: 1.0,
        };
        batch.push(ScalerType::Identity, &SeriesView::target(&y), placement);
        assert_eq!(batch.insample[0], 107.0);
        assert_eq!(batch.outsample[0], 131.0);
        assert_eq!(
            batch.outsample_weight,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn short_series_are_left_padded_and_masked() {
        let long: Vec<f64> = (0..50).map(f64::from).collect();
        let short = vec![1.0, 2.0, 3.0];
        let views = vec![SeriesView::target(&long), SeriesView::target(&short)];
        let sampler = WindowSampler::new(views, options(10, 2, 64, false)).unwrap();
        // pad 9: starts 0 and 1 (the outsample part must reach an observation).
        let range = sampler.ranges[1];
        assert_eq!(range.n_windows, 2);
        let mut batch = WindowBatch::with_capacity(sampler.options.shape, 1);
        let placement = Placement {
            end: range.end(0, 1),
            with_target: true,
            weight: 1.0,
        };
        batch.push(ScalerType::Identity, &sampler.series[1], placement);
        assert_eq!(&batch.insample_mask[..9], &[0.0; 9]);
        assert_eq!(batch.insample[9], 1.0);
    }

    #[test]
    fn a_panel_without_windows_is_told_the_real_requirement() {
        // 36 points and input_size 40 (issue: "at least 2 are needed"); 41 gives one window.
        let y: Vec<f64> = (0..36).map(f64::from).collect();
        let views = vec![SeriesView::target(&y)];
        let err = WindowSampler::new(views.clone(), options(40, 12, 64, false))
            .unwrap_err()
            .to_string();
        for part in [
            "input_size + 1 = 41 observations",
            "longest training series has 36",
            "lower input_size to at most 35",
        ] {
            assert!(err.contains(part), "`{part}` not in: {err}");
        }
        assert!(WindowSampler::new(views.clone(), options(36, 12, 64, false)).is_err());
        let sampler = WindowSampler::new(views, options(35, 12, 64, false)).unwrap();
        assert_eq!(sampler.ranges[0].n_windows, 1);
    }

    #[test]
    fn merged_draws_keep_total_weight() {
        let y: Vec<f64> = (0..40).map(f64::from).collect();
        let mut rng = TorchGenerator::new(1);
        let views = vec![SeriesView::target(&y)];
        let mut merged = WindowSampler::new(views.clone(), options(8, 4, 1024, true)).unwrap();
        let batch = merged.next_batch(&mut rng);
        assert!(batch.size <= 32);
        let mut rng = TorchGenerator::new(1);
        let mut plain = WindowSampler::new(views, options(8, 4, 1024, false)).unwrap();
        let full = plain.next_batch(&mut rng);
        assert_eq!(full.size, 1024);
        let total = |b: &WindowBatch| b.outsample_weight.iter().sum::<f32>();
        assert_eq!(total(&batch), total(&full));
    }

    #[test]
    fn sampler_draws_the_windows_neuralforecast_draws() {
        // AirPassengers without its last 12 months, h=12, input_size=24, random_seed=1: the
        // window indices NeuralForecast 3.3 drew (torch.randint) at its first two steps.
        let y: Vec<f64> = (0..132).map(f64::from).collect();
        let mut sampler =
            WindowSampler::new(vec![SeriesView::target(&y)], options(24, 12, 1024, false)).unwrap();
        assert_eq!(sampler.ranges[0].n_windows, 108);
        let mut rng = TorchGenerator::new(1);
        let torch = [
            [79, 73, 83, 77, 107, 36, 20, 93],
            [83, 28, 52, 38, 98, 36, 20, 16],
        ];
        for drawn in torch {
            let batch = sampler.next_batch(&mut rng);
            let starts: Vec<usize> = (0..8).map(|k| batch.insample[k * 24] as usize).collect();
            assert_eq!(starts, drawn);
        }
    }

    #[test]
    fn validation_windows_cover_the_tail() {
        let y: Vec<f64> = (0..30).map(f64::from).collect();
        let shape = WindowShape::new(5, 3);
        let batch = validation_batch(
            &[SeriesView::target(&y)],
            6,
            shape,
            1,
            ScalerType::Identity,
            false,
        )
        .unwrap();
        assert_eq!(batch.size, 4);
        assert_eq!(batch.outsample[..3], [24.0, 25.0, 26.0]);
        assert_eq!(batch.insample[..5], [19.0, 20.0, 21.0, 22.0, 23.0]);
    }

    #[test]
    fn exogenous_columns_are_windowed_and_scaled_per_column() {
        let y: Vec<f64> = (0..6).map(f64::from).collect();
        let hist: Vec<f32> = vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
        // The future column reaches two steps past the end of y.
        let futr: Vec<f32> = (0..8).map(|t| t as f32 * 2.0).collect();
        let view = SeriesView {
            y: &y,
            hist: vec![&hist],
            futr: vec![&futr],
            stat: vec![7.0],
        };
        let shape = WindowShape {
            input_size: 3,
            horizon: 2,
            exog: ExogDims {
                hist: 1,
                futr: 1,
                stat: 1,
            },
        };
        let batch = inference_batch(&[view], shape, ScalerType::Minmax).unwrap();
        // y window 3,4,5 -> min 3, range 2.
        assert_eq!(batch.insample, [0.0, 0.5, 1.0]);
        // hist window 40,50,60 -> its own min 40 and range 20.
        assert_eq!(batch.hist, [0.0, 0.5, 1.0]);
        // futr positions 3..8 -> 6,8,10 | 12,14, scaled by the insample part (min 6, range 4).
        assert_eq!(batch.futr, [0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(batch.stat, [7.0]);
        let t = batch.tensors(&Device::Cpu).unwrap();
        assert_eq!(t.input.futr.unwrap().dims(), &[1, 5, 1]);
        let err = inference_batch(&[SeriesView::target(&y)], shape, ScalerType::Identity)
            .unwrap_err()
            .to_string();
        assert!(err.contains("exogenous"), "{err}");
    }
}
