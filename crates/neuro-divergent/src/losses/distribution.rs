//! Distribution losses (NeuralForecast's `DistributionLoss`): the model emits the parameters of
//! a distribution per step, trained by its negative log-likelihood on the data's own scale, and
//! forecasts come from samples: their mean, median and the quantiles of each interval level.
//!
//! The parameters are scale-aware as in NeuralForecast: raw outputs are mapped to their domain
//! and then moved by each window's scaler shift and scale.
//!
//! | family | outputs | parameters |
//! |---|---|---|
//! | Normal | 2 | `μ = a·scale + shift`, `σ = (softplus(b) + 0.2)·scale` |
//! | StudentT | 3 | `ν = 3 + softplus(a)`, `μ = b·scale + shift`, `s = (softplus(c) + 0.1)·scale` |
//!
//! The spread's floor (NeuralForecast's `eps`: 0.2 for Normal, 0.1 for StudentT) keeps the
//! distribution at least that many window scales wide. Where a scaler's scale is large beside
//! the errors of a regular series it holds intervals wider than the errors, so the loss takes
//! another (`floor=F` in its text).
//! | Poisson | 1 | `λ = softplus(a·scale + shift) + 1e-10` |
//! | NegativeBinomial | 2 | `μ = (softplus(a) + 1e-8)·scale + shift`, `α = (softplus(b) + 1e-8) / (scale + 1)`, `r = 1/α`, `p = μα / (1 + μα)` |

use std::f64::consts::PI;

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand_distr::{Distribution as _, Gamma, Normal, Poisson, StudentT};

use super::{weighted_mean, QuantileSet};
use crate::error::{Error, Result};
use crate::nn::{ln_gamma_tensor, softplus};
use crate::windows::WindowScale;

/// A distribution family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Gaussian.
    Normal,
    /// Student's t with learned degrees of freedom.
    StudentT,
    /// Poisson counts.
    Poisson,
    /// Negative binomial counts.
    NegativeBinomial,
}

impl Family {
    /// Parses `normal`, `studentt` (`student_t`), `poisson`, `negbin` (`negative_binomial`).
    pub fn parse(name: &str) -> Option<Family> {
        match name {
            "normal" => Some(Family::Normal),
            "studentt" | "student_t" => Some(Family::StudentT),
            "poisson" => Some(Family::Poisson),
            "negbin" | "negative_binomial" | "negativebinomial" => Some(Family::NegativeBinomial),
            _ => None,
        }
    }

    /// The name [`Family::parse`] reads back.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Normal => "normal",
            Family::StudentT => "studentt",
            Family::Poisson => "poisson",
            Family::NegativeBinomial => "negbin",
        }
    }

    /// Model outputs per step.
    pub fn n_params(&self) -> usize {
        match self {
            Family::Normal | Family::NegativeBinomial => 2,
            Family::StudentT => 3,
            Family::Poisson => 1,
        }
    }

    /// True for count distributions, whose targets must be non-negative.
    pub fn is_count(&self) -> bool {
        matches!(self, Family::Poisson | Family::NegativeBinomial)
    }
}

/// A distribution loss: the family and the quantiles reported besides the mean.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionLoss {
    /// The distribution family.
    pub family: Family,
    /// Median and interval bounds reported from the samples.
    pub outputs: QuantileSet,
    /// The spread's floor in window scales, for Normal and StudentT (unset: NeuralForecast's).
    pub floor: Option<f64>,
}

impl DistributionLoss {
    /// The loss of `family` reporting `outputs`, with NeuralForecast's spread floor.
    pub fn new(family: Family, outputs: QuantileSet) -> DistributionLoss {
        DistributionLoss {
            family,
            outputs,
            floor: None,
        }
    }

    /// The spread's floor in window scales: the one set, else NeuralForecast's (Normal 0.2,
    /// StudentT 0.1; other families have none).
    pub fn spread_floor(&self) -> f64 {
        self.floor.unwrap_or(match self.family {
            Family::Normal => 0.2,
            Family::StudentT => 0.1,
            Family::Poisson | Family::NegativeBinomial => 0.0,
        })
    }

