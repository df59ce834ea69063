//! Special functions for likelihoods: `ln Γ(x)` as a tensor op whose gradient is the digamma
//! function, and a numerically stable softplus.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::kernels;
use super::product::f32_slice;
use crate::error::Result;

/// Lanczos coefficients (g = 7, n = 9).
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// `ln |Γ(x)|` (Lanczos approximation, reflection below 0.5); about 15 significant digits.
pub fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = LANCZOS[1..]
        .iter()
        .enumerate()
        .fold(LANCZOS[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` (recurrence up to 10, then the asymptotic
/// series; reflection for negative `x`). NaN at the poles `0, -1, -2, ...` and for non-finite
/// `x`.
pub fn digamma(x: f64) -> f64 {
    if !x.is_finite() || (x <= 0.0 && x.fract() == 0.0) {
        return f64::NAN;
    }
    if x < 0.0 {
        let pi = std::f64::consts::PI;
        return digamma(1.0 - x) - pi / (pi * x).tan();
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let tail = inv2 * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 / 240.0)));
    shift + x.ln() - 0.5 * inv - tail
}

/// `ln Γ(x)` elementwise on f32 tensors, differentiable (`∂/∂x = ψ(x)`).
pub struct LnGamma;

/// Applies `f` to every element of a contiguous f32 tensor.
fn map_f32(
    name: &str,
    storage: &CpuStorage,
    layout: &Layout,
    f: fn(f64) -> f64,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let values = f32_slice(storage, layout, name)?;
    let out = values.iter().map(|&v| f(f64::from(v)) as f32).collect();
    Ok((CpuStorage::F32(out), layout.shape().clone()))
}

impl CustomOp1 for LnGamma {
    fn name(&self) -> &'static str {
        "ln-gamma"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        map_f32(self.name(), storage, layout, ln_gamma)
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let psi = arg.contiguous()?.apply_op1_no_bwd(&Digamma)?;
        Ok(Some(grad.mul(&psi)?))
    }
}

/// `ψ(x)` elementwise (no gradient: only needed inside [`LnGamma`]'s backward pass).
struct Digamma;

impl CustomOp1 for Digamma {
    fn name(&self) -> &'static str {
        "digamma"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        map_f32(self.name(), storage, layout, digamma)
    }
}

/// `ln Γ(x)` of a tensor, differentiable: the [`LnGamma`] op on the CPU, [`ln_gamma_generic`]
/// (for `x > 0`, as the likelihoods use it) on other devices.
pub fn ln_gamma_tensor(x: &Tensor) -> Result<Tensor> {
    if kernels::fused(x.device()) {
        Ok(x.contiguous()?.apply_op1(LnGamma)?)
    } else {
        ln_gamma_generic(x)
    }
}

/// `ln Γ(x)` for `x > 0` with Candle's generic ops, on any device (its gradient, `ψ(x)`, comes
/// from differentiating the formula): `ln Γ(x) = ln Γ(x + 6) − Σₖ₌₀⁵ ln(x + k)`, and Stirling's
/// series to `z⁻⁵` for `z = x + 6`, whose error there is below 1e-9.
pub(crate) fn ln_gamma_generic(x: &Tensor) -> Result<Tensor> {
    let z = (x + 6.0)?;
    let inv = z.recip()?;
    let inv2 = inv.sqr()?;
    // 1/(12z) − 1/(360z³) + 1/(1260z⁵), in Horner form.
    let tail = (((&inv2 * (1.0 / 1260.0))? - 1.0 / 360.0)? * &inv2)?;
    let tail = ((tail + 1.0 / 12.0)? * &inv)?;
    let stirling = ((((&z - 0.5)? * z.log()?)? - &z)? + 0.5 * (2.0 * std::f64::consts::PI).ln())?;
    let mut shifts = x.log()?;
    for k in 1..6 {
        shifts = (shifts + (x + f64::from(k))?.log()?)?;
    }
    Ok(((stirling + tail)? - shifts)?)
}

/// `softplus(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^-|x|)`.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((x.relu()? + tail)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn special_functions_match_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-10);
        // ψ(1) = -γ, ψ(0.5) = -γ - 2 ln 2
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-10);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-10);
        // ψ(-0.5) = ψ(1.5) - π cot(-π/2) = ψ(1.5) = 2 - γ - 2 ln 2
        assert!((digamma(-0.5) - (2.0 - euler - 2.0 * 2f64.ln())).abs() < 1e-9);
        assert!(digamma(-2.0).is_nan() && digamma(f64::NEG_INFINITY).is_nan());
    }

    #[test]
    fn ln_gamma_gradient_is_digamma() {
        let x = Var::new(&[0.5f32, 3.0], &Device::Cpu).unwrap();
        let y = ln_gamma_tensor(x.as_tensor()).unwrap().sum_all().unwrap();
        let grad = y.backward().unwrap();
        let g = grad.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        assert!((f64::from(g[0]) - digamma(0.5)).abs() < 1e-5);
        assert!((f64::from(g[1]) - 0.922_784_335_098_467_1).abs() < 1e-5);
        let s = softplus(&Tensor::new(&[-50.0f32, 0.0, 50.0], &Device::Cpu).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(s[0] >= 0.0 && s[0] < 1e-20);
        assert!((s[1] - 2f32.ln()).abs() < 1e-6);
        assert_eq!(s[2], 50.0);
    }

    /// The generic version other devices run agrees with the op, values and gradients, from
    /// near 0 to large arguments.
    #[test]
    fn generic_ln_gamma_matches_the_op() {
        let points = [1e-3f32, 0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 1e3, 1e6];
        let x = Var::new(&points[..], &Device::Cpu).unwrap();
        let op = ln_gamma_tensor(x.as_tensor()).unwrap();
        let generic = ln_gamma_generic(x.as_tensor()).unwrap();
        let (a, b) = (
            op.to_vec1::<f32>().unwrap(),
            generic.to_vec1::<f32>().unwrap(),
        );
        for ((p, q), at) in a.iter().zip(&b).zip(points) {
            assert!(
                (p - q).abs() <= 2e-6 * p.abs().max(1.0),
                "x={at}: {p} vs {q}"
            );
        }
        let grad = |t: Tensor| {
            let g = t.sum_all().unwrap().backward().unwrap();
            g.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap()
        };
        let (ga, gb) = (grad(op), grad(generic));
        for ((p, q), at) in ga.iter().zip(&gb).zip(points) {
            assert!(
                (p - q).abs() <= 1e-4 * p.abs().max(1.0),
                "ψ({at}): {p} vs {q}"
            );
        }
    }
}
