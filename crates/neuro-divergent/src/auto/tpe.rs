//! The Tree-structured Parzen Estimator (Bergstra et al., 2011) with Optuna's default settings
//! for its `TPESampler`: the first 10 trials drawn at random, then each hyperparameter chosen on
//! its own (univariate) as the best of 24 candidates drawn from the density of the best
//! `γ(n) = min(⌈0.1 n⌉, 25)` trials, scored by the ratio of that density to the density of the
//! others. Densities are mixtures of truncated normals (numbers, on the domain's sampling scale)
//! or of smoothed one-hot distributions (choices), each with a prior component of weight 1;
//! widths follow the neighbouring observations, clipped to `[range / min(100, n + 2), range]`.
//! Observations are weighted equally up to 25 trials; beyond that the older ones below the
//! newest 25 ramp from `1/n` to 1.

use rand::{Rng, RngCore};
use rand_distr::{Distribution, Normal};

use super::space::{Coordinate, Domain, SearchSpace, TrialConfig};

/// Trials drawn at random before the estimator takes over (Optuna's `n_startup_trials`).
pub const STARTUP_TRIALS: usize = 10;
/// Candidates scored for each hyperparameter (Optuna's `n_ei_candidates`).
const CANDIDATES: usize = 24;
/// Weight of each density's prior component (Optuna's `prior_weight`).
const PRIOR_WEIGHT: f64 = 1.0;
/// Observations weighted fully (Optuna's `default_weights`).
const FLAT_WEIGHTS: usize = 25;

/// A finished trial as the estimator sees it: its configuration and when it ran.
pub struct Observation<'a> {
    /// The trial's number (order of start), which sets its weight.
    pub number: usize,
    /// Its configuration.
    pub config: &'a TrialConfig,
}

