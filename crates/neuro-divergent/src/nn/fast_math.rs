//! `exp`, `sigmoid` and `tanh` for f32 written without calls into the C library, so that loops
//! over them vectorise. The C library's `tanhf` was half of a fused LSTM step measured here.
//! Accuracy: a few units in the last place of f32 (tested against `f64`).

use std::f32::consts::{LN_2, LOG2_E};

/// Adding and subtracting 1.5 * 2^23 rounds an f32 of magnitude below 2^22 to an integer.
const ROUNDER: f32 = 12_582_912.0;
/// ln 2 split into a part exact in f32 and the rest, for an accurate argument reduction.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = LN_2 - LN2_HIGH;

/// `(2^n, q)` with `e^x = 2^n (1 + q)`: `x = n ln 2 + r` with `|r| <= ln 2 / 2`, and
/// `q = e^r - 1` by its Taylor polynomial to degree 7 (no constant term, so no cancellation for
/// small `r`). Inputs are clamped to where `2^n` is a normal f32.
#[inline(always)]
fn exp_parts(x: f32) -> (f32, f32) {
    let x = x.clamp(-87.0, 88.0);
    let rounded = x * LOG2_E + ROUNDER;
    let n = rounded - ROUNDER;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let mut q = 1.0 / 5040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0] {
        q = q * r + c;
    }
    // `rounded`'s low mantissa bits hold `n` (its bits are those of 1.5 * 2^23 plus `n`), so the
    // biased exponent `n + 127` is integer arithmetic on the bits: no float-to-int conversion,
    // which Rust's saturating `as` would compile to scalar code per element.
    let exponent = rounded.to_bits().wrapping_sub(ROUNDER.to_bits() - 127);
    (f32::from_bits(exponent << 23), q * r)
}

/// e^x.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let (scale, q) = exp_parts(x);
    scale + scale * q
}

/// e^x - 1, accurate near 0.
#[inline(always)]
pub(crate) fn exp_m1(x: f32) -> f32 {
    let (scale, q) = exp_parts(x);
    scale * q + (scale - 1.0)
}

/// The logistic function 1 / (1 + e^-x).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// The hyperbolic tangent, `m / (m + 2)` with `m = e^(2|x|) - 1`, signed as `x`.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let m = exp_m1(2.0 * x.abs());
    (m / (m + 2.0)).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst_error(f: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64, range: f32) -> f64 {
        (-20_000..=20_000)
            .map(|i| i as f32 / 20_000.0 * range)
            .map(|x| {
                let e = exact(x as f64);
                (f(x) as f64 - e).abs() / e.abs().max(1e-30)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn functions_agree_with_f64_to_a_few_units_in_the_last_place() {
        let ulp = f32::EPSILON as f64;
        assert!(worst_error(exp, f64::exp, 87.0) < 4.0 * ulp);
        assert!(worst_error(sigmoid, |x| 1.0 / (1.0 + (-x).exp()), 30.0) < 4.0 * ulp);
        assert!(worst_error(tanh, f64::tanh, 10.0) < 8.0 * ulp);
        assert!(worst_error(tanh, f64::tanh, 0.1) < 8.0 * ulp);
    }

    #[test]
    fn extremes_saturate_without_overflow() {
        assert!(sigmoid(-200.0) < 1e-37);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
        assert!(exp(100.0).is_finite());
        assert_eq!(tanh(0.0), 0.0);
    }
}
