//! FEDformer's frequency-enhanced blocks (Zhou et al., 2022), as NeuralForecast 3.3 computes
//! them in its `FourierBlock` and `FourierCrossAttention`: the projected tokens are taken to the
//! frequency domain along time, a few chosen frequencies ("modes") are kept, their coefficients
//! are mixed across each head's features by learned complex weights (one `E × E` matrix per head
//! and mode), and the result is taken back to the time domain.
//!
//! NeuralForecast uses `rfft`/`irfft`; only a few dozen of the `L / 2 + 1` coefficients are read
//! or written, so both transforms are products with real `[L, 2M]` and `[2M, L]` matrices
//! ([`analysis`], [`synthesis`]) here, and every complex product is one real product over
//! `[re | im]` blocks. Candle differentiates them like any other product.
//!
//! Two of NeuralForecast's (and the paper's code's) conventions are kept because the published
//! results come from them: the self block writes mode `i`'s output to frequency `i` (not to the
//! frequency it read), and the `[B, heads, E, L]` result is read as `[B, L, hidden]` without
//! moving its values.

use std::f64::consts::PI;

use candle_core::{Device, Tensor};

use super::{MultiHeadAttention, ParamStore, ProjectionNames};
use crate::error::{Error, Result};
use crate::random::NumpyRandomState;

/// Heads of FEDformer's frequency blocks: NeuralForecast's complex weights are `[8, E, E, M]`.
pub const FOURIER_HEADS: usize = 8;

/// How the kept frequencies are chosen (NeuralForecast's `mode_select`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeSelection {
    /// `modes` frequencies drawn at random below `L / 2` (NumPy's legacy shuffle, seeded as
    /// NeuralForecast seeds NumPy with `random_seed`).
    Random,
    /// The `modes` lowest frequencies.
    Lowest,
}

/// The frequencies kept of a sequence NeuralForecast sizes at `length` steps: `min(modes,
/// length / 2)` of `0..length / 2`, ascending (NeuralForecast's `get_frequency_modes`). A random
/// choice shuffles `0..length / 2` with `numpy` and keeps the first `modes`.
pub fn frequency_modes(
    length: usize,
    modes: usize,
    selection: ModeSelection,
    numpy: &mut NumpyRandomState,
) -> Vec<usize> {
    let available = length / 2;
    let mut index: Vec<usize> = (0..available).collect();
    if selection == ModeSelection::Random {
        numpy.shuffle(&mut index);
    }
    index.truncate(modes.min(available));
    index.sort_unstable();
    index
}

/// `[L, 2M]`: `x · A` is `[Re X_k … | Im X_k …]` for the `k` in `modes`, `X = rfft(x)` over `L`
/// steps.
pub fn analysis(length: usize, modes: &[usize], device: &Device) -> Result<Tensor> {
    let m = modes.len();
    let mut values = vec![0f32; length * 2 * m];
    for t in 0..length {
        for (j, &k) in modes.iter().enumerate() {
            let angle = 2.0 * PI * (k * t % length) as f64 / length as f64;
            values[t * 2 * m + j] = angle.cos() as f32;
            values[t * 2 * m + m + j] = -angle.sin() as f32;
        }
    }
    Ok(Tensor::from_vec(values, (length, 2 * m), device)?)
}

/// `[2M, L]`: `[Re | Im] · S` is `irfft(Y, n = L) * scale` for the spectrum `Y` that holds the
/// given coefficients at frequencies `positions` and zeros elsewhere (the imaginary parts at
/// frequency 0 and `L / 2` drop out, as in `irfft`).
pub fn synthesis(
    length: usize,
    positions: &[usize],
    scale: f64,
    device: &Device,
) -> Result<Tensor> {
    let m = positions.len();
    let mut values = vec![0f32; 2 * m * length];
    for (j, &k) in positions.iter().enumerate() {
        // Frequencies with a conjugate partner count twice.
        let weight = if k == 0 || 2 * k == length { 1.0 } else { 2.0 };
        let factor = weight * scale / length as f64;
        for t in 0..length {
            let angle = 2.0 * PI * (k * t % length) as f64 / length as f64;
            values[j * length + t] = (factor * angle.cos()) as f32;
            values[(m + j) * length + t] = (-factor * angle.sin()) as f32;
        }
    }
    Ok(Tensor::from_vec(values, (2 * m, length), device)?)
}

