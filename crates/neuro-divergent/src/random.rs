//! A random stream that draws what PyTorch's CPU generator draws for the same seed.
//!
//! NeuralForecast seeds PyTorch with `random_seed`, initialises its layers from that stream and,
//! on every fit, re-seeds it and draws its training windows from it. [`TorchGenerator`]
//! reproduces that stream: a 32-bit Mersenne Twister (MT19937, seeded with the low 32 bits of
//! the seed) and PyTorch's transforms from raw 32-bit draws to uniform floats, bounded integers
//! and permutations. Initialising parameters and sampling windows from it makes a model start
//! from the weights NeuralForecast's starts from, and train on the same windows, for the same
//! `random_seed`, so that results can be compared seed for seed.

/// Words of MT19937 state.
const STATE_WORDS: usize = 624;
/// Offset of the word mixed into each twisted word.
const SHIFT: usize = 397;
/// Coefficients of the twist matrix.
const MATRIX_A: u32 = 0x9908_b0df;
/// The most significant bit of a word.
const UPPER_MASK: u32 = 0x8000_0000;
/// The 31 low bits of a word.
const LOWER_MASK: u32 = 0x7fff_ffff;
/// Bits of randomness in an `f32` draw (its mantissa width).
const F32_DIGITS: u32 = 24;

/// PyTorch's CPU random stream (see the module documentation).
#[derive(Clone)]
pub struct TorchGenerator {
    state: Box<[u32; STATE_WORDS]>,
    next: usize,
    /// The second value of the last Box-Muller pair of a small `randn` (PyTorch keeps it in the
    /// generator for the next normal draw).
    cached_normal: Option<f64>,
}

impl std::fmt::Debug for TorchGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorchGenerator")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl TorchGenerator {
    /// The stream `torch.manual_seed(seed)` starts.
    pub fn new(seed: u64) -> TorchGenerator {
        let mut state = Box::new([0u32; STATE_WORDS]);
        state[0] = seed as u32;
        for i in 1..STATE_WORDS {
            let previous = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        TorchGenerator {
            state,
            next: STATE_WORDS,
            cached_normal: None,
        }
    }

    /// The next raw 32-bit draw.
    pub fn next_u32(&mut self) -> u32 {
        if self.next >= STATE_WORDS {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// The next 64-bit draw: two 32-bit draws, the first one high.
    pub fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// A float uniform in `[from, to)`, as `Tensor.uniform_(from, to)` draws each element.
    /// PyTorch's vectorised CPU kernels evaluate `unit * (to - from) + from` with one fused
    /// multiply-add; computing it in `f64` and rounding once gives the same `f32`.
    pub fn uniform(&mut self, from: f32, to: f32) -> f32 {
        let mask = (1u32 << F32_DIGITS) - 1;
        let unit = (self.next_u32() & mask) as f32 / (1u32 << F32_DIGITS) as f32;
        (f64::from(unit) * f64::from(to - from) + f64::from(from)) as f32
    }

    /// `count` standard normal floats, as `torch.randn(count)` draws them on the CPU. From 16
    /// values on: one `f32` uniform per value, then Box-Muller over blocks of 16 (the first 8
    /// values of a block paired with the last 8), the last block redrawn and recomputed when 16
    /// does not divide `count`. Below 16: one `f64` pair per two values, the pair's sine kept
    /// for the next draw.
    pub fn normal(&mut self, count: usize) -> Vec<f32> {
        if count < 16 {
            return (0..count).map(|_| self.scalar_normal() as f32).collect();
        }
        let mut data: Vec<f32> = (0..count).map(|_| self.uniform(0.0, 1.0)).collect();
        for block in data.chunks_exact_mut(16) {
            box_muller_16(block);
        }
        if !count.is_multiple_of(16) {
            let tail = &mut data[count - 16..];
            for value in tail.iter_mut() {
                *value = self.uniform(0.0, 1.0);
            }
            box_muller_16(tail);
        }
        data
    }

    /// One standard normal `f64` as PyTorch's `normal_distribution<double>` draws it.
    fn scalar_normal(&mut self) -> f64 {
        if let Some(cached) = self.cached_normal.take() {
            return cached;
        }
        let unit = |draw: u64| (draw & ((1 << 53) - 1)) as f64 / (1u64 << 53) as f64;
        let u1 = unit(self.next_u64());
        let u2 = unit(self.next_u64());
        let radius = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u1;
        self.cached_normal = Some(radius * theta.sin());
        radius * theta.cos()
    }

    /// An integer uniform in `[0, n)`, as `torch.randint(0, n)` draws each element (a draw
    /// modulo `n`). `n` must be at least 1.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "TorchGenerator::below needs a non-empty range");
        let n = n as u64;
        let draw = if n >= 1 << 32 {
            self.next_u64()
        } else {
            u64::from(self.next_u32())
        };
        (draw % n) as usize
    }

    /// A random permutation of `0..n`, as `torch.randperm(n)` shuffles for `n` below
    /// `u32::MAX / 20` (Fisher-Yates from the front, one draw per position; PyTorch shuffles
    /// larger ranges another way).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in 0..n.saturating_sub(1) {
            let j = i + self.below(n - i);
            order.swap(i, j);
        }
        order
    }

    /// A new generator seeded from this one, as a shuffling PyTorch `DataLoader` seeds the
    /// private generator of each pass (a 63-bit integer draw).
    pub fn fork(&mut self) -> TorchGenerator {
        TorchGenerator::new(self.next_u64() % (1 << 63))
    }

    /// Regenerates the state words after every 624 draws.
    fn twist(&mut self) {
        for i in 0..STATE_WORDS {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % STATE_WORDS] & LOWER_MASK);
            let mut word = self.state[(i + SHIFT) % STATE_WORDS] ^ (y >> 1);
            if y & 1 != 0 {
                word ^= MATRIX_A;
            }
            self.state[i] = word;
        }
        self.next = 0;
    }
}