    /// Column suffixes: the mean (`""`), then the quantile outputs (`-median`, `-lo-90`, ...).
    pub fn suffixes(&self) -> Vec<String> {
        std::iter::once(String::new())
            .chain(self.outputs.suffixes.iter().cloned())
            .collect()
    }

    /// The distribution parameters (each `[B, H]`, on the data's scale) from raw outputs
    /// `[B, H, P]`.
    pub fn params(&self, raw: &Tensor, window: &WindowScale) -> Result<Vec<Tensor>> {
        let (b, h, _) = raw.dims3()?;
        let shift = window.shift.broadcast_as((b, h))?;
        let scale = window.scale.broadcast_as((b, h))?;
        let out = |k: usize| -> Result<Tensor> { Ok(raw.narrow(2, k, 1)?.squeeze(2)?) };
        let located = |x: &Tensor| -> Result<Tensor> { Ok(x.mul(&scale)?.add(&shift)?) };
        let spread =
            |x: &Tensor, floor: f64| -> Result<Tensor> { Ok((softplus(x)? + floor)?.mul(&scale)?) };
        Ok(match self.family {
            Family::Normal => vec![located(&out(0)?)?, spread(&out(1)?, self.spread_floor())?],
            Family::StudentT => vec![
                (softplus(&out(0)?)? + 3.0)?,
                located(&out(1)?)?,
                spread(&out(2)?, self.spread_floor())?,
            ],
            Family::Poisson => vec![(softplus(&located(&out(0)?)?)? + 1e-10)?],
            Family::NegativeBinomial => {
                let mu = located(&(softplus(&out(0)?)? + 1e-8)?)?;
                let alpha = (softplus(&out(1)?)? + 1e-8)?.div(&(scale + 1.0)?)?;
                let total_count = alpha.recip()?;
                let mu_alpha = mu.mul(&alpha)?;
                // Clamped below 1 so that ln(1 - p) stays finite for very large means in f32.
                let probs = (mu_alpha.div(&(&mu_alpha + 1.0)?)? + 1e-8)?.clamp(1e-8, 1.0 - 1e-6)?;
                vec![total_count, probs]
            }
        })
    }

    /// The distribution's mean (`[B, H]`, the data's scale) from raw outputs `[B, H, P]`.
    pub fn mean(&self, raw: &Tensor, window: &WindowScale) -> Result<Tensor> {
        let p = self.params(raw, window)?;
        Ok(match self.family {
            Family::Normal | Family::Poisson => p[0].clone(),
            Family::StudentT => p[1].clone(),
            // r p / (1 - p)
            Family::NegativeBinomial => p[0].mul(&p[1])?.div(&p[1].affine(-1.0, 1.0)?)?,
        })
    }

    /// Mean negative log-likelihood of `y` (the data's scale, `[B, H]`) weighted by `weight`.
    pub fn compute(
        &self,
        y: &Tensor,
        raw: &Tensor,
        weight: &Tensor,
        window: &WindowScale,
    ) -> Result<Tensor> {
        let p = self.params(raw, window)?;
        let nll = match self.family {
            Family::Normal => {
                let z = y.sub(&p[0])?.div(&p[1])?;
                ((p[1].log()? + 0.5 * (2.0 * PI).ln())? + (z.sqr()? * 0.5)?)?
            }
            Family::StudentT => {
                let (df, loc, s) = (&p[0], &p[1], &p[2]);
                let z = y.sub(loc)?.div(s)?;
                let half_next = ((df + 1.0)? * 0.5)?;
                let norm = (ln_gamma_tensor(&(df * 0.5)?)? - ln_gamma_tensor(&half_next)?)?;
                let log_scale = ((df * PI)?.log()? * 0.5)?.add(&s.log()?)?;
                let tail = half_next.mul(&(z.sqr()?.div(df)? + 1.0)?.log()?)?;
                ((norm + log_scale)? + tail)?
            }
            Family::Poisson => {
                let rate = &p[0];
                let counts = counts_ln_factorial(y)?;
                ((rate - y.mul(&rate.log()?)?)? + counts)?
            }
            Family::NegativeBinomial => {
                let (r, probs) = (&p[0], &p[1]);
                let log_p = ln_gamma_tensor(&y.add(r)?)?
                    .sub(&ln_gamma_tensor(r)?)?
                    .sub(&counts_ln_factorial(y)?)?
                    .add(&r.mul(&probs.affine(-1.0, 1.0)?.log()?)?)?
                    .add(&y.mul(&probs.log()?)?)?;
                log_p.neg()?
            }
        };
        // Unobserved points may hold any value: keep them out of the sum entirely.
        let nll = weight.gt(0.0)?.where_cond(&nll, &nll.zeros_like()?)?;
        weighted_mean(&nll, weight)
    }