/// The learned complex weights of one frequency block, `[heads, E, E, M, 2]` (NeuralForecast's
/// `weights1` as `view_as_real` lays it out), shared by every layer that uses the block.
#[derive(Debug, Clone)]
pub struct ModeWeights {
    weights: Tensor,
}

impl ModeWeights {
    /// `{name}.weights1` for `hidden` features in [`FOURIER_HEADS`] heads and `modes` modes:
    /// `torch.rand` draws (real and imaginary part in turn) times `1 / hidden²`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        modes: usize,
    ) -> Result<ModeWeights> {
        let width = hidden / FOURIER_HEADS;
        let shape = [FOURIER_HEADS, width, width, modes, 2];
        let scale = 1.0 / (hidden * hidden) as f64;
        let weights = store.unit_uniform_scaled(&format!("{name}.weights1"), &shape, scale)?;
        Ok(ModeWeights { weights })
    }

    /// Mixes each head's coefficients at each mode: `x` is `[heads, M, B, 2E]` (`[re | im]`
    /// over the head's features), the result `out[o] = Σ_e x[e] · W[e, o]` in complex
    /// arithmetic, in the same layout.
    fn mix(&self, x: &Tensor) -> Result<Tensor> {
        let part = |i: usize| -> Result<Tensor> {
            Ok(self
                .weights
                .narrow(4, i, 1)?
                .squeeze(4)?
                .permute((0, 3, 1, 2))?)
        };
        let (re, im) = (part(0)?, part(1)?);
        // [[re, im], [-im, re]] maps [x_re | x_im] to [out_re | out_im].
        let top = Tensor::cat(&[&re, &im], 3)?;
        let bottom = Tensor::cat(&[&im.neg()?, &re], 3)?;
        let block = Tensor::cat(&[top, bottom], 2)?.contiguous()?;
        Ok(x.contiguous()?.matmul(&block)?)
    }
}

/// Spectra `[B * hidden, 2M]` (rows in `[B, heads, E]` order) as `[heads, M, B, 2E]`.
fn by_head_and_mode(spectra: &Tensor, batch: usize, hidden: usize) -> Result<Tensor> {
    let modes = spectra.dim(1)? / 2;
    let width = hidden / FOURIER_HEADS;
    Ok(spectra
        .reshape((batch, FOURIER_HEADS, width, 2, modes))?
        .permute((1, 4, 0, 3, 2))?
        .reshape((FOURIER_HEADS, modes, batch, 2 * width))?)
}

/// The inverse of [`by_head_and_mode`].
fn by_feature(x: &Tensor) -> Result<Tensor> {
    let (heads, modes, batch, double_width) = x.dims4()?;
    let width = double_width / 2;
    Ok(x.reshape((heads, modes, batch, 2, width))?
        .permute((2, 0, 4, 3, 1))?
        .reshape((batch * heads * width, 2 * modes))?)
}

/// `[B, L, hidden]` tokens as `[B * hidden, L]` rows, one per feature.
fn feature_rows(x: &Tensor) -> Result<Tensor> {
    let (batch, length, hidden) = x.dims3()?;
    Ok(x.transpose(1, 2)?
        .contiguous()?
        .reshape((batch * hidden, length))?)
}

/// NeuralForecast's `FourierBlock` inside its `AutoCorrelationLayer`: the queries' kept
/// frequencies mixed by the block's weights and written to the lowest frequencies, back in
/// time and projected out. The key and value projections exist (and are drawn) but are not
/// read.
#[derive(Debug)]
pub struct FourierBlock {
    projections: MultiHeadAttention,
    weights: ModeWeights,
    analysis: Tensor,
    synthesis: Tensor,
}