/// NumPy's legacy global random stream (`np.random.seed(seed)`, then `np.random.shuffle`), which
/// NeuralForecast seeds with `random_seed` and FEDformer draws its frequency modes from. Its
/// integer seeding and raw draws are MT19937's, the same as PyTorch's ([`TorchGenerator`]).
#[derive(Debug, Clone)]
pub struct NumpyRandomState {
    mt: TorchGenerator,
}

impl NumpyRandomState {
    /// The stream `np.random.seed(seed)` starts (the low 32 bits of `seed`).
    pub fn new(seed: u64) -> NumpyRandomState {
        NumpyRandomState {
            mt: TorchGenerator::new(seed),
        }
    }

    /// Shuffles `items` as `np.random.shuffle` does: from the back, position `i` swapped with
    /// one drawn in `0..=i`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.interval(i as u32) as usize;
            items.swap(i, j);
        }
    }

    /// An integer uniform in `0..=max`, as NumPy's `random_interval` draws it: raw draws masked
    /// to the smallest all-ones mask covering `max`, redrawn until at most `max`.
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let value = self.mt.next_u32() & mask;
            if value <= max {
                return value;
            }
        }
    }
}

/// Turns 16 uniforms in `[0, 1)` into 16 standard normals in place: value `j` and `j + 8` from
/// the pair `(1 - u[j], u[j + 8])`, in `f32` as PyTorch computes them.
fn box_muller_16(block: &mut [f32]) {
    for j in 0..8 {
        let u1 = 1.0 - block[j];
        let u2 = block[j + 8];
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f32::consts::PI * u2;
        block[j] = radius * theta.cos();
        block[j + 8] = radius * theta.sin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_shuffles_like_numpy() {
        // np.random.seed(1); i = list(range(12)); np.random.shuffle(i); i
        let mut numpy = NumpyRandomState::new(1);
        let mut items: Vec<usize> = (0..12).collect();
        numpy.shuffle(&mut items);
        assert_eq!(items, [2, 3, 4, 10, 1, 6, 0, 7, 11, 9, 8, 5]);
    }

    #[test]
    fn raw_draws_follow_the_reference_mersenne_twister() {
        // The reference implementation's 10000th output for the default seed 5489.
        let mut rng = TorchGenerator::new(5489);
        let last = (0..10_000).map(|_| rng.next_u32()).last().unwrap();
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn uniform_draws_match_torch() {
        // torch.manual_seed(1); torch.empty(5).uniform_(-b, b) with b = 1/sqrt(24).
        let bound = (1.0 / 24f64.sqrt()) as f32;
        let mut rng = TorchGenerator::new(1);
        let drawn: Vec<f32> = (0..5).map(|_| rng.uniform(-bound, bound)).collect();
        let torch = [
            0.105_177_663_266_658_78,
            -0.090_095_959_603_786_47,
            -0.039_571_810_513_734_82,
            0.095_809_534_192_085_27,
            -0.192_170_009_016_990_66,
        ];
        assert_eq!(drawn, torch.map(|v: f64| v as f32));
    }

    #[test]
    fn permutations_and_forks_match_torch() {
        // g = torch.Generator(); g.manual_seed(12345); torch.randperm(10, generator=g)
        let mut rng = TorchGenerator::new(12_345);
        assert_eq!(rng.permutation(10), [0, 7, 1, 6, 4, 2, 8, 9, 5, 3]);
        // torch.manual_seed(1); torch.empty((), dtype=torch.int64).random_()
        let mut rng = TorchGenerator::new(1);
        assert_eq!(rng.next_u64() % (1 << 63), 7_692_698_082_559_361_259);
        let mut rng = TorchGenerator::new(1);
        let mut expected = TorchGenerator::new(7_692_698_082_559_361_259);
        assert_eq!(rng.fork().next_u32(), expected.next_u32());
    }

    #[test]
    fn normal_draws_match_torch() {
        // torch.manual_seed(7); torch.randn(5); torch.randn(20); torch.randn(3); torch.randn(16)
        let mut rng = TorchGenerator::new(7);
        let torch: [&[f64]; 4] = [
            &[
                -0.146_795_09,
                0.786_141_28,
                0.946_821_63,
                -1.114_344,
                1.690_790_2,
            ],
            &[
                0.609_473_47,
                -0.581_133_78,
                0.049_043_868,
                -0.320_476_92,
                -0.083_528_228,
                -0.023_477_932,
                0.174_375_36,
                2.298_342_7,
                0.957_102_18,
                -0.661_867_56,
                -0.828_452_05,
                -0.605_680_29,
                -1.401_250_8,
                1.297_335_9,
                1.640_933_3,
                -1.056_684_1,
                -0.261_586_73,
                -0.250_132_62,
                0.501_121_46,
                0.260_036_2,
            ],
            &[-0.894_827_9, 1.279_878_1, -0.994_066_24],
            &[
                -2.966_169_8,
                -1.060_555,
                -0.308_996_29,
                0.934_288_2,
                -0.382_115_93,
                -1.166_894_1,
                0.363_575_85,
                -0.315_641_1,
                1.145_007_5,
                -0.382_184_33,
                -0.355_266_03,
                0.754_192_53,
                0.690_124_39,
                -0.144_261_84,
                1.612_046_7,
                1.567_123_8,
            ],
        ];
        for expected in torch {
            let drawn = rng.normal(expected.len());
            for (got, want) in drawn.iter().zip(expected) {
                assert!(
                    (f64::from(*got) - want).abs() < 1e-6,
                    "{drawn:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = TorchGenerator::new(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        let mut order = rng.permutation(50);
        order.sort_unstable();
        assert_eq!(order, (0..50).collect::<Vec<_>>());
    }
}