    /// Forecast columns from raw outputs `[B, H, P]`: the sample mean and the quantiles, each
    /// `B * H` values in window-then-step order.
    pub fn forecast_columns(
        &self,
        raw: &Tensor,
        window: &WindowScale,
        num_samples: usize,
        rng: &mut StdRng,
    ) -> Result<Vec<Vec<f64>>> {
        let params: Vec<Vec<f32>> = self
            .params(raw, window)?
            .into_iter()
            .map(|t| t.flatten_all()?.to_vec1::<f32>())
            .collect::<candle_core::Result<_>>()?;
        let points = params[0].len();
        let mut columns = vec![Vec::with_capacity(points); 1 + self.outputs.quantiles.len()];
        let mut draws = vec![0.0f64; num_samples.max(1)];
        for i in 0..points {
            let args: Vec<f64> = params.iter().map(|p| f64::from(p[i])).collect();
            self.sample(&args, &mut draws, rng)?;
            self.summarize_draws(&mut draws, &mut columns);
        }
        Ok(columns)
    }

    /// One draw per row of raw outputs `[N, 1, P]`, on the data's scale, in row order.
    pub fn draw_once_per_row(
        &self,
        raw: &Tensor,
        window: &WindowScale,
        rng: &mut StdRng,
    ) -> Result<Vec<f64>> {
        let params: Vec<Vec<f32>> = self
            .params(raw, window)?
            .into_iter()
            .map(|t| t.flatten_all()?.to_vec1::<f32>())
            .collect::<candle_core::Result<_>>()?;
        let mut draw = [0.0f64];
        (0..params[0].len())
            .map(|i| {
                let args: Vec<f64> = params.iter().map(|p| f64::from(p[i])).collect();
                self.sample(&args, &mut draw, rng)?;
                Ok(draw[0])
            })
            .collect()
    }

    /// Appends the mean of `draws` to `columns[0]` and their quantiles (this loss's outputs) to
    /// the columns after it; `draws` ends up sorted.
    pub fn summarize_draws(&self, draws: &mut [f64], columns: &mut [Vec<f64>]) {
        columns[0].push(draws.iter().sum::<f64>() / draws.len() as f64);
        draws.sort_by(f64::total_cmp);
        for (column, &q) in columns[1..].iter_mut().zip(&self.outputs.quantiles) {
            column.push(quantile_of_sorted(draws, q));
        }
    }