/// The next configuration to try, given the finished trials ranked best first (trials that were
/// stopped early after the completed ones). With fewer than [`STARTUP_TRIALS`] of them it is
/// drawn uniformly.
pub fn suggest(
    space: &SearchSpace,
    ranked: &[Observation<'_>],
    rng: &mut dyn RngCore,
) -> TrialConfig {
    if ranked.len() < STARTUP_TRIALS {
        return space.sample(rng);
    }
    let n_good = ranked.len().div_ceil(10).min(25);
    let (good, bad) = ranked.split_at(n_good);
    space
        .domains()
        .map(|(key, domain)| {
            let value = match domain {
                Domain::Fixed(v) => v.clone(),
                Domain::Choice(values) => {
                    let l = CategoricalDensity::new(domain, key, good);
                    let g = CategoricalDensity::new(domain, key, bad);
                    values[best_candidate(&l, &g, rng)].clone()
                }
                _ => {
                    let interval = domain.interval().expect("numeric domain");
                    let l = ParzenDensity::new(interval, key, domain, good);
                    let g = ParzenDensity::new(interval, key, domain, bad);
                    domain.value_at(best_candidate(&l, &g, rng))
                }
            };
            (key.to_string(), value)
        })
        .collect()
}

/// A density over one hyperparameter's sampling scale.
trait Density {
    /// A point of the scale: a choice's index, or a coordinate.
    type Point: Copy;
    /// One draw.
    fn sample(&self, rng: &mut dyn RngCore) -> Self::Point;
    /// The log density at `point`.
    fn log_pdf(&self, point: Self::Point) -> f64;
}

/// Of [`CANDIDATES`] draws from the good trials' density `l`, the one with the largest
/// `log l - log g` (`g`: the other trials' density).
fn best_candidate<D: Density>(l: &D, g: &D, rng: &mut dyn RngCore) -> D::Point {
    let score = |x: D::Point| l.log_pdf(x) - g.log_pdf(x);
    (0..CANDIDATES)
        .map(|_| l.sample(rng))
        .max_by(|a, b| score(*a).total_cmp(&score(*b)))
        .expect("candidates")
}

/// Optuna's weights of `n` observations in trial order: flat up to 25, then a ramp.
fn observation_weights(observations: &[Observation<'_>]) -> Vec<f64> {
    let n = observations.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| observations[i].number);
    let mut weights = vec![1.0; n];
    if n > FLAT_WEIGHTS {
        let ramped = n - FLAT_WEIGHTS;
        for (rank, &i) in order.iter().take(ramped).enumerate() {
            let step = if ramped > 1 {
                (1.0 - 1.0 / n as f64) / (ramped - 1) as f64
            } else {
                0.0
            };
            weights[i] = 1.0 / n as f64 + step * rank as f64;
        }
    }
    weights
}

/// A mixture of normals truncated to an interval, with a prior component at its middle.
struct ParzenDensity {
    low: f64,
    high: f64,
    /// `(weight, mean, width)`, weights summing to 1.
    components: Vec<(f64, f64, f64)>,
}

impl ParzenDensity {
    fn new(
        (low, high): (f64, f64),
        key: &str,
        domain: &Domain,
        observations: &[Observation<'_>],
    ) -> ParzenDensity {
        let weights = observation_weights(observations);
        let mut points: Vec<(f64, f64)> = observations
            .iter()
            .zip(&weights)
            .filter_map(|(o, &w)| match domain.coordinate(o.config.get(key)?) {
                Some(Coordinate::Number(x)) => Some((x.clamp(low, high), w)),
                _ => None,
            })
            .collect();
        let range = (high - low).max(f64::MIN_POSITIVE);
        let prior = ((low + high) / 2.0, PRIOR_WEIGHT);
        points.push(prior);
        // Widths: the larger gap to a neighbour among the sorted means (the end points use
        // their single gap), clipped.
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
        let sorted: Vec<f64> = order.iter().map(|&i| points[i].0).collect();
        // Optuna's magic clip: the range over the kernels (the prior's included) plus one.
        let min_width = range / ((points.len() + 1) as f64).min(100.0);
        let mut widths = vec![range; points.len()];
        for (rank, &i) in order.iter().enumerate() {
            let left = (rank > 0).then(|| sorted[rank] - sorted[rank - 1]);
            let right = (rank + 1 < sorted.len()).then(|| sorted[rank + 1] - sorted[rank]);
            let gap = match (left, right) {
                (Some(l), Some(r)) => l.max(r),
                (Some(g), None) | (None, Some(g)) => g,
                (None, None) => range,
            };
            widths[i] = gap.clamp(min_width, range);
        }
        // The prior keeps the whole range as its width.
        *widths.last_mut().expect("prior") = range;
        let total: f64 = points.iter().map(|p| p.1).sum();
        ParzenDensity {
            low,
            high,
            components: points
                .iter()
                .zip(widths)
                .map(|(&(mean, w), width)| (w / total, mean, width))
                .collect(),
        }
    }
}

impl Density for ParzenDensity {
    type Point = f64;

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let mut pick = rng.random::<f64>();
        let &(_, mean, width) = self
            .components
            .iter()
            .find(|c| {
                pick -= c.0;
                pick < 0.0
            })
            .unwrap_or_else(|| self.components.last().expect("prior"));
        let normal = Normal::new(mean, width).expect("positive width");
        // Truncated by redrawing; a component far outside gives up after a few tries.
        for _ in 0..64 {
            let x = normal.sample(rng);
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        mean.clamp(self.low, self.high)
    }

    fn log_pdf(&self, x: f64) -> f64 {
        let terms: Vec<f64> = self
            .components
            .iter()
            .map(|&(w, mean, width)| {
                let mass =
                    normal_cdf((self.high - mean) / width) - normal_cdf((self.low - mean) / width);
                let z = (x - mean) / width;
                w.ln()
                    - 0.5 * z * z
                    - width.ln()
                    - 0.5 * std::f64::consts::TAU.ln()
                    - mass.max(1e-300).ln()
            })
            .collect();
        log_sum_exp(&terms)
    }
}

/// A mixture of one-hot distributions smoothed by the prior, with a uniform prior component.
struct CategoricalDensity {
    probabilities: Vec<f64>,
}

impl CategoricalDensity {
    fn new(domain: &Domain, key: &str, observations: &[Observation<'_>]) -> CategoricalDensity {
        let Domain::Choice(values) = domain else {
            unreachable!("categorical densities are built for choices")
        };
        let weights = observation_weights(observations);
        let k = values.len() as f64;
        let chosen: Vec<(usize, f64)> = observations
            .iter()
            .zip(weights)
            .filter_map(
                |(o, w)| match o.config.get(key).and_then(|v| domain.coordinate(v)) {
                    Some(Coordinate::Category(c)) => Some((c, w)),
                    _ => None,
                },
            )
            .collect();
        // Each kernel: `prior / kernels` on every choice plus 1 on its own, normalised; the
        // prior kernel is uniform. Kernels weigh as their observations, the prior as its weight.
        let kernels = (chosen.len() + 1) as f64;
        let fill = PRIOR_WEIGHT / kernels;
        let total = PRIOR_WEIGHT + chosen.iter().map(|c| c.1).sum::<f64>();
        let mut probabilities = vec![PRIOR_WEIGHT / total / k; values.len()];
        for &(c, w) in &chosen {
            let row_sum = fill * k + 1.0;
            for (i, p) in probabilities.iter_mut().enumerate() {
                let own = if i == c { 1.0 } else { 0.0 };
                *p += w / total * (fill + own) / row_sum;
            }
        }
        CategoricalDensity { probabilities }
    }
}

impl Density for CategoricalDensity {
    type Point = usize;

    fn sample(&self, rng: &mut dyn RngCore) -> usize {
        let mut pick = rng.random::<f64>();
        self.probabilities
            .iter()
            .position(|p| {
                pick -= p;
                pick < 0.0
            })
            .unwrap_or(self.probabilities.len() - 1)
    }

    fn log_pdf(&self, c: usize) -> f64 {
        self.probabilities[c].max(1e-300).ln()
    }
}

/// The standard normal distribution function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    /// A toy objective with its minimum 0 at learning rate 10^-2.5, width 0.3 and choice "b".
    fn objective(c: &TrialConfig) -> f64 {
        let lr = c["lr"].as_f64().unwrap().log10();
        let width = c["width"].as_f64().unwrap();
        let penalty = if c["kind"] == json!("b") { 0.0 } else { 1.0 };
        (lr + 2.5).powi(2) + 4.0 * (width - 0.3).powi(2) + penalty
    }

    fn best_after(trials: usize, seed: u64, tpe: bool) -> f64 {
        let space = SearchSpace::from_json(&json!({
            "lr": {"loguniform": [0.0001, 0.1]},
            "width": {"uniform": [0.0, 1.0]},
            "kind": {"choice": ["a", "b", "c", "d"]},
        }))
        .unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut history: Vec<(usize, TrialConfig, f64)> = Vec::new();
        for number in 0..trials {
            history.sort_by(|a, b| a.2.total_cmp(&b.2));
            let ranked: Vec<Observation<'_>> = history
                .iter()
                .map(|(n, c, _)| Observation {
                    number: *n,
                    config: c,
                })
                .collect();
            let config = if tpe {
                suggest(&space, &ranked, &mut rng)
            } else {
                space.sample(&mut rng)
            };
            let score = objective(&config);
            history.push((number, config, score));
        }
        history.iter().map(|h| h.2).fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn tpe_finds_a_known_optimum_faster_than_random_search() {
        let seeds = 1..=20;
        let mean = |tpe: bool| seeds.clone().map(|s| best_after(40, s, tpe)).sum::<f64>() / 20.0;
        let (tpe, random) = (mean(true), mean(false));
        assert!(tpe < 0.6 * random, "TPE {tpe:.4}, random {random:.4}");
    }

    #[test]
    fn the_first_ten_trials_are_uniform_draws() {
        let space = SearchSpace::from_json(&json!({"x": {"uniform": [0.0, 1.0]}})).unwrap();
        let mut a = StdRng::seed_from_u64(5);
        let mut b = StdRng::seed_from_u64(5);
        assert_eq!(suggest(&space, &[], &mut a), space.sample(&mut b));
    }

    #[test]
    fn densities_integrate_to_one_over_the_interval() {
        let configs: Vec<TrialConfig> = [0.1, 0.15, 0.7]
            .iter()
            .map(|x| [("x".to_string(), json!(x))].into_iter().collect())
            .collect();
        let observations: Vec<Observation<'_>> = configs
            .iter()
            .enumerate()
            .map(|(number, config)| Observation { number, config })
            .collect();
        let domain = Domain::Real {
            lower: 0.0,
            upper: 1.0,
            log: false,
            step: None,
        };
        let density = ParzenDensity::new((0.0, 1.0), "x", &domain, &observations);
        let n = 20_000;
        let integral: f64 = (0..n)
            .map(|i| density.log_pdf((i as f64 + 0.5) / n as f64).exp() / n as f64)
            .sum();
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
        assert!(density.log_pdf(0.12) > density.log_pdf(0.45));
    }
}
