//! Point-forecast accuracy metrics on plain `f64` slices.
//!
//! Every function takes the actual values `y` and the forecasts `yhat` (same length, not empty)
//! and returns [`Error::Data`] otherwise.

use crate::error::{Error, Result};

/// Mean absolute error: mean of `|y - yhat|`.
pub fn mae(y: &[f64], yhat: &[f64]) -> Result<f64> {
    mean_of(y, yhat, |a, f| (a - f).abs())
}

/// Mean squared error: mean of `(y - yhat)^2`.
pub fn mse(y: &[f64], yhat: &[f64]) -> Result<f64> {
    mean_of(y, yhat, |a, f| (a - f) * (a - f))
}

/// Root mean squared error: square root of [`mse`].
pub fn rmse(y: &[f64], yhat: &[f64]) -> Result<f64> {
    mse(y, yhat).map(f64::sqrt)
}

/// Mean absolute percentage error in percent: mean of `100 * |y - yhat| / |y|`.
///
/// Undefined (an error naming the position) when an actual value is 0.
pub fn mape(y: &[f64], yhat: &[f64]) -> Result<f64> {
    check_pair(y, yhat)?;
    if let Some(i) = y.iter().position(|&a| a == 0.0) {
        return Err(Error::Data(format!(
            "MAPE is undefined because the actual value at position {} (0-based) is 0",
            i
        )));
    }
    mean_of(y, yhat, |a, f| 100.0 * (a - f).abs() / a.abs())
}

/// Symmetric MAPE as defined by the M4 competition, in `0..=200`:
/// mean of `200 * |y - yhat| / (|y| + |yhat|)`, a term being 0 when both values are 0.
pub fn smape(y: &[f64], yhat: &[f64]) -> Result<f64> {
    mean_of(y, yhat, |a, f| {
        let denominator = a.abs() + f.abs();
        if denominator == 0.0 {
            0.0
        } else {
            200.0 * (a - f).abs() / denominator
        }
    })
}

/// Mean absolute scaled error (M4 definition): `mean|y - yhat|` divided by the in-sample mean
/// absolute error of the seasonal naive forecast on `train`, `mean_{t>=m}|train_t - train_{t-m}|`
/// with `m = season_length`.
///
/// Errors when `season_length` is 0, when `train` has at most `season_length` values, or when
/// the scale is 0 (a training series that repeats exactly every season).
pub fn mase(y: &[f64], yhat: &[f64], train: &[f64], season_length: usize) -> Result<f64> {
    if season_length == 0 {
        return Err(Error::Config(
            "MASE needs a season length of at least 1".to_string(),
        ));
    }
    if train.len() <= season_length {
        return Err(Error::Data(format!(
            "MASE needs a training series longer than the season length {season_length}, \
             found {} values",
            train.len()
        )));
    }
    let lagged = &train[..train.len() - season_length];
    let scale = mae(&train[season_length..], lagged)?;
    if scale == 0.0 {
        return Err(Error::Data(format!(
            "MASE is undefined because the training series repeats exactly with period \
             {season_length} (seasonal naive in-sample error is 0)"
        )));
    }
    Ok(mae(y, yhat)? / scale)
}

/// Overall weighted average of the M4 competition: `0.5 * (smape / smape_naive2 +
/// mase / mase_naive2)`. Naive2 itself scores exactly 1.
pub fn owa(smape: f64, mase: f64, smape_naive2: f64, mase_naive2: f64) -> f64 {
    0.5 * (smape / smape_naive2 + mase / mase_naive2)
}

fn check_pair(y: &[f64], yhat: &[f64]) -> Result<()> {
    if y.len() != yhat.len() {
        return Err(Error::Data(format!(
            "cannot score {} actual values against {} forecasts: the lengths differ",
            y.len(),
            yhat.len()
        )));
    }
    if y.is_empty() {
        return Err(Error::Data("there are no values to score".to_string()));
    }
    Ok(())
}

fn mean_of(y: &[f64], yhat: &[f64], term: impl Fn(f64, f64) -> f64) -> Result<f64> {
    check_pair(y, yhat)?;
    let total: f64 = y.iter().zip(yhat).map(|(&a, &f)| term(a, f)).sum();
    Ok(total / y.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn data_message(r: Result<f64>) -> String {
        match r {
            Err(Error::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    #[test]
    fn scale_dependent_metrics() -> Result<()> {
        let y = [1.0, 2.0, 3.0];
        let f = [2.0, 2.0, 1.0];
        assert!(close(mae(&y, &f)?, 1.0));
        assert!(close(mse(&y, &f)?, 5.0 / 3.0));
        assert!(close(rmse(&y, &f)?, (5.0f64 / 3.0).sqrt()));
        Ok(())
    }

    #[test]
    fn percentage_metrics() -> Result<()> {
        let y = [100.0, 200.0];
        let f = [110.0, 150.0];
        assert!(close(mape(&y, &f)?, (10.0 + 25.0) / 2.0));
        let want = (200.0 * 10.0 / 210.0 + 200.0 * 50.0 / 350.0) / 2.0;
        assert!(close(smape(&y, &f)?, want));
        assert!(close(smape(&[0.0, 1.0], &[0.0, -1.0])?, 100.0));
        Ok(())
    }

    #[test]
    fn mape_rejects_zero_actuals() {
        let m = data_message(mape(&[1.0, 0.0], &[1.0, 1.0]));
        assert!(m.contains("position 1") && m.contains("is 0"), "{m}");
    }

    #[test]
    fn mase_by_hand() -> Result<()> {
        // Seasonal differences at lag 2: |3-1|, |4-2|, |7-3| -> scale 8/3.
        let train = [1.0, 2.0, 3.0, 4.0, 7.0];
        let v = mase(&[5.0, 6.0], &[4.0, 8.0], &train, 2)?;
        assert!(close(v, 1.5 / (8.0 / 3.0)));
        Ok(())
    }

    #[test]
    fn mase_errors() {
        let m = data_message(mase(&[1.0], &[1.0], &[1.0, 2.0], 2));
        assert!(
            m.contains("season length 2") && m.contains("2 values"),
            "{m}"
        );
        let m = data_message(mase(&[1.0], &[1.0], &[1.0, 2.0, 1.0, 2.0], 2));
        assert!(m.contains("period 2"), "{m}");
        assert!(matches!(
            mase(&[1.0], &[1.0], &[1.0, 2.0], 0),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn shape_errors() {
        let m = data_message(mae(&[1.0], &[1.0, 2.0]));
        assert!(m.contains("1 actual values against 2 forecasts"), "{m}");
        let m = data_message(smape(&[], &[]));
        assert!(m.contains("no values"), "{m}");
    }

    #[test]
    fn owa_of_benchmark_is_one() {
        assert_eq!(owa(18.383, 2.395, 18.383, 2.395), 1.0);
        assert!(close(owa(10.0, 1.0, 20.0, 4.0), 0.375));
    }
}