    /// Fills `draws` with samples of the distribution with parameters `args`.
    fn sample(&self, args: &[f64], draws: &mut [f64], rng: &mut StdRng) -> Result<()> {
        let invalid = |e: &dyn std::fmt::Display| {
            Error::Train(format!(
                "{} forecast: invalid distribution parameters {args:?}: {e}",
                self.family.name()
            ))
        };
        match self.family {
            Family::Normal => {
                let d = Normal::new(args[0], args[1]).map_err(|e| invalid(&e))?;
                draws.iter_mut().for_each(|v| *v = d.sample(rng));
            }
            Family::StudentT => {
                let d = StudentT::new(args[0]).map_err(|e| invalid(&e))?;
                draws
                    .iter_mut()
                    .for_each(|v| *v = args[1] + args[2] * d.sample(rng));
            }
            Family::Poisson => {
                let d = Poisson::new(args[0]).map_err(|e| invalid(&e))?;
                draws.iter_mut().for_each(|v| *v = d.sample(rng));
            }
            Family::NegativeBinomial => {
                // A gamma-mixed Poisson: rate ~ Gamma(r, p / (1 - p)).
                let (r, p) = (args[0], args[1].min(1.0 - 1e-7));
                let gamma = Gamma::new(r, p / (1.0 - p)).map_err(|e| invalid(&e))?;
                for v in draws.iter_mut() {
                    let rate: f64 = gamma.sample(rng);
                    *v = if rate > 0.0 {
                        Poisson::new(rate).map_err(|e| invalid(&e))?.sample(rng)
                    } else {
                        0.0
                    };
                }
            }
        }
        Ok(())
    }
}

/// `ln(y!)` of (non-negative) targets, a constant of the likelihood.
fn counts_ln_factorial(y: &Tensor) -> Result<Tensor> {
    Ok(ln_gamma_tensor(&(y.detach() + 1.0)?)?.detach())
}