impl FourierBlock {
    /// Projections `{name}.query_projection` … `.out_projection` over `hidden` features, with
    /// the (shared) `weights` over `modes` of sequences of `length` steps.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        weights: ModeWeights,
        modes: &[usize],
        length: usize,
    ) -> Result<FourierBlock> {
        let projections = fourier_projections(store, name, hidden)?;
        let device = store.device().clone();
        let written: Vec<usize> = (0..modes.len()).collect();
        Ok(FourierBlock {
            projections,
            weights,
            analysis: analysis(length, modes, &device)?,
            synthesis: synthesis(length, &written, 1.0, &device)?,
        })
    }

    /// The block over tokens `x` (`[B, L, hidden]`, `L` the length it was built for).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let q = self.projections.project_query(x)?;
        self.projections.project_out(&self.filter(&q)?)
    }

    /// NeuralForecast's `FourierBlock` proper: projected queries `q` to `[B, L, hidden]`.
    fn filter(&self, q: &Tensor) -> Result<Tensor> {
        let (batch, length, hidden) = q.dims3()?;
        check_length(&self.analysis, length)?;
        let spectra = feature_rows(q)?.matmul(&self.analysis)?;
        let mixed = self
            .weights
            .mix(&by_head_and_mode(&spectra, batch, hidden)?)?;
        let out = by_feature(&mixed)?.matmul(&self.synthesis)?;
        // [B, heads, E, L] read as [B, L, hidden], as NeuralForecast's `view` reads it.
        Ok(out.reshape((batch, length, hidden))?)
    }
}

/// NeuralForecast's `FourierCrossAttention` inside its `AutoCorrelationLayer`: attention
/// between the kept frequencies of the queries and of the keys (complex products, `tanh`),
/// the keys' coefficients weighted by it, mixed by the block's weights, written back to the
/// queries' frequencies, scaled by `1 / hidden²`, back in time and projected out. The value
/// projection exists (and is drawn) but is not read.
#[derive(Debug)]
pub struct FourierCrossAttention {
    projections: MultiHeadAttention,
    weights: ModeWeights,
    query_analysis: Tensor,
    key_analysis: Tensor,
    synthesis: Tensor,
}

