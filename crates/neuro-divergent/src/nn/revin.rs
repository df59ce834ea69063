//! Reversible instance normalisation (RevIN, Kim et al., 2022): each window centred and scaled
//! by its own statistics on the way in, forecasts mapped back on the way out.

use candle_core::{Tensor, D};

use super::ParamStore;
use crate::error::Result;

/// Added to the variance before its square root, and (squared) to the affine weight when
/// dividing by it.
const EPS: f64 = 1e-5;

/// RevIN over windows `[B, L]` of one variable (or `[B, N, L]` of `N` series, see
/// [`RevIn::per_series`]): subtracts each window's mean (or its last value) and divides by its
/// standard deviation (biased, plus `1e-5` under the root), then optionally applies a trained
/// affine map (weight from 1, bias from 0).
#[derive(Debug, Clone)]
pub struct RevIn {
    affine: Option<(Tensor, Tensor)>,
    subtract_last: bool,
}

/// The statistics of one batch of windows, to map outputs back with.
#[derive(Debug, Clone)]
pub struct RevInStats<'a> {
    revin: &'a RevIn,
    centre: Tensor,
    stdev: Tensor,
}

impl RevIn {
    /// RevIN with (when `affine`) parameters `{name}.affine_weight` and `{name}.affine_bias`;
    /// `subtract_last` centres on each window's last value instead of its mean.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        affine: bool,
        subtract_last: bool,
    ) -> Result<RevIn> {
        let affine = if affine {
            Some((
                store.filled(&format!("{name}.affine_weight"), &[1], 1.0)?,
                store.filled(&format!("{name}.affine_bias"), &[1], 0.0)?,
            ))
        } else {
            None
        };
        Ok(RevIn {
            affine,
            subtract_last,
        })
    }

    /// RevIN over the windows `[B, N, L]` of `n_series` series, centred on their means, with an
    /// affine map per series (`{name}.affine_weight` and `{name}.affine_bias`, `[N]`), as
    /// NeuralForecast's `RevINMultivariate` with `affine=True`.
    pub fn per_series(store: &mut ParamStore, name: &str, n_series: usize) -> Result<RevIn> {
        // Views `[N, 1]` of the parameters, so that they scale each series' steps.
        let per_series = |t: Tensor| t.reshape((n_series, 1));
        Ok(RevIn {
            affine: Some((
                per_series(store.filled(&format!("{name}.affine_weight"), &[n_series], 1.0)?)?,
                per_series(store.filled(&format!("{name}.affine_bias"), &[n_series], 0.0)?)?,
            )),
            subtract_last: false,
        })
    }

    /// Normalises windows `x` (`[B, L]`, or `[B, N, L]`) over their last axis, returning them
    /// and their statistics.
    pub fn normalize(&self, x: &Tensor) -> Result<(Tensor, RevInStats<'_>)> {
        let steps = x.dim(D::Minus1)?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(D::Minus1)?;
        let stdev = (var + EPS)?.sqrt()?.detach();
        let centre = if self.subtract_last {
            x.narrow(D::Minus1, steps - 1, 1)?
        } else {
            mean.detach()
        };
        let mut out = x.broadcast_sub(&centre)?.broadcast_div(&stdev)?;
        if let Some((weight, bias)) = &self.affine {
            out = out.broadcast_mul(weight)?.broadcast_add(bias)?;
        }
        let stats = RevInStats {
            revin: self,
            centre,
            stdev,
        };
        Ok((out, stats))
    }
}

impl RevInStats<'_> {
    /// Maps outputs `[B, K]` (any K; `[B, N, K]` for windows of several series) back to the
    /// scale of the windows they came from.
    pub fn denormalize(&self, y: &Tensor) -> Result<Tensor> {
        let mut y = y.clone();
        if let Some((weight, bias)) = &self.revin.affine {
            y = y
                .broadcast_sub(bias)?
                .broadcast_div(&(weight + EPS * EPS)?)?;
        }
        Ok(y.broadcast_mul(&self.stdev)?.broadcast_add(&self.centre)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::test_support::values;
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn normalising_then_denormalising_gives_the_windows_back() {
        let x = Tensor::new(
            &[[1f32, 2.0, 4.0, 9.0], [-3.0, 5.0, 5.0, 0.5]],
            &Device::Cpu,
        )
        .unwrap();
        for (affine, subtract_last) in [(false, false), (false, true), (true, false), (true, true)]
        {
            let mut store = ParamStore::new(0, &Device::Cpu);
            let revin = RevIn::new(&mut store, "revin", affine, subtract_last).unwrap();
            let (normalised, stats) = revin.normalize(&x).unwrap();
            let back = values(&stats.denormalize(&normalised).unwrap());
            for (a, b) in back.iter().zip(values(&x)) {
                assert!((a - b).abs() < 1e-4, "{affine} {subtract_last}: {back:?}");
            }
        }
    }

    #[test]
    fn each_series_has_its_own_statistics_and_affine_map() {
        // Two windows of two series; the affine weight of series 1 set to 2.
        let x = Tensor::new(
            &[
                [[1f32, 3.0, 5.0, 7.0], [0.0, 0.0, 4.0, 4.0]],
                [[2.0, 2.0, 2.0, 6.0], [1.0, 2.0, 3.0, 4.0]],
            ],
            &Device::Cpu,
        )
        .unwrap();
        let mut store = ParamStore::new(0, &Device::Cpu);
        let revin = RevIn::per_series(&mut store, "norm", 2).unwrap();
        let varmap = store.into_varmap();
        let data = varmap.data().lock().unwrap();
        let weight = &data["norm.affine_weight"];
        weight
            .set(&Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap())
            .unwrap();
        let (normalised, stats) = revin.normalize(&x).unwrap();
        let got = values(&normalised);
        // Series 1 of window 0: mean 2, biased variance 4, doubled by its weight.
        let sd = (4.0f32 + 1e-5).sqrt();
        for (i, v) in [0f32, 0.0, 4.0, 4.0].iter().enumerate() {
            assert!((got[4 + i] - 2.0 * (v - 2.0) / sd).abs() < 1e-5, "{got:?}");
        }
        let back = values(&stats.denormalize(&normalised).unwrap());
        for (a, b) in back.iter().zip(values(&x)) {
            assert!((a - b).abs() < 1e-4, "{back:?}");
        }
    }

    #[test]
    fn windows_are_centred_on_their_mean_or_last_value_and_scaled_by_their_deviation() {
        // Mean 4, biased variance (9 + 1 + 1 + 9) / 4 = 5.
        let x = Tensor::new(&[[1f32, 3.0, 5.0, 7.0]], &Device::Cpu).unwrap();
        let sd = (5.0f32 + 1e-5).sqrt();
        let mut store = ParamStore::new(0, &Device::Cpu);
        let by_mean = RevIn::new(&mut store, "a", false, false).unwrap();
        let by_last = RevIn::new(&mut store, "b", false, true).unwrap();
        let (mean_centred, _) = by_mean.normalize(&x).unwrap();
        let (last_centred, _) = by_last.normalize(&x).unwrap();
        for (i, v) in [1f32, 3.0, 5.0, 7.0].iter().enumerate() {
            assert!((values(&mean_centred)[i] - (v - 4.0) / sd).abs() < 1e-6);
            assert!((values(&last_centred)[i] - (v - 7.0) / sd).abs() < 1e-6);
        }
    }
}