/// The `q` quantile of sorted values, linearly interpolated (as `torch.quantile`).
fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = (low + 1).min(sorted.len() - 1);
    let w = position - low as f64;
    sorted[low] * (1.0 - w) + sorted[high] * w
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::SeedableRng;

    fn loss(family: Family) -> DistributionLoss {
        DistributionLoss::new(family, QuantileSet::from_levels(&[80.0]).unwrap())
    }

    fn identity(b: usize) -> WindowScale {
        WindowScale {
            shift: Tensor::zeros((b, 1), candle_core::DType::F32, &Device::Cpu).unwrap(),
            scale: Tensor::ones((b, 1), candle_core::DType::F32, &Device::Cpu).unwrap(),
        }
    }

    fn scalar(t: Tensor) -> f64 {
        f64::from(t.to_scalar::<f32>().unwrap())
    }

    /// softplus⁻¹(v) = ln(eᵛ - 1)
    fn inv_softplus(v: f64) -> f32 {
        (v.exp() - 1.0).ln() as f32
    }

    #[test]
    fn likelihoods_match_closed_forms() {
        let dev = Device::Cpu;
        let y = Tensor::new(&[[2.0f32]], &dev).unwrap();
        let w = Tensor::new(&[[1.0f32]], &dev).unwrap();
        // Normal(1, 0.2 + 0.8 = 1): nll(2) = 0.5 ln 2π + 0.5
        let raw = Tensor::new(&[[[1.0f32, inv_softplus(0.8)]]], &dev).unwrap();
        let nll = scalar(
            loss(Family::Normal)
                .compute(&y, &raw, &w, &identity(1))
                .unwrap(),
        );
        assert!((nll - (0.5 * (2.0 * PI).ln() + 0.5)).abs() < 1e-5, "{nll}");
        // StudentT(ν = 4, μ = 2, s = 1) at its centre: -ln Γ(2.5) + ln Γ(2) + 0.5 ln 4π
        let raw = Tensor::new(&[[[inv_softplus(1.0), 2.0, inv_softplus(0.9)]]], &dev).unwrap();
        let nll = scalar(
            loss(Family::StudentT)
                .compute(&y, &raw, &w, &identity(1))
                .unwrap(),
        );
        let expected = -crate::nn::ln_gamma(2.5) + 0.5 * (4.0 * PI).ln();
        assert!((nll - expected).abs() < 1e-4, "{nll} vs {expected}");
        // Poisson(λ = 3) at 2: 3 - 2 ln 3 + ln 2
        let raw = Tensor::new(&[[[(3f64.exp() - 1.0).ln() as f32]]], &dev).unwrap();
        let nll = scalar(
            loss(Family::Poisson)
                .compute(&y, &raw, &w, &identity(1))
                .unwrap(),
        );
        assert!(
            (nll - (3.0 - 2.0 * 3f64.ln() + 2f64.ln())).abs() < 1e-4,
            "{nll}"
        );
        // NegBin(μ = 2, α = 0.5 / 2 = 0.25 → r = 4, p = 1/3): ln Γ(6) - ln Γ(4) - ln 2 + 4 ln(2/3) + 2 ln(1/3)
        let raw = Tensor::new(&[[[inv_softplus(2.0), inv_softplus(0.5)]]], &dev).unwrap();
        let nll = scalar(
            loss(Family::NegativeBinomial)
                .compute(&y, &raw, &w, &identity(1))
                .unwrap(),
        );
        let log_p = 120f64.ln() - 6f64.ln() - 2f64.ln()
            + 4.0 * (2.0f64 / 3.0).ln()
            + 2.0 * (1.0f64 / 3.0).ln();
        assert!((nll + log_p).abs() < 1e-3, "{nll} vs {}", -log_p);
    }

    #[test]
    fn scale_moves_the_distribution_and_samples_are_seeded() {
        let dev = Device::Cpu;
        let raw = Tensor::new(&[[[0.0f32, inv_softplus(0.8)]]], &dev).unwrap();
        let window = WindowScale {
            shift: Tensor::new(&[[100.0f32]], &dev).unwrap(),
            scale: Tensor::new(&[[10.0f32]], &dev).unwrap(),
        };
        let normal = loss(Family::Normal);
        let params = normal.params(&raw, &window).unwrap();
        assert_eq!(
            params[0].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [100.0]
        );
        let sigma = params[1].flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((sigma - 10.0).abs() < 1e-4);
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            normal
                .forecast_columns(&raw, &window, 4000, &mut rng)
                .unwrap()
        };
        let columns = draw(7);
        assert_eq!(columns, draw(7));
        assert_eq!(columns.len(), 4); // mean, median, lo-80, hi-80
        assert!((columns[0][0] - 100.0).abs() < 0.6, "{columns:?}");
        // The 10% and 90% quantiles of N(100, 10) are 100 ∓ 12.8.
        assert!((columns[2][0] - 87.18).abs() < 1.0, "{columns:?}");
        assert!((columns[3][0] - 112.82).abs() < 1.0, "{columns:?}");
        assert!(columns[2][0] < columns[1][0] && columns[1][0] < columns[3][0]);
        assert_eq!(normal.suffixes(), ["", "-median", "-lo-80", "-hi-80"]);
    }

    #[test]
    fn the_spread_floor_is_neuralforecasts_unless_set() {
        let dev = Device::Cpu;
        let window = WindowScale {
            shift: Tensor::new(&[[0.0f32]], &dev).unwrap(),
            scale: Tensor::new(&[[10.0f32]], &dev).unwrap(),
        };
        // Raw spread outputs far below zero: softplus is ~0, so the spread is the floor times
        // the window's scale (10).
        let spread = |loss: &DistributionLoss, raw: &[f32]| {
            let raw = Tensor::new(raw, &dev)
                .unwrap()
                .reshape((1, 1, raw.len()))
                .unwrap();
            let params = loss.params(&raw, &window).unwrap();
            params
                .last()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()[0]
        };
        let mut student = loss(Family::StudentT);
        assert!((spread(&student, &[0.0, 0.0, -30.0]) - 1.0).abs() < 1e-5);
        student.floor = Some(0.01);
        assert!((spread(&student, &[0.0, 0.0, -30.0]) - 0.1).abs() < 1e-5);
        let mut normal = loss(Family::Normal);
        assert!((spread(&normal, &[0.0, -30.0]) - 2.0).abs() < 1e-5);
        normal.floor = Some(0.05);
        assert!((spread(&normal, &[0.0, -30.0]) - 0.5).abs() < 1e-5);
        assert_eq!(loss(Family::Poisson).spread_floor(), 0.0);
    }
}