impl FourierCrossAttention {
    /// Projections `{name}.query_projection` … `.out_projection` over `hidden` features, with
    /// the (shared) `weights` over the queries' `query_modes` of `query_length` steps and the
    /// keys' `key_modes` of `key_length` steps.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        hidden: usize,
        weights: ModeWeights,
        (query_modes, query_length): (&[usize], usize),
        (key_modes, key_length): (&[usize], usize),
    ) -> Result<FourierCrossAttention> {
        let projections = fourier_projections(store, name, hidden)?;
        let device = store.device().clone();
        let scale = 1.0 / (hidden * hidden) as f64;
        Ok(FourierCrossAttention {
            projections,
            weights,
            query_analysis: analysis(query_length, query_modes, &device)?,
            key_analysis: analysis(key_length, key_modes, &device)?,
            synthesis: synthesis(query_length, query_modes, scale, &device)?,
        })
    }

    /// The block from tokens `x` (`[B, Lq, hidden]`) to `memory` (`[B, Lk, hidden]`).
    pub fn forward(&self, x: &Tensor, memory: &Tensor) -> Result<Tensor> {
        let q = self.projections.project_query(x)?;
        let k = self.projections.project_key(memory)?;
        self.projections.project_out(&self.attend(&q, &k)?)
    }

    /// NeuralForecast's `FourierCrossAttention` proper: projected queries `q` (`[B, Lq,
    /// hidden]`) and keys `k` (`[B, Lk, hidden]`) to `[B, Lq, hidden]`.
    fn attend(&self, q: &Tensor, k: &Tensor) -> Result<Tensor> {
        let (batch, length, hidden) = q.dims3()?;
        check_length(&self.query_analysis, length)?;
        check_length(&self.key_analysis, k.dim(1)?)?;
        let width = hidden / FOURIER_HEADS;
        // [B, heads, E, 2, M] spectra of the queries and keys.
        let spectra = |tokens: &Tensor, analysis: &Tensor| -> Result<Tensor> {
            let modes = analysis.dim(1)? / 2;
            Ok(feature_rows(tokens)?.matmul(analysis)?.reshape((
                batch,
                FOURIER_HEADS,
                width,
                2,
                modes,
            ))?)
        };
        let qs = spectra(q, &self.query_analysis)?;
        let ks = spectra(k, &self.key_analysis)?;
        let part = |s: &Tensor, i: usize| -> Result<Tensor> { Ok(s.narrow(3, i, 1)?.squeeze(3)?) };
        let (k_re, k_im) = (part(&ks, 0)?, part(&ks, 1)?);
        // Scores[x, y] = Σ_e q[e, x] k[e, y]: [q_re | q_im] (over e) times [[k_re, k_im],
        // [-k_im, k_re]] gives [re | im] over y.
        let q_rows = qs
            .permute((0, 1, 4, 3, 2))?
            .reshape((batch, FOURIER_HEADS, (), 2 * width))?
            .contiguous()?;
        let key_block = Tensor::cat(
            &[
                Tensor::cat(&[&k_re, &k_im], 3)?,
                Tensor::cat(&[&k_im.neg()?, &k_re], 3)?,
            ],
            2,
        )?
        .contiguous()?;
        let scores = complex_tanh(&q_rows.matmul(&key_block)?)?;
        // Weighted[x, e] = Σ_y scores[x, y] k[e, y]: [s_re | s_im] (over y) times
        // [[k_reᵀ, k_imᵀ], [-k_imᵀ, k_reᵀ]] gives [re | im] over e.
        let (k_re_t, k_im_t) = (k_re.transpose(2, 3)?, k_im.transpose(2, 3)?);
        let value_block = Tensor::cat(
            &[
                Tensor::cat(&[&k_re_t, &k_im_t], 3)?,
                Tensor::cat(&[&k_im_t.neg()?, &k_re_t], 3)?,
            ],
            2,
        )?
        .contiguous()?;
        let weighted = scores.matmul(&value_block)?;
        let mixed = self.weights.mix(&weighted.permute((1, 2, 0, 3))?)?;
        let out = by_feature(&mixed)?.matmul(&self.synthesis)?;
        Ok(out.reshape((batch, length, hidden))?)
    }
}

/// The four projections of NeuralForecast's `AutoCorrelationLayer` around a frequency block.
fn fourier_projections(
    store: &mut ParamStore,
    name: &str,
    hidden: usize,
) -> Result<MultiHeadAttention> {
    MultiHeadAttention::new(
        store,
        name,
        ProjectionNames::Informer,
        hidden,
        FOURIER_HEADS,
        0.0,
        0,
    )
}

/// Errors unless `analysis` (`[L, 2M]`) was built for sequences of `length` steps.
fn check_length(analysis: &Tensor, length: usize) -> Result<()> {
    let expected = analysis.dim(0)?;
    if expected == length {
        return Ok(());
    }
    Err(Error::Config(format!(
        "frequency block built for {expected} steps was given {length}"
    )))
}

/// `tanh` of complex numbers stored as `[re | im]` along the last dimension:
/// `tanh(a + ib) = (sinh 2a + i sin 2b) / (cosh 2a + cos 2b)`, evaluated as
/// `(tanh 2a + i sin 2b · sech 2a) / (1 + cos 2b · sech 2a)` so that large `|a|` stays finite.
fn complex_tanh(x: &Tensor) -> Result<Tensor> {
    let half = x.dim(candle_core::D::Minus1)? / 2;
    let last = x.rank() - 1;
    let (a2, b2) = (
        (x.narrow(last, 0, half)? * 2.0)?,
        (x.narrow(last, half, half)? * 2.0)?,
    );
    // sech(2a) = 2 e^{-2|a|} / (1 + e^{-4|a|}).
    let decay = a2.abs()?.neg()?.exp()?;
    let sech = ((&decay * 2.0)? / (decay.sqr()? + 1.0)?)?;
    let denominator = ((b2.cos()? * &sech)? + 1.0)?;
    let re = (a2.tanh()? / &denominator)?;
    let im = ((b2.sin()? * &sech)? / &denominator)?;
    Ok(Tensor::cat(&[re, im], last)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::values;

    #[test]
    fn analysis_and_synthesis_are_rfft_and_irfft() {
        // x = [1, 2, 0, -1, 3, 1]: rfft by hand at k = 1, 2 (L = 6).
        let x = [1f64, 2., 0., -1., 3., 1.];
        let device = Device::Cpu;
        let a = analysis(6, &[1, 2], &device).unwrap();
        let xt = Tensor::new(&[[1f32, 2., 0., -1., 3., 1.]], &device).unwrap();
        let spectrum = values(&xt.matmul(&a).unwrap());
        for (j, k) in [1usize, 2].iter().enumerate() {
            let (re, im) = x.iter().enumerate().fold((0.0, 0.0), |(re, im), (t, v)| {
                let angle = 2.0 * PI * (k * t) as f64 / 6.0;
                (re + v * angle.cos(), im - v * angle.sin())
            });
            assert!((spectrum[j] as f64 - re).abs() < 1e-5, "{spectrum:?}");
            assert!((spectrum[2 + j] as f64 - im).abs() < 1e-5, "{spectrum:?}");
        }
        // Every frequency of a length-6 sequence (0..=3) reproduces it: irfft(rfft(x)) = x.
        let all = [0usize, 1, 2, 3];
        let round_trip = xt
            .matmul(&analysis(6, &all, &device).unwrap())
            .unwrap()
            .matmul(&synthesis(6, &all, 1.0, &device).unwrap())
            .unwrap();
        for (a, b) in values(&round_trip).iter().zip(x) {
            assert!((*a as f64 - b).abs() < 1e-5, "{round_trip}");
        }
    }

    #[test]
    fn complex_tanh_matches_the_formula_and_stays_finite() {
        let x = Tensor::new(&[[0.3f32, -200.0, 1.2, 0.7]], &Device::Cpu).unwrap();
        let out = values(&complex_tanh(&x).unwrap());
        for (i, (a, b)) in [(0.3f64, 1.2f64), (-200.0, 0.7)].into_iter().enumerate() {
            let denominator = (2.0 * a).cosh() + (2.0 * b).cos();
            let (re, im) = if a.abs() > 50.0 {
                (a.signum(), 0.0)
            } else {
                (
                    (2.0 * a).sinh() / denominator,
                    (2.0 * b).sin() / denominator,
                )
            };
            assert!((out[i] as f64 - re).abs() < 1e-5, "{out:?}");
            assert!((out[2 + i] as f64 - im).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn random_modes_follow_numpys_shuffle_and_lowest_modes_are_the_first() {
        let mut numpy = NumpyRandomState::new(1);
        // np.random.seed(1); i = list(range(12)); np.random.shuffle(i); sorted(i[:4]).
        let random = frequency_modes(24, 4, ModeSelection::Random, &mut numpy);
        assert_eq!(random, NUMPY_SEED_1_FIRST_4_OF_12);
        let lowest = frequency_modes(24, 64, ModeSelection::Lowest, &mut numpy);
        assert_eq!(lowest, (0..12).collect::<Vec<_>>());
    }

    /// `[B, L, 16]` inputs `f(0.3 (7 b + 3 t + c) + phase)`.
    fn grid(batch: usize, steps: usize, phase: f64, f: fn(f64) -> f64) -> Tensor {
        let values: Vec<f32> = (0..batch * steps * 16)
            .map(|i| {
                let (b, t, c) = (i / (steps * 16), i / 16 % steps, i % 16);
                f(0.3 * (7 * b + 3 * t + c) as f64 + phase) as f32
            })
            .collect();
        Tensor::from_vec(values, (batch, steps, 16), &Device::Cpu).unwrap()
    }

    /// The first three features of every token of `ours` within `1e-4` of the largest value
    /// of `theirs` (`largest`).
    fn assert_matches(ours: &Tensor, theirs: &[f64], largest: f64) {
        let ours = values(&ours.narrow(2, 0, 3).unwrap());
        assert_eq!(ours.len(), theirs.len());
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (*a as f64 - b).abs() < 1e-4 * largest,
                "value {i}: ours {a:e}, NeuralForecast {b:e}"
            );
        }
    }

    #[test]
    fn the_blocks_compute_what_neuralforecasts_modules_compute() {
        // NeuralForecast 3.3's AutoCorrelationLayer around FourierBlock(16, 16, 8, modes=3,
        // 'lowest') after torch.manual_seed(3), and around FourierCrossAttention(16, 16, 8, 10,
        // modes=3) after torch.manual_seed(4) with index_q = [0, 2, 3] and index_kv = [1, 2, 4];
        // the blocks' outputs before the output projection, features 0..3 of each token.
        let device = Device::Cpu;
        let x = grid(2, 8, 0.0, f64::sin);
        let memory = grid(2, 10, 0.5, f64::cos);
        let mut store = ParamStore::new(3, &device);
        let weights = ModeWeights::new(&mut store, "block", 16, 3).unwrap();
        let block = FourierBlock::new(&mut store, "block", 16, weights, &[0, 1, 2], 8).unwrap();
        let q = block.projections.project_query(&x).unwrap();
        assert_matches(&block.filter(&q).unwrap(), &BLOCK, 0.0043);

        let mut store = ParamStore::new(4, &device);
        let weights = ModeWeights::new(&mut store, "cross", 16, 3).unwrap();
        let cross = FourierCrossAttention::new(
            &mut store,
            "cross",
            16,
            weights,
            (&[0, 2, 3], 8),
            (&[1, 2, 4], 10),
        )
        .unwrap();
        let q = cross.projections.project_query(&x).unwrap();
        let k = cross.projections.project_key(&memory).unwrap();
        assert_matches(&cross.attend(&q, &k).unwrap(), &CROSS, 7.75e-5);
    }

    #[test]
    fn the_cross_blocks_gradients_are_neuralforecasts() {
        // The cross block of the test above; loss Σ out · cos(0.7 i) over the flattened output;
        // the first 12 gradient values of the queries' input, the keys' input and the complex
        // weights (as `view_as_real`), against PyTorch's autograd.
        let device = Device::Cpu;
        let x = candle_core::Var::from_tensor(&grid(2, 8, 0.0, f64::sin)).unwrap();
        let memory = candle_core::Var::from_tensor(&grid(2, 10, 0.5, f64::cos)).unwrap();
        let mut store = ParamStore::new(4, &device);
        let weights = ModeWeights::new(&mut store, "cross", 16, 3).unwrap();
        let weight_values = weights.weights.clone();
        let cross = FourierCrossAttention::new(
            &mut store,
            "cross",
            16,
            weights,
            (&[0, 2, 3], 8),
            (&[1, 2, 4], 10),
        )
        .unwrap();
        let q = cross.projections.project_query(x.as_tensor()).unwrap();
        let k = cross.projections.project_key(memory.as_tensor()).unwrap();
        let out = cross.attend(&q, &k).unwrap();
        let count = out.elem_count();
        let loss_weights: Vec<f32> = (0..count).map(|i| (i as f32 * 0.7).cos()).collect();
        let loss_weights = Tensor::from_vec(loss_weights, out.shape(), &device).unwrap();
        let grads = (out * loss_weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let first = |t: &Tensor, theirs: &[f64], largest: f64| {
            let ours = values(grads.get(t).unwrap());
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                assert!(
                    (*a as f64 - b).abs() < 1e-3 * largest,
                    "gradient {i}: ours {a:e}, PyTorch {b:e}"
                );
            }
        };
        first(x.as_tensor(), &CROSS_GRAD_X, 9.37e-5);
        first(memory.as_tensor(), &CROSS_GRAD_MEMORY, 2.18e-5);
        first(&weight_values, &CROSS_GRAD_WEIGHTS, 6.76e-3);
    }

    const CROSS_GRAD_X: [f64; 12] = [
        1.847771e-05,
        1.074942e-05,
        1.646602e-05,
        1.378432e-06,
        6.957192e-06,
        2.709861e-05,
        -3.064747e-05,
        -2.905207e-05,
        -1.632869e-05,
        -6.579835e-06,
        3.677323e-06,
        2.938245e-05,
    ];

    const CROSS_GRAD_MEMORY: [f64; 12] = [
        -3.191037e-06,
        -7.032293e-06,
        6.599137e-07,
        6.001297e-06,
        -1.255749e-06,
        -3.922602e-06,
        1.035165e-06,
        6.527927e-07,
        1.672779e-06,
        -2.713543e-06,
        -2.850729e-06,
        -3.155185e-06,
    ];

    const CROSS_GRAD_WEIGHTS: [f64; 12] = [
        -5.464267e-05,
        4.962994e-04,
        -1.771450e-03,
        7.356414e-04,
        -4.450017e-04,
        2.036350e-05,
        7.195401e-04,
        9.083073e-06,
        -3.176163e-04,
        1.391392e-03,
        -9.006444e-05,
        2.680965e-04,
    ];

    const BLOCK: [f64; 48] = [
        1.761809e-04,
        5.915427e-05,
        -3.559750e-04,
        -7.699260e-04,
        -1.722132e-03,
        -1.656145e-03,
        -1.069839e-03,
        8.244207e-04,
        1.839049e-03,
        -1.487340e-03,
        -1.464477e-03,
        -8.227759e-04,
        1.948240e-03,
        2.463204e-03,
        1.634180e-03,
        2.268353e-04,
        -1.839499e-04,
        -1.062680e-03,
        1.250558e-03,
        8.805611e-04,
        2.931508e-04,
        -2.862680e-03,
        -1.363470e-03,
        4.666048e-04,
        -5.422687e-04,
        -3.599533e-04,
        -7.554008e-05,
        -1.851025e-04,
        1.457840e-03,
        2.662201e-03,
        1.652787e-03,
        4.310365e-04,
        -1.410523e-03,
        -2.193479e-04,
        4.665724e-04,
        6.711752e-04,
        2.648814e-04,
        -1.797662e-03,
        -3.003984e-03,
        -8.384287e-04,
        -1.266426e-03,
        -1.130192e-03,
        5.645525e-04,
        4.234645e-04,
        7.602965e-04,
        8.862768e-04,
        1.251328e-03,
        3.083646e-04,
    ];

    const CROSS: [f64; 48] = [
        3.281553e-06,
        1.409932e-05,
        2.672153e-06,
        -1.497798e-05,
        1.985595e-05,
        3.136752e-05,
        -2.537210e-05,
        1.791953e-05,
        -8.212266e-06,
        -7.803254e-06,
        5.452386e-06,
        7.272035e-06,
        1.389783e-06,
        1.212981e-06,
        2.433835e-06,
        5.192819e-06,
        1.946085e-06,
        -1.388498e-06,
        2.741882e-05,
        -2.326390e-06,
        -1.352910e-05,
        2.575547e-06,
        -2.349443e-07,
        8.444105e-06,
        7.319510e-06,
        8.226440e-06,
        -2.083707e-05,
        -5.313339e-05,
        3.141901e-05,
        3.944877e-05,
        1.596568e-05,
        7.162277e-06,
        -2.727737e-05,
        -1.850022e-06,
        1.614818e-06,
        -2.521594e-06,
        -4.740234e-06,
        -2.735064e-06,
        -2.503114e-06,
        1.513476e-06,
        3.652132e-06,
        -4.640270e-06,
        1.781497e-05,
        8.661351e-06,
        3.706311e-06,
        2.106295e-05,
        3.279157e-05,
        -3.561056e-05,
    ];

    /// `np.random.seed(1); i = list(range(12)); np.random.shuffle(i); sorted(i[:4])`.
    const NUMPY_SEED_1_FIRST_4_OF_12: [usize; 4] = [2, 3, 4, 10];
}
